#include "storage/keys.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <cmath>
#include <limits>
#include <random>

using namespace vigil::storage;
using namespace vigil::storage::keys;
using vigil::scanner::Entity;
using vigil::scanner::EntityType;
using vigil::scanner::Hit;
using vigil::scanner::ScanResult;

namespace {

ScanResult SampleFindings() {
  ScanResult r;
  r.score = 0.8125;
  r.flagged = true;
  r.categories = {"movement", "youth"};
  r.pack_version = "core@1.2.0";
  r.entities_by = "x1-0123456789abcdef";
  Hit h;
  h.rule = "youth.barely_legal";
  h.category = "youth";
  h.start = 4;
  h.end = 16;
  h.match = "barely legal";
  h.normalized = "barely legal";
  h.pattern_index = 1;
  h.weight = 0.45;
  h.evidence = "supported";
  r.hits = {h, h};
  r.hits[1].start = 40;
  r.hits[1].end = 52;
  Hit s = h;
  s.rule = "movement.new_in_town";
  s.suppressed_reason = "unless: not new";
  r.suppressed = {s};
  Entity phone{EntityType::kPhone, "+17025550147", 20, 34, true, "", "", ""};
  Entity price{EntityType::kPrice, "200", 60, 70, false, "", "roses", "hh"};
  Entity handle{EntityType::kHandle, "snap:lexi_99", 71, 80, false, "snap", "", ""};
  r.entities = {phone, price, handle, phone};
  r.truncated = {"max_hits"};
  return r;
}

}  // namespace

TEST_CASE("ordered doubles sort like the numbers they encode", "[keys]") {
  std::vector<double> values = {-1e300, -2.5, -1.0, -0.0, 0.0, 1e-300, 0.1, 0.5, 0.9999, 1.0, 7.0, 1e300,
                                std::numeric_limits<double>::infinity()};
  for (size_t i = 0; i < values.size(); ++i) {
    CHECK(DoubleFromOrdered(OrderedDouble(values[i])) == values[i]);
    for (size_t j = i + 1; j < values.size(); ++j) {
      if (values[i] < values[j]) CHECK(OrderedDouble(values[i]) < OrderedDouble(values[j]));
    }
  }
  CHECK(OrderedDouble(-0.0) == OrderedDouble(0.0));
}

TEST_CASE("ordered times sort like signed seconds", "[keys]") {
  const std::vector<int64_t> times = {INT64_MIN, -86400, -1, 0, 1, 1767225600, INT64_MAX};
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    CHECK(OrderedTime(times[i]) < OrderedTime(times[i + 1]));
    CHECK(TimeFromOrdered(OrderedTime(times[i])) == times[i]);
  }
}

TEST_CASE("escaped strings keep byte order and survive NULs", "[keys]") {
  const std::vector<std::string> words = {std::string(), std::string("\0", 1), std::string("\0\0", 2),
                                          std::string("\0a", 2), "a", std::string("a\0", 2), "ab",
                                          "b", "\xff"};
  for (size_t i = 0; i < words.size(); ++i) {
    std::string enc;
    PutEscaped(&enc, words[i]);
    enc += "tail";
    std::string_view in = enc;
    std::string out;
    REQUIRE(GetEscaped(&in, &out));
    CHECK(out == words[i]);
    CHECK(in == "tail");
    for (size_t j = i + 1; j < words.size(); ++j) {
      std::string a, b;
      PutEscaped(&a, words[i]);
      PutEscaped(&b, words[j]);
      CHECK(a < b);
    }
  }
  std::string_view unterminated("abc", 3);
  std::string out;
  CHECK_FALSE(GetEscaped(&unterminated, &out));
}

