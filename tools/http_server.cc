// HttpServer on Boost.Beast: one io_context run by a few threads; each
// connection is a session on its own strand.
//
// HTTP session: read the header (header timeout, header size limit) ->
// ask ApiService::Authorize (401/403/404/405 without reading the body) ->
// set the body limit for the route (413 before reading when the declared
// length is over it; "100 Continue" when asked) -> read the body (read
// timeout) -> post the request to the API pool -> the service answers
// through a callback, which posts the response back to the session's
// strand -> write (keep-alive unless the client, an error or a drain says
// otherwise).
//
// NDJSON session (the TCP ingest port): check the "AUTH <token>" first
// line (ingest role), read chunks, cut them into lines
// (an oversized line is skipped and reported, never buffered whole),
// gather lines into a batch (up to tcp_batch_lines or tcp_batch_millis),
// submit it; acknowledgements are written in batch order, one JSON line
// per batch, once the batch is durable. A full pipeline stops reading from
// the socket (TCP backpressure) and retries shortly.
//
// Drain (SIGTERM): close the listeners, close idle connections, let busy
// ones finish their request, shut the pipeline down (committing what is
// queued), wait for sessions to write their replies, stop.
#include "tools/http_server.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace vigil::daemon {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using json = nlohmann::ordered_json;

constexpr const char* kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'";
constexpr size_t kStaticBodyLimit = 1 << 20;
constexpr size_t kSmallBody = 4096;
constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxBatchesInFlightPerConnection = 4;
constexpr auto kQueueFullRetry = std::chrono::milliseconds(20);
constexpr auto kDrainGrace = std::chrono::seconds(10);

std::string_view ToStd(beast::string_view s) { return std::string_view(s.data(), s.size()); }

std::string ContentTypeFor(const fs::path& p) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},          {".svg", "image/svg+xml"},
      {".png", "image/png"},                  {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},               {".txt", "text/plain; charset=utf-8"},
      {".map", "application/json"}};
  auto it = kTypes.find(p.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

// The open sessions, shared with them so that a session destroyed late
// (with the io_context) still finds it.
struct SessionRegistry {
  std::atomic<size_t> connections{0};
  std::mutex mu;
  std::map<uint64_t, std::function<void()>> closers;  // session id -> close-if-idle (posts to its strand)
  uint64_t next_id = 1;

  uint64_t Register(std::function<void()> close_if_idle) {
    std::lock_guard lock(mu);
    uint64_t id = next_id++;
    closers[id] = std::move(close_if_idle);
    return id;
  }
  void Unregister(uint64_t id) {
    std::lock_guard lock(mu);
    closers.erase(id);
    connections.fetch_sub(1);
  }
  void CloseIdle() {
    std::lock_guard lock(mu);
    for (auto& [id, close_if_idle] : closers) close_if_idle();
  }
};

}  // namespace

struct HttpServer::Impl {
  DaemonConfig config;
  fs::path ui_dir;  // canonical; empty: no UI
  ApiService* api = nullptr;
  IngestPipeline* pipeline = nullptr;
  LiveRules* rules = nullptr;
  Metrics* metrics = nullptr;

  net::io_context ioc;
  net::thread_pool api_pool{2};
  tcp::acceptor http_acceptor{ioc};
  tcp::acceptor ingest_acceptor{ioc};
  bool ingest_enabled = false;
  net::signal_set signals{ioc};

  std::atomic<bool> draining{false};
  std::shared_ptr<SessionRegistry> registry = std::make_shared<SessionRegistry>();
  std::thread drain_thread;

  void Accept(bool ingest);
  void OnSignal(int signo);
  void StartDrain();
  bool ServeStatic(std::string_view target, ApiResponse* out) const;
};

