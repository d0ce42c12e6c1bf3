#include "rules/compiler.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "rules/compiled_rule_set_impl.h"
#include "rules/pack_loader.h"
#include "rules/rule_set_cache.h"

namespace {

using vigil::rules::Pack;

const char* kHeader = R"(name: t
version: 2.0.0
description: compiler tests
threshold: 0.5
categories:
  - {id: youth, title: Youth, description: youth language}
  - {id: recruitment, title: Recruitment, description: jobs}
)";

const char* kRules = R"(rules:
  - id: youth.young
    title: Young
    description: youth
    category: youth
    weight: 0.3
    evidence: supported
    patterns: ['\byoung\b', '\byoung(?:er|est)\b']
    unless:
      window: 10
      patterns: ['professionals']
  - id: recruitment.visa
    title: Visa
    description: visa
    category: recruitment
    weight: 0.2
    evidence: lore
    patterns: ['visa paid']
    requires: {rules: [recruitment.housing], categories: [youth], min: 1}
  - id: recruitment.housing
    title: Housing
    description: housing
    category: recruitment
    weight: 0.2
    evidence: lore
    status: deprecated
    patterns: ['housing']
  - id: youth.raw
    title: Raw
    description: raw
    category: youth
    weight: 0.1
    evidence: lore
    match_on: raw
    patterns: ['XOXO']
)";

Pack LoadTestPack(const std::string& rules = kRules) {
  Pack pack;
  vigil::rules::Diagnostics diags;
  bool ok = vigil::rules::LoadPackFromFiles("mem", {{"pack.yaml", kHeader}, {"rules.yaml", rules}}, &pack, &diags);
  INFO(diags.ToString());
  REQUIRE(ok);
  return pack;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("vigil-compiler-test-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("compile builds rule metadata, requirements and databases", "[compiler]") {
  Pack pack = LoadTestPack();
  vigil::rules::Diagnostics diags;
  auto set = vigil::rules::Compile(pack, {}, &diags);
  INFO(diags.ToString());
  REQUIRE(set.ok());
  const auto& s = **set;
  CHECK(s.pack_label() == "t@2.0.0");
  // The deprecated rule is left out.
  REQUIRE(s.rules().size() == 3);
  CHECK(s.FindRule("recruitment.housing") == -1);
  int visa = s.FindRule("recruitment.visa");
  REQUIRE(visa >= 0);
  // requires: the listed (deprecated, so absent) rule and every youth rule.
  const auto& req = s.rules()[visa].requirement_rules;
  CHECK(req.size() == 2);
  CHECK(s.impl().normalized_db != nullptr);
  CHECK(s.impl().raw_db != nullptr);
  // 2 + 1 unless + 1 + 1 raw patterns.
  CHECK(s.impl().patterns.size() == 5);
  CHECK(s.impl().unless_of_rule[s.FindRule("youth.young")].size() == 1);
}

TEST_CASE("serialized rule sets round-trip and refuse damage", "[compiler]") {
  Pack pack = LoadTestPack();
  vigil::rules::Diagnostics diags;
  auto set = vigil::rules::Compile(pack, {}, &diags);
  REQUIRE(set.ok());
  auto bytes = vigil::rules::SerializeRuleSet(**set);
  REQUIRE(bytes.ok());
  auto back = vigil::rules::DeserializeRuleSet(*bytes);
  REQUIRE(back.ok());
  CHECK((*back)->pack_label() == "t@2.0.0");
  CHECK((*back)->rules().size() == 3);
  CHECK((*back)->impl().patterns.size() == 5);
  CHECK((*back)->rules()[0].patterns == (*set)->rules()[0].patterns);

  SECTION("a flipped byte is caught by the checksum") {
    std::string damaged = *bytes;
    damaged[damaged.size() / 2] ^= 0x40;
    auto r = vigil::rules::DeserializeRuleSet(damaged);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsCorruption());
  }
  SECTION("a truncated file is refused") {
    auto r = vigil::rules::DeserializeRuleSet(std::string_view(*bytes).substr(0, bytes->size() - 100));
    CHECK_FALSE(r.ok());
  }
  SECTION("a foreign file is refused") {
    auto r = vigil::rules::DeserializeRuleSet("PK\x03\x04 not a rule set at all, a zip maybe");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("bad magic") != std::string::npos);
  }
}

