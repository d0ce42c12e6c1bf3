// Normalizer implementation. docs/normalization.md states the rules; this
// file is organised around them.
//
// Overview. The input is read left to right once. Each source character is
// decoded into zero or more *units* (one output code point each, with the
// source byte range it came from and a kind: letter, digit, symbol,
// separator, apostrophe, '@'). Code points of planes 0 and 1 are decoded
// through a table built once from utf8proc (NFKC + case fold + mark
// stripping) and ICU (digit values); other planes call utf8proc directly.
//
// Units that are not separators gather into a *proto-word*. When a
// separator ends it, the proto-word is resolved: apostrophes between
// letters are dropped, leetspeak runs between letters decoded, and the
// apostrophes and '@' left over become separators that split it into
// words. Words go to the emitter, which
//   - keeps runs of single-letter words joined by one separator (rule 7)
//     until it knows whether to join them,
//   - maps look-alike letters per word (rule 4),
//   - writes the text and the offset map, one space per separator run.
//
// ASCII fast path: a word made only of ASCII letters (or only of digits)
// followed by an ASCII separator needs none of the above except rule 7, so
// the main loop finds it with a 256-entry class table and copies it
// lower-cased straight into the output. Everything else takes the general
// path from the start of its word.
//
// Buffers: the output arrays are grown, never shrunk, so a warm
// NormalizedText costs no allocation; per-call scratch vectors are
// thread_local for the same reason.
#include "scanner/normalize.h"

#include <unicode/uchar.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <memory>
#include <mutex>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace vigil::scanner {
namespace {

// ---------------------------------------------------------------------------
// Unit kinds and the ASCII class table.

enum Kind : uint8_t {
  kRemoved = 0,  // produces nothing (invisible, combining mark)
  kLetter,
  kDigit,        // cp is always an ASCII digit
  kSymbol,       // S* categories, private use, unassigned: kept
  kOther,        // Nl, No left after decomposition: kept
  kSeparator,
  kApostrophe,   // dropped between letters, else a separator
  kAt,           // '@': leetspeak 'a' between letters, else a separator
};

constexpr std::array<uint8_t, 128> MakeAsciiKind() {
  std::array<uint8_t, 128> k{};
  for (int c = 0; c < 128; ++c) k[c] = kSeparator;  // controls, space, P*
  for (int c = 'a'; c <= 'z'; ++c) k[c] = kLetter;
  for (int c = 'A'; c <= 'Z'; ++c) k[c] = kLetter;
  for (int c = '0'; c <= '9'; ++c) k[c] = kDigit;
  for (char c : {'$', '+', '<', '=', '>', '^', '`', '|', '~'}) k[static_cast<uint8_t>(c)] = kSymbol;
  k['\''] = kApostrophe;
  k['@'] = kAt;
  return k;
}
constexpr std::array<uint8_t, 128> kAsciiKind = MakeAsciiKind();

// Class of every byte for the main loop: the ASCII kind, or kHigh.
constexpr uint8_t kHigh = 0xFF;
constexpr std::array<uint8_t, 256> MakeByteClass() {
  std::array<uint8_t, 256> k{};
  for (int c = 0; c < 256; ++c) k[c] = c < 128 ? kAsciiKind[c] : kHigh;
  return k;
}
constexpr std::array<uint8_t, 256> kByteClass = MakeByteClass();

constexpr std::array<char, 256> MakeLower() {
  std::array<char, 256> l{};
  for (int c = 0; c < 256; ++c) {
    l[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return l;
}
constexpr std::array<char, 256> kLower = MakeLower();

// Copies the word of ASCII letters (letters = true) or ASCII digits that
// starts at s[p] to t, lower-cased, and its offsets p + i, p + i + 1 to b
// and e; returns its length. Works 16 bytes at a time: reads up to 15 bytes
// past the word (below `limit`) and writes up to 16 entries past it (the
// caller reserved them; they are overwritten or dropped later). Returns
// kNoWord when the word reaches within 16 bytes of `limit`.
constexpr size_t kNoWord = std::numeric_limits<size_t>::max();

#if defined(__SSE2__)
// Vector constants, built once per FastAscii call so they stay in registers.
struct WordCopyConstants {
  __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  __m128i lower_bit = _mm_set1_epi8(0x20);
  __m128i upper_first = _mm_set1_epi8(static_cast<char>('A' ^ 0x80));
  __m128i upper_end = _mm_set1_epi8(static_cast<char>(('Z' + 1) ^ 0x80));
  // [0] digits, [1] letters (after lower-casing): x - first, unsigned, is
  // below count; a signed compare after flipping the top bit.
  __m128i first[2] = {_mm_set1_epi8('0'), _mm_set1_epi8('a')};
  __m128i count[2] = {_mm_set1_epi8(static_cast<char>(10 ^ 0x80)),
                      _mm_set1_epi8(static_cast<char>(26 ^ 0x80))};
  __m128i iota = _mm_setr_epi32(0, 1, 2, 3);
  __m128i four = _mm_set1_epi32(4);
  __m128i one = _mm_set1_epi32(1);
  __m128i space = _mm_set1_epi8(' ');
};
#else
struct WordCopyConstants {};
#endif

inline size_t CopyAsciiWord(const WordCopyConstants& k, const uint8_t* s, size_t p, size_t limit,
                            bool letters, char* t, uint32_t* b, uint32_t* e) {
#if defined(__SSE2__)
  const __m128i first = k.first[letters];
  const __m128i count = k.count[letters];
  for (size_t i = 0; p + i + 16 <= limit; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + p + i));
    const __m128i x = _mm_xor_si128(v, k.flip);
    const __m128i upper = _mm_andnot_si128(_mm_cmplt_epi8(x, k.upper_first), _mm_cmplt_epi8(x, k.upper_end));
    const __m128i lowered = _mm_or_si128(v, _mm_and_si128(upper, k.lower_bit));
    // Lower-casing moves no byte into or out of '0'..'9'.
    const __m128i in = _mm_cmplt_epi8(_mm_xor_si128(_mm_sub_epi8(lowered, first), k.flip), count);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(t + i), lowered);
    __m128i off = _mm_add_epi32(_mm_set1_epi32(static_cast<int>(p + i)), k.iota);
    for (int j = 0; j < 4; ++j) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(b + i + 4 * j), off);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(e + i + 4 * j), _mm_add_epi32(off, k.one));
      off = _mm_add_epi32(off, k.four);
    }
    const unsigned outside = static_cast<unsigned>(_mm_movemask_epi8(in)) ^ 0xFFFFu;
    if (outside != 0) return i + static_cast<size_t>(__builtin_ctz(outside));
  }
  return kNoWord;
