// Lint runs four passes over a loaded pack: the header and categories, each
// rule's own fields, the references between rules (`requires`), and the
// patterns (both engines, plus the normalisation check). Each check names
// the rule and says what to write instead.
#include "rules/lint.h"

#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "rules/pattern_syntax.h"

namespace vigil::rules {
namespace {

constexpr int kMinWindow = 1;
constexpr int kMaxWindow = 10000;
constexpr size_t kMinExamples = 2;

std::string Where(const SourceLocation& loc) {
  return fmt::format("{}:{}:{}", loc.file, loc.line, loc.column);
}

// Shortest decimal that reads back as the value: 0.45, not 0.450000.
std::string Number(double value) { return fmt::format("{}", value); }

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// [a-z0-9_.-]+
bool IsValidRuleId(const std::string& id) {
  if (id.empty()) return false;
  for (char c : id) {
    if (!IsLowerAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

// [a-z][a-z0-9_]*
bool IsValidCategoryId(const std::string& id) {
  if (id.empty() || !(id[0] >= 'a' && id[0] <= 'z')) return false;
  for (char c : id) {
    if (!IsLowerAlnum(c) && c != '_') return false;
  }
  return true;
}

// [a-z0-9_-]+
bool IsValidPackName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsLowerAlnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

// A suggestion for a malformed id: lower-cased, other characters as `_`.
std::string SuggestId(const std::string& id, bool allow_dot) {
  std::string out;
  for (char c : id) {
    char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (IsLowerAlnum(lower) || lower == '_' || (allow_dot && (lower == '.' || lower == '-'))) {
      out += lower;
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

bool IsBlank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

class Linter {
 public:
  Linter(const Pack& pack, Diagnostics* diags, const LintOptions& options)
      : pack_(pack), diags_(diags), options_(options) {
    for (const Category& c : pack.categories) category_ids_.push_back(c.id);
    for (const Rule& r : pack.rules) rule_ids_.push_back(r.id);
  }

  void Run() {
    LintHeader();
    LintCategories();
    std::map<std::string, const Rule*> first_by_id;
    for (const Rule& rule : pack_.rules) {
      if (!rule.id.empty()) {
        auto [it, inserted] = first_by_id.emplace(rule.id, &rule);
        if (!inserted) {
          Error("V103", rule.location, rule.id,
                "duplicate rule id; first defined at " + Where(it->second->location),
                "rule ids are unique and never reused: give this rule a new id such as `" +
                    rule.id + "_2`, or delete one of the two");
        }
      }
      LintRuleFields(rule);
      LintRequirement(rule);
      LintPatterns(rule);
    }
  }

  // The engine checks alone (see LintOptions::check_engines).
  void RunEngines() {
    for (const Rule& rule : pack_.rules) {
      for (const Pattern& p : rule.patterns) LintEngines(rule, p, "pattern");
      for (const Pattern& p : rule.unless.patterns) LintEngines(rule, p, "unless pattern");
    }
  }

 private:
  void Report(Severity severity, const char* code, const SourceLocation& loc,
              const std::string& rule_id, std::string message, std::string help) {
    Diagnostic d;
    d.severity = severity;
    d.code = code;
    d.location = loc;
    d.rule_id = rule_id;
    d.message = std::move(message);
    d.help = std::move(help);
    diags_->Add(std::move(d));
  }
  void Error(const char* code, const SourceLocation& loc, const std::string& rule_id,
             std::string message, std::string help) {
    Report(Severity::kError, code, loc, rule_id, std::move(message), std::move(help));
  }
  void Warning(const char* code, const SourceLocation& loc, const std::string& rule_id,
               std::string message, std::string help) {
    Report(Severity::kWarning, code, loc, rule_id, std::move(message), std::move(help));
  }

  // Where `field` was written, falling back to `fallback`.
  static const SourceLocation& FieldLoc(const std::map<std::string, SourceLocation>& fields,
                                        const std::string& field, const SourceLocation& fallback) {
    auto it = fields.find(field);
    return it != fields.end() ? it->second : fallback;
  }
  const SourceLocation& HeaderLoc(const std::string& field) const {
    static const SourceLocation kNowhere;
    auto it = pack_.field_locations.find(field);
    return it != pack_.field_locations.end() ? it->second : kNowhere;
  }

  void LintHeader() {
    if (pack_.field_locations.count("name") && !pack_.name.empty() &&
        !IsValidPackName(pack_.name)) {
      Error("V104", HeaderLoc("name"), "", "malformed pack name `" + pack_.name + "`",
            "write lower-case letters, digits, `_` and `-`, e.g. `name: " +
                SuggestId(pack_.name, false) + "`");
    }
    if (pack_.field_locations.count("threshold") &&
        !(pack_.threshold > 0.0 && pack_.threshold <= 1.0)) {
      Error("V109", HeaderLoc("threshold"), "",
            "threshold " + Number(pack_.threshold) + " is outside (0, 1]",
            "write a threshold greater than 0 and at most 1, e.g. `threshold: 0.5`");
    }
  }

  void LintCategories() {
    std::map<std::string, const Category*> first_by_id;
    for (const Category& c : pack_.categories) {
      if (c.id.empty()) continue;  // missing id: reported by the loader
      if (!IsValidCategoryId(c.id)) {
        Error("V104", c.location, "", "malformed category id `" + c.id + "`",
              "start with a lower-case letter, then lower-case letters, digits and `_`, e.g. `" +
                  SuggestId(c.id, false) + "`");
      }
      auto [it, inserted] = first_by_id.emplace(c.id, &c);
      if (!inserted) {
        Error("V108", c.location, "",
              "duplicate category id `" + c.id + "`; first defined at " +
                  Where(it->second->location),
              "keep one entry per category in pack.yaml, or give this one a new id");
      }
    }
  }

  void LintRuleFields(const Rule& rule) {
    const std::string& id = rule.id;
    const auto& fields = rule.field_locations;
    if (fields.count("id") && !IsValidRuleId(id)) {
      std::string suggestion = SuggestId(id, true);
      Error("V104", FieldLoc(fields, "id", rule.location), id, "malformed rule id",
            "write lower-case letters, digits, `_`, `.` and `-`, usually `<category>.<name>`" +
                (suggestion.empty() ? std::string() : ", e.g. `" + suggestion + "`"));
    }
    if (fields.count("weight") && !(rule.weight >= 0.0 && rule.weight <= 1.0)) {
      Error("V105", FieldLoc(fields, "weight", rule.location), id,
            "weight " + Number(rule.weight) + " is outside 0..1",
            "write a weight between 0 and 1, e.g. 0.3");
    }
    const Category* category = pack_.FindCategory(rule.category);
    if (!rule.category.empty() && category == nullptr && !pack_.categories.empty()) {
      std::string message = "unknown category `" + rule.category + "`";
      std::string guess = ClosestMatch(rule.category, category_ids_);
      if (!guess.empty()) message += "; did you mean `" + guess + "`?";
      Error("V106", FieldLoc(fields, "category", rule.location), id, std::move(message),
            "use one of the categories in pack.yaml (" + QuotedList(category_ids_) +
                ") or add this one there");
    }
    if (fields.count("unless.window") &&
        (rule.unless.window < kMinWindow || rule.unless.window > kMaxWindow)) {
      Error("V112", FieldLoc(fields, "unless.window", rule.location), id,
            fmt::format("unless.window {} is outside {}..{}", rule.unless.window, kMinWindow,
                        kMaxWindow),
            "write the number of bytes around a hit to search for the context, e.g. "
            "`window: 40`");
    }

    if (rule.evidence == Evidence::kContested && fields.count("weight") && fields.count("evidence") &&
        rule.weight >= pack_.threshold) {
      Error("V301", FieldLoc(fields, "weight", rule.location), id,
            "contested rule has weight " + Number(rule.weight) +
                ", at or above the pack threshold " + Number(pack_.threshold) +
                ", so it would flag an ad on its own",
            "a contested indicator must never flag an ad alone: lower the weight below " +
                Number(pack_.threshold) + ", e.g. " + Number(std::floor(pack_.threshold * 50) / 100));
    }
    if (category != nullptr && category->combination_only && !rule.has_requirement) {
      Error("V302", FieldLoc(fields, "category", rule.location), id,
            "category `" + category->id +
                "` is combination_only, but the rule has no `requires`",
            "add `requires:` naming the rules or categories that must also fire, e.g. "
            "`requires: {categories: [" +
                OtherCategory(category->id) +
                "], min: 1}`");
    }
    if (!id.empty()) LintQuality(rule);
  }

  // Warnings about how well a rule is documented and exemplified. Only for
  // rules with an id: one without already has an error, and warnings about
  // it would be noise.
  void LintQuality(const Rule& rule) {
    const std::string& id = rule.id;
    const auto& fields = rule.field_locations;
    if (rule.examples.size() < kMinExamples) {
      Warning("V300", FieldLoc(fields, "examples", rule.location), id,
              fmt::format("{} example{}; at least {} expected", rule.examples.size(),
                          rule.examples.size() == 1 ? "" : "s", kMinExamples),
              "add invented ad texts the rule must fire on under `examples:`; `vigil rules "
              "test` checks them");
    }
    if (rule.negative_examples.size() < kMinExamples) {
      Warning("V300", FieldLoc(fields, "negative_examples", rule.location), id,
              fmt::format("{} negative example{}; at least {} expected",
                          rule.negative_examples.size(),
                          rule.negative_examples.size() == 1 ? "" : "s", kMinExamples),
              "add near-miss texts the rule must not fire on under `negative_examples:`");
    }
    if (rule.references.empty()) {
      Warning("V303", FieldLoc(fields, "references", rule.location), id, "no references",
              "add `references:` citing the study, report or case that supports this "
              "indicator, so reviewers can judge it");
    }
    if (fields.count("description") && IsBlank(rule.description)) {
      Warning("V303", FieldLoc(fields, "description", rule.location), id, "empty description",
              "say in `description:` why this language matters to an investigator");
    }
  }

  std::string OtherCategory(const std::string& self) const {
    for (const std::string& c : category_ids_) {
      if (c != self) return c;
    }
    return self;
  }

  void LintRequirement(const Rule& rule) {
    if (!rule.has_requirement) return;
    const Requirement& req = rule.requirement;
    const std::string& id = rule.id;
    const SourceLocation& loc = req.location;
    const auto& fields = rule.field_locations;

    if (req.categories.empty() && !req.rules.empty() &&
        std::all_of(req.rules.begin(), req.rules.end(),
                    [&](const std::string& r) { return r == id; })) {
      Error("V304", FieldLoc(fields, "requires.rules", loc), id,
            "`requires` lists only the rule itself, so it can never be satisfied",
            "list other rules or categories that must fire together with this one, or remove "
            "`requires:`");
      return;
    }

    bool unknown = false;
    std::set<std::string> countable;
    for (const std::string& name : req.rules) {
      if (pack_.FindRule(name) == nullptr) {
        unknown = true;
        std::string message = "`requires` names unknown rule `" + name + "`";
        std::string guess = ClosestMatch(name, rule_ids_);
        if (!guess.empty()) message += "; did you mean `" + guess + "`?";
        Error("V110", FieldLoc(fields, "requires.rules", loc), id, std::move(message),
              "name the id of a rule in this pack, or remove it from `requires.rules`");
      } else if (name != id) {
        countable.insert(name);
      }
    }
    for (const std::string& name : req.categories) {
      if (pack_.FindCategory(name) == nullptr) {
        unknown = true;
        std::string message = "`requires` names unknown category `" + name + "`";
        std::string guess = ClosestMatch(name, category_ids_);
        if (!guess.empty()) message += "; did you mean `" + guess + "`?";
        Error("V110", FieldLoc(fields, "requires.categories", loc), id, std::move(message),
              "use one of the categories in pack.yaml: " + QuotedList(category_ids_));
        continue;
      }
      for (const Rule& other : pack_.rules) {
        if (other.category == name && other.id != id) countable.insert(other.id);
      }
    }

    const SourceLocation& min_loc = FieldLoc(fields, "requires.min", loc);
    if (req.min < 1) {
      Error("V111", min_loc, id, fmt::format("`requires.min` is {}; it must be at least 1", req.min),
            "write `min: 1` or more, or remove `requires:`");
    } else if (!unknown && static_cast<size_t>(req.min) > countable.size()) {
      Error("V111", min_loc, id,
            fmt::format("`requires.min` is {} but only {} other rule{} can count toward it",
                        req.min, countable.size(), countable.size() == 1 ? "" : "s"),
            countable.empty()
                ? std::string("list rules or categories that have rules other than this one")
                : fmt::format("write `min: {}` or less, or list more rules or categories",
                              countable.size()));
    }
  }

  void LintPatterns(const Rule& rule) {
    for (const Pattern& p : rule.patterns) LintPattern(rule, p, "pattern");
    for (const Pattern& p : rule.unless.patterns) LintPattern(rule, p, "unless pattern");
  }

  void LintPattern(const Rule& rule, const Pattern& pattern, const std::string& what) {
    if (options_.check_engines) LintEngines(rule, pattern, what);
    if (rule.match_on == MatchOn::kNormalized) LintNormalizedSpelling(rule, pattern, what);
  }

  // V200-V202: both engines accept the pattern, and it cannot match empty.
  void LintEngines(const Rule& rule, const Pattern& pattern, const std::string& what) {
    std::string hs_error, re2_error;
    bool matches_empty = false;
    CheckPattern(pattern.regex, &hs_error, &re2_error, &matches_empty, options_.compile_each_pattern);
    const std::string quoted = "`" + pattern.regex + "`";
    if (!hs_error.empty()) {
      Error("V200", pattern.location, rule.id,
            "Hyperscan rejects " + what + " " + quoted + ": " + hs_error,
            EngineHelp(hs_error));
    }
    if (!re2_error.empty()) {
      Error("V201", pattern.location, rule.id,
            "RE2 rejects " + what + " " + quoted + ": " + re2_error, EngineHelp(re2_error));
    }
    if (matches_empty) {
      Error("V202", pattern.location, rule.id, what + " " + quoted + " matches the empty string",
            "every pattern must match at least one character: use `+` instead of `*`, or make "
            "at least one part of the pattern mandatory");
    }
  }

  static std::string EngineHelp(const std::string& error) {
    auto has = [&](const char* s) { return error.find(s) != std::string::npos; };
    if (has("Back-reference") || has("\\1") || has("\\2")) {
      return "back-references are not supported: spell out the repeated text, e.g. "
             "`(aa|bb)` instead of `(a|b)\\1`";
    }
    if (has("Zero-width") || has("(?=") || has("(?!") || has("(?<")) {
      return "look-ahead and look-behind are not supported: match the text itself, and use "
             "`unless:` for context that should cancel a hit";
    }
    if (has("Possessive") || has("Atomic") || has("++") || has("*+")) {
      return "possessive quantifiers and atomic groups are not supported: use plain `+`, `*`, "
             "`?` and `(...)`";
    }
    if (has("repetition")) {
      return "RE2 allows at most 1000 repetitions: write a smaller bound such as `{1,100}`";
    }
    if (has("escape")) {
      return "use escapes both engines know: `\\s`, `\\d`, `\\w`, `\\b`, `\\x41`, `\\.`; not "
             "`\\h`, `\\Z`, `\\e`, `\\c`, `\\R` or back-references";
    }
    return "write patterns in the syntax both Hyperscan and RE2 accept (see docs/rules.md, "
           "Patterns)";
  }

  // V203: spelling that normalised text never contains.
  void LintNormalizedSpelling(const Rule& rule, const Pattern& pattern, const std::string& what) {
    const std::string& re = pattern.regex;
    bool upper = false, double_space = false, space_plus = false;
    bool in_class = false, in_quote = false;
    std::string suggestion;
    for (size_t i = 0; i < re.size(); ++i) {
      char c = re[i];
      if (in_quote) {  // \Q...\E: literal text
        if (c == '\\' && i + 1 < re.size() && re[i + 1] == 'E') {
          in_quote = false;
          suggestion += "\\E";
          ++i;
          continue;
        }
      } else if (c == '\\' && i + 1 < re.size()) {
        char next = re[i + 1];
        if (next == 's' && !in_class && i + 2 < re.size() && re[i + 2] == '+') {
          space_plus = true;
          suggestion += ' ';
          i += 2;
          continue;
        }
        if (next == 'Q') in_quote = true;
        size_t end = i + 2;
        if ((next == 'x' || next == 'p' || next == 'P' || next == 'o') && end < re.size() &&
            re[end] == '{') {
          size_t close = re.find('}', end);
          end = close == std::string::npos ? re.size() : close + 1;
        } else if (next == 'x') {
          end = std::min(re.size(), i + 4);
        } else if (next == 'p' || next == 'P') {
          end = std::min(re.size(), i + 3);
        }
        suggestion.append(re, i, end - i);  // escapes keep their case: \S, \W, \x4F
        i = end - 1;
        continue;
      } else if (c == '(' && re.compare(i, 4, "(?P<") == 0) {
        size_t close = re.find('>', i);  // group names keep their case
        size_t end = close == std::string::npos ? re.size() : close + 1;
        suggestion.append(re, i, end - i);
        i = end - 1;
        continue;
      } else if (c == '[' && !in_class) {
        in_class = true;
      } else if (c == ']' && in_class) {
        in_class = false;
      } else if (c == ' ' && !in_class && i + 1 < re.size() && re[i + 1] == ' ') {
        double_space = true;
        continue;  // keep only the last space of a run
      }
      if (c >= 'A' && c <= 'Z') {
        upper = true;
        c = static_cast<char>(c - 'A' + 'a');
      }
      suggestion += c;
    }
    if (!upper && !double_space && !space_plus) return;
    std::vector<std::string> problems;
    if (upper) problems.push_back("upper-case letters");
    if (double_space) problems.push_back("runs of spaces");
    if (space_plus) problems.push_back("`\\s+`");
    std::string list;
    for (size_t i = 0; i < problems.size(); ++i) {
      if (i > 0) list += i + 1 == problems.size() ? " and " : ", ";
      list += problems[i];
    }
    Warning("V203", pattern.location, rule.id,
            what + " `" + re + "` contains " + list +
                ", which normalised text never has (it is lower-case with single spaces)",
            "write `" + suggestion + "`, or set `match_on: raw` to match the original text");
  }

  const Pack& pack_;
  Diagnostics* diags_;
  LintOptions options_;
  std::vector<std::string> category_ids_;
  std::vector<std::string> rule_ids_;
};

}  // namespace

void LintPack(const Pack& pack, Diagnostics* diags) { Linter(pack, diags, LintOptions{}).Run(); }

void LintPack(const Pack& pack, Diagnostics* diags, const LintOptions& options) {
  Linter(pack, diags, options).Run();
}

void LintPackEngines(const Pack& pack, Diagnostics* diags, const LintOptions& options) {
  Linter(pack, diags, options).RunEngines();
}

}  // namespace vigil::rules
