// Explaining normalisation to a person: which words of the original text
// the matcher read differently ("ｆｒｅｓｈ" read as "fresh", "y0ung" as
// "young", "N E W" as "new"). Used by `vigil rules explain` and the review
// UI. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scanner/normalize.h"

namespace vigil::scanner {

struct TextChange {
  uint32_t start = 0;  // original byte span
  uint32_t end = 0;
  std::string original;  // original[start, end)
  std::string read_as;   // the normalised word(s)
};

// Word by word, the places where the normalised text differs from the
// original beyond ASCII case and white-space/punctuation collapsing.
std::vector<TextChange> DescribeNormalization(std::string_view original, const NormalizedText& normalized);

// Same, restricted to changes that overlap the original span [start, end).
std::vector<TextChange> DescribeNormalization(std::string_view original, const NormalizedText& normalized,
                                              uint32_t start, uint32_t end);

}  // namespace vigil::scanner
