#include "rules/lint.h"

#include <catch2/catch.hpp>

#include "rules/pack_loader.h"
#include "rules/pattern_syntax.h"

namespace {

using vigil::rules::Diagnostic;
using vigil::rules::Diagnostics;
using vigil::rules::LintPack;
using vigil::rules::LoadPackFromFiles;
using vigil::rules::Pack;
using vigil::rules::Severity;

const char kHeader[] = R"(name: test
version: 1.0.0
threshold: 0.5
categories:
  - id: youth
    title: Youth language
  - id: movement
    title: Movement
  - id: recruitment
    title: Recruitment
    combination_only: true
)";

// A complete, clean rule; `extra` lines are appended to its mapping and
// `replace` swaps one of its lines ("weight: 0.3" -> "weight: 1.5").
std::string Rule(const std::string& id, const std::string& replace_from = "",
                 const std::string& replace_to = "", const std::string& extra = "") {
  std::string r = "  - id: " + id + R"(
    title: A rule
    description: Why it matters.
    category: youth
    weight: 0.3
    evidence: supported
    references: ["A report, 2022"]
    patterns:
      - 'barely legal'
    examples: ["barely legal here", "so barely legal"]
    negative_examples: ["legal aid", "barely made it"]
)";
  if (!replace_from.empty()) {
    size_t at = r.find(replace_from);
    REQUIRE(at != std::string::npos);
    r.replace(at, replace_from.size(), replace_to);
  }
  return r + extra;
}

Diagnostics LoadAndLint(const std::string& rules, const std::string& header = kHeader) {
  Pack pack;
  Diagnostics diags;
  LoadPackFromFiles("p", {{"pack.yaml", header}, {"rules.yaml", "rules:\n" + rules}}, &pack,
                    &diags);
  LintPack(pack, &diags);
  return diags;
}

// The only diagnostic with `code`; fails the test when there is not exactly one.
Diagnostic Only(const Diagnostics& diags, const std::string& code) {
  INFO(diags.ToString());
  std::vector<Diagnostic> found;
  for (const Diagnostic& d : diags.items) {
    if (d.code == code) found.push_back(d);
  }
  REQUIRE(found.size() == 1);
  return found[0];
}

size_t Count(const Diagnostics& diags, const std::string& code) {
  size_t n = 0;
  for (const Diagnostic& d : diags.items) n += d.code == code;
  return n;
}

}  // namespace

TEST_CASE("a clean pack has no diagnostics", "[lint]") {
  Diagnostics diags = LoadAndLint(Rule("youth.a") + Rule("youth.b"));
  INFO(diags.ToString());
  CHECK(diags.items.empty());
}

TEST_CASE("V103 duplicate rule id names the first location", "[lint]") {
  Diagnostic d = Only(LoadAndLint(Rule("youth.a") + Rule("youth.a")), "V103");
  CHECK(d.location.line == 13);
  CHECK(d.message == "duplicate rule id; first defined at p/rules.yaml:2:5");
}

TEST_CASE("V104 malformed ids", "[lint]") {
  Diagnostic d = Only(LoadAndLint(Rule("Youth Teen!")), "V104");
  CHECK(d.rule_id == "Youth Teen!");
  CHECK(d.help.find("`youth_teen`") != std::string::npos);
  std::string header = kHeader;
  header.replace(header.find("id: movement"), 12, "id: 2moves");
  header.replace(0, 10, "name: My Pack");
  Diagnostics diags = LoadAndLint(Rule("youth.a"), header);
  CHECK(Count(diags, "V104") == 2);
}

TEST_CASE("V105 weight outside 0..1 points at the value", "[lint]") {
  Diagnostic d = Only(LoadAndLint(Rule("youth.teen", "weight: 0.3", "weight: 1.5")), "V105");
  CHECK(d.ToString() ==
        "p/rules.yaml:6:13: error[V105] rule 'youth.teen': weight 1.5 is outside 0..1\n"
        "  help: write a weight between 0 and 1, e.g. 0.3");
  CHECK(Count(LoadAndLint(Rule("youth.a", "weight: 0.3", "weight: -0.1")), "V105") == 1);
  CHECK(Count(LoadAndLint(Rule("youth.a", "weight: 0.3", "weight: 1")), "V105") == 0);
}

TEST_CASE("V106 unknown category suggests the closest", "[lint]") {
  Diagnostic d = Only(LoadAndLint(Rule("youth.a", "category: youth", "category: yuoth")), "V106");
  CHECK(d.message == "unknown category `yuoth`; did you mean `youth`?");
  CHECK(d.help.find("`movement`") != std::string::npos);
}

