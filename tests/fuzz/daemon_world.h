// vigild's services over a fresh temporary store, for the fuzz targets that
// drive them (fuzz_api_service, fuzz_http_server): a one-rule pack, a token
// per role, a one-worker ingest pipeline and the API service. Built once per
// process and never destroyed (worker threads would otherwise outlive
// main's return); the directory is removed at exit.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "storage/store.h"
#include "tools/api_service.h"
#include "tools/ingest_pipeline.h"
#include "tools/live_rules.h"
#include "tools/metrics.h"
#include "tools/token_store.h"

namespace vigil::fuzz {

// A broken invariant: say which, and abort so that libFuzzer keeps the input.
[[noreturn]] inline void Broken(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "invariant broken: %s\n", what);
  if (!detail.empty()) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(std::min<size_t>(detail.size(), 2000)), detail.data());
  }
  std::abort();
}

inline void Require(bool condition, const char* what, std::string_view detail = {}) {
  if (!condition) Broken(what, detail);
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

struct DaemonWorld {
  std::string dir;   // the temporary directory
  std::string pack;  // dir/pack
  std::string data;  // dir/data
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<daemon::LiveRules> rules;
  daemon::Metrics metrics;
  std::string admin, investigator, ingest;  // one token per role
  std::unique_ptr<daemon::TokenAuth> auth;
  std::unique_ptr<daemon::IngestPipeline> pipeline;
  std::unique_ptr<daemon::ApiService> api;
};

// `name` prefixes the directory, made under `base`; the limits go to the
// pipeline and the API service.
inline DaemonWorld* MakeDaemonWorld(const char* name, const std::filesystem::path& base, size_t max_body_bytes,
                                    size_t max_line_bytes) {
  auto* w = new DaemonWorld;
  std::string tmpl = (base / (std::string(name) + "_XXXXXX")).string();
  Require(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  w->dir = tmpl;
  static std::string removed_at_exit;
  removed_at_exit = tmpl;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(removed_at_exit, ec);
  });
  w->pack = w->dir + "/pack";
  w->data = w->dir + "/data";
  std::filesystem::create_directories(w->pack);
  WriteFile(w->pack + "/pack.yaml",
            "name: fuzz\nversion: 0.1.0\ndescription: fuzz\nthreshold: 0.5\ncategories:\n"
            "  - {id: youth, title: Youth, description: youth language}\n");
  WriteFile(w->pack + "/rules.yaml",
            "rules:\n  - id: youth.fresh\n    title: Fresh\n    description: test rule\n    category: youth\n"
            "    weight: 0.6\n    evidence: supported\n    patterns: ['\\bfresh\\b']\n");
  auto opened = storage::Store::Open(w->data, storage::OpenOptions{});
  Require(opened.ok(), "store opens");
  w->store = std::move(opened.value());
  w->rules = std::make_unique<daemon::LiveRules>(w->pack, tools::RuleLoadOptions{""}, scanner::Scanner::Options{});
  std::string diagnostics;
  Require(w->rules->LoadInitial(&diagnostics).ok(), "pack loads", diagnostics);
  daemon::TokenStore tokens(w->data);
  w->ingest = *tokens.Create("crawler", daemon::Role::kIngest, nullptr);
  w->investigator = *tokens.Create("ana", daemon::Role::kInvestigator, nullptr);
  w->admin = *tokens.Create("root", daemon::Role::kAdmin, nullptr);
  w->auth = std::make_unique<daemon::TokenAuth>(w->data);
  daemon::IngestPipeline::Options po;
  po.scan_workers = 1;
  po.committers = 1;
  po.max_line_bytes = max_line_bytes;
  w->pipeline = std::make_unique<daemon::IngestPipeline>(w->store.get(), w->rules.get(), &w->metrics, po);
  w->api = std::make_unique<daemon::ApiService>(w->store.get(), w->rules.get(), w->pipeline.get(), w->auth.get(),
                                                &w->metrics, daemon::ApiService::Options{max_body_bytes, max_line_bytes});
  return w;
}

}  // namespace vigil::fuzz