#else
  const uint8_t kind = letters ? kLetter : kDigit;
  size_t i = 0;
  for (; p + i < limit && s[p + i] < 0x80 && kAsciiKind[s[p + i]] == kind; ++i) {
    t[i] = kLower[s[p + i]];
    b[i] = static_cast<uint32_t>(p + i);
    e[i] = static_cast<uint32_t>(p + i + 1);
  }
  return p + i + 16 <= limit ? i : kNoWord;
#endif
}

// What a proto-word contains, so that FlushProto skips the rules that
// cannot apply.
constexpr uint8_t kHasApostrophe = 1;  // also '@'
constexpr uint8_t kHasLeet = 2;
constexpr uint8_t kHasLookalike = 4;

constexpr std::array<uint8_t, 128> MakeAsciiFeatures() {
  std::array<uint8_t, 128> f{};
  for (char c : {'0', '1', '3', '4', '5', '7', '$'}) f[static_cast<uint8_t>(c)] = kHasLeet;
  f['@'] = kHasLeet | kHasApostrophe;
  f['\''] = kHasApostrophe;
  return f;
}
constexpr std::array<uint8_t, 128> kAsciiFeatures = MakeAsciiFeatures();

// Leetspeak decoding (rule 5); 0 = not a leetspeak character.
char LeetLetter(uint32_t cp) {
  switch (cp) {
    case '0': return 'o';
    case '1': return 'i';
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    case '@': return 'a';
    case '$': return 's';
    default: return 0;
  }
}

// Latin letters that look like Cyrillic or Greek ones (rule 4), keyed by the
// source code point after mark stripping and before case folding (Greek
// capital ETA looks like H, its lower case like n).
char LookalikeLetter(uint32_t cp) {
  switch (cp) {
    // Cyrillic capitals.
    case 0x0410: return 'a';  case 0x0412: return 'b';  case 0x0415: return 'e';
    case 0x041A: return 'k';  case 0x041C: return 'm';  case 0x041D: return 'h';
    case 0x041E: return 'o';  case 0x0420: return 'p';  case 0x0421: return 'c';
    case 0x0422: return 't';  case 0x0423: return 'y';  case 0x0425: return 'x';
    case 0x042C: return 'b';  case 0x0406: return 'i';  case 0x0408: return 'j';
    case 0x0405: return 's';  case 0x0500: return 'd';  case 0x04BA: return 'h';
    case 0x051A: return 'q';  case 0x051C: return 'w';  case 0x04C0: return 'l';
    case 0x04AE: return 'y';
    // Cyrillic small letters.
    case 0x0430: return 'a';  case 0x0432: return 'b';  case 0x0435: return 'e';
    case 0x043A: return 'k';  case 0x043C: return 'm';  case 0x043D: return 'h';
    case 0x043E: return 'o';  case 0x0440: return 'p';  case 0x0441: return 'c';
    case 0x0442: return 't';  case 0x0443: return 'y';  case 0x0445: return 'x';
    case 0x044C: return 'b';  case 0x0456: return 'i';  case 0x0458: return 'j';
    case 0x0455: return 's';  case 0x0501: return 'd';  case 0x04BB: return 'h';
    case 0x051B: return 'q';  case 0x051D: return 'w';  case 0x04CF: return 'l';
    case 0x04AF: return 'y';
    // Greek capitals.
    case 0x0391: return 'a';  case 0x0392: return 'b';  case 0x0395: return 'e';
    case 0x0396: return 'z';  case 0x0397: return 'h';  case 0x0399: return 'i';
    case 0x039A: return 'k';  case 0x039C: return 'm';  case 0x039D: return 'n';
    case 0x039F: return 'o';  case 0x03A1: return 'p';  case 0x03A4: return 't';
    case 0x03A5: return 'y';  case 0x03A7: return 'x';  case 0x03F9: return 'c';
    case 0x037F: return 'j';
    // Greek small letters.
    case 0x03B1: return 'a';  case 0x03B5: return 'e';  case 0x03B9: return 'i';
    case 0x03BA: return 'k';  case 0x03BD: return 'v';  case 0x03BF: return 'o';
    case 0x03C1: return 'p';  case 0x03C4: return 't';  case 0x03C5: return 'u';
    case 0x03C7: return 'x';  case 0x03C9: return 'w';  case 0x03F2: return 'c';
    case 0x03F3: return 'j';
    default: return 0;
  }
}

bool IsLatinLetter(uint32_t cp) {
  return (cp >= 'a' && cp <= 'z') || (cp >= 0xC0 && cp < 0x250) || (cp >= 0x1E00 && cp < 0x1F00);
}

// Separators that may stand between spaced-out letters (rule 7).
constexpr std::array<bool, 256> MakeAsciiJoinSeparator() {
  std::array<bool, 256> j{};
  for (char c : {' ', '.', '-', '_', '*'}) j[static_cast<uint8_t>(c)] = true;
  return j;
}
constexpr std::array<bool, 256> kAsciiJoinSeparator = MakeAsciiJoinSeparator();

bool IsJoinSeparator(uint32_t cp) {
  if (cp < 128) return kAsciiJoinSeparator[cp];
  if (cp == 0x00B7 || cp == 0x2022) return true;
  const utf8proc_category_t cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_PD;
}

