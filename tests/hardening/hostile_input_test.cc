// The hostile-input table of docs/security.md, one TEST_CASE per row.
//
// Each row sends what an adversary could send and checks three things:
// a clear error (or a correct answer), bounded work (limits that refuse
// before reading or parsing everything; no test measures time), and that
// nothing already stored is lost (an ad stored first is still there with
// its content, and the store stays consistent).
//
// Service-level rows go through ApiService as vigild wires it
// (tests/tools/daemon_fixture.h); socket-level rows (header floods,
// slowloris, path traversal, oversized bodies) run a real HttpServer on a
// loopback port inside the test process.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "rules/compiler.h"
#include "rules/lint.h"
#include "rules/pack_loader.h"
#include "tests/tools/daemon_fixture.h"
#include "tools/http_server.h"

namespace vigil::daemon::testing {
namespace {

using nlohmann::json;

const std::string kKeepLine = R"({"id":"keep-1","text":"so fresh, call 702-555-0123","city":"Reno"})" "\n";

// A fixture with one ad stored before any hostile input, and limits wide
// enough for the 100,000-line row.
struct Hostile : DaemonFixture {
  Hostile() {
    api = std::make_unique<ApiService>(store.get(), rules.get(), pipeline.get(), auth.get(), &metrics,
                                       ApiService::Options{size_t{8} << 20, size_t{1} << 20});
    ApiResponse r = Call("POST", "/v1/ads", ingest, kKeepLine);
    REQUIRE(r.status == 200);
  }

  // Nothing already stored was lost, and no index dangles.
  void CheckNothingLost() {
    ApiResponse r = Call("GET", "/v1/ads/keep-1", investigator);
    REQUIRE(r.status == 200);
    CHECK(r.body.find("so fresh, call 702-555-0123") != std::string::npos);
    storage::ConsistencyReport report;
    REQUIRE(store->CheckConsistency(&report).ok());
    INFO((report.problems.empty() ? std::string() : report.problems.front()));
    CHECK(report.ok());
  }

  // POST /v1/ads; returns the response and checks it is a JSON error or a
  // JSON ingest summary.
  ApiResponse Post(const std::string& body) {
    ApiResponse r = Call("POST", "/v1/ads", ingest, body);
    INFO(r.body.substr(0, 300));
    CHECK(json::accept(r.body));
    return r;
  }
};

// A real HttpServer on 127.0.0.1:0 over the fixture's services, with short
// timeouts and a UI folder holding index.html (and a secret beside it).
struct Server {
  explicit Server(Hostile* fx) {
    ui = fx->dir.path() + "/ui";
    std::filesystem::create_directories(ui);
    WriteFile(ui + "/index.html", "<!doctype html><title>vigil</title>");
    WriteFile(fx->dir.path() + "/secret.txt", "secret");
    std::error_code ec;
    std::filesystem::create_symlink(fx->dir.path() + "/secret.txt", ui + "/link.txt", ec);
    DaemonConfig config;
    config.listen = "127.0.0.1:0";
    config.data = fx->data_dir;
    config.max_body_bytes = size_t{1} << 20;
    config.max_line_bytes = 8192;
    config.max_header_bytes = 8192;
    config.header_timeout_seconds = 1;
    config.read_timeout_seconds = 1;
    auto created = HttpServer::Create(config, ui, fx->api.get(), fx->pipeline.get(), fx->rules.get(), &fx->metrics);
    REQUIRE(created.ok());
    server = std::move(created.value());
    port = server->port();
    thread = std::thread([this] { server->Run(); });
  }
  ~Server() {
    server->RequestStop();
    thread.join();
  }

