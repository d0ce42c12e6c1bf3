#include "tools/rule_loading.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "rules/compiled_rule_set.h"
#include "tests/tools/daemon_fixture.h"

namespace {
using vigil::daemon::testing::TempDir;
using vigil::daemon::testing::WriteFile;
using vigil::daemon::testing::WriteTestPack;
using vigil::tools::LoadRuleSet;
using vigil::tools::RuleLoadOptions;

// The daemon tests' pack (WriteTestPack) in dir/pack, with its "fresh"
// pattern replaced by `pattern` when given; returns its path.
std::string WritePack(const TempDir& dir, const std::string& pattern = "") {
  const std::string pack = dir.path() + "/pack";
  WriteTestPack(pack);
  if (!pattern.empty()) {
    std::ifstream in(pack + "/rules.yaml");
    std::string rules((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string fresh = "'\\bfresh\\b'";
    const size_t at = rules.find(fresh);
    REQUIRE(at != std::string::npos);
    WriteFile(pack + "/rules.yaml", rules.replace(at, fresh.size(), "'" + pattern + "'"));
  }
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
  // The pack compiles, with warnings (V300: no examples; V303: no
  // references).
  const std::string pack = WritePack(dir);
  RuleLoadOptions options;
  options.cache_dir = dir.path() + "/cache";

  std::string first, second;
  auto compiled = LoadRuleSet(pack, options, &first);
  REQUIRE(compiled.ok());
  REQUIRE(CacheFiles(options.cache_dir) == 1);
  auto cached = LoadRuleSet(pack, options, &second);
  REQUIRE(cached.ok());
  CHECK((*cached)->pack_hash() == (*compiled)->pack_hash());
  CHECK(first.find("V300") != std::string::npos);
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
