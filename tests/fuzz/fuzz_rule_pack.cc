// Fuzzes rule pack loading, linting and compilation. The input is a pack of
// two files, pack.yaml and rules.yaml, separated by the first NUL byte (no
// NUL: the input is rules.yaml under a fixed pack.yaml). Loading and linting
// must never crash and must explain every refusal; a lint-clean pack must
// compile or be refused with a diagnostic, and a compiled set must survive
// a serialize/deserialize round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "rules/compiler.h"
#include "rules/lint.h"
#include "rules/pack_loader.h"

namespace {

constexpr std::string_view kDefaultPackYaml =
    "name: fuzz\nversion: 0.1.0\ndescription: fuzzed\nthreshold: 0.5\ncategories:\n"
    "  - {id: youth, title: Youth, description: youth language}\n"
    "  - {id: trust_assurance, title: Trust, description: trust language}\n";

constexpr size_t kMaxCompiledRules = 8;

void Require(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::rules;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<PackFile> files;
  const size_t nul = input.find('\0');
  if (nul == std::string_view::npos) {
    files.push_back({"pack.yaml", std::string(kDefaultPackYaml)});
    files.push_back({"rules.yaml", std::string(input)});
  } else {
    files.push_back({"pack.yaml", std::string(input.substr(0, nul))});
    files.push_back({"rules.yaml", std::string(input.substr(nul + 1))});
  }

  Pack pack;
  Diagnostics diags;
  const bool loaded = LoadPackFromFiles("fuzz", std::move(files), &pack, &diags);
  Require(loaded || diags.HasErrors(), "a refused pack has an error diagnostic");
  LintPack(pack, &diags);
  if (diags.HasErrors()) return 0;
  // Hyperscan compiles take ~0.1 s per rule here; large packs would spend
  // the whole run compiling seeds. Loading and linting saw them already.
  if (pack.rules.size() > kMaxCompiledRules) return 0;

  CompileOptions options;
  options.max_database_bytes = 16u << 20;
  auto compiled = Compile(pack, options, &diags);
  Require(compiled.ok() || diags.HasErrors(), "a refused compile has an error diagnostic");
  if (!compiled.ok()) return 0;
  auto bytes = SerializeRuleSet(*compiled.value());
  Require(bytes.ok(), "a compiled set serializes");
  auto back = DeserializeRuleSet(bytes.value());
  Require(back.ok(), "a serialized set deserializes");
  Require(back.value()->rules().size() == compiled.value()->rules().size(), "round trip keeps the rules");
  return 0;
}
