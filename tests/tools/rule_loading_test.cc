#include "tools/rule_loading.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "rules/compiled_rule_set.h"
#include "rules/rule_set_cache.h"
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

// A pack with nothing to report: examples, negative examples, references.
std::string WriteCleanPack(const TempDir& dir, const std::string& weight = "0.6") {
  const std::string pack = dir.path() + "/clean";
  std::filesystem::create_directories(pack);
  WriteFile(pack + "/pack.yaml",
            "name: clean\nversion: 1.0.0\ndescription: start-up tests\nthreshold: 0.5\ncategories:\n"
            "  - {id: youth, title: Youth, description: youth language}\n");
  WriteFile(pack + "/rules.yaml",
            "rules:\n"
            "  - id: youth.fresh\n    title: Fresh\n    description: test rule\n    category: youth\n"
            "    weight: " + weight + "\n    evidence: supported\n    status: stable\n"
            "    references: ['a test']\n    patterns: ['\\bfresh\\b']\n"
            "    examples: ['fresh in town', 'so fresh']\n"
            "    negative_examples: ['refreshments served', 'freshman year']\n");
  return pack;
}

size_t CleanMarks(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return 0;
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    n += entry.path().extension() == ".clean";
  }
  return n;
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

TEST_CASE("a pack loaded with nothing to report is found from its bytes on the next start", "[rule_loading]") {
  TempDir dir;
  const std::string pack = WriteCleanPack(dir);
  RuleLoadOptions options;
  options.cache_dir = dir.path() + "/cache";
  std::string diagnostics = "not cleared";
  auto compiled = LoadRuleSet(pack, options, &diagnostics);
  REQUIRE(compiled.ok());
  INFO(diagnostics);
  REQUIRE(diagnostics.empty());
  CHECK(CleanMarks(options.cache_dir) == 1);
  // The same program, the same bytes: the marked entry.
  diagnostics = "not cleared";
  auto fast = LoadRuleSet(pack, options, &diagnostics);
  REQUIRE(fast.ok());
  CHECK(diagnostics.empty());
  CHECK((*fast)->pack_hash() == (*compiled)->pack_hash());
  CHECK((*fast)->rules().size() == 1);
  // LoadRuleSet took the mark, not the cache lookup by the parsed pack:
  // with the mark pointing at a copy and the entry itself gone, the load
  // succeeds without compiling the entry again.
  {
    std::string entry, mark;
    for (const auto& e : std::filesystem::directory_iterator(options.cache_dir)) {
      if (e.path().extension() == ".vrs") entry = e.path().string();
      if (e.path().extension() == ".clean") mark = e.path().string();
    }
    REQUIRE(!entry.empty());
    REQUIRE(!mark.empty());
    std::filesystem::copy_file(entry, options.cache_dir + "/copy.vrs");
    std::filesystem::remove(entry);
    WriteFile(mark, "copy.vrs");
    auto via_mark = LoadRuleSet(pack, options, &diagnostics);
    REQUIRE(via_mark.ok());
    CHECK((*via_mark)->pack_hash() == (*compiled)->pack_hash());
    CHECK_FALSE(std::filesystem::exists(entry));
    std::filesystem::rename(options.cache_dir + "/copy.vrs", entry);
    WriteFile(mark, std::filesystem::path(entry).filename().string());
  }
  // Another program (or a rebuilt one) has no mark for it.
  vigil::rules::RuleSetCache cache(options.cache_dir);
  const std::string program = vigil::rules::RuleSetCache::ProgramIdentity();
  REQUIRE(program.size() == 16);
  CHECK(cache.FindClean((*compiled)->pack_hash(), program) != nullptr);
  CHECK(cache.FindClean((*compiled)->pack_hash(), "0123456789abcdef") == nullptr);
  CHECK(cache.FindClean(std::string(64, '0'), program) == nullptr);

  // Changed bytes: another hash, compiled afresh, with its own mark.
  WriteCleanPack(dir, "0.7");
  auto changed = LoadRuleSet(pack, options, &diagnostics);
  REQUIRE(changed.ok());
  CHECK((*changed)->pack_hash() != (*compiled)->pack_hash());
  CHECK((*changed)->rules()[0].weight == 0.7);
  CHECK(CacheFiles(options.cache_dir) == 2);
  CHECK(CleanMarks(options.cache_dir) == 2);

  // A damaged entry behind a mark is not trusted: the full path rebuilds it.
  for (const auto& entry : std::filesystem::directory_iterator(options.cache_dir)) {
    if (entry.path().extension() == ".vrs") WriteFile(entry.path().string(), "not a compiled rule set");
  }
  CHECK(cache.FindClean((*changed)->pack_hash(), program) == nullptr);
  auto rebuilt = LoadRuleSet(pack, options, &diagnostics);
  REQUIRE(rebuilt.ok());
  CHECK((*rebuilt)->rules()[0].weight == 0.7);
  CHECK(cache.FindClean((*changed)->pack_hash(), program) != nullptr);
}

TEST_CASE("a pack with warnings is never marked clean: every load reports them", "[rule_loading]") {
  TempDir dir;
  const std::string pack = WritePack(dir);  // V300, V303 warnings
  RuleLoadOptions options;
  options.cache_dir = dir.path() + "/cache";
  for (int load = 0; load < 3; ++load) {
    std::string diagnostics;
    REQUIRE(LoadRuleSet(pack, options, &diagnostics).ok());
    CHECK(diagnostics.find("V300") != std::string::npos);
  }
  CHECK(CacheFiles(options.cache_dir) == 1);
  CHECK(CleanMarks(options.cache_dir) == 0);
}
