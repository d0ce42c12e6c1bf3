#include "tools/daemon_config.h"

#include <charconv>
#include <functional>
#include <map>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace vigil::daemon {
namespace {

std::string Where(const std::string& path, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", path, mark.line + 1, mark.column + 1);
}

template <typename T>
Status Read(const std::string& path, const YAML::Node& value, const std::string& key, T* out) {
  try {
    *out = value.as<T>();
  } catch (const YAML::Exception&) {
    return Status::InvalidArgument(fmt::format("{}: '{}' has the wrong type", Where(path, value.Mark()), key));
  }
  return Status::Ok();
}

}  // namespace

Status LoadConfigFile(const std::string& path, DaemonConfig* c) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::NotFound(fmt::format("{}: cannot read the config file", path));
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", Where(path, e.mark), e.msg));
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return Status::InvalidArgument(fmt::format("{}: expected a mapping of keys to values", path));
  using Setter = std::function<Status(const YAML::Node&, const std::string&)>;
  auto str = [&](std::string* f) -> Setter {
    return [&path, f](const YAML::Node& v, const std::string& k) { return Read(path, v, k, f); };
  };
  auto integer = [&](int* f) -> Setter {
    return [&path, f](const YAML::Node& v, const std::string& k) { return Read(path, v, k, f); };
  };
  auto size = [&](size_t* f) -> Setter {
    return [&path, f](const YAML::Node& v, const std::string& k) {
      int64_t n = 0;
      if (Status s = Read(path, v, k, &n); !s.ok()) return s;
      if (n < 0) return Status::InvalidArgument(fmt::format("{}: '{}' must not be negative", Where(path, v.Mark()), k));
      *f = static_cast<size_t>(n);
      return Status::Ok();
    };
  };
  auto real = [&](double* f) -> Setter {
    return [&path, f](const YAML::Node& v, const std::string& k) { return Read(path, v, k, f); };
  };
  const std::map<std::string, Setter> keys = {
      {"listen", str(&c->listen)},
      {"ingest_listen", str(&c->ingest_listen)},
      {"data", str(&c->data)},
      {"rules", str(&c->rules)},
      {"ui", str(&c->ui)},
      {"rules_cache", str(&c->rules_cache)},
      {"threads", integer(&c->threads)},
      {"http_threads", integer(&c->http_threads)},
      {"committers", integer(&c->committers)},
      {"queue_batches", size(&c->queue_batches)},
      {"queue_bytes", size(&c->queue_bytes)},
      {"max_body_bytes", size(&c->max_body_bytes)},
      {"max_line_bytes", size(&c->max_line_bytes)},
      {"max_body_lines", size(&c->max_body_lines)},
      {"max_header_bytes", size(&c->max_header_bytes)},
      {"read_timeout_seconds", integer(&c->read_timeout_seconds)},
      {"header_timeout_seconds", integer(&c->header_timeout_seconds)},
      {"max_connections", size(&c->max_connections)},
      {"tcp_batch_lines", integer(&c->tcp_batch_lines)},
      {"tcp_batch_millis", integer(&c->tcp_batch_millis)},
      {"log_level", str(&c->log_level)},
      {"phone_region", str(&c->phone_region)},
      {"network_min_cities", integer(&c->network_min_cities)},
      {"network_window_days", integer(&c->network_window_days)},
      {"network_boost", real(&c->network_boost)},
  };
  for (auto it = root.begin(); it != root.end(); ++it) {
    std::string key = it->first.Scalar();
    auto found = keys.find(key);
    if (found == keys.end()) {
      std::string known;
      for (const auto& [k, unused] : keys) known += (known.empty() ? "" : ", ") + k;
      return Status::InvalidArgument(
          fmt::format("{}: unknown key '{}' (known keys: {})", Where(path, it->first.Mark()), key, known));
    }
    if (Status s = found->second(it->second, key); !s.ok()) return s;
  }
  return Status::Ok();
}

Status ParseHostPort(const std::string& text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::InvalidArgument(fmt::format("'{}': use HOST:PORT, e.g. 127.0.0.1:8080", text));
  }
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned value = 0;
  const char* begin = text.data() + colon + 1;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || p != end || value > 65535) {
    return Status::InvalidArgument(fmt::format("'{}': the port must be a number from 0 to 65535", text));
  }
  *host = h;
  *port = static_cast<uint16_t>(value);
  return Status::Ok();
}

Status ValidateConfig(const DaemonConfig& c) {
  std::string host;
  uint16_t port = 0;
  if (Status s = ParseHostPort(c.listen, &host, &port); !s.ok()) return Status::InvalidArgument("listen: " + s.message());
  if (!c.ingest_listen.empty()) {
    if (Status s = ParseHostPort(c.ingest_listen, &host, &port); !s.ok()) {
      return Status::InvalidArgument("ingest_listen: " + s.message());
    }
  }
  auto range = [](const char* key, int64_t v, int64_t lo, int64_t hi) {
    return v < lo || v > hi ? Status::InvalidArgument(fmt::format("{}: {} is outside {}..{}", key, v, lo, hi))
                            : Status::Ok();
  };
  for (Status s : {range("threads", c.threads, 0, 256), range("http_threads", c.http_threads, 1, 64),
                   range("committers", c.committers, 1, 256),
                   range("queue_batches", static_cast<int64_t>(c.queue_batches), 1, 1 << 20),
                   range("max_body_bytes", static_cast<int64_t>(c.max_body_bytes), 1024, int64_t{1} << 32),
                   range("max_line_bytes", static_cast<int64_t>(c.max_line_bytes), 256, int64_t{1} << 30),
                   range("max_body_lines", static_cast<int64_t>(c.max_body_lines), 1, 1000000),
                   range("max_header_bytes", static_cast<int64_t>(c.max_header_bytes), 1024, 1 << 20),
                   range("read_timeout_seconds", c.read_timeout_seconds, 1, 3600),
                   range("header_timeout_seconds", c.header_timeout_seconds, 1, 3600),
                   range("max_connections", static_cast<int64_t>(c.max_connections), 1, 1 << 20),
                   range("tcp_batch_lines", c.tcp_batch_lines, 1, 100000),
                   range("tcp_batch_millis", c.tcp_batch_millis, 0, 10000),
                   range("network_min_cities", c.network_min_cities, 2, 64),
                   range("network_window_days", c.network_window_days, 1, 3650)}) {
    if (!s.ok()) return s;
  }
  if (c.queue_bytes < c.max_body_bytes) {
    return Status::InvalidArgument("queue_bytes: must be at least max_body_bytes");
  }
  if (!(c.network_boost > 0 && c.network_boost < 1)) return Status::InvalidArgument("network_boost: must be in (0, 1)");
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  bool level_ok = false;
  for (const char* l : kLevels) level_ok = level_ok || c.log_level == l;
  if (!level_ok) return Status::InvalidArgument("log_level: use trace, debug, info, warn or error");
  if (c.data.empty()) return Status::InvalidArgument("data: give a directory");
  return Status::Ok();
}

}  // namespace vigil::daemon
