// Diagnostics: problems in a rule pack, written for the analyst who fixes
// them. Each has a stable code (reports and golden tests rely on it), a
// location, the rule it concerns and a message that says what to write
// instead. Plain values; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rules/rule.h"

namespace vigil::rules {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string code;      // stable, e.g. "V101"; see docs/rules.md
  SourceLocation location;
  std::string rule_id;   // empty when the problem is not in a rule
  std::string message;   // what is wrong
  std::string help;      // what to write instead; may be empty

  // "file:line:col: error[V101] rule 'x': message\n  help: ..."
  std::string ToString() const;
};

struct Diagnostics {
  std::vector<Diagnostic> items;

  bool HasErrors() const;
  size_t ErrorCount() const;
  size_t WarningCount() const;
  void Add(Diagnostic d) { items.push_back(std::move(d)); }
  // The items sorted by file, line, column, then code (stable otherwise).
  std::vector<Diagnostic> Sorted() const;
  // Sorted() as text, one ToString() per line.
  std::string ToString() const;
};

// The candidate closest to `word` by edit distance, or "" when none is close
// enough to be a likely typo. For "did you mean `x`?" messages.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// "`a`, `b`, `c`": candidates quoted for a message.
std::string QuotedList(const std::vector<std::string>& items);

}  // namespace vigil::rules
