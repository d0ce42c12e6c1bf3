// Fuzzes vigild's network front through the real server code: the bytes a
// client sends over a socket reach tools/http_server.cc's Beast session
// (request line, headers, chunked bodies, pipelined requests, bad lengths,
// "Expect: 100-continue") with its limits, and from there the ApiService,
// the ingest pipeline and a real store.
//
// Once per process: a store, tokens and a one-rule pack in a temporary
// directory (on /dev/shm when there is one, so store syncs are cheap), an
// ad "keep-1", and an HttpServer on 127.0.0.1:0 (plus its TCP NDJSON port)
// run by a thread, with small limits so the fuzzer can reach them (2 kB of
// header, 8 kB of body, 1 kB NDJSON lines).
//
// Per input: "@A@", "@I@" and "@N@" are replaced by the admin, investigator
// and ingest tokens; an input starting with "AUTH " goes to the NDJSON
// port, anything else to the HTTP port. The bytes are written to a fresh
// loopback connection, which is then half-closed, and everything the
// server sends is read until it closes. Invariants:
//   - the server closes within kReplySeconds of the half-close (it never
//     waits for bytes that cannot come);
//   - HTTP: the reply is zero or more well-formed HTTP/1.1 responses
//     (status 100..599, a Content-Length matching the body, the security
//     headers, valid JSON when the type says JSON); only a connection the
//     server reset may end inside a response;
//   - NDJSON: every reply line is a JSON object;
//   - afterwards a fresh connection's GET /healthz answers 200, and every
//     64th input GET /v1/ads/keep-1 still answers 200 (nothing stored is
//     lost).
// A crash, a sanitizer report or a broken invariant aborts the run.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/fuzz/daemon_world.h"
#include "tools/daemon_config.h"
#include "tools/http_server.h"

namespace {

using namespace vigil;
using namespace vigil::daemon;
using vigil::fuzz::Broken;
using vigil::fuzz::Require;

// After the half-close the server has every byte it will get; it must
// answer and close well within this (its own timeouts are 2 s).
constexpr int kReplySeconds = 20;

// The daemon's services (tests/fuzz/daemon_world.h) with the server on
// top, built once and never destroyed (server threads outlive main's
// return otherwise).
struct World {
  fuzz::DaemonWorld* daemon = nullptr;
  std::unique_ptr<HttpServer> server;
  std::thread thread;
  uint16_t http_port = 0;
  uint16_t ingest_port = 0;
  uint64_t inputs = 0;
};

// Connects to 127.0.0.1:port; reads give up after kReplySeconds.
//
// Each connection comes from the next loopback source address (127.1.0.0 to
// 127.1.255.255 in turn). The client half-closes first, so every connection
// leaves a TIME_WAIT socket on the client side for 60 s; at ~600 connections
// a second from 127.0.0.1 alone they used up the 28,232 ephemeral ports of
// the default range (28,000 TIME_WAIT sockets were seen after ~100 s) and
// connect() could fail. With the source address in the 4-tuple a port is
// reused only after 65,536 further connections. The first address depends
// on the process id, so that a run started right after another (CI runs the
// fuzz targets back to back) does not begin on the addresses whose
// TIME_WAIT sockets the other left behind.
int Connect(uint16_t port) {
  static uint32_t next_source = static_cast<uint32_t>(::getpid()) * 7919u;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  Require(fd >= 0, "socket");
  timeval tv{kReplySeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);  // the port is picked at connect()
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7F010000u | (next_source++ & 0xFFFFu));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) Broken("bind a loopback source address", strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Broken("the server accepts connections", strerror(errno));
  }
  return fd;
}

struct Exchange {
  std::string reply;
  bool reset = false;  // the server reset the connection (closed with unread input)
};

// Writes `bytes`, half-closes, reads until the server closes.
Exchange Send(uint16_t port, std::string_view bytes) {
  Exchange out;
  int fd = Connect(port);
  for (size_t sent = 0; sent < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) Broken("the server reads what it is sent");
    if (n <= 0) break;  // the server closed early (413, 431, 400): fine
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      out.reply.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) {
      out.reset = true;
      break;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      Broken("the server answers and closes after the client half-closes", bytes.substr(0, 400));
    }
    Broken("recv", strerror(errno));
  }
  ::close(fd);
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Checks the reply is well-formed HTTP/1.1 responses; returns their
// statuses. A reset connection may end inside a response.
std::vector<int> CheckHttpReply(const Exchange& ex) {
  std::vector<int> statuses;
  std::string_view rest = ex.reply;
  while (!rest.empty()) {
    const size_t head_end = rest.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
      Require(ex.reset, "a response head ends with an empty line", ex.reply);
      break;
    }
    std::string_view head = rest.substr(0, head_end + 2);
    Require(head.starts_with("HTTP/1.1 ") && head.size() >= 14 && head[12] == ' ', "a status line", ex.reply);
    int status = 0;
    for (int i = 9; i < 12; ++i) {
      Require(head[i] >= '0' && head[i] <= '9', "a three-digit status", ex.reply);
      status = status * 10 + (head[i] - '0');
    }
    Require(status >= 100 && status <= 599, "a status in 100..599", ex.reply);
    statuses.push_back(status);
    // Header fields.
    std::optional<size_t> length;
    std::string_view content_type;
    bool csp = false, nosniff = false;
    size_t pos = head.find("\r\n") + 2;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      std::string_view line = head.substr(pos, eol - pos);
      pos = eol + 2;
      size_t colon = line.find(':');
      Require(colon != std::string_view::npos && colon > 0, "a header line 'Name: value'", ex.reply);
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (IEquals(name, "Content-Length")) {
        Require(!length.has_value(), "one Content-Length", ex.reply);
        Require(!value.empty() && value.size() < 12 && value.find_first_not_of("0123456789") == std::string_view::npos,
                "a numeric Content-Length", ex.reply);
        length = std::stoull(std::string(value));
      } else if (IEquals(name, "Content-Type")) {
        content_type = value;
      } else if (IEquals(name, "Content-Security-Policy")) {
        csp = true;
      } else if (IEquals(name, "X-Content-Type-Options")) {
        nosniff = value == "nosniff";
      } else if (IEquals(name, "Transfer-Encoding")) {
        Broken("no chunked responses (every response has a Content-Length)", ex.reply);
      }
    }
    rest.remove_prefix(head_end + 4);
    if (status < 200) {  // 100 Continue: no body
      Require(!length.has_value(), "an interim response has no body", ex.reply);
      continue;
    }
    Require(csp && nosniff, "every response carries the CSP and nosniff headers", ex.reply);
    Require(length.has_value(), "a response has a Content-Length", ex.reply);
    if (rest.size() < *length) {
      Require(ex.reset, "a body as long as its Content-Length", ex.reply);
      break;
    }
    std::string_view body = rest.substr(0, *length);
    rest.remove_prefix(*length);
    // (An empty body is the answer to a HEAD request.)
    if (content_type == "application/json" && !body.empty()) {
      Require(nlohmann::json::accept(body), "JSON bodies are valid JSON", ex.reply);
    }
  }
  return statuses;
}