// ---------------------------------------------------------------------------
// Per-code-point decomposition.

constexpr uint32_t kReplacement = 0xFFFD;
constexpr int kMaxUnitsPerChar = 32;  // utf8proc's longest expansion is 18

// Flags of a removed code point.
constexpr uint8_t kFlagChanged = 1;  // output differs from the source character
constexpr uint8_t kFlagQuiet = 2;    // removed without counting as decoding (VS15/VS16)
constexpr uint8_t kFlagMark = 4;     // combining mark: extends the previous unit
constexpr uint8_t kFlagZwj = 8;      // ZERO WIDTH JOINER: quiet after a symbol (emoji)

inline uint32_t PackUnit(uint32_t cp, uint8_t kind) { return cp | (static_cast<uint32_t>(kind) << 24); }
inline uint32_t UnitCp(uint32_t packed) { return packed & 0xFFFFFF; }
inline uint8_t UnitKind(uint32_t packed) { return static_cast<uint8_t>(packed >> 24); }

uint8_t KindOfDecomposed(uint32_t* cp) {
  const uint32_t c = *cp;
  if (c == '\'' || c == 0x2018 || c == 0x2019 || c == 0x02BC) return kApostrophe;
  if (c == '@') return kAt;
  if (c == kReplacement) return kSeparator;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
      return kLetter;
    case UTF8PROC_CATEGORY_ND: {
      const int32_t v = u_charDigitValue(static_cast<UChar32>(c));
      if (v >= 0 && v <= 9) {
        *cp = '0' + static_cast<uint32_t>(v);
        return kDigit;
      }
      return kOther;
    }
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      return kOther;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
      return kRemoved;
    case UTF8PROC_CATEGORY_PC: case UTF8PROC_CATEGORY_PD: case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE: case UTF8PROC_CATEGORY_PI: case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO: case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CS:
      return kSeparator;
    default:  // S*, Co, Cn
      return kSymbol;
  }
}

bool IsInvisible(uint32_t cp) {
  if (cp >= 0xE0000 && cp <= 0xE0FFF) return true;  // tags, variation selectors supplement
  if (cp >= 0xFE00 && cp <= 0xFE0F) return true;
  const utf8proc_property_t* prop = utf8proc_get_property(static_cast<utf8proc_int32_t>(cp));
  return prop->ignorable || prop->category == UTF8PROC_CATEGORY_CF;
}

// The decoding of one valid code point: up to kMaxUnitsPerChar packed units.
struct Decomposition {
  uint32_t units[kMaxUnitsPerChar];
  int count = 0;
  uint8_t lookalike = 0;
  uint8_t flags = 0;
};

void Decompose(uint32_t cp, Decomposition* d) {
  d->count = 0;
  d->lookalike = 0;
  d->flags = 0;
  if (cp == kReplacement) {
    d->units[d->count++] = PackUnit(cp, kSeparator);
    return;
  }
  if (IsInvisible(cp)) {
    if (cp == 0xFE0E || cp == 0xFE0F) d->flags |= kFlagQuiet;
    if (cp == 0x200D) d->flags |= kFlagZwj;
    return;
  }
  if (cp >= 0xAC00 && cp <= 0xD7A3) {  // Hangul syllables stay composed (NFKC)
    d->units[d->count++] = PackUnit(cp, kLetter);
    return;
  }
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC || cat == UTF8PROC_CATEGORY_ME) {
    d->flags |= kFlagMark | kFlagChanged;
    return;
  }
  utf8proc_int32_t buf[kMaxUnitsPerChar];
  int boundclass = UTF8PROC_BOUNDCLASS_START;
  constexpr auto kOptions = static_cast<utf8proc_option_t>(
      UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);
  utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf,
                                               kMaxUnitsPerChar, kOptions, &boundclass);
  if (n < 0 || n > kMaxUnitsPerChar) {  // cannot happen for a valid code point; keep it
    buf[0] = static_cast<utf8proc_int32_t>(cp);
    n = 1;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) {
    uint32_t out = static_cast<uint32_t>(buf[i]);
    const uint8_t kind = KindOfDecomposed(&out);
    if (kind == kRemoved) continue;
    d->units[d->count++] = PackUnit(out, kind);
  }
  if (!(d->count == 1 && UnitCp(d->units[0]) == cp)) d->flags |= kFlagChanged;
  if (d->count == 1 && UnitKind(d->units[0]) == kLetter) {
    // Look-alikes are judged on the letter before case folding.
    utf8proc_int32_t base[kMaxUnitsPerChar];
    int bc = UTF8PROC_BOUNDCLASS_START;
    constexpr auto kBaseOptions = static_cast<utf8proc_option_t>(
        UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_STRIPMARK);
    const utf8proc_ssize_t m = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), base,
                                                       kMaxUnitsPerChar, kBaseOptions, &bc);
    if (m == 1) d->lookalike = static_cast<uint8_t>(LookalikeLetter(static_cast<uint32_t>(base[0])));
  }
}

// Planes 0 and 1 (everything in use except rare CJK and tags) decoded once,
// a page of 512 code points at a time, when the first of them is read:
// decoding all 128 Ki of them at start-up was a fifth of every command's
// start (34.5 M instructions), and an ad uses a few pages.
struct CpEntry {
  uint32_t value;     // the unit when count == 1, else an index into its page's pool
  uint8_t count;      // units; 0 = removed
  uint8_t lookalike;
  uint8_t flags;
  uint8_t pad;
};

class CodePointTable {
 public:
  static constexpr uint32_t kSize = 0x20000;

  CodePointTable() = default;
  CodePointTable(const CodePointTable&) = delete;
  CodePointTable& operator=(const CodePointTable&) = delete;
  ~CodePointTable() {
    for (auto& page : pages_) delete page.load(std::memory_order_relaxed);
  }

