// vigild: the streaming daemon. Wiring only: read the configuration,
// open the store, load the rules, start the ingest pipeline and the HTTP
// server, and on SIGTERM drain and exit 0. docs/operations.md describes
// running it; docs/api.md the HTTP API.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "storage/store.h"
#include "tools/api_service.h"
#include "tools/daemon_config.h"
#include "tools/http_server.h"
#include "tools/ingest_pipeline.h"
#include "tools/live_rules.h"
#include "tools/metrics.h"
#include "tools/rule_loading.h"
#include "tools/threads.h"
#include "tools/token_store.h"

namespace {

namespace fs = std::filesystem;
using namespace vigil;
using namespace vigil::daemon;

std::string DefaultUiDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  fs::path candidate = exe.parent_path() / "../../tools/ui";
  if (fs::is_directory(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  return "";
}

int Run(DaemonConfig config) {
  // Logs go to stderr; stdout carries only the "listening on" lines.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("vigild"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z level=%l %v");
  spdlog::set_level(spdlog::level::from_str(config.log_level));

  storage::OpenOptions open_options;
  open_options.network.min_cities = config.network_min_cities;
  open_options.network.window_days = config.network_window_days;
  open_options.network.boost = config.network_boost;
  Result<std::unique_ptr<storage::Store>> store = storage::Store::Open(config.data, open_options);
  if (!store.ok()) {
    std::fprintf(stderr, "vigild: %s\n", store.status().message().c_str());
    return 2;
  }

  const std::string pack = config.rules.empty() ? tools::DefaultPackPath() : config.rules;
  scanner::Scanner::Options scan_options;
  scan_options.phone_region = config.phone_region;
  LiveRules rules(pack, tools::RuleLoadOptions{config.rules_cache}, scan_options);
  std::string diagnostics;
  if (Status s = rules.LoadInitial(&diagnostics); !s.ok()) {
    if (!diagnostics.empty()) std::fputs(diagnostics.c_str(), stderr);
    std::fprintf(stderr, "vigild: %s\n", s.message().c_str());
    return 2;
  }

  Metrics metrics;
  TokenAuth auth(config.data);
  IngestPipeline::Options pipeline_options;
  pipeline_options.scan_workers = tools::ThreadsOrCores(config.threads);
  pipeline_options.committers = config.committers;
  pipeline_options.max_batches = config.queue_batches;
  pipeline_options.max_bytes = config.queue_bytes;
  pipeline_options.max_line_bytes = config.max_line_bytes;
  IngestPipeline pipeline(store->get(), &rules, &metrics, pipeline_options);
  metrics.scan_queue_batches = [&pipeline] { return pipeline.scan_queue_batches(); };
  metrics.commit_queue_batches = [&pipeline] { return pipeline.commit_queue_batches(); };
  metrics.queued_bytes = [&pipeline] { return pipeline.queued_bytes(); };

  ApiService api(store->get(), &rules, &pipeline, &auth, &metrics,
                 ApiService::Options{config.max_body_bytes, config.max_line_bytes, config.max_body_lines});
  std::string ui = config.ui.empty() ? DefaultUiDir() : config.ui;
  Result<std::unique_ptr<HttpServer>> server = HttpServer::Create(config, ui, &api, &pipeline, &rules, &metrics);
  if (!server.ok()) {
    std::fprintf(stderr, "vigild: %s\n", server.status().message().c_str());
    return 2;
  }
  std::string host, ingest_host;
  uint16_t unused_port = 0;
  ParseHostPort(config.listen, &host, &unused_port);
  spdlog::info("vigild started pid={} pack={} data={} scan_workers={} ui={}", ::getpid(), rules.PackLabel(),
               config.data, pipeline_options.scan_workers, ui.empty() ? "(none)" : ui);
  if (auth.valid_tokens() == 0) {
    spdlog::warn("no tokens in {}/tokens.jsonl: create one with `vigil tokens create --data {} --user NAME --role "
                 "admin`",
                 config.data, config.data);
  }
  // The listening line on stdout is what scripts wait for.
  std::printf("vigild listening on http://%s:%u\n", host.c_str(), (*server)->port());
  if ((*server)->ingest_port() != 0) {
    ParseHostPort(config.ingest_listen, &ingest_host, &unused_port);
    std::printf("vigild ingest port on %s:%u\n", ingest_host.c_str(), (*server)->ingest_port());
  }
  std::fflush(stdout);

  (*server)->Run();
  pipeline.Shutdown();
  server->reset();
  if (Status s = (*store)->Flush(); !s.ok()) spdlog::warn("flush at exit: {}", s.ToString());
  spdlog::info("vigild stopped: {} documents ingested, {} batches committed", metrics.documents_ingested.load(),
               metrics.batches_committed.load());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vigild: the vigil streaming daemon (docs/operations.md)", "vigild"};
  app.set_version_flag("--version", "vigild 0.1.0");
  std::string config_path;
  DaemonConfig flags;
  int threads = 0;
  app.add_option("--config", config_path, "YAML configuration file (flags override it)");
  app.add_option("--listen", flags.listen, "HTTP address, HOST:PORT (port 0: any free port)");
  app.add_option("--ingest-listen", flags.ingest_listen, "Plain TCP NDJSON ingest address (off by default)");
  app.add_option("--data", flags.data, "Data directory (store and tokens)");
  app.add_option("--rules", flags.rules, "Rule pack folder or compiled file (default: the core pack)");
  app.add_option("--ui", flags.ui, "Folder of the review UI's static files");
  app.add_option("--threads", threads, "Scan workers (0: one per core)");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn or error");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  DaemonConfig config;
  if (!config_path.empty()) {
    if (Status s = LoadConfigFile(config_path, &config); !s.ok()) {
      std::fprintf(stderr, "vigild: %s\n", s.message().c_str());
      return 2;
    }
  }
  if (app.count("--listen")) config.listen = flags.listen;
  if (app.count("--ingest-listen")) config.ingest_listen = flags.ingest_listen;
  if (app.count("--data")) config.data = flags.data;
  if (app.count("--rules")) config.rules = flags.rules;
  if (app.count("--ui")) config.ui = flags.ui;
  if (app.count("--threads")) config.threads = threads;
  if (app.count("--log-level")) config.log_level = flags.log_level;
  if (Status s = ValidateConfig(config); !s.ok()) {
    std::fprintf(stderr, "vigild: %s%s\n", config_path.empty() ? "" : (config_path + ": ").c_str(),
                 s.message().c_str());
    return 2;
  }
  return Run(std::move(config));
}
