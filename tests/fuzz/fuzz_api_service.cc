// Fuzzes vigild's request handling without sockets: ApiService::Authorize
// then ApiService::Handle, as tools/http_server.cc calls them, over a real
// store, pipeline and rule set in a temporary directory.
//
// Input: byte 0 picks the method, byte 1 the credentials (none, each role's
// token, a forged token, or the second line verbatim as the Authorization
// header); the first line is the target, the rest is the body. Every
// request must be answered exactly once with a status in 200..599; JSON
// responses must be valid JSON; a forged token never gets past 401.
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "storage/store.h"
#include "tools/api_service.h"
#include "tools/ingest_pipeline.h"
#include "tools/live_rules.h"
#include "tools/metrics.h"
#include "tools/token_store.h"

namespace {

using namespace vigil;
using namespace vigil::daemon;

void Require(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
  }
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Everything the service needs, built once and kept for the whole run
// (never destroyed: worker threads outlive main's return otherwise).
struct World {
  std::string dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<LiveRules> rules;
  Metrics metrics;
  std::string tokens[3];  // ingest, investigator, admin
  std::unique_ptr<TokenAuth> auth;
  std::unique_ptr<IngestPipeline> pipeline;
  std::unique_ptr<ApiService> api;
};

std::string g_dir;
void RemoveDir() {
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}

World* MakeWorld() {
  auto* w = new World;
  std::string tmpl = (std::filesystem::temp_directory_path() / "vigil_fuzz_api_XXXXXX").string();
  Require(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  w->dir = tmpl;
  g_dir = tmpl;
  std::atexit(RemoveDir);
  const std::string pack = w->dir + "/pack";
  const std::string data = w->dir + "/data";
  std::filesystem::create_directories(pack);
  WriteFile(pack + "/pack.yaml",
            "name: fuzz\nversion: 0.1.0\ndescription: fuzz\nthreshold: 0.5\ncategories:\n"
            "  - {id: youth, title: Youth, description: youth language}\n");
  WriteFile(pack + "/rules.yaml",
            "rules:\n  - id: youth.fresh\n    title: Fresh\n    description: test rule\n    category: youth\n"
            "    weight: 0.6\n    evidence: supported\n    patterns: ['\\bfresh\\b']\n");
  auto opened = storage::Store::Open(data, storage::OpenOptions{});
  Require(opened.ok(), "store opens");
  w->store = std::move(opened.value());
  w->rules = std::make_unique<LiveRules>(pack, tools::RuleLoadOptions{""}, scanner::Scanner::Options{});
  std::string diagnostics;
  Require(w->rules->LoadInitial(&diagnostics).ok(), "pack loads");
  TokenStore tokens(data);
  w->tokens[0] = *tokens.Create("crawler", Role::kIngest, nullptr);
  w->tokens[1] = *tokens.Create("ana", Role::kInvestigator, nullptr);
  w->tokens[2] = *tokens.Create("root", Role::kAdmin, nullptr);
  w->auth = std::make_unique<TokenAuth>(data);
  IngestPipeline::Options po;
  po.scan_workers = 1;
  po.committers = 1;
  po.max_line_bytes = 64 << 10;
  w->pipeline = std::make_unique<IngestPipeline>(w->store.get(), w->rules.get(), &w->metrics, po);
  w->api = std::make_unique<ApiService>(w->store.get(), w->rules.get(), w->pipeline.get(), w->auth.get(),
                                        &w->metrics, ApiService::Options{1 << 20, 64 << 10});
  return w;
}

constexpr const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = MakeWorld();
  if (size < 2) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::string method = kMethods[data[0] % std::size(kMethods)];
  const size_t eol = rest.find('\n');
  std::string target(rest.substr(0, eol));
  rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);

  std::string authorization;
  const int credential = data[1] % 6;
  bool forged = false;
  if (credential < 3) {
    authorization = "Bearer " + world->tokens[credential];
  } else if (credential == 3) {
    // A forged token: a real one with its last character changed.
    authorization = "Bearer " + world->tokens[2];
    authorization.back() = authorization.back() == 'a' ? 'b' : 'a';
    forged = true;
  } else if (credential == 4) {
    const size_t eol2 = rest.find('\n');
    authorization.assign(rest.substr(0, eol2));
    rest = eol2 == std::string_view::npos ? std::string_view() : rest.substr(eol2 + 1);
  }

  ApiResponse response;
  std::string path = target.substr(0, target.find('?'));
  if (auto refused = world->api->Authorize(method, target, authorization)) {
    response = std::move(*refused);
  } else {
    Require(!forged || !ApiService::IsApiPath(path) || path == "/healthz", "a forged token is refused");
    if (rest.size() > world->api->BodyLimit(method, path)) return 0;  // the HTTP layer answers 413
    ApiRequest request{method, target, authorization, std::string(rest)};
    auto promise = std::make_shared<std::promise<ApiResponse>>();
    auto answered = std::make_shared<std::atomic<int>>(0);
    std::future<ApiResponse> answer = promise->get_future();
    world->api->Handle(std::move(request), [promise, answered](ApiResponse r) {
      Require(answered->fetch_add(1) == 0, "answered exactly once");
      promise->set_value(std::move(r));
    });
    response = answer.get();
  }
  Require(response.status >= 200 && response.status <= 599, "a valid status");
  if (response.content_type == "application/json") {
    Require(nlohmann::json::accept(response.body), "JSON responses are valid JSON");
  }
  return 0;
}
