// Golden-file tests for diagnostics: each tests/rules/golden/<case>/pack is
// a broken pack, and <case>/expected.txt holds the exact Diagnostics output
// of loading and linting it (paths relative to <case>/). Run with
// VIGIL_UPDATE_GOLDEN=1 to rewrite the expected files after an intended
// change, then review the diff.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rules/lint.h"
#include "rules/pack_loader.h"

namespace {

namespace fs = std::filesystem;
using vigil::rules::Diagnostics;
using vigil::rules::Pack;

fs::path GoldenRoot() { return fs::path(VIGIL_SOURCE_DIR) / "tests" / "rules" / "golden"; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void ReplaceAll(std::string* text, const std::string& from, const std::string& to) {
  for (size_t at = text->find(from); at != std::string::npos; at = text->find(from, at + to.size())) {
    text->replace(at, from.size(), to);
  }
}

// What `vigil rules lint` prints for the pack, minus the summary line.
std::string Diagnose(const fs::path& case_dir) {
  Pack pack;
  Diagnostics diags;
  const std::string pack_dir = (case_dir / "pack").generic_string();
  vigil::rules::LoadPack(pack_dir, &pack, &diags);
  bool io_error = false;
  for (const auto& d : diags.items) io_error |= d.code == "V002" || d.code == "V003";
  if (!io_error) vigil::rules::LintPack(pack, &diags);
  std::string text = diags.ToString();
  ReplaceAll(&text, case_dir.generic_string() + "/", "");
  return text;
}

}  // namespace

TEST_CASE("diagnostics match the golden files", "[golden]") {
  const bool update = std::getenv("VIGIL_UPDATE_GOLDEN") != nullptr &&
                      std::string(std::getenv("VIGIL_UPDATE_GOLDEN")) == "1";
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(GoldenRoot())) {
    if (entry.is_directory()) cases.push_back(entry.path());
  }
  std::sort(cases.begin(), cases.end());
  REQUIRE(cases.size() >= 8);
  for (const fs::path& case_dir : cases) {
    SECTION(case_dir.filename().string()) {
      const std::string actual = Diagnose(case_dir);
      const fs::path expected_path = case_dir / "expected.txt";
      if (update) {
        std::ofstream(expected_path, std::ios::binary) << actual;
        WARN("updated " << expected_path.string());
        continue;
      }
      INFO("case " << case_dir.filename().string()
                   << "; if the change is intended, rerun with VIGIL_UPDATE_GOLDEN=1");
      REQUIRE(fs::exists(expected_path));
      CHECK(actual == ReadFile(expected_path));
      // A golden case exists to show a problem: it must report one.
      CHECK_FALSE(actual.empty());
    }
  }
}
