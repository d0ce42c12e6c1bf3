// LintPack: the semantic checks of a loaded pack — what YAML structure
// cannot say. Duplicate and malformed ids, ranges (weight, threshold,
// window), references between rules and categories, regex syntax in both
// engines, and the evidence policy (a contested indicator never flags an ad
// on its own; combination-only categories need `requires`). Codes V103-V112,
// V200-V203 and V300-V304; see docs/rules.md.
//
// LintPack reads the pack only and may run on many threads at once for
// different (or the same const) packs.
#pragma once

#include "rules/diagnostic.h"
#include "rules/rule.h"

namespace vigil::rules {

// Appends one diagnostic per problem to *diags; never stops early. Meant to
// run after LoadPack, even when loading reported errors: checks skip fields
// the loader already reported as missing, so one mistake is not reported
// twice.
struct LintOptions {
  // Build a Hyperscan database for every pattern, so that V200 quotes
  // hs_compile's own words for any problem. Tools that compile the pack
  // right after linting turn this off: the pack compile reports the same
  // problems (located by expression), and startup stays fast.
  bool compile_each_pattern = true;
  // Run every pattern through Hyperscan's and RE2's parsers (V200-V202).
  // Loaders that find the pack's compiled form in the cache turn this off:
  // that entry was compiled from the same patterns by the same engines
  // (the cache key holds the pack's content hash and the engine's
  // fingerprint), so these checks cannot fail, and they are most of lint's
  // time. LintPackEngines runs them alone when the cache misses.
  bool check_engines = true;
};

void LintPack(const Pack& pack, Diagnostics* diags);
void LintPack(const Pack& pack, Diagnostics* diags, const LintOptions& options);
// Only the engine checks (V200-V202) of every pattern: what LintPack with
// check_engines = false left out.
void LintPackEngines(const Pack& pack, Diagnostics* diags, const LintOptions& options);

}  // namespace vigil::rules
