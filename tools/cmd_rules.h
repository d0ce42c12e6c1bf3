// `vigil rules lint` and `vigil rules list`: load (and lint) rule packs and
// report them to a person or, with --json, to a program. The Run functions
// hold all behaviour so that tests can call them with string streams; the
// CLI11 wiring is in AddRulesCommands (tools/commands.h).
//
// Functions are reentrant; each call touches only its arguments.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "rules/diagnostic.h"
#include "rules/rule.h"

namespace vigil::tools {

struct RulesLintOptions {
  std::vector<std::string> packs;  // pack folders
  bool json = false;               // diagnostics as one JSON array on `out`
  bool werror = false;             // warnings count as errors for the exit code
};

// Loads and lints each pack; writes diagnostics to `out` (text: sorted
// lines then "N errors, M warnings in K rules"; JSON: an array, the summary
// goes to `err`). Returns 0 clean or warnings only, 1 errors (or warnings
// with werror), 2 a pack folder or file could not be read (V002, V003).
int RunRulesLint(const RulesLintOptions& options, std::ostream& out, std::ostream& err);

struct RulesListOptions {
  std::string pack;
  bool json = false;
};

// Loads a pack and lists every rule: an aligned table (id, category,
// weight, evidence, status, title) or, with json, the pack and each rule
// with all its fields. Load errors go to `err` and return 1 (2 for I/O).
int RunRulesList(const RulesListOptions& options, std::ostream& out, std::ostream& err);

// JSON text for diagnostics (sorted) and for a whole pack; stable field
// names, documented in docs/rules.md.
std::string DiagnosticsToJson(const rules::Diagnostics& diags);
std::string PackToJson(const rules::Pack& pack);

}  // namespace vigil::tools