namespace {

// ---------------------------------------------------------------- HTTP --

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server), registry_(server->registry) {}

  ~HttpSession() { registry_->Unregister(id_); }

  void Start() {
    std::weak_ptr<HttpSession> weak = weak_from_this();
    id_ = registry_->Register([weak] {
      if (auto self = weak.lock()) {
        net::post(self->stream_.get_executor(), [self] {
          if (self->idle_) self->Close();
        });
      }
    });
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

 private:
  void ReadHeader() {
    if (server_->draining.load()) return Close();
    idle_ = buffer_.size() == 0;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->config.max_header_bytes));
    // The route's limit is set once the header is known (OnHeader); until
    // then a large Content-Length must not fail the header read.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(std::chrono::seconds(server_->config.header_timeout_seconds));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset) {
      return Close();
    }
    if (ec == beast::error::timeout) {
      if (buffer_.size() > 0 && server_->metrics) server_->metrics->CountError(ErrorKind::kTimeout);
      return Close();
    }
    if (ec == http::error::header_limit) {
      if (server_->metrics) server_->metrics->CountError(ErrorKind::kTooLarge);
      return Reply(ApiService::Error(431, fmt::format("request header larger than {} bytes",
                                                      server_->config.max_header_bytes)),
                   /*close=*/true);
    }
    if (ec) {
      if (server_->metrics) server_->metrics->CountError(ErrorKind::kBadRequest);
      return Reply(ApiService::Error(400, "malformed HTTP request: " + ec.message()), true);
    }
    const auto& req = parser_->get();
    method_ = std::string(req.method_string());
    target_ = std::string(req.target());
    keep_alive_ = req.keep_alive();
    http10_ = req.version() < 11;
    std::string_view path = std::string_view(target_).substr(0, target_.find('?'));
    api_ = ApiService::IsApiPath(path);
    bool has_body = parser_->content_length().value_or(0) > 0 || parser_->chunked();
    if (api_) {
      if (std::optional<ApiResponse> refused =
              server_->api->Authorize(method_, target_, ToStd(req[http::field::authorization]))) {
        return Reply(std::move(*refused), /*close=*/has_body);
      }
      size_t limit = server_->api->BodyLimit(method_, path);
      parser_->body_limit(limit);
      if (parser_->content_length() && *parser_->content_length() > limit) {
        if (server_->metrics) server_->metrics->CountError(ErrorKind::kTooLarge);
        return Reply(ApiService::Error(413, fmt::format("body is {} bytes; the limit is {}",
                                                        *parser_->content_length(), limit)),
                     true);
      }
    } else if (method_ != "GET" && method_ != "HEAD") {
      ApiResponse r = ApiService::Error(405, "static files accept GET only");
      r.headers.emplace_back("Allow", "GET");
      return Reply(std::move(r), has_body);
    } else {
      parser_->body_limit(kStaticBodyLimit);
    }
    // Beast reads at most max(512, free capacity) bytes per receive; a
    // large body read through a small buffer costs hundreds of receives,
    // timer updates and wake-ups per request. Room for 64 KiB per read
    // (kept for the connection's next requests; at most
    // max_connections * 64 KiB in all).
    if (parser_->content_length().value_or(0) > kSmallBody || parser_->chunked()) buffer_.reserve(kReadChunk);
    // An HTTP/1.0 client never asked for it: RFC 9110, 10.1.1 ("MUST
    // ignore" the expectation); the interim reply is HTTP/1.1 like every
    // other (found by fuzz_http_server).
    if (beast::iequals(req[http::field::expect], "100-continue") && has_body && req.version() >= 11) {
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      stream_.expires_after(std::chrono::seconds(server_->config.read_timeout_seconds));
      return http::async_write(stream_, *cont, [self = shared_from_this(), cont](beast::error_code ec, size_t) {
        if (ec) return self->Close();
        self->ReadBody();
      });
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(std::chrono::seconds(server_->config.read_timeout_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      if (server_->metrics) server_->metrics->CountError(ErrorKind::kTooLarge);
      return Reply(ApiService::Error(413, "body larger than the limit for this endpoint"), true);
    }
    if (ec == beast::error::timeout) {
      if (server_->metrics) server_->metrics->CountError(ErrorKind::kTimeout);
      return Reply(ApiService::Error(408, "timed out reading the request body"), true);
    }
    if (ec) return Close();
    stream_.expires_never();
    http::request<http::string_body> req = parser_->release();
    if (!api_) {
      ApiResponse r;
      if (!server_->ServeStatic(target_, &r)) r = ApiService::Error(404, "no such file");
      if (method_ == "HEAD") r.body.clear();
      return Reply(std::move(r), false);
    }
    ApiRequest request;
    request.method = method_;
    request.target = target_;
    request.authorization = std::string(req[http::field::authorization]);
    request.body = std::move(req.body());
    busy_ = true;
    net::post(server_->api_pool, [self = shared_from_this(), request = std::move(request)]() mutable {
      self->server_->api->Handle(std::move(request), [self](ApiResponse response) {
        net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
          self->busy_ = false;
          self->Reply(std::move(response), false);
        });
      });
    });
  }

  void Reply(ApiResponse r, bool close) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::server, "vigild");
    res->set(http::field::content_type, r.content_type);
    res->set("Content-Security-Policy", kCsp);
    res->set("X-Content-Type-Options", "nosniff");
    res->set("Referrer-Policy", "no-referrer");
    if (api_ || r.status >= 400) res->set(http::field::cache_control, "no-store");
    for (auto& [k, v] : r.headers) res->set(k, v);
    bool keep = keep_alive_ && !close && !server_->draining.load();
    res->keep_alive(keep);
    // An HTTP/1.0 client keeps the connection only when told so.
    if (keep && http10_) res->set(http::field::connection, "keep-alive");
    res->body() = std::move(r.body);
    res->prepare_payload();
    if (r.status >= 400) spdlog::debug("{} {} -> {}", method_, target_, r.status);
    stream_.expires_after(std::chrono::seconds(server_->config.read_timeout_seconds));
    http::async_write(stream_, *res, [self = shared_from_this(), res, keep](beast::error_code ec, size_t) {
      if (ec || !keep) return self->Close();
      self->ReadHeader();
    });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  std::shared_ptr<SessionRegistry> registry_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string method_;
  std::string target_;
  bool keep_alive_ = true;
  bool http10_ = false;  // the current request is HTTP/1.0
  bool api_ = false;
  bool idle_ = false;
  bool busy_ = false;
  uint64_t id_ = 0;
};

