#include "storage/store.h"

#include <fcntl.h>
#include <poll.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "storage/export_json.h"
#include "storage/keys.h"
#include "storage/store_sink.h"
#include "tests/storage/store_test_util.h"

using namespace vigil::storage;
using namespace vigil::storage::testing;
using vigil::Status;
using vigil::scanner::Document;
using vigil::scanner::EntityType;
using vigil::scanner::ScanResult;

namespace {

std::unique_ptr<Store> OpenOrDie(const std::string& dir, OpenOptions options = TestOptions()) {
  auto store = Store::Open(dir, options);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

void Put(Store* store, const std::vector<TestAd>& ads, PutStats* stats = nullptr) {
  const auto batch = MakeAds(ads);
  Status s = store->PutScanned(batch, stats);
  INFO(s.ToString());
  REQUIRE(s.ok());
}

void RequireConsistent(const Store& store) {
  ConsistencyReport report;
  Status s = store.CheckConsistency(&report);
  INFO(s.ToString());
  REQUIRE(s.ok());
  std::string problems;
  for (const auto& p : report.problems) problems += p + "\n";
  INFO(problems);
  REQUIRE(report.ok());
}

std::vector<std::string> Ids(const LeadPage& page) {
  std::vector<std::string> ids;
  for (const auto& l : page.leads) ids.push_back(l.ad_id);
  return ids;
}

std::string fmt_id(int t, int b, int i) {
  std::ostringstream out;
  out << 't' << t << '-' << b << '-' << i;
  return out.str();
}

LeadPage List(const Store& store, LeadQuery q) {
  auto page = store.ListLeads(q);
  INFO(page.status().ToString());
  REQUIRE(page.ok());
  return std::move(page).value();
}

}  // namespace

TEST_CASE("an ad round-trips with findings, lead and default review", "[store]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  TestAd a;
  a.id = "ad-1";
  a.phones = {"+17025550147"};
  a.emails = {"lexi@example.test"};
  a.categories = {"youth", "movement"};
  PutStats stats;
  Put(store.get(), {a}, &stats);
  CHECK(stats.ads == 1);
  CHECK(stats.new_ads == 1);
  CHECK(stats.flagged == 1);

  auto got = store->GetAd("ad-1");
  REQUIRE(got.ok());
  const AdDetail& d = *got;
  const auto [doc, result] = MakeAd(a);
  CHECK(d.ad.doc.id == "ad-1");
  CHECK(d.ad.doc.text == doc.text);
  CHECK(d.ad.doc.url == doc.url);
  CHECK(d.ad.doc.fetched_at == doc.fetched_at);
  CHECK(d.ad.doc.metadata_json == doc.metadata_json);
  CHECK(d.ad.content_hash == ContentHash(doc));
  CHECK(d.ad.version == 1);
  CHECK(d.version_count == 1);
  CHECK(d.ad.time == *ParseIsoTime(a.posted_at));
  CHECK(d.ad.ingested_at_ms == kTestClockMs);
  CHECK(d.findings.id == "ad-1");
  CHECK(d.findings.hits.size() == 2);
  CHECK(d.findings.entities.size() == 2);
  CHECK(d.finding_ids == FindingIds(result, d.ad.content_hash));
  CHECK(d.lead.score == 0.6);
  CHECK(d.lead.categories == std::vector<std::string>{"movement", "youth"});
  CHECK(d.lead.snippet.rfind("Sweet new girl", 0) == 0);
  CHECK(d.review.status == ReviewStatus::kNew);
  CHECK(d.review.version == 0);
  CHECK(d.history.empty());
  CHECK(store->GetAd("nope").status().IsNotFound());
  RequireConsistent(*store);

  // Durable across reopen.
  store.reset();
  store = OpenOrDie(tmp.path());
  REQUIRE(store->GetAd("ad-1").ok());
  auto counts = store->CountByStatus();
  REQUIRE(counts.ok());
  CHECK((*counts)[ReviewStatus::kNew].total == 1);
  CHECK((*counts)[ReviewStatus::kNew].flagged == 1);
}

TEST_CASE("same content is a duplicate; new content a new version", "[store]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  TestAd a;
  a.id = "ad-1";
  a.phones = {"+17025550147"};
  Put(store.get(), {a});

  PutStats stats;
  TestAd refetched = a;
  refetched.fetched_at = "2026-03-01";  // not content
  Put(store.get(), {refetched}, &stats);
  CHECK(stats.duplicates == 1);
  CHECK(stats.new_versions == 0);
  CHECK(store->GetAd("ad-1")->ad.doc.fetched_at == a.fetched_at);  // nothing rewritten

  REQUIRE(store->Review("ad-1", {ReviewStatus::kEscalated, "dana", "", "lee", 0}).ok());

  TestAd edited = a;
  edited.text = "Edited: new phone now.";
  edited.phones = {"+17025550148"};
  edited.score = 0.3;
  edited.flagged = false;
  stats = {};
  Put(store.get(), {edited}, &stats);
  CHECK(stats.new_versions == 1);
  auto d = store->GetAd("ad-1");
  REQUIRE(d.ok());
  CHECK(d->ad.version == 2);
  CHECK(d->version_count == 2);
  CHECK(d->ad.doc.text.rfind("Edited", 0) == 0);
  CHECK(d->review.status == ReviewStatus::kEscalated);  // reviews survive new versions
  CHECK(d->lead.status == ReviewStatus::kEscalated);
  CHECK_FALSE(d->lead.flagged);
  auto v1 = store->GetAdVersion("ad-1", 1);
  REQUIRE(v1.ok());
  CHECK(v1->doc.text.rfind("Sweet", 0) == 0);
  CHECK(v1->version == 1);
  CHECK(store->GetAdVersion("ad-1", 2)->doc.text == d->ad.doc.text);
  CHECK(store->GetAdVersion("ad-1", 3).status().IsNotFound());

  // The old phone's posting went with the old version.
  CHECK(store->GetEntity(EntityType::kPhone, "+17025550147", 10).status().IsNotFound());
  auto e = store->GetEntity(EntityType::kPhone, "+17025550148", 10);
  REQUIRE(e.ok());
  CHECK(e->postings.size() == 1);

  // Only one lead, in the escalated list, with the new score.
  LeadQuery q;
  auto all = List(*store, q);
  REQUIRE(all.leads.size() == 1);
  CHECK(all.leads[0].score == 0.3);
  q.status = ReviewStatus::kNew;
  CHECK(List(*store, q).leads.empty());
  q.status = ReviewStatus::kEscalated;
  CHECK(List(*store, q).leads.size() == 1);
  auto counts = store->CountByStatus();
  CHECK((*counts)[ReviewStatus::kEscalated].total == 1);
  CHECK((*counts)[ReviewStatus::kEscalated].flagged == 0);
  CHECK((*counts)[ReviewStatus::kNew].total == 0);
  RequireConsistent(*store);
}

TEST_CASE("one batch may hold the same id several times", "[store]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  TestAd a;
  a.id = "ad-1";
  a.phones = {"+17025550147"};
  TestAd b = a;
  b.text = "Second version in the same batch.";
  b.city = "Elko";
  TestAd c = b;  // duplicate of b
  PutStats stats;
  Put(store.get(), {a, b, c}, &stats);
  CHECK(stats.ads == 3);
  CHECK(stats.new_ads == 1);
  CHECK(stats.new_versions == 1);
  CHECK(stats.duplicates == 1);
  auto d = store->GetAd("ad-1");
  REQUIRE(d.ok());
  CHECK(d->ad.version == 2);
  CHECK(d->lead.city == "Elko");
  auto e = store->GetEntity(EntityType::kPhone, "+17025550147", 10);
  REQUIRE(e.ok());
  CHECK(e->stats.ads == 1);
  CHECK(e->stats.cities == std::vector<std::string>{"elko"});
  RequireConsistent(*store);
}

TEST_CASE("ids out of order in a batch keep each id's last version", "[store]") {
  // The stager writes ad, findings and lead records straight into the batch
  // while their ids come in order, and through its sort from the first id
  // out of order on; an id written on both sides of that switch must end
  // at its last version.
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  std::vector<TestAd> ads;
  for (const char* id : {"ad-b", "ad-c", "ad-a", "ad-c", "ad-d", "ad-b"}) {
    TestAd t;
    t.id = id;
    t.text = fmt::format("Text {} of {}.", ads.size(), id);
    t.city = ads.size() % 2 ? "Reno" : "Elko";
    t.phones = {fmt::format("+1702555{:04}", 100 + ads.size() % 3)};
    ads.push_back(std::move(t));
  }
  PutStats stats;
  Put(store.get(), ads, &stats);
  CHECK(stats.new_ads == 4);
  CHECK(stats.new_versions == 2);
  const std::map<std::string, std::pair<std::string, uint32_t>> want = {
      {"ad-a", {"Text 2 of ad-a.", 1}},
      {"ad-b", {"Text 5 of ad-b.", 2}},
      {"ad-c", {"Text 3 of ad-c.", 2}},
      {"ad-d", {"Text 4 of ad-d.", 1}},
  };
  for (const auto& [id, text_version] : want) {
    auto d = store->GetAd(id);
    REQUIRE(d.ok());
    CHECK(d->ad.doc.text.rfind(text_version.first, 0) == 0);
    CHECK(d->ad.version == text_version.second);
    CHECK(d->lead.version == text_version.second);
  }
  RequireConsistent(*store);
}

TEST_CASE("bad input is refused whole, with the document named", "[store]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  TestAd good;
  good.id = "good";
  TestAd bad;
  bad.id = "bad";
  auto batch = MakeAds({good, bad});

  SECTION("span outside the text") { batch[1].second.hits[0].end = 10000; }
  SECTION("score not a number") { batch[1].second.score = std::nan(""); }
  SECTION("result of another document") { batch[1].second.id = "other"; }
  SECTION("empty id") {
    batch[1].first.id.clear();
    batch[1].second.id.clear();
  }
  SECTION("oversized id") {
    batch[1].first.id = std::string(kMaxAdIdBytes + 1, 'x');
    batch[1].second.id = batch[1].first.id;
  }
  Status s = store->PutScanned(batch, nullptr);
  INFO(s.ToString());
  CHECK(s.IsInvalidArgument());
  CHECK(store->GetAd("good").status().IsNotFound());
  RequireConsistent(*store);
}

TEST_CASE("lead lists order, filter and page through the indexes", "[store]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  std::vector<TestAd> ads;
  const char* cities[] = {"Reno", "Elko", "Las Vegas"};
  for (int i = 0; i < 30; ++i) {
    TestAd a;
    a.id = "ad-" + std::to_string(100 + i);
    a.score = (i % 10) / 10.0 + 0.05;
    a.flagged = a.score >= 0.5;
    a.categories = i % 3 == 0 ? std::vector<std::string>{"youth"} : std::vector<std::string>{"movement"};
    a.city = cities[i % 3];
    a.posted_at = FormatIsoTime(1767225600 + i * 86400);  // one per day from 2026-01-01
    a.text = i % 5 == 0 ? "Brand NEW here, call now" : "Visiting this weekend only";
    ads.push_back(a);
  }
  Put(store.get(), ads);

  SECTION("by score, highest first, ties by id") {
    LeadQuery q;
    q.limit = 100;
    auto page = List(*store, q);
    REQUIRE(page.leads.size() == 30);
    for (size_t i = 1; i < page.leads.size(); ++i) {
      const auto& a = page.leads[i - 1];
      const auto& b = page.leads[i];
      CHECK((a.score > b.score || (a.score == b.score && a.ad_id < b.ad_id)));
    }
    CHECK(page.next_cursor.empty());
  }
  SECTION("by category, with min score") {
    LeadQuery q;
    q.category = "youth";
    q.min_score = 0.5;
    q.limit = 100;
    auto page = List(*store, q);
    // youth: i = 0,3,...,27 → scores 0.05,0.35,0.65,0.95,0.25,0.55,0.85,0.15,0.45,0.75
    CHECK(page.leads.size() == 5);
    for (const auto& l : page.leads) {
      CHECK(l.score >= 0.5);
      CHECK(l.categories == std::vector<std::string>{"youth"});
    }
  }
  SECTION("time window and order by time") {
    LeadQuery q;
    q.order = LeadOrder::kTime;
    q.since = 1767225600 + 10 * 86400;
    q.until = 1767225600 + 20 * 86400;
    q.limit = 100;
    auto page = List(*store, q);
    REQUIRE(page.leads.size() == 10);
    CHECK(page.leads.front().ad_id == "ad-119");
    CHECK(page.leads.back().ad_id == "ad-110");
    q.order = LeadOrder::kScore;  // same window, by score
    auto by_score = List(*store, q);
    CHECK(by_score.leads.size() == 10);
    CHECK(by_score.leads.front().score == Approx(0.95));
  }
  SECTION("city, flagged and text filters") {
    LeadQuery q;
    q.city = "las vegas";
    q.limit = 100;
    CHECK(List(*store, q).leads.size() == 10);
    q.flagged_only = true;
    for (const auto& l : List(*store, q).leads) CHECK(l.flagged);
    LeadQuery t;
    t.text = "brand new";
    t.limit = 100;
    auto page = List(*store, t);
    CHECK(page.leads.size() == 6);  // i % 5 == 0
  }
  SECTION("pages join to the full list") {
    LeadQuery q;
    q.category = "movement";
    q.limit = 7;
    std::vector<std::string> seen;
    for (int pages = 0; pages < 10; ++pages) {
      auto page = List(*store, q);
      for (auto& id : Ids(page)) seen.push_back(id);
      if (page.next_cursor.empty()) break;
      q.cursor = page.next_cursor;
    }
    CHECK(seen.size() == 20);
    CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 20);
    LeadQuery fresh;
    fresh.category = "movement";
    fresh.limit = 100;
    CHECK(Ids(List(*store, fresh)) == seen);
  }
  SECTION("bad queries are errors") {
    LeadQuery q;
    q.limit = 0;
    CHECK(store->ListLeads(q).status().IsInvalidArgument());
    q.limit = 10;
    q.cursor = "not-hex";
    CHECK(store->ListLeads(q).status().IsInvalidArgument());
    LeadQuery other;
    other.limit = 1;
    const std::string cursor = List(*store, other).next_cursor;
    REQUIRE_FALSE(cursor.empty());
    q.cursor = cursor;
    q.order = LeadOrder::kTime;  // a cursor from another index
    CHECK(store->ListLeads(q).status().IsInvalidArgument());
  }
}

