#include "tools/api_service.h"

#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>
#include <thread>
#include <nlohmann/json.hpp>

#include "tools/rescan.h"

#include "tests/tools/daemon_fixture.h"

namespace {

using json = nlohmann::json;
using vigil::daemon::ApiResponse;
using vigil::daemon::IngestPipeline;
using vigil::daemon::testing::DaemonFixture;
using vigil::daemon::testing::WriteFile;
using vigil::daemon::testing::WriteTestPack;

json Body(const ApiResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  INFO(r.body);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

std::string Header(const ApiResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

const char* kThreeAds =
    R"({"id":"a1","text":"so fresh, call 702-555-0147","city":"Reno","posted_at":"2026-11-03T10:00:00Z"})"
    "\n"
    R"({"id":"a2","text":"real pics only, call 702-555-0147","city":"Las Vegas","posted_at":"2026-11-04T10:00:00Z"})"
    "\n"
    R"({"id":"a3","text":"sofa for sale","city":"Reno"})"
    "\n";

uint64_t StoredAds(DaemonFixture& f) {
  auto counts = f.store->CountByStatus();
  REQUIRE(counts.ok());
  uint64_t n = 0;
  for (const auto& c : counts->by_status) n += c.total;
  return n;
}

}  // namespace

TEST_CASE("401 for missing or unknown tokens, 403 for the wrong role", "[api]") {
  DaemonFixture f;
  CHECK(f.Call("GET", "/healthz", "").status == 200);
  CHECK(f.Call("GET", "/v1/leads", "").status == 401);
  CHECK(f.Call("GET", "/v1/leads", "vgl_0000").status == 401);
  CHECK(f.Call("GET", "/v1/me", f.ingest).status == 200);
  CHECK(f.Call("GET", "/v1/leads", f.ingest).status == 403);
  CHECK(f.Call("POST", "/v1/ads", f.investigator, kThreeAds).status == 403);
  CHECK(f.Call("POST", "/v1/rules/reload", f.investigator).status == 403);
  CHECK(f.Call("GET", "/v1/audit", f.investigator).status == 403);
  CHECK(f.Call("GET", "/metrics", f.investigator).status == 403);
  CHECK(f.Call("GET", "/v1/leads", f.investigator).status == 200);
  CHECK(f.Call("GET", "/v1/leads", f.admin).status == 200);
  CHECK(f.Call("POST", "/v1/ads", f.admin, kThreeAds).status == 200);
  json me = Body(f.Call("GET", "/v1/me", f.investigator));
  CHECK(me["user"] == "ana");
  CHECK(me["role"] == "investigator");
  // The 401 body never depends on which part was wrong beyond "missing" vs "unknown".
  ApiResponse r = f.Call("GET", "/v1/leads", "");
  CHECK(Header(r, "WWW-Authenticate").find("Bearer") == 0);
  CHECK(StoredAds(f) == 3);
}

TEST_CASE("a revoked token is refused at the next request, a new one accepted", "[api]") {
  DaemonFixture f;
  CHECK(f.Call("GET", "/v1/me", f.investigator).status == 200);
  vigil::daemon::TokenStore tokens(f.data_dir);
  REQUIRE(tokens.Revoke("ana").ok());
  CHECK(f.Call("GET", "/v1/me", f.investigator).status == 401);
  auto fresh = tokens.Create("bo", vigil::daemon::Role::kInvestigator, nullptr);
  REQUIRE(fresh.ok());
  CHECK(Body(f.Call("GET", "/v1/me", *fresh))["user"] == "bo");
}

TEST_CASE("unknown paths are 404, wrong methods 405 with Allow", "[api]") {
  DaemonFixture f;
  CHECK(f.Call("GET", "/v1/nope", f.admin).status == 404);
  ApiResponse r = f.Call("DELETE", "/v1/leads", f.admin);
  CHECK(r.status == 405);
  CHECK(Header(r, "Allow") == "GET");
  CHECK(f.Call("GET", "/v1/ads/%zz", f.admin).status == 400);
}

TEST_CASE("ingest counts accepted, new, duplicates and flagged, and lists bad lines", "[api][ingest]") {
  DaemonFixture f;
  std::string body = std::string(kThreeAds) + "{\"id\":\"a4\"}\n" + "not json\n" + "\n" +
                     "{\"id\":\"a5\",\"text\":\"bad \xff byte\"}\n";
  ApiResponse r = f.Call("POST", "/v1/ads", f.ingest, body);
  REQUIRE(r.status == 200);
  json j = Body(r);
  CHECK(j["accepted"] == 3);
  CHECK(j["new"] == 3);
  CHECK(j["duplicates"] == 0);
  CHECK(j["flagged"] == 1);
  CHECK(j["pack"] == "test@0.1.0");
  REQUIRE(j["errors"].size() == 3);
  CHECK(j["errors"][0]["line"] == 4);
  CHECK(j["errors"][0]["error"].get<std::string>().find("text") != std::string::npos);
  CHECK(j["errors"][1]["line"] == 5);
  CHECK(j["errors"][2]["line"] == 7);
  CHECK(j["errors"][2]["error"].get<std::string>().find("UTF-8") != std::string::npos);
  CHECK(StoredAds(f) == 3);

  json again = Body(f.Call("POST", "/v1/ads", f.ingest, kThreeAds));
  CHECK(again["accepted"] == 3);
  CHECK(again["duplicates"] == 3);
  CHECK(again["new"] == 0);
  json changed = Body(f.Call("POST", "/v1/ads", f.ingest, R"({"id":"a3","text":"fresh sofa for sale"})"));
  CHECK(changed["new"] == 1);
  CHECK(changed["new_versions"] == 1);
  CHECK(changed["flagged"] == 1);
  CHECK(f.metrics.documents_ingested.load() == 7);
}

TEST_CASE("ingest refuses bad bodies whole: empty, all lines bad, an oversized line", "[api][ingest]") {
  DaemonFixture f;
  CHECK(f.Call("POST", "/v1/ads", f.ingest, "").status == 400);
  CHECK(f.Call("POST", "/v1/ads", f.ingest, "\n  \n").status == 400);
  ApiResponse bad = f.Call("POST", "/v1/ads", f.ingest, "{\"id\":1\nnope\n");
  CHECK(bad.status == 400);
  CHECK(Body(bad)["errors"].size() == 2);
  // The fixture's line limit is 4096 bytes.
  std::string big = std::string(kThreeAds) + "{\"id\":\"big\",\"text\":\"" + std::string(5000, 'x') + "\"}\n";
  ApiResponse r = f.Call("POST", "/v1/ads", f.ingest, big);
  CHECK(r.status == 413);
  CHECK(Body(r)["error"].get<std::string>().find("line 4") != std::string::npos);
  CHECK(StoredAds(f) == 0);
}

TEST_CASE("a full ingest queue answers 503 with Retry-After and stores nothing of that batch", "[api][ingest]") {
  IngestPipeline::Options options;
  options.max_batches = 1;
  DaemonFixture f(options);
  // The first batch's reply is held: until it returns the batch occupies the queue.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<ApiResponse> first;
  vigil::daemon::ApiRequest req{"POST", "/v1/ads", "Bearer " + f.ingest, R"({"id":"q1","text":"fresh"})"};
  f.api->Handle(req, [&](ApiResponse r) {
    released.wait();
    first.set_value(std::move(r));
  });
  ApiResponse full = f.Call("POST", "/v1/ads", f.ingest, R"({"id":"q2","text":"fresh"})");
  CHECK(full.status == 503);
  CHECK(Header(full, "Retry-After") == "1");
  release.set_value();
  CHECK(first.get_future().get().status == 200);
  CHECK(f.store->GetAd("q1").ok());
  CHECK(f.store->GetAd("q2").status().IsNotFound());
  CHECK(f.metrics.errors[static_cast<size_t>(vigil::daemon::ErrorKind::kQueueFull)].load() == 1);
}

TEST_CASE("leads: filters, counts, and a 400 for each bad parameter", "[api]") {
  DaemonFixture f;
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest, kThreeAds).status == 200);
  json j = Body(f.Call("GET", "/v1/leads", f.investigator));
  REQUIRE(j["leads"].size() == 1);
  CHECK(j["leads"][0]["ad_id"] == "a1");
  CHECK(j["leads"][0]["status"] == "new");
  CHECK(j["leads"][0]["pack_version"] == "test@0.1.0");
  CHECK(j["counts"]["new"] == 1);
  json all = Body(f.Call("GET", "/v1/leads?flagged=false&order=time&limit=10", f.investigator));
  CHECK(all["leads"].size() == 3);
  CHECK(Body(f.Call("GET", "/v1/leads?flagged=false&city=reno", f.investigator))["leads"].size() == 2);
  CHECK(Body(f.Call("GET", "/v1/leads?flagged=false&q=sofa", f.investigator))["leads"].size() == 1);
  CHECK(Body(f.Call("GET", "/v1/leads?flagged=false&since=2026-11-04", f.investigator))["leads"].size() >= 1);
  for (const char* bad : {"status=bogus", "limit=0", "limit=501", "limit=x", "since=yesterday", "order=size",
                          "flagged=yes", "min_score=high", "colour=red", "q=%zz"}) {
    INFO(bad);
    CHECK(f.Call("GET", std::string("/v1/leads?") + bad, f.investigator).status == 400);
  }
}