// ------------------------------------------------------- TCP NDJSON port --

class NdjsonSession : public std::enable_shared_from_this<NdjsonSession> {
 public:
  NdjsonSession(tcp::socket socket, HttpServer::Impl* server)
      : socket_(std::move(socket)),
        server_(server),
        registry_(server->registry),
        read_timer_(socket_.get_executor()),
        batch_timer_(socket_.get_executor()),
        retry_timer_(socket_.get_executor()) {}

  ~NdjsonSession() { registry_->Unregister(id_); }

  void Start() {
    std::weak_ptr<NdjsonSession> weak = weak_from_this();
    id_ = registry_->Register([weak] {
      if (auto self = weak.lock()) {
        net::post(self->socket_.get_executor(), [self] { self->OnDrain(); });
      }
    });
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    if (reading_ || eof_ || closed_ || waiting_for_queue_ || in_flight_ >= kMaxBatchesInFlightPerConnection) return;
    reading_ = true;
    read_timer_.expires_after(std::chrono::seconds(server_->config.read_timeout_seconds));
    read_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec && self->reading_) {
        if (self->server_->metrics) self->server_->metrics->CountError(ErrorKind::kTimeout);
        beast::error_code ignored;
        self->socket_.cancel(ignored);  // the read completes with operation_aborted
        self->timed_out_ = true;
      }
    });
    socket_.async_read_some(net::buffer(chunk_), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->OnRead(ec, n);
    });
  }

  void OnRead(beast::error_code ec, size_t n) {
    reading_ = false;
    read_timer_.cancel();
    if (ec) {
      // End of input (or a timeout/reset): what is complete is still
      // submitted; an unterminated last line counts as a line on EOF.
      if (ec == net::error::eof && (!line_.empty() || discarding_) && authenticated_) EndLine();
      eof_ = true;
      if (ec != net::error::eof && !timed_out_) error_close_ = true;
      return SubmitBatch();
    }
    std::string_view data(chunk_.data(), n);
    size_t pos = 0;
    while (pos < data.size()) {
      size_t nl = data.find('\n', pos);
      std::string_view piece = data.substr(pos, (nl == std::string_view::npos ? data.size() : nl) - pos);
      if (!discarding_) {
        if (line_.size() + piece.size() > server_->config.max_line_bytes) {
          discarding_ = true;
          discarded_bytes_ = line_.size();
          line_.clear();
        } else {
          line_.append(piece);
        }
      }
      if (discarding_) discarded_bytes_ += piece.size();
      if (nl == std::string_view::npos) break;
      EndLine();
      if (auth_failed_) return MaybeFinish();
      pos = nl + 1;
      if (batch_lines_ >= static_cast<uint64_t>(server_->config.tcp_batch_lines)) SubmitBatch();
    }
    if (batch_lines_ > 0) {
      if (server_->config.tcp_batch_millis == 0) {
        SubmitBatch();
      } else if (!batch_timer_armed_) {
        batch_timer_armed_ = true;
        batch_timer_.expires_after(std::chrono::milliseconds(server_->config.tcp_batch_millis));
        batch_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
          self->batch_timer_armed_ = false;
          if (!ec) self->SubmitBatch();
        });
      }
    }
    Read();
  }

  // The first line of a connection must be "AUTH <token>" with a token of
  // the ingest (or admin) role; it is not numbered.
  void Authenticate() {
    std::string line = discarding_ ? std::string() : std::move(line_);
    line_.clear();
    discarding_ = false;
    discarded_bytes_ = 0;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::optional<ApiResponse> refused =
        line.rfind("AUTH ", 0) == 0
            ? server_->api->Authorize("POST", "/v1/ads", "Bearer " + line.substr(5))
            : std::optional<ApiResponse>(ApiService::Error(401, "start with a line 'AUTH <token>'"));
    if (!refused) {
      authenticated_ = true;
      return;
    }
    if (server_->metrics) server_->metrics->CountError(ErrorKind::kUnauthorized);
    nlohmann::json body = nlohmann::json::parse(refused->body, nullptr, false);
    std::string message = body.is_object() && body.contains("error") ? body["error"].get<std::string>() : "refused";
    write_queue_.push_back(Dump(json{{"error", message}, {"status", refused->status}}) + "\n");
    auth_failed_ = true;
    eof_ = true;
    Write();
  }

  void EndLine() {
    if (!authenticated_) return Authenticate();
    if (batch_lines_ == 0) batch_first_line_ = next_line_;
    if (discarding_) {
      oversized_.push_back({next_line_, fmt::format("line is {} bytes; the limit is {}", discarded_bytes_,
                                                    server_->config.max_line_bytes)});
      batch_.push_back('\n');  // keeps the numbering of the lines after it
      discarding_ = false;
      discarded_bytes_ = 0;
    } else {
      if (!line_.empty() && line_.back() == '\r') line_.pop_back();
      batch_.append(line_);
      batch_.push_back('\n');
      line_.clear();
    }
    ++batch_lines_;
    ++next_line_;
  }

  void SubmitBatch() {
    if (waiting_for_queue_) return;
    if (batch_lines_ == 0) return MaybeFinish();
    if (batch_timer_armed_) batch_timer_.cancel();
    uint64_t number = next_batch_;
    auto self = shared_from_this();
    std::vector<LineError> oversized = oversized_;
    Status s = server_->pipeline->Submit(batch_, batch_first_line_, [self, number, oversized](IngestOutcome out) {
      net::post(self->socket_.get_executor(), [self, number, oversized, out = std::move(out)]() mutable {
        self->OnDurable(number, std::move(oversized), std::move(out));
      });
    });
    if (!s.ok()) {
      if (server_->draining.load()) {
        // Shutting down: this batch is refused; say so and stop.
        QueueAck(number, Dump(json{{"batch", number}, {"error", s.message()}}));
        ++next_batch_;
        ClearBatch();
        eof_ = true;
        return MaybeFinish();
      }
      if (server_->metrics) server_->metrics->CountError(ErrorKind::kQueueFull);
      waiting_for_queue_ = true;
      retry_timer_.expires_after(kQueueFullRetry);
      retry_timer_.async_wait([self](beast::error_code ec) {
        self->waiting_for_queue_ = false;
        if (ec) return;
        self->SubmitBatch();
        self->Read();
      });
      return;
    }
    ++next_batch_;
    ++in_flight_;
    ClearBatch();
  }

  void ClearBatch() {
    batch_.clear();
    batch_lines_ = 0;
    oversized_.clear();
  }

  static std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

  void OnDurable(uint64_t number, std::vector<LineError> oversized, IngestOutcome out) {
    --in_flight_;
    json ack;
    if (!out.status.ok()) {
      ack = {{"batch", number}, {"error", "store: " + out.status.message()}};
    } else {
      std::vector<LineError> errors = std::move(out.errors);
      errors.insert(errors.end(), oversized.begin(), oversized.end());
      std::sort(errors.begin(), errors.end(), [](const LineError& a, const LineError& b) { return a.line < b.line; });
      json e = json::array();
      for (const LineError& le : errors) e.push_back({{"line", le.line}, {"error", le.error}});
      ack = {{"batch", number},        {"accepted", out.accepted}, {"new", out.new_ads + out.new_versions},
             {"duplicates", out.duplicates}, {"flagged", out.flagged},   {"errors", std::move(e)},
             {"pack", out.pack}};
    }
    QueueAck(number, Dump(ack));
    Read();
    MaybeFinish();
  }

  void QueueAck(uint64_t number, std::string line) {
    ready_acks_[number] = std::move(line) + "\n";
    while (!ready_acks_.empty() && ready_acks_.begin()->first == next_ack_) {
      write_queue_.push_back(std::move(ready_acks_.begin()->second));
      ready_acks_.erase(ready_acks_.begin());
      ++next_ack_;
    }
    Write();
  }

  void Write() {
    if (writing_ || write_queue_.empty() || closed_) return;
    writing_ = true;
    net::async_write(socket_, net::buffer(write_queue_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->writing_ = false;
                       self->write_queue_.pop_front();
                       if (ec) {
                         self->error_close_ = true;
                         self->write_queue_.clear();
                       }
                       self->Write();
                       self->MaybeFinish();
                     });
  }

  void OnDrain() {
    // Stop reading new data; what is buffered is submitted and acknowledged.
    if (reading_) {
      beast::error_code ignored;
      socket_.cancel(ignored);
    }
    eof_ = true;
    SubmitBatch();
  }

  void MaybeFinish() {
    if (closed_ || !eof_ || in_flight_ > 0 || writing_ || !write_queue_.empty() || batch_lines_ > 0 ||
        waiting_for_queue_) {
      return;
    }
    closed_ = true;
    read_timer_.cancel();
    batch_timer_.cancel();
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  tcp::socket socket_;
  HttpServer::Impl* server_;
  std::shared_ptr<SessionRegistry> registry_;
  net::steady_timer read_timer_;
  net::steady_timer batch_timer_;
  net::steady_timer retry_timer_;
  std::array<char, 64 * 1024> chunk_{};
  std::string line_;
  bool discarding_ = false;
  size_t discarded_bytes_ = 0;
  std::string batch_;
  uint64_t batch_lines_ = 0;
  uint64_t batch_first_line_ = 1;
  uint64_t next_line_ = 1;
  std::vector<LineError> oversized_;
  uint64_t next_batch_ = 1;
  uint64_t next_ack_ = 1;
  std::map<uint64_t, std::string> ready_acks_;
  std::deque<std::string> write_queue_;
  int in_flight_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool eof_ = false;
  bool closed_ = false;
  bool timed_out_ = false;
  bool error_close_ = false;
  bool waiting_for_queue_ = false;
  bool batch_timer_armed_ = false;
  bool authenticated_ = false;
  bool auth_failed_ = false;
  uint64_t id_ = 0;
};

}  // namespace

