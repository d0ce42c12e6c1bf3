// Pack loading in three steps: gather the files (LoadPack reads the folder,
// LoadPackFromFiles takes them from memory), hash them, then parse each with
// yaml-cpp. Parsing walks the known shape (header -> categories, rule files
// -> rules -> patterns/unless/requires/examples) and reports anything else
// as a diagnostic; it never trusts a node's type without checking it, so no
// yaml-cpp conversion exception can escape. A file that is not valid YAML is
// reported once (V001) and skipped; the other files are still read.
#include "rules/pack_loader.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <system_error>

#include "rules/sha256.h"

namespace vigil::rules {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kHeaderFields = {"name",       "version",    "description",
                                                "threshold",  "categories", "rules"};
const std::vector<std::string> kRuleFileFields = {"rules"};
const std::vector<std::string> kCategoryFields = {"id", "title", "description", "color",
                                                  "combination_only"};
const std::vector<std::string> kRuleFields = {
    "id",       "title",    "description", "category",   "weight",  "evidence",
    "status",   "author",   "date",        "references", "match_on", "patterns",
    "unless",   "requires", "examples",    "negative_examples"};
const std::vector<std::string> kUnlessFields = {"window", "patterns"};
const std::vector<std::string> kRequiresFields = {"rules", "categories", "min"};

const std::vector<std::string> kEvidenceNames = {"supported", "contested", "lore"};
const std::vector<std::string> kStatusNames = {"experimental", "test", "stable", "deprecated"};
const std::vector<std::string> kMatchOnNames = {"normalized", "raw"};

// What to write when a required field is missing, keyed by field name.
std::string MissingFieldHelp(const std::string& field) {
  if (field == "id") return "add `id: <category>.<name>`, e.g. `id: youth.barely_legal`";
  if (field == "title") return "add `title: \"Short name shown to reviewers\"`";
  if (field == "description")
    return "add `description:` saying why this matters to an investigator";
  if (field == "category") return "add `category:` naming one of the pack's categories";
  if (field == "weight") return "add `weight: 0.3` (a number from 0 to 1)";
  if (field == "evidence") return "add `evidence: supported`, `contested` or `lore`";
  if (field == "patterns")
    return "add `patterns:` with at least one regex, e.g. `patterns: ['barely legal']`";
  if (field == "name") return "add `name: my_pack` (lower-case letters, digits, `_`, `-`)";
  if (field == "version") return "add `version: 1.0.0`";
  if (field == "threshold")
    return "add `threshold: 0.5` (the score at which an ad is flagged, in (0, 1])";
  if (field == "categories")
    return "add `categories:` with at least one entry `- id: youth` and a `title:`";
  return "add `" + field + ":`";
}

const char* NodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "text";
    case YAML::NodeType::Null: return "nothing";
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// Limits shared by all files of a pack. Once `stopped`, parsing ends: the
// limit was reported and more diagnostics would only repeat it.
struct LoadBudget {
  size_t model_bytes = 0;
  bool stopped = false;
};

// One `key: value` of a mapping, with the key kept for its location.
struct Field {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// Parses the YAML documents of one file into *pack. One object per file.
class FileParser {
 public:
  FileParser(std::string file, Pack* pack, Diagnostics* diags, LoadBudget* budget)
      : file_(std::move(file)), pack_(pack), diags_(diags), budget_(budget) {}

  void ParseHeader(const YAML::Node& doc);
  void ParseRuleFile(const YAML::Node& doc);

 private:
  SourceLocation Loc(const YAML::Node& node) const {
    SourceLocation loc;
    loc.file = file_;
    YAML::Mark mark = node.Mark();
    if (mark.line >= 0) {
      loc.line = mark.line + 1;
      loc.column = mark.column + 1;
    }
    return loc;
  }
  // Where a field's value is; its key when the value has no position.
  SourceLocation ValueLoc(const Field& f) const {
    SourceLocation loc = Loc(f.value);
    return loc.line > 0 ? loc : Loc(f.key_node);
  }

  void Report(Severity severity, const char* code, SourceLocation loc, const std::string& rule_id,
              std::string message, std::string help) {
    Diagnostic d;
    d.severity = severity;
    d.code = code;
    d.location = std::move(loc);
    d.rule_id = rule_id;
    d.message = std::move(message);
    d.help = std::move(help);
    diags_->Add(std::move(d));
  }
  void Error(const char* code, SourceLocation loc, const std::string& rule_id, std::string message,
             std::string help) {
    Report(Severity::kError, code, std::move(loc), rule_id, std::move(message), std::move(help));
  }

