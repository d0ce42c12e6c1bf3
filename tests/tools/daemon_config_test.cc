#include "tools/daemon_config.h"

#include <catch2/catch.hpp>

#include "tests/tools/daemon_fixture.h"

namespace {
using vigil::daemon::DaemonConfig;
using vigil::daemon::LoadConfigFile;
using vigil::daemon::ValidateConfig;
using vigil::daemon::testing::TempDir;
using vigil::daemon::testing::WriteFile;
}  // namespace

TEST_CASE("config file keys override the defaults", "[config]") {
  TempDir dir;
  std::string path = dir.path() + "/vigild.yaml";
  WriteFile(path, "listen: 127.0.0.1:9000\ningest_listen: 127.0.0.1:9001\ndata: /srv/vigil\nthreads: 3\n"
                  "queue_batches: 8\nmax_line_bytes: 65536\nlog_level: debug\nnetwork_boost: 0.3\n");
  DaemonConfig c;
  REQUIRE(LoadConfigFile(path, &c).ok());
  CHECK(c.listen == "127.0.0.1:9000");
  CHECK(c.ingest_listen == "127.0.0.1:9001");
  CHECK(c.data == "/srv/vigil");
  CHECK(c.threads == 3);
  CHECK(c.queue_batches == 8);
  CHECK(c.max_line_bytes == 65536);
  CHECK(c.network_boost == Approx(0.3));
  CHECK(c.rules.empty());
  CHECK(ValidateConfig(c).ok());
}

TEST_CASE("unknown keys and wrong types name file:line", "[config]") {
  TempDir dir;
  std::string path = dir.path() + "/vigild.yaml";
  WriteFile(path, "listen: 127.0.0.1:9000\nlisten_port: 9000\n");
  DaemonConfig c;
  auto s = LoadConfigFile(path, &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("vigild.yaml:2:1: unknown key 'listen_port'") != std::string::npos);
  WriteFile(path, "threads: many\n");
  s = LoadConfigFile(path, &c);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("vigild.yaml:1:") != std::string::npos);
  CHECK(s.message().find("threads") != std::string::npos);
  WriteFile(path, "listen: [unclosed\n");
  CHECK(LoadConfigFile(path, &c).IsInvalidArgument());
  CHECK(LoadConfigFile(dir.path() + "/missing.yaml", &c).IsNotFound());
  WriteFile(path, "max_body_bytes: -5\n");
  CHECK_FALSE(LoadConfigFile(path, &c).ok());
}

TEST_CASE("validation says which key is out of range", "[config]") {
  DaemonConfig c;
  CHECK(ValidateConfig(c).ok());
  c.listen = "localhost";
  CHECK(ValidateConfig(c).message().find("listen") == 0);
  c = DaemonConfig{};
  c.threads = -1;
  CHECK(ValidateConfig(c).message().find("threads") == 0);
  c = DaemonConfig{};
  c.log_level = "loud";
  CHECK(ValidateConfig(c).message().find("log_level") == 0);
  c = DaemonConfig{};
  c.queue_bytes = 1;
  CHECK(ValidateConfig(c).message().find("queue_bytes") == 0);
}

TEST_CASE("HOST:PORT parsing", "[config]") {
  std::string host;
  uint16_t port = 1;
  REQUIRE(vigil::daemon::ParseHostPort("127.0.0.1:0", &host, &port).ok());
  CHECK(host == "127.0.0.1");
  CHECK(port == 0);
  REQUIRE(vigil::daemon::ParseHostPort("[::1]:8080", &host, &port).ok());
  CHECK(host == "::1");
  CHECK(port == 8080);
  CHECK_FALSE(vigil::daemon::ParseHostPort("127.0.0.1:70000", &host, &port).ok());
  CHECK_FALSE(vigil::daemon::ParseHostPort(":80", &host, &port).ok());
  CHECK_FALSE(vigil::daemon::ParseHostPort("127.0.0.1:", &host, &port).ok());
}
