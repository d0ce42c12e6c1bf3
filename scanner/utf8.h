// Small UTF-8 helpers for the scanner's hot path: validation with an ASCII
// fast path, byte-for-byte repair that keeps offsets, and safe truncation.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil::scanner {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Length in bytes of the well-formed UTF-8 sequence starting at text[i], or
// 0 when the bytes there are not one.
size_t Utf8SequenceLength(std::string_view text, size_t i);

// Copies `text` into *out with every byte that is not part of a well-formed
// sequence replaced by 0x1A (SUB), so offsets stay the same.
void ReplaceInvalidUtf8Bytes(std::string_view text, std::string* out);

// The largest n <= limit such that text[0, n) does not end inside a
// multi-byte sequence.
size_t Utf8BoundaryAtOrBefore(std::string_view text, size_t limit);

}  // namespace vigil::scanner
