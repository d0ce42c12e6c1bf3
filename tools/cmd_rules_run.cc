// `vigil rules test`, `vigil rules compile`, `vigil rules explain`: the
// commands that run a pack, as opposed to reading it (tools/cmd_rules.cc).
//
// rules test: every example must make its rule fire through the full scan
// path (normalisation, Hyperscan, RE2 spans, unless, requires with the other
// rules of the pack), every negative example must not; independently, RE2
// alone on the normalised text must agree with the scan path about whether
// the rule's patterns match. Each disagreement is reported with its
// location and what the matcher read.
#include <chrono>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "rules/compiled_rule_set_impl.h"
#include "rules/compiler.h"
#include "rules/pattern_syntax.h"
#include "rules/rule_set_cache.h"
#include "scanner/explain.h"
#include "scanner/normalize.h"
#include "scanner/result_json.h"
#include "scanner/scanner.h"
#include "scanner/utf8.h"
#include "tools/commands.h"
#include "tools/rule_loading.h"

namespace vigil::tools {

namespace {

struct Compiled {
  rules::Pack pack;
  std::shared_ptr<const rules::CompiledRuleSet> set;
  std::shared_ptr<const scanner::Scanner> scanner;
};

// Loads, lints and compiles (no cache: these commands are about the pack as
// written). Prints diagnostics; returns the exit code to use on failure.
int LoadCompiled(const std::string& dir, Compiled* out, bool quiet_warnings) {
  rules::Diagnostics diags;
  bool ok = LoadAndLintPack(dir, &out->pack, &diags);
  if (ok) {
    auto set = rules::Compile(out->pack, rules::CompileOptions{}, &diags);
    if (set.ok()) out->set = *set;
    ok = set.ok();
  }
  if (diags.ErrorCount() > 0 || (!quiet_warnings && !diags.items.empty())) {
    std::fputs(diags.ToString().c_str(), stdout);
  }
  if (!ok) {
    std::fprintf(stderr, "vigil rules: %s: the pack has errors; nothing was run\n", dir.c_str());
    return diags.items.empty() ? 2 : 1;
  }
  auto created = scanner::Scanner::Create(out->set, {});
  if (!created.ok()) {
    std::fprintf(stderr, "vigil rules: %s\n", created.status().message().c_str());
    return 2;
  }
  out->scanner = *created;
  return 0;
}

std::string Quote(std::string_view text) {
  std::string out;
  scanner::AppendJsonString(text, &out);
  return out;
}

std::string Location(const rules::SourceLocation& l) { return fmt::format("{}:{}:{}", l.file, l.line, l.column); }

bool RuleFires(const scanner::ScanResult& r, const std::string& rule) {
  for (const auto& h : r.hits) {
    if (h.rule == rule) return true;
  }
  return false;
}

bool ScanPathMatchesPatterns(const scanner::ScanResult& r, const std::string& rule) {
  for (const auto* list : {&r.hits, &r.suppressed}) {
    for (const auto& h : *list) {
      if (h.rule == rule && h.pattern_index >= 0) return true;
    }
  }
  return false;
}

// Why a rule did not fire, or fired, in a few words.
std::string Explain(const scanner::ScanResult& r, const std::string& rule) {
  std::vector<std::string> why;
  for (const auto& h : r.suppressed) {
    if (h.rule == rule) why.push_back(h.suppressed_reason);
  }
  for (const auto& h : r.hits) {
    if (h.rule == rule) why.push_back(fmt::format("matched {} at {}..{}", Quote(h.match), h.start, h.end));
  }
  if (why.empty()) return "no pattern matched";
  std::string out;
  for (const auto& w : why) {
    if (!out.empty()) out += "; ";
    out += w;
  }
  return out;
}

struct TestFlags {
  std::vector<std::string> packs;
  std::string rule;
  bool json = false;
  bool verbose = false;
};

int RunTest(const TestFlags& flags) {
  int exit_code = 0;
  nlohmann::json report = nlohmann::json::array();
  for (const std::string& dir : flags.packs) {
    Compiled c;
    if (int code = LoadCompiled(dir, &c, /*quiet_warnings=*/true)) {
      exit_code = std::max(exit_code, code);
      continue;
    }
    auto context = c.scanner->NewContext();
    scanner::Normalizer normalizer;
    scanner::NormalizedText normalized;
    std::string raw_clean;
    size_t rules_tested = 0, examples = 0, negatives = 0, failures = 0;
    for (const rules::Rule& rule : c.pack.rules) {
      if (!flags.rule.empty() && rule.id != flags.rule) continue;
      if (rule.status == rules::RuleStatus::kDeprecated) continue;
      ++rules_tested;
      std::vector<std::unique_ptr<RE2>> programs;
      for (const auto& p : rule.patterns) {
        programs.push_back(std::make_unique<RE2>(p.regex, rules::Re2OptionsForPatterns()));
      }
      auto check = [&](const rules::Example& example, bool positive) {
        scanner::Document doc;
        doc.id = rule.id;
        doc.text = example.text;
        scanner::ScanResult result;
        Status s = c.scanner->Scan(doc, context.get(), &result);
        std::vector<std::string> problems;
        if (!s.ok()) {
          problems.push_back("scan failed: " + s.message());
        } else {
          bool fires = RuleFires(result, rule.id);
          if (positive && !fires) problems.push_back("example did not fire: " + Explain(result, rule.id));
          if (!positive && fires) problems.push_back("negative example fired: " + Explain(result, rule.id));
          // RE2 alone, on the same text the scan path matched.
          normalizer.Normalize(example.text, &normalized);
          scanner::ReplaceInvalidUtf8Bytes(example.text, &raw_clean);
          const std::string& subject = rule.match_on == rules::MatchOn::kRaw ? raw_clean : normalized.text;
          bool re2_matches = false;
          for (const auto& program : programs) re2_matches |= RE2::PartialMatch(subject, *program);
          bool scan_matches = ScanPathMatchesPatterns(result, rule.id);
          if (re2_matches != scan_matches) {
            problems.push_back(fmt::format("engines disagree: RE2 alone {} the patterns, the scan path {}",
                                           re2_matches ? "matches" : "does not match",
                                           scan_matches ? "does" : "does not"));
          }
        }
        for (const std::string& p : problems) {
          ++failures;
          if (flags.json) {
            report.push_back({{"pack", dir},
                              {"rule", rule.id},
                              {"location", Location(example.location)},
                              {"kind", positive ? "example" : "negative_example"},
                              {"text", example.text},
                              {"normalized", normalized.text},
                              {"problem", p}});
          } else {
            std::printf("%s: FAIL rule '%s': %s\n  text: %s\n  read as: %s\n", Location(example.location).c_str(),
                        rule.id.c_str(), p.c_str(), Quote(example.text).c_str(), Quote(normalized.text).c_str());
          }
        }
        if (problems.empty() && flags.verbose && !flags.json) {
          std::printf("%s: ok rule '%s' %s\n", Location(example.location).c_str(), rule.id.c_str(),
                      positive ? "example" : "negative example");
        }
      };
      for (const auto& e : rule.examples) {
        ++examples;
        check(e, true);
      }
      for (const auto& e : rule.negative_examples) {
        ++negatives;
        check(e, false);
      }
    }
    if (!flags.rule.empty() && rules_tested == 0) {
      std::fprintf(stderr, "vigil rules test: %s: no rule '%s'\n", dir.c_str(), flags.rule.c_str());
      exit_code = std::max(exit_code, 2);
      continue;
    }
    if (!flags.json) {
      std::printf("%s: %zu rules, %zu examples, %zu negative examples: %s\n", dir.c_str(), rules_tested, examples,
                  negatives, failures == 0 ? "all passed" : fmt::format("{} failed", failures).c_str());
    }
    if (failures > 0) exit_code = std::max(exit_code, 1);
  }
  if (flags.json) std::printf("%s\n", report.dump(2).c_str());
  return exit_code;
}

int RunCompile(const std::string& dir, const std::string& output) {
  Compiled c;
  auto started = std::chrono::steady_clock::now();
  if (int code = LoadCompiled(dir, &c, /*quiet_warnings=*/false)) return code;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  auto bytes = rules::SerializeRuleSet(*c.set);
  if (!bytes.ok()) {
    std::fprintf(stderr, "vigil rules compile: %s\n", bytes.status().message().c_str());
    return 2;
  }
  Status s = rules::WriteFileAtomically(output, *bytes);
  if (!s.ok()) {
    std::fprintf(stderr, "vigil rules compile: %s\n", s.message().c_str());
    return 2;
  }
  std::printf("%s: compiled %zu rules (%zu patterns) of %s in %.2f s into %s (%zu bytes, for %s)\n", dir.c_str(),
              c.set->rules().size(), c.set->impl().patterns.size(), c.set->pack_label().c_str(), seconds,
              output.c_str(), bytes->size(), rules::EngineFingerprint().c_str());
  return 0;
}

int RunExplain(const std::string& dir, const std::string& rule_id, const std::string& text) {
  Compiled c;
  if (int code = LoadCompiled(dir, &c, /*quiet_warnings=*/true)) return code;
  const rules::Rule* rule = c.pack.FindRule(rule_id);
  if (!rule) {
    std::fprintf(stderr, "vigil rules explain: %s: no rule '%s'\n", dir.c_str(), rule_id.c_str());
    return 2;
  }
  scanner::Normalizer normalizer;
  scanner::NormalizedText normalized;
  normalizer.Normalize(text, &normalized);
  std::printf("rule:     %s (%s, weight %.2f, %s)\n", rule->id.c_str(), rule->category.c_str(), rule->weight,
              rules::EvidenceName(rule->evidence));
  std::printf("text:     %s\n", Quote(text).c_str());
  std::printf("read as:  %s\n", Quote(normalized.text).c_str());
  auto changes = scanner::DescribeNormalization(text, normalized);
  if (changes.empty()) {
    std::printf("normalisation changed nothing beyond case and spacing\n");
  } else {
    std::printf("normalisation:\n");
    for (const auto& ch : changes) {
      std::printf("  %u..%u %s read as %s\n", ch.start, ch.end, Quote(ch.original).c_str(), Quote(ch.read_as).c_str());
    }
  }
  std::string raw_clean;
  scanner::ReplaceInvalidUtf8Bytes(text, &raw_clean);
  const std::string& subject = rule->match_on == rules::MatchOn::kRaw ? raw_clean : normalized.text;
  std::printf("patterns (on the %s text):\n", rules::MatchOnName(rule->match_on));
  for (size_t i = 0; i < rule->patterns.size(); ++i) {
    RE2 re(rule->patterns[i].regex, rules::Re2OptionsForPatterns());
    re2::StringPiece input(subject), m;
    size_t pos = 0;
    int found = 0;
    while (pos <= subject.size() && re.Match(input, pos, subject.size(), RE2::UNANCHORED, &m, 1)) {
      size_t b = static_cast<size_t>(m.data() - subject.data()), e = b + m.size();
      pos = m.empty() ? e + 1 : e;
      if (m.empty()) continue;
      uint32_t ob = static_cast<uint32_t>(b), oe = static_cast<uint32_t>(e);
      if (rule->match_on == rules::MatchOn::kNormalized) normalized.ToOriginal(ob, oe, &ob, &oe);
      std::printf("  [%zu] %s matched %s at %u..%u (original %s)\n", i, Quote(rule->patterns[i].regex).c_str(),
                  Quote(std::string_view(subject).substr(b, e - b)).c_str(), ob, oe,
                  Quote(std::string_view(text).substr(ob, oe - ob)).c_str());
      ++found;
    }
    if (found == 0) std::printf("  [%zu] %s no match\n", i, Quote(rule->patterns[i].regex).c_str());
  }
  scanner::Document doc;
  doc.id = "explain";
  doc.text = text;
  scanner::ScanResult result;
  auto context = c.scanner->NewContext();
  Status s = c.scanner->Scan(doc, context.get(), &result);
  if (!s.ok()) {
    std::fprintf(stderr, "vigil rules explain: %s\n", s.message().c_str());
    return 2;
  }
  bool fires = RuleFires(result, rule->id);
  std::printf("verdict:  %s — %s\n", fires ? "fires" : "does not fire", Explain(result, rule->id).c_str());
  std::printf("document: score %.4g%s, categories:", result.score, result.flagged ? " (flagged)" : "");
  for (const auto& cat : result.categories) std::printf(" %s", cat.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace

void AddRulesRunCommands(CLI::App* rules, int* exit_code) {
  auto test = std::make_shared<TestFlags>();
  CLI::App* t = rules->add_subcommand("test", "Run every example and negative example of the packs");
  t->add_option("PACK", test->packs, "Pack folders")->required();
  t->add_option("--rule", test->rule, "Test only this rule");
  t->add_flag("--json", test->json, "Failures as a JSON array");
  t->add_flag("-v,--verbose", test->verbose, "Also list passing examples");
  t->callback([test, exit_code] { *exit_code = RunTest(*test); });

  auto compile_dir = std::make_shared<std::string>();
  auto compile_out = std::make_shared<std::string>();
  CLI::App* c = rules->add_subcommand("compile", "Compile a pack into a rule set file for scanning");
  c->add_option("PACK", *compile_dir, "Pack folder")->required();
  c->add_option("-o,--output", *compile_out, "Output file (.vrs)")->required();
  c->callback([compile_dir, compile_out, exit_code] { *exit_code = RunCompile(*compile_dir, *compile_out); });

  auto explain_args = std::make_shared<std::vector<std::string>>();
  CLI::App* e = rules->add_subcommand("explain", "Show how one rule reads a text: normalisation, patterns, verdict");
  e->add_option("ARGS", *explain_args, "PACK RULE_ID TEXT")->required()->expected(3);
  e->callback([explain_args, exit_code] {
    const auto& a = *explain_args;
    *exit_code = RunExplain(a[0], a[1], a[2]);
  });
}

}  // namespace vigil::tools
