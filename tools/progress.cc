#include "tools/progress.h"

#include <cstdio>

#include <fmt/format.h>

namespace vigil::tools {

Progress::Progress(std::string label, bool enabled, uint64_t total_bytes)
    : label_(std::move(label)), enabled_(enabled), total_bytes_(total_bytes),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

double Progress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::Add(uint64_t documents, uint64_t bytes, uint64_t flagged) {
  documents_ += documents;
  bytes_ += bytes;
  flagged_ += flagged;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(250)) return;
  last_draw_ = now;
  Draw();
}

void Progress::Draw() {
  double s = std::max(seconds(), 1e-6);
  std::string line = fmt::format("{}: {} docs, {} flagged, {:.0f} docs/s, {:.1f} MB/s", label_, documents_, flagged_,
                                 documents_ / s, bytes_ / s / 1e6);
  if (total_bytes_ > 0 && bytes_ > 0 && bytes_ < total_bytes_) {
    double eta = (total_bytes_ - bytes_) / (bytes_ / s);
    line += fmt::format(", {:.0f}% , ETA {:.0f} s", 100.0 * bytes_ / total_bytes_, eta);
  }
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::Clear() {
  if (drawn_) {
    std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }
}

void Progress::Finish() {
  if (!enabled_) return;
  Clear();
  double s = std::max(seconds(), 1e-6);
  std::fprintf(stderr, "%s: %llu docs, %llu flagged in %.2f s (%.0f docs/s, %.1f MB/s)\n", label_.c_str(),
               static_cast<unsigned long long>(documents_), static_cast<unsigned long long>(flagged_), s,
               documents_ / s, bytes_ / s / 1e6);
}

}  // namespace vigil::tools