  // Copies text into the model, charging the pack's byte budget. False (and
  // one V005) once the budget is spent.
  bool Store(const std::string& text, std::string* out);

  std::vector<Field> CollectFields(const YAML::Node& map);
  // Reports unknown (V100) and repeated (V113) keys; `what` names the owner
  // in messages ("rule", "category", "`unless`").
  void CheckFields(const std::vector<Field>& fields, const std::vector<std::string>& valid,
                   const std::string& what, const std::string& rule_id);
  static const Field* Find(const std::vector<Field>& fields, std::string_view key) {
    for (const Field& f : fields) {
      if (f.key == key) return &f;
    }
    return nullptr;
  }
  // Reports V101 for each of `required` that is absent; the location is the
  // mapping's. True when all are present.
  bool CheckRequired(const std::vector<Field>& fields, const std::vector<std::string>& required,
                     const YAML::Node& map, const std::string& what, const std::string& rule_id);

  bool ReadText(const Field& f, const std::string& rule_id, std::string* out);
  bool ReadNumber(const Field& f, const std::string& rule_id, const std::string& help, double* out);
  bool ReadInt(const Field& f, const std::string& rule_id, const std::string& help, int* out);
  bool ReadBool(const Field& f, const std::string& rule_id, bool* out);
  // An enum field: returns the index in `names`, or -1 after a V102/V107.
  int ReadEnum(const Field& f, const std::string& rule_id, const std::vector<std::string>& names);
  // A list of text; each entry's location goes to *locations when given.
  bool ReadTextList(const Field& f, const std::string& rule_id, const std::string& example,
                    std::vector<std::string>* out, std::vector<SourceLocation>* locations);
  bool ReadPatterns(const Field& f, const std::string& rule_id, std::vector<Pattern>* out);
  bool ReadExamples(const Field& f, const std::string& rule_id, std::vector<Example>* out);

  void ParseCategory(const YAML::Node& node);
  void ParseRules(const Field& f);
  void ParseRule(const YAML::Node& node);
  void ParseUnless(const Field& f, Rule* rule);
  void ParseRequires(const Field& f, Rule* rule);