  // Connects; -1 on failure. Reads give up after `timeout_s` seconds (a
  // safety net for a broken server, not a measurement).
  int Connect(int timeout_s = 60) const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
  static bool SendAll(int fd, const std::string& bytes) {
    for (size_t sent = 0; sent < bytes.size();) {
      ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;  // the server may close early (413, 431)
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  // Everything the server sends until it closes (or the read times out).
  static std::string ReadAll(int fd) {
    std::string out;
    char buf[8192];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
  // One request on its own connection (Connection: close); the whole
  // response. The request may be cut short when the server answers first.
  std::string Exchange(const std::string& request) const {
    int fd = Connect();
    REQUIRE(fd >= 0);
    SendAll(fd, request);
    ::shutdown(fd, SHUT_WR);
    std::string response = ReadAll(fd);
    ::close(fd);
    return response;
  }
  static int StatusOf(const std::string& response) {
    if (response.compare(0, 9, "HTTP/1.1 ") != 0 || response.size() < 12) return -1;
    return std::stoi(response.substr(9, 3));
  }

  std::string ui;
  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
  std::thread thread;
};

std::string Get(const std::string& path, const std::string& token = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + (token.empty() ? "" : "Authorization: Bearer " + token + "\r\n") +
         "Connection: close\r\n\r\n";
}

}  // namespace

TEST_CASE("hostile: invalid UTF-8 is refused with its line, nothing stored", "[hardening][hostile]") {
  Hostile fx;
  for (const char* bad : {"\xff", "\xc3\x28", "\xed\xa0\x80" /* surrogate */, "\xf4\x90\x80\x80" /* > U+10FFFF */,
                          "\xc0\xaf" /* overlong '/' */}) {
    ApiResponse r = fx.Post(std::string(R"({"id":"u1","text":"bad )") + bad + "\"}\n");
    CHECK(r.status == 400);
    CHECK(r.body.find("UTF-8") != std::string::npos);
  }
  // Invalid UTF-8 in a key, and in the id.
  CHECK(fx.Post("{\"id\":\"u1\",\"te\xffxt\":\"x\"}\n").status == 400);
  CHECK(fx.Post("{\"id\":\"u\xff\",\"text\":\"x\"}\n").status == 400);
  CHECK(fx.Call("GET", "/v1/ads/u1", fx.investigator).status == 404);
  fx.CheckNothingLost();
}

TEST_CASE("hostile: NUL bytes: raw ones refused, escaped ones kept byte for byte", "[hardening][hostile]") {
  Hostile fx;
  ApiResponse raw = fx.Post(std::string("{\"id\":\"n1\",\"text\":\"a\0b\"}\n", 23));
  CHECK(raw.status == 400);
  CHECK(fx.Call("GET", "/v1/ads/n1", fx.investigator).status == 404);
  // An escaped NUL is legal JSON: stored and returned intact.
  ApiResponse escaped = fx.Post(R"({"id":"n2","text":"so fresh\u0000call 702-555-0124"})" "\n");
  CHECK(escaped.status == 200);
  ApiResponse ad = fx.Call("GET", "/v1/ads/n2", fx.investigator);
  REQUIRE(ad.status == 200);
  CHECK(ad.body.find("so fresh\\u0000call") != std::string::npos);
  // A NUL in the target never reaches a file or a key.
  CHECK(fx.Call("GET", std::string("/v1/ads/n2\0x", 12), fx.investigator).status >= 400);
  CHECK(fx.Call("GET", "/v1/ads/n2%00x", fx.investigator).status == 404);
  fx.CheckNothingLost();
}

TEST_CASE("hostile: a 10 MB text field is refused by the line limit before parsing", "[hardening][hostile]") {
  Hostile fx;
  std::string line = R"({"id":"big1","text":")" + std::string(size_t{10} << 20, 'a') + "\"}\n";
  // The service limit (1 MB per line here) refuses it as a whole...
  ApiResponse r = fx.Call("POST", "/v1/ads", fx.ingest, line);
  CHECK(r.status == 413);
  CHECK(fx.Call("GET", "/v1/ads/big1", fx.investigator).status == 404);
  // ...and over HTTP the body limit answers 413 before reading the body.
  Server server(&fx);
  std::string request = "POST /v1/ads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + fx.ingest +
                        "\r\nConnection: close\r\nContent-Length: " + std::to_string(line.size()) + "\r\n\r\n" + line;
  CHECK(Server::StatusOf(server.Exchange(request)) == 413);
  fx.CheckNothingLost();
}

TEST_CASE("hostile: a 10 MB text scanned with raised limits is truncated and says so", "[hardening][hostile]") {
  Hostile fx;
  auto scanner = fx.rules->Current();
  auto context = scanner->NewContext();
  scanner::Document doc;
  doc.id = "big2";
  doc.text = std::string(size_t{10} << 20, 'a');
  scanner::ScanResult result;
  REQUIRE(scanner->Scan(doc, context.get(), &result).ok());
  REQUIRE(!result.truncated.empty());
  CHECK(result.truncated.front().rfind("text: scanned the first", 0) == 0);
}

TEST_CASE("hostile: a document over the hit limit is stored, truncation reported and counted",
          "[hardening][hostile]") {
  Hostile fx;
  std::string text;
  for (int i = 0; i < 1100; ++i) text += "fresh ";
  ApiResponse r = fx.Post(R"({"id":"many-hits","text":")" + text + "\"}\n");
  REQUIRE(r.status == 200);
  CHECK(fx.metrics.documents_truncated.load() == 1);
  CHECK(fx.metrics.RenderPrometheus().find("vigil_documents_truncated_total 1") != std::string::npos);
  ApiResponse ad = fx.Call("GET", "/v1/ads/many-hits", fx.investigator);
  REQUIRE(ad.status == 200);
  CHECK(ad.body.find("hits: stopped at the limit of 1000") != std::string::npos);
  fx.CheckNothingLost();
}

TEST_CASE("hostile: a 100,000-line body is taken whole, every line counted", "[hardening][hostile][slow]") {
  Hostile fx;
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "{\"id\":\"m" + std::to_string(i) + "\",\"text\":\"sofa\"}\n";
  REQUIRE(body.size() < (size_t{8} << 20));
  ApiResponse r = fx.Post(body);
  REQUIRE(r.status == 200);
  json summary = json::parse(r.body);
  CHECK(summary["accepted"] == 100000);
  CHECK(fx.Call("GET", "/v1/ads/m99999", fx.investigator).status == 200);
  // The same body with one bad line: the bad line is named, the others stored.
  body.replace(body.find("{\"id\":\"m500\""), 1, "[");
  ApiResponse again = fx.Post(body);
  CHECK(again.body.find("\"line\":501") != std::string::npos);
  fx.CheckNothingLost();
}

TEST_CASE("hostile: deeply nested JSON is refused, not recursed into", "[hardening][hostile]") {
  Hostile fx;
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  ApiResponse ad = fx.Post(R"({"id":"d1","text":"x","meta":)" + deep + "}\n");
  CHECK(ad.status == 400);
  CHECK(fx.Call("GET", "/v1/ads/d1", fx.investigator).status == 404);
  // The review endpoint parses its body with another parser.
  ApiResponse review = fx.Call("POST", "/v1/leads/keep-1/review", fx.investigator,
                               R"({"status":"escalated","note":)" + deep + "}");
  CHECK(review.status == 400);
  CHECK(json::accept(review.body));
  fx.CheckNothingLost();
}

TEST_CASE("hostile: duplicate keys are refused, whichever key", "[hardening][hostile]") {
  Hostile fx;
  ApiResponse id = fx.Post(R"({"id":"k1","id":"k2","text":"x"})" "\n");
  CHECK(id.status == 400);
  CHECK(id.body.find("uplicate") != std::string::npos);
  CHECK(fx.Post(R"({"id":"k1","text":"x","text":"y"})" "\n").status == 400);
  CHECK(fx.Post(R"({"id":"k1","text":"x","city":"a","city":"b"})" "\n").status == 400);
  // An id that would overwrite the stored ad with a second "text" is refused too.
  CHECK(fx.Post(R"({"id":"keep-1","text":"x","text":"overwritten"})" "\n").status == 400);
  CHECK(fx.Call("GET", "/v1/ads/k1", fx.investigator).status == 404);
  fx.CheckNothingLost();
}

TEST_CASE("hostile: ids that are not strings or integers are refused", "[hardening][hostile]") {
  Hostile fx;
  for (const char* id : {"1.5", "null", "true", "[1]", "{\"a\":1}", "-0.0", "1e3"}) {
    INFO(id);
    ApiResponse r = fx.Post(std::string("{\"id\":") + id + ",\"text\":\"x\"}\n");
    CHECK(r.status == 400);
    CHECK(r.body.find("id") != std::string::npos);
  }
  CHECK(fx.Post(R"({"id":"","text":"x"})" "\n").status == 400);
  CHECK(fx.Post("{\"id\":\"" + std::string(2000, 'i') + "\",\"text\":\"x\"}\n").status == 400);
  // An integer id is taken as its decimal text.
  CHECK(fx.Post(R"({"id":42,"text":"x"})" "\n").status == 200);
  CHECK(fx.Call("GET", "/v1/ads/42", fx.investigator).status == 200);
  fx.CheckNothingLost();
}

TEST_CASE("hostile: huge numbers are refused as ids and kept verbatim as metadata", "[hardening][hostile]") {
  Hostile fx;
  for (const char* id : {"123456789012345678901234567890", "1e400", "-1e400", "18446744073709551616"}) {
    INFO(id);
    ApiResponse r = fx.Post(std::string("{\"id\":") + id + ",\"text\":\"x\"}\n");
    CHECK(r.status == 400);
  }
  ApiResponse meta = fx.Post(R"({"id":"h1","text":"x","price":1e400,"n":123456789012345678901234567890})" "\n");
  CHECK(json::accept(meta.body));
  CHECK((meta.status == 200 || meta.status == 400));
  fx.CheckNothingLost();
}

TEST_CASE("hostile: header floods get 431 and no request is run", "[hardening][hostile]") {
  Hostile fx;
  Server server(&fx);
  const uint64_t before = fx.metrics.http_requests.load();
  // One huge header.
  std::string big = "GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'p') + "\r\n\r\n";
  CHECK(Server::StatusOf(server.Exchange(big)) == 431);
  // Thousands of small headers.
  std::string many = "GET /v1/me HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 5000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  CHECK(Server::StatusOf(server.Exchange(many)) == 431);
  CHECK(fx.metrics.http_requests.load() == before);
  // The server still answers.
  CHECK(Server::StatusOf(server.Exchange(Get("/healthz"))) == 200);
  fx.CheckNothingLost();
}

TEST_CASE("hostile: slowloris connections are cut by the header and body timeouts", "[hardening][hostile]") {
  Hostile fx;
  Server server(&fx);
  // Headers that never end.
  int fd = server.Connect();
  REQUIRE(fd >= 0);
  REQUIRE(Server::SendAll(fd, "GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Slow: a"));
  std::string got = Server::ReadAll(fd);  // returns when the server closes
  CHECK(Server::StatusOf(got) != 200);
  ::close(fd);
  // A body that never arrives: the half-sent batch is not stored.
  fd = server.Connect();
  REQUIRE(fd >= 0);
  const std::string line = R"({"id":"slow1","text":"x"})" "\n";
  REQUIRE(Server::SendAll(fd, "POST /v1/ads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + fx.ingest +
                                  "\r\nContent-Length: 1000\r\n\r\n" + line));
  got = Server::ReadAll(fd);
  CHECK(Server::StatusOf(got) != 200);
  ::close(fd);
  CHECK(fx.Call("GET", "/v1/ads/slow1", fx.investigator).status == 404);
  CHECK(Server::StatusOf(server.Exchange(Get("/healthz"))) == 200);
  fx.CheckNothingLost();
}

TEST_CASE("hostile: path traversal on static files is refused", "[hardening][hostile]") {
  Hostile fx;
  Server server(&fx);
  CHECK(Server::StatusOf(server.Exchange(Get("/index.html"))) == 200);
  for (const char* path : {"/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2E%2E%2Fsecret.txt",
                           "/./../secret.txt", "//etc/passwd", "/%2fetc%2fpasswd", "/link.txt",
                           "/index.html%00.png", "/..\\secret.txt", "/%c0%ae%c0%ae/secret.txt"}) {
    INFO(path);
    const std::string response = server.Exchange(Get(path));
    CHECK(Server::StatusOf(response) == 404);
    CHECK(response.find("secret") == std::string::npos);
    CHECK(response.find("root:") == std::string::npos);
  }
  fx.CheckNothingLost();
}

TEST_CASE("hostile: forged tokens get 401 on every protected endpoint", "[hardening][hostile]") {
  Hostile fx;
  std::string flipped = fx.admin;
  flipped.back() = flipped.back() == 'a' ? 'b' : 'a';
  const std::string forged[] = {flipped,
                                fx.admin.substr(0, fx.admin.size() - 1),
                                fx.admin + "x",
                                "vgl_",
                                "",
                                std::string(100000, 'A'),
                                "vgl_" + std::string(fx.admin.size() - 4, '0'),
                                "../../tokens.jsonl"};
  for (const std::string& token : forged) {
    for (const auto& [method, target] : std::initializer_list<std::pair<const char*, const char*>>{
             {"GET", "/v1/me"}, {"GET", "/v1/leads"}, {"GET", "/v1/ads/keep-1"}, {"GET", "/metrics"},
             {"POST", "/v1/rules/reload"}, {"GET", "/v1/audit"}, {"GET", "/v1/export?purpose=x"}}) {
      INFO(method << " " << target << " token of " << token.size() << " bytes");
      CHECK(fx.Call(method, target, token).status == 401);
    }
    ApiResponse post = fx.Call("POST", "/v1/ads", token, R"({"id":"f1","text":"x"})" "\n");
    CHECK(post.status == 401);
  }
  // Other schemes and a token spelt without "Bearer".
  for (const std::string& header : {std::string("Basic cm9vdDpyb290"), fx.admin, "Bearer  " + fx.admin + " x",
                                    std::string("bearer")}) {
    ApiRequest r{"GET", "/v1/me", header, ""};
    auto refused = fx.api->Authorize(r.method, r.target, r.authorization);
    REQUIRE(refused.has_value());
    CHECK(refused->status == 401);
  }
  CHECK(fx.Call("GET", "/v1/ads/f1", fx.investigator).status == 404);
  fx.CheckNothingLost();
}

namespace {

// Loads, lints and compiles a one-rule pack with `pattern`; returns every
// diagnostic as text, and whether the pack was accepted.
bool CompilePattern(const std::string& pattern, std::string* diagnostics) {
  const std::string header =
      "name: p\nversion: 0.1.0\ndescription: p\nthreshold: 0.5\ncategories:\n"
      "  - {id: youth, title: Youth, description: youth language}\n";
  const std::string rules = "rules:\n  - id: youth.p\n    title: P\n    description: test rule\n    category: youth\n"
                            "    weight: 0.6\n    evidence: supported\n    patterns: ['" + pattern + "']\n";
  rules::Pack pack;
  rules::Diagnostics diags;
  rules::LoadPackFromFiles("mem", {{"pack.yaml", header}, {"rules.yaml", rules}}, &pack, &diags);
  rules::LintPack(pack, &diags);
  bool ok = !diags.HasErrors();
  if (ok) {
    rules::CompileOptions options;
    options.max_database_bytes = 16u << 20;
    ok = rules::Compile(pack, options, &diags).ok();
  }
  *diagnostics = diags.ToString();
  return ok;
}

}  // namespace

TEST_CASE("hostile: pathological rules are refused with a diagnostic, or compile bounded", "[hardening][hostile]") {
  struct Row {
    const char* pattern;
    bool may_compile;  // a bounded database is an acceptable answer
  };
  for (const Row& row : std::initializer_list<Row>{
           {"", false},                         // empty pattern
           {"a*", false},                       // matches the empty string
           {"(?:)", false},                     //
           {"x?|", false},                      //
           {"\\b", false},                      // only an assertion
           {"a{1,100000}", false},              // huge bounded repeat
           {"(?:a|b){0,65535}c", false},        //
           {"(?:a{1,1000}){1,1000}", false},    // nested repeats
           {"(a|aa|aaa|aaaa)+b", true},         // explosive alternation
           {"(?:(?:a|b|c|d|e|f|g|h)+)+z", true},  //
           {"(x+x+)+y", true},                  // catastrophic in backtracking engines
           {"(?:a|a?)+$", true},                //
       }) {
    INFO("pattern: " << row.pattern);
    std::string diagnostics;
    const bool ok = CompilePattern(row.pattern, &diagnostics);
    INFO(diagnostics);
    if (!ok) {
      CHECK(diagnostics.find("error[V") != std::string::npos);
    } else {
      CHECK(row.may_compile);
    }
  }
}

TEST_CASE("hostile: a pathological pack on reload leaves the live rules and the store alone", "[hardening][hostile]") {
  Hostile fx;
  const std::string before = fx.rules->PackLabel();
  WriteFile(fx.pack_dir + "/rules.yaml",
            "rules:\n  - id: youth.p\n    title: P\n    description: test rule\n    category: youth\n"
            "    weight: 0.6\n    evidence: supported\n    patterns: ['a{1,100000}', 'x*']\n");
  ApiResponse r = fx.Call("POST", "/v1/rules/reload", fx.admin);
  CHECK(r.status == 422);
  CHECK(r.body.find("diagnostics") != std::string::npos);
  CHECK(fx.rules->PackLabel() == before);
  // Ingest keeps working with the old rules.
  ApiResponse post = fx.Post(R"({"id":"after-reload","text":"so fresh"})" "\n");
  CHECK(post.status == 200);
  CHECK(post.body.find("\"flagged\":1") != std::string::npos);
  fx.CheckNothingLost();
}

}  // namespace vigil::daemon::testing
