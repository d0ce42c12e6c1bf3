#include "tools/rescan.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/tools/daemon_fixture.h"

namespace vigil::tools {
namespace {

using Json = nlohmann::json;

RescanReport TrickyReport() {
  RescanReport r;
  r.pack = "core@1.0.1 \"quoted\"";
  r.pack_hash = "abc123";
  r.packs_before = {{"core@1.0.0", 7}, {"ünïcode@2", 1}};
  r.dry_run = true;
  r.complete = false;
  r.resumed = true;
  r.examined = 12;
  r.rescanned = 11;
  r.changed = 3;
  r.written = 2;
  r.relabelled = 6;
  r.flagged_before = 5;
  r.flagged_after = 4;
  r.newly_flagged = 1;
  r.no_longer_flagged = 2;
  r.newly_flagged_examples = {"ad-1", "tab\there"};
  r.no_longer_flagged_examples = {};
  RescanDelta& d = r.rules["youth.teen"];
  d.hits_before = 9;
  d.hits_after = 10;
  d.ads_before = 3;
  d.ads_after = 4;
  d.flagged_before = 2;
  d.flagged_after = 1;
  d.gained = {"ad-\"q\""};
  d.lost = {"back\\slash", std::string("nul\0byte", 8), "bad \xff utf-8"};
  r.categories["youth"] = d;
  r.categories["empty"] = RescanDelta{};
  r.largest_changes = {{"ad-1", 0.25, 1.0}, {"ad-2", 0.8025, 0.0}, {"ad-3", 1e-05, 0.35},
                       {"ad-4", std::numeric_limits<double>::quiet_NaN(), 0.5}};
  r.last_id = "ad-9";
  return r;
}

TEST_CASE("a rescan report's JSON holds every field, escaped, with keys in order", "[rescan]") {
  const RescanReport r = TrickyReport();
  const std::string text = r.ToJson();
  const Json j = Json::parse(text);  // throws on malformed JSON
  CHECK(j.at("pack") == r.pack);
  CHECK(j.at("pack_hash") == "abc123");
  CHECK(j.at("packs_before") == Json{{"core@1.0.0", 7}, {"ünïcode@2", 1}});
  CHECK(j.at("dry_run") == true);
  CHECK(j.at("complete") == false);
  CHECK(j.at("resumed") == true);
  CHECK(j.at("examined") == 12);
  CHECK(j.at("rescanned") == 11);
  CHECK(j.at("changed") == 3);
  CHECK(j.at("written") == 2);
  CHECK(j.at("relabelled") == 6);
  CHECK(j.at("flagged_before") == 5);
  CHECK(j.at("flagged_after") == 4);
  CHECK(j.at("newly_flagged") == 1);
  CHECK(j.at("no_longer_flagged") == 2);
  CHECK(j.at("newly_flagged_examples") == Json{"ad-1", "tab\there"});
  CHECK(j.at("no_longer_flagged_examples") == Json::array());
  CHECK(j.at("last_id") == "ad-9");
  const Json& rule = j.at("rules").at("youth.teen");
  CHECK(rule.at("hits_before") == 9);
  CHECK(rule.at("hits_after") == 10);
  CHECK(rule.at("ads_before") == 3);
  CHECK(rule.at("ads_after") == 4);
  CHECK(rule.at("flagged_before") == 2);
  CHECK(rule.at("flagged_after") == 1);
  CHECK(rule.at("gained_examples") == Json{"ad-\"q\""});
  // Invalid UTF-8 becomes U+FFFD; a NUL byte survives escaped.
  CHECK(rule.at("lost_examples") == Json{"back\\slash", std::string("nul\0byte", 8), "bad \xEF\xBF\xBD utf-8"});
  CHECK(j.at("categories").at("youth") == rule);
  CHECK(j.at("categories").at("empty").at("gained_examples") == Json::array());
  const Json& changes = j.at("largest_score_changes");
  REQUIRE(changes.size() == 4);
  CHECK(changes[0] == Json{{"ad_id", "ad-1"}, {"before", 0.25}, {"after", 1.0}});
  CHECK(changes[1].at("before").get<double>() == 0.8025);
  CHECK(changes[1].at("after").get<double>() == 0.0);
  CHECK(changes[2].at("before").get<double>() == 1e-05);
  CHECK(changes[3].at("before").is_null());  // not a number: null, as nlohmann writes it
  // Integral doubles keep their ".0", and the keys come sorted: the text is
  // what dumping the parsed value gives, but for the escapes of control
  // characters and invalid UTF-8.
  CHECK(text.find("{\"ad_id\":\"ad-1\",\"after\":1.0,\"before\":0.25}") != std::string::npos);
  Json plain = j;
  plain["rules"]["youth.teen"]["lost_examples"] = Json{"x"};
  plain["categories"]["youth"]["lost_examples"] = Json{"x"};
  plain["newly_flagged_examples"] = Json{"ad-1"};
  RescanReport simple = r;
  simple.rules["youth.teen"].lost = {"x"};
  simple.categories["youth"].lost = {"x"};
  simple.newly_flagged_examples = {"ad-1"};
  CHECK(simple.ToJson() == plain.dump());
}

// Regression: an ad whose findings the new pack reproduces under the same
// pack label is counted by that label, which must not point into the
// worker's reused result: the next ad's result, when it changed, is moved
// out of it (an empty or damaged label was reported).
TEST_CASE("a rescan counts unchanged ads by their stored pack label when later ads change", "[rescan]") {
  daemon::testing::DaemonFixture f;
  // a1, a2: "fresh" only (unchanged by the edit); a3, a4: "real pics" too.
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest,
                 R"({"id":"a1","text":"so fresh"})"
                 "\n"
                 R"({"id":"a2","text":"fresh and new"})"
                 "\n"
                 R"({"id":"a3","text":"fresh, real pics"})"
                 "\n"
                 R"({"id":"a4","text":"real pics only"})"
                 "\n")
              .status == 200);
  // The same pack label, "real pics" weighted 0.3 instead of 0.2.
  const std::string edited = f.dir.path() + "/edited";
  daemon::testing::WriteTestPack(edited, "0.1.0");
  std::string rules_yaml;
  {
    std::ifstream in(edited + "/rules.yaml");
    rules_yaml.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const size_t at = rules_yaml.find("weight: 0.2");
  REQUIRE(at != std::string::npos);
  rules_yaml.replace(at, 11, "weight: 0.3");
  daemon::testing::WriteFile(edited + "/rules.yaml", rules_yaml);
  daemon::LiveRules rules(edited, RuleLoadOptions{""}, scanner::Scanner::Options{});
  std::string diagnostics;
  REQUIRE(rules.LoadInitial(&diagnostics).ok());
  REQUIRE(rules.Current()->rules().pack_label() == "test@0.1.0");

  for (int threads : {1, 2}) {
    for (bool dry_run : {true, false}) {
      INFO("threads " << threads << (dry_run ? ", dry run" : ", writing"));
      RescanOptions options;
      options.threads = threads;
      options.batch_size = 4;  // one batch: its last ad changed
      options.dry_run = dry_run;
      options.restart = true;
      Rescanner rescanner(f.store.get(), rules.Current(), options);
      Result<RescanReport> report = rescanner.Run(nullptr, nullptr);
      REQUIRE(report.ok());
      CHECK(report->complete);
      CHECK(report->rescanned == 4);
      const std::map<std::string, uint64_t, std::less<>> expected = {{"test@0.1.0", 4}};
      CHECK(report->packs_before == expected);
      if (!dry_run) break;  // the writing run changed a3 and a4: the next would find them the same
    }
  }

  // A stop that comes once the last ad was taken (here: when the only
  // batch, all four ads, is delivered) leaves the rescan complete.
  std::atomic<bool> stop{false};
  RescanOptions options;
  options.threads = 1;
  options.batch_size = 4;
  options.dry_run = true;
  Rescanner rescanner(f.store.get(), rules.Current(), options);
  Result<RescanReport> report = rescanner.Run([&](const RescanProgress&) { stop = true; }, &stop);
  REQUIRE(report.ok());
  CHECK(stop.load());
  CHECK(report->complete);
  CHECK(report->examined == 4);
}

TEST_CASE("a rescan reuses stored entities only when their extraction is this scanner's", "[rescan]") {
  daemon::testing::DaemonFixture f;
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest,
                 R"({"id":"a1","text":"so fresh, call 702-555-0147"})"
                 "\n"
                 R"({"id":"a2","text":"fresh and new, text 702-555-0148"})"
                 "\n"
                 R"({"id":"a3","text":"real pics only, 702-555-0149"})"
                 "\n")
              .status == 200);
  const std::shared_ptr<const scanner::Scanner> scanner = f.rules->Current();
  const std::string& fingerprint = scanner->extractor_fingerprint();
  REQUIRE_FALSE(fingerprint.empty());
  const auto stored = [&](const char* id) {
    Result<storage::AdDetail> ad = f.store->GetAd(id);
    REQUIRE(ad.ok());
    return ad->findings;
  };
  for (const char* id : {"a1", "a2", "a3"}) CHECK(stored(id).entities_by == fingerprint);  // ingest records it

  // Stored findings with an email no extraction would find at [0, 2):
  // a1's recorded as this scanner's extraction, a2's as another's. a3's
  // record no extraction, as a schema 2 store's do.
  const auto plant = [&](const char* id, const std::string& entities_by, bool planted) {
    scanner::ScanResult r = stored(id);
    if (planted) {
      scanner::Entity email;
      email.type = scanner::EntityType::kEmail;
      email.value = "planted@example.invalid";
      email.start = 0;
      email.end = 2;
      r.entities.insert(r.entities.begin(), email);
    }
    r.entities_by = entities_by;
    REQUIRE(f.store->ReplaceFindings(id, r).ok());
  };
  plant("a1", fingerprint, true);
  plant("a2", "x1-another-build", true);
  plant("a3", "", false);
  const auto has_planted = [&](const char* id) {
    const scanner::ScanResult r = stored(id);
    return std::any_of(r.entities.begin(), r.entities.end(),
                       [](const scanner::Entity& e) { return e.value == "planted@example.invalid"; });
  };

  for (int threads : {1, 2}) {
    INFO("threads " << threads);
    RescanOptions options;
    options.threads = threads;
    options.restart = true;
    Rescanner rescanner(f.store.get(), scanner, options);
    Result<RescanReport> report = rescanner.Run(nullptr, nullptr);
    REQUIRE(report.ok());
    CHECK(report->rescanned == 3);
    if (threads == 1) {
      CHECK(report->written == 1);     // a2: extracted afresh, without the email
      CHECK(report->relabelled == 1);  // a3: the same findings, now recorded as this extraction
      CHECK(report->ToText().find("findings of 1 more ads rewritten unchanged") != std::string::npos);
      CHECK(Json::parse(report->ToJson()).at("relabelled") == 1);
    } else {
      CHECK(report->written == 0);  // nothing left to change or record
      CHECK(report->relabelled == 0);
    }
    CHECK(has_planted("a1"));  // taken as stored: reused
    CHECK_FALSE(has_planted("a2"));
    for (const char* id : {"a1", "a2", "a3"}) CHECK(stored(id).entities_by == fingerprint);
    storage::ConsistencyReport check;
    REQUIRE(f.store->CheckConsistency(&check, storage::CheckMethod::kPrecise).ok());
    CHECK(check.problems.empty());
  }

  // A dry run writes nothing, relabelling included.
  plant("a3", "", false);
  RescanOptions dry;
  dry.dry_run = true;
  Rescanner rescanner(f.store.get(), scanner, dry);
  Result<RescanReport> report = rescanner.Run(nullptr, nullptr);
  REQUIRE(report.ok());
  CHECK(report->relabelled == 0);
  CHECK(stored("a3").entities_by.empty());
}

}  // namespace
}  // namespace vigil::tools