TEST_CASE("the cache stores, reuses and rebuilds untrustworthy entries", "[compiler][cache]") {
  TempDir dir;
  vigil::rules::RuleSetCache cache(dir.path.string());
  Pack pack = LoadTestPack();
  vigil::rules::Diagnostics diags;
  vigil::rules::CacheOutcome outcome;

  auto first = cache.GetOrCompile(pack, {}, &diags, &outcome);
  REQUIRE(first.ok());
  CHECK(outcome.kind == vigil::rules::CacheOutcome::Kind::kMiss);
  REQUIRE(std::filesystem::exists(outcome.path));

  auto second = cache.GetOrCompile(pack, {}, &diags, &outcome);
  REQUIRE(second.ok());
  CHECK(outcome.kind == vigil::rules::CacheOutcome::Kind::kHit);
  CHECK((*second)->rules().size() == 3);

  SECTION("a corrupt file is rebuilt") {
    {
      std::fstream f(outcome.path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(40);
      f.write("garbage!", 8);
    }
    auto third = cache.GetOrCompile(pack, {}, &diags, &outcome);
    REQUIRE(third.ok());
    CHECK(outcome.kind == vigil::rules::CacheOutcome::Kind::kRebuilt);
    CHECK(outcome.reason.find("checksum") != std::string::npos);
    cache.GetOrCompile(pack, {}, &diags, &outcome);
    CHECK(outcome.kind == vigil::rules::CacheOutcome::Kind::kHit);
  }
  SECTION("a file holding another pack under this pack's name is rebuilt") {
    Pack other = LoadTestPack(std::string(kRules) + "  - id: youth.extra\n    title: x\n    description: x\n"
                                                    "    category: youth\n    weight: 0.1\n    evidence: lore\n"
                                                    "    patterns: ['extra']\n");
    auto compiled_other = cache.GetOrCompile(other, {}, &diags, &outcome);
    REQUIRE(compiled_other.ok());
    // Plant the other pack's compiled form under this pack's file name.
    std::filesystem::copy_file(outcome.path, cache.PathFor(pack),
                               std::filesystem::copy_options::overwrite_existing);
    auto again = cache.GetOrCompile(pack, {}, &diags, &outcome);
    REQUIRE(again.ok());
    CHECK(outcome.kind == vigil::rules::CacheOutcome::Kind::kRebuilt);
    CHECK((*again)->rules().size() == 3);
  }
}

TEST_CASE("a pattern Hyperscan rejects is a located V200 diagnostic", "[compiler]") {
  Pack pack = LoadTestPack();
  pack.rules[0].patterns[1].regex = "(a)\\1";
  vigil::rules::Diagnostics diags;
  auto set = vigil::rules::Compile(pack, {}, &diags);
  REQUIRE_FALSE(set.ok());
  REQUIRE(diags.HasErrors());
  CHECK(diags.items[0].rule_id == "youth.young");
  CHECK(diags.items[0].location.line > 0);
}

TEST_CASE("engine fingerprint names the Hyperscan version", "[compiler]") {
  CHECK(vigil::rules::EngineFingerprint().rfind("hs-", 0) == 0);
}

TEST_CASE("a cached rule set has the same literal sets and RE2 programs as the compiled one", "[compiler]") {
  // Literal and non-literal rule patterns, a raw rule with unless patterns,
  // a rule whose unless patterns are mixed (no union), one whose unless
  // patterns are all literal (a union), one with none, a deprecated rule.
  const std::string rules = R"(rules:
  - id: youth.young
    title: Young
    description: youth
    category: youth
    weight: 0.3
    evidence: supported
    patterns: ['\byoung\b', '\bage\s*\d\d\b']
    unless:
      patterns: ['professionals', '\bclass of \d+\b']
  - id: youth.fresh
    title: Fresh
    description: fresh
    category: youth
    weight: 0.3
    evidence: supported
    patterns: ['\bfresh\b']
    unless:
      patterns: ['\bfresh (?:food|fish)\b', 'produce']
  - id: recruitment.old
    title: Old
    description: old
    category: recruitment
    weight: 0.2
    evidence: lore
    status: deprecated
    patterns: ['housing']
  - id: recruitment.visa
    title: Visa
    description: visa
    category: recruitment
    weight: 0.2
    evidence: lore
    patterns: ['visa paid', '\bvisa\s+\w+\b']
  - id: youth.raw
    title: Raw
    description: raw
    category: youth
    weight: 0.1
    evidence: lore
    match_on: raw
    patterns: ['XOXO', 'x+o+']
    unless:
      patterns: ['hugs']
)";
  Pack pack = LoadTestPack(rules);
  vigil::rules::Diagnostics diags;
  auto set = vigil::rules::Compile(pack, {}, &diags);
  INFO(diags.ToString());
  REQUIRE(set.ok());
  auto bytes = vigil::rules::SerializeRuleSet(**set);
  REQUIRE(bytes.ok());
  auto back = vigil::rules::DeserializeRuleSet(*bytes);
  REQUIRE(back.ok());
  const auto& a = (*set)->impl();
  const auto& b = (*back)->impl();
  REQUIRE(a.patterns.size() == b.patterns.size());
  int literal = 0, re2 = 0;
  for (size_t i = 0; i < a.patterns.size(); ++i) {
    INFO("pattern " << i);
    CHECK(a.patterns[i].rule == b.patterns[i].rule);
    CHECK((a.patterns[i].literal != nullptr) == (b.patterns[i].literal != nullptr));
    CHECK((a.patterns[i].re2 != nullptr) == (b.patterns[i].re2 != nullptr));
    CHECK((a.patterns[i].re2_at_end != nullptr) == (b.patterns[i].re2_at_end != nullptr));
    CHECK((a.patterns[i].literal != nullptr) != (a.patterns[i].re2 != nullptr));  // exactly one
    literal += a.patterns[i].literal != nullptr;
    re2 += a.patterns[i].re2 != nullptr;
  }
  CHECK(literal >= 5);
  CHECK(re2 >= 4);
  REQUIRE(a.unless_union_of_rule.size() == b.unless_union_of_rule.size());
  int unions = 0;
  for (size_t r = 0; r < a.unless_union_of_rule.size(); ++r) {
    INFO("rule " << r);
    CHECK((a.unless_union_of_rule[r] != nullptr) == (b.unless_union_of_rule[r] != nullptr));
    unions += a.unless_union_of_rule[r] != nullptr;
  }
  CHECK(unions == 1);  // youth.fresh's
  const std::string text = "so fresh, young and new: fresh fish, visa paid, age 19, class of 2024";
  for (size_t i = 0; i < a.patterns.size(); ++i) {
    if (!a.patterns[i].literal) continue;
    for (size_t end = 0; end <= text.size(); ++end) {
      CHECK(a.patterns[i].literal->LeftmostStartEndingAt(text, end) ==
            b.patterns[i].literal->LeftmostStartEndingAt(text, end));
    }
  }
}