TEST_CASE("lead index keys sort by score descending, then id", "[keys]") {
  CHECK(LeadScoreKey(0.9, "b") < LeadScoreKey(0.5, "a"));
  CHECK(LeadScoreKey(0.5, "a") < LeadScoreKey(0.5, "b"));
  CHECK(LeadTimeKey(2000, "z") < LeadTimeKey(1000, "a"));
  CHECK(LeadCategoryKey("youth", 0.9, "x") < LeadCategoryKey("youth", 0.1, "a"));
  // A category that extends another does not interleave with it.
  const std::string a = LeadCategoryPrefix("you");
  CHECK_FALSE(LeadCategoryKey("youth", 0.5, "x").compare(0, a.size(), a) == 0);
  CHECK(LeadStatusKey(ReviewStatus::kNew, 0.1, "a") < LeadStatusKey(ReviewStatus::kInReview, 0.9, "a"));

  std::string id;
  double score = 0;
  int64_t time = 0;
  REQUIRE(ParseLeadIndexKey(Cf::kLeadsByCategory, LeadCategoryKey("youth", 0.75, "ad-1"), &id, &score, nullptr));
  CHECK(id == "ad-1");
  CHECK(score == 0.75);
  REQUIRE(ParseLeadIndexKey(Cf::kLeadsByTime, LeadTimeKey(-5, "ad-2"), &id, nullptr, &time));
  CHECK(id == "ad-2");
  CHECK(time == -5);
  REQUIRE(ParseLeadIndexKey(Cf::kLeadsByStatus, LeadStatusKey(ReviewStatus::kEscalated, 0.5, "x"), &id, &score, nullptr));
  CHECK(id == "x");
  CHECK_FALSE(ParseLeadIndexKey(Cf::kLeadsByStatus, std::string("\x09", 1) + std::string(8, 'a'), &id, &score, nullptr));
  CHECK_FALSE(ParseLeadIndexKey(Cf::kLeadsByScore, "short", &id, &score, nullptr));
}

TEST_CASE("a lead owns one entry per index and per effective category", "[keys]") {
  LeadRecord lead;
  lead.score = 0.6;
  lead.time = 100;
  lead.categories = {"youth", "movement"};
  lead.network = true;
  const auto entries = LeadIndexEntries("ad-9", lead);
  CHECK(entries.size() == 2 + 3);  // time, status + youth, movement, network
  CHECK(std::count_if(entries.begin(), entries.end(),
                      [](const IndexEntry& e) { return e.cf == Cf::kLeadsByCategory; }) == 3);
  lead.categories.push_back("network");  // a pack category of the same name is not doubled
  CHECK(LeadIndexEntries("ad-9", lead).size() == 5);
  CHECK(std::none_of(entries.begin(), entries.end(), [](const IndexEntry& e) { return e.cf == Cf::kLeadsByScore; }));
}

TEST_CASE("posting keys group by entity and sort by time", "[keys]") {
  const std::string p = PostingPrefix(EntityType::kPhone, "+17025550147");
  const std::string k1 = PostingKey(EntityType::kPhone, "+17025550147", 100, "b");
  const std::string k2 = PostingKey(EntityType::kPhone, "+17025550147", 200, "a");
  CHECK(k1 < k2);
  CHECK(k1.compare(0, p.size(), p) == 0);
  // A longer number is a different entity, not inside the shorter's range.
  const std::string longer = PostingKey(EntityType::kPhone, "+170255501470", 0, "a");
  CHECK_FALSE(longer.compare(0, p.size(), p) == 0);
  CHECK(PostingSeek(EntityType::kPhone, "+17025550147", 150) > k1);
  CHECK(PostingSeek(EntityType::kPhone, "+17025550147", 150) < k2);
  EntityType type;
  std::string value, id;
  int64_t time;
  REQUIRE(ParsePostingKey(k2, &type, &value, &time, &id));
  CHECK(type == EntityType::kPhone);
  CHECK(value == "+17025550147");
  CHECK(time == 200);
  CHECK(id == "a");
  CHECK_FALSE(ParsePostingKey(std::string("\x07x", 2), &type, &value, &time, &id));
}

TEST_CASE("cursors round-trip and reject garbage", "[keys]") {
  const std::string key = LeadScoreKey(0.5, std::string("id\0x", 4));
  Cf cf;
  std::string back;
  REQUIRE(DecodeCursor(EncodeCursor(Cf::kLeadsByScore, key), &cf, &back));
  CHECK(cf == Cf::kLeadsByScore);
  CHECK(back == key);
  CHECK_FALSE(DecodeCursor("zz", &cf, &back));
  CHECK_FALSE(DecodeCursor("0", &cf, &back));
  CHECK_FALSE(DecodeCursor(EncodeCursor(Cf::kAds, "x"), &cf, &back));
}

