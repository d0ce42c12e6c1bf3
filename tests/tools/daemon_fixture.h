// Test fixture for vigild's services without sockets: a temporary data
// directory with a store, a tiny rule pack on disk, tokens for each role,
// and the ApiService wired as vigild wires it. Call() runs one request
// and waits for its answer.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "storage/store.h"
#include "tools/api_service.h"
#include "tools/ingest_pipeline.h"
#include "tools/live_rules.h"
#include "tools/metrics.h"
#include "tools/token_store.h"

namespace vigil::daemon::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vigild_test_XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// A two-rule pack: "fresh" (youth, 0.6: flags alone) and "real pics"
// (trust, 0.2). `version` goes into pack.yaml.
inline void WriteTestPack(const std::string& dir, const std::string& version = "0.1.0") {
  std::filesystem::create_directories(dir);
  WriteFile(dir + "/pack.yaml", "name: test\nversion: " + version +
                                    "\ndescription: daemon tests\nthreshold: 0.5\ncategories:\n"
                                    "  - {id: youth, title: Youth, description: youth language}\n"
                                    "  - {id: trust_assurance, title: Trust, description: trust language}\n");
  WriteFile(dir + "/rules.yaml",
            "rules:\n"
            "  - id: youth.fresh\n    title: Fresh\n    description: test rule\n    category: youth\n"
            "    weight: 0.6\n    evidence: supported\n    patterns: ['\\bfresh\\b']\n"
            "  - id: trust.real_pics\n    title: Real pics\n    description: test rule\n"
            "    category: trust_assurance\n    weight: 0.2\n    evidence: supported\n"
            "    patterns: ['\\breal pics\\b']\n");
}

struct DaemonFixture {
  explicit DaemonFixture(IngestPipeline::Options pipeline_options = {}) {
    pack_dir = dir.path() + "/pack";
    data_dir = dir.path() + "/data";
    WriteTestPack(pack_dir);
    auto opened = storage::Store::Open(data_dir, storage::OpenOptions{});
    REQUIRE(opened.ok());
    store = std::move(opened.value());
    rules = std::make_unique<LiveRules>(pack_dir, tools::RuleLoadOptions{""}, scanner::Scanner::Options{});
    std::string diagnostics;
    Status loaded = rules->LoadInitial(&diagnostics);
    INFO(diagnostics);
    REQUIRE(loaded.ok());
    TokenStore tokens(data_dir);
    admin = *tokens.Create("root", Role::kAdmin, nullptr);
    investigator = *tokens.Create("ana", Role::kInvestigator, nullptr);
    ingest = *tokens.Create("crawler", Role::kIngest, nullptr);
    auth = std::make_unique<TokenAuth>(data_dir);
    pipeline = std::make_unique<IngestPipeline>(store.get(), rules.get(), &metrics, pipeline_options);
    api = std::make_unique<ApiService>(store.get(), rules.get(), pipeline.get(), auth.get(), &metrics,
                                       ApiService::Options{1 << 20, 4096});
  }
  ~DaemonFixture() {
    pipeline->Shutdown();
    api.reset();
  }

  ApiResponse Call(const std::string& method, const std::string& target, const std::string& token,
                   std::string body = "") {
    ApiRequest r;
    r.method = method;
    r.target = target;
    if (!token.empty()) r.authorization = "Bearer " + token;
    r.body = std::move(body);
    auto promise = std::make_shared<std::promise<ApiResponse>>();
    std::future<ApiResponse> answer = promise->get_future();
    api->Handle(std::move(r), [promise](ApiResponse response) { promise->set_value(std::move(response)); });
    return answer.get();
  }

  TempDir dir;
  std::string pack_dir;
  std::string data_dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<LiveRules> rules;
  Metrics metrics;
  std::string admin, investigator, ingest;
  std::unique_ptr<TokenAuth> auth;
  std::unique_ptr<IngestPipeline> pipeline;
  std::unique_ptr<ApiService> api;
};

}  // namespace vigil::daemon::testing
