#include "tools/rule_loading.h"

#include <catch2/catch.hpp>

#include <filesystem>

#include "rules/compiled_rule_set.h"
#include "tests/tools/daemon_fixture.h"

namespace {
using vigil::daemon::testing::TempDir;
using vigil::daemon::testing::WriteFile;
using vigil::tools::LoadRuleSet;
using vigil::tools::RuleLoadOptions;

const char kPack[] = R"(name: loading
version: 1.0.0
threshold: 0.5
categories:
  - id: youth
    title: Youth language
)";

// One rule; its pattern is `pattern` (YAML single-quoted).
std::string Rules(const std::string& pattern) {
  return R"(rules:
  - id: youth.a
    title: A rule
    description: Why it matters.
    category: youth
    weight: 0.3
    evidence: supported
    references: ["A report, 2022"]
    patterns:
      - ')" + pattern + R"('
    examples: ["barely legal here", "so barely legal"]
    negative_examples: ["legal aid", "barely made it"]
)";
}

// A one-rule pack with `pattern` in dir/pack; returns its path.
std::string WritePack(const TempDir& dir, const std::string& pattern) {
  const std::string pack = dir.path() + "/pack";
  std::filesystem::create_directories(pack);
  WriteFile(pack + "/pack.yaml", kPack);
  WriteFile(pack + "/rules.yaml", Rules(pattern));
  return pack;
}

size_t CacheFiles(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return 0;
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) n += entry.path().extension() == ".vrs";
  return n;
}

}  // namespace

TEST_CASE("a pack loaded from the cache reports what its first load reported", "[rule_loading]") {
  TempDir dir;
  // `Barely  Legal` compiles, with a V203 warning (normalised text is
  // lower-case with single spaces).
  const std::string pack = WritePack(dir, "barely legal|Barely  Legal");
  RuleLoadOptions options;
  options.cache_dir = dir.path() + "/cache";

  std::string first, second;
  auto compiled = LoadRuleSet(pack, options, &first);
  REQUIRE(compiled.ok());
  REQUIRE(CacheFiles(options.cache_dir) == 1);
  auto cached = LoadRuleSet(pack, options, &second);
  REQUIRE(cached.ok());
  CHECK((*cached)->pack_hash() == (*compiled)->pack_hash());
  CHECK(first.find("V203") != std::string::npos);
  CHECK(second == first);
}

TEST_CASE("a pattern an engine rejects is reported by lint and never cached", "[rule_loading]") {
  TempDir dir;
  const std::string pack = WritePack(dir, "(a)\\1");
  RuleLoadOptions options;
  options.cache_dir = dir.path() + "/cache";
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::string diagnostics;
    auto set = LoadRuleSet(pack, options, &diagnostics);
    REQUIRE(!set.ok());
    INFO(diagnostics);
    CHECK(set.status().message().find("the pack has 2 error(s)") != std::string::npos);
    CHECK(diagnostics.find("V200") != std::string::npos);
    CHECK(diagnostics.find("V201") != std::string::npos);
    CHECK(CacheFiles(options.cache_dir) == 0);
  }
}
