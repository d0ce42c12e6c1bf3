// PhoneExtractor implementation.
//
// One pass over the original bytes turns the text into digit units and the
// gaps between them. A unit is one digit read from the text with its byte
// span: an ASCII digit, a digit word ("seven", "f0ur", "oh"), a letter
// standing for a digit ("O", "l"), a digit from another script or block
// (fullwidth, Arabic-Indic, circled), or a keycap. Units separated by short
// gaps of separators or emoji form a run; anything else (an ordinary word,
// '$', a long gap) ends the run. Units written with no gap between them form
// a group ("5five5" is one group of three units).
//
// A finished run is searched left to right, from group starts only, for a
// phone-shaped slice: after a '+', an international number of 8..15 digits;
// otherwise, for NANP regions, 11 digits starting with a country code 1 or
// 10 digits, whose internal group boundaries fall where phone numbers break
// (after the area code or exchange) or between groups of at most two digits
// (spaced-out digits). libphonenumber validates each slice. Runs that hold
// only a 7-digit local number are paired afterwards with a 3-digit area
// code in a neighbouring run when "area" is written near it or the area
// code is in parentheses.
//
// While no run is open, most bytes change nothing: ordinary words and
// separators only close runs. SkipIdle jumps, with 64-byte SSE2 masks kept
// per block, to the next ASCII digit, non-ASCII byte or word that spells
// digit words (a two-letter table first, then the automaton).
//
// libphonenumber is slow (a validity check costs microseconds), so verdicts
// are cached. NANP verdicts are cached per 7-digit prefix (NPA-NXX-X): every
// NANP pattern in libphonenumber's metadata ends in at least three free
// digits, so the verdict for a 10-digit number depends only on its first
// seven (tests/scanner/phone_extractor_test.cc checks this against the
// installed metadata). Other numbers are cached whole.
#include "scanner/phone_extractor.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <unicode/uchar.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "rules/ascii_masks.h"
#include "scanner/utf8.h"

namespace vigil::scanner {
namespace {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

// Limits on what may stand between two digit units of one run.
constexpr uint32_t kMaxGapChars = 5;   // visible characters
constexpr uint32_t kMaxGapBytes = 48;  // bytes, counting invisible ones
// Alphanumeric runs longer than this are split into letters and digits
// instead of being decoded whole.
constexpr uint32_t kMaxDecodeLength = 256;
// Area code written apart: at most this many bytes between the two parts,
// and "area" at most kAreaWordWindow bytes before the area code.
constexpr uint32_t kAreaPairWindow = 40;
constexpr uint32_t kAreaWordWindow = 16;
// Longest international number (E.164) and the shortest one searched for.
constexpr size_t kMaxE164Digits = 15;
constexpr size_t kMinIntlDigits = 8;
constexpr size_t kMinNationalDigits = 6;  // non-NANP default regions
constexpr size_t kCacheShards = 16;
constexpr size_t kMaxCacheEntriesPerShard = 4096;
constexpr uint32_t kNanpPrefixes = 10'000'000;  // 7-digit prefixes

// ---------------------------------------------------------------------------
// Byte classes of ASCII.

enum ByteClass : uint8_t {
  kBreak = 0,  // ends a run: '$', '%', '@', '!', '?', ';', quotes, controls
  kDigit,
  kLetter,
  kPlainSep,  // ordinary phone punctuation: space . - ( ) / +
  kOddSep,    // tolerated between digits but a sign of obfuscation
  kHigh,      // first byte of a multi-byte sequence (or an invalid byte)
};

constexpr std::array<uint8_t, 256> BuildByteClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c >= 0x80 ? kHigh : kBreak;
  for (int c = '0'; c <= '9'; ++c) t[c] = kDigit;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = kLetter;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = kLetter;
  for (char c : {' ', '\t', '\r', '\n', '.', '-', '(', ')', '/', '+'}) t[static_cast<uint8_t>(c)] = kPlainSep;
  for (char c : {'_', '*', '~', '|', ',', ':', '=', '[', ']', '{', '}', '<', '>', '\\', '^', '`'}) {
    t[static_cast<uint8_t>(c)] = kOddSep;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kByteClass = BuildByteClasses();

inline bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAsciiLetter(char c) { return static_cast<unsigned char>((c | 0x20) - 'a') < 26; }

// The first index at or after j (and at most n) that is not an ASCII letter.
inline uint32_t SkipLetters(const char* s, uint32_t j, uint32_t n) {
#ifdef __SSE2__
  const __m128i above = _mm_set1_epi8(0x60), below = _mm_set1_epi8(0x7B), fold = _mm_set1_epi8(0x20);
  while (j + 16 <= n) {
    const __m128i x = _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + j)), fold);
    const __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(x, above), _mm_cmplt_epi8(x, below));
    const unsigned others = ~static_cast<unsigned>(_mm_movemask_epi8(letters)) & 0xFFFFu;
    if (others != 0) return j + static_cast<uint32_t>(__builtin_ctz(others));
    j += 16;
  }
#endif
  while (j < n && IsAsciiLetter(s[j])) ++j;
  return j;
}
inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// ---------------------------------------------------------------------------
// Digit words.

struct DigitWord {
  const char* text;  // lower case
  uint8_t length;
  uint8_t digit;
  bool weak;  // also an ordinary word or letter: "o", "oh", "i", "l"
};

constexpr DigitWord kDigitWords[] = {
    {"zero", 4, 0, false}, {"oh", 2, 0, true},     {"o", 1, 0, true},      {"one", 3, 1, false},
    {"two", 3, 2, false},  {"three", 5, 3, false}, {"four", 4, 4, false},  {"for", 3, 4, false},
    {"fore", 4, 4, false}, {"five", 4, 5, false},  {"six", 3, 6, false},   {"seven", 5, 7, false},
    {"eight", 5, 8, false}, {"nine", 4, 9, false}, {"nein", 4, 9, false},  {"i", 1, 1, true},
    {"l", 1, 1, true},
};

