// Progress: a one-line progress display on stderr for long CLI jobs (docs/s,
// MB/s, flagged, ETA when the total size is known). Silent when disabled
// (not a terminal). Not thread-safe: call from the delivering thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vigil::tools {

class Progress {
 public:
  Progress(std::string label, bool enabled, uint64_t total_bytes);
  // Adds finished work and redraws at most four times a second.
  void Add(uint64_t documents, uint64_t bytes, uint64_t flagged);
  // Erases the line (before printing something else on stderr).
  void Clear();
  // Erases the line and prints a final summary line when enabled.
  void Finish();

  uint64_t documents() const { return documents_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t flagged() const { return flagged_; }
  double seconds() const;

 private:
  void Draw();
  std::string label_;
  bool enabled_;
  uint64_t total_bytes_;
  uint64_t documents_ = 0, bytes_ = 0, flagged_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace vigil::tools