TEST_CASE("a compiled rule set of another format is reported as such, not as damaged", "[compiler]") {
  vigil::rules::Diagnostics diags;
  auto set = vigil::rules::Compile(LoadTestPack(), {}, &diags);
  REQUIRE(set.ok());
  auto bytes = vigil::rules::SerializeRuleSet(**set);
  REQUIRE(bytes.ok());
  std::string old = *bytes;
  old[8] = 3;  // the format version, after the magic (the checksum no longer fits either)
  auto r = vigil::rules::DeserializeRuleSet(old);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("has format 3, this vigil reads") != std::string::npos);
}

TEST_CASE("the cache drops entries unused for a month, orphan marks and old temporary files", "[compiler][cache]") {
  TempDir dir;
  vigil::rules::RuleSetCache cache(dir.path.string());
  const auto now = std::filesystem::file_time_type::clock::now();
  const auto write = [&](const std::string& name, std::filesystem::file_time_type when, const std::string& text) {
    std::ofstream(dir.path / name) << text;
    std::filesystem::last_write_time(dir.path / name, when);
  };
  const std::string hash_a(32, 'a'), hash_b(32, 'b'), hash_c(32, 'c');
  const std::string old_tag = "0123456789abcdef";  // an older format's or another machine's engine
  const auto month = vigil::rules::RuleSetCache::kStaleAfter;
  // Unused for over a month: removed, with its mark.
  write("core-" + hash_a + "-" + old_tag + ".vrs", now - month - std::chrono::hours(1), "x");
  write(hash_a + "-" + old_tag + "-fedcba9876543210.clean", now, "core-" + hash_a + "-" + old_tag + ".vrs");
  // Used within the month: kept, with its mark.
  write("other-" + hash_b + "-" + old_tag + ".vrs", now - month + std::chrono::hours(24), "x");
  write(hash_b + "-" + old_tag + "-fedcba9876543210.clean", now - month - std::chrono::hours(24),
        "other-" + hash_b + "-" + old_tag + ".vrs");
  // A mark whose entry is gone: removed.
  write(hash_c + "-" + old_tag + "-fedcba9876543210.clean", now, "core-" + hash_c + "-" + old_tag + ".vrs");
  // A write's temporary file: removed after an hour, kept before (it may be in progress).
  write("core-" + hash_c + "-" + old_tag + ".vrs.tmp.12345", now - std::chrono::hours(2), "partial");
  write("core-" + hash_b + "-" + old_tag + ".vrs.tmp.12346", now, "partial");
  // Something else in the folder is not the cache's to remove.
  write("notes.txt", now - month - month, "mine");

  vigil::rules::Diagnostics diags;
  vigil::rules::CacheOutcome outcome;
  REQUIRE(cache.GetOrCompile(LoadTestPack(), {}, &diags, &outcome).ok());  // a miss: stores, then prunes
  REQUIRE(outcome.kind == vigil::rules::CacheOutcome::Kind::kMiss);
  std::set<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) left.insert(e.path().filename().string());
  const std::set<std::string> expected = {
      std::filesystem::path(outcome.path).filename().string(),
      "other-" + hash_b + "-" + old_tag + ".vrs",
      hash_b + "-" + old_tag + "-fedcba9876543210.clean",
      "core-" + hash_b + "-" + old_tag + ".vrs.tmp.12346",
      "notes.txt",
  };
  CHECK(left == expected);
}

