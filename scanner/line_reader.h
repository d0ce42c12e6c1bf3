// LineBatchReader: reads JSON Lines (or plain lines) from a file or stdin in
// large blocks and hands them out in batches, with line numbers for error
// messages and the padding simdjson needs after every line. Memory is
// bounded: a line longer than the limit is skipped (reported as an
// oversized line with its length), never buffered whole.
//
// Thread-safety: one reader per thread; batches are plain values that may
// move between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rules/status.h"

namespace vigil::scanner {

struct LineBatch {
  struct Line {
    uint32_t offset = 0;       // into buffer
    uint32_t length = 0;       // without the newline (and without a trailing '\r')
    uint64_t number = 0;       // 1-based line number in its source
    uint64_t oversized = 0;    // > 0: the line was this many bytes and was skipped
  };
  std::string source;          // file name as given ("-" for stdin)
  std::string buffer;          // line bytes, each followed by 64 bytes of padding
  std::vector<Line> lines;
  uint64_t bytes = 0;          // input bytes this batch covers

  void Clear() {
    buffer.clear();
    lines.clear();
    bytes = 0;
  }
};

class LineBatchReader {
 public:
  static constexpr size_t kPadding = 64;

  // Opens `path` ("-" = standard input). NotFound / IOError name the path.
  static Result<std::unique_ptr<LineBatchReader>> Open(const std::string& path, size_t max_line_bytes);
  ~LineBatchReader();
  LineBatchReader(const LineBatchReader&) = delete;
  LineBatchReader& operator=(const LineBatchReader&) = delete;

  // Fills *batch (cleared first) with up to `max_lines` lines or about
  // `max_bytes` bytes. Returns false at end of input with an empty batch.
  Result<bool> Next(LineBatch* batch, size_t max_lines, size_t max_bytes);

  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t total_bytes() const { return total_bytes_; }  // 0 when unknown (pipes)

 private:
  LineBatchReader(std::string path, int fd, bool owns_fd, size_t max_line_bytes, uint64_t total);
  Status Fill();

  std::string path_;
  int fd_;
  bool owns_fd_;
  size_t max_line_bytes_;
  uint64_t total_bytes_;
  uint64_t bytes_read_ = 0;
  uint64_t line_number_ = 0;
  std::string pending_;     // bytes read but not yet handed out
  size_t pending_pos_ = 0;
  bool eof_ = false;
  uint64_t skipping_ = 0;   // > 0: inside an oversized line, this many bytes so far
};

}  // namespace vigil::scanner