TEST_CASE("reviews keep history, detect conflicts and write the audit log", "[store]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  TestAd a;
  a.id = "ad-1";
  Put(store.get(), {a});

  auto r1 = store->Review("ad-1", ReviewAction{ReviewStatus::kInReview, "dana", "looking", "dana", 0});
  REQUIRE(r1.ok());
  CHECK(r1->version == 1);
  CHECK(r1->status == ReviewStatus::kInReview);

  // A second reviewer who loaded version 0 is told about the conflict.
  auto stale = store->Review("ad-1", ReviewAction{ReviewStatus::kDismissed, std::nullopt, "", "lee", 0});
  CHECK(stale.status().IsConflict());
  CHECK(stale.status().ToString().rfind("Conflict: ", 0) == 0);
  CHECK(store->GetAd("ad-1")->review.status == ReviewStatus::kInReview);

  auto r2 = store->Review("ad-1", ReviewAction{ReviewStatus::kEscalated, std::nullopt, "case 12", "lee", 1});
  REQUIRE(r2.ok());
  CHECK(r2->assignee == "dana");
  auto note = store->Review("ad-1", ReviewAction{std::nullopt, std::nullopt, "called back", "lee", std::nullopt});
  REQUIRE(note.ok());
  CHECK(note->version == 3);

  auto d = store->GetAd("ad-1");
  REQUIRE(d.ok());
  REQUIRE(d->history.size() == 3);
  CHECK(d->history[0].from_status == ReviewStatus::kNew);
  CHECK(d->history[0].to_status == ReviewStatus::kInReview);
  CHECK(d->history[0].to_assignee == "dana");
  CHECK(d->history[1].user == "lee");
  CHECK(d->history[1].note == "case 12");
  CHECK(d->history[2].to_status == ReviewStatus::kEscalated);
  CHECK(d->lead.status == ReviewStatus::kEscalated);

  CHECK(store->Review("missing", ReviewAction{ReviewStatus::kDismissed, {}, "", "lee", {}}).status().IsNotFound());
  CHECK(store->Review("ad-1", ReviewAction{}).status().IsInvalidArgument());
  CHECK(store->Review("ad-1", ReviewAction{ReviewStatus::kDismissed, {}, "", "", {}}).status().IsInvalidArgument());

  AuditQuery aq;
  aq.action = "review";
  aq.newest_first = false;
  auto audit = store->ListAudit(aq);
  REQUIRE(audit.ok());
  REQUIRE(audit->size() == 3);  // the refused ones left no trace
  CHECK((*audit)[0].user == "dana");
  CHECK((*audit)[0].target == "ad-1");
  CHECK((*audit)[0].detail.find("new -> in_review") != std::string::npos);
  CHECK((*audit)[1].detail.find("case 12") != std::string::npos);
  CHECK((*audit)[0].at_ms == kTestClockMs);

  // Reviews and the status index survive rescans.
  auto [doc, result] = MakeAd(a);
  result.score = 0.9;
  REQUIRE(store->ReplaceFindings("ad-1", result).ok());
  CHECK(store->GetAd("ad-1")->review.version == 3);
  LeadQuery q;
  q.status = ReviewStatus::kEscalated;
  CHECK(List(*store, q).leads.size() == 1);
  RequireConsistent(*store);
}

TEST_CASE("the audit log only grows, across reopens", "[store]") {
  TempDir tmp;
  {
    auto store = OpenOrDie(tmp.path());
    for (int i = 0; i < 5; ++i) {
      auto seq = store->AppendAudit({0, 0, "dana", "view", "ad-" + std::to_string(i), ""});
      REQUIRE(seq.ok());
      CHECK(*seq == static_cast<uint64_t>(i + 1));
    }
    CHECK(store->AppendAudit({0, 0, "", "view", "x", ""}).status().IsInvalidArgument());
  }
  auto store = OpenOrDie(tmp.path());
  auto seq = store->AppendAudit({0, 0, "lee", "view", "ad-9", "opened"});
  REQUIRE(seq.ok());
  CHECK(*seq == 6);
  AuditQuery q;
  auto newest = store->ListAudit(q);
  REQUIRE(newest.ok());
  REQUIRE(newest->size() == 6);
  CHECK(newest->front().seq == 6);
  CHECK(newest->back().seq == 1);
  q.newest_first = false;
  q.start_seq = 3;
  q.limit = 2;
  auto page = store->ListAudit(q);
  REQUIRE(page->size() == 2);
  CHECK((*page)[0].seq == 3);
  CHECK((*page)[1].seq == 4);
  q = AuditQuery{};
  q.user = "lee";
  CHECK(store->ListAudit(q)->size() == 1);
  q.start_seq = 5;  // newest first from 5: lee's event (6) is after it
  CHECK(store->ListAudit(q)->empty());
  RequireConsistent(*store);
}

TEST_CASE("entity statistics and postings", "[store][entities]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  std::vector<TestAd> ads;
  for (int i = 0; i < 4; ++i) {
    TestAd a;
    a.id = "ad-" + std::to_string(i);
    a.phones = {"+17025550150"};
    a.handles = {"snap:sunny_99"};
    a.city = i < 3 ? "Reno" : "Elko";
    a.posted_at = FormatIsoTime(1767225600 + i * 3600);
    ads.push_back(a);
  }
  Put(store.get(), ads);
  auto e = store->GetEntity(EntityType::kPhone, "+17025550150", 3);
  REQUIRE(e.ok());
  CHECK(e->stats.ads == 4);
  CHECK(e->stats.first_seen == 1767225600);
  CHECK(e->stats.last_seen == 1767225600 + 3 * 3600);
  CHECK(e->stats.cities == std::vector<std::string>{"elko", "reno"});
  CHECK_FALSE(e->stats.network);
  REQUIRE(e->postings.size() == 3);  // newest first, limited
  CHECK(e->postings[0].ad_id == "ad-3");
  CHECK(e->postings[0].city == "Elko");
  CHECK(e->postings[2].ad_id == "ad-1");
  auto h = store->GetEntity(EntityType::kHandle, "snap:sunny_99", 100);
  REQUIRE(h.ok());
  CHECK(h->postings.size() == 4);
  CHECK(store->GetEntity(EntityType::kPhone, "+17025550199", 10).status().IsNotFound());
  CHECK(store->GetEntity(EntityType::kEmail, "+17025550150", 10).status().IsNotFound());
  RequireConsistent(*store);
}