TEST_CASE("the cache keeps the newest entries of a pack and drops older ones with their marks", "[compiler][cache]") {
  TempDir dir;
  vigil::rules::RuleSetCache cache(dir.path.string());
  vigil::rules::Diagnostics diags;
  const auto base = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  const size_t keep = vigil::rules::RuleSetCache::kKeptVersionsPerPack;
  std::vector<std::string> paths;
  // keep + 3 edits of one pack (a comment line differs), each compiled
  // and marked clean; write times one minute apart. The first edit is used
  // again (a cache hit) before the last three are written: it stays.
  const auto edit = [&](size_t i) { return LoadTestPack(std::string(kRules) + "# edit " + std::to_string(i) + "\n"); };
  for (size_t i = 0; i < keep + 3; ++i) {
    if (i == keep) {
      vigil::rules::CacheOutcome hit;
      REQUIRE(cache.GetOrCompile(edit(0), {}, &diags, &hit).ok());
      REQUIRE(hit.kind == vigil::rules::CacheOutcome::Kind::kHit);
    }
    Pack pack = edit(i);
    vigil::rules::CacheOutcome outcome;
    REQUIRE(cache.GetOrCompile(pack, {}, &diags, &outcome).ok());
    REQUIRE(outcome.kind == vigil::rules::CacheOutcome::Kind::kMiss);
    cache.MarkClean(pack, "0123456789abcdef");
    std::filesystem::last_write_time(outcome.path, base + std::chrono::minutes(i));
    paths.push_back(outcome.path);
  }
  // Another pack's entry is not this pack's to prune.
  Pack other = LoadTestPack();
  other.name = "other";
  vigil::rules::CacheOutcome other_outcome;
  REQUIRE(cache.GetOrCompile(other, {}, &diags, &other_outcome).ok());
  std::filesystem::last_write_time(other_outcome.path, base - std::chrono::hours(1));

  size_t vrs = 0, marks = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) {
    vrs += e.path().extension() == ".vrs";
    marks += e.path().extension() == ".clean";
  }
  CHECK(vrs == keep + 1);  // this pack's newest, and the other pack's
  CHECK(marks == keep);
  for (size_t i = 0; i < paths.size(); ++i) {
    INFO("edit " << i);
    // Kept: the used first edit and the newest keep - 1.
    CHECK(std::filesystem::exists(paths[i]) == (i == 0 || i + keep - 1 >= paths.size()));
  }
  CHECK(std::filesystem::exists(other_outcome.path));
}
