#include "tools/token_store.h"

#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/tools/daemon_fixture.h"

namespace {

using vigil::daemon::Role;
using vigil::daemon::TokenAuth;
using vigil::daemon::TokenRecord;
using vigil::daemon::TokenStore;
using vigil::daemon::testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("a token is vgl_ + 64 hex digits, stored only as a salted hash", "[tokens]") {
  TempDir dir;
  TokenStore store(dir.path() + "/data");
  TokenRecord record;
  auto token = store.Create("ana", Role::kInvestigator, &record);
  REQUIRE(token.ok());
  REQUIRE(token->size() == 68);
  CHECK(token->rfind("vgl_", 0) == 0);
  CHECK(token->find_first_not_of("0123456789abcdef", 4) == std::string::npos);
  std::string file = ReadAll(store.path());
  CHECK(file.find(token->substr(4)) == std::string::npos);
  CHECK(file.find(record.hash) != std::string::npos);
  CHECK(record.salt.size() == 32);
  auto second = store.Create("ana", Role::kInvestigator, nullptr);
  REQUIRE(second.ok());
  CHECK(*second != *token);
  auto list = store.List();
  REQUIRE(list.ok());
  CHECK(list->size() == 2);
  CHECK((*list)[0].id == record.id);
}

TEST_CASE("authentication follows the file: new tokens, revocations, roles", "[tokens]") {
  TempDir dir;
  TokenStore store(dir.path());
  TokenAuth auth(dir.path());
  CHECK_FALSE(auth.Authenticate("vgl_nothing"));
  TokenRecord rec;
  std::string admin = *store.Create("root", Role::kAdmin, &rec);
  std::string ingest = *store.Create("crawler", Role::kIngest, nullptr);
  auto who = auth.Authenticate(admin);
  REQUIRE(who);
  CHECK(who->user == "root");
  CHECK(who->role == Role::kAdmin);
  CHECK(who->token_id == rec.id);
  CHECK(auth.Authenticate(ingest)->role == Role::kIngest);
  CHECK_FALSE(auth.Authenticate(admin + "0"));
  CHECK_FALSE(auth.Authenticate(""));
  REQUIRE(*store.Revoke(rec.id) == 1);
  CHECK_FALSE(auth.Authenticate(admin));
  CHECK(auth.Authenticate(ingest));
  CHECK(store.Revoke(rec.id).status().IsNotFound());
  CHECK(*store.Revoke("crawler") == 1);
  CHECK_FALSE(auth.Authenticate(ingest));
  auto list = store.List();
  REQUIRE(list.ok());
  CHECK(list->size() == 2);
  CHECK((*list)[0].revoked != 0);
}

TEST_CASE("roles: admin may everything, others only their own", "[tokens]") {
  using vigil::daemon::RoleAllows;
  CHECK(RoleAllows(Role::kAdmin, Role::kIngest));
  CHECK(RoleAllows(Role::kAdmin, Role::kInvestigator));
  CHECK(RoleAllows(Role::kInvestigator, Role::kInvestigator));
  CHECK_FALSE(RoleAllows(Role::kInvestigator, Role::kIngest));
  CHECK_FALSE(RoleAllows(Role::kIngest, Role::kInvestigator));
  CHECK_FALSE(RoleAllows(Role::kInvestigator, Role::kAdmin));
  CHECK(vigil::daemon::ParseRole("admin") == Role::kAdmin);
  CHECK_FALSE(vigil::daemon::ParseRole("root"));
}

TEST_CASE("bad users and damaged files are refused with where", "[tokens]") {
  TempDir dir;
  TokenStore store(dir.path());
  CHECK(store.Create("", Role::kAdmin, nullptr).status().IsInvalidArgument());
  CHECK(store.Create("a\nb", Role::kAdmin, nullptr).status().IsInvalidArgument());
  REQUIRE(store.Create("ana", Role::kAdmin, nullptr).ok());
  std::ofstream(store.path(), std::ios::app) << "{broken\n";
  auto list = store.List();
  REQUIRE_FALSE(list.ok());
  CHECK(list.status().IsCorruption());
  CHECK(list.status().message().find("tokens.jsonl:2") != std::string::npos);
}

TEST_CASE("concurrent creates all land (the file lock serialises writers)", "[tokens]") {
  TempDir dir;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&dir, t] {
      TokenStore store(dir.path());
      for (int i = 0; i < 5; ++i) REQUIRE(store.Create("u" + std::to_string(t), Role::kIngest, nullptr).ok());
    });
  }
  for (auto& t : threads) t.join();
  CHECK(TokenStore(dir.path()).List()->size() == 20);
}

TEST_CASE("constant-time comparison", "[tokens]") {
  using vigil::daemon::ConstantTimeEquals;
  CHECK(ConstantTimeEquals("abc", "abc"));
  CHECK_FALSE(ConstantTimeEquals("abc", "abd"));
  CHECK_FALSE(ConstantTimeEquals("abc", "abcd"));
  CHECK(ConstantTimeEquals("", ""));
}