TEST_CASE("a phone in 3 cities within 30 days marks all its ads", "[store][network]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  const int64_t day = 86400, t0 = 1767225600;
  const auto ad = [&](std::string id, std::string city, int64_t t, double score) {
    TestAd a;
    a.id = std::move(id);
    a.city = std::move(city);
    a.posted_at = FormatIsoTime(t);
    a.score = score;
    a.phones = {"+17025550160"};
    return a;
  };
  Put(store.get(), {ad("a", "Reno", t0, 0.5), ad("b", "Elko", t0 + 5 * day, 0.4)});
  CHECK_FALSE(store->GetAd("a")->lead.network);
  // A third city, but 60 days later: outside the window.
  Put(store.get(), {ad("c", "Ely", t0 + 60 * day, 0.3)});
  CHECK_FALSE(store->GetAd("c")->lead.network);
  CHECK_FALSE(store->GetEntity(EntityType::kPhone, "+17025550160", 0)->stats.network);
  // A third city within 30 days of Reno and Elko: the signal fires.
  Put(store.get(), {ad("d", "Las Vegas", t0 + 20 * day, 0.0)});
  auto e = store->GetEntity(EntityType::kPhone, "+17025550160", 0);
  REQUIRE(e.ok());
  CHECK(e->stats.network);
  CHECK(e->stats.network_since == t0 + 20 * day);
  for (const char* id : {"a", "b", "c", "d"}) {
    INFO(id);
    auto d = store->GetAd(id);
    REQUIRE(d.ok());
    CHECK(d->lead.network);
    CHECK(d->lead.score == Approx(NetworkBoostedScore(d->lead.base_score, 0.2)));
  }
  CHECK(store->GetAd("a")->lead.score == Approx(0.6));  // 1 - 0.5 * 0.8
  CHECK(store->GetAd("d")->lead.score == Approx(0.2));
  LeadQuery q;
  q.category = "network";
  CHECK(List(*store, q).leads.size() == 4);
  // Later ads with the phone are marked on arrival; ads without it are not.
  TestAd other = ad("e", "Reno", t0 + 400 * day, 0.1);
  TestAd unrelated = other;
  unrelated.id = "f";
  unrelated.phones = {"+17025550161"};
  Put(store.get(), {other, unrelated});
  CHECK(store->GetAd("e")->lead.network);
  CHECK_FALSE(store->GetAd("f")->lead.network);
  RequireConsistent(*store);

  SECTION("rescans keep the mark of ads that still carry the phone") {
    auto [doc, result] = MakeAd(ad("a", "Reno", t0, 0.5));
    result.score = 0.7;
    REQUIRE(store->ReplaceFindings("a", result).ok());
    CHECK(store->GetAd("a")->lead.score == Approx(1 - 0.3 * 0.8));
    result.entities.clear();  // the new pack no longer extracts the phone
    REQUIRE(store->ReplaceFindings("a", result).ok());
    CHECK_FALSE(store->GetAd("a")->lead.network);
    CHECK(store->GetAd("a")->lead.score == Approx(0.7));
    RequireConsistent(*store);
  }
}

TEST_CASE("the network signal does not depend on ingest order", "[store][network]") {
  std::vector<TestAd> ads;
  std::mt19937 rng(42);
  const char* cities[] = {"Reno", "Elko", "Ely", "Las Vegas", "Carson City"};
  for (int i = 0; i < 60; ++i) {
    TestAd a;
    a.id = "ad-" + std::to_string(i);
    a.city = cities[rng() % 5];
    a.posted_at = FormatIsoTime(1767225600 + static_cast<int64_t>(rng() % 200) * 86400);
    a.phones = {"+1702555" + std::to_string(170 + rng() % 6)};
    a.score = (rng() % 100) / 100.0;
    ads.push_back(a);
  }
  std::map<std::string, double> first_scores;
  for (int order = 0; order < 3; ++order) {
    TempDir tmp;
    auto store = OpenOrDie(tmp.path());
    std::shuffle(ads.begin(), ads.end(), rng);
    for (size_t i = 0; i < ads.size(); i += 7) {
      Put(store.get(), std::vector<TestAd>(ads.begin() + i, ads.begin() + std::min(ads.size(), i + 7)));
    }
    RequireConsistent(*store);
    LeadQuery q;
    q.limit = 100;
    std::map<std::string, double> scores;
    for (const auto& l : List(*store, q).leads) scores[l.ad_id] = l.score;
    if (order == 0) {
      first_scores = scores;
      q.category = "network";
      CHECK_FALSE(List(*store, q).leads.empty());  // the data exercises the signal
    } else {
      CHECK(scores == first_scores);
    }
  }
}

TEST_CASE("network parameters are fixed when a store is created", "[store][network]") {
  TempDir tmp;
  OpenOptions o = TestOptions();
  o.network = {2, 7, 0.5};
  {
    auto store = OpenOrDie(tmp.path(), o);
    CHECK(store->network_signal().min_cities == 2);
    TestAd a, b;
    a.id = "a";
    b.id = "b";
    a.phones = b.phones = {"+17025550180"};
    b.city = "Elko";
    a.score = b.score = 0.5;
    Put(store.get(), {a, b});
    CHECK(store->GetAd("a")->lead.score == Approx(0.75));
  }
  auto store = OpenOrDie(tmp.path());  // default options: the stored ones win
  CHECK(store->network_signal().min_cities == 2);
  CHECK(store->network_signal().boost == 0.5);
  o.network.min_cities = 1;
  CHECK(Store::Open(tmp.Sub("other"), o).status().IsInvalidArgument());
}

TEST_CASE("rescans replace findings and keep unflagged leads", "[store]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  TestAd a;
  a.id = "ad-1";
  a.phones = {"+17025550147"};
  Put(store.get(), {a});
  const auto ids_before = store->GetAd("ad-1")->finding_ids;

  auto [doc, result] = MakeAd(a);
  result.score = 0.1;
  result.flagged = false;
  result.pack_version = "core@2.0.0";
  result.hits[0].start = 1;  // offsets move, ids do not
  REQUIRE(store->ReplaceFindings("ad-1", result).ok());
  auto d = store->GetAd("ad-1");
  REQUIRE(d.ok());
  CHECK(d->finding_ids == ids_before);
  CHECK(d->ad.version == 1);
  CHECK_FALSE(d->lead.flagged);
  CHECK(d->lead.pack_version == "core@2.0.0");
  LeadQuery q;
  CHECK(List(*store, q).leads.size() == 1);  // still listed
  q.flagged_only = true;
  CHECK(List(*store, q).leads.empty());
  CHECK((*store->CountByStatus())[ReviewStatus::kNew].flagged == 0);

  CHECK(store->ReplaceFindings("missing", result).IsNotFound());
  result.hits[0].end = 100000;
  CHECK(store->ReplaceFindings("ad-1", result).IsInvalidArgument());
  RequireConsistent(*store);
}

TEST_CASE("rescans of scattered ids read each one, across gaps and out of order", "[store][rescan]") {
  // The stager reads a rescan's ads, leads and findings with one walk per
  // family, stepping to neighbouring ids and seeking past gaps; updates
  // given out of order and ids next to, far from and between stored ones
  // must each find their own records.
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  // Even ids only: odd ones fall between stored ads.
  const auto ad_number = [](int n) {
    TestAd t;
    t.id = fmt::format("ad-{:04}", n);
    t.text = fmt::format("Ad number {} of the walk test.", n / 2);
    return t;
  };
  std::vector<TestAd> ads, more;
  for (int n = 0; n < 400; n += 2) ads.push_back(ad_number(n));
  for (int n = 400; n < 440; n += 2) more.push_back(ad_number(n));
  Put(store.get(), ads);
  // Flushed ads (table files) and fresh ones (memtable) both.
  REQUIRE(store->Flush().ok());
  Put(store.get(), more);
  const std::vector<int> picked = {398, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 100, 102, 250, 396, 438, 410};
  std::vector<std::pair<Document, ScanResult>> results;
  for (int n : picked) {
    auto [doc, result] = MakeAd(ad_number(n));
    result.pack_version = "core@2.0.0";
    results.emplace_back(std::move(doc), std::move(result));
  }
  std::vector<FindingsUpdate> updates;
  for (const auto& [doc, result] : results) updates.push_back({doc.id, &result});
  ReplaceStats stats;
  REQUIRE(store->ReplaceFindings(updates, nullptr, &stats).ok());
  CHECK(stats.ads == picked.size());
  CHECK(stats.pack_only == picked.size());
  for (int n = 0; n < 440; n += 2) {
    const std::string id = fmt::format("ad-{:04}", n);
    auto d = store->GetAd(id);
    REQUIRE(d.ok());
    const bool was_picked = std::find(picked.begin(), picked.end(), n) != picked.end();
    INFO(id);
    CHECK(d->lead.pack_version == (was_picked ? "core@2.0.0" : "core@1.0.0"));
    CHECK(d->findings.pack_version == d->lead.pack_version);
  }
  // An id between two stored ones does not exist: the request fails whole.
  TestAd odd;
  odd.id = "ad-0101";
  auto [odd_doc, odd_result] = MakeAd(odd);
  std::vector<FindingsUpdate> missing = {{"ad-0100", &results[12].second}, {"ad-0101", &odd_result}};
  CHECK(store->ReplaceFindings(missing, nullptr, nullptr).IsNotFound());

  // Widely scattered ids (every 24th ad: each needs a seek), which turn the
  // walk into point lookups after a few, in table files and the memtable.
  std::vector<int> scattered;
  for (int n = 6; n < 440; n += 24) scattered.push_back(n);
  REQUIRE(scattered.size() > 12);
  std::vector<std::pair<Document, ScanResult>> third;
  for (int n : scattered) {
    auto [doc, result] = MakeAd(ad_number(n));
    result.pack_version = "core@3.0.0";
    third.emplace_back(std::move(doc), std::move(result));
  }
  updates.clear();
  for (const auto& [doc, result] : third) updates.push_back({doc.id, &result});
  ReplaceStats third_stats;
  REQUIRE(store->ReplaceFindings(updates, nullptr, &third_stats).ok());
  CHECK(third_stats.ads == scattered.size());
  CHECK(third_stats.pack_only == scattered.size());
  for (int n = 0; n < 440; n += 2) {
    const std::string id = fmt::format("ad-{:04}", n);
    auto d = store->GetAd(id);
    REQUIRE(d.ok());
    const bool second = std::find(picked.begin(), picked.end(), n) != picked.end();
    const bool third_round = std::find(scattered.begin(), scattered.end(), n) != scattered.end();
    INFO(id);
    CHECK(d->lead.pack_version == (third_round ? "core@3.0.0" : second ? "core@2.0.0" : "core@1.0.0"));
    CHECK(d->findings.pack_version == d->lead.pack_version);
  }
  // A missing id among the point lookups fails the request whole too.
  TestAd odd2;
  odd2.id = "ad-0415";
  auto [odd2_doc, odd2_result] = MakeAd(odd2);
  updates.push_back({"ad-0415", &odd2_result});
  std::sort(updates.begin(), updates.end(), [](const auto& x, const auto& y) { return x.ad_id < y.ad_id; });
  CHECK(store->ReplaceFindings(updates, nullptr, nullptr).IsNotFound());
  RequireConsistent(*store);
}

