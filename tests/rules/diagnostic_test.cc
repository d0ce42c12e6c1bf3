#include "rules/diagnostic.h"

#include <catch2/catch.hpp>

using vigil::rules::ClosestMatch;
using vigil::rules::Diagnostic;
using vigil::rules::Diagnostics;
using vigil::rules::QuotedList;
using vigil::rules::Severity;
using vigil::rules::SourceLocation;

namespace {

Diagnostic Make(Severity s, const std::string& code, const std::string& file, int line, int col,
                const std::string& rule, const std::string& message, const std::string& help) {
  Diagnostic d;
  d.severity = s;
  d.code = code;
  d.location = SourceLocation{file, line, col};
  d.rule_id = rule;
  d.message = message;
  d.help = help;
  return d;
}

}  // namespace

TEST_CASE("a diagnostic prints as file:line:col, code, rule, message and help", "[diagnostic]") {
  Diagnostic d = Make(Severity::kError, "V105", "core/youth.yaml", 12, 13, "youth.teen",
                      "weight 1.5 is outside 0..1", "write a weight between 0 and 1, e.g. 0.3");
  CHECK(d.ToString() ==
        "core/youth.yaml:12:13: error[V105] rule 'youth.teen': weight 1.5 is outside 0..1\n"
        "  help: write a weight between 0 and 1, e.g. 0.3");
  Diagnostic w = Make(Severity::kWarning, "V300", "f.yaml", 3, 0, "", "few examples", "");
  CHECK(w.ToString() == "f.yaml:3: warning[V300]: few examples");
  Diagnostic bare = Make(Severity::kError, "V002", "", 0, 0, "", "cannot read", "");
  CHECK(bare.ToString() == "error[V002]: cannot read");
}

TEST_CASE("Diagnostics sort by file, line, column, then code and count severities",
          "[diagnostic]") {
  Diagnostics diags;
  diags.Add(Make(Severity::kWarning, "V300", "b.yaml", 1, 1, "r", "m3", ""));
  diags.Add(Make(Severity::kError, "V105", "a.yaml", 10, 2, "r", "m2", ""));
  diags.Add(Make(Severity::kError, "V104", "a.yaml", 10, 2, "r", "m1", ""));
  diags.Add(Make(Severity::kError, "V101", "a.yaml", 9, 7, "r", "m0", ""));
  CHECK(diags.ToString() ==
        "a.yaml:9:7: error[V101] rule 'r': m0\n"
        "a.yaml:10:2: error[V104] rule 'r': m1\n"
        "a.yaml:10:2: error[V105] rule 'r': m2\n"
        "b.yaml:1:1: warning[V300] rule 'r': m3\n");
  CHECK(diags.ErrorCount() == 3);
  CHECK(diags.WarningCount() == 1);
  CHECK(diags.HasErrors());
  CHECK_FALSE(Diagnostics().HasErrors());
  CHECK(Diagnostics().ToString().empty());
}

TEST_CASE("ClosestMatch suggests likely typos only", "[diagnostic]") {
  std::vector<std::string> fields = {"category", "weight", "examples", "negative_examples"};
  CHECK(ClosestMatch("categroy", fields) == "category");
  CHECK(ClosestMatch("wieght", fields) == "weight");
  CHECK(ClosestMatch("example", fields) == "examples");
  CHECK(ClosestMatch("negative_example", fields) == "negative_examples");
  CHECK(ClosestMatch("colour", fields).empty());
  CHECK(ClosestMatch("", fields).empty());
  CHECK(QuotedList({"a", "b"}) == "`a`, `b`");
}