TEST_CASE("viewing an ad returns ad, findings and review, and is audit-logged", "[api]") {
  DaemonFixture f;
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest, kThreeAds).status == 200);
  ApiResponse r = f.Call("GET", "/v1/ads/a1", f.investigator);
  REQUIRE(r.status == 200);
  json j = Body(r);
  CHECK(j["ad"]["id"] == "a1");
  CHECK(j["ad"]["city"] == "Reno");
  CHECK(j["ad"]["version"] == 1);
  CHECK(j["findings"]["flagged"] == true);
  CHECK(j["findings"]["pack_version"] == "test@0.1.0");
  REQUIRE(j["findings"]["hits"].size() == 1);
  CHECK(j["findings"]["hits"][0]["rule"] == "youth.fresh");
  CHECK(j["findings"]["hits"][0]["match"] == "fresh");
  CHECK(j["findings"]["hits"][0]["title"] == "Fresh");
  bool phone = false;
  for (const json& e : j["findings"]["entities"]) {
    if (e["type"] == "phone") {
      phone = true;
      CHECK(e["value"] == "+17025550147");
      CHECK(e["linked_ads"] == 1);  // a2 carries it too
    }
  }
  CHECK(phone);
  CHECK(j["review"]["status"] == "new");
  CHECK(j["review"]["version"] == 0);
  json audit = Body(f.Call("GET", "/v1/audit?action=view", f.admin));
  REQUIRE(audit["events"].size() == 1);
  CHECK(audit["events"][0]["user"] == "ana");
  CHECK(audit["events"][0]["target"] == "a1");
  CHECK(f.Call("GET", "/v1/ads/nope", f.investigator).status == 404);
}

