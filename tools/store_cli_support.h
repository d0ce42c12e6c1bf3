// Helpers shared by the CLI commands that open the store (tools/cmd_store.cc,
// tools/cmd_rescan.cc): opening for reading or writing with the messages a
// person needs when vigild holds the directory, and parsing times given on
// the command line.
//
// Plain functions; call from the main thread (they print to stderr).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rules/status.h"
#include "storage/store.h"

namespace vigil::tools {

// Opens the store in `dir` read-only (a secondary instance that works while
// vigild writes). Prints the reason and returns nullptr on failure; a
// missing store is reported as such, not as a RocksDB error.
std::unique_ptr<storage::Store> OpenStoreForReading(const std::string& dir, std::string_view command);

// Opens the store in `dir` for writing (creating it when `create`). When
// another process holds it, prints "the store at DIR is held by a running
// vigild; use its API (<api_hint>) or stop it" ("...; stop it first" when
// there is no API for the command: an empty hint) and returns nullptr with
// *exit_code 2; other failures print the reason (exit code 2 too).
std::unique_ptr<storage::Store> OpenStoreForWriting(const std::string& dir, bool create, std::string_view command,
                                                    std::string_view api_hint, int* exit_code);

// Flushes the memtables of a store a command wrote to, before it exits.
// The writes are durable either way (the WAL is synced); without the flush
// every later open, read-only ones included, replays the whole WAL first:
// `vigil leads list` took 1.3-1.4 s after a 100,000-ad ingest, nearly all
// of it that replay. A failure is only a warning (the data is in the WAL).
void FlushBeforeExit(storage::Store* store, std::string_view command);

// A time for --since/--until: ISO 8601 ("2026-03-01", "2026-03-01T14:05Z")
// or an age before now ("90m", "36h", "7d"). Unix seconds; nullopt when
// the text is neither.
std::optional<int64_t> ParseTimeArgument(std::string_view text);

}  // namespace vigil::tools