  // The entry of `cp` (< kSize); *pool is what its value indexes when it
  // has several units. Thread-safe: a page is built once, under a lock,
  // and published whole.
  const CpEntry& Get(uint32_t cp, const uint32_t** pool) const {
    const Page* page = pages_[cp >> kPageBits].load(std::memory_order_acquire);
    if (page == nullptr) page = Build(cp >> kPageBits);
    *pool = page->pool.data();
    return page->entries[cp & (kPageSize - 1)];
  }

 private:
  static constexpr uint32_t kPageBits = 9;
  static constexpr uint32_t kPageSize = 1u << kPageBits;
  struct Page {
    std::array<CpEntry, kPageSize> entries;
    std::vector<uint32_t> pool;
  };

  const Page* Build(uint32_t index) const {
    std::lock_guard<std::mutex> lock(build_mu_);
    if (const Page* built = pages_[index].load(std::memory_order_acquire)) return built;
    auto page = std::make_unique<Page>();
    Decomposition d;
    for (uint32_t i = 0; i < kPageSize; ++i) {
      const uint32_t cp = (index << kPageBits) | i;
      CpEntry& e = page->entries[i];
      if (cp >= 0xD800 && cp <= 0xDFFF) {  // never produced by the decoder
        e = CpEntry{PackUnit(kReplacement, kSeparator), 1, 0, kFlagChanged, 0};
        continue;
      }
      Decompose(cp, &d);
      e.count = static_cast<uint8_t>(d.count);
      e.lookalike = d.lookalike;
      e.flags = d.flags;
      e.pad = 0;
      if (d.count == 1) {
        e.value = d.units[0];
      } else {
        e.value = static_cast<uint32_t>(page->pool.size());
        page->pool.insert(page->pool.end(), d.units, d.units + d.count);
      }
    }
    const Page* built = page.release();
    pages_[index].store(built, std::memory_order_release);
    return built;
  }

  mutable std::array<std::atomic<const Page*>, (kSize >> kPageBits)> pages_{};
  mutable std::mutex build_mu_;
};

const CodePointTable& Table() {
  static const CodePointTable table;
  return table;
}