TEST_CASE("findings encode every field and decode back", "[keys]") {
  const ScanResult r = SampleFindings();
  const std::string enc = EncodeFindings(r);
  ScanResult back;
  REQUIRE(DecodeFindings(enc, &back));
  CHECK(back.score == r.score);
  CHECK(back.flagged);
  CHECK(back.categories == r.categories);
  CHECK(back.pack_version == r.pack_version);
  REQUIRE(back.hits.size() == 2);
  CHECK(back.hits[1].start == 40);
  CHECK(back.hits[0].normalized == "barely legal");
  CHECK(back.hits[0].weight == 0.45);
  CHECK(back.hits[0].pattern_index == 1);
  REQUIRE(back.suppressed.size() == 1);
  CHECK(back.suppressed[0].suppressed_reason == "unless: not new");
  REQUIRE(back.entities.size() == 4);
  CHECK(back.entities[0].obfuscated);
  CHECK(back.entities[1].unit == "roses");
  CHECK(back.entities[1].duration == "hh");
  CHECK(back.entities[2].platform == "snap");
  CHECK(back.truncated == r.truncated);
  CHECK(back.entities_by == r.entities_by);

  std::vector<EntityRef> indexed;
  REQUIRE(DecodeFindingsEntities(enc, &indexed));
  REQUIRE(indexed.size() == 2);  // phone once, handle; price is not indexed
  CHECK(indexed[0] == EntityRef{EntityType::kPhone, "+17025550147"});
  CHECK(indexed[1] == EntityRef{EntityType::kHandle, "snap:lexi_99"});
  CHECK(IndexedEntities(r) == indexed);
}

TEST_CASE("findings that differ only in the pack version are recognised", "[keys]") {
  const ScanResult r = SampleFindings();
  const std::string enc = EncodeFindings(r);
  ScanResult other_pack = r;
  other_pack.pack_version = "core@9.9.9";
  CHECK(SameFindingsButPackVersion(enc, EncodeFindings(other_pack)));
  CHECK(SameFindingsButPackVersion(enc, enc));
  ScanResult other_score = other_pack;
  other_score.score = 0.01;
  CHECK_FALSE(SameFindingsButPackVersion(enc, EncodeFindings(other_score)));
  ScanResult other_hit = other_pack;
  other_hit.hits[1].start = 41;
  CHECK_FALSE(SameFindingsButPackVersion(enc, EncodeFindings(other_hit)));
  ScanResult other_category = other_pack;
  other_category.categories.push_back("zzz");
  CHECK_FALSE(SameFindingsButPackVersion(enc, EncodeFindings(other_category)));
  CHECK_FALSE(SameFindingsButPackVersion(enc, enc.substr(0, 12)));
  CHECK_FALSE(SameFindingsButPackVersion("", ""));
  ScanResult other_extraction = r;
  other_extraction.entities_by = "x1-other";
  CHECK(SameFindingsButPackVersion(enc, EncodeFindings(other_extraction)));
  other_extraction.entities[0].start += 1;
  CHECK_FALSE(SameFindingsButPackVersion(enc, EncodeFindings(other_extraction)));
}

TEST_CASE("the ad summary decodes without the rest of the record", "[keys]") {
  AdRecord ad;
  ad.doc.text = "some invented text";
  ad.doc.url = "https://ads.example.test/1";
  ad.content_hash = std::string(64, 'a');
  ad.version = 3;
  ad.time = -5;
  const std::string enc = EncodeAdRecord(ad);
  uint32_t version = 0;
  std::string hash;
  int64_t time = 0;
  size_t text_size = 0;
  REQUIRE(DecodeAdSummary(enc, &version, &hash, &time, &text_size));
  CHECK(version == 3);
  CHECK(hash == ad.content_hash);
  CHECK(time == -5);
  CHECK(text_size == ad.doc.text.size());
  for (size_t n = 0; n < 1 + 1 + 1 + 64 + 1 + 1 + 1 + ad.doc.text.size(); ++n) {
    CHECK_FALSE(DecodeAdSummary(enc.substr(0, n), &version, &hash, &time, &text_size));
  }
}