void CheckNdjsonReply(const Exchange& ex) {
  std::string_view rest = ex.reply;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    if (eol == std::string_view::npos) {
      Require(ex.reset, "NDJSON replies end with a newline", ex.reply);
      break;
    }
    nlohmann::json line = nlohmann::json::parse(rest.substr(0, eol), nullptr, false);
    Require(line.is_object() && (line.contains("batch") || line.contains("error")),
            "every NDJSON reply line is a JSON object with a batch number or an error", ex.reply);
    rest.remove_prefix(eol + 1);
  }
}

int StatusOfOne(uint16_t port, const std::string& request) {
  Exchange ex = Send(port, request);
  std::vector<int> statuses = CheckHttpReply(ex);
  return statuses.size() == 1 ? statuses[0] : -1;
}

World* MakeWorld() {
  auto* w = new World;
  std::filesystem::path base = std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                          : std::filesystem::temp_directory_path();
  w->daemon = fuzz::MakeDaemonWorld("vigil_fuzz_http", base, 8192, 1024);
  fuzz::DaemonWorld& d = *w->daemon;
  const std::string ui = d.dir + "/ui";
  std::filesystem::create_directories(ui);
  fuzz::WriteFile(ui + "/index.html", "<!doctype html><title>vigil</title>");
  fuzz::WriteFile(ui + "/app.js", "console.log('vigil');");
  fuzz::WriteFile(d.dir + "/secret.txt", "secret");
  DaemonConfig config;
  config.listen = "127.0.0.1:0";
  config.ingest_listen = "127.0.0.1:0";
  config.data = d.data;
  config.max_body_bytes = 8192;
  config.max_line_bytes = 1024;
  config.max_header_bytes = 2048;
  config.header_timeout_seconds = 2;
  config.read_timeout_seconds = 2;
  config.tcp_batch_lines = 8;
  auto created = HttpServer::Create(config, ui, d.api.get(), d.pipeline.get(), d.rules.get(), &d.metrics);
  Require(created.ok(), "the server starts", created.ok() ? "" : created.status().message());
  w->server = std::move(created.value());
  w->http_port = w->server->port();
  w->ingest_port = w->server->ingest_port();
  HttpServer* server = w->server.get();
  w->thread = std::thread([server] { server->Run(); });
  w->thread.detach();
  const std::string keep = R"({"id":"keep-1","text":"so fresh, call 702-555-0123"})" "\n";
  Require(StatusOfOne(w->http_port, "POST /v1/ads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + d.ingest +
                                        "\r\nConnection: close\r\nContent-Length: " + std::to_string(keep.size()) +
                                        "\r\n\r\n" + keep) == 200,
          "the first ad is stored");
  return w;
}

void ReplaceAll(std::string* s, std::string_view from, const std::string& to) {
  for (size_t pos = 0; (pos = s->find(from, pos)) != std::string::npos; pos += to.size()) s->replace(pos, from.size(), to);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = MakeWorld();
  std::string bytes(reinterpret_cast<const char*>(data), size);
  ReplaceAll(&bytes, "@A@", world->daemon->admin);
  ReplaceAll(&bytes, "@I@", world->daemon->investigator);
  ReplaceAll(&bytes, "@N@", world->daemon->ingest);

  if (bytes.starts_with("AUTH ")) {
    CheckNdjsonReply(Send(world->ingest_port, bytes));
  } else {
    CheckHttpReply(Send(world->http_port, bytes));
  }

  Require(StatusOfOne(world->http_port, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == 200,
          "GET /healthz answers 200 after every input");
  if (++world->inputs % 64 == 0) {
    Require(StatusOfOne(world->http_port, "GET /v1/ads/keep-1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                              world->daemon->investigator + "\r\nConnection: close\r\n\r\n") == 200,
            "the ad stored first is still there");
  }
  return 0;
}
