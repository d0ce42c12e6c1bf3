#include "scanner/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace vigil::scanner {

namespace {
constexpr size_t kReadBlock = 1u << 20;
}

Result<std::unique_ptr<LineBatchReader>> LineBatchReader::Open(const std::string& path, size_t max_line_bytes) {
  int fd = 0;
  bool owns = false;
  if (path != "-") {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return Status::NotFound(path + ": no such file");
      return Status::IOError(fmt::format("{}: {}", path, std::strerror(errno)));
    }
    owns = true;
  }
  uint64_t total = 0;
  struct stat st;
  if (::fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      if (owns) ::close(fd);
      return Status::IOError(path + ": is a folder, not a file");
    }
    if (S_ISREG(st.st_mode)) total = static_cast<uint64_t>(st.st_size);
  }
  return std::unique_ptr<LineBatchReader>(new LineBatchReader(path, fd, owns, max_line_bytes, total));
}

LineBatchReader::LineBatchReader(std::string path, int fd, bool owns_fd, size_t max_line_bytes, uint64_t total)
    : path_(std::move(path)), fd_(fd), owns_fd_(owns_fd), max_line_bytes_(max_line_bytes), total_bytes_(total) {}

LineBatchReader::~LineBatchReader() {
  if (owns_fd_) ::close(fd_);
}

Status LineBatchReader::Fill() {
  // Drop what was consumed, then append one block.
  if (pending_pos_ > 0) {
    pending_.erase(0, pending_pos_);
    pending_pos_ = 0;
  }
  size_t old = pending_.size();
  pending_.resize(old + kReadBlock);
  ssize_t n;
  do {
    n = ::read(fd_, pending_.data() + old, kReadBlock);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    pending_.resize(old);
    return Status::IOError(fmt::format("{}: {}", path_, std::strerror(errno)));
  }
  pending_.resize(old + static_cast<size_t>(n));
  bytes_read_ += static_cast<uint64_t>(n);
  if (n == 0) eof_ = true;
  return Status::Ok();
}

Result<bool> LineBatchReader::Next(LineBatch* batch, size_t max_lines, size_t max_bytes) {
  batch->Clear();
  batch->source = path_;
  while (batch->lines.size() < max_lines && batch->buffer.size() < max_bytes) {
    const char* begin = pending_.data() + pending_pos_;
    size_t available = pending_.size() - pending_pos_;
    const char* newline = static_cast<const char*>(std::memchr(begin, '\n', available));
    if (skipping_ > 0) {
      // Inside an oversized line: discard until its newline.
      size_t take = newline ? static_cast<size_t>(newline - begin) : available;
      skipping_ += take;
      pending_pos_ += take;
      if (newline) {
        ++pending_pos_;
        batch->bytes += take + 1;
        batch->lines.push_back({0, 0, ++line_number_, skipping_});
        skipping_ = 0;
      } else {
        batch->bytes += take;
        if (eof_) {
          batch->lines.push_back({0, 0, ++line_number_, skipping_});
          skipping_ = 0;
          break;
        }
        Status s = Fill();
        if (!s.ok()) return s;
      }
      continue;
    }
    if (!newline) {
      if (available > max_line_bytes_) {
        skipping_ = available;
        pending_pos_ += available;
        batch->bytes += available;
        continue;
      }
      if (eof_) {
        if (available == 0) break;
        newline = begin + available;  // last line without a newline
      } else {
        Status s = Fill();
        if (!s.ok()) return s;
        continue;
      }
    }
    size_t length = static_cast<size_t>(newline - begin);
    size_t consumed = length + (newline < pending_.data() + pending_.size() ? 1 : 0);
    batch->bytes += consumed;
    ++line_number_;
    if (length > max_line_bytes_) {
      batch->lines.push_back({0, 0, line_number_, length});
    } else {
      size_t content = length;
      if (content > 0 && begin[content - 1] == '\r') --content;
      LineBatch::Line line{static_cast<uint32_t>(batch->buffer.size()), static_cast<uint32_t>(content), line_number_,
                           0};
      batch->buffer.append(begin, content);
      batch->buffer.append(kPadding, ' ');
      batch->lines.push_back(line);
    }
    pending_pos_ += consumed;
  }
  return !batch->lines.empty();
}

}  // namespace vigil::scanner