TEST_CASE("rescans write only what changed, with the checkpoint in the same batch", "[store][rescan]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  TestAd a, b, c;
  a.id = "ad-a";
  a.phones = {"+17025550147"};
  b.id = "ad-b";
  b.categories = {"control", "youth"};
  c.id = "ad-c";
  Put(store.get(), {a, b, c});
  const auto lead_index_entries = [&] {
    ConsistencyReport report;
    REQUIRE(store->CheckConsistency(&report).ok());
    REQUIRE(report.ok());
    return report.lead_index_entries;
  };
  const uint64_t entries_before = lead_index_entries();

  auto [doc_a, same] = MakeAd(a);                 // the stored findings again
  auto [doc_b, new_pack] = MakeAd(b);             // the same hits from another pack version
  new_pack.pack_version = "core@2.0.0";
  auto [doc_c, changed] = MakeAd(c);              // new hits
  changed.pack_version = "core@2.0.0";
  changed.categories = {"control"};
  changed.hits[0].rule = "control.rule";
  changed.hits[0].category = "control";
  changed.score = 0.2;
  changed.flagged = false;
  std::vector<FindingsUpdate> updates = {{"ad-a", &same}, {"ad-b", &new_pack}, {"ad-c", &changed}};
  CheckpointWrite checkpoint{"rescan", "after ad-c"};
  ReplaceStats stats;
  REQUIRE(store->ReplaceFindings(updates, &checkpoint, &stats).ok());
  CHECK(stats.ads == 3);
  CHECK(stats.unchanged == 1);
  CHECK(stats.pack_only == 1);
  CHECK(stats.changed == 1);
  CHECK(stats.stale == 0);
  CHECK(*store->GetCheckpoint("rescan") == "after ad-c");
  CHECK(store->GetAd("ad-a")->lead.pack_version == "core@1.0.0");
  CHECK(store->GetAd("ad-b")->lead.pack_version == "core@2.0.0");
  CHECK(store->GetAd("ad-b")->findings.pack_version == "core@2.0.0");
  CHECK(store->GetAd("ad-b")->lead.categories == std::vector<std::string>{"control", "youth"});
  CHECK(store->GetAd("ad-c")->lead.pack_version == "core@2.0.0");
  CHECK_FALSE(store->GetAd("ad-c")->lead.flagged);
  CHECK(store->GetAd("ad-c")->lead.categories == std::vector<std::string>{"control"});
  CHECK(lead_index_entries() == entries_before);  // youth -> control for ad-c
  LeadQuery youth;
  youth.category = "youth";
  CHECK(List(*store, youth).leads.size() == 2);
  CHECK((*store->CountByStatus())[ReviewStatus::kNew].flagged == 2);

  // A result computed from another version than the stored one is stale.
  std::vector<FindingsUpdate> stale = {{"ad-c", &same, /*expected_version=*/2}};
  stats = ReplaceStats{};
  REQUIRE(store->ReplaceFindings(stale, nullptr, &stats).ok());
  CHECK(stats.stale == 1);
  CHECK(store->GetAd("ad-c")->lead.pack_version == "core@2.0.0");

  // A request that cannot apply writes nothing, its checkpoint included.
  CheckpointWrite later{"rescan", "after missing"};
  ScanResult same_new_pack = same;
  same_new_pack.pack_version = "core@2.0.0";
  std::vector<FindingsUpdate> bad = {{"ad-a", &same_new_pack}, {"missing", &same}};
  const Status bad_status = store->ReplaceFindings(bad, &later, nullptr);
  INFO(bad_status.ToString());
  CHECK(bad_status.IsNotFound());
  CHECK(*store->GetCheckpoint("rescan") == "after ad-c");
  CHECK(store->GetAd("ad-a")->lead.pack_version == "core@1.0.0");
  ScanResult other_ad = same;
  other_ad.id = "ad-b";
  std::vector<FindingsUpdate> mismatched = {{"ad-a", &other_ad}};
  CHECK(store->ReplaceFindings(mismatched, &later, nullptr).IsInvalidArgument());
  CHECK(*store->GetCheckpoint("rescan") == "after ad-c");
  RequireConsistent(*store);
}

// The outcomes of queued writes, in the order the store reports them.
class Completions {
 public:
  void Record(std::string what, const Status& s) {
    std::lock_guard lock(mu_);
    done_.push_back(what + (s.ok() ? "" : " failed: " + s.ToString()));
    cv_.notify_all();
  }
  // Waits until `n` are reported; returns them.
  std::vector<std::string> WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_.size() >= n; });
    return done_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> done_;
};

// An ad and a second version of it: another text and another phone.
std::pair<TestAd, TestAd> AdAndNewVersion() {
  TestAd v1;
  v1.id = "ad-1";
  v1.phones = {"+17025550101"};
  TestAd v2 = v1;
  v2.text = "Second version of the invented text.";
  v2.phones = {"+17025550102"};
  return {v1, v2};
}

TEST_CASE("queued ingests and rescans commit in order through the pipeline", "[store][rescan][pipeline]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  const auto [v1, v2] = AdAndNewVersion();
  auto first = MakeAds({v1});
  auto second = MakeAds({v2});
  auto [doc, rescanned] = MakeAd(v1);
  rescanned.pack_version = "core@2.0.0";
  rescanned.score = 0.9;
  std::vector<ScannedAd> put1 = {{&first[0].first, &first[0].second}};
  std::vector<ScannedAd> put2 = {{&second[0].first, &second[0].second}};
  std::vector<FindingsUpdate> updates = {{"ad-1", &rescanned, /*expected_version=*/1}};
  Completions completions;
  const auto record = [&](std::string what, const Status& s) { completions.Record(std::move(what), s); };
  store->PutScannedAsync(put1, [&](const Status& s, const PutStats&) { record("put1", s); });
  store->ReplaceFindingsAsync(updates, CheckpointWrite{"rescan", "ad-1"},
                              [&](const Status& s, const ReplaceStats& st) {
                                record(st.changed == 1 ? "replace" : "replace (not changed)", s);
                              });
  store->PutScannedAsync(put2, [&](const Status& s, const PutStats&) { record("put2", s); });
  CHECK(completions.WaitFor(3) == std::vector<std::string>{"put1", "replace", "put2"});
  auto d = store->GetAd("ad-1");
  REQUIRE(d.ok());
  CHECK(d->ad.version == 2);
  CHECK(d->lead.pack_version == "core@1.0.0");  // version 2 was stored with its own findings
  CHECK(*store->GetCheckpoint("rescan") == "ad-1");
  CHECK(store->GetEntity(vigil::scanner::EntityType::kPhone, "+17025550101", 10).status().IsNotFound());
  RequireConsistent(*store);
}

TEST_CASE("a rescan's update taken as walked: the lead vouches for its version", "[store][rescan][pipeline]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  const auto [v1, v2] = AdAndNewVersion();
  TestAd other;
  other.id = "ad-2";
  Put(store.get(), {v1});
  Put(store.get(), {other});  // ad-1 is no longer staged: the update reads the store
  auto second = MakeAds({v2});
  auto [doc, rescanned] = MakeAd(v1);
  rescanned.pack_version = "core@2.0.0";
  rescanned.score = 0.9;
  // The update (with the text size the walk saw) and a new version of the
  // same ad, queued back to back behind a large batch, which keeps the
  // stager busy while they queue: staged together, the new version needs
  // the ad record the update did not read.
  std::vector<TestAd> many(3000);
  for (size_t i = 0; i < many.size(); ++i) many[i].id = fmt::format("bulk-{:05}", i);
  auto bulk = MakeAds(many);
  std::vector<ScannedAd> put_bulk;
  for (const auto& [d, r] : bulk) put_bulk.push_back({&d, &r});
  std::vector<FindingsUpdate> updates = {{"ad-1", &rescanned, /*expected_version=*/1, "", doc.text.size()}};
  std::vector<ScannedAd> put2 = {{&second[0].first, &second[0].second}};
  Completions completions;
  const auto record = [&](std::string what, const Status& s) { completions.Record(std::move(what), s); };
  store->PutScannedAsync(put_bulk, [&](const Status& s, const PutStats&) { record("bulk", s); });
  store->ReplaceFindingsAsync(updates, std::nullopt, [&](const Status& s, const ReplaceStats& st) {
    record(st.changed == 1 ? "replace" : "replace (not changed)", s);
  });
  store->PutScannedAsync(put2, [&](const Status& s, const PutStats& st) {
    record(st.new_versions == 1 ? "put2" : "put2 (not a new version)", s);
  });
  CHECK(completions.WaitFor(3) == std::vector<std::string>{"bulk", "replace", "put2"});
  auto d = store->GetAd("ad-1");
  REQUIRE(d.ok());
  CHECK(d->ad.version == 2);
  CHECK(d->ad.doc.text == second[0].first.text);
  auto old = store->GetAdVersion("ad-1", 1);
  REQUIRE(old.ok());
  CHECK(old->doc.text == doc.text);
  CHECK(old->content_hash == ContentHash(doc));
  RequireConsistent(*store);

  // The lead now holds version 2: an update of version 1 is stale, text
  // size or not; one of version 2 with a text size its spans exceed is
  // refused, as a wrong text read from the store would be.
  ReplaceStats stats;
  std::vector<FindingsUpdate> stale = {{"ad-1", &rescanned, 1, "", doc.text.size()}};
  REQUIRE(store->ReplaceFindings(stale, nullptr, &stats).ok());
  CHECK(stats.stale == 1);
  auto [doc2, result2] = MakeAd(v2);
  REQUIRE_FALSE(result2.hits.empty());
  std::vector<FindingsUpdate> too_short = {{"ad-1", &result2, 2, "", size_t{result2.hits[0].end - 1}}};
  CHECK(store->ReplaceFindings(too_short, nullptr, nullptr).IsInvalidArgument());
  std::vector<FindingsUpdate> fits = {{"ad-1", &result2, 2, "", doc2.text.size()}};
  stats = ReplaceStats{};
  REQUIRE(store->ReplaceFindings(fits, nullptr, &stats).ok());
  CHECK(stats.ads == 1);
  CHECK(stats.stale == 0);
  // Updates of one ad that disagree on its text size are checked against
  // the stored text instead: the wrong size of the first does not refuse
  // them (nor would it let a wrong span through).
  std::vector<FindingsUpdate> disagree = {{"ad-1", &result2, 2, "", size_t{result2.hits[0].end - 1}},
                                          {"ad-1", &result2, 2, "", doc2.text.size()}};
  stats = ReplaceStats{};
  REQUIRE(store->ReplaceFindings(disagree, nullptr, &stats).ok());
  CHECK(stats.ads == 2);
  RequireConsistent(*store);
}