TEST_CASE("V108 duplicate category and V109 threshold", "[lint]") {
  std::string header = std::string(kHeader) + "  - id: youth\n    title: Again\n";
  header.replace(header.find("threshold: 0.5"), 14, "threshold: 0");
  Diagnostics diags = LoadAndLint(Rule("youth.a"), header);
  CHECK(Only(diags, "V108").message.find("first defined at p/pack.yaml:5:5") != std::string::npos);
  CHECK(Only(diags, "V109").message == "threshold 0 is outside (0, 1]");
  header = kHeader;
  header.replace(header.find("threshold: 0.5"), 14, "threshold: 1");
  CHECK(Count(LoadAndLint(Rule("youth.a"), header), "V109") == 0);
}

TEST_CASE("V110 requires names an unknown rule or category", "[lint]") {
  Diagnostics diags = LoadAndLint(
      Rule("youth.a") +
      Rule("youth.b", "", "", "    requires: {rules: [youth.c], categories: [movment]}\n"));
  CHECK(Count(diags, "V110") == 2);
  CHECK(diags.ToString().find("unknown rule `youth.c`; did you mean `youth.a`?") !=
        std::string::npos);
  CHECK(diags.ToString().find("did you mean `movement`?") != std::string::npos);
  CHECK(Count(diags, "V111") == 0);  // not repeated as "nothing to count"
}

TEST_CASE("V111 requires.min below 1 or above what can count", "[lint]") {
  Diagnostic zero = Only(LoadAndLint(Rule("youth.a") +
                                     Rule("youth.b", "", "", "    requires: {rules: [youth.a], min: 0}\n")),
                         "V111");
  CHECK(zero.message == "`requires.min` is 0; it must be at least 1");
  // Category youth has youth.a and youth.b; youth.b itself does not count.
  Diagnostic high = Only(
      LoadAndLint(Rule("youth.a") +
                  Rule("youth.b", "", "", "    requires: {categories: [youth], min: 2}\n")),
      "V111");
  CHECK(high.message == "`requires.min` is 2 but only 1 other rule can count toward it");
  CHECK(high.help == "write `min: 1` or less, or list more rules or categories");
}

TEST_CASE("V112 unless.window outside 1..10000", "[lint]") {
  Diagnostic d = Only(
      LoadAndLint(Rule("youth.a", "", "", "    unless: {window: 0, patterns: ['law firm']}\n")),
      "V112");
  CHECK(d.message == "unless.window 0 is outside 1..10000");
  CHECK(Count(LoadAndLint(Rule("youth.a", "", "",
                               "    unless: {window: 10001, patterns: ['law firm']}\n")),
              "V112") == 1);
}

TEST_CASE("V200 quotes Hyperscan's message, V201 RE2's, at the pattern", "[lint]") {
  Diagnostics hs = LoadAndLint(Rule("youth.a", "'barely legal'", "'(a)\\1'"));
  Diagnostic d = Only(hs, "V200");
  CHECK(d.message == "Hyperscan rejects pattern `(a)\\1`: Back-references are unsupported.");
  CHECK(d.location.line == 10);
  CHECK(d.location.column == 9);
  CHECK(Only(hs, "V201").message == "RE2 rejects pattern `(a)\\1`: invalid escape sequence: \\1");

  // \Z is Hyperscan syntax but not RE2's.
  Diagnostics re2 = LoadAndLint(Rule("youth.a", "'barely legal'", "'legal\\Z'"));
  CHECK(Count(re2, "V200") == 0);
  CHECK(Only(re2, "V201").message == "RE2 rejects pattern `legal\\Z`: invalid escape sequence: \\Z");

  // \C is RE2 syntax but not Hyperscan's in UTF-8 mode.
  Diagnostics hs_only = LoadAndLint(Rule("youth.a", "'barely legal'", "'a\\Cb'"));
  CHECK(Count(hs_only, "V200") == 1);
  CHECK(Count(hs_only, "V201") == 0);
}

TEST_CASE("V202 empty-matching patterns, including in unless", "[lint]") {
  Diagnostics diags = LoadAndLint(
      Rule("youth.a", "'barely legal'", "'a*'", "    unless: {patterns: ['(law)?']}\n"));
  CHECK(Count(diags, "V202") == 2);
  CHECK(Count(diags, "V200") == 0);  // reported once, as V202
}

TEST_CASE("V203 spelling that normalised text never has", "[lint]") {
  Diagnostic d = Only(LoadAndLint(Rule("youth.a", "'barely legal'", "'New\\s+In  Town\\S'")),
                      "V203");
  CHECK(d.severity == Severity::kWarning);
  CHECK(d.help == "write `new in town\\S`, or set `match_on: raw` to match the original text");
  CHECK(d.message.find("upper-case letters, runs of spaces and `\\s+`") != std::string::npos);
  // Raw rules match the original text: capitals are fine there.
  CHECK(Count(LoadAndLint(Rule("youth.a", "'barely legal'", "'New In Town'",
                               "    match_on: raw\n")),
              "V203") == 0);
  // Escapes keep their case and are not reported.
  CHECK(Count(LoadAndLint(Rule("youth.a", "'barely legal'", "'legal\\W\\x4F\\p{Lu}\\s?x'")),
              "V203") == 0);
}