  std::string file_;
  Pack* pack_;
  Diagnostics* diags_;
  LoadBudget* budget_;  // shared by all files of the pack
};

bool FileParser::Store(const std::string& text, std::string* out) {
  if (budget_->stopped) return false;
  budget_->model_bytes += text.size();
  if (budget_->model_bytes > kMaxPackModelBytes) {
    budget_->stopped = true;
    Error("V005", SourceLocation{file_, 0, 0}, "",
          "the pack holds more than " + std::to_string(kMaxPackModelBytes >> 20) +
              " MiB of rule text (YAML aliases count each time they are used)",
          "split the pack, or write repeated lists out instead of re-using them with `*alias`");
    return false;
  }
  *out = text;
  return true;
}

std::vector<Field> FileParser::CollectFields(const YAML::Node& map) {
  std::vector<Field> fields;
  for (auto it = map.begin(); it != map.end(); ++it) {
    Field f;
    f.key_node = it->first;
    f.value = it->second;
    if (f.key_node.IsScalar()) {
      f.key = f.key_node.Scalar();
    } else {
      Error("V102", Loc(f.key_node), "", std::string("a field name must be text, found ") +
                                             NodeKind(f.key_node),
            "write field names as plain words followed by `:`, e.g. `title: ...`");
      continue;
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

void FileParser::CheckFields(const std::vector<Field>& fields,
                             const std::vector<std::string>& valid, const std::string& what,
                             const std::string& rule_id) {
  for (size_t i = 0; i < fields.size(); ++i) {
    const Field& f = fields[i];
    if (std::find(valid.begin(), valid.end(), f.key) == valid.end()) {
      std::string message = "unknown field `" + f.key + "` in " + what;
      std::string guess = ClosestMatch(f.key, valid);
      if (!guess.empty()) message += "; did you mean `" + guess + "`?";
      std::string help = "valid fields of " + what + ": " + QuotedList(valid);
      if (what == "a rule file" && f.key == "categories") {
        help = "categories belong in pack.yaml; a rule file holds only `rules:`";
      }
      Error("V100", Loc(f.key_node), rule_id, std::move(message), std::move(help));
      continue;
    }
    for (size_t j = 0; j < i; ++j) {
      if (fields[j].key == f.key) {
        SourceLocation first = Loc(fields[j].key_node);
        Error("V113", Loc(f.key_node), rule_id,
              "field `" + f.key + "` is written twice in " + what + " (first at line " +
                  std::to_string(first.line) + ")",
              "keep one `" + f.key + ":`; YAML would silently use only one of them");
        break;
      }
    }
  }
}

bool FileParser::CheckRequired(const std::vector<Field>& fields,
                               const std::vector<std::string>& required, const YAML::Node& map,
                               const std::string& what, const std::string& rule_id) {
  bool all = true;
  for (const std::string& name : required) {
    if (Find(fields, name) != nullptr) continue;
    all = false;
    Error("V101", Loc(map), rule_id, "missing required field `" + name + "` in " + what,
          MissingFieldHelp(name));
  }
  return all;
}

bool FileParser::ReadText(const Field& f, const std::string& rule_id, std::string* out) {
  if (f.value.IsNull()) {
    Error("V101", ValueLoc(f), rule_id, "field `" + f.key + "` has no value",
          MissingFieldHelp(f.key));
    return false;
  }
  if (!f.value.IsScalar()) {
    Error("V102", ValueLoc(f), rule_id,
          "`" + f.key + "` must be text, found " + NodeKind(f.value),
          "write `" + f.key + ": ...` on one line, or a folded block `" + f.key +
              ": >` with the text indented below; quote text that contains `: `");
    return false;
  }
  return Store(f.value.Scalar(), out);
}

bool FileParser::ReadNumber(const Field& f, const std::string& rule_id, const std::string& help,
                            double* out) {
  const std::string text = f.value.IsScalar() ? f.value.Scalar() : std::string();
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!f.value.IsScalar() || text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    std::string found = f.value.IsScalar() ? "'" + text + "'" : NodeKind(f.value);
    Error("V102", ValueLoc(f), rule_id, "`" + f.key + "` must be a number, found " + found, help);
    return false;
  }
  *out = value;
  return true;
}

bool FileParser::ReadInt(const Field& f, const std::string& rule_id, const std::string& help,
                         int* out) {
  const std::string text = f.value.IsScalar() ? f.value.Scalar() : std::string();
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!f.value.IsScalar() || text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    std::string found = f.value.IsScalar() ? "'" + text + "'" : NodeKind(f.value);
    Error("V102", ValueLoc(f), rule_id, "`" + f.key + "` must be a whole number, found " + found,
          help);
    return false;
  }
  *out = value;
  return true;
}

bool FileParser::ReadBool(const Field& f, const std::string& rule_id, bool* out) {
  bool value = false;
  if (!f.value.IsScalar() || !YAML::convert<bool>::decode(f.value, value)) {
    std::string found = f.value.IsScalar() ? "'" + f.value.Scalar() + "'" : NodeKind(f.value);
    Error("V102", ValueLoc(f), rule_id, "`" + f.key + "` must be true or false, found " + found,
          "write `" + f.key + ": true` or `" + f.key + ": false`");
    return false;
  }
  *out = value;
  return true;
}

int FileParser::ReadEnum(const Field& f, const std::string& rule_id,
                         const std::vector<std::string>& names) {
  if (!f.value.IsScalar()) {
    Error("V102", ValueLoc(f), rule_id,
          "`" + f.key + "` must be one word, found " + NodeKind(f.value),
          "write one of: " + QuotedList(names));
    return -1;
  }
  const std::string& text = f.value.Scalar();
  auto it = std::find(names.begin(), names.end(), text);
  if (it != names.end()) return static_cast<int>(it - names.begin());
  std::string message = "unknown " + f.key + " `" + text + "`";
  std::string guess = ClosestMatch(text, names);
  if (!guess.empty()) message += "; did you mean `" + guess + "`?";
  Error("V107", ValueLoc(f), rule_id, std::move(message),
        "write one of: " + QuotedList(names));
  return -1;
}

bool FileParser::ReadTextList(const Field& f, const std::string& rule_id,
                              const std::string& example, std::vector<std::string>* out,
                              std::vector<SourceLocation>* locations) {
  if (f.value.IsNull()) return true;  // `references:` with nothing: an empty list
  if (!f.value.IsSequence()) {
    Error("V102", ValueLoc(f), rule_id,
          "`" + f.key + "` must be a list, found " + NodeKind(f.value),
          "write a list: `" + f.key + ": [" + example + "]`, or one `- " + example +
              "` per line below `" + f.key + ":`");
    return false;
  }
  bool ok = true;
  for (const YAML::Node& item : f.value) {
    if (!item.IsScalar()) {
      Error("V102", Loc(item), rule_id,
            "each entry of `" + f.key + "` must be text, found " + NodeKind(item),
            "write each entry as `- " + example + "`; quote entries that contain `: ` or start "
            "with a special character such as `[`, `{`, `*`, `&`, `!`, `|`, `>`, `'`, `\"`, `%`, `@`");
      ok = false;
      continue;
    }
    std::string text;
    if (!Store(item.Scalar(), &text)) return false;
    out->push_back(std::move(text));
    if (locations != nullptr) locations->push_back(Loc(item));
  }
  return ok;
}

bool FileParser::ReadPatterns(const Field& f, const std::string& rule_id,
                              std::vector<Pattern>* out) {
  std::vector<std::string> texts;
  std::vector<SourceLocation> locations;
  bool ok = ReadTextList(f, rule_id, "'barely legal'", &texts, &locations);
  for (size_t i = 0; i < texts.size(); ++i) {
    out->push_back(Pattern{std::move(texts[i]), std::move(locations[i])});
  }
  return ok;
}

bool FileParser::ReadExamples(const Field& f, const std::string& rule_id,
                              std::vector<Example>* out) {
  std::vector<std::string> texts;
  std::vector<SourceLocation> locations;
  bool ok = ReadTextList(f, rule_id, "\"an ad text\"", &texts, &locations);
  for (size_t i = 0; i < texts.size(); ++i) {
    out->push_back(Example{std::move(texts[i]), std::move(locations[i])});
  }
  return ok;
}

void FileParser::ParseHeader(const YAML::Node& doc) {
  if (doc.IsNull()) {
    Error("V101", SourceLocation{file_, 1, 1}, "", "pack.yaml is empty",
          "write the pack header: `name`, `version`, `threshold` and `categories` (see "
          "docs/rules.md)");
    return;
  }
  if (!doc.IsMap()) {
    Error("V102", Loc(doc), "", std::string("pack.yaml must be a mapping, found ") + NodeKind(doc),
          "start pack.yaml with `name: my_pack` and the other header fields, one per line");
    return;
  }
  std::vector<Field> fields = CollectFields(doc);
  CheckFields(fields, kHeaderFields, "the pack header", "");
  CheckRequired(fields, {"name", "version", "threshold", "categories"}, doc, "pack.yaml", "");
  for (const Field& f : fields) {
    pack_->field_locations[f.key] = ValueLoc(f);
    if (f.key == "name") {
      ReadText(f, "", &pack_->name);
    } else if (f.key == "version") {
      ReadText(f, "", &pack_->version);
    } else if (f.key == "description") {
      ReadText(f, "", &pack_->description);
    } else if (f.key == "threshold") {
      ReadNumber(f, "", "write a number greater than 0 and at most 1, e.g. `threshold: 0.5`",
                 &pack_->threshold);
    } else if (f.key == "categories") {
      if (!f.value.IsSequence()) {
        Error("V102", ValueLoc(f), "",
              std::string("`categories` must be a list, found ") + NodeKind(f.value),
              "write one `- id: ...` entry per category below `categories:`, with `title:` "
              "indented under it");
        continue;
      }
      for (const YAML::Node& item : f.value) ParseCategory(item);
    } else if (f.key == "rules") {
      ParseRules(f);
    }
  }
}

void FileParser::ParseCategory(const YAML::Node& node) {
  if (!node.IsMap()) {
    Error("V102", Loc(node), "",
          std::string("each category must be a mapping, found ") + NodeKind(node),
          "write `- id: youth` with `title: Youth language` indented under it");
    return;
  }
  Category category;
  category.location = Loc(node);
  std::vector<Field> fields = CollectFields(node);
  CheckFields(fields, kCategoryFields, "a category", "");
  CheckRequired(fields, {"id", "title"}, node, "a category", "");
  for (const Field& f : fields) {
    category.field_locations[f.key] = ValueLoc(f);
    if (f.key == "id") {
      category.location = Loc(f.key_node);
      ReadText(f, "", &category.id);
    } else if (f.key == "title") {
      ReadText(f, "", &category.title);
    } else if (f.key == "description") {
      ReadText(f, "", &category.description);
    } else if (f.key == "color") {
      ReadText(f, "", &category.color);
    } else if (f.key == "combination_only") {
      ReadBool(f, "", &category.combination_only);
    }
  }
  pack_->categories.push_back(std::move(category));
}

void FileParser::ParseRuleFile(const YAML::Node& doc) {
  if (doc.IsNull()) return;  // a file of comments only
  if (!doc.IsMap()) {
    Error("V102", Loc(doc), "",
          std::string("a rule file must be a mapping with a `rules:` list, found ") +
              NodeKind(doc),
          "start the file with `rules:` and list the rules below it as `- id: ...`");
    return;
  }
  std::vector<Field> fields = CollectFields(doc);
  CheckFields(fields, kRuleFileFields, "a rule file", "");
  for (const Field& f : fields) {
    if (f.key == "rules") ParseRules(f);
  }
}

void FileParser::ParseRules(const Field& f) {
  if (f.value.IsNull()) return;
  if (!f.value.IsSequence()) {
    Error("V102", ValueLoc(f), "",
          std::string("`rules` must be a list, found ") + NodeKind(f.value),
          "write each rule as an entry `- id: ...` below `rules:`, its fields indented under it");
    return;
  }
  for (const YAML::Node& item : f.value) {
    if (budget_->stopped) return;
    if (pack_->rules.size() >= kMaxPackRules) {
      budget_->stopped = true;
      Error("V005", Loc(item), "",
            "the pack has more than " + std::to_string(kMaxPackRules) + " rules",
            "split it into several packs");
      return;
    }
    ParseRule(item);
  }
}

void FileParser::ParseRule(const YAML::Node& node) {
  if (!node.IsMap()) {
    Error("V102", Loc(node), "",
          std::string("each entry of `rules` must be a mapping, found ") + NodeKind(node),
          "start each rule with `- id: ...` and indent its other fields under `id`");
    return;
  }
  Rule rule;
  rule.location = Loc(node);
  std::vector<Field> fields = CollectFields(node);
  // The id first, so that every later message can name the rule.
  if (const Field* id = Find(fields, "id")) {
    rule.location = Loc(id->key_node);
    rule.field_locations["id"] = ValueLoc(*id);
    ReadText(*id, "", &rule.id);
  }
  const std::string rule_id = rule.id;
  CheckFields(fields, kRuleFields, "a rule", rule_id);
  CheckRequired(fields, {"id", "title", "description", "category", "weight", "evidence", "patterns"},
                node, "a rule", rule_id);
  for (const Field& f : fields) {
    if (f.key == "id") continue;
    rule.field_locations[f.key] = ValueLoc(f);
    if (f.key == "title") {
      ReadText(f, rule_id, &rule.title);
    } else if (f.key == "description") {
      ReadText(f, rule_id, &rule.description);
    } else if (f.key == "category") {
      ReadText(f, rule_id, &rule.category);
    } else if (f.key == "weight") {
      ReadNumber(f, rule_id, "write a number from 0 to 1, e.g. `weight: 0.3`", &rule.weight);
    } else if (f.key == "evidence") {
      int i = ReadEnum(f, rule_id, kEvidenceNames);
      if (i >= 0) rule.evidence = static_cast<Evidence>(i);
    } else if (f.key == "status") {
      int i = ReadEnum(f, rule_id, kStatusNames);
      if (i >= 0) rule.status = static_cast<RuleStatus>(i);
    } else if (f.key == "match_on") {
      int i = ReadEnum(f, rule_id, kMatchOnNames);
      if (i >= 0) rule.match_on = static_cast<MatchOn>(i);
    } else if (f.key == "author") {
      if (!f.value.IsNull()) ReadText(f, rule_id, &rule.author);
    } else if (f.key == "date") {
      if (!f.value.IsNull()) ReadText(f, rule_id, &rule.date);
    } else if (f.key == "references") {
      ReadTextList(f, rule_id, "\"Author, title, year\"", &rule.references, nullptr);
    } else if (f.key == "patterns") {
      if (ReadPatterns(f, rule_id, &rule.patterns) && rule.patterns.empty()) {
        Error("V101", ValueLoc(f), rule_id, "the rule has no patterns",
              MissingFieldHelp("patterns"));
      }
    } else if (f.key == "unless") {
      ParseUnless(f, &rule);
    } else if (f.key == "requires") {
      ParseRequires(f, &rule);
    } else if (f.key == "examples") {
      ReadExamples(f, rule_id, &rule.examples);
    } else if (f.key == "negative_examples") {
      ReadExamples(f, rule_id, &rule.negative_examples);
    }
  }
  pack_->rules.push_back(std::move(rule));
}

void FileParser::ParseUnless(const Field& f, Rule* rule) {
  const std::string& rule_id = rule->id;
  if (!f.value.IsMap()) {
    Error("V102", ValueLoc(f), rule_id,
          std::string("`unless` must be a mapping, found ") + NodeKind(f.value),
          "write `unless:` with `patterns:` (and optionally `window: 40`) indented under it");
    return;
  }
  std::vector<Field> fields = CollectFields(f.value);
  CheckFields(fields, kUnlessFields, "`unless`", rule_id);
  CheckRequired(fields, {"patterns"}, f.value, "`unless`", rule_id);
  for (const Field& u : fields) {
    rule->field_locations["unless." + u.key] = ValueLoc(u);
    if (u.key == "window") {
      ReadInt(u, rule_id, "write a whole number of bytes from 1 to 10000, e.g. `window: 40`",
              &rule->unless.window);
    } else if (u.key == "patterns") {
      if (ReadPatterns(u, rule_id, &rule->unless.patterns) && rule->unless.patterns.empty()) {
        Error("V101", ValueLoc(u), rule_id, "`unless` has no patterns",
              "list the context regexes that cancel a hit, or remove `unless:`");
      }
    }
  }
}

void FileParser::ParseRequires(const Field& f, Rule* rule) {
  const std::string& rule_id = rule->id;
  if (!f.value.IsMap()) {
    Error("V102", ValueLoc(f), rule_id,
          std::string("`requires` must be a mapping, found ") + NodeKind(f.value),
          "write `requires:` with `rules: [...]` and/or `categories: [...]` and `min: 1` "
          "indented under it");
    return;
  }
  rule->has_requirement = true;
  rule->requirement.location = ValueLoc(f);
  std::vector<Field> fields = CollectFields(f.value);
  CheckFields(fields, kRequiresFields, "`requires`", rule_id);
  if (Find(fields, "rules") == nullptr && Find(fields, "categories") == nullptr) {
    Error("V101", ValueLoc(f), rule_id, "`requires` names neither `rules` nor `categories`",
          "add `rules: [other.rule_id]` and/or `categories: [category_id]` under `requires:`");
  }
  for (const Field& r : fields) {
    rule->field_locations["requires." + r.key] = ValueLoc(r);
    if (r.key == "rules") {
      ReadTextList(r, rule_id, "youth.teen", &rule->requirement.rules, nullptr);
    } else if (r.key == "categories") {
      ReadTextList(r, rule_id, "youth", &rule->requirement.categories, nullptr);
    } else if (r.key == "min") {
      ReadInt(r, rule_id, "write a whole number of rules, e.g. `min: 2`", &rule->requirement.min);
    }
  }
}

// Help for a YAML syntax error, from yaml-cpp's message.
std::string SyntaxHelp(const std::string& message) {
  if (message.find("tab") != std::string::npos) {
    return "indent with spaces only; YAML does not allow tabs for indentation";
  }
  if (message.find("illegal map value") != std::string::npos) {
    return "indent this line exactly like the other fields of its mapping (it may be one space "
           "too deep), or quote text that contains `: `, e.g. `title: \"Note: new\"`";
  }
  if (message.find("end of") != std::string::npos) {
    return "close the quote or bracket that is still open, or check the indentation of the "
           "lines above";
  }
  return "check the indentation (spaces, same column for fields of the same mapping) and that "
         "text containing `: `, `#` or leading special characters is quoted";
}

// yaml-cpp 0.7's LoadAll never returns on a file whose top level holds a
// token no value can start with (a stray `,`, `]` or `}`): every call of
// Parser::HandleNextDocument then reports an empty document without
// consuming that token, and LoadAll allocates a node per call until memory
// runs out (yaml-cpp PR #1319; found by fuzz_rule_pack). This probe drives
// the parser over the documents first and returns where a document starts
// at the same place as the one before it, which a document that consumed
// anything cannot do. Parse errors propagate as YAML::Exception.
class DocumentProbe final : public YAML::EventHandler {
 public:
  YAML::Mark start;

  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

std::optional<YAML::Mark> FindStalledDocument(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentProbe probe;
  int previous = -1;
  while (parser.HandleNextDocument(probe)) {
    if (probe.start.pos == previous) return probe.start;
    previous = probe.start.pos;
  }
  return std::nullopt;
}

bool IsPackHeader(const std::string& relative_path) { return relative_path == "pack.yaml"; }

// The offset of the first byte of `text` that is not part of well-formed
// UTF-8 (no overlongs, surrogates or code points above U+10FFFF), or npos.
size_t FirstInvalidUtf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return i;
    }
    if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

void ParseFile(const std::string& display_path, const PackFile& file, Pack* pack,
               Diagnostics* diags, LoadBudget* budget) {
  FileParser parser(display_path, pack, diags, budget);
  // YAML is Unicode text; invalid bytes would reach titles and patterns and
  // later break JSON output of the compiled set (found by fuzz_rule_pack).
  if (size_t bad = FirstInvalidUtf8(file.bytes); bad != std::string_view::npos) {
    const std::string_view before = std::string_view(file.bytes).substr(0, bad);
    const size_t line_start = before.rfind('\n');
    Diagnostic d;
    d.code = "V001";
    d.location.file = display_path;
    d.location.line = static_cast<int>(std::count(before.begin(), before.end(), '\n')) + 1;
    d.location.column = static_cast<int>(line_start == std::string_view::npos ? bad + 1 : bad - line_start);
    d.message = fmt::format("the file is not valid UTF-8 (byte 0x{:02X})", static_cast<unsigned char>(file.bytes[bad]));
    d.help = "save the file as UTF-8";
    diags->Add(std::move(d));
    return;
  }
  std::vector<YAML::Node> docs;
  try {
    if (const std::optional<YAML::Mark> stall = FindStalledDocument(file.bytes)) {
      Diagnostic d;
      d.code = "V001";
      d.location.file = display_path;
      d.location.line = stall->line + 1;
      d.location.column = stall->column + 1;
      const size_t at = static_cast<size_t>(stall->pos);
      const bool printable = at < file.bytes.size() && file.bytes[at] > ' ' && file.bytes[at] < 0x7f;
      d.message = printable ? fmt::format("YAML syntax error: `{}` cannot start a value here", file.bytes[at])
                            : std::string("YAML syntax error: a value cannot start here");
      d.help = "remove the stray character, or quote the text it belongs to";
      diags->Add(std::move(d));
      return;
    }
    docs = YAML::LoadAll(file.bytes);
  } catch (const YAML::Exception& e) {
    Diagnostic d;
    d.code = "V001";
    d.location.file = display_path;
    if (e.mark.line >= 0) {
      d.location.line = e.mark.line + 1;
      d.location.column = e.mark.column + 1;
    }
    d.message = "YAML syntax error: " + e.msg;
    d.help = SyntaxHelp(e.msg);
    diags->Add(std::move(d));
    return;
  }
  try {
    if (IsPackHeader(file.relative_path)) {
      if (docs.empty()) docs.emplace_back();
      if (docs.size() > 1) {
        Diagnostic d;
        d.code = "V102";
        d.location = SourceLocation{display_path, docs[1].Mark().line + 1,
                                    docs[1].Mark().column + 1};
        d.message = "pack.yaml holds more than one YAML document";
        d.help = "remove the `---` separator; the header is a single mapping";
        diags->Add(std::move(d));
      }
      parser.ParseHeader(docs[0]);
    } else {
      for (const YAML::Node& doc : docs) parser.ParseRuleFile(doc);
    }
  } catch (const std::exception& e) {
    // Defensive: the parser checks node types before converting, so this
    // means a yaml-cpp or allocation failure; report it rather than crash.
    Diagnostic d;
    d.code = "V002";
    d.location.file = display_path;
    d.message = std::string("cannot interpret the file: ") + e.what();
    d.help = "simplify the YAML (no anchors/aliases or tags) and report this as a vigil bug";
    diags->Add(std::move(d));
  }
}

std::string DisplayPath(const std::string& dir, const std::string& relative) {
  if (dir.empty()) return relative;
  return (fs::path(dir) / relative).generic_string();
}

bool HasYamlExtension(const fs::path& p) {
  std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml";
}

void SortPackFiles(std::vector<PackFile>* files) {
  std::sort(files->begin(), files->end(), [](const PackFile& a, const PackFile& b) {
    bool a_header = IsPackHeader(a.relative_path);
    bool b_header = IsPackHeader(b.relative_path);
    if (a_header != b_header) return a_header;
    return a.relative_path < b.relative_path;
  });
}

}  // namespace

std::string PackContentHash(const std::vector<PackFile>& files) {
  Sha256 hash;
  for (const PackFile& f : files) {
    // Length-prefix both parts so that no two different packs hash the
    // same bytes.
    hash.Update(std::to_string(f.relative_path.size()) + ":" + f.relative_path + ":" +
                std::to_string(f.bytes.size()) + ":");
    hash.Update(f.bytes);
  }
  return hash.HexDigest();
}

bool LoadPackFromFiles(const std::string& dir, std::vector<PackFile> files, Pack* pack,
                       Diagnostics* diags) {
  SortPackFiles(&files);
  std::string content_hash = PackContentHash(files);
  return LoadReadPackFiles(dir, std::move(files), std::move(content_hash), pack, diags);
}

bool LoadReadPackFiles(const std::string& dir, std::vector<PackFile> files, std::string content_hash, Pack* pack,
                       Diagnostics* diags) {
  size_t errors_before = diags->ErrorCount();
  *pack = Pack();
  pack->directory = dir;
  pack->content_hash = std::move(content_hash);
  if (files.empty() || !IsPackHeader(files.front().relative_path)) {
    Diagnostic d;
    d.code = "V003";
    d.location.file = DisplayPath(dir, "pack.yaml");
    d.message = "the pack has no pack.yaml";
    d.help = "every pack folder needs a pack.yaml header with `name`, `version`, `threshold` "
             "and `categories` (see docs/rules.md); check that you passed the pack's folder";
    diags->Add(std::move(d));
  }
  LoadBudget budget;
  for (const PackFile& file : files) {
    std::string display = DisplayPath(dir, file.relative_path);
    if (file.bytes.size() > kMaxPackFileBytes) {
      Diagnostic d;
      d.code = "V004";
      d.location.file = display;
      d.message = "file is " + std::to_string(file.bytes.size() >> 20) + " MiB, over the " +
                  std::to_string(kMaxPackFileBytes >> 20) + " MiB limit";
      d.help = "split the rules over several files";
      diags->Add(std::move(d));
      continue;
    }
    ParseFile(display, file, pack, diags, &budget);
    if (budget.stopped) break;
  }
  return diags->ErrorCount() == errors_before;
}

// Reads the YAML files under `dir` ('.' entries skipped), in directory
// order; what cannot be listed or read, or is too large, goes to
// *read_errors instead.
static void ReadFiles(const std::string& dir, std::vector<PackFile>* files, std::vector<Diagnostic>* read_errors) {
  std::error_code ec;
  auto read_error = [&](const std::string& path, const std::string& message) {
    Diagnostic d;
    d.code = "V002";
    d.location.file = path;
    d.message = message;
    d.help = "check that the file exists and is readable by this user";
    read_errors->push_back(std::move(d));
  };
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) read_error(dir, "cannot list pack folder: " + ec.message());
  for (; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (entry.is_directory(ec)) it.disable_recursion_pending();
      ec.clear();
      continue;
    }
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec) || !HasYamlExtension(entry.path())) continue;
    std::string relative = fs::path(entry.path()).lexically_relative(dir).generic_string();
    std::string display = DisplayPath(dir, relative);
    std::error_code size_ec;
    uintmax_t size = entry.file_size(size_ec);
    if (size_ec) {
      read_error(display, "cannot read file: " + size_ec.message());
      continue;
    }
    if (size > kMaxPackFileBytes) {
      Diagnostic d;
      d.code = "V004";
      d.location.file = display;
      d.message = "file is " + std::to_string(size >> 20) + " MiB, over the " +
                  std::to_string(kMaxPackFileBytes >> 20) + " MiB limit";
      d.help = "split the rules over several files";
      read_errors->push_back(std::move(d));
      continue;
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.is_open() || in.bad()) {
      read_error(display, "cannot read file");
      continue;
    }
    files->push_back(PackFile{relative, std::move(bytes)});
  }
  if (ec) read_error(dir, "cannot list pack folder: " + ec.message());
}