TEST_CASE("review: applies, refuses a stale version with 409, and 400s bad bodies", "[api]") {
  DaemonFixture f;
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest, kThreeAds).status == 200);
  ApiResponse ok = f.Call("POST", "/v1/leads/a1/review", f.investigator,
                          R"({"status":"escalated","note":"same phone as a2","assignee":"ana","expected_version":0})");
  REQUIRE(ok.status == 200);
  json review = Body(ok)["review"];
  CHECK(review["status"] == "escalated");
  CHECK(review["assignee"] == "ana");
  CHECK(review["version"] == 1);
  REQUIRE(review["history"].size() == 1);
  CHECK(review["history"][0]["user"] == "ana");
  CHECK(review["history"][0]["note"] == "same phone as a2");

  ApiResponse stale = f.Call("POST", "/v1/leads/a1/review", f.admin, R"({"status":"dismissed","expected_version":0})");
  CHECK(stale.status == 409);
  json sj = Body(stale);
  CHECK(sj["error"].get<std::string>().rfind("conflict", 0) == 0);
  CHECK(sj["review"]["status"] == "escalated");
  CHECK(sj["review"]["version"] == 1);

  for (const char* bad : {"not json", "[1,2]", "{}", R"({"status":"closed"})", R"({"note":5})",
                          R"({"expected_version":-1,"note":"x"})", R"({"status":"new","colour":"red"})"}) {
    INFO(bad);
    CHECK(f.Call("POST", "/v1/leads/a1/review", f.investigator, bad).status == 400);
  }
  CHECK(f.Call("POST", "/v1/leads/a1/review", f.investigator, "{\"note\":\"bad \xc3\x28\"}").status == 400);
  CHECK(f.Call("POST", "/v1/leads/nope/review", f.investigator, R"({"note":"x"})").status == 404);
  json lead = Body(f.Call("GET", "/v1/leads?status=escalated", f.investigator));
  REQUIRE(lead["leads"].size() == 1);
  CHECK(lead["leads"][0]["assignee"] == "ana");
  json audit = Body(f.Call("GET", "/v1/audit?action=review&user=ana", f.admin));
  CHECK(audit["events"].size() == 1);
}

