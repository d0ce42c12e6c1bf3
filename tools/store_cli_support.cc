#include "tools/store_cli_support.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "storage/records.h"

namespace vigil::tools {

namespace {

bool StoreExists(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec);
}

}  // namespace

std::unique_ptr<storage::Store> OpenStoreForReading(const std::string& dir, std::string_view command) {
  if (!StoreExists(dir)) {
    std::fprintf(stderr, "vigil %.*s: there is no store at %s (vigil ingest creates one; --data DIR names another)\n",
                 static_cast<int>(command.size()), command.data(), dir.c_str());
    return nullptr;
  }
  storage::OpenOptions options;
  options.read_only = true;
  options.create_if_missing = false;
  options.migrate_older_schema = true;  // after an upgrade, the first read migrates the store
  options.block_cache_bytes = size_t{64} << 20;
  Result<std::unique_ptr<storage::Store>> store = storage::Store::Open(dir, options);
  if (!store.ok()) {
    std::fprintf(stderr, "vigil %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                 store.status().message().c_str());
    return nullptr;
  }
  return std::move(*store);
}

std::unique_ptr<storage::Store> OpenStoreForWriting(const std::string& dir, bool create, std::string_view command,
                                                    std::string_view api_hint, int* exit_code) {
  *exit_code = 2;
  if (!create && !StoreExists(dir)) {
    std::fprintf(stderr, "vigil %.*s: there is no store at %s (vigil ingest creates one; --data DIR names another)\n",
                 static_cast<int>(command.size()), command.data(), dir.c_str());
    return nullptr;
  }
  storage::OpenOptions options;
  options.create_if_missing = create;
  Result<std::unique_ptr<storage::Store>> store = storage::Store::Open(dir, options);
  if (!store.ok()) {
    if (store.status().IsBusy() && api_hint.empty()) {
      std::fprintf(stderr, "vigil %.*s: the store at %s is held by a running vigild; stop it first\n",
                   static_cast<int>(command.size()), command.data(), dir.c_str());
    } else if (store.status().IsBusy()) {
      std::fprintf(stderr, "vigil %.*s: the store at %s is held by a running vigild; use its API (%.*s) or stop it\n",
                   static_cast<int>(command.size()), command.data(), dir.c_str(), static_cast<int>(api_hint.size()),
                   api_hint.data());
    } else {
      std::fprintf(stderr, "vigil %.*s: %s\n", static_cast<int>(command.size()), command.data(),
                   store.status().message().c_str());
    }
    return nullptr;
  }
  *exit_code = 0;
  return std::move(*store);
}

void FlushBeforeExit(storage::Store* store, std::string_view command) {
  if (store == nullptr || store->read_only()) return;
  if (Status s = store->Flush(); !s.ok()) {
    std::fprintf(stderr, "vigil %.*s: warning: flushing the store at exit failed (%s); the writes are in its "
                 "log and the next open replays them\n",
                 static_cast<int>(command.size()), command.data(), s.message().c_str());
  }
}

std::optional<int64_t> ParseTimeArgument(std::string_view text) {
  if (std::optional<int64_t> t = storage::ParseIsoTime(text)) return t;
  if (text.size() < 2) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return std::nullopt;
  }
  int64_t n = 0;
  std::string_view digits = text.substr(0, text.size() - 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size() || n < 0 || n > 100LL * 365 * 86400 / unit) {
    return std::nullopt;
  }
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return now - n * unit;
}

}  // namespace vigil::tools