// Whether `c` from the text may be read as the word letter `letter`: the
// letter itself in any case ("l" lower case only, "L" does not look like a
// one), or a leetspeak digit.
constexpr bool LetterMatches(char c, char letter, bool* leet) {
  *leet = false;
  if (c == letter) return true;
  if (c >= 'A' && c <= 'Z') return letter != 'l' && c - 'A' + 'a' == letter;
  bool hit = false;
  switch (c) {
    case '0': hit = letter == 'o'; break;
    case '1': hit = letter == 'i' || letter == 'l'; break;
    case '3': hit = letter == 'e'; break;
    case '5': hit = letter == 's'; break;
    case '7': hit = letter == 't'; break;
    case '9': hit = letter == 'g'; break;
    default: break;
  }
  *leet = hit;
  return hit;
}

// Bit k: byte c may be read as the first letter of kDigitWords[k].
constexpr std::array<uint32_t, 256> BuildFirstLetterWords() {
  std::array<uint32_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    for (size_t k = 0; k < std::size(kDigitWords); ++k) {
      bool leet = false;
      if (LetterMatches(static_cast<char>(c), kDigitWords[k].text[0], &leet)) t[c] |= 1u << k;
    }
  }
  return t;
}
constexpr std::array<uint32_t, 256> kFirstLetterWords = BuildFirstLetterWords();

// A bit-parallel (shift-and) recogniser for "these letters are a
// concatenation of digit words", used to reject ordinary words quickly.
struct WordAutomaton {
  std::array<uint64_t, 256> accept{};  // bits of the word letters each byte may be
  uint64_t first = 0;                  // bits of word-initial letters
  uint64_t last = 0;                   // bits of word-final letters
};

constexpr WordAutomaton BuildWordAutomaton() {
  WordAutomaton a;
  int bit = 0;
  for (const DigitWord& w : kDigitWords) {
    for (int k = 0; k < w.length; ++k, ++bit) {
      const uint64_t mask = uint64_t{1} << bit;
      const char letter = w.text[k];
      a.accept[static_cast<uint8_t>(letter)] |= mask;
      if (letter != 'l') a.accept[static_cast<uint8_t>(letter - 'a' + 'A')] |= mask;
      if (k == 0) a.first |= mask;
      if (k == w.length - 1) a.last |= mask;
    }
  }
  return a;
}
constexpr WordAutomaton kWords = BuildWordAutomaton();
static_assert(sizeof(kDigitWords) / sizeof(kDigitWords[0]) <= 20, "keep the word list small");

// Automaton state after reading byte `c` in state `d` (0 = dead).
constexpr uint64_t WordStep(uint64_t d, uint8_t c) {
  const uint64_t restart = (d & kWords.last) ? kWords.first : 0;
  return (((d << 1) & ~kWords.first) | restart) & kWords.accept[c];
}

// True when the ASCII letters [p, end) are one or more digit words.
bool IsDigitWords(const char* p, const char* end) {
  uint64_t d = kWords.first & kWords.accept[static_cast<uint8_t>(*p)];
  for (++p; p < end && d != 0; ++p) d = WordStep(d, static_cast<uint8_t>(*p));
  return p == end && (d & kWords.last) != 0;
}

// The first (up to) five letters of a word, lower-cased, one per byte.
constexpr uint64_t PackLower(const char* p, uint32_t n) {
  uint64_t v = 0;
  for (uint32_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[k]) | 0x20) << (8 * k);
  return v;
}

// kDigitWords packed, per length, in list order.
struct PackedDigitWords {
  std::array<std::array<uint64_t, 8>, 6> packed{};
  std::array<std::array<uint8_t, 8>, 6> index{};
  std::array<uint8_t, 6> count{};
};
constexpr PackedDigitWords BuildPackedDigitWords() {
  PackedDigitWords t;
  for (size_t i = 0; i < std::size(kDigitWords); ++i) {
    const DigitWord& w = kDigitWords[i];
    t.packed[w.length][t.count[w.length]] = PackLower(w.text, w.length);
    t.index[w.length][t.count[w.length]++] = static_cast<uint8_t>(i);
  }
  return t;
}
constexpr PackedDigitWords kPackedDigitWords = BuildPackedDigitWords();

// The digit word the letters [p, p + n) spell exactly (any case, "l" lower
// case only), or null. No digit word is a concatenation of others, so this
// is what DecodeAlnum would return for them, without the search.
const DigitWord* SingleDigitWord(const char* p, uint32_t n) {
  if (n > 5) return nullptr;
  if (n == 1 && p[0] == 'L') return nullptr;
  const uint64_t v = PackLower(p, n);  // p holds ASCII letters only
  for (uint8_t k = 0; k < kPackedDigitWords.count[n]; ++k) {
    if (kPackedDigitWords.packed[n][k] == v) return &kDigitWords[kPackedDigitWords.index[n][k]];
  }
  return nullptr;
}

// Bit (c0 << 8 | c1): a word starting with byte c0, then c1, may be digit
// words: the automaton survives c0 and, when c1 is a letter, c1.
struct StartPairs {
  std::array<uint64_t, 1024> bits{};
};
constexpr StartPairs BuildStartPairs() {
  StartPairs t;
  for (int c0 = 0; c0 < 256; ++c0) {
    const uint64_t d = kWords.first & kWords.accept[c0];
    if (d == 0) continue;
    for (int c1 = 0; c1 < 256; ++c1) {
      const bool letter = (c1 >= 'a' && c1 <= 'z') || (c1 >= 'A' && c1 <= 'Z');
      if (!letter || WordStep(d, static_cast<uint8_t>(c1)) != 0) {
        const int k = (c0 << 8) | c1;
        t.bits[k >> 6] |= uint64_t{1} << (k & 63);
      }
    }
  }
  return t;
}
constexpr StartPairs kStartPairs = BuildStartPairs();