TEST_CASE("entities: phone by any NANP spelling, stats and timeline; 400 and 404", "[api]") {
  DaemonFixture f;
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest, kThreeAds).status == 200);
  for (const char* v : {"%2B17025550147", "702-555-0147"}) {
    ApiResponse r = f.Call("GET", std::string("/v1/entities/phone/") + v, f.investigator);
    REQUIRE(r.status == 200);
    json j = Body(r);
    CHECK(j["value"] == "+17025550147");
    CHECK(j["stats"]["ads"] == 2);
    CHECK(j["stats"]["cities"].size() == 2);
    CHECK(j["ads"].size() == 2);
    CHECK(j["timeline"].size() == 2);
  }
  CHECK(f.Call("GET", "/v1/entities/shoe/x", f.investigator).status == 400);
  CHECK(f.Call("GET", "/v1/entities/phone/%2B17025550100", f.investigator).status == 404);
}

TEST_CASE("export: JSON Lines and CSV bundles, audit-logged with user and purpose", "[api]") {
  DaemonFixture f;
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest, kThreeAds).status == 200);
  ApiResponse r = f.Call("GET", "/v1/export?entity=phone:%2B17025550147&purpose=case%2042", f.investigator);
  REQUIRE(r.status == 200);
  CHECK(r.content_type.find("ndjson") != std::string::npos);
  CHECK(std::count(r.body.begin(), r.body.end(), '\n') == 2);
  CHECK(Header(r, "Content-Disposition").find("attachment") == 0);
  ApiResponse csv = f.Call("GET", "/v1/export?ids=a1,a3&format=csv", f.investigator);
  REQUIRE(csv.status == 200);
  CHECK(csv.body.rfind("ad_id,", 0) == 0);
  CHECK(csv.body.find("\"a3\"") != std::string::npos);
  json audit = Body(f.Call("GET", "/v1/audit?action=export", f.admin));
  REQUIRE(audit["events"].size() == 2);
  CHECK(audit["events"][1]["user"] == "ana");
  CHECK(audit["events"][1]["detail"].get<std::string>().find("case 42") != std::string::npos);
  CHECK(f.Call("GET", "/v1/export", f.investigator).status == 400);
  CHECK(f.Call("GET", "/v1/export?ids=a1&format=xml", f.investigator).status == 400);
  CHECK(f.Call("GET", "/v1/export?entity=phone", f.investigator).status == 400);
  CHECK(f.Call("GET", "/v1/export?ids=nope", f.investigator).status == 404);
}

TEST_CASE("rules: listing, reload of a changed pack, and a broken pack refused with the old one kept", "[api][reload]") {
  DaemonFixture f;
  json rules = Body(f.Call("GET", "/v1/rules", f.investigator));
  CHECK(rules["pack"] == "test@0.1.0");
  CHECK(rules["rules"].size() == 2);
  CHECK(rules["categories"].size() == 2);

  WriteTestPack(f.pack_dir, "0.2.0");
  ApiResponse ok = f.Call("POST", "/v1/rules/reload", f.admin);
  REQUIRE(ok.status == 200);
  CHECK(Body(ok)["pack"] == "test@0.2.0");
  json ingested = Body(f.Call("POST", "/v1/ads", f.ingest, R"({"id":"r1","text":"fresh"})"));
  CHECK(ingested["pack"] == "test@0.2.0");
  CHECK(Body(f.Call("GET", "/v1/ads/r1", f.investigator))["findings"]["pack_version"] == "test@0.2.0");

  WriteFile(f.pack_dir + "/rules.yaml", "rules:\n  - id: broken\n    patterns: ['(unclosed']\n");
  ApiResponse refused = f.Call("POST", "/v1/rules/reload", f.admin);
  CHECK(refused.status == 422);
  json rj = Body(refused);
  CHECK_FALSE(rj["diagnostics"].get<std::string>().empty());
  CHECK(rj["pack"] == "test@0.2.0");
  CHECK(Body(f.Call("GET", "/healthz", ""))["pack"] == "test@0.2.0");
  CHECK(Body(f.Call("POST", "/v1/ads", f.ingest, R"({"id":"r2","text":"fresh"})"))["flagged"] == 1);
}

