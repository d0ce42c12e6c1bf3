#include "scanner/scanner.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "rules/compiler.h"
#include "rules/pack_loader.h"
#include "scanner/document_parser.h"
#include "scanner/result_json.h"

namespace {

using vigil::rules::CompiledRuleSet;
using vigil::scanner::Document;
using vigil::scanner::Hit;
using vigil::scanner::ScanResult;

const char* kPackHeader = R"(name: test
version: 0.1.0
description: scanner tests
threshold: 0.5
categories:
  - {id: youth, title: Youth, description: youth language}
  - {id: trust_assurance, title: Trust, description: trust language}
  - {id: movement, title: Movement, description: movement language}
  - {id: recruitment, title: Recruitment, description: job offers, combination_only: true}
  - {id: obscured_contact, title: Obscured contact, description: hidden phones}
)";

std::shared_ptr<const CompiledRuleSet> CompileRules(const std::string& rules_yaml) {
  vigil::rules::Pack pack;
  vigil::rules::Diagnostics diags;
  bool ok = vigil::rules::LoadPackFromFiles("mem", {{"pack.yaml", kPackHeader}, {"rules.yaml", rules_yaml}}, &pack,
                                            &diags);
  INFO(diags.ToString());
  REQUIRE(ok);
  auto set = vigil::rules::Compile(pack, {}, &diags);
  INFO(diags.ToString());
  REQUIRE(set.ok());
  return *set;
}

std::string Rule(const std::string& id, const std::string& category, double weight, const std::string& pattern,
                 const std::string& extra = "") {
  return "  - id: " + id + "\n    title: " + id + "\n    description: test rule\n    category: " + category +
         "\n    weight: " + std::to_string(weight) + "\n    evidence: supported\n    patterns: ['" + pattern + "']\n" +
         extra;
}

ScanResult ScanText(const std::shared_ptr<const CompiledRuleSet>& set, const std::string& text) {
  auto scanner = vigil::scanner::Scanner::Create(set, {});
  REQUIRE(scanner.ok());
  auto context = (*scanner)->NewContext();
  Document doc;
  doc.id = "d1";
  doc.text = text;
  ScanResult result;
  REQUIRE((*scanner)->Scan(doc, context.get(), &result).ok());
  return result;
}

}  // namespace

TEST_CASE("hits carry exact original spans, also through normalisation", "[scanner]") {
  auto set = CompileRules("rules:\n" + Rule("youth.fresh", "youth", 0.3, "\\bfresh\\b"));
  ScanResult r = ScanText(set, "Hi, so FRESH and fresh!");
  REQUIRE(r.hits.size() == 2);
  CHECK(r.hits[0].rule == "youth.fresh");
  CHECK(r.hits[0].match == "FRESH");
  CHECK(r.hits[0].start == 7);
  CHECK(r.hits[0].end == 12);
  CHECK(r.hits[1].match == "fresh");
  CHECK(r.categories == std::vector<std::string>{"youth"});
  CHECK(r.score == Approx(0.3));
  CHECK_FALSE(r.flagged);
  CHECK(r.pack_version == "test@0.1.0");
}

TEST_CASE("spaced letters are matched and highlighted in the original text", "[scanner]") {
  auto set = CompileRules("rules:\n" + Rule("movement.new_in_town", "movement", 0.1, "\\bnew in town\\b"));
  const std::string text = "Hello N E W  I N  T O W N today";
  ScanResult r = ScanText(set, text);
  REQUIRE(r.hits.size() == 1);
  CHECK(r.hits[0].match == "N E W  I N  T O W N");
  CHECK(r.hits[0].normalized == "new in town");
}

TEST_CASE("unless cancels a hit with context nearby but not far away", "[scanner]") {
  auto set = CompileRules("rules:\n" + Rule("youth.fresh", "youth", 0.3, "\\bfresh\\b",
                                            "    unless:\n      window: 20\n      patterns: ['seafood']\n"));
  ScanResult near = ScanText(set, "fresh seafood market");
  CHECK(near.hits.empty());
  REQUIRE(near.suppressed.size() == 1);
  CHECK(near.suppressed[0].suppressed_reason.find("seafood") != std::string::npos);
  CHECK(near.score == 0.0);
  ScanResult far = ScanText(set, "so fresh and sweet, by the way we are not far from the harbour seafood place");
  CHECK(far.hits.size() == 1);
}