TEST_CASE("every truncation of a value is rejected, never over-read", "[keys]") {
  AdRecord ad;
  ad.doc.text = "Sweet new girl in town, call +1 702 555 0147";
  ad.doc.url = "https://example.test/ad/1";
  ad.doc.city = "Reno";
  ad.content_hash = std::string(64, 'a');
  ad.version = 3;
  ad.time = -20;
  LeadRecord lead;
  lead.categories = {"youth"};
  lead.snippet = "Sweet new girl";
  EntityStats stats;
  stats.ads = 3;
  stats.cities = {"reno", "vegas"};
  const std::vector<std::pair<std::string, std::function<bool(std::string_view)>>> cases = {
      {EncodeAdRecord(ad), [](std::string_view in) { AdRecord x; return DecodeAdRecord(in, &x); }},
      {EncodeFindings(SampleFindings()), [](std::string_view in) { ScanResult x; return DecodeFindings(in, &x); }},
      {EncodeLead(lead), [](std::string_view in) { LeadRecord x; return DecodeLead(in, &x); }},
      {EncodeLeadIndexValue(lead), [](std::string_view in) { LeadIndexValue x; return DecodeLeadIndexValue(in, &x); }},
      {EncodeEntityStats(stats), [](std::string_view in) { EntityStats x; return DecodeEntityStats(in, &x); }},
      {EncodeReview(ReviewRecord{ReviewStatus::kEscalated, "dana", 4, 5, "lee"}),
       [](std::string_view in) { ReviewRecord x; return DecodeReview(in, &x); }},
      {EncodeAuditEvent(AuditEvent{7, 8, "dana", "export", "ads", "purpose: case 12"}),
       [](std::string_view in) { AuditEvent x; return DecodeAuditEvent(in, &x); }},
      {EncodeStatusCounts(StatusCounts{}), [](std::string_view in) { StatusCounts x; return DecodeStatusCounts(in, &x); }},
  };
  for (const auto& [enc, decode] : cases) {
    CHECK(decode(enc));
    for (size_t n = 0; n < enc.size(); ++n) {
      INFO("prefix of " << n << " of " << enc.size() << " bytes");
      CHECK_FALSE(decode(std::string_view(enc).substr(0, n)));
    }
    CHECK_FALSE(decode(enc + "x"));  // trailing garbage
  }
  // Random bytes never crash a decoder.
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 64, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    for (const auto& [enc, decode] : cases) (void)decode(junk);
  }
}

TEST_CASE("records round-trip through their encodings", "[keys]") {
  AdRecord ad;
  ad.doc.text = std::string("text with \0 NUL", 15);
  ad.doc.metadata_json = R"({"title":"x"})";
  ad.doc.fetched_at = "2026-01-02T03:04:05Z";
  ad.content_hash = "ab";
  ad.version = 2;
  ad.time = 1767225600;
  ad.ingested_at_ms = 1767225600123;
  AdRecord ad2;
  REQUIRE(DecodeAdRecord(EncodeAdRecord(ad), &ad2));
  CHECK(ad2.doc.text == ad.doc.text);
  CHECK(ad2.doc.metadata_json == ad.doc.metadata_json);
  CHECK(ad2.doc.fetched_at == ad.doc.fetched_at);
  CHECK(ad2.version == 2);
  CHECK(ad2.time == ad.time);
  CHECK(ad2.ingested_at_ms == ad.ingested_at_ms);

  LeadRecord lead;
  lead.base_score = 0.5;
  lead.score = 0.6;
  lead.flagged = true;
  lead.network = true;
  lead.status = ReviewStatus::kNeedsInfo;
  lead.time = 9;
  lead.version = 4;
  lead.categories = {"a", "b"};
  lead.city = "Reno";
  lead.posted_at = "2026-01-01";
  lead.pack_version = "core@1";
  lead.snippet = "hello";
  LeadRecord lead2;
  REQUIRE(DecodeLead(EncodeLead(lead), &lead2));
  CHECK(lead2.base_score == 0.5);
  CHECK(lead2.score == 0.6);
  CHECK(lead2.network);
  CHECK(lead2.status == ReviewStatus::kNeedsInfo);
  CHECK(lead2.version == 4);
  CHECK(lead2.categories == lead.categories);
  CHECK(lead2.snippet == "hello");
  LeadIndexValue v;
  REQUIRE(DecodeLeadIndexValue(EncodeLeadIndexValue(lead), &v));
  CHECK(v.score == 0.6);
  CHECK(v.flagged);
  CHECK(v.network);
  CHECK(v.city == "Reno");
  CHECK(v.categories == std::vector<std::string>{"a", "b", "network"});

  ReviewHistoryEntry h{3, 4, "dana", ReviewStatus::kNew, ReviewStatus::kEscalated, "", "lee", "see case"};
  ReviewHistoryEntry h2;
  REQUIRE(DecodeHistoryEntry(EncodeHistoryEntry(h), &h2));
  CHECK(h2.to_status == ReviewStatus::kEscalated);
  CHECK(h2.to_assignee == "lee");
  CHECK(h2.note == "see case");

  NetworkSignalOptions n{4, 10, 0.3}, n2;
  REQUIRE(DecodeNetworkSignal(EncodeNetworkSignal(n), &n2));
  CHECK(n2.min_cities == 4);
  CHECK(n2.window_days == 10);
  CHECK(n2.boost == 0.3);
  uint32_t version = 0;
  REQUIRE(DecodeSchemaVersion(EncodeSchemaVersion(7), &version));
  CHECK(version == 7);
}

