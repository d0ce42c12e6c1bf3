// Fuzzes vigild's request handling without sockets: ApiService::Authorize
// then ApiService::Handle, as tools/http_server.cc calls them, over a real
// store, pipeline and rule set in a temporary directory.
//
// Input: byte 0 picks the method, byte 1 the credentials (none, each role's
// token, a forged token, or the second line verbatim as the Authorization
// header); the first line is the target, the rest is the body. Every
// request must be answered exactly once with a status in 200..599; JSON
// responses must be valid JSON; a forged token never gets past 401.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tests/fuzz/daemon_world.h"
#include "tools/api_service.h"

namespace {

using namespace vigil;
using namespace vigil::daemon;
using vigil::fuzz::Require;

constexpr const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "get"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::DaemonWorld* world =
      fuzz::MakeDaemonWorld("vigil_fuzz_api", std::filesystem::temp_directory_path(), 1 << 20, 64 << 10);
  const std::string* tokens[3] = {&world->ingest, &world->investigator, &world->admin};
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
    authorization = "Bearer " + *tokens[credential];
  } else if (credential == 3) {
    // A forged token: a real one with its last character changed.
    authorization = "Bearer " + *tokens[2];
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
