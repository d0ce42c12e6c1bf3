// The rule language's data model: a Pack of Rules, as parsed from YAML.
//
// Plain values with no behaviour; the loader (rules/pack_loader.h) fills
// them and records where every field came from so that diagnostics can name
// file:line:col. Safe to share read-only between threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vigil::rules {

// Where something was written: 1-based line and column, or 0 when unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

enum class Evidence { kSupported, kContested, kLore };
enum class RuleStatus { kExperimental, kTest, kStable, kDeprecated };
// Which text a rule's patterns run on: the normalised text (case-folded,
// NFKC, de-obfuscated; the default) or the original bytes.
enum class MatchOn { kNormalized, kRaw };

const char* EvidenceName(Evidence e);      // "supported" | "contested" | "lore"
const char* RuleStatusName(RuleStatus s);  // "experimental" | ... | "deprecated"
const char* MatchOnName(MatchOn m);        // "normalized" | "raw"

struct Pattern {
  std::string regex;
  SourceLocation location;
};

// Context that cancels a hit: if any pattern matches within `window`
// characters (bytes of the text the rule matches on) before or after the
// hit, the hit is dropped.
struct Unless {
  std::vector<Pattern> patterns;
  int window = 40;
};

// N-of-M combination: the rule counts only if at least `min` of the listed
// rules, or of the rules in the listed categories (other than this rule),
// also fire in the same document.
struct Requirement {
  std::vector<std::string> rules;
  std::vector<std::string> categories;
  int min = 1;
  SourceLocation location;
};

struct Example {
  std::string text;
  SourceLocation location;
};

struct Rule {
  std::string id;
  std::string title;
  std::string description;
  std::string category;
  double weight = 0.0;
  Evidence evidence = Evidence::kLore;
  RuleStatus status = RuleStatus::kExperimental;
  std::string author;
  std::string date;
  std::vector<std::string> references;
  std::vector<Pattern> patterns;
  Unless unless;                          // empty patterns: no unless
  bool has_requirement = false;
  Requirement requirement;
  std::vector<Example> examples;
  std::vector<Example> negative_examples;
  MatchOn match_on = MatchOn::kNormalized;
  SourceLocation location;  // of the rule's `id` key
  // Where each field's value was written, keyed by field name ("weight",
  // "category", "unless", "unless.window", ...); absent when not written.
  std::map<std::string, SourceLocation> field_locations;
};

struct Category {
  std::string id;
  std::string title;
  std::string description;
  std::string color;  // CSS colour for the review UI, e.g. "#c0392b"
  // True: rules of this category are weak alone and count only in
  // combination, so each must carry a `requires` (lint V302).
  bool combination_only = false;
  SourceLocation location;  // of the category's `id` key
  std::map<std::string, SourceLocation> field_locations;
};

struct Pack {
  std::string name;
  std::string version;
  std::string description;
  double threshold = 0.5;
  std::vector<Category> categories;
  std::vector<Rule> rules;
  std::string directory;     // where the pack was loaded from
  std::string content_hash;  // hex SHA-256 of every file's relative path and bytes, in path order
  // Where each header field of pack.yaml was written ("name", "threshold", ...).
  std::map<std::string, SourceLocation> field_locations;

  const Category* FindCategory(const std::string& id) const;
  const Rule* FindRule(const std::string& id) const;
};

}  // namespace vigil::rules