TEST_CASE("ForEachStoredAd walks ads with their findings and leads", "[store][rescan]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  std::vector<TestAd> ads(4);
  for (int i = 0; i < 4; ++i) {
    ads[i].id = "ad-" + std::to_string(3 - i);
    ads[i].score = 0.1 * (i + 1);
    ads[i].url = "https://ads.example.test/" + ads[i].id;
  }
  Put(store.get(), ads);
  std::vector<std::string> seen;
  std::map<std::string, vigil::storage::AdRecord> full;
  REQUIRE(store->ForEachStoredAd("ad-0", /*with_leads=*/true, Store::AdFields::kAll, [&](StoredAd& s) {
    CHECK(s.ad.doc.url == "https://ads.example.test/" + s.ad.doc.id);
    CHECK(s.ad.content_hash.size() == 64);
    full[s.ad.doc.id] = s.ad;
    vigil::scanner::ScanResult findings;
    REQUIRE(s.DecodeFindings(&findings).ok());
    CHECK(findings.id == s.ad.doc.id);
    CHECK(s.lead.base_score == findings.score);
    CHECK(findings.hits.size() == 1);
    std::string encoded;
    CHECK(CompareStoredFindings(s, findings, &encoded) == FindingsChange::kSame);
    const std::string stored_label = findings.pack_version;
    findings.pack_version = "core@9.0.0";
    std::string_view label;
    CHECK(CompareStoredFindings(s, findings, &encoded, &label) == FindingsChange::kPackOnly);
    CHECK(label == stored_label);
    findings.hits.clear();
    CHECK(CompareStoredFindings(s, findings, &encoded) == FindingsChange::kChanged);
    seen.push_back(s.ad.doc.id);
    return true;
  }).ok());
  CHECK(seen == std::vector<std::string>{"ad-1", "ad-2", "ad-3"});
  seen.clear();
  // Only what a rescan scans: the text and the numbers, no provenance.
  REQUIRE(store->ForEachStoredAd("", /*with_leads=*/false, Store::AdFields::kScan, [&](StoredAd& s) {
    CHECK(s.lead.pack_version.empty());
    CHECK_FALSE(s.findings_raw.empty());
    CHECK(s.ad.doc.url.empty());
    CHECK(s.ad.content_hash.empty());
    CHECK_FALSE(s.ad.doc.text.empty());
    if (auto it = full.find(s.ad.doc.id); it != full.end()) {
      CHECK(s.ad.doc.text == it->second.doc.text);
      CHECK(s.ad.version == it->second.version);
      CHECK(s.ad.time == it->second.time);
      CHECK(s.ad.ingested_at_ms == it->second.ingested_at_ms);
    }
    seen.push_back(std::move(s.ad.doc.id));
    return seen.size() < 2;
  }).ok());
  CHECK(seen == std::vector<std::string>{"ad-0", "ad-1"});
}

TEST_CASE("exports carry provenance and are audit-logged", "[store][export]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  TestAd a, b, c;
  a.id = "a";
  b.id = "b";
  c.id = "c";
  a.phones = b.phones = {"+17025550190"};
  a.url = "https://ads.example.test/a?x=1";
  Put(store.get(), {a, b, c});
  REQUIRE(store->Review("b", {ReviewStatus::kEscalated, {}, "", "dana", {}}).ok());
  REQUIRE(store->Review("c", {ReviewStatus::kEscalated, {}, "", "dana", {}}).ok());

  ExportQuery q;
  q.entity = EntityKey{EntityType::kPhone, "+17025550190"};
  q.status = ReviewStatus::kEscalated;
  q.purpose = "case 12 referral";
  auto out = store->Export(q, "dana");
  REQUIRE(out.ok());
  REQUIRE(out->records.size() == 1);  // b: carries the phone and is escalated
  const ExportRecord& r = out->records[0];
  CHECK(r.ad.doc.id == "b");
  CHECK(r.finding_ids.size() == r.findings.hits.size());
  const std::string json = ExportRecordToJson(r);
  for (const char* field : {"\"url\"", "\"fetched_at\"", "\"content_hash\"", "\"pack_version\"", "\"finding_id\"",
                            "\"rule\":\"youth.rule\"", "\"start\"", "\"escalated\""}) {
    INFO(field);
    CHECK(json.find(field) != std::string::npos);
  }
  CHECK(ExportRecordToJson(r, false).find("\"text\"") == std::string::npos);

  AuditQuery aq;
  aq.action = "export";
  auto audit = store->ListAudit(aq);
  REQUIRE(audit->size() == 1);
  CHECK((*audit)[0].seq == out->audit_seq);
  CHECK((*audit)[0].user == "dana");
  CHECK((*audit)[0].detail.find("case 12 referral") != std::string::npos);
  CHECK((*audit)[0].detail.find(" b") != std::string::npos);

  ExportQuery by_ids;
  by_ids.ad_ids = {"a", "c", "a"};
  CHECK(store->Export(by_ids, "dana")->records.size() == 2);
  by_ids.max_records = 1;
  CHECK(store->Export(by_ids, "dana").status().IsInvalidArgument());
  by_ids.ad_ids = {"zzz"};
  by_ids.max_records = 10;
  CHECK(store->Export(by_ids, "dana").status().IsNotFound());
  CHECK(store->Export(ExportQuery{}, "dana").status().IsInvalidArgument());
  CHECK(store->Export(q, "").status().IsInvalidArgument());
  ExportQuery escalated;
  escalated.status = ReviewStatus::kEscalated;
  CHECK(store->Export(escalated, "lee")->records.size() == 2);
  RequireConsistent(*store);
}

TEST_CASE("ForEachAd visits ads in id order and resumes", "[store]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  std::vector<TestAd> ads(5);
  for (int i = 0; i < 5; ++i) ads[i].id = "ad-" + std::to_string(4 - i);
  Put(store.get(), ads);
  std::vector<std::string> seen;
  REQUIRE(store->ForEachAd("", [&](const AdRecord& ad) {
    seen.push_back(ad.doc.id);
    return seen.size() < 3;
  }).ok());
  CHECK(seen == std::vector<std::string>{"ad-0", "ad-1", "ad-2"});
  seen.clear();
  REQUIRE(store->ForEachAd("ad-2", [&](const AdRecord& ad) {
    seen.push_back(ad.doc.id);
    return true;
  }).ok());
  CHECK(seen == std::vector<std::string>{"ad-3", "ad-4"});

  REQUIRE(store->PutCheckpoint("rescan/core@2", "ad-2").ok());
  CHECK(*store->GetCheckpoint("rescan/core@2") == "ad-2");
  CHECK(store->GetCheckpoint("other").status().IsNotFound());
  REQUIRE(store->PutToken("session/abc", "dana").ok());
  CHECK(*store->GetToken("session/abc") == "dana");
  REQUIRE(store->DeleteToken("session/abc").ok());
  CHECK(store->GetToken("session/abc").status().IsNotFound());
}

TEST_CASE("StoreSink commits in batches and reports what is durable", "[store][sink]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  std::vector<std::string> committed;
  std::mutex committed_mu;
  {
    StoreSink sink(store.get(), 4);
    sink.set_on_commit([&](std::span<const std::string> ids) {
      std::lock_guard lock(committed_mu);
      committed.insert(committed.end(), ids.begin(), ids.end());
    });
    for (int i = 0; i < 10; ++i) {
      TestAd a;
      a.id = "ad-" + std::to_string(i);
      auto [doc, result] = MakeAd(a);
      REQUIRE(sink.Accept(doc, result).ok());
    }
    CHECK(sink.committed() <= 8);
    CHECK(sink.pending() >= 2);
    CHECK(store->GetAd("ad-8").status().IsNotFound());  // still in the sink's buffer
    REQUIRE(sink.Finish().ok());
    CHECK(sink.committed() == 10);
    CHECK(sink.pending() == 0);
    CHECK(sink.stats().new_ads == 10);
    REQUIRE(sink.Finish().ok());
  }
  // Acknowledged in accept order, each once, and all stored.
  REQUIRE(committed.size() == 10);
  for (int i = 0; i < 10; ++i) {
    CHECK(committed[i] == "ad-" + std::to_string(i));
    CHECK(store->GetAd(committed[i]).ok());
  }

  StoreSink failing(store.get(), 1);
  TestAd bad;
  bad.id = "bad";
  auto [doc, result] = MakeAd(bad);
  result.hits[0].end = 99999;
  CHECK(failing.Accept(doc, result).IsInvalidArgument());
  TestAd fine;
  fine.id = "fine";
  auto [doc2, result2] = MakeAd(fine);
  CHECK(failing.Accept(doc2, result2).IsInvalidArgument());  // stays failed
  CHECK(failing.Finish().IsInvalidArgument());
  CHECK(store->GetAd("fine").status().IsNotFound());
}

