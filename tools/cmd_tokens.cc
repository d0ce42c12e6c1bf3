// `vigil tokens create|list|revoke --data DIR`: manage vigild's bearer
// tokens (tools/token_store.h). Works whether or not vigild runs on DIR;
// a running vigild sees changes within a second.
#include <cstdio>
#include <ctime>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "storage/store.h"
#include "tools/commands.h"
#include "tools/token_store.h"

namespace vigil::tools {
namespace {

struct TokenFlags {
  std::string data = storage::kDefaultStoreDir;
  std::string user;
  std::string role;
  std::string id_or_user;
  bool all = false;
};

std::string Time(int64_t t) {
  if (t == 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int Create(const TokenFlags& f) {
  std::optional<daemon::Role> role = daemon::ParseRole(f.role);
  if (!role) {
    std::fprintf(stderr, "vigil tokens create: --role must be ingest, investigator or admin\n");
    return 2;
  }
  daemon::TokenStore store(f.data);
  daemon::TokenRecord record;
  Result<std::string> token = store.Create(f.user, *role, &record);
  if (!token.ok()) {
    std::fprintf(stderr, "vigil tokens create: %s\n", token.status().message().c_str());
    return 2;
  }
  std::printf("created token %s for %s (%s) in %s\n", record.id.c_str(), record.user.c_str(),
              daemon::RoleName(record.role), store.path().c_str());
  std::printf("it is shown only now; keep it secret:\n%s\n", token->c_str());
  return 0;
}

int List(const TokenFlags& f) {
  daemon::TokenStore store(f.data);
  Result<std::vector<daemon::TokenRecord>> records = store.List();
  if (!records.ok()) {
    std::fprintf(stderr, "vigil tokens list: %s\n", records.status().message().c_str());
    return 2;
  }
  std::printf("%-12s  %-20s  %-12s  %-20s  %s\n", "ID", "USER", "ROLE", "CREATED", "REVOKED");
  for (const daemon::TokenRecord& r : *records) {
    if (r.revoked != 0 && !f.all) continue;
    std::printf("%-12s  %-20s  %-12s  %-20s  %s\n", r.id.c_str(), r.user.c_str(), daemon::RoleName(r.role),
                Time(r.created).c_str(), Time(r.revoked).c_str());
  }
  return 0;
}

int Revoke(const TokenFlags& f) {
  daemon::TokenStore store(f.data);
  Result<int> n = store.Revoke(f.id_or_user);
  if (!n.ok()) {
    std::fprintf(stderr, "vigil tokens revoke: %s\n", n.status().message().c_str());
    return n.status().IsNotFound() ? 1 : 2;
  }
  std::printf("revoked %d token%s\n", *n, *n == 1 ? "" : "s");
  return 0;
}

}  // namespace

void AddTokensCommand(CLI::App* app, int* exit_code) {
  auto flags = std::make_shared<TokenFlags>();
  CLI::App* tokens = app->add_subcommand("tokens", "Manage vigild's access tokens");
  tokens->require_subcommand(1);

  CLI::App* create = tokens->add_subcommand("create", "Create a token; it is printed once, on the last line");
  create->add_option("--data", flags->data, "Data directory")->capture_default_str();
  create->add_option("--user", flags->user, "Who the token belongs to")->required();
  create->add_option("--role", flags->role, "ingest, investigator or admin")->required();
  create->callback([flags, exit_code] { *exit_code = Create(*flags); });

  CLI::App* list = tokens->add_subcommand("list", "List tokens (never their secrets)");
  list->add_option("--data", flags->data, "Data directory")->capture_default_str();
  list->add_flag("--all", flags->all, "Include revoked tokens");
  list->callback([flags, exit_code] { *exit_code = List(*flags); });

  CLI::App* revoke = tokens->add_subcommand("revoke", "Revoke a token by id, or every token of a user");
  revoke->add_option("--data", flags->data, "Data directory")->capture_default_str();
  revoke->add_option("id_or_user", flags->id_or_user, "Token id or user name")->required();
  revoke->callback([flags, exit_code] { *exit_code = Revoke(*flags); });
}

}  // namespace vigil::tools