TEST_CASE("requires counts a rule only in combination", "[scanner]") {
  const std::string req = "    requires: {categories: [recruitment], min: 2}\n";
  auto set = CompileRules("rules:\n" + Rule("recruitment.visa", "recruitment", 0.3, "\\bvisa paid\\b", req) +
                          Rule("recruitment.housing", "recruitment", 0.3, "\\bhousing provided\\b", req) +
                          Rule("recruitment.urgent", "recruitment", 0.3, "\\burgent\\b", req));
  ScanResult two = ScanText(set, "visa paid, housing provided");
  CHECK(two.hits.empty());
  CHECK(two.suppressed.size() == 2);
  ScanResult three = ScanText(set, "urgent! visa paid, housing provided");
  CHECK(three.hits.size() == 3);
  CHECK(three.categories == std::vector<std::string>{"recruitment"});
  CHECK(three.score == Approx(0.3));
}

TEST_CASE("score is a noisy-or over categories of the strongest hit in each", "[scanner]") {
  auto set = CompileRules("rules:\n" + Rule("youth.young", "youth", 0.35, "\\byoung\\b") +
                          Rule("youth.petite", "youth", 0.2, "\\bpetite\\b") +
                          Rule("trust.real", "trust_assurance", 0.3, "\\breal pics\\b"));
  ScanResult r = ScanText(set, "young and petite, real pics");
  CHECK(r.hits.size() == 3);
  // 1 - (1 - 0.35) * (1 - 0.3) = 0.545
  CHECK(r.score == Approx(0.545));
  CHECK(r.flagged);
  CHECK(r.categories == std::vector<std::string>{"trust_assurance", "youth"});
}

TEST_CASE("raw rules match the original bytes", "[scanner]") {
  auto set = CompileRules("rules:\n" + Rule("youth.raw", "youth", 0.3, "YOUNG", "    match_on: raw\n"));
  ScanResult r = ScanText(set, "so YOUNG \xff\xfe and young");
  // Caseless like every pattern, but on the original text: both spellings.
  REQUIRE(r.hits.size() == 2);
  CHECK(r.hits[0].start == 3);
  CHECK(r.hits[1].match == "young");
}

TEST_CASE("invalid UTF-8 and empty texts scan without error", "[scanner]") {
  auto set = CompileRules("rules:\n" + Rule("youth.young", "youth", 0.35, "\\byoung\\b"));
  ScanResult empty = ScanText(set, "");
  CHECK(empty.hits.empty());
  CHECK(empty.score == 0.0);
  ScanResult bad = ScanText(set, std::string("\xc3\x28 young \xe2\x82", 11));
  REQUIRE(bad.hits.size() == 1);
  CHECK(bad.hits[0].match == "young");
}

TEST_CASE("an obscured phone fires the phone_decoded rule with the phone's span", "[scanner]") {
  auto set = CompileRules("rules:\n" + Rule("obscured_contact.phone_decoded", "obscured_contact", 0.35,
                                            "\\bzero one two three four\\b"));
  ScanResult r = ScanText(set, "call seven zero two five five five zero one four seven now");
  REQUIRE_FALSE(r.entities.empty());
  CHECK(r.entities[0].value == "+17025550147");
  CHECK(r.entities[0].obfuscated);
  REQUIRE(r.hits.size() == 1);
  CHECK(r.hits[0].rule == "obscured_contact.phone_decoded");
  CHECK(r.hits[0].start == r.entities[0].start);
  ScanResult plain = ScanText(set, "call 702-555-0147 now");
  REQUIRE(plain.entities.size() == 1);
  CHECK_FALSE(plain.entities[0].obfuscated);
  CHECK(plain.hits.empty());
}