TEST_CASE("audit and metrics for admins", "[api]") {
  DaemonFixture f;
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest, kThreeAds).status == 200);
  CHECK(f.Call("GET", "/v1/audit?limit=0", f.admin).status == 400);
  CHECK(f.Call("GET", "/v1/audit?who=x", f.admin).status == 400);
  ApiResponse m = f.Call("GET", "/metrics", f.admin);
  REQUIRE(m.status == 200);
  CHECK(m.content_type.rfind("text/plain", 0) == 0);
  CHECK(m.body.find("vigil_documents_ingested_total 3\n") != std::string::npos);
  CHECK(m.body.find("vigil_documents_flagged_total 1\n") != std::string::npos);
  CHECK(m.body.find("vigil_ack_seconds_count 1\n") != std::string::npos);
  CHECK(m.body.find("vigil_errors_total{kind=\"unauthorized\"}") != std::string::npos);
}

TEST_CASE("rescans: admin starts one with the reloaded pack, polls progress, gets the report", "[api][rescan]") {
  DaemonFixture f;
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest, kThreeAds).status == 200);
  CHECK(f.Call("POST", "/v1/rescans", f.investigator).status == 403);
  CHECK(f.Call("POST", "/v1/rescans", f.admin, "[1]").status == 400);
  CHECK(f.Call("POST", "/v1/rescans", f.admin, R"({"dry_run":"yes"})").status == 400);
  CHECK(f.Call("GET", "/v1/rescans/r999", f.admin).status == 404);

  // The changed pack: "sofa" now counts, so a3 becomes a lead.
  WriteTestPack(f.pack_dir, "0.2.0");
  WriteFile(f.pack_dir + "/more.yaml",
            "rules:\n  - id: youth.sofa\n    title: Sofa\n    description: test rule\n    category: youth\n"
            "    weight: 0.7\n    evidence: supported\n    patterns: ['\\bsofa\\b']\n");
  ApiResponse started = f.Call("POST", "/v1/rescans", f.admin);
  REQUIRE(started.status == 202);
  json s = Body(started);
  CHECK(s["pack"] == "test@0.2.0");
  const std::string id = s["id"];

  json status;
  for (int i = 0; i < 500; ++i) {  // bounded: the rescan of three ads ends long before
    status = Body(f.Call("GET", "/v1/rescans/" + id, f.admin));
    if (status["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(status["state"] == "done");
  CHECK(status["progress"]["rescanned"] == 3);
  CHECK(status["report"]["rescanned"] == 3);
  CHECK(Body(f.Call("GET", "/v1/ads/a3", f.investigator))["findings"]["pack_version"] == "test@0.2.0");
  CHECK(Body(f.Call("GET", "/v1/ads/a3", f.investigator))["findings"]["flagged"] == true);
  CHECK_FALSE(Body(f.Call("GET", "/v1/ads/a3", f.investigator))["findings"].contains("unchanged_by"));
  // a1's findings are the same under the new pack: left as they were, and
  // the view says which later pack found the same.
  json a1 = Body(f.Call("GET", "/v1/ads/a1", f.investigator))["findings"];
  CHECK(a1["pack_version"] == "test@0.1.0");
  CHECK(a1["unchanged_by"]["pack"] == "test@0.2.0");
  CHECK(a1["unchanged_by"]["finished_at"].get<std::string>().size() == 20);
  // So do exports: JSON Lines per record, CSV in its last two columns.
  ApiResponse exported = f.Call("GET", "/v1/export?ids=a1,a3", f.investigator);
  REQUIRE(exported.status == 200);
  std::map<std::string, json> rows;
  for (size_t pos = 0, nl; (nl = exported.body.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    json row = json::parse(exported.body.substr(pos, nl - pos));
    rows[row["ad_id"]] = row;
  }
  REQUIRE(rows.size() == 2);
  CHECK(rows["a1"]["unchanged_by"]["pack"] == "test@0.2.0");
  CHECK(rows["a1"]["unchanged_by"]["finished_at"] == a1["unchanged_by"]["finished_at"]);
  CHECK_FALSE(rows["a3"].contains("unchanged_by"));
  ApiResponse csv = f.Call("GET", "/v1/export?ids=a1,a3&format=csv", f.investigator);
  REQUIRE(csv.status == 200);
  const std::string header = csv.body.substr(0, csv.body.find("\r\n"));
  CHECK(header.substr(header.size() - 43) == ",unchanged_by_pack,unchanged_by_finished_at");
  CHECK(std::count(header.begin(), header.end(), ',') == 16);  // 17 columns
  // Every row: 17 quoted fields (the test ads' texts hold no quote or comma).
  for (size_t pos = csv.body.find("\r\n") + 2, end; (end = csv.body.find("\r\n", pos)) != std::string::npos;
       pos = end + 2) {
    const std::string row = csv.body.substr(pos, end - pos);
    CHECK(std::count(row.begin(), row.end(), '"') == 34);
    if (row.rfind("\"a1\"", 0) == 0) {
      CHECK(row.find(",\"test@0.2.0\",\"" + a1["unchanged_by"]["finished_at"].get<std::string>() + "\"") !=
            std::string::npos);
    } else {
      CHECK(row.rfind("\"a3\"", 0) == 0);
      CHECK(row.substr(row.size() - 6) == ",\"\",\"\"");
    }
  }
  // Live ingest uses the new pack at once.
  CHECK(Body(f.Call("POST", "/v1/ads", f.ingest, R"({"id":"a4","text":"a sofa"})"))["flagged"] == 1);
  CHECK(Body(f.Call("GET", "/v1/audit?action=rescan", f.admin))["events"].size() == 1);

  // A rescan that starts (here: stopped before its first ad) withdraws
  // the citation until one completes.
  std::atomic<bool> stop{true};
  vigil::tools::Rescanner stopped(f.store.get(), f.rules->Current(), vigil::tools::RescanOptions{});
  vigil::Result<vigil::tools::RescanReport> partial = stopped.Run(nullptr, &stop);
  REQUIRE(partial.ok());
  CHECK_FALSE(partial->complete);
  CHECK_FALSE(Body(f.Call("GET", "/v1/ads/a1", f.investigator))["findings"].contains("unchanged_by"));
}

TEST_CASE("rescans: a second one that writes is refused while one runs; dry runs are not", "[api][rescan]") {
  DaemonFixture f;
  std::string body;
  for (int i = 0; i < 3000; ++i) {
    body += fmt::format(R"({{"id":"b{}","text":"fresh and sweet {}, real pics, call 702-555-01{:02d}"}})", i, i,
                        i % 100);
    body += "\n";
  }
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest, body).status == 200);
  WriteTestPack(f.pack_dir, "0.2.0");
  ApiResponse first = f.Call("POST", "/v1/rescans", f.admin);
  REQUIRE(first.status == 202);
  const std::string id = Body(first)["id"];
  // 3,000 ads take far longer to rescan than these calls take.
  ApiResponse second = f.Call("POST", "/v1/rescans", f.admin);
  CHECK(second.status == 409);
  CHECK(Body(second)["error"].get<std::string>().find("rescan " + id + " with test@0.2.0 is running") !=
        std::string::npos);
  CHECK(f.Call("POST", "/v1/rescans", f.admin, R"({"dry_run":true})").status == 202);
  json status;
  for (int i = 0; i < 3000; ++i) {  // bounded wait
    status = Body(f.Call("GET", "/v1/rescans/" + id, f.admin));
    if (status["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(status["state"] == "done");
  CHECK(f.Call("POST", "/v1/rescans", f.admin).status == 202);
}

// The concurrent parts together, for TSan (`make test-tsan` runs this
// binary): ingest from three threads while the pack is reloaded over and
// over and a rescan runs. Every acknowledged ad must be stored, scanned by
// one of the packs that were live, and the rescan must finish.
TEST_CASE("concurrency: ingest from threads during reloads and a rescan loses nothing", "[api][reload][rescan][concurrency]") {
  DaemonFixture f;
  REQUIRE(f.Call("POST", "/v1/ads", f.ingest, kThreeAds).status == 200);
  constexpr int kThreads = 3, kPosts = 12, kAdsPerPost = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&f, &failures, t] {
      for (int p = 0; p < kPosts; ++p) {
        std::string body;
        for (int k = 0; k < kAdsPerPost; ++k) {
          body += fmt::format(R"({{"id":"c{}-{}-{}","text":"so fresh {} real pics","city":"Reno"}})" "\n", t, p, k, p);
        }
        ApiResponse r = f.Call("POST", "/v1/ads", f.ingest, body);
        for (int retry = 0; r.status == 503 && retry < 100; ++retry) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          r = f.Call("POST", "/v1/ads", f.ingest, body);
        }
        if (r.status != 200) ++failures;
      }
    });
  }
  std::set<std::string> versions = {"test@0.1.0"};
  std::string rescan_id;
  for (int i = 1; i <= 4; ++i) {
    const std::string version = fmt::format("0.2.{}", i);
    WriteTestPack(f.pack_dir, version);
    ApiResponse reloaded = f.Call("POST", "/v1/rules/reload", f.admin);
    CHECK(reloaded.status == 200);
    versions.insert("test@" + version);
    if (i == 2) {
      ApiResponse started = f.Call("POST", "/v1/rescans", f.admin);
      REQUIRE(started.status == 202);
      rescan_id = Body(started)["id"];
    }
  }
  for (std::thread& w : writers) w.join();
  CHECK(failures == 0);

  json status;
  for (int i = 0; i < 3000; ++i) {  // bounded; it ends in well under a second uninstrumented
    status = Body(f.Call("GET", "/v1/rescans/" + rescan_id, f.admin));
    if (status["state"] != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(status["state"] == "done");

  CHECK(StoredAds(f) == 3 + kThreads * kPosts * kAdsPerPost);
  for (int t = 0; t < kThreads; ++t) {
    for (int p = 0; p < kPosts; ++p) {
      for (int k = 0; k < kAdsPerPost; ++k) {
        const std::string id = fmt::format("c{}-{}-{}", t, p, k);
        ApiResponse ad = f.Call("GET", "/v1/ads/" + id, f.investigator);
        INFO(id);
        REQUIRE(ad.status == 200);
        json j = Body(ad);
        CHECK(versions.count(j["findings"]["pack_version"].get<std::string>()) == 1);
        CHECK(j["findings"]["flagged"] == true);
      }
    }
  }
}

TEST_CASE("the last complete rescan: what it read, and nothing cited while another runs", "[api][rescan]") {
  vigil::tools::LastRescan last;
  last.pack = "core@1.1.0";
  last.started_at_ms = 1'000'000;
  vigil::storage::AdRecord ad;
  ad.ingested_at_ms = 999'999;
  ad.time = 500;
  CHECK(last.Read(ad));
  ad.ingested_at_ms = 1'000'000;  // stored once it had started: not read
  CHECK_FALSE(last.Read(ad));
  ad.ingested_at_ms = 1;
  last.since = 501;
  CHECK_FALSE(last.Read(ad));
  last.since = 500;
  CHECK(last.Read(ad));
  last.category = "youth";  // never claimed
  CHECK_FALSE(last.Read(ad));

  DaemonFixture f;
  const auto read_last = [&]() -> vigil::Result<vigil::tools::LastRescan> {
    vigil::Result<std::string> record = vigil::tools::ReadLastRescanRecord(*f.store);
    if (!record.ok()) return record.status();
    return vigil::tools::DecodeLastRescan(*record);
  };
  CHECK(read_last().status().IsNotFound());
  REQUIRE(f.store
              ->PutCheckpoint(vigil::tools::kLastRescanCheckpoint,
                              R"({"pack":"p@1","pack_hash":"h","selection":{"since":null,"category":""},)"
                              R"("started_at_ms":5,"finished_at_ms":9})")
              .ok());
  vigil::Result<vigil::tools::LastRescan> read = read_last();
  REQUIRE(read.ok());
  CHECK(read->pack == "p@1");
  CHECK(read->started_at_ms == 5);
  CHECK(read->finished_at_ms == 9);
  CHECK_FALSE(read->since.has_value());
  REQUIRE(f.store->PutCheckpoint(vigil::tools::kLastRescanCheckpoint, R"({"running":true,"pack":"p@2"})").ok());
  CHECK(read_last().status().IsNotFound());
  REQUIRE(f.store->PutCheckpoint(vigil::tools::kLastRescanCheckpoint, "not json").ok());
  CHECK(read_last().status().IsNotFound());
}