// Strict UTF-8 decoding of the character at s[0] (n >= 1 bytes available).
// Returns its length; *cp is the code point, or kReplacement with *valid =
// false for a maximal invalid subpart (Unicode 15, section 3.9, U+FFFD
// substitution of maximal subparts).
inline size_t DecodeUtf8(const uint8_t* s, size_t n, uint32_t* cp, bool* valid) {
  const uint8_t b0 = s[0];
  *valid = false;
  *cp = kReplacement;
  auto cont = [](uint8_t b) { return (b & 0xC0) == 0x80; };
  if (b0 < 0x80) {
    *cp = b0;
    *valid = true;
    return 1;
  }
  if (b0 < 0xC2) return 1;
  if (b0 < 0xE0) {
    if (n < 2 || !cont(s[1])) return 1;
    *cp = ((b0 & 0x1Fu) << 6) | (s[1] & 0x3Fu);
    *valid = true;
    return 2;
  }
  if (b0 < 0xF0) {
    const uint8_t lo = b0 == 0xE0 ? 0xA0 : 0x80;
    const uint8_t hi = b0 == 0xED ? 0x9F : 0xBF;
    if (n < 2 || s[1] < lo || s[1] > hi) return 1;
    if (n < 3 || !cont(s[2])) return 2;
    *cp = ((b0 & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
    *valid = true;
    return 3;
  }
  if (b0 < 0xF5) {
    const uint8_t lo = b0 == 0xF0 ? 0x90 : 0x80;
    const uint8_t hi = b0 == 0xF4 ? 0x8F : 0xBF;
    if (n < 2 || s[1] < lo || s[1] > hi) return 1;
    if (n < 3 || !cont(s[2])) return 2;
    if (n < 4 || !cont(s[3])) return 3;
    *cp = ((b0 & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
    *valid = true;
    return 4;
  }
  return 1;
}

// ---------------------------------------------------------------------------
// The pass over one input.

struct Unit {
  uint32_t cp;
  uint32_t begin;
  uint32_t end;
  uint8_t kind;
  uint8_t lookalike;
  bool changed;
};

// A run of separator units between two words.
struct SepRun {
  uint32_t begin = 0;
  uint32_t end = 0;
  uint32_t units = 0;
  uint32_t cp = 0;  // the last separator's code point
};

// A single-letter (or single-digit) word and the separators before it.
struct Token {
  Unit unit;
  SepRun sep_before;
};

struct Scratch {
  std::vector<Unit> proto;   // the proto-word being read
  std::vector<Unit> joined;  // a run of tokens being joined
  std::vector<Token> run;    // current run of single-character words
  std::vector<Token> held;   // a finished two-token run waiting for its neighbour
};

// Writes the text and the offset map. Capacity only grows.
class Writer {
 public:
  explicit Writer(NormalizedText* out) : out_(out) {}

  // Sizes the arrays for a first guess of the output; within their
  // capacity this allocates nothing (the value-initialisation is a memset).
  void Start(size_t hint) { Resize(std::max(hint, size_t{64})); }
  void Reserve(size_t extra) {
    if (len_ + extra > cap_) Resize(std::max(cap_ * 2, len_ + extra + 64));
  }
  void Put(char c, uint32_t b, uint32_t e) {
    text_[len_] = c;
    begin_[len_] = b;
    end_[len_] = e;
    ++len_;
  }
  void Skip(size_t n) { len_ += n; }  // after writing n entries through the pointers
  void SetSize(size_t n) { len_ = n; }  // n <= capacity, entries below n written
  size_t size() const { return len_; }
  char* text() { return text_; }
  uint32_t* begin() { return begin_; }
  uint32_t* end() { return end_; }
  void Finish() {
    out_->text.resize(len_);
    out_->src_begin.resize(len_);
    out_->src_end.resize(len_);
  }

 private:
  void Resize(size_t n) {
    out_->text.resize(n);
    out_->src_begin.resize(n);
    out_->src_end.resize(n);
    text_ = out_->text.data();
    begin_ = out_->src_begin.data();
    end_ = out_->src_end.data();
    cap_ = n;
  }
  NormalizedText* out_;
  char* text_ = nullptr;
  uint32_t* begin_ = nullptr;
  uint32_t* end_ = nullptr;
  size_t len_ = 0;
  size_t cap_ = 0;
};

class Pass {
 public:
  Pass(std::string_view raw, const Normalizer::Options& options, NormalizedText* out,
       Scratch* scratch)
      : s_(reinterpret_cast<const uint8_t*>(raw.data())),
        n_(raw.size()),
        options_(options),
        out_(out),
        w_(out),
        table_(Table()),
        sc_(*scratch) {}

  void Run() {
    out_->decoded = false;
    sc_.proto.clear();
    sc_.run.clear();
    sc_.held.clear();
    w_.Start(n_ + 64);  // room for FastAscii's reservation (n - p + 32) without growing
    size_t p = 0;
    while (p < n_) {
      if (!options_.ascii_fast_path) {
        p = GeneralWord(p);
        continue;
      }
      const uint8_t first = kByteClass[s_[p]];
      if ((first == kLetter || first == kDigit || first == kSymbol) && sc_.run.empty() &&
          sc_.held.empty()) {
        p = FastAscii(p);
        if (p >= n_) break;
      }
      const uint8_t cls = kByteClass[s_[p]];
      if (cls == kSeparator || cls == kApostrophe || cls == kAt) {
        // An apostrophe or '@' at the start of a word has no letter before
        // it, so it is a separator.
        AddSeparator(static_cast<uint32_t>(p), static_cast<uint32_t>(p + 1), s_[p]);
        ++p;
        continue;
      }
      if (cls == kLetter || cls == kDigit) {
        size_t q = p + 1;
        while (q < n_ && kByteClass[s_[q]] == cls) ++q;
        if (q == n_ || kByteClass[s_[q]] == kSeparator) {
          if (q - p == 1) {
            AddSingle(Unit{static_cast<uint8_t>(kLower[s_[p]]), static_cast<uint32_t>(p),
                           static_cast<uint32_t>(p + 1), cls, 0, false});
          } else {
            AddPlainWord(p, q);
          }
          p = q;
          continue;
        }
      }
      p = GeneralWord(p);
    }
    EndRun(false);
    w_.Finish();
  }

 private:
  // -- Reading ---------------------------------------------------------------

  // The fast path: words of ASCII letters only or digits only (two or more)
  // followed by ASCII separators, with no run of single letters pending.
  // Returns the position of the first word it leaves to the general loop
  // (or n_); sep_ then holds the separators before that word, exactly as
  // the general loop would have it.
  // The end of the run of ASCII separators starting at s[q], q + 3 < n.
  // Runs are one to three bytes long, unpredictably: the first three are
  // counted without branching.
  static size_t SeparatorRunEnd(const uint8_t* s, size_t q, size_t n) {
    const size_t c1 = kByteClass[s[q + 1]] == kSeparator;
    const size_t c2 = c1 & (kByteClass[s[q + 2]] == kSeparator);
    const size_t c3 = c2 & (kByteClass[s[q + 3]] == kSeparator);
    size_t r = q + 1 + c1 + c2 + c3;
    if (c3) {
      while (r < n && kByteClass[s[r]] == kSeparator) ++r;
    }
    return r;
  }

  // Not inlined into Run: on its own it keeps its state in registers.
  __attribute__((noinline)) size_t FastAscii(size_t p) {
    const uint8_t* const s = s_;
    const size_t n = n_;
    // Word copies read 16 bytes at a time; the checks after a word read up
    // to 16 bytes past it. All stay below n when a word starts before
    // n - 32 and ends before n - 16.
    if (p + 32 > n) return p;
    const size_t safe_end = n - 32;
    w_.Reserve(n - p + 32);
    char* const t = w_.text();
    uint32_t* const b = w_.begin();
    uint32_t* const e = w_.end();
    const size_t o_start = w_.size();
    size_t o = o_start;
    // The separators before the next word. In the loop they are always
    // ASCII bytes [sep_begin, sep_end), so only the span is tracked.
    uint32_t sep_begin = sep_.begin;
    uint32_t sep_end = sep_.end;
    // 1 when the next word needs a space before it: after the first word
    // this is always so, a separator run having ended every word.
    size_t space = sep_.units != 0 && o != 0;
    const WordCopyConstants k;
    while (p < safe_end) {
      const uint8_t cls = kByteClass[s[p]];
#if defined(__SSE2__)
      if (cls == kLetter) {
        // Several words at once: a 16-byte block of lower-case-able letters
        // and single spaces, cut after its last complete plain word.
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + p));
        const __m128i x = _mm_xor_si128(v, k.flip);
        const __m128i upper =
            _mm_andnot_si128(_mm_cmplt_epi8(x, k.upper_first), _mm_cmplt_epi8(x, k.upper_end));
        const __m128i lowered = _mm_or_si128(v, _mm_and_si128(upper, k.lower_bit));
        const __m128i letter =
            _mm_cmplt_epi8(_mm_xor_si128(_mm_sub_epi8(lowered, k.first[1]), k.flip), k.count[1]);
        const uint32_t L = static_cast<uint32_t>(_mm_movemask_epi8(letter));
        const uint32_t S = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, k.space)));
        // Bit 16: the byte after the block. s[p - 1] is never a letter.
        const uint32_t Lx = L | (static_cast<uint32_t>(kByteClass[s[p + 16]] == kLetter) << 16);
        const uint32_t bad = ((~(L | S)) |                   // neither letter nor space
                              (S & ~(L << 1)) |              // space without a letter before
                              (S & ~(Lx >> 1)) |             // space without a letter after
                              (L & ~(L << 1) & ~(Lx >> 1)))  // one-letter word
                             & 0xFFFFu;
        const uint32_t first_bad = bad ? static_cast<uint32_t>(__builtin_ctz(bad)) : 16;
        size_t take;       // bytes of the block consumed
        bool ends_in_run;  // true: a separator run starts at p + take
        if (first_bad != 16 && first_bad != 0 && ((L >> (first_bad - 1)) & 1) &&
            kByteClass[s[p + first_bad]] == kSeparator) {
          take = first_bad;  // complete words, then other separators
          ends_in_run = true;
        } else {
          // Up to the last single space before anything doubtful; the word
          // after it is read again on the next round.
          const uint32_t spaces = S & ((1u << first_bad) - 1);
          take = spaces ? 32 - static_cast<size_t>(__builtin_clz(spaces)) : 0;
          ends_in_run = false;
        }
        if (take != 0) {
          if (space) {
            t[o] = ' ';
            b[o] = sep_begin;
            e[o] = sep_end;
          }
          o += space;
          _mm_storeu_si128(reinterpret_cast<__m128i*>(t + o), lowered);
          __m128i off = _mm_add_epi32(_mm_set1_epi32(static_cast<int>(p)), k.iota);
          for (int j = 0; j < 4; ++j) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(b + o + 4 * j), off);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(e + o + 4 * j), _mm_add_epi32(off, k.one));
            off = _mm_add_epi32(off, k.four);
          }
          space = 1;
          if (ends_in_run) {
            o += take;
            const size_t q = p + take;
            const size_t r = SeparatorRunEnd(s, q, n);
            sep_begin = static_cast<uint32_t>(q);
            sep_end = static_cast<uint32_t>(r);
            p = r;
          } else {
            // The block's last space stays pending like any separator run.
            o += take - 1;
            p += take;
            sep_begin = static_cast<uint32_t>(p - 1);
            sep_end = static_cast<uint32_t>(p);
          }
          continue;
        }
      }