// Whether the letter word starting at s[p] may be digit words, judged on
// its first two bytes; s[p + 1] must be readable.
inline bool MayStartDigitWord(const char* s, uint32_t p) {
  uint16_t pair;
  std::memcpy(&pair, s + p, 2);
  const uint32_t k = (static_cast<uint32_t>(pair & 0xFF) << 8) | (pair >> 8);
  return (kStartPairs.bits[k >> 6] >> (k & 63)) & 1;
}

// Whether the letters starting at s[p] (up to the first non-letter) are
// one or more digit words. A word whose letters are not, but which goes on
// with a digit, is found by its digit.
inline bool IsDigitWordsToEnd(const char* s, uint32_t p, uint32_t n) {
  uint64_t d = kWords.first & kWords.accept[static_cast<uint8_t>(s[p])];
  for (uint32_t q = p + 1; q < n && IsAsciiLetter(s[q]); ++q) {
    d = WordStep(d, static_cast<uint8_t>(s[q]));
    if (d == 0) return false;
  }
  return (d & kWords.last) != 0;
}

// Byte masks of one 64-byte block of the text (bit k: byte k), for
// skipping stretches that cannot start a phone.
struct BlockMasks {
  uint64_t letters = 0;  // ASCII letters
  uint64_t hard = 0;     // ASCII digits and non-ASCII bytes
  uint64_t starts = 0;   // letters not preceded by an ASCII letter or digit
};

inline BlockMasks ClassifyBlock(const unsigned char* p, bool prev_alnum) {
  BlockMasks m;
  uint64_t alnum = 0;
#ifdef __SSE2__
  for (int k = 0; k < 4; ++k) {
    const __m128i v = rules::Load16(p + 16 * k);
    const rules::AsciiClasses16 c = rules::ClassifyAscii16(v);
    const uint64_t l = rules::Mask16(c.letter);
    const uint64_t d = rules::Mask16(c.digit);
    const uint64_t h = rules::Mask16(v);  // non-ASCII bytes
    m.letters |= l << (16 * k);
    m.hard |= (d | h) << (16 * k);
    alnum |= (l | d) << (16 * k);
  }
#else
  for (int k = 0; k < 64; ++k) {
    const char c = static_cast<char>(p[k]);
    const uint64_t bit = uint64_t{1} << k;
    if (IsAsciiLetter(c)) m.letters |= bit;
    if (IsAsciiDigit(c) || p[k] >= 0x80) m.hard |= bit;
    if (IsAsciiLetter(c) || IsAsciiDigit(c)) alnum |= bit;
  }
#endif
  m.starts = m.letters & ~((alnum << 1) | (prev_alnum ? 1 : 0));
  return m;
}

// ---------------------------------------------------------------------------
// Units and runs.

enum UnitFlag : uint8_t {
  kDecoded = 1,    // not a plain ASCII digit
  kWeak = 2,       // "o", "oh", "i", "l", look-alike letters
  kWord = 4,       // read from letters
  kGapBefore = 8,  // separated from the previous unit (a group starts here)
  kOddGap = 16,    // the gap before holds more than ordinary punctuation
};

struct Unit {
  uint32_t start;
  uint32_t end;
  uint8_t digit;
  uint8_t flags;
};

// A finished run that may be one half of a split number: a 7-digit local
// number or a 3-digit area code.
struct SplitPart {
  uint32_t run_index;  // runs are numbered in text order
  uint32_t start;      // span, '(' included for an area code in parentheses
  uint32_t end;
  uint32_t digits_start;  // first digit's start (without '(')
  char digits[8];
  uint8_t length;  // 3 or 7
  bool parenthesised;
  bool used;
};

struct Scratch {
  std::vector<Unit> units;
  std::vector<SplitPart> parts;
  std::vector<Entity> found;
  std::string key;
};

// "+1" and the 10 national digits.
std::string NanpE164(uint64_t national) {
  std::string out(12, '0');
  out[0] = '+';
  out[1] = '1';
  for (int k = 11; k >= 2; --k, national /= 10) out[k] = static_cast<char>('0' + national % 10);
  return out;
}

