// ApiService: the vigild HTTP API (docs/api.md) without sockets. Maps a
// request (method, target, Authorization header, body) to a response
// (status, headers, body); the HTTP layer (tools/http_server.cc) only
// parses, enforces limits and timeouts, and writes what this returns.
//
// Authentication and roles are decided here (Authorize) so that the HTTP
// layer can refuse a request from its headers alone, before reading a
// large body: 401 for a missing, unknown or revoked token, 403 for a
// valid token whose role may not use the endpoint.
//
// Handle answers through a callback: most endpoints answer before Handle
// returns; POST /v1/ads answers once its batch is durable (from a
// pipeline thread) and POST /v1/rules/reload once the compile is over
// (from the reload thread). Store reads may block for a few milliseconds,
// so the HTTP layer calls Handle off its I/O threads.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/store.h"
#include "tools/ingest_pipeline.h"
#include "tools/live_rules.h"
#include "tools/metrics.h"
#include "tools/token_store.h"

namespace vigil::daemon {

struct ApiRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // path and query as sent ("/v1/leads?limit=5")
  std::string authorization;  // the Authorization header ("" when absent)
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  std::string body;
};

using Responder = std::function<void(ApiResponse)>;

class ApiService {
 public:
  struct Options {
    size_t max_body_bytes = size_t{64} << 20;  // POST /v1/ads
    size_t max_line_bytes = size_t{1} << 20;   // one NDJSON line
    // Lines of one POST /v1/ads body: a body is one pipeline batch and
    // each line costs a few kB while it is scanned and staged, so the line
    // count, not only the byte count, bounds the memory a request can take.
    size_t max_body_lines = 10000;
  };

  // Every pointer must outlive the service.
  ApiService(storage::Store* store, LiveRules* rules, IngestPipeline* pipeline, TokenAuth* auth,
             Metrics* metrics, Options options);
  ~ApiService();

  // Whether `path` (no query) belongs to the API rather than the UI's
  // static files: /healthz, /metrics and everything under /v1/.
  static bool IsApiPath(std::string_view path);

  // The largest body `method` `path` may send.
  size_t BodyLimit(std::string_view method, std::string_view path) const;

  // Decides from the request line and headers alone. nullopt: go on and
  // read the body; otherwise the response to send (401, 403, 404, 405).
  std::optional<ApiResponse> Authorize(std::string_view method, std::string_view target,
                                       std::string_view authorization);

  // Answers `request` through `done`, exactly once.
  void Handle(ApiRequest request, Responder done);

  // An error response {"error": message}; used by the HTTP layer too.
  static ApiResponse Error(int status, std::string_view message);

 private:
  struct Route;
  struct Context;
  std::optional<ApiResponse> Check(std::string_view method, std::string_view target, std::string_view authorization,
                                   Principal* principal);

  void Healthz(Context& c);
  void GetMetrics(Context& c);
  void Me(Context& c);
  void PostAds(Context& c, Responder done);
  void ListLeads(Context& c);
  void GetAd(Context& c);
  void Review(Context& c);
  void GetEntity(Context& c);
  void Export(Context& c);
  void GetRules(Context& c);
  void Reload(Context& c, Responder done);
  void ListAudit(Context& c);
  void StartRescan(Context& c, Responder done);
  void GetRescan(Context& c);

  storage::Store* store_;
  LiveRules* rules_;
  IngestPipeline* pipeline_;
  TokenAuth* auth_;
  Metrics* metrics_;
  Options options_;
  std::vector<Route> routes_;
  // Background rescans (POST /v1/rescans): their threads are stopped and
  // joined by the destructor.
  struct Rescans;
  std::unique_ptr<Rescans> rescans_;
};

// Percent-decodes `in` ('+' as space when `plus_is_space`). False on a
// malformed escape.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

}  // namespace vigil::daemon