bool ReadPackFiles(const std::string& dir, std::vector<PackFile>* files, std::string* content_hash) {
  files->clear();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;
  std::vector<Diagnostic> read_errors;
  ReadFiles(dir, files, &read_errors);
  if (!read_errors.empty()) {
    files->clear();
    return false;
  }
  SortPackFiles(files);
  *content_hash = PackContentHash(*files);
  return true;
}

bool LoadPack(const std::string& dir, Pack* pack, Diagnostics* diags) {
  std::error_code ec;
  fs::file_status status = fs::status(dir, ec);
  if (ec || !fs::exists(status)) {
    *pack = Pack();
    pack->directory = dir;
    Diagnostic d;
    d.code = "V002";
    d.location.file = dir;
    d.message = "cannot read pack folder: " +
                (ec ? ec.message() : std::string("no such file or directory"));
    d.help = "pass the folder that holds the pack's pack.yaml, e.g. `rules/packs/core`";
    diags->Add(std::move(d));
    return false;
  }
  if (!fs::is_directory(status)) {
    *pack = Pack();
    pack->directory = dir;
    Diagnostic d;
    d.code = "V002";
    d.location.file = dir;
    d.message = "not a folder";
    std::string parent = fs::path(dir).parent_path().generic_string();
    d.help = "pass the pack's folder, not a file inside it" +
             (parent.empty() ? std::string() : ": `" + parent + "`");
    diags->Add(std::move(d));
    return false;
  }

  std::vector<PackFile> files;
  std::vector<Diagnostic> read_errors;
  ReadFiles(dir, &files, &read_errors);
  bool ok = LoadPackFromFiles(dir, std::move(files), pack, diags);
  for (Diagnostic& d : read_errors) diags->Add(std::move(d));
  return ok && read_errors.empty();
}

}  // namespace vigil::rules