#endif
      size_t len;
      if (cls == kLetter || cls == kDigit) {
        // Copied speculatively after the space; dropped below if the word
        // turns out to need the general loop.
        len = CopyAsciiWord(k, s, p, n - 16, cls == kLetter, t + o + space, b + o + space,
                            e + o + space);
        if (len == kNoWord) break;
      } else if (cls == kSymbol) {
        // Symbols alone ("+", "~") take part in no rule.
        len = 1;
        // Bounded like word copies: a long symbol run ("=====...") must
        // not read past the text (found by fuzz_normalize).
        while (p + len < n - 16 && kByteClass[s[p + len]] == kSymbol) ++len;
        if (p + len >= n - 16) break;
        for (size_t i = 0; i < len; ++i) {
          t[o + space + i] = static_cast<char>(s[p + i]);
          b[o + space + i] = static_cast<uint32_t>(p + i);
          e[o + space + i] = static_cast<uint32_t>(p + i + 1);
        }
      } else {
        break;
      }
      const size_t q = p + len;
      if (kByteClass[s[q]] != kSeparator) break;
      if (len == 1 && cls != kSymbol) {
        // A one-character word is a word like any other unless the next
        // word may be one too, one joinable separator away (rule 7). That
        // needs the general loop.
        const uint8_t c1 = kByteClass[s[q + 1]];
        const uint8_t c2 = kByteClass[s[q + 2]];
        if (kAsciiJoinSeparator[s[q]] && c1 != kSeparator &&
            !((c1 == kLetter || c1 == kDigit) && (c2 == kLetter || c2 == kDigit))) {
          break;
        }
      }
      if (space) {
        t[o] = ' ';
        b[o] = sep_begin;
        e[o] = sep_end;
      }
      o += space + len;
      space = 1;
      const size_t r = SeparatorRunEnd(s, q, n);
      sep_begin = static_cast<uint32_t>(q);
      sep_end = static_cast<uint32_t>(r);
      p = r;
    }
    if (o != o_start) {
      prev_run_joined_ = false;
      sep_ = SepRun{sep_begin, sep_end, sep_end - sep_begin, s[sep_end - 1]};
    }
    w_.SetSize(o);
    return p;
  }

  // Reads from p (the start of a word, or a non-ASCII character) until the
  // proto-word is closed by a separator; returns the position after it.
  size_t GeneralWord(size_t p) {
    std::vector<Unit>& proto = sc_.proto;
    Decomposition dyn;
    while (p < n_) {
      const uint8_t b0 = s_[p];
      const uint32_t begin = static_cast<uint32_t>(p);
      if (b0 < 0x80) {
        const uint8_t kind = kAsciiKind[b0];
        ++p;
        if (kind == kSeparator) {
          FlushProto();
          AddSeparator(begin, begin + 1, b0);
          return p;
        }
        proto.push_back(Unit{static_cast<uint8_t>(kLower[b0]), begin, begin + 1, kind, 0, false});
        proto_features_ |= kAsciiFeatures[b0];
        continue;
      }
      uint32_t cp;
      bool valid;
      const size_t len = DecodeUtf8(s_ + p, n_ - p, &cp, &valid);
      p += len;
      const uint32_t end = static_cast<uint32_t>(p);
      if (!valid) {
        out_->decoded = true;
        FlushProto();
        AddSeparator(begin, end, kReplacement);
        return p;
      }
      const uint32_t* units;
      uint32_t single;
      int count;
      uint8_t lookalike;
      uint8_t flags;
      if (cp < CodePointTable::kSize) {
        const uint32_t* pool;
        const CpEntry& e = table_.Get(cp, &pool);
        count = e.count;
        lookalike = e.lookalike;
        flags = e.flags;
        if (count == 1) {
          single = e.value;
          units = &single;
        } else {
          units = pool + e.value;
        }
      } else {
        Decompose(cp, &dyn);
        count = dyn.count;
        lookalike = dyn.lookalike;
        flags = dyn.flags;
        units = dyn.units;
      }
      if (count == 0) {
        RemoveCharacter(flags, end);
        if (proto.empty()) return p;
        continue;
      }
      const bool changed = (flags & kFlagChanged) != 0;
      if (lookalike) proto_features_ |= kHasLookalike;
      bool closed = false;
      for (int i = 0; i < count; ++i) {
        const uint8_t kind = UnitKind(units[i]);
        const uint32_t ucp = UnitCp(units[i]);
        if (kind == kSeparator) {
          FlushProto();
          AddSeparator(begin, end, ucp);
          closed = true;
        } else {
          proto.push_back(Unit{ucp, begin, end, kind, count == 1 ? lookalike : uint8_t{0}, changed});
          if (ucp < 128) {
            proto_features_ |= kAsciiFeatures[ucp];
          } else if (kind == kApostrophe) {
            proto_features_ |= kHasApostrophe;
          }
          closed = false;
        }
      }
      if (closed) return p;
    }
    FlushProto();
    return p;
  }

  // A source character that produces no output.
  void RemoveCharacter(uint8_t flags, uint32_t end) {
    std::vector<Unit>& proto = sc_.proto;
    bool quiet = (flags & kFlagQuiet) != 0;
    if ((flags & kFlagZwj) && !proto.empty() && proto.back().kind == kSymbol) quiet = true;
    if (!quiet) out_->decoded = true;
    if ((flags & kFlagMark) && !proto.empty() && proto.back().kind != kApostrophe &&
        proto.back().kind != kAt) {
      // A combining mark belongs to the character before it: widen that
      // character's span (all units decoded from it) to cover the mark.
      // Not a separator's, nor an apostrophe's or '@' (which may become
      // separators): marks after separators are dropped.
      const uint32_t b = proto.back().begin;
      for (size_t i = proto.size(); i > 0 && proto[i - 1].begin == b; --i) proto[i - 1].end = end;
    }
  }

  // Resolves the proto-word: apostrophes, leetspeak, leftover '@' and
  // apostrophes as separators; hands its words on.
  void FlushProto() {
    std::vector<Unit>& u = sc_.proto;
    if (u.empty()) return;
    const uint8_t features = proto_features_;
    proto_features_ = 0;
    lookalikes_ = (features & kHasLookalike) != 0;
    if (features & kHasApostrophe) {
      // Rule 6: an apostrophe between two letters is dropped.
      const size_t n = u.size();
      bool dropped = false;
      for (size_t i = 1; i + 1 < n; ++i) {
        if (u[i].kind == kApostrophe && u[i - 1].kind == kLetter && u[i + 1].kind == kLetter) {
          u[i].kind = kRemoved;
          dropped = true;
        }
      }
      if (dropped) {
        out_->decoded = true;
        u.erase(std::remove_if(u.begin(), u.end(), [](const Unit& x) { return x.kind == kRemoved; }),
                u.end());
      }
    }
    if ((features & kHasLeet) && options_.decode_leetspeak) DecodeLeet(u.data(), u.size());
    size_t start = 0;
    if (features & kHasApostrophe) {
      for (size_t i = 0; i < u.size(); ++i) {
        if (u[i].kind == kApostrophe || u[i].kind == kAt) {
          AddWordUnits(u.data() + start, i - start);
          AddSeparator(u[i].begin, u[i].end, u[i].cp);
          start = i + 1;
        }
      }
    }
    AddWordUnits(u.data() + start, u.size() - start);
    u.clear();
  }

  // Rule 5: one or two leetspeak characters between two letters.
  static void DecodeLeet(Unit* u, size_t n) {
    size_t i = 0;
    while (i < n && u[i].kind != kLetter) ++i;
    while (i < n) {
      size_t j = i + 1;
      while (j < n && u[j].kind != kLetter) ++j;
      if (j >= n) return;
      const size_t gap = j - i - 1;
      if (gap >= 1 && gap <= 2) {
        bool all = true;
        for (size_t k = i + 1; k < j; ++k) all = all && LeetLetter(u[k].cp) != 0;
        if (all) {
          for (size_t k = i + 1; k < j; ++k) {
            u[k].cp = static_cast<uint8_t>(LeetLetter(u[k].cp));
            u[k].kind = kLetter;
            u[k].lookalike = 0;
            u[k].changed = true;
          }
        }
      }
      i = j;
    }
  }

  // -- Words and runs of single letters (rule 7) ------------------------------

  void AddSeparator(uint32_t begin, uint32_t end, uint32_t cp) {
    if (sep_.units == 0) sep_.begin = begin;
    sep_.end = end;
    sep_.cp = cp;
    ++sep_.units;
  }

  void AddWordUnits(Unit* u, size_t n) {
    if (n == 0) return;
    if (n == 1 && (u[0].kind == kLetter || u[0].kind == kDigit)) {
      AddSingle(u[0]);
      return;
    }
    EndRun(false);
    EmitSpace(sep_);
    sep_ = SepRun{};
    if (lookalikes_) MapLookalikes(u, n);
    EmitUnits(u, n);
  }

  // An ASCII word of letters only, or digits only, at [p, q), q - p >= 2.
  void AddPlainWord(size_t p, size_t q) {
    EndRun(false);
    EmitSpace(sep_);
    sep_ = SepRun{};
    const size_t len = q - p;
    w_.Reserve(len);
    char* t = w_.text() + w_.size();
    uint32_t* b = w_.begin() + w_.size();
    uint32_t* e = w_.end() + w_.size();
    const uint8_t* s = s_ + p;
    const uint32_t base = static_cast<uint32_t>(p);
    for (size_t i = 0; i < len; ++i) {
      t[i] = kLower[s[i]];
      b[i] = base + static_cast<uint32_t>(i);
      e[i] = base + static_cast<uint32_t>(i) + 1;
    }
    w_.Skip(len);
  }

  void AddSingle(const Unit& unit) {
    std::vector<Token>& run = sc_.run;
    const bool joinable = options_.join_spaced_letters && sep_.units == 1 && IsJoinSeparator(sep_.cp);
    if (!run.empty() && joinable && (run.size() == 1 || sep_.cp == run_sep_cp_)) {
      if (run.size() == 1) run_sep_cp_ = sep_.cp;
      run.push_back(Token{unit, sep_});
    } else {
      EndRun(true);
      run.push_back(Token{unit, sep_});
    }
    sep_ = SepRun{};
  }

  // The current run of single-character words is complete. adjacent_next:
  // another run starts right after it (only separators between).
  void EndRun(bool adjacent_next) {
    std::vector<Token>& run = sc_.run;
    std::vector<Token>& held = sc_.held;
    if (!run.empty()) {
      bool has_letter = false;
      for (const Token& t : run) has_letter = has_letter || t.unit.kind == kLetter;
      const size_t n = run.size();
      if (n >= 3 && has_letter) {
        if (!held.empty()) EmitJoined(held);
        held.clear();
        EmitJoined(run);
        prev_run_joined_ = true;
      } else if (n == 2 && has_letter) {
        FlushHeld();
        if (prev_run_joined_) {
          EmitJoined(run);
        } else if (adjacent_next) {
          held.assign(run.begin(), run.end());
        } else {
          EmitSeparately(run);
        }
      } else {
        FlushHeld();
        EmitSeparately(run);
        prev_run_joined_ = false;
      }
      run.clear();
    }
    if (!adjacent_next) {
      FlushHeld();
      prev_run_joined_ = false;
    }
  }

  void FlushHeld() {
    if (sc_.held.empty()) return;
    EmitSeparately(sc_.held);
    sc_.held.clear();
  }

  void EmitSeparately(std::vector<Token>& tokens) {
    for (Token& t : tokens) {
      EmitSpace(t.sep_before);
      EmitUnits(&t.unit, 1);
    }
  }

  void EmitJoined(const std::vector<Token>& tokens) {
    std::vector<Unit>& j = sc_.joined;
    j.clear();
    for (const Token& t : tokens) j.push_back(t.unit);
    out_->decoded = true;
    EmitSpace(tokens.front().sep_before);
    if (options_.decode_leetspeak) DecodeLeet(j.data(), j.size());
    MapLookalikes(j.data(), j.size());
    EmitUnits(j.data(), j.size());
  }

  // Rule 4, per word.
  void MapLookalikes(Unit* u, size_t n) const {
    if (!options_.map_confusables) return;
    size_t latin = 0, look = 0, other = 0;
    for (size_t i = 0; i < n; ++i) {
      if (u[i].kind != kLetter) continue;
      if (u[i].lookalike) {
        ++look;
      } else if (IsLatinLetter(u[i].cp)) {
        ++latin;
      } else {
        ++other;
      }
    }
    if (look == 0) return;
    if (latin == 0 && (other > 0 || look < 2)) return;
    for (size_t i = 0; i < n; ++i) {
      if (u[i].kind == kLetter && u[i].lookalike) {
        u[i].cp = u[i].lookalike;
        u[i].lookalike = 0;
        u[i].changed = true;
      }
    }
  }

  // -- Output ----------------------------------------------------------------

  void EmitSpace(const SepRun& sep) {
    if (sep.units == 0 || w_.size() == 0) return;
    w_.Reserve(1);
    w_.Put(' ', sep.begin, sep.end);
  }

  void EmitUnits(const Unit* u, size_t n) {
    w_.Reserve(4 * n);
    // Locals, not the writer's members: char stores may alias anything, so
    // members would be reloaded after every byte.
    char* const t = w_.text();
    uint32_t* const bs = w_.begin();
    uint32_t* const es = w_.end();
    size_t o = w_.size();
    bool changed = false;
    for (size_t i = 0; i < n; ++i) {
      const uint32_t cp = u[i].cp;
      const uint32_t b = u[i].begin;
      const uint32_t e = u[i].end;
      changed |= u[i].changed;
      size_t len;
      if (cp < 0x80) {
        t[o] = static_cast<char>(cp);
        len = 1;
      } else if (cp < 0x800) {
        t[o] = static_cast<char>(0xC0 | (cp >> 6));
        t[o + 1] = static_cast<char>(0x80 | (cp & 0x3F));
        len = 2;
      } else if (cp < 0x10000) {
        t[o] = static_cast<char>(0xE0 | (cp >> 12));
        t[o + 1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        t[o + 2] = static_cast<char>(0x80 | (cp & 0x3F));
        len = 3;
      } else {
        t[o] = static_cast<char>(0xF0 | (cp >> 18));
        t[o + 1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        t[o + 2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        t[o + 3] = static_cast<char>(0x80 | (cp & 0x3F));
        len = 4;
      }
      for (size_t k = 0; k < len; ++k) {
        bs[o + k] = b;
        es[o + k] = e;
      }
      o += len;
    }
    w_.SetSize(o);
    if (changed) out_->decoded = true;
  }

  const uint8_t* s_;
  size_t n_;
  const Normalizer::Options& options_;
  NormalizedText* out_;
  Writer w_;
  const CodePointTable& table_;
  Scratch& sc_;
  SepRun sep_;
  uint8_t proto_features_ = 0;  // kHas* bits of the proto-word being read
  bool lookalikes_ = false;     // the proto-word being flushed has look-alikes
  uint32_t run_sep_cp_ = 0;
  bool prev_run_joined_ = false;
};

}  // namespace

Normalizer::Normalizer() : Normalizer(Options{}) {}

Normalizer::Normalizer(Options options) : options_(options) {}

void Normalizer::Normalize(std::string_view raw, NormalizedText* out) const {
  // Offsets are 32-bit: anything past 4 GiB - 1 bytes is not read.
  constexpr size_t kMaxInput = std::numeric_limits<uint32_t>::max() - 1;
  if (raw.size() > kMaxInput) raw = raw.substr(0, kMaxInput);
  thread_local Scratch scratch;
  Pass pass(raw, options_, out, &scratch);
  pass.Run();
}

std::string Normalizer::NormalizeToString(std::string_view raw) const {
  NormalizedText out;
  Normalize(raw, &out);
  return std::move(out.text);
}

}  // namespace vigil::scanner
