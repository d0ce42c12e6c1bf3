// Registration of the `vigil` CLI's command families. Each family lives in
// its own tools/cmd_*.cc and adds its subcommands to the CLI11 app it is
// given; vigil_main.cc only creates the app and calls these. A command's
// callback stores its process exit code in *exit_code: 0 ok, 1 problems
// found (errors in a pack, failed documents), 2 usage or I/O error.
//
// Registration runs once, on the main thread, before parsing.
#pragma once

namespace CLI {
class App;
}

namespace vigil::tools {

// `vigil rules lint PACK...` and `vigil rules list PACK` (tools/cmd_rules.cc),
// added to the `rules` subcommand.
void AddRulesCommands(CLI::App* rules, int* exit_code);

// `vigil rules test`, `vigil rules compile`, `vigil rules explain`
// (tools/cmd_rules_run.cc), added to the `rules` subcommand.
void AddRulesRunCommands(CLI::App* rules, int* exit_code);

// `vigil scan` (tools/cmd_scan.cc), added to the top-level app.
void AddScanCommand(CLI::App* app, int* exit_code);

// `vigil tokens create|list|revoke` (tools/cmd_tokens.cc), added to the
// top-level app.
void AddTokensCommand(CLI::App* app, int* exit_code);

// `vigil ingest`, `vigil leads list|show|review`, `vigil entities show`,
// `vigil export` (tools/cmd_store.cc), added to the top-level app.
void AddStoreCommands(CLI::App* app, int* exit_code);

// `vigil rescan` (tools/cmd_rescan.cc), added to the top-level app.
void AddRescanCommand(CLI::App* app, int* exit_code);

}  // namespace vigil::tools