TEST_CASE("queued batches commit in order, later versions win", "[store][pipeline]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  // 40 asynchronous batches rewrite the same ids; each must land in order.
  constexpr int kBatches = 40;
  std::vector<std::vector<std::pair<Document, ScanResult>>> batches;
  std::vector<std::vector<ScannedAd>> refs(kBatches);
  for (int b = 0; b < kBatches; ++b) {
    std::vector<TestAd> ads(8);
    for (int i = 0; i < 8; ++i) {
      ads[i].id = "ad-" + std::to_string(i);
      ads[i].text = "Version " + std::to_string(b) + " of this ad.";
      ads[i].phones = {"+1702555" + std::to_string(100 + (b + i) % 7)};
      ads[i].city = (b + i) % 3 == 0 ? "Reno" : ((b + i) % 3 == 1 ? "Elko" : "Ely");
      ads[i].posted_at = FormatIsoTime(1767225600 + b * 86400);
    }
    batches.push_back(MakeAds(ads));
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> order;
  int failures = 0;
  for (int b = 0; b < kBatches; ++b) {
    for (const auto& [doc, result] : batches[b]) refs[b].push_back({&doc, &result});
    store->PutScannedAsync(refs[b], [&, b](const Status& s, const PutStats&) {
      std::lock_guard lock(mu);
      if (!s.ok()) ++failures;
      order.push_back(b);
      cv.notify_all();
    });
    if (b == kBatches / 2) {
      // A review in the middle waits for the groups in flight.
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return !order.empty(); });
      lock.unlock();
      REQUIRE(store->Review("ad-0", {ReviewStatus::kEscalated, {}, "", "dana", {}}).ok());
    }
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return order.size() == kBatches; });
  }
  CHECK(failures == 0);
  for (int b = 0; b < kBatches; ++b) CHECK(order[b] == b);
  for (int i = 0; i < 8; ++i) {
    auto d = store->GetAd("ad-" + std::to_string(i));
    REQUIRE(d.ok());
    CHECK(d->ad.doc.text.rfind("Version 39 ", 0) == 0);
    CHECK(d->ad.version == kBatches);
  }
  CHECK(store->GetAd("ad-0")->review.status == ReviewStatus::kEscalated);
  RequireConsistent(*store);
}

TEST_CASE("concurrent writers share commits and lose nothing", "[store]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  constexpr int kThreads = 4, kBatches = 20, kPerBatch = 16;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<TestAd> ads(kPerBatch);
        for (int i = 0; i < kPerBatch; ++i) {
          ads[i].id = fmt_id(t, b, i);
          ads[i].phones = {"+1702555" + std::to_string(100 + (t * 7 + b + i) % 100)};
          ads[i].city = (i % 2) ? "Reno" : "Elko";
        }
        auto batch = MakeAds(ads);
        if (!store->PutScanned(batch, nullptr).ok()) ++failures;
        if (b % 5 == 0) {
          LeadQuery q;
          if (!store->ListLeads(q).ok()) ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  LeadQuery q;
  q.limit = 10000;
  CHECK(List(*store, q).leads.size() == kThreads * kBatches * kPerBatch);
  RequireConsistent(*store);
}

TEST_CASE("a store from a newer vigil is refused with a clear message", "[store][schema]") {
  TempDir tmp;
  const uint32_t newer = Store::kSchemaVersion + 1;
  {
    auto store = OpenOrDie(tmp.path());
    REQUIRE(store->SetSchemaVersionForTesting(newer).ok());
  }
  for (bool read_only : {false, true}) {
    OpenOptions o = TestOptions();
    o.read_only = read_only;
    auto again = Store::Open(tmp.path(), o);
    REQUIRE_FALSE(again.ok());
    CHECK(again.status().IsInvalidArgument());
    CHECK(again.status().message().find(fmt::format("written by a newer vigil (schema {}); this vigil reads schema {}",
                                                    newer, Store::kSchemaVersion)) != std::string::npos);
  }
}

TEST_CASE("readers open while a writer holds the store", "[store][processes]") {
  TempDir tmp;
  auto writer = OpenOrDie(tmp.path());
  TestAd a;
  a.id = "ad-1";
  Put(writer.get(), {a});

  // A second writer gets a clear Busy, not a raw lock error.
  auto second = Store::Open(tmp.path(), TestOptions());
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().IsBusy());
  CHECK(second.status().message().find("in use by another process") != std::string::npos);
  CHECK(second.status().message().find(tmp.path()) != std::string::npos);

  OpenOptions ro = TestOptions();
  ro.read_only = true;
  auto reader = OpenOrDie(tmp.path(), ro);
  CHECK(reader->read_only());
  CHECK(reader->GetAd("ad-1").ok());
  TestAd b;
  b.id = "ad-2";
  Put(writer.get(), {b});
  CHECK(reader->GetAd("ad-2").status().IsNotFound());  // as of open...
  REQUIRE(reader->Refresh().ok());
  CHECK(reader->GetAd("ad-2").ok());  // ...until it catches up
  LeadQuery q;
  CHECK(List(*reader, q).leads.size() == 2);
  CHECK((*reader->CountByStatus())[ReviewStatus::kNew].total == 2);
  RequireConsistent(*reader);

  // Writes through a reader say how to do them instead.
  Status s = reader->PutScanned(MakeAds({b}), nullptr);
  CHECK(s.IsUnavailable());
  CHECK(s.message().find("vigild") != std::string::npos);
  CHECK(reader->Review("ad-1", {ReviewStatus::kDismissed, {}, "", "dana", {}}).status().IsUnavailable());
  ExportQuery eq;
  eq.ad_ids = {"ad-1"};
  CHECK(reader->Export(eq, "dana").status().IsUnavailable());

  OpenOptions missing = ro;
  CHECK(Store::Open(tmp.Sub("nothing-here"), missing).status().IsNotFound());
  OpenOptions no_create = TestOptions();
  no_create.create_if_missing = false;
  CHECK(Store::Open(tmp.Sub("nothing-here"), no_create).status().IsNotFound());
}

// The store's RocksDB opened directly (every column family), to damage or
// age a store behind vigil's back. Holds the store's lock while it lives.
struct RawDb {
  explicit RawDb(const std::string& dir) {
    rocksdb::DBOptions options;
    REQUIRE(rocksdb::DB::ListColumnFamilies(options, dir, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    REQUIRE(rocksdb::DB::Open(options, dir, descriptors, &handles, &db).ok());
  }
  ~RawDb() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  rocksdb::ColumnFamilyHandle* handle(keys::Cf cf) const {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == keys::CfName(cf)) return handles[i];
    }
    FAIL("no column family " << keys::CfName(cf));
    return nullptr;
  }
  size_t Count(keys::Cf cf) const {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, handle(cf)));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }
  std::vector<std::string> names;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
};

// Every lead by score, page by page, as (score, id).
std::vector<std::pair<double, std::string>> AllByScore(const Store& store, size_t page_size) {
  std::vector<std::pair<double, std::string>> out;
  LeadQuery q;
  q.limit = page_size;
  for (;;) {
    LeadPage page = List(store, q);
    for (const auto& l : page.leads) out.emplace_back(l.score, l.ad_id);
    if (page.next_cursor.empty()) break;
    q.cursor = page.next_cursor;
  }
  return out;
}

TEST_CASE("listing every lead by score merges the status runs in score order, across pages", "[store][leads]") {
  TempDir tmp;
  auto store = OpenOrDie(tmp.path());
  std::vector<TestAd> ads;
  for (int i = 0; i < 40; ++i) {
    TestAd a;
    a.id = fmt::format("ad-{:02}", (i * 17) % 40);
    a.score = 0.05 * (i % 9) + (i % 3 == 0 ? 0.0 : 0.01);  // ties across statuses
    ads.push_back(a);
  }
  Put(store.get(), ads);
  const ReviewStatus statuses[] = {ReviewStatus::kInReview, ReviewStatus::kEscalated, ReviewStatus::kDismissed,
                                   ReviewStatus::kNeedsInfo};
  for (int i = 0; i < 40; i += 3) {
    REQUIRE(store->Review(ads[i].id, {statuses[i % 4], {}, "", "dana", {}}).ok());
  }
  std::vector<std::pair<double, std::string>> expected;
  for (const auto& a : ads) expected.emplace_back(a.score, a.id);
  std::sort(expected.begin(), expected.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first > y.first : x.second < y.second;
  });
  for (size_t page_size : {1, 3, 7, 40, 100}) {
    INFO("page size " << page_size);
    CHECK(AllByScore(*store, page_size) == expected);
  }
  // A cursor of another order, or a malformed one, is refused.
  LeadQuery by_status;
  by_status.status = ReviewStatus::kNew;
  by_status.limit = 2;
  LeadQuery q;
  q.cursor = List(*store, by_status).next_cursor;
  REQUIRE_FALSE(q.cursor.empty());
  CHECK(store->ListLeads(q).status().IsInvalidArgument());
  q.cursor = keys::EncodeCursor(keys::Cf::kLeadsByScore, keys::LeadScoreKey(0.5, "ad-01"));  // a schema-1 cursor
  CHECK(store->ListLeads(q).status().IsInvalidArgument());
}