TEST_CASE("findings encode to the same bytes into a reused buffer, and the format stays put", "[keys]") {
  // Stored findings are compared byte for byte with new encodings
  // (rescans), so the bytes of a given result must never change.
  ScanResult r;
  r.score = 0.5;
  r.flagged = true;
  r.categories = {"youth"};
  r.pack_version = "p@1";
  Entity e;
  e.type = EntityType::kPhone;
  e.value = "+17025550147";
  e.start = 300;
  e.end = 312;
  e.obfuscated = true;
  r.entities.push_back(e);
  Hit h;
  h.rule = "youth.fresh";
  h.category = "youth";
  h.start = 128;
  h.end = 133;
  h.match = "FRESH";
  h.normalized = "fresh";
  h.pattern_index = -1;
  h.weight = 0.25;
  h.evidence = "supported";
  r.hits.push_back(h);
  r.entities_by = "x1-ab";
  const std::string enc = EncodeFindings(r);
  std::string hex;
  for (unsigned char c : enc) hex += fmt::format("{:02x}", c);
  CHECK(hex ==
        "02"                                              // format 2 (schema 3)
        "000000000000e03f"                                // score 0.5, little-endian double
        "01" "01" "05796f757468"                          // flagged, categories ["youth"]
        "03704031"                                        // pack "p@1"
        "057831" "2d6162"                                 // entities_by "x1-ab"
        "01" "00" "0c2b3137303235353530313437" "ac02" "b802" "01" "00" "00" "00"  // phone entity
        "01" "0b796f7574682e6672657368" "05796f757468" "8001" "8501" "054652455348" "056672657368"
        "01" "000000000000d03f" "09737570706f72746564" "00"  // the hit
        "00"                                              // no suppressed hits
        "00");                                            // nothing truncated
  std::string reused(4096, 'x');
  EncodeFindings(r, &reused);
  CHECK(reused == enc);
  EncodeFindings(SampleFindings(), &reused);
  CHECK(reused == EncodeFindings(SampleFindings()));
}

TEST_CASE("lead index entries and values list the effective categories, however the lead holds them", "[keys]") {
  // Reference: every key and the value's categories from EffectiveCategories.
  const std::vector<std::string> names = {"network", "youth", "movement", "a\0b", "zz", "", "networks", "netw"};
  std::mt19937 rng(20261129);
  for (int round = 0; round < 2000; ++round) {
    vigil::storage::LeadRecord lead;
    lead.score = (rng() % 10001) / 10000.0;
    lead.time = static_cast<int64_t>(rng() % 100000) - 50000;
    lead.network = rng() % 2;
    lead.flagged = rng() % 2;
    lead.status = static_cast<vigil::storage::ReviewStatus>(rng() % 5);
    lead.city = round % 3 ? "Reno" : "";
    const size_t n = rng() % 6;
    for (size_t i = 0; i < n; ++i) lead.categories.push_back(names[rng() % names.size()]);
    if (rng() % 3) {  // mostly as stored: sorted and unique
      std::sort(lead.categories.begin(), lead.categories.end());
      lead.categories.erase(std::unique(lead.categories.begin(), lead.categories.end()), lead.categories.end());
    }
    const std::vector<std::string> effective = vigil::storage::EffectiveCategories(lead);
    std::vector<std::string> expected = {LeadTimeKey(lead.time, "ad-7"), LeadStatusKey(lead.status, lead.score, "ad-7")};
    for (const std::string& c : effective) expected.push_back(LeadCategoryKey(c, lead.score, "ad-7"));
    std::vector<std::string> keys;
    for (const IndexEntry& e : LeadIndexEntries("ad-7", lead)) keys.push_back(e.key);
    INFO("round " << round);
    CHECK(keys == expected);
    LeadIndexValue v;
    REQUIRE(DecodeLeadIndexValue(EncodeLeadIndexValue(lead), &v));
    CHECK(v.categories == effective);
    CHECK(v.city == lead.city);
    CHECK(v.network == lead.network);
    vigil::storage::LeadRecord listed = lead;  // its categories as the index lists them
    listed.categories = effective;
    CHECK(EncodeLeadIndexValue(listed) == EncodeLeadIndexValue(lead));
  }
}

