// Per-document limits of Scanner::Scan (issue 8): every limit that is
// reached is reported in ScanResult::truncated, never a silent truncation.
// The time budget is forced with a budget of 1 us over a large text, so
// no test depends on how fast this machine is.
#include <catch2/catch.hpp>

#include <string>

#include "rules/compiler.h"
#include "rules/pack_loader.h"
#include "scanner/result_json.h"
#include "scanner/scanner.h"

namespace {

using vigil::scanner::Document;
using vigil::scanner::ScanResult;
using vigil::scanner::Scanner;

std::shared_ptr<const vigil::rules::CompiledRuleSet> CompileFresh() {
  vigil::rules::Pack pack;
  vigil::rules::Diagnostics diags;
  const std::string header =
      "name: limits\nversion: 0.1.0\ndescription: limits\nthreshold: 0.5\ncategories:\n"
      "  - {id: youth, title: Youth, description: youth language}\n";
  const std::string rules =
      "rules:\n  - id: youth.fresh\n    title: Fresh\n    description: test rule\n    category: youth\n"
      "    weight: 0.6\n    evidence: supported\n    patterns: ['\\bfresh\\b']\n";
  REQUIRE(vigil::rules::LoadPackFromFiles("mem", {{"pack.yaml", header}, {"rules.yaml", rules}}, &pack, &diags));
  auto set = vigil::rules::Compile(pack, {}, &diags);
  INFO(diags.ToString());
  REQUIRE(set.ok());
  return *set;
}

ScanResult ScanWith(const Scanner::Options& options, const std::string& text) {
  auto scanner = Scanner::Create(CompileFresh(), options);
  REQUIRE(scanner.ok());
  auto context = (*scanner)->NewContext();
  Document doc;
  doc.id = "limits-1";
  doc.text = text;
  ScanResult result;
  REQUIRE((*scanner)->Scan(doc, context.get(), &result).ok());
  return result;
}

bool Reports(const ScanResult& r, const std::string& prefix) {
  for (const std::string& t : r.truncated) {
    if (t.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

std::string Repeat(const std::string& unit, size_t times) {
  std::string out;
  out.reserve(unit.size() * times);
  for (size_t i = 0; i < times; ++i) out += unit;
  return out;
}

}  // namespace

TEST_CASE("a spent scan time budget is reported, with the stage it stopped", "[hardening]") {
  Scanner::Options options;
  options.max_scan_micros = 1;  // spent by normalising 2 MB whatever the machine
  options.max_text_bytes = 4u << 20;
  const ScanResult r = ScanWith(options, Repeat("so fresh, call 702-555-0147. ", 70000));
  INFO(r.truncated.size());
  REQUIRE(Reports(r, "time: the scan budget of 1 us was spent"));
  CHECK(r.truncated.back().find("later stages skipped") != std::string::npos);
  // What was skipped is not pretended: no phones were extracted.
  CHECK(r.entities.empty());
}

TEST_CASE("without a time budget the same document is scanned fully", "[hardening]") {
  Scanner::Options options;
  options.max_scan_micros = 0;
  options.max_text_bytes = 4u << 20;
  options.max_hits = 1000000;
  const ScanResult r = ScanWith(options, Repeat("so fresh, call 702-555-0147. ", 2000));
  CHECK(r.truncated.empty());
  CHECK(r.hits.size() == 2000);
  CHECK(r.entities.size() == 2000);
}

TEST_CASE("the default budget does not touch ordinary ads", "[hardening]") {
  const ScanResult r = ScanWith(Scanner::Options{}, "so fresh, call 702-555-0147");
  CHECK(r.truncated.empty());
  CHECK(r.hits.size() == 1);
  CHECK(r.flagged);
}

TEST_CASE("the hit limit and the text limit are both reported", "[hardening]") {
  Scanner::Options options;
  options.max_hits = 10;
  options.max_text_bytes = 4096;
  const ScanResult r = ScanWith(options, Repeat("fresh ", 2000));
  CHECK(Reports(r, "text: scanned the first 4096 of 12000 bytes"));
  CHECK(Reports(r, "hits: stopped at the limit of 10"));
  CHECK(r.hits.size() <= 10);
}

TEST_CASE("truncations are in the JSON that vigil scan prints and the API returns", "[hardening]") {
  // AppendResultJson is the `vigil scan` output contract (docs/cli.md).
  Scanner::Options options;
  options.max_hits = 10;
  options.max_text_bytes = 4096;
  const ScanResult r = ScanWith(options, Repeat("fresh ", 2000));
  std::string out;
  vigil::scanner::AppendResultJson(r, vigil::scanner::ResultJsonOptions{}, &out);
  INFO(out.substr(out.find("\"truncated\"") == std::string::npos ? 0 : out.find("\"truncated\"")));
  CHECK(out.find(R"("truncated":[)") != std::string::npos);
  CHECK(out.find(R"("text: scanned the first 4096 of 12000 bytes")") != std::string::npos);
  CHECK(out.find(R"("hits: stopped at the limit of 10")") != std::string::npos);
  // An untruncated result has no "truncated" key at all.
  std::string plain;
  vigil::scanner::AppendResultJson(ScanWith(Scanner::Options{}, "so fresh"), vigil::scanner::ResultJsonOptions{},
                                   &plain);
  CHECK(plain.find("truncated") == std::string::npos);
}

TEST_CASE("the raw match limit is reported", "[hardening]") {
  Scanner::Options options;
  options.max_hits = 1;  // Hyperscan keeps at most 64 raw ends
  const ScanResult r = ScanWith(options, Repeat("fresh ", 500));
  CHECK(Reports(r, "matches: Hyperscan stopped after 64 raw matches"));
}
