#include "storage/records.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "scanner/utf8.h"

using namespace vigil::storage;
using vigil::scanner::Document;
using vigil::scanner::Hit;
using vigil::scanner::ScanResult;

TEST_CASE("review statuses have stable names", "[records]") {
  for (int i = 0; i < kReviewStatusCount; ++i) {
    const auto s = static_cast<ReviewStatus>(i);
    CHECK(ParseReviewStatus(ReviewStatusName(s)) == s);
  }
  CHECK(std::string(ReviewStatusName(ReviewStatus::kNeedsInfo)) == "needs_info");
  CHECK_FALSE(ParseReviewStatus("open").has_value());
  CHECK_FALSE(ParseReviewStatus("").has_value());
}

TEST_CASE("ISO 8601 times parse to Unix seconds", "[records]") {
  CHECK(ParseIsoTime("1970-01-01") == 0);
  CHECK(ParseIsoTime("2026-01-01") == 1767225600);
  CHECK(ParseIsoTime("2026-01-01T00:00:01Z") == 1767225601);
  CHECK(ParseIsoTime("2026-01-01 01:00") == 1767229200);
  CHECK(ParseIsoTime("2026-01-01T02:00:00+02:00") == 1767225600);
  CHECK(ParseIsoTime("2025-12-31T19:00:00-0500") == 1767225600);
  CHECK(ParseIsoTime("2026-01-01T00:00:00.750Z") == 1767225600);
  CHECK(ParseIsoTime("2024-02-29") == 1709164800);
  CHECK(ParseIsoTime("1969-12-31T23:59:59Z") == -1);
  for (const char* bad : {"", "2026", "2026-13-01", "2025-02-29", "2026-01-01T25:00", "2026-01-01T10:00Zjunk",
                          "yesterday", "2026-01-01T10", "2026-01-01T10:00+5"}) {
    INFO(bad);
    CHECK_FALSE(ParseIsoTime(bad).has_value());
  }
  CHECK(FormatIsoTime(1767225601) == "2026-01-01T00:00:01Z");
  CHECK(FormatIsoTime(-1) == "1969-12-31T23:59:59Z");
  CHECK(ParseIsoTime(FormatIsoTime(1709164800 + 12345)) == 1709164800 + 12345);
}

TEST_CASE("the lead time prefers posted_at, then fetched_at, then ingest", "[records]") {
  Document d;
  CHECK(LeadTime(d, 1767225600999) == 1767225600);
  d.fetched_at = "2026-01-02";
  CHECK(LeadTime(d, 0) == 1767312000);
  d.posted_at = "2026-01-01";
  CHECK(LeadTime(d, 0) == 1767225600);
  d.posted_at = "last tuesday";  // unparsable: falls through
  CHECK(LeadTime(d, 0) == 1767312000);
}

TEST_CASE("the content hash covers content, not fetch details", "[records]") {
  Document a;
  a.id = "x";
  a.text = "new in town";
  a.city = "Reno";
  Document b = a;
  b.id = "y";
  b.fetched_at = "2026-02-01";
  b.metadata_json = R"({"crawl":7})";
  CHECK(ContentHash(a) == ContentHash(b));
  CHECK(ContentHash(a).size() == 64);
  b.city = "Elko";
  CHECK(ContentHash(a) != ContentHash(b));
  // Field boundaries matter: moving bytes between fields changes the hash.
  Document c, e;
  c.text = "ab";
  c.url = "c";
  e.text = "a";
  e.url = "bc";
  CHECK(ContentHash(c) != ContentHash(e));
}

TEST_CASE("snippets collapse space, cut on UTF-8 boundaries, repair bad bytes", "[records]") {
  CHECK(MakeSnippet("  hello \n\t world  ") == "hello world");
  CHECK(MakeSnippet("abcdef", 4) == "abcd");
  CHECK(MakeSnippet("ab\xC3\xA9z", 3) == "ab");  // é does not fit whole
  CHECK(MakeSnippet("ab\xC3\xA9z", 4) == "ab\xC3\xA9");
  CHECK(MakeSnippet("a\xFF" "b") == "a\xEF\xBF\xBD" "b");
  CHECK(MakeSnippet("\xC3") == "\xEF\xBF\xBD");
  CHECK(MakeSnippet("") == "");
}