TEST_CASE("format 1 findings (schema 2 stores) still decode, with no extraction recorded", "[keys]") {
  // The bytes the test above pinned before schema 3.
  const std::string v1_hex =
      "01" "000000000000e03f" "01" "01" "05796f757468" "03704031"
      "01" "00" "0c2b3137303235353530313437" "ac02" "b802" "01" "00" "00" "00"
      "01" "0b796f7574682e6672657368" "05796f757468" "8001" "8501" "054652455348" "056672657368"
      "01" "000000000000d03f" "09737570706f72746564" "00" "00" "00";
  std::string v1;
  for (size_t i = 0; i < v1_hex.size(); i += 2) v1.push_back(static_cast<char>(std::stoi(v1_hex.substr(i, 2), nullptr, 16)));
  ScanResult back;
  back.entities_by = "stale";
  REQUIRE(DecodeFindings(v1, &back));
  CHECK(back.entities_by.empty());
  CHECK(back.pack_version == "p@1");
  REQUIRE(back.entities.size() == 1);
  CHECK(back.entities[0].value == "+17025550147");
  REQUIRE(back.hits.size() == 1);
  CHECK(back.hits[0].match == "FRESH");

  std::string_view by = "stale";
  std::vector<Entity> entities;
  REQUIRE(DecodeFindingsExtraction(v1, &by, &entities));
  CHECK(by.empty());
  REQUIRE(entities.size() == 1);
  CHECK(entities[0].obfuscated);

  // The same findings in format 2, from another extraction or pack: the
  // same but for their labels.
  ScanResult now = back;
  now.entities_by = "x1-ab";
  const std::string v2 = EncodeFindings(now);
  CHECK(v2 != v1);
  std::string_view pack;
  CHECK(SameFindingsButPackVersion(v2, v1, &pack));
  CHECK(pack == "p@1");
  CHECK(SameFindingsButPackVersion(v1, v2));
  REQUIRE(DecodeFindingsExtraction(v2, &by, nullptr));
  CHECK(by == "x1-ab");
  now.hits[0].start = 127;
  CHECK_FALSE(SameFindingsButPackVersion(EncodeFindings(now), v1));
  std::vector<EntityRef> indexed;
  REQUIRE(DecodeFindingsEntities(v1, &indexed));
  CHECK(indexed.size() == 1);
  // Every cut of either format is refused, never misread.
  for (const std::string& enc : {v1, v2}) {
    for (size_t n = 0; n < enc.size(); ++n) {
      ScanResult cut;
      CHECK_FALSE(DecodeFindings(enc.substr(0, n), &cut));
    }
  }
}

TEST_CASE("an ad record decodes whole or for a rescan, and truncation is refused either way", "[keys]") {
  vigil::storage::AdRecord ad;
  ad.doc.id = "a";
  ad.doc.text = "new in town";
  ad.doc.url = "https://ads.example.test/a";
  ad.doc.city = "Springfield";
  ad.doc.metadata_json = R"({"k":1})";
  ad.content_hash = std::string(64, 'f');
  ad.version = 3;
  ad.time = 1700000000;
  ad.ingested_at_ms = 1700000000123;
  const std::string enc = EncodeAdRecord(ad);
  vigil::storage::AdRecord whole, scan;
  scan.doc.url = "left over from the previous ad";
  REQUIRE(DecodeAdRecord(enc, &whole));
  REQUIRE(DecodeAdRecordForScan(enc, &scan));
  CHECK(whole.doc.url == ad.doc.url);
  CHECK(whole.doc.metadata_json == ad.doc.metadata_json);
  CHECK(scan.doc.text == ad.doc.text);
  CHECK(scan.version == 3);
  CHECK(scan.time == ad.time);
  CHECK(scan.ingested_at_ms == ad.ingested_at_ms);
  CHECK(scan.doc.url.empty());
  CHECK(scan.doc.city.empty());
  CHECK(scan.content_hash.empty());
  for (size_t n = 0; n < enc.size(); ++n) {
    CHECK_FALSE(DecodeAdRecordForScan(std::string_view(enc).substr(0, n), &scan));
  }
  CHECK_FALSE(DecodeAdRecordForScan(enc + "x", &scan));
}
