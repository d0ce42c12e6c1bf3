// Byte classes of 16 bytes at once with SSE2 (the x86-64 baseline), for
// the scanners that skip text 64 bytes at a time: the literal trie's word
// starts (rules/literal_set.cc), the phone and entity extractors' block
// masks (scanner/). One definition of the range test they all use.
//
// A result byte is 0xFF where the class holds, 0x00 elsewhere; bytes >= 0x80
// belong to no class. Callers keep a scalar path for builds without SSE2.
#pragma once

#include <cstdint>

#ifdef __SSE2__
#include <emmintrin.h>

namespace vigil::rules {

struct AsciiClasses16 {
  __m128i letter;  // A-Z, a-z
  __m128i digit;   // 0-9
};

// x is in [lo, lo + width] iff (x - lo) as an unsigned byte is at most
// width, i.e. min(x - lo, width) == x - lo.
inline AsciiClasses16 ClassifyAscii16(__m128i v) {
  const __m128i from_a = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
  const __m128i from_0 = _mm_sub_epi8(v, _mm_set1_epi8('0'));
  return {_mm_cmpeq_epi8(_mm_min_epu8(from_a, _mm_set1_epi8(25)), from_a),
          _mm_cmpeq_epi8(_mm_min_epu8(from_0, _mm_set1_epi8(9)), from_0)};
}

inline __m128i Load16(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Bit i of the result is the top bit of byte i of `m`.
inline uint64_t Mask16(__m128i m) { return static_cast<uint16_t>(_mm_movemask_epi8(m)); }

}  // namespace vigil::rules

#endif  // __SSE2__