// The snippet as one code point at a time (what MakeSnippet did before its
// ASCII-run fast path), to compare against on random text. UTF-8 validity
// is the scanner's (tested in scanner_tests); what differs is the ASCII run.
std::string ReferenceSnippet(std::string_view text, size_t max_bytes) {
  const auto space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  std::string out;
  bool pending = false;
  for (size_t i = 0; i < text.size();) {
    if (space(static_cast<unsigned char>(text[i]))) {
      pending = !out.empty();
      ++i;
      continue;
    }
    const size_t n = vigil::scanner::Utf8SequenceLength(text, i);
    const std::string_view piece = n == 0 ? std::string_view("\xEF\xBF\xBD") : text.substr(i, n);
    if (out.size() + (pending ? 1 : 0) + piece.size() > max_bytes) break;
    if (pending) out.push_back(' ');
    pending = false;
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

TEST_CASE("snippets equal the code-point-at-a-time reference on random text", "[records]") {
  std::mt19937 rng(7);
  const std::string_view alphabet[] = {"a", "Z", "7", " ", "  ", "\t", "\n", "\x7f", "\x01", "\xC3\xA9", "\xE2\x82\xAC",
                                       "\xF0\x9F\x98\x80", "\xFF", "\xC3", "\xED\xA0\x80", ".", "-"};
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const int pieces = static_cast<int>(rng() % 60);
    for (int k = 0; k < pieces; ++k) text += alphabet[rng() % std::size(alphabet)];
    const size_t max_bytes = rng() % 40;
    INFO("round " << round << " max " << max_bytes);
    REQUIRE(MakeSnippet(text, max_bytes) == ReferenceSnippet(text, max_bytes));
    REQUIRE(MakeSnippet(text) == ReferenceSnippet(text, 160));
  }
}

TEST_CASE("finding ids are stable across offsets and distinct per occurrence", "[records]") {
  ScanResult r;
  Hit h;
  h.rule = "youth.fresh";
  h.match = "FRESH";
  h.normalized = "fresh";
  h.start = 3;
  h.end = 8;
  r.hits = {h, h};
  r.hits[1].start = 30;
  r.hits[1].end = 35;
  const auto ids = FindingIds(r, "hash1");
  REQUIRE(ids.size() == 2);
  CHECK(ids[0] != ids[1]);
  CHECK(ids[0].size() == 24);
  ScanResult moved = r;
  moved.hits[0].start = 100;
  moved.hits[0].end = 105;
  CHECK(FindingIds(moved, "hash1") == ids);
  CHECK(FindingIds(r, "hash2") != ids);
  ScanResult other_rule = r;
  other_rule.hits[0].rule = "youth.young";
  CHECK(FindingIds(other_rule, "hash1")[0] != ids[0]);
}

TEST_CASE("the network window needs enough cities within the window", "[records]") {
  const NetworkSignalOptions opts{3, 30, 0.2};
  const int64_t day = 86400;
  std::vector<Posting> p = {{"a", 0, "Reno"}, {"b", 10 * day, "Elko"}, {"c", 29 * day, "reno "}};
  CHECK_FALSE(FindNetworkWindow(p, opts).has_value());  // two cities: "reno " is Reno
  p.push_back({"d", 41 * day, "Vegas"});                 // Elko@10 is 31 days before it
  CHECK_FALSE(FindNetworkWindow(p, opts).has_value());
  p.push_back({"e", 35 * day, ""});  // empty cities do not count
  CHECK_FALSE(FindNetworkWindow(p, opts).has_value());
  p.push_back({"f", 20 * day, "Ely"});  // Reno@0, Elko@10, Ely@20 complete a window at day 20
  const auto since = FindNetworkWindow(p, opts);
  REQUIRE(since.has_value());
  CHECK(*since == 20 * day);
  // Exactly window_days apart still counts.
  std::vector<Posting> edge = {{"a", 0, "A"}, {"b", 5, "B"}, {"c", 30 * day, "C"}};
  CHECK(FindNetworkWindow(edge, opts) == 30 * day);
  edge[2].time = 30 * day + 1;
  CHECK_FALSE(FindNetworkWindow(edge, opts).has_value());
}

TEST_CASE("the network boost is a noisy-or", "[records]") {
  CHECK(NetworkBoostedScore(0.0, 0.2) == Approx(0.2));
  CHECK(NetworkBoostedScore(0.5, 0.2) == Approx(0.6));
  CHECK(NetworkBoostedScore(1.0, 0.2) == Approx(1.0));
  LeadRecord lead;
  lead.categories = {"youth"};
  CHECK(EffectiveCategories(lead) == std::vector<std::string>{"youth"});
  lead.network = true;
  CHECK(EffectiveCategories(lead) == std::vector<std::string>{"network", "youth"});
}

TEST_CASE("cities compare trimmed and case-folded", "[records]") {
  CHECK(NormalizeCity("  Las Vegas ") == "las vegas");
  CHECK(NormalizeCity("") == "");
}
