// JSON encoding of scan results: the `vigil scan` output contract
// (docs/cli.md), also used by the daemon's API. A hand-written writer: the
// scan path must not spend its time in a generic JSON library.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "scanner/scan_result.h"

namespace vigil::scanner {

struct ResultJsonOptions {
  bool include_suppressed = false;  // add "suppressed": hits that did not count, with reasons
  bool include_details = true;      // add per-hit "evidence", "weight", "normalized"
};

// Appends `s` as a JSON string literal (quotes included). Invalid UTF-8
// bytes become U+FFFD; control characters are escaped.
void AppendJsonString(std::string_view s, std::string* out);

// Appends one result as a single-line JSON object (no trailing newline):
// {"id","score","flagged","categories","hits","entities","pack"[,"truncated"][,"suppressed"]}
void AppendResultJson(const ScanResult& result, const ResultJsonOptions& options, std::string* out);

// Appends a hit or an entity object alone.
void AppendHitJson(const Hit& hit, const ResultJsonOptions& options, std::string* out);
void AppendEntityJson(const Entity& entity, std::string* out);

}  // namespace vigil::scanner