TEST_CASE("a schema 1 store is migrated: leads_by_score emptied, leads still listed by score", "[store][schema]") {
  TempDir tmp;
  std::vector<TestAd> ads;
  for (int i = 0; i < 30; ++i) {
    TestAd a;
    a.id = fmt::format("m-{:02}", i);
    a.score = 0.03 * i;
    ads.push_back(a);
  }
  {
    auto store = OpenOrDie(tmp.path());
    Put(store.get(), ads);
    REQUIRE(store->Review("m-07", {ReviewStatus::kEscalated, {}, "", "dana", {}}).ok());
    REQUIRE(store->SetSchemaVersionForTesting(1).ok());
  }
  {
    // What schema 1 also kept: one leads_by_score entry per lead.
    RawDb raw(tmp.path());
    for (const auto& a : ads) {
      LeadRecord lead;
      lead.score = a.score;
      REQUIRE(raw.db->Put({}, raw.handle(keys::Cf::kLeadsByScore), keys::LeadScoreKey(a.score, a.id),
                          keys::EncodeLeadIndexValue(lead))
                  .ok());
    }
    REQUIRE(raw.Count(keys::Cf::kLeadsByScore) == ads.size());
  }
  // A reader cannot migrate; the writer does, once.
  OpenOptions ro = TestOptions();
  ro.read_only = true;
  auto reader = Store::Open(tmp.path(), ro);
  REQUIRE_FALSE(reader.ok());
  CHECK(reader.status().IsUnavailable());
  CHECK(reader.status().message().find("open it once for writing") != std::string::npos);
  std::vector<std::pair<double, std::string>> expected;
  for (auto it = ads.rbegin(); it != ads.rend(); ++it) expected.emplace_back(it->score, it->id);
  SECTION("by a writer") {
    auto store = OpenOrDie(tmp.path());
    RequireConsistent(*store);
    CHECK(AllByScore(*store, 4) == expected);
  }
  SECTION("by a reader that may migrate, unless another process holds the store") {
    ro.migrate_older_schema = true;
    {
      RawDb held(tmp.path());  // holds the lock, as a running older vigild would
      auto refused = Store::Open(tmp.path(), ro);
      REQUIRE_FALSE(refused.ok());
      CHECK(refused.status().IsUnavailable());
      CHECK(refused.status().message().find("another process holds it") != std::string::npos);
    }
    auto store = Store::Open(tmp.path(), ro);
    REQUIRE(store.ok());
    CHECK((*store)->read_only());
    CHECK(AllByScore(**store, 4) == expected);
  }
  {
    RawDb raw(tmp.path());
    CHECK(raw.Count(keys::Cf::kLeadsByScore) == 0);
    std::string version;
    REQUIRE(raw.db->Get({}, raw.handle(keys::Cf::kMeta), std::string(keys::kMetaSchemaVersion), &version).ok());
    uint32_t v = 0;
    REQUIRE(keys::DecodeSchemaVersion(version, &v));
    CHECK(v == Store::kSchemaVersion);
  }
}

TEST_CASE("the consistency check finds damaged indexes", "[store][check]") {
  TempDir tmp;
  {
    auto store = OpenOrDie(tmp.path());
    TestAd a, b;
    a.id = "a";
    b.id = "b";
    a.phones = {"+17025550147"};
    Put(store.get(), {a, b});
    RequireConsistent(*store);
  }
  // Damage the store behind vigil's back: drop a posting and a lead's
  // status entry, and add an index entry that points at nothing.
  {
    RawDb raw(tmp.path());
    auto lead = Store::Open(tmp.path(), TestOptions());  // locked: we hold it
    CHECK(lead.status().IsBusy());
    REQUIRE(raw.db->Delete({}, raw.handle(keys::Cf::kEntities),
                           keys::PostingKey(EntityType::kPhone, "+17025550147", *ParseIsoTime("2026-01-01T12:00:00Z"), "a"))
                .ok());
    REQUIRE(raw.db->Delete({}, raw.handle(keys::Cf::kLeadsByStatus), keys::LeadStatusKey(ReviewStatus::kNew, 0.6, "b"))
                .ok());
    LeadRecord ghost;
    REQUIRE(raw.db->Put({}, raw.handle(keys::Cf::kLeadsByTime), keys::LeadTimeKey(5, "ghost"),
                        keys::EncodeLeadIndexValue(ghost))
                .ok());
  }
  auto store = OpenOrDie(tmp.path());
  ConsistencyReport report;
  REQUIRE(store->CheckConsistency(&report).ok());
  CHECK_FALSE(report.ok());
  std::string all;
  for (const auto& p : report.problems) all += p + "\n";
  INFO(all);
  CHECK(all.find("missing posting") != std::string::npos);
  CHECK(all.find("missing its leads_by_status entry") != std::string::npos);
  CHECK(all.find("missing lead \"ghost\"") != std::string::npos);
  CHECK(all.find("counts 1 ads, postings say 0") != std::string::npos);
}

// The quick pass (walks and checksums) decides most checks; it must never
// call a damaged store consistent. Each damage below is applied to a copy
// of one small store, behind vigil's back; both passes must then find it,
// and the automatic check must report exactly what the precise one does.
TEST_CASE("the quick consistency pass misses no damage the precise one finds", "[store][check]") {
  TempDir base;
  const int64_t day = 86400, t0 = 1767225600;
  {
    auto store = OpenOrDie(base.path());
    std::vector<TestAd> ads;
    const char* cities[] = {"Reno", "Elko", "Ely"};
    for (int i = 0; i < 3; ++i) {  // one phone in 3 cities within 30 days: the network signal
      TestAd a;
      a.id = "net-" + std::to_string(i);
      a.city = cities[i];
      a.posted_at = FormatIsoTime(t0 + i * day);
      a.phones = {"+17025550160"};
      ads.push_back(a);
    }
    TestAd plain;
    plain.id = "plain";
    plain.categories = {"youth", "movement"};
    plain.emails = {"someone@example.com"};
    ads.push_back(plain);
    TestAd quiet;
    quiet.id = "quiet";
    quiet.score = 0.0;
    quiet.flagged = false;
    quiet.categories = {};
    ads.push_back(quiet);
    Put(store.get(), ads);
    plain.text = "A second version of the text.";
    Put(store.get(), {plain});
    REQUIRE(store->Review("plain", ReviewAction{ReviewStatus::kEscalated, "dana", "case 7", "lee", 0}).ok());
    ConsistencyReport report;
    REQUIRE(store->CheckConsistency(&report).ok());
    CHECK(report.ok());
    CHECK(report.quick);
    ConsistencyReport precise;
    REQUIRE(store->CheckConsistency(&precise, CheckMethod::kPrecise).ok());
    CHECK(precise.ok());
    CHECK_FALSE(precise.quick);
    CHECK(report.ads == precise.ads);
    CHECK(report.ad_versions == precise.ad_versions);
    CHECK(report.leads == precise.leads);
    CHECK(report.lead_index_entries == precise.lead_index_entries);
    CHECK(report.postings == precise.postings);
    CHECK(report.entities == precise.entities);
    CHECK(report.reviews == precise.reviews);
    CHECK(report.review_history == precise.review_history);
    CHECK(report.audit_events == precise.audit_events);
  }

  using keys::Cf;
  const int64_t plain_time = *ParseIsoTime("2026-01-01T12:00:00Z");
  const auto read = [](const RawDb& raw, Cf cf, const std::string& key) {
    std::string value;
    REQUIRE(raw.db->Get({}, raw.handle(cf), key, &value).ok());
    return value;
  };
  const auto lead_of = [&](const RawDb& raw, const std::string& id) {
    LeadRecord lead;
    REQUIRE(keys::DecodeLead(read(raw, Cf::kLeads, id), &lead));
    return lead;
  };
  const auto put = [](const RawDb& raw, Cf cf, const std::string& key, const std::string& value) {
    REQUIRE(raw.db->Put({}, raw.handle(cf), key, value).ok());
  };
  const auto del = [](const RawDb& raw, Cf cf, const std::string& key) {
    REQUIRE(raw.db->Delete({}, raw.handle(cf), key).ok());
  };
  const std::vector<std::pair<std::string, std::function<void(const RawDb&)>>> damages = {
      {"an ad without findings", [&](const RawDb& r) { del(r, Cf::kFindings, "quiet"); }},
      {"an ad without a lead", [&](const RawDb& r) { del(r, Cf::kLeads, "quiet"); }},
      {"findings without an ad", [&](const RawDb& r) { put(r, Cf::kFindings, "zz-orphan", read(r, Cf::kFindings, "quiet")); }},
      {"a lead without an ad", [&](const RawDb& r) { put(r, Cf::kLeads, "a-orphan", read(r, Cf::kLeads, "quiet")); }},
      {"a review without an ad", [&](const RawDb& r) { put(r, Cf::kReviews, "a-orphan", read(r, Cf::kReviews, "plain")); }},
      {"a review that disagrees with the lead", [&](const RawDb& r) { put(r, Cf::kReviews, "quiet", read(r, Cf::kReviews, "plain")); }},
      {"a missing older version", [&](const RawDb& r) { del(r, Cf::kAdVersions, keys::AdVersionKey("plain", 1)); }},
      {"a missing time index entry", [&](const RawDb& r) { del(r, Cf::kLeadsByTime, keys::LeadTimeKey(plain_time, "quiet")); }},
      {"a stale index value", [&](const RawDb& r) {
         LeadRecord other = lead_of(r, "quiet");
         other.city = "Elsewhere";
         put(r, Cf::kLeadsByTime, keys::LeadTimeKey(plain_time, "quiet"), keys::EncodeLeadIndexValue(other));
       }},
      {"an index entry for nothing", [&](const RawDb& r) {
         put(r, Cf::kLeadsByCategory, keys::LeadCategoryKey("youth", 0.9, "ghost"), keys::EncodeLeadIndexValue(LeadRecord{}));
       }},
      {"an entry in the retired score index", [&](const RawDb& r) {
         put(r, Cf::kLeadsByScore, keys::LeadScoreKey(0.6, "plain"), keys::EncodeLeadIndexValue(lead_of(r, "plain")));
       }},
      {"a lead whose score disagrees", [&](const RawDb& r) {
         LeadRecord lead = lead_of(r, "quiet");
         lead.score = 0.25;
         put(r, Cf::kLeads, "quiet", keys::EncodeLead(lead));
       }},
      {"a lead whose time disagrees with the ad", [&](const RawDb& r) {
         LeadRecord lead = lead_of(r, "quiet");
         lead.time += 1;
         put(r, Cf::kLeads, "quiet", keys::EncodeLead(lead));
       }},
      {"a network flag no phone carries", [&](const RawDb& r) {
         LeadRecord lead = lead_of(r, "plain");
         lead.network = true;
         lead.score = NetworkBoostedScore(lead.base_score, 0.2);
         put(r, Cf::kLeads, "plain", keys::EncodeLead(lead));
       }},
      {"a missing posting", [&](const RawDb& r) {
         del(r, Cf::kEntities, keys::PostingKey(EntityType::kPhone, "+17025550160", t0, "net-0"));
       }},
      {"a posting with the wrong city", [&](const RawDb& r) {
         put(r, Cf::kEntities, keys::PostingKey(EntityType::kPhone, "+17025550160", t0, "net-0"), "Elsewhere");
       }},
      {"a posting the ad does not carry", [&](const RawDb& r) {
         put(r, Cf::kEntities, keys::PostingKey(EntityType::kPhone, "+17025550160", plain_time, "quiet"), "Reno");
       }},
      {"entity statistics that miscount", [&](const RawDb& r) {
         const std::string key = keys::EntityStatsKey(EntityType::kPhone, "+17025550160");
         EntityStats stats;
         REQUIRE(keys::DecodeEntityStats(read(r, Cf::kEntityStats, key), &stats));
         stats.ads += 1;
         put(r, Cf::kEntityStats, key, keys::EncodeEntityStats(stats));
       }},
      {"a network signal its phone no longer carries", [&](const RawDb& r) {
         const std::string key = keys::EntityStatsKey(EntityType::kPhone, "+17025550160");
         EntityStats stats;
         REQUIRE(keys::DecodeEntityStats(read(r, Cf::kEntityStats, key), &stats));
         REQUIRE(stats.network);
         stats.network = false;
         put(r, Cf::kEntityStats, key, keys::EncodeEntityStats(stats));
       }},
      {"postings without statistics", [&](const RawDb& r) {
         del(r, Cf::kEntityStats, keys::EntityStatsKey(EntityType::kPhone, "+17025550160"));
       }},
      {"a gap in the audit sequence", [&](const RawDb& r) {
         std::unique_ptr<rocksdb::Iterator> it(r.db->NewIterator({}, r.handle(Cf::kAudit)));
         it->SeekToLast();
         REQUIRE(it->Valid());
         REQUIRE(it->key().size() == 8);
         std::string later(8, '\0');
         const uint64_t seq = keys::GetBigEndian64(it->key().data()) + 2;
         for (int i = 0; i < 8; ++i) later[i] = static_cast<char>(seq >> (56 - 8 * i));
         put(r, Cf::kAudit, later, it->value().ToString());
       }},
      {"status counts that disagree", [&](const RawDb& r) { del(r, Cf::kMeta, std::string(keys::kMetaStatusCounts)); }},
  };
  for (const auto& [name, damage] : damages) {
    INFO(name);
    TempDir copy;
    std::filesystem::copy(base.path(), copy.path(), std::filesystem::copy_options::recursive |
                                                        std::filesystem::copy_options::overwrite_existing);
    {
      RawDb raw(copy.path());
      damage(raw);
    }
    auto store = OpenOrDie(copy.path());
    ConsistencyReport automatic, precise;
    REQUIRE(store->CheckConsistency(&automatic).ok());
    REQUIRE(store->CheckConsistency(&precise, CheckMethod::kPrecise).ok());
    std::string problems;
    for (const auto& p : precise.problems) problems += p + "\n";
    INFO(problems);
    CHECK_FALSE(precise.ok());
    CHECK_FALSE(automatic.ok());
    CHECK_FALSE(automatic.quick);
    CHECK(automatic.problems == precise.problems);
  }
  // Not damage: statistics of an entity with no ads and no postings (the
  // precise pass accepts them; the quick one must too, and still decide).
  TempDir copy;
  std::filesystem::copy(base.path(), copy.path(), std::filesystem::copy_options::recursive |
                                                      std::filesystem::copy_options::overwrite_existing);
  {
    RawDb raw(copy.path());
    put(raw, Cf::kEntityStats, keys::EntityStatsKey(EntityType::kPhone, "+17025550199"),
        keys::EncodeEntityStats(EntityStats{}));
  }
  auto store = OpenOrDie(copy.path());
  ConsistencyReport automatic, precise;
  REQUIRE(store->CheckConsistency(&automatic).ok());
  REQUIRE(store->CheckConsistency(&precise, CheckMethod::kPrecise).ok());
  CHECK(precise.ok());
  CHECK(automatic.ok());
  CHECK(automatic.quick);
}

