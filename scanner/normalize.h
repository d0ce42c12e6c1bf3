// Normalizer: turns an ad's raw UTF-8 into the text rules match on, with a
// map from every normalised byte back to the original bytes.
//
// The normalised text is lower-case (Unicode case folding), NFKC, with
// invisible characters removed, look-alike letters mapped to Latin,
// leetspeak inside words decoded (y0ung -> young), letters split by spaces
// or dots joined (n.e.w -> new), and runs of white space and punctuation
// collapsed to one space. docs/normalization.md gives the exact rules.
//
// Thread-safety: a Normalizer is immutable after construction; const
// methods may be called from many threads. A NormalizedText is a per-thread
// output buffer, reused between calls to avoid allocation. A shared code
// point table is built a page of 512 code points at a time, by the first
// Normalize call that reads one of them (~50 us a page, once per process).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::scanner {

struct NormalizedText {
  std::string text;
  // For each byte i of `text`, the original bytes it came from are
  // [src_begin[i], src_end[i]). Both have text.size() entries, and both are
  // non-decreasing.
  std::vector<uint32_t> src_begin;
  std::vector<uint32_t> src_end;
  // True when something beyond ASCII lower-casing and white-space collapsing
  // changed the text (decoding was needed to read it).
  bool decoded = false;

  // Maps the normalised half-open span [begin, end) (end > begin) to the
  // original half-open byte span.
  void ToOriginal(uint32_t begin, uint32_t end, uint32_t* orig_begin, uint32_t* orig_end) const {
    *orig_begin = src_begin[begin];
    *orig_end = src_end[end - 1];
  }
  void Clear() {
    text.clear();
    src_begin.clear();
    src_end.clear();
    decoded = false;
  }
};

class Normalizer {
 public:
  struct Options {
    bool map_confusables = true;     // Cyrillic/Greek look-alikes -> Latin
    bool decode_leetspeak = true;    // digits and symbols inside words
    bool join_spaced_letters = true; // "n e w", "n.e.w" -> "new"
    // false: every character takes the general path, none the ASCII fast
    // path. The output is the same either way; tests compare the two.
    bool ascii_fast_path = true;
  };

  Normalizer();
  explicit Normalizer(Options options);

  // Normalises `raw` (any bytes; invalid UTF-8 is replaced, never passed on)
  // into *out, replacing its previous contents. Never fails.
  void Normalize(std::string_view raw, NormalizedText* out) const;

  // Convenience for tests and tools: the normalised text alone.
  std::string NormalizeToString(std::string_view raw) const;

 private:
  Options options_;
};

}  // namespace vigil::scanner
