// DocumentParser: one JSON Lines record -> Document, with a precise error.
//
// A record is a JSON object with at least "id" (string or integer) and
// "text" (string). "url", "source", "city", "posted_at" and "fetched_at"
// are taken when they are strings; every other field is kept verbatim in
// Document::metadata_json. Duplicate keys, a non-object, a missing or
// mistyped id/text, invalid UTF-8 and JSON syntax errors are rejected with
// a message that says which.
//
// Thread-safety: not thread-safe (it owns a simdjson parser and buffers);
// use one per thread.
#pragma once

#include <memory>
#include <string_view>

#include "rules/status.h"
#include "scanner/document.h"

namespace vigil::scanner {

class DocumentParser {
 public:
  struct Limits {
    size_t max_line_bytes = 32u << 20;  // longer records are refused, not parsed
    size_t max_id_bytes = 512;
  };

  DocumentParser();
  explicit DocumentParser(Limits limits);
  ~DocumentParser();
  DocumentParser(const DocumentParser&) = delete;
  DocumentParser& operator=(const DocumentParser&) = delete;

  // Parses `line` (one record, without its newline) into *doc. When the
  // caller knows that at least 64 readable bytes follow `line` in memory it
  // may say so with `padded` and the bytes are not copied.
  Status Parse(std::string_view line, Document* doc, bool padded = false);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when `line` holds only white space (such lines are not records).
bool IsBlankLine(std::string_view line);

}  // namespace vigil::scanner
