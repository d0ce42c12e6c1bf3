// DaemonConfig: vigild's settings, from defaults, then a YAML file
// (--config), then command-line flags. docs/operations.md documents every
// key. Unknown keys and wrong types are errors naming file:line.
//
// Plain value type and pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <string>

#include "rules/status.h"

namespace vigil::daemon {

struct DaemonConfig {
  std::string listen = "127.0.0.1:8080";  // HTTP API and UI
  std::string ingest_listen;              // plain TCP NDJSON port; empty: off
  std::string data = "./var/vigil";       // store and tokens
  std::string rules;                      // pack folder or compiled file; empty: the default pack
  std::string ui;                         // UI static files; empty: <exe>/../../tools/ui when present
  std::string rules_cache = "<default>";  // compiled rule-set cache; "" disables
  int threads = 0;                        // scan workers; 0: one per core
  int http_threads = 1;                   // I/O threads of the HTTP server
  int committers = 8;                     // ignored (kept so old configs load); see docs/operations.md
  size_t queue_batches = 64;              // batches held by the ingest pipeline
  size_t queue_bytes = size_t{256} << 20; // bytes held by the ingest pipeline
  size_t max_body_bytes = size_t{64} << 20;
  size_t max_line_bytes = size_t{1} << 20;
  size_t max_body_lines = 10000;          // lines of one POST /v1/ads body
  size_t max_header_bytes = 16 << 10;
  int read_timeout_seconds = 30;          // per read of a request body or NDJSON data
  int header_timeout_seconds = 10;        // per read of a request's headers (idle keep-alive too)
  size_t max_connections = 512;
  int tcp_batch_lines = 1000;             // TCP port: lines per batch
  int tcp_batch_millis = 5;               // TCP port: wait at most this long to fill a batch
  std::string log_level = "info";         // trace, debug, info, warn, error
  std::string phone_region = "US";        // default region for phone numbers
  // The network signal, used when the store is created.
  int network_min_cities = 3;
  int network_window_days = 30;
  double network_boost = 0.2;
};

// Reads `path` into *config (keys present override what is there).
Status LoadConfigFile(const std::string& path, DaemonConfig* config);

// Checks ranges and combinations; InvalidArgument says which key.
Status ValidateConfig(const DaemonConfig& config);

// Splits "host:port" ("127.0.0.1:8080", "[::1]:8080"); port 0 is allowed
// (any free port).
Status ParseHostPort(const std::string& text, std::string* host, uint16_t* port);

}  // namespace vigil::daemon