// ---------------------------------------------------------------- server --

bool HttpServer::Impl::ServeStatic(std::string_view target, ApiResponse* out) const {
  if (ui_dir.empty()) return false;
  std::string path;
  if (!PercentDecode(target.substr(0, target.find('?')), false, &path)) return false;
  if (path.find('\0') != std::string::npos || path.empty() || path[0] != '/') return false;
  if (path == "/") path = "/index.html";
  std::error_code ec;
  fs::path candidate = fs::weakly_canonical(ui_dir / fs::path(path.substr(1)), ec);
  if (ec) return false;
  // Must stay inside the UI folder (no "..", no symlinks out).
  std::string root = ui_dir.string() + "/";
  if (candidate.string().compare(0, root.size(), root) != 0) return false;
  if (!fs::is_regular_file(candidate, ec)) return false;
  std::ifstream in(candidate, std::ios::binary);
  if (!in) return false;
  out->status = 200;
  out->content_type = ContentTypeFor(candidate);
  out->body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  out->headers.emplace_back("Cache-Control", "no-cache");
  return true;
}

void HttpServer::Impl::Accept(bool ingest) {
  tcp::acceptor& acceptor = ingest ? ingest_acceptor : http_acceptor;
  acceptor.async_accept(net::make_strand(ioc), [this, ingest](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || draining.load()) return;
    if (!ec) {
      if (registry->connections.load() >= config.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        registry->connections.fetch_add(1);
        socket.set_option(tcp::no_delay(true), ec);
        if (ingest) {
          std::make_shared<NdjsonSession>(std::move(socket), this)->Start();
        } else {
          std::make_shared<HttpSession>(std::move(socket), this)->Start();
        }
      }
    }
    Accept(ingest);
  });
}