// Decodes a code point at text[i] (known non-ASCII); returns its length in
// bytes, or 0 for an invalid sequence.
size_t DecodeUtf8(std::string_view text, size_t i, UChar32* cp) {
  const size_t len = Utf8SequenceLength(text, i);
  const auto* s = reinterpret_cast<const unsigned char*>(text.data()) + i;
  switch (len) {
    case 2: *cp = ((s[0] & 0x1F) << 6) | (s[1] & 0x3F); break;
    case 3: *cp = ((s[0] & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F); break;
    case 4: *cp = ((s[0] & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F); break;
    default: return 0;
  }
  return len;
}

// What a non-ASCII code point is to the scanner.
enum class CodePointKind { kDigit, kLookAlike, kInvisible, kPlainSep, kOddSep, kBreak };

CodePointKind ClassifyCodePoint(UChar32 cp, int* digit) {
  if (cp >= 0xFF10 && cp <= 0xFF19) {  // fullwidth digits, the common case
    *digit = cp - 0xFF10;
    return CodePointKind::kDigit;
  }
  switch (cp) {
    case 0x041E: case 0x043E:  // Cyrillic O o
    case 0x039F: case 0x03BF:  // Greek Omicron
    case 0xFF2F: case 0xFF4F:  // fullwidth O o
      *digit = 0;
      return CodePointKind::kLookAlike;
    case 0x0406: case 0x0456:  // Cyrillic (Ukrainian) I i
    case 0xFF29: case 0xFF4C:  // fullwidth I, l
      *digit = 1;
      return CodePointKind::kLookAlike;
    default: break;
  }
  if (cp >= 0x1F300 && cp <= 0x1FAFF) {  // emoji blocks, without asking ICU
    return (cp >= 0x1F3FB && cp <= 0x1F3FF) ? CodePointKind::kInvisible  // skin tones
                                             : CodePointKind::kOddSep;
  }
  if (cp >= 0xE0000 && cp <= 0xE007F) return CodePointKind::kInvisible;  // tags
  const int32_t numeric_type = u_getIntPropertyValue(cp, UCHAR_NUMERIC_TYPE);
  if (numeric_type == U_NT_DECIMAL || numeric_type == U_NT_DIGIT) {
    const double v = u_getNumericValue(cp);
    if (v >= 0 && v <= 9 && v == std::floor(v)) {
      *digit = static_cast<int>(v);
      return CodePointKind::kDigit;
    }
  }
  switch (u_charType(cp)) {
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
    case U_COMBINING_SPACING_MARK:
    case U_FORMAT_CHAR:
      return CodePointKind::kInvisible;
    case U_SPACE_SEPARATOR:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_DASH_PUNCTUATION:
      return CodePointKind::kPlainSep;
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
    case U_MATH_SYMBOL:
    case U_MODIFIER_SYMBOL:
    case U_OTHER_SYMBOL:
    case U_OTHER_NUMBER:
      return CodePointKind::kOddSep;
    default:  // letters, letter numbers, currency, controls, private use, unassigned
      return CodePointKind::kBreak;
  }
}

// libphonenumber verdicts for one default region, cached.
class Verdicts {
 public:
  explicit Verdicts(const std::string& region) : region_(region) {
    util_ = PhoneNumberUtil::GetInstance();
    region_country_code_ = util_->GetCountryCodeForRegion(region_);
    nanp_verdicts_.reset(new std::atomic<uint8_t>[kNanpPrefixes / 4]());
  }

  // 0 when the region is unknown.
  int region_country_code() const { return region_country_code_; }
  bool nanp_region() const { return region_country_code_ == 1; }

  // Whether the NANP number with this 10-digit national number is valid.
  bool NanpValid(uint64_t national) const {
    const uint64_t prefix = national / 1000;
    if (prefix >= kNanpPrefixes) return false;
    std::atomic<uint8_t>& cell = nanp_verdicts_[prefix / 4];
    const int shift = static_cast<int>(prefix % 4) * 2;
    const uint8_t state = (cell.load(std::memory_order_relaxed) >> shift) & 3;
    if (state != 0) return state == 1;
    PhoneNumber number;
    number.set_country_code(1);
    number.set_national_number(national);
    const bool valid = util_->IsValidNumber(number);
    cell.fetch_or(static_cast<uint8_t>((valid ? 1 : 2) << shift), std::memory_order_relaxed);
    return valid;
  }

  // The E.164 form of `key` ("+digits", or national digits read in the
  // default region), or "" when libphonenumber does not accept it.
  std::string ValidateGeneric(const std::string& key) const {
    Shard& shard = shards_[std::hash<std::string>()(key) % kCacheShards];
    {
      std::lock_guard<std::mutex> lock(shard.mu);
      auto it = shard.verdicts.find(key);
      if (it != shard.verdicts.end()) return it->second;
    }
    std::string e164;
    PhoneNumber number;
    if (util_->Parse(key, region_, &number) == PhoneNumberUtil::NO_PARSING_ERROR && !number.has_extension() &&
        util_->IsValidNumber(number)) {
      util_->Format(number, PhoneNumberUtil::E164, &e164);
    }
    std::lock_guard<std::mutex> lock(shard.mu);
    if (shard.verdicts.size() >= kMaxCacheEntriesPerShard) shard.verdicts.clear();
    shard.verdicts.emplace(key, e164);
    return e164;
  }

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, std::string> verdicts;  // key -> E.164 or ""
  };

  std::string region_;
  const PhoneNumberUtil* util_ = nullptr;
  int region_country_code_ = 0;
  // 2 bits per 7-digit NANP prefix: 0 unknown, 1 valid, 2 invalid. Written
  // with fetch_or; a race only computes the same verdict twice.
  std::unique_ptr<std::atomic<uint8_t>[]> nanp_verdicts_;
  mutable std::array<Shard, kCacheShards> shards_;
};

// One call of Extract: walks the text, builds runs, emits phones.
class PhoneScan {
 public:
  PhoneScan(const Verdicts& verdicts, std::string_view text, Scratch* scratch)
      : verdicts_(verdicts),
        text_(text),
        n_(static_cast<uint32_t>(std::min<size_t>(text.size(), std::numeric_limits<uint32_t>::max() - 1))),
        units_(scratch->units),
        parts_(scratch->parts),
        found_(scratch->found),
        key_(scratch->key) {
    units_.clear();
    parts_.clear();
    found_.clear();
  }

  void Run();
  std::vector<Entity>& found() { return found_; }

 private:
  void HandleAlnum(uint32_t a, uint32_t b, bool has_letter, bool has_digit);
  bool DecodeAlnum(uint32_t a, uint32_t b);
  void DecodeLetters(uint32_t a, uint32_t b);
  void AddUnit(uint32_t start, uint32_t end, int digit, uint8_t flags);
  void AddGap(uint32_t pos_after, bool visible, bool odd);
  void FinishRun();

  // Candidate search inside the current run.
  size_t TryAt(size_t s);
  bool Boundary(size_t k) const { return k >= units_.size() || (units_[k].flags & kGapBefore); }
  bool NanpShape(size_t ns, size_t count) const;
  bool NanpObfuscated(size_t s, size_t ns, size_t e) const;
  bool AnyDecoded(size_t s, size_t e) const;
  uint64_t Digits(size_t s, size_t e) const;
  void Emit(size_t s, size_t e, uint32_t span_start, std::string e164, bool obfuscated);
  int64_t PlusBefore(uint32_t pos) const;
  bool CountryCodeUnitOk(size_t s) const;
  void RecordSplitPart();
  void PairSplitParts();
  bool AreaWordIn(uint32_t from, uint32_t to) const;

  uint32_t SkipIdle(uint32_t i);
  void LoadBlock(uint32_t block);

  const Verdicts& verdicts_;
  std::string_view text_;
  uint32_t n_ = 0;                 // bytes read (text_ up to 4 GiB - 1)
  uint32_t block_ = UINT32_MAX;  // block whose masks_ are loaded
  BlockMasks masks_;
  std::vector<Unit>& units_;
  std::vector<SplitPart>& parts_;
  std::vector<Entity>& found_;
  std::string& key_;
  // The gap since the last unit of the current run.
  uint32_t gap_visible_ = 0;
  bool gap_odd_ = false;
  uint32_t run_index_ = 0;
  bool run_has_phone_ = false;
};

void PhoneScan::AddUnit(uint32_t start, uint32_t end, int digit, uint8_t flags) {
  if (!units_.empty()) {
    if (start > units_.back().end) flags |= kGapBefore;
    if (gap_odd_) flags |= kOddGap;
  }
  units_.push_back(Unit{start, end, static_cast<uint8_t>(digit), flags});
  gap_visible_ = 0;
  gap_odd_ = false;
}

void PhoneScan::AddGap(uint32_t pos_after, bool visible, bool odd) {
  if (units_.empty()) return;
  gap_visible_ += visible ? 1 : 0;
  gap_odd_ |= odd;
  if (gap_visible_ > kMaxGapChars || pos_after - units_.back().end > kMaxGapBytes) FinishRun();
}

void PhoneScan::LoadBlock(uint32_t block) {
  const auto* s = reinterpret_cast<const unsigned char*>(text_.data());
  const size_t base = static_cast<size_t>(block) * 64;
  const bool prev_alnum = base > 0 && (IsAsciiLetter(static_cast<char>(s[base - 1])) ||
                                       IsAsciiDigit(static_cast<char>(s[base - 1])));
  if (base + 64 <= n_) {
    masks_ = ClassifyBlock(s + base, prev_alnum);
  } else {
    unsigned char tail[64] = {};  // zeros: neither letters nor digits
    std::memcpy(tail, s + base, n_ - base);
    masks_ = ClassifyBlock(tail, prev_alnum);
  }
  block_ = block;
}

// Where the main loop has work to do while no run is open: the first
// position at or after i holding an ASCII digit or a non-ASCII byte, or
// starting a letter word made of digit words. A digit inside a word is reported at the word's
// start. Every other byte is a no-op without an open run: ordinary words
// and separators only close runs. i is a token boundary (the main loop
// consumes alphanumeric tokens whole). Masks are computed once per 64-byte
// block and kept between calls.
uint32_t PhoneScan::SkipIdle(uint32_t i) {
  const char* s = text_.data();
  const uint32_t from = i;
  while (i < n_) {
    const uint32_t block = i >> 6;
    if (block != block_) LoadBlock(block);
    const uint32_t base = block << 6;
    const uint64_t keep = ~uint64_t{0} << (i & 63);
    const uint64_t hard = masks_.hard & keep;
    uint64_t starts = masks_.starts & keep;
    // `from` starts a word when it is a letter (a block start is judged by
    // the byte before it).
    if (i == from) starts |= masks_.letters & (uint64_t{1} << (i & 63));
    if (hard != 0) starts &= (hard & -hard) - 1;
    for (; starts != 0; starts &= starts - 1) {
      const uint32_t p = base + static_cast<uint32_t>(__builtin_ctzll(starts));
      if (p + 1 >= n_ || (MayStartDigitWord(s, p) && IsDigitWordsToEnd(s, p, n_))) return p;
    }
    if (hard != 0) {
      uint32_t p = base + static_cast<uint32_t>(__builtin_ctzll(hard));
      while (p > from && IsAsciiLetter(s[p - 1])) --p;
      return p;
    }
    i = base + 64;
  }
  return n_;
}

void PhoneScan::Run() {
  const char* s = text_.data();
  const uint32_t n = n_;
  uint32_t i = 0;
  while (i < n) {
    if (units_.empty()) {
      i = SkipIdle(i);
      if (i >= n) break;
    }
    const uint8_t cls = kByteClass[static_cast<uint8_t>(s[i])];
    if (cls == kLetter) {
      // The common case: a word of letters only. Run the digit-word
      // automaton while finding its end; an ordinary word just ends the run.
      uint64_t d = kWords.first & kWords.accept[static_cast<uint8_t>(s[i])];
      uint32_t j = i + 1;
      while (d != 0 && j < n && IsAsciiLetter(s[j])) {
        d = WordStep(d, static_cast<uint8_t>(s[j]));
        ++j;
      }
      if (d == 0) j = SkipLetters(s, j, n);
      if (j == n || !IsAsciiDigit(s[j])) {
        if ((d & kWords.last) == 0) {
          if (!units_.empty()) FinishRun();
        } else if (const DigitWord* w = SingleDigitWord(s + i, j - i)) {
          AddUnit(i, j, w->digit, static_cast<uint8_t>(kDecoded | kWord | (w->weak ? kWeak : 0)));
        } else if (j - i > kMaxDecodeLength || !DecodeAlnum(i, j)) {
          FinishRun();
        }
        i = j;
        continue;
      }
    }
    if (cls == kLetter || cls == kDigit) {
      uint32_t j = i;
      bool has_letter = false, has_digit = false;
      while (j < n) {
        const uint8_t c = kByteClass[static_cast<uint8_t>(s[j])];
        if (c == kLetter) {
          has_letter = true;
        } else if (c == kDigit) {
          has_digit = true;
        } else {
          break;
        }
        ++j;
      }
      HandleAlnum(i, j, has_letter, has_digit);
      i = j;
      // A keycap ("7️⃣") extends the digit before it.
      if (!units_.empty() && units_.back().end == j && IsAsciiDigit(s[j - 1])) {
        size_t cap = 0;
        if (j + 6 <= n && std::memcmp(s + j, "\xEF\xB8\x8F\xE2\x83\xA3", 6) == 0) {
          cap = 6;
        } else if (j + 3 <= n && std::memcmp(s + j, "\xE2\x83\xA3", 3) == 0) {
          cap = 3;
        }
        if (cap != 0) {
          units_.back().end += static_cast<uint32_t>(cap);
          units_.back().flags |= kDecoded;
          i += static_cast<uint32_t>(cap);
        }
      }
      continue;
    }
    if (cls == kPlainSep || cls == kOddSep) {
      AddGap(i + 1, true, cls == kOddSep);
      ++i;
      continue;
    }
    if (cls == kBreak) {
      if (!units_.empty()) FinishRun();
      ++i;
      continue;
    }
    // Non-ASCII.
    UChar32 cp = 0;
    const size_t len = DecodeUtf8(text_.substr(0, n), i, &cp);
    if (len == 0) {  // invalid UTF-8 ends a run
      FinishRun();
      ++i;
      continue;
    }
    int digit = 0;
    switch (ClassifyCodePoint(cp, &digit)) {
      case CodePointKind::kDigit:
        AddUnit(i, i + static_cast<uint32_t>(len), digit, kDecoded);
        break;
      case CodePointKind::kLookAlike:
        AddUnit(i, i + static_cast<uint32_t>(len), digit, kDecoded | kWeak | kWord);
        break;
      case CodePointKind::kInvisible:
        AddGap(i + static_cast<uint32_t>(len), false, true);
        break;
      case CodePointKind::kPlainSep:
        AddGap(i + static_cast<uint32_t>(len), true, false);
        break;
      case CodePointKind::kOddSep:
        AddGap(i + static_cast<uint32_t>(len), true, true);
        break;
      case CodePointKind::kBreak:
        FinishRun();
        break;
    }
    i += static_cast<uint32_t>(len);
  }
  FinishRun();
  PairSplitParts();
}

void PhoneScan::HandleAlnum(uint32_t a, uint32_t b, bool has_letter, bool has_digit) {
  const char* s = text_.data();
  if (!has_letter) {
    for (uint32_t k = a; k < b; ++k) AddUnit(k, k + 1, s[k] - '0', 0);
    return;
  }
  if (!has_digit) {
    DecodeLetters(a, b);
    return;
  }
  if (b - a <= kMaxDecodeLength && DecodeAlnum(a, b)) return;
  // Not decodable whole ("call7025550147", "150hr"): digits stand alone,
  // letters must be digit words by themselves or they end the run.
  uint32_t k = a;
  while (k < b) {
    uint32_t m = k;
    if (IsAsciiDigit(s[k])) {
      while (m < b && IsAsciiDigit(s[m])) ++m;
      for (uint32_t q = k; q < m; ++q) AddUnit(q, q + 1, s[q] - '0', 0);
    } else {
      while (m < b && !IsAsciiDigit(s[m])) ++m;
      DecodeLetters(k, m);
    }
    k = m;
  }
}

void PhoneScan::DecodeLetters(uint32_t a, uint32_t b) {
  if (b - a > kMaxDecodeLength || !IsDigitWords(text_.data() + a, text_.data() + b) || !DecodeAlnum(a, b)) {
    FinishRun();
  }
}

// Splits [a, b) into digits, digit words (leet allowed) and letters for
// digits, preferring literal digits, then fewest leet letters, then strong
// words over weak ones, then fewest units. Adds the units and returns true,
// or returns false when [a, b) cannot be read whole.
bool PhoneScan::DecodeAlnum(uint32_t a, uint32_t b) {
  constexpr int kUnreachable = std::numeric_limits<int>::max();
  struct Step {  // trivial, so the array below costs nothing to declare
    int cost;
    uint16_t units;
    uint16_t prev;
    uint8_t digit;
    uint8_t flags;
  };
  const char* s = text_.data() + a;
  const uint32_t n = b - a;
  std::array<Step, kMaxDecodeLength + 1> steps;  // only [0, n] is initialised
  for (uint32_t k = 0; k <= n; ++k) steps[k] = Step{kUnreachable, 0, 0, 0, 0};
  steps[0].cost = 0;
  auto relax = [&](uint32_t from, uint32_t to, int cost, int digit, uint8_t flags) {
    Step& t = steps[to];
    const int c = steps[from].cost + cost;
    const uint16_t u = static_cast<uint16_t>(steps[from].units + 1);
    if (c < t.cost || (c == t.cost && u < t.units)) {
      t = Step{c, u, static_cast<uint16_t>(from), static_cast<uint8_t>(digit), flags};
    }
  };
  for (uint32_t i = 0; i < n; ++i) {
    if (steps[i].cost == kUnreachable) continue;
    const char c = s[i];
    if (IsAsciiDigit(c)) relax(i, i + 1, 0, c - '0', 0);
    if ((c == 'S' || c == 'B') && i > 0 && i + 1 < n && IsAsciiDigit(s[i - 1]) && IsAsciiDigit(s[i + 1])) {
      relax(i, i + 1, 2, c == 'S' ? 5 : 8, kDecoded | kWeak | kWord);
    }
    for (uint32_t words = kFirstLetterWords[static_cast<uint8_t>(c)]; words != 0; words &= words - 1) {
      const DigitWord& w = kDigitWords[__builtin_ctz(words)];
      if (i + w.length > n) continue;
      int leet = 0, letters = 0;
      bool ok = true;
      for (uint32_t k = 0; k < w.length && ok; ++k) {
        bool is_leet = false;
        ok = LetterMatches(s[i + k], w.text[k], &is_leet);
        leet += is_leet;
        letters += !is_leet;
      }
      if (!ok || letters == 0) continue;
      relax(i, i + w.length, 4 * leet + (w.weak ? 1 : 0), w.digit,
            static_cast<uint8_t>(kDecoded | kWord | (w.weak ? kWeak : 0)));
    }
  }
  if (steps[n].cost == kUnreachable) return false;
  std::array<uint32_t, kMaxDecodeLength + 1> ends;
  uint32_t count = 0;
  for (uint32_t at = n; at != 0; at = steps[at].prev) ends[count++] = at;
  uint32_t from = 0;
  while (count > 0) {
    const uint32_t to = ends[--count];
    AddUnit(a + from, a + to, steps[to].digit, steps[to].flags);
    from = to;
  }
  return true;
}

int64_t PhoneScan::PlusBefore(uint32_t pos) const {
  if (pos >= 1 && text_[pos - 1] == '+') return pos - 1;
  if (pos >= 2 && text_[pos - 1] == ' ' && text_[pos - 2] == '+') return pos - 2;
  if (pos >= 3 && text_.substr(pos - 3, 3) == "\xEF\xBC\x8B") return pos - 3;  // fullwidth plus
  return -1;
}

uint64_t PhoneScan::Digits(size_t s, size_t e) const {
  uint64_t v = 0;
  for (size_t k = s; k < e; ++k) v = v * 10 + units_[k].digit;
  return v;
}

bool PhoneScan::AnyDecoded(size_t s, size_t e) const {
  for (size_t k = s; k < e; ++k) {
    if (units_[k].flags & kDecoded) return true;
    if (k > s && (units_[k].flags & kOddGap)) return true;
  }
  return false;
}

// Whether the `count` digits units_[ns, ns + count) of a NANP number (10,
// or 7 for a local number) break into groups only where phone numbers
// break: after the area code or the exchange, between two single digits
// ("7 0 2", "five five five"), or between the two halves of the line
// number ("01 47"). Lists of small numbers ("ages 21 22 23 24 25") fail.
bool PhoneScan::NanpShape(size_t ns, size_t count) const {
  const size_t offset = 10 - count;  // a local number starts at the exchange
  std::array<size_t, 12> cuts;       // group starts relative to ns, then count
  size_t m = 0;
  cuts[m++] = 0;
  for (size_t b = 1; b < count; ++b) {
    if (units_[ns + b].flags & kGapBefore) cuts[m++] = b;
  }
  cuts[m] = count;
  for (size_t g = 1; g < m; ++g) {
    const size_t b = cuts[g] + offset;
    const size_t left = cuts[g] - cuts[g - 1], right = cuts[g + 1] - cuts[g];
    if (b == 3 || b == 6) continue;
    if (left == 1 && right == 1) continue;
    if (b == 8 && left == 2 && right == 2) continue;
    return false;
  }
  return true;
}

// Plain means ASCII digits, ordinary punctuation and groups breaking only
// after the country code, area code and exchange.
bool PhoneScan::NanpObfuscated(size_t s, size_t ns, size_t e) const {
  if (AnyDecoded(s, e)) return true;
  for (size_t k = ns + 1; k < e; ++k) {
    if ((units_[k].flags & kGapBefore) && k - ns != 3 && k - ns != 6) return true;
  }
  return false;
}

bool PhoneScan::CountryCodeUnitOk(size_t s) const {
  const Unit& u = units_[s];
  if (u.digit != 1 || (u.flags & kWeak)) return false;
  // "one 702 555 0147": a word only counts as the country code when the
  // number itself is written in words.
  if ((u.flags & kWord) && s + 1 < units_.size() && !(units_[s + 1].flags & kWord)) return false;
  return true;
}

void PhoneScan::Emit(size_t s, size_t e, uint32_t span_start, std::string e164, bool obfuscated) {
  Entity entity;
  entity.type = EntityType::kPhone;
  entity.value = std::move(e164);
  entity.start = span_start;
  entity.end = units_[e - 1].end;
  entity.obfuscated = obfuscated;
  found_.push_back(std::move(entity));
  run_has_phone_ = true;
}

// Looks for a phone starting at unit s (a group start); returns the unit
// index after it, or 0.
size_t PhoneScan::TryAt(size_t s) {
  const size_t n = units_.size();
  const int64_t plus = PlusBefore(units_[s].start);
  if (plus >= 0) {
    for (size_t e = std::min(n, s + kMaxE164Digits); e >= s + kMinIntlDigits; --e) {
      if (!Boundary(e)) continue;
      if (e - s == 11 && units_[s].digit == 1) {
        if (verdicts_.NanpValid(Digits(s + 1, e))) {
          Emit(s, e, static_cast<uint32_t>(plus), NanpE164(Digits(s + 1, e)),
               NanpObfuscated(s, s + 1, e));
          return e;
        }
        continue;
      }
      key_.clear();
      key_.push_back('+');
      for (size_t k = s; k < e; ++k) key_.push_back(static_cast<char>('0' + units_[k].digit));
      std::string e164 = verdicts_.ValidateGeneric(key_);
      if (!e164.empty()) {
        Emit(s, e, static_cast<uint32_t>(plus), std::move(e164), AnyDecoded(s, e));
        return e;
      }
    }
  }
  const uint32_t start = units_[s].start;
  const uint32_t span_start = (start > 0 && text_[start - 1] == '(') ? start - 1 : start;
  if (verdicts_.nanp_region()) {
    if (s + 11 <= n && Boundary(s + 11) && CountryCodeUnitOk(s) && NanpShape(s + 1, 10)) {
      const uint64_t national = Digits(s + 1, s + 11);
      if (verdicts_.NanpValid(national)) {
        Emit(s, s + 11, span_start, NanpE164(national), NanpObfuscated(s, s + 1, s + 11));
        return s + 11;
      }
    }
    if (s + 10 <= n && Boundary(s + 10) && NanpShape(s, 10)) {
      const uint64_t national = Digits(s, s + 10);
      if (verdicts_.NanpValid(national)) {
        Emit(s, s + 10, span_start, NanpE164(national), NanpObfuscated(s, s, s + 10));
        return s + 10;
      }
    }
    return 0;
  }
  if (verdicts_.region_country_code() == 0) return 0;
  for (size_t e = std::min(n, s + kMaxE164Digits); e >= s + kMinNationalDigits; --e) {
    if (!Boundary(e)) continue;
    key_.clear();
    for (size_t k = s; k < e; ++k) key_.push_back(static_cast<char>('0' + units_[k].digit));
    std::string e164 = verdicts_.ValidateGeneric(key_);
    if (!e164.empty()) {
      Emit(s, e, span_start, std::move(e164), AnyDecoded(s, e));
      return e;
    }
  }
  return 0;
}

void PhoneScan::FinishRun() {
  gap_visible_ = 0;
  gap_odd_ = false;
  if (units_.empty()) return;
  if (units_.size() < 3) {  // neither a phone nor half of a split one ("for", "I")
    ++run_index_;
    units_.clear();
    return;
  }
  run_has_phone_ = false;
  const size_t n = units_.size();
  if (n >= kMinNationalDigits) {
    size_t s = 0;
    while (s < n) {
      const size_t next = TryAt(s);
      if (next != 0) {
        s = next;
        continue;
      }
      do ++s;
      while (s < n && !Boundary(s));
    }
  }
  if (!run_has_phone_) RecordSplitPart();
  ++run_index_;
  units_.clear();
}

// Keeps a run that may be half of a number with its area code apart.
void PhoneScan::RecordSplitPart() {
  const size_t n = units_.size();
  if (!verdicts_.nanp_region() || (n != 3 && n != 7)) return;
  if (n == 7 && !NanpShape(0, 7)) return;
  SplitPart part{};
  part.run_index = run_index_;
  part.digits_start = units_.front().start;
  part.start = part.digits_start;
  part.end = units_.back().end;
  part.length = static_cast<uint8_t>(n);
  for (size_t k = 0; k < n; ++k) part.digits[k] = static_cast<char>('0' + units_[k].digit);
  if (n == 3 && part.start > 0 && text_[part.start - 1] == '(' && part.end < text_.size() &&
      text_[part.end] == ')') {
    part.parenthesised = true;
    part.start -= 1;
  }
  parts_.push_back(part);
}

bool PhoneScan::AreaWordIn(uint32_t from, uint32_t to) const {
  for (uint32_t i = from; i + 4 <= to; ++i) {
    if (AsciiLower(text_[i]) == 'a' && AsciiLower(text_[i + 1]) == 'r' && AsciiLower(text_[i + 2]) == 'e' &&
        AsciiLower(text_[i + 3]) == 'a') {
      return true;
    }
  }
  return false;
}

// Pairs a 7-digit local number with a 3-digit area code in the run just
// before or after it: "555-0147 area code 702", "area code 702 number
// 555-0147", "(702) ... 555 0147".
void PhoneScan::PairSplitParts() {
  for (size_t i = 0; i < parts_.size(); ++i) {
    SplitPart& local = parts_[i];
    if (local.length != 7 || local.used) continue;
    auto try_pair = [&](SplitPart& area, bool area_first) {
      if (area.length != 3 || area.used) return false;
      if (area.run_index + (area_first ? 1 : 0) != local.run_index + (area_first ? 0 : 1)) return false;
      const uint32_t gap_from = area_first ? area.end : local.end;
      const uint32_t gap_to = area_first ? local.digits_start : area.start;
      if (gap_to < gap_from || gap_to - gap_from > kAreaPairWindow) return false;
      bool phrase = area.parenthesised || AreaWordIn(gap_from, gap_to);
      if (!phrase && area_first) {
        const uint32_t look = area.start > kAreaWordWindow ? area.start - kAreaWordWindow : 0;
        phrase = AreaWordIn(look, area.start);
      }
      if (!phrase) return false;
      uint64_t national = 0;
      for (int k = 0; k < 3; ++k) national = national * 10 + (area.digits[k] - '0');
      for (int k = 0; k < 7; ++k) national = national * 10 + (local.digits[k] - '0');
      if (!verdicts_.NanpValid(national)) return false;
      Entity entity;
      entity.type = EntityType::kPhone;
      entity.value = NanpE164(national);
      entity.start = std::min(area.start, local.start);
      entity.end = std::max(area.end, local.end);
      entity.obfuscated = true;
      found_.push_back(std::move(entity));
      area.used = local.used = true;
      return true;
    };
    if (i > 0 && try_pair(parts_[i - 1], true)) continue;
    if (i + 1 < parts_.size()) try_pair(parts_[i + 1], false);
  }
}

}  // namespace

