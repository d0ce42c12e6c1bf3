// PeakMemory: how much a block of code raised this process's resident
// memory at its peak, for the "bounded memory" column of docs/security.md.
//
// On construction it returns free heap pages to the kernel (malloc_trim),
// resets the kernel's high-water mark of the resident set (writing "5" to
// /proc/self/clear_refs, Linux 4.0 and later) and reads VmRSS as the
// baseline; GrowthBytes() is VmHWM minus that baseline, so it covers every
// thread of the process (a server running in-process included) and every
// moment in between, not just the end state.
//
// Under AddressSanitizer the figures are meaningless (shadow memory, a
// quarantine of freed blocks), so Meaningful() is false there and tests
// only assert bounds when it is true. Not thread-safe: one at a time.
#pragma once

#include <malloc.h>

#include <cstddef>
#include <cstdio>
#include <fstream>
#include <string>

namespace vigil::hardening {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerBuild = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif
#else
inline constexpr bool kSanitizerBuild = false;
#endif

class PeakMemory {
 public:
  PeakMemory() {
    ::malloc_trim(0);
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.close();
    reset_ = clear.good();
    baseline_kb_ = ReadStatusKb("VmRSS:");
  }

  // True when the high-water mark could be reset and no sanitizer inflates
  // the figures: only then do tests assert a bound.
  bool Meaningful() const { return reset_ && baseline_kb_ > 0 && !kSanitizerBuild; }

  size_t GrowthBytes() const {
    const long hwm = ReadStatusKb("VmHWM:");
    return hwm > baseline_kb_ ? static_cast<size_t>(hwm - baseline_kb_) * 1024 : 0;
  }

  // Prints "hostile-memory: <row>: peak growth X MB (bound Y MB)" to stderr
  // (docs/security.md records these) and returns the growth in bytes.
  size_t Report(const std::string& row, size_t bound_bytes) const {
    const size_t growth = GrowthBytes();
    std::fprintf(stderr, "hostile-memory: %s: peak growth %.1f MB (bound %zu MB)%s\n", row.c_str(),
                 static_cast<double>(growth) / (1 << 20), bound_bytes >> 20,
                 Meaningful() ? "" : " [not asserted: sanitizer build or no clear_refs]");
    return growth;
  }

  static long ReadStatusKb(const char* key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::string k(key);
    while (std::getline(in, line)) {
      if (line.compare(0, k.size(), k) == 0) return std::stol(line.substr(k.size()));
    }
    return -1;
  }

 private:
  bool reset_ = false;
  long baseline_kb_ = -1;
};

}  // namespace vigil::hardening

// Asserts that `peak` (a PeakMemory) grew by at most `bound` bytes while the
// row ran, when the figure is meaningful; always prints the figure.
#define CHECK_PEAK_MEMORY(peak, row, bound)                                  \
  do {                                                                       \
    const size_t vigil_growth_ = (peak).Report((row), (bound));              \
    if ((peak).Meaningful()) {                                               \
      INFO("peak memory growth " << vigil_growth_ << " bytes, bound " << (bound)); \
      CHECK(vigil_growth_ <= (bound));                                       \
    }                                                                        \
  } while (0)
