// HttpServer: vigild's network front (Boost.Beast over Asio): the HTTP API
// and UI, and the optional plain TCP NDJSON ingest port.
//
// It only parses requests, enforces limits (header, body and line sizes,
// connection count) and timeouts (every read has one: no slowloris),
// authenticates from the headers before reading a body, serves the UI's
// static files (path traversal refused), and hands API requests to the
// ApiService (on a small thread pool, so store reads never block I/O).
// Every response carries the Content-Security-Policy and
// X-Content-Type-Options headers.
//
// Signals: SIGHUP reloads the rules; SIGTERM and SIGINT stop accepting,
// let requests in progress finish, drain the ingest pipeline (every queued
// batch is committed and acknowledged) and return from Run.
//
// All Beast and Asio templates live in http_server.cc; this header has
// none. Thread-safety: construct, then call Run from one thread;
// RequestStop may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "rules/status.h"
#include "tools/api_service.h"
#include "tools/daemon_config.h"
#include "tools/ingest_pipeline.h"
#include "tools/live_rules.h"
#include "tools/metrics.h"

namespace vigil::daemon {

class HttpServer {
 public:
  // Binds the listeners (so ports are known and errors reported before
  // Run). `ui_dir` may be empty (no UI). Every pointer must outlive the
  // server.
  static Result<std::unique_ptr<HttpServer>> Create(const DaemonConfig& config, const std::string& ui_dir,
                                                    ApiService* api, IngestPipeline* pipeline, LiveRules* rules,
                                                    Metrics* metrics);
  ~HttpServer();

  uint16_t port() const;
  uint16_t ingest_port() const;  // 0 when the TCP port is off

  // Serves until SIGTERM/SIGINT or RequestStop, then drains (see above).
  void Run();
  void RequestStop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::daemon
