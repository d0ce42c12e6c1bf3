// Loading a rule set for a tool: a pack folder (YAML: loaded, linted,
// compiled through the on-disk cache) or a compiled file written by
// `vigil rules compile`. Shared by `vigil scan`, `vigil ingest`, vigild and
// rescans so that every entry point refuses a broken pack the same way.
#pragma once

#include <memory>
#include <string>

#include "rules/compiled_rule_set.h"
#include "rules/diagnostic.h"
#include "rules/rule.h"
#include "rules/status.h"
#include "scanner/scanner.h"

namespace vigil::tools {

struct RuleLoadOptions {
  std::string cache_dir = "<default>";  // "" disables the cache
};

// The default pack: $VIGIL_DEFAULT_PACK, else rules/packs/core next to the
// binary's source tree (build/bin/../../rules/packs/core), else the
// installed share/vigil/packs/core.
std::string DefaultPackPath();

// Loads `path` (a pack folder or a compiled .vrs file). On failure the
// status says why and *diagnostics (when given) holds the pack's problems,
// formatted for a person.
Result<std::shared_ptr<const rules::CompiledRuleSet>> LoadRuleSet(const std::string& path,
                                                                  const RuleLoadOptions& options,
                                                                  std::string* diagnostics);

// LoadRuleSet, then a Scanner over it: what every scanning entry point
// (scan, ingest, rescan, vigild) needs. Same errors and diagnostics.
Result<std::shared_ptr<const scanner::Scanner>> LoadScanner(const std::string& path, const RuleLoadOptions& options,
                                                            const scanner::Scanner::Options& scan_options,
                                                            std::string* diagnostics);

// For a command-line tool: LoadScanner on `path` (the default pack when
// empty) with `region` as the phone region; prints the pack's diagnostics,
// and on failure "vigil COMMAND: why", to stderr. Null on failure.
std::shared_ptr<const scanner::Scanner> LoadScannerOrReport(const char* command, const std::string& path,
                                                           const std::string& cache_dir, const std::string& region);

// Loads and lints a pack folder (no compile). Returns false on errors.
// `check_engines` false leaves out the engine checks (V200-V202), for a
// caller that runs them only when the compiled form is not cached
// (rules::LintOptions::check_engines).
bool LoadAndLintPack(const std::string& dir, rules::Pack* pack, rules::Diagnostics* diags,
                     bool check_engines = true);

}  // namespace vigil::tools