TEST_CASE("the hit limit is reported, never silent", "[scanner]") {
  auto set = CompileRules("rules:\n" + Rule("youth.young", "youth", 0.35, "\\byoung\\b"));
  auto scanner = vigil::scanner::Scanner::Create(set, {"US", 5, 1 << 20});
  REQUIRE(scanner.ok());
  auto context = (*scanner)->NewContext();
  Document doc;
  doc.id = "many";
  for (int i = 0; i < 50; ++i) doc.text += "young ";
  ScanResult r;
  REQUIRE((*scanner)->Scan(doc, context.get(), &r).ok());
  CHECK(r.hits.size() == 5);
  REQUIRE(r.truncated.size() == 1);
  CHECK(r.truncated[0].find("limit of 5") != std::string::npos);
}

TEST_CASE("a scan context follows a hot-swapped rule set", "[scanner]") {
  auto first = CompileRules("rules:\n" + Rule("youth.young", "youth", 0.35, "\\byoung\\b"));
  auto second = CompileRules("rules:\n" + Rule("youth.petite", "youth", 0.2, "\\bpetite\\b") +
                             Rule("trust.real", "trust_assurance", 0.3, "\\breal\\b"));
  auto a = vigil::scanner::Scanner::Create(first, {});
  auto b = vigil::scanner::Scanner::Create(second, {});
  auto context = (*a)->NewContext();
  Document doc;
  doc.id = "x";
  doc.text = "young petite real";
  ScanResult r;
  REQUIRE((*a)->Scan(doc, context.get(), &r).ok());
  CHECK(r.hits.size() == 1);
  REQUIRE((*b)->Scan(doc, context.get(), &r).ok());
  CHECK(r.hits.size() == 2);
}

TEST_CASE("result JSON follows the scan contract", "[scanner][json]") {
  auto set = CompileRules("rules:\n" + Rule("youth.young", "youth", 0.35, "\\byoung\\b"));
  ScanResult r = ScanText(set, "so \"young\"\n");
  std::string json;
  vigil::scanner::AppendResultJson(r, {}, &json);
  CHECK(json.rfind("{\"id\":\"d1\",\"score\":0.35,\"flagged\":false,\"categories\":[\"youth\"],\"hits\":[{\"rule\":"
                   "\"youth.young\",\"category\":\"youth\",\"start\":4,\"end\":9,\"match\":\"young\"",
                   0) == 0);
  // And it parses back as JSON (the parser wants id and text, so wrap it).
  vigil::scanner::DocumentParser parser;
  Document doc;
  std::string wrapped = "{\"id\":\"w\",\"text\":\"t\",\"result\":" + json + "}";
  CHECK(parser.Parse(wrapped, &doc).ok());
}

TEST_CASE("JSON strings escape control characters and repair invalid UTF-8", "[scanner][json]") {
  std::string out;
  vigil::scanner::AppendJsonString(std::string("a\"b\\c\n\x01\xff\xc3\xa9", 10), &out);
  CHECK(out == "\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\"");
}

TEST_CASE("scores and weights print as fmt's shortest form, on the fast path and off it", "[scanner][json]") {
  // AppendResultJson prints k / 10000 values without fmt; every value must
  // read exactly as fmt::format("{}") would print it.
  auto score_json = [](double score) {
    vigil::scanner::ScanResult r;
    r.id = "d";
    r.score = score;
    std::string out;
    vigil::scanner::AppendResultJson(r, {}, &out);
    const size_t at = out.find("\"score\":") + 8;
    return out.substr(at, out.find(',', at) - at);
  };
  for (int k = 0; k <= 200000; ++k) {
    const double v = k / 10000.0;
    INFO("k = " << k);
    REQUIRE(score_json(v) == fmt::format("{}", v));
  }
  for (double v : {0.123456789, 1e-7, 2.5e-5, 1.0 / 3.0, 123456.75, 1e20, -0.5, 0.30000000000000004}) {
    INFO(v);
    CHECK(score_json(v) == fmt::format("{}", v));
  }
}