TEST_CASE("V300 too few examples, V303 no references or description", "[lint]") {
  Diagnostics diags = LoadAndLint(Rule("youth.a", "examples: [\"barely legal here\", \"so barely legal\"]",
                                       "examples: [\"barely legal here\"]"));
  CHECK(Only(diags, "V300").message == "1 example; at least 2 expected");
  Diagnostics refs = LoadAndLint(Rule("youth.a", "references: [\"A report, 2022\"]", "author: x"));
  CHECK(Only(refs, "V303").message == "no references");
  Diagnostics desc = LoadAndLint(Rule("youth.a", "description: Why it matters.", "description: ' '"));
  CHECK(Only(desc, "V303").message == "empty description");
  CHECK_FALSE(desc.HasErrors());
}

TEST_CASE("V301 a contested rule must stay under the threshold", "[lint]") {
  Diagnostics diags = LoadAndLint(Rule("youth.a", "weight: 0.3\n    evidence: supported",
                                       "weight: 0.5\n    evidence: contested"));
  Diagnostic d = Only(diags, "V301");
  CHECK(diags.ErrorCount() == 1);
  CHECK(d.message == "contested rule has weight 0.5, at or above the pack threshold 0.5, so it "
                     "would flag an ad on its own");
  CHECK(d.help.find("e.g. 0.25") != std::string::npos);
  CHECK(Count(LoadAndLint(Rule("youth.a", "weight: 0.3\n    evidence: supported",
                               "weight: 0.49\n    evidence: contested")),
              "V301") == 0);
}

TEST_CASE("V302 combination-only categories need requires", "[lint]") {
  Diagnostics diags = LoadAndLint(Rule("youth.a") +
                                  Rule("recruitment.a", "category: youth", "category: recruitment"));
  Diagnostic d = Only(diags, "V302");
  CHECK(d.rule_id == "recruitment.a");
  CHECK(Count(LoadAndLint(Rule("youth.a") +
                          Rule("recruitment.a", "category: youth", "category: recruitment",
                               "    requires: {rules: [youth.a]}\n")),
              "V302") == 0);
}

TEST_CASE("V304 requires that lists only the rule itself", "[lint]") {
  Diagnostics diags =
      LoadAndLint(Rule("youth.a", "", "", "    requires: {rules: [youth.a]}\n"));
  CHECK(Only(diags, "V304").rule_id == "youth.a");
  CHECK(Count(diags, "V111") == 0);
}

TEST_CASE("CheckPattern agrees with the engines' flags", "[lint][pattern_syntax]") {
  std::string hs, re2;
  bool empty = false;
  CHECK(vigil::rules::CheckPattern("barely\\s?legal", &hs, &re2, &empty).ok());
  CHECK(hs.empty());
  CHECK(re2.empty());
  CHECK_FALSE(empty);
  CHECK_FALSE(vigil::rules::CheckPattern("x{1001}", &hs, &re2, &empty).ok());
  CHECK(hs.empty());
  CHECK(re2 == "invalid repetition size: {1001}");
  CHECK_FALSE(vigil::rules::CheckPattern(std::string("a\0b", 3), &hs, &re2, &empty).ok());
  CHECK_FALSE(hs.empty());
  CHECK_FALSE(vigil::rules::CheckPattern("\xff\xfe", &hs, &re2, &empty).ok());
  CHECK_FALSE(vigil::rules::Re2OptionsForPatterns().case_sensitive());
}

TEST_CASE("without the engine checks lint leaves V200-V202 to LintPackEngines", "[lint]") {
  // A back-reference (V200 and V201), an empty match (V202) and a spelling
  // warning (V203) in one pack.
  Pack pack;
  Diagnostics load;
  LoadPackFromFiles("p",
                    {{"pack.yaml", kHeader},
                     {"rules.yaml", "rules:\n" + Rule("youth.a", "'barely legal'", "'(a)\\1'") +
                                        Rule("youth.b", "'barely legal'", "'a*'") +
                                        Rule("youth.c", "'barely legal'", "'New  Town'")}},
                    &pack, &load);
  REQUIRE(!load.HasErrors());
  vigil::rules::LintOptions options;
  options.compile_each_pattern = false;
  Diagnostics full;
  LintPack(pack, &full, options);
  options.check_engines = false;
  Diagnostics without;
  LintPack(pack, &without, options);
  Diagnostics engines;
  vigil::rules::LintPackEngines(pack, &engines, options);

  for (const char* code : {"V200", "V201", "V202"}) {
    CHECK(Count(without, code) == 0);
    CHECK(Count(engines, code) == Count(full, code));
    CHECK(Count(engines, code) >= 1);
  }
  CHECK(Count(without, "V203") == 1);
  CHECK(Count(engines, "V203") == 0);
  // Together they are exactly the full lint, in the same order once sorted.
  Diagnostics both = without;
  both.items.insert(both.items.end(), engines.items.begin(), engines.items.end());
  CHECK(both.ToString() == full.ToString());
}