struct PhoneExtractor::Impl {
  explicit Impl(Options opts) : options(Normalized(std::move(opts))), verdicts(options.default_region) {
    if (verdicts.region_country_code() == 0) {
      status = Status::InvalidArgument("phone extractor: unknown default_region \"" + options.default_region +
                                       "\" (want an ISO 3166 code libphonenumber knows, such as \"US\")");
    }
  }
  // Region codes are upper case ("us" -> "US").
  static Options Normalized(Options o) {
    for (char& c : o.default_region) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return o;
  }

  Options options;
  Verdicts verdicts;
  Status status;
};

Result<std::unique_ptr<PhoneExtractor>> PhoneExtractor::Create(Options options) {
  auto extractor = std::make_unique<PhoneExtractor>(std::move(options));
  if (!extractor->status().ok()) return extractor->status();
  return extractor;
}

PhoneExtractor::PhoneExtractor() : PhoneExtractor(Options{}) {}

PhoneExtractor::PhoneExtractor(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}

PhoneExtractor::~PhoneExtractor() = default;

const Status& PhoneExtractor::status() const { return impl_->status; }

void PhoneExtractor::Extract(std::string_view text, std::vector<Entity>* out) const {
  if (out == nullptr || text.empty()) return;
  thread_local Scratch scratch;
  PhoneScan scan(impl_->verdicts, text, &scratch);
  scan.Run();
  std::vector<Entity>& found = scan.found();
  const auto by_start = [](const Entity& x, const Entity& y) { return x.start < y.start; };
  // Usually in order already (split pairs are appended last).
  if (!std::is_sorted(found.begin(), found.end(), by_start)) std::stable_sort(found.begin(), found.end(), by_start);
  for (Entity& e : found) out->push_back(std::move(e));
  found.clear();
}

}  // namespace vigil::scanner
