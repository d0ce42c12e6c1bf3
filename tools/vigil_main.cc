// vigil: the command-line tool. Wiring only: each command family registers
// itself from its own file (tools/commands.h); this file builds the app,
// parses, and turns the result into an exit code (0 ok, 1 problems found,
// 2 usage or I/O error).
#include <CLI/CLI.hpp>

#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"vigil: pattern-matching scanner for online ads", "vigil"};
  app.set_version_flag("--version", "vigil 0.1.0");
  app.require_subcommand(1);
  int exit_code = 0;

  CLI::App* rules = app.add_subcommand("rules", "Work with rule packs");
  rules->require_subcommand(1);
  vigil::tools::AddRulesCommands(rules, &exit_code);
  vigil::tools::AddRulesRunCommands(rules, &exit_code);
  vigil::tools::AddScanCommand(&app, &exit_code);
  vigil::tools::AddTokensCommand(&app, &exit_code);
  vigil::tools::AddStoreCommands(&app, &exit_code);
  vigil::tools::AddRescanCommand(&app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help, the version or the usage error
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