void HttpServer::Impl::OnSignal(int signo) {
  if (signo == SIGHUP) {
    spdlog::info("SIGHUP: reloading rules from {}", rules->pack_path());
    rules->Reload([metrics = metrics](const ReloadOutcome& out) {
      if (out.status.ok()) {
        if (metrics) metrics->rule_reloads.fetch_add(1);
      } else {
        if (metrics) metrics->CountError(ErrorKind::kReloadFailed);
        spdlog::error("rules reload refused: {}\n{}", out.status.message(), out.diagnostics);
      }
    });
    signals.async_wait([this](beast::error_code ec, int s) {
      if (!ec) OnSignal(s);
    });
    return;
  }
  spdlog::info("signal {}: draining", signo);
  StartDrain();
}

void HttpServer::Impl::StartDrain() {
  if (draining.exchange(true)) return;
  beast::error_code ec;
  http_acceptor.close(ec);
  if (ingest_enabled) ingest_acceptor.close(ec);
  signals.cancel(ec);
  registry->CloseIdle();
  drain_thread = std::thread([this] {
    pipeline->Shutdown();  // every queued batch committed and its reply posted
    auto deadline = std::chrono::steady_clock::now() + kDrainGrace;
    while (registry->connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (size_t open = registry->connections.load(); open > 0) spdlog::warn("{} connections still open at exit", open);
    ioc.stop();
  });
}

Result<std::unique_ptr<HttpServer>> HttpServer::Create(const DaemonConfig& config, const std::string& ui_dir,
                                                       ApiService* api, IngestPipeline* pipeline, LiveRules* rules,
                                                       Metrics* metrics) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->api = api;
  impl->pipeline = pipeline;
  impl->rules = rules;
  impl->metrics = metrics;
  if (!ui_dir.empty()) {
    std::error_code ec;
    impl->ui_dir = fs::canonical(ui_dir, ec);
    if (ec) return Status::NotFound(fmt::format("--ui {}: {}", ui_dir, ec.message()));
  }
  auto open = [&](tcp::acceptor& acceptor, const std::string& where) -> Status {
    std::string host;
    uint16_t port = 0;
    if (Status s = ParseHostPort(where, &host, &port); !s.ok()) return s;
    beast::error_code ec;
    net::ip::address address = net::ip::make_address(host, ec);
    if (ec) return Status::InvalidArgument(fmt::format("{}: '{}' is not an IP address", where, host));
    tcp::endpoint endpoint(address, port);
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Status::IOError(fmt::format("cannot listen on {}: {}", where, ec.message()));
    return Status::Ok();
  };
  if (Status s = open(impl->http_acceptor, config.listen); !s.ok()) return s;
  if (!config.ingest_listen.empty()) {
    if (Status s = open(impl->ingest_acceptor, config.ingest_listen); !s.ok()) return s;
    impl->ingest_enabled = true;
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  if (impl_->drain_thread.joinable()) impl_->drain_thread.join();
  impl_->api_pool.join();
}

uint16_t HttpServer::port() const { return impl_->http_acceptor.local_endpoint().port(); }

uint16_t HttpServer::ingest_port() const {
  return impl_->ingest_enabled ? impl_->ingest_acceptor.local_endpoint().port() : 0;
}

void HttpServer::Run() {
  Impl* s = impl_.get();
  s->signals.add(SIGINT);
  s->signals.add(SIGTERM);
  s->signals.add(SIGHUP);
  s->signals.async_wait([s](beast::error_code ec, int signo) {
    if (!ec) s->OnSignal(signo);
  });
  s->Accept(false);
  if (s->ingest_enabled) s->Accept(true);
  std::vector<std::thread> threads;
  for (int i = 1; i < s->config.http_threads; ++i) {
    threads.emplace_back([s] {
      pthread_setname_np(pthread_self(), "vigil-http");
      s->ioc.run();
    });
  }
  s->ioc.run();
  for (std::thread& t : threads) t.join();
  if (s->drain_thread.joinable()) s->drain_thread.join();
}

void HttpServer::RequestStop() {
  net::post(impl_->ioc, [s = impl_.get()] { s->StartDrain(); });
}

}  // namespace vigil::daemon
