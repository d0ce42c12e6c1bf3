#include "tools/cmd_rules.h"

#include <algorithm>
#include <memory>
#include <ostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rules/lint.h"
#include "rules/pack_loader.h"
#include "tools/commands.h"

namespace vigil::tools {
namespace {

using json = nlohmann::ordered_json;

constexpr int kExitOk = 0;
constexpr int kExitProblems = 1;
constexpr int kExitUsageOrIo = 2;

// V002/V003: the folder or a file could not be read at all.
bool HasIoError(const rules::Diagnostics& diags) {
  return std::any_of(diags.items.begin(), diags.items.end(), [](const rules::Diagnostic& d) {
    return d.code == "V002" || d.code == "V003";
  });
}

std::string Plural(size_t n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

json LocationJson(const rules::SourceLocation& loc) {
  return json{{"file", loc.file}, {"line", loc.line}, {"column", loc.column}};
}

json PatternsJson(const std::vector<rules::Pattern>& patterns) {
  json out = json::array();
  for (const rules::Pattern& p : patterns) {
    out.push_back(json{{"regex", p.regex}, {"location", LocationJson(p.location)}});
  }
  return out;
}

json ExamplesJson(const std::vector<rules::Example>& examples) {
  json out = json::array();
  for (const rules::Example& e : examples) out.push_back(e.text);
  return out;
}

json RuleJson(const rules::Rule& r) {
  json rule = {
      {"id", r.id},
      {"title", r.title},
      {"description", r.description},
      {"category", r.category},
      {"weight", r.weight},
      {"evidence", rules::EvidenceName(r.evidence)},
      {"status", rules::RuleStatusName(r.status)},
      {"author", r.author},
      {"date", r.date},
      {"references", r.references},
      {"match_on", rules::MatchOnName(r.match_on)},
      {"patterns", PatternsJson(r.patterns)},
      {"unless", nullptr},
      {"requires", nullptr},
      {"examples", ExamplesJson(r.examples)},
      {"negative_examples", ExamplesJson(r.negative_examples)},
      {"location", LocationJson(r.location)},
  };
  if (!r.unless.patterns.empty()) {
    rule["unless"] = json{{"window", r.unless.window}, {"patterns", PatternsJson(r.unless.patterns)}};
  }
  if (r.has_requirement) {
    rule["requires"] = json{{"rules", r.requirement.rules},
                            {"categories", r.requirement.categories},
                            {"min", r.requirement.min}};
  }
  return rule;
}

// Titles and ids are one table cell each: no line breaks or tabs.
std::string Cell(const std::string& text) {
  std::string out = text;
  std::replace_if(out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; },
                  ' ');
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

void WriteTable(const rules::Pack& pack, std::ostream& out) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "CATEGORY", "WEIGHT", "EVIDENCE", "STATUS", "TITLE"}};
  for (const rules::Rule& r : pack.rules) {
    rows.push_back({Cell(r.id), Cell(r.category), fmt::format("{:.2f}", r.weight),
                    rules::EvidenceName(r.evidence), rules::RuleStatusName(r.status),
                    Cell(r.title)});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
  out << fmt::format("{} in pack {}@{}\n", Plural(pack.rules.size(), "rule"), pack.name,
                     pack.version);
}

}  // namespace

std::string DiagnosticsToJson(const rules::Diagnostics& diags) {
  json out = json::array();
  for (const rules::Diagnostic& d : diags.Sorted()) {
    out.push_back(json{
        {"severity", d.severity == rules::Severity::kError ? "error" : "warning"},
        {"code", d.code},
        {"file", d.location.file},
        {"line", d.location.line},
        {"column", d.location.column},
        {"rule", d.rule_id},
        {"message", d.message},
        {"help", d.help},
    });
  }
  // Replace invalid UTF-8 (a pattern quoted from a broken file) rather than throw.
  return out.dump(2, ' ', false, json::error_handler_t::replace);
}

std::string PackToJson(const rules::Pack& pack) {
  json categories = json::array();
  for (const rules::Category& c : pack.categories) {
    categories.push_back(json{{"id", c.id},
                              {"title", c.title},
                              {"description", c.description},
                              {"color", c.color},
                              {"combination_only", c.combination_only}});
  }
  json rules = json::array();
  for (const rules::Rule& r : pack.rules) rules.push_back(RuleJson(r));
  json out = {
      {"name", pack.name},
      {"version", pack.version},
      {"description", pack.description},
      {"threshold", pack.threshold},
      {"directory", pack.directory},
      {"content_hash", pack.content_hash},
      {"categories", std::move(categories)},
      {"rules", std::move(rules)},
  };
  return out.dump(2, ' ', false, json::error_handler_t::replace);
}

int RunRulesLint(const RulesLintOptions& options, std::ostream& out, std::ostream& err) {
  rules::Diagnostics all;
  size_t rule_count = 0;
  bool io_error = false;
  for (const std::string& dir : options.packs) {
    rules::Pack pack;
    rules::Diagnostics diags;
    rules::LoadPack(dir, &pack, &diags);
    if (HasIoError(diags)) {
      io_error = true;
    } else {
      rules::LintPack(pack, &diags);
    }
    rule_count += pack.rules.size();
    for (rules::Diagnostic& d : diags.items) all.Add(std::move(d));
  }
  const std::string summary =
      fmt::format("{}, {} in {}", Plural(all.ErrorCount(), "error"),
                  Plural(all.WarningCount(), "warning"), Plural(rule_count, "rule"));
  if (options.json) {
    out << DiagnosticsToJson(all) << '\n';
    err << summary << '\n';
  } else {
    out << all.ToString() << summary << '\n';
  }
  if (io_error) return kExitUsageOrIo;
  if (all.HasErrors() || (options.werror && all.WarningCount() > 0)) return kExitProblems;
  return kExitOk;
}

int RunRulesList(const RulesListOptions& options, std::ostream& out, std::ostream& err) {
  rules::Pack pack;
  rules::Diagnostics diags;
  if (!rules::LoadPack(options.pack, &pack, &diags)) {
    err << diags.ToString()
        << fmt::format("cannot list {}: {}; run `vigil rules lint {}` for details\n",
                       options.pack, Plural(diags.ErrorCount(), "error"), options.pack);
    return HasIoError(diags) ? kExitUsageOrIo : kExitProblems;
  }
  if (options.json) {
    out << PackToJson(pack) << '\n';
  } else {
    WriteTable(pack, out);
  }
  return kExitOk;
}

void AddRulesCommands(CLI::App* rules, int* exit_code) {
  auto lint_options = std::make_shared<RulesLintOptions>();
  CLI::App* lint = rules->add_subcommand(
      "lint", "Check rule packs: YAML structure, ids, weights, references, regex syntax");
  lint->add_option("PACK", lint_options->packs, "pack folders (each holds a pack.yaml)")
      ->required();
  lint->add_flag("--json", lint_options->json, "print diagnostics as a JSON array");
  lint->add_flag("--werror", lint_options->werror, "treat warnings as errors (exit 1)");
  lint->callback([lint_options, exit_code] {
    *exit_code = RunRulesLint(*lint_options, std::cout, std::cerr);
  });

  auto list_options = std::make_shared<RulesListOptions>();
  CLI::App* list = rules->add_subcommand("list", "List every rule of a pack");
  list->add_option("PACK", list_options->pack, "pack folder")->required();
  list->add_flag("--json", list_options->json, "print the pack and all rule fields as JSON");
  list->callback([list_options, exit_code] {
    *exit_code = RunRulesList(*list_options, std::cout, std::cerr);
  });
}

}  // namespace vigil::tools