// ---- crash consistency ---------------------------------------------------------
//
// The parent re-executes this test binary to run the hidden "crash child"
// test case, which ingests forever and reports each acknowledged batch on a
// pipe; the parent SIGKILLs it at a random moment, reopens the store and
// checks that every acknowledged ad is there, with all its index entries,
// and that no index entry dangles. (A re-exec rather than a bare fork: a
// forked child would inherit RocksDB's background thread pools without
// their threads.)

namespace {

constexpr int kAckFd = 3;

std::string fmt_round_id(int round, int batch, int i) {
  std::ostringstream out;
  out << 'r' << round << "-b" << batch << '-' << i;
  return out.str();
}

}  // namespace

TEST_CASE("crash child: ingest until killed", "[.crash_child]") {
  const char* dir = std::getenv("VIGIL_CRASH_DIR");
  const char* round_env = std::getenv("VIGIL_CRASH_ROUND");
  REQUIRE(dir != nullptr);
  REQUIRE(round_env != nullptr);
  const int round = std::atoi(round_env);
  std::mt19937 rng(static_cast<uint32_t>(round) * 7919u + 1);
  auto store = Store::Open(dir, TestOptions());
  REQUIRE(store.ok());
  // Acknowledgements come from the sink's on_commit (a store thread), one
  // write(2) per commit; a partial line at the kill is ignored.
  std::mutex ack_mu;
  std::string last_committed;
  StoreSink sink(store.value().get(), 16 + rng() % 48);
  sink.set_on_commit([&](std::span<const std::string> ids) {
    std::string line;
    for (const std::string& id : ids) line += "A " + id + "\n";
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      const ssize_t w = write(kAckFd, p, left);
      if (w <= 0) std::abort();
      p += w;
      left -= static_cast<size_t>(w);
    }
    std::lock_guard lock(ack_mu);
    last_committed = ids.back();
  });
  const char* cities[] = {"Reno", "Elko", "Ely", "Las Vegas"};
  for (int b = 0;; ++b) {
    const int n = 16 + static_cast<int>(rng() % 48);
    for (int i = 0; i < n; ++i) {
      TestAd a;
      // Every fourth batch rewrites ads of the previous batch (new versions).
      a.id = (b % 4 == 3 && i < 8) ? fmt_round_id(round, b - 1, i) : fmt_round_id(round, b, i);
      a.text = "Batch " + std::to_string(b) + " ad " + std::to_string(i) + " new in town, ask for Sunny.";
      a.city = cities[rng() % 4];
      a.posted_at = FormatIsoTime(1767225600 + static_cast<int64_t>(rng() % 90) * 86400);
      a.phones = {"+1702555" + std::to_string(100 + rng() % 100)};
      if (i % 3 == 0) a.handles = {"snap:sunny_" + std::to_string(rng() % 20)};
      a.score = (rng() % 100) / 100.0;
      a.flagged = a.score >= 0.5;
      auto [doc, result] = MakeAd(a);
      REQUIRE(sink.Accept(doc, result).ok());
    }
    if (b % 7 == 6) {
      std::string target;
      {
        std::lock_guard lock(ack_mu);
        target = last_committed;
      }
      if (!target.empty()) {
        REQUIRE(store.value()->Review(target, {ReviewStatus::kEscalated, {}, "", "crash", {}}).ok());
        const std::string line = "R " + target + "\n";
        REQUIRE(write(kAckFd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
      }
    }
  }
}

TEST_CASE("acknowledged ads survive SIGKILL with all their index entries", "[store][crash]") {
  TempDir tmp;
  const std::string dir = tmp.Sub("store");
  std::mt19937 rng(20260101);
  std::map<std::string, int> acked;         // acknowledged ids
  std::map<std::string, int> acked_writes;  // id → acknowledged writes (1, or 2 with a rewrite)
  std::set<std::string> escalated;
  size_t total_acked = 0;
  constexpr int kRounds = 6;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    const std::string round_str = std::to_string(round);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    env_strings.push_back("VIGIL_CRASH_DIR=" + dir);
    env_strings.push_back("VIGIL_CRASH_ROUND=" + round_str);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string exe = "/proc/self/exe", name = "store_tests", spec = "[crash_child]";
    char* argv[] = {name.data(), spec.data(), nullptr};
    const int devnull = open("/dev/null", O_WRONLY);
    REQUIRE(devnull >= 0);

    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      dup2(fds[1], kAckFd);
      dup2(devnull, STDOUT_FILENO);
      if (fds[0] != kAckFd) close(fds[0]);
      execve(exe.c_str(), argv, envp.data());
      _exit(127);
    }
    close(fds[1]);
    close(devnull);

    // Read acknowledgements until a random moment after the first one (in
    // round 1: a random moment after the start, maybe before any), then
    // kill. The first acknowledgement may take long on a slow machine.
    using SteadyClock = std::chrono::steady_clock;
    const auto delay = std::chrono::milliseconds(rng() % 400);
    const auto start = SteadyClock::now();
    const auto give_up = start + std::chrono::seconds(60);
    auto kill_at = round == 1 ? start + delay : SteadyClock::time_point::max();
    std::string data;
    char buf[65536];
    bool child_exited = false;
    while (SteadyClock::now() < std::min(kill_at, give_up)) {
      pollfd pfd{fds[0], POLLIN, 0};
      if (poll(&pfd, 1, 5) > 0) {
        const ssize_t n = read(fds[0], buf, sizeof(buf));
        if (n <= 0) {
          child_exited = true;
          break;
        }
        if (data.empty() && kill_at == SteadyClock::time_point::max()) kill_at = SteadyClock::now() + delay;
        data.append(buf, static_cast<size_t>(n));
      }
    }
    kill(pid, SIGKILL);
    int wstatus = 0;
    REQUIRE(waitpid(pid, &wstatus, 0) == pid);
    for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) data.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    INFO("round " << round);
    CHECK_FALSE(child_exited);  // the child died of the kill, not of a failure
    CHECK(WIFSIGNALED(wstatus));

    // Whole lines are acknowledgements.
    std::istringstream lines(data.substr(0, data.rfind('\n') + 1));
    std::string kind, id;
    while (lines >> kind) {
      if (kind == "A") {
        lines >> id;
        // The id names the batch that created it; a rewrite acknowledged
        // later carries a later batch number in its text.
        ++acked_writes[id];
        acked.emplace(id, 0);
        ++total_acked;
      } else {
        lines >> id;
        escalated.insert(id);
      }
    }

    auto store = OpenOrDie(dir);
    RequireConsistent(*store);
    for (const auto& [key, unused] : acked) {
      INFO("ad " << key);
      auto d = store->GetAd(key);
      REQUIRE(d.ok());
      // An acknowledged rewrite is there: the version count covers every
      // acknowledged write of the id.
      CHECK(d->ad.version >= static_cast<uint32_t>(acked_writes[key]));
    }
    for (const auto& id : escalated) {
      INFO("escalated " << id);
      CHECK(store->GetAd(id)->review.status == ReviewStatus::kEscalated);
    }
  }
  CHECK(total_acked > 0);
}
