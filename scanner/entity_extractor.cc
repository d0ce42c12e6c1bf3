// Entity extraction in one forward pass over the original bytes.
//
// 64-byte SSE2 block masks let the loop visit only the starts of
// alphanumeric runs ("words"), '@', '$' and the lead byte of a 4-byte
// emoji. A word that is not a number, not followed by '.' and a letter or
// digit, and not a cue word (a length and two-letter table, then a small
// hash table) costs a few instructions and is passed over. Entities are parsed locally around the
// triggers:
//   '@'                 plain email, or "name @ domain . com"
//   word + '.'          URL host (www.example.com, example.com/lexi, t.me/NAME)
//   http(s)://          URL with a scheme
//   "at"                spelled-out email ("lexi99 at example dot com")
//   platform word       social handle ("kik: lexi_99")
//   digits              age ("19 yo"), duration then price ("2hrs 400"),
//                       or price with its cues after ("150 roses/hh")
//   '$', rose, "roses"  price with the unit in front ("$150", "🌹🌹 150")
//   hh, hr, overnight   price with the duration in front ("hh 120")
//   age, im, I'm        stated age
// A parse that succeeds moves the cursor past its span. Parses that look
// backwards (an email's local part, a host's first label) can overlap an
// earlier candidate; overlaps are resolved by priority at the end (email >
// URL with scheme or www > handle > bare domain > age > price). The rules
// are documented in docs/entities.md.
#include "scanner/entity_extractor.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>

#include "rules/ascii_masks.h"

namespace vigil::scanner {
namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();

// ---------------------------------------------------------------------------
// Byte classes.

enum ByteBits : uint8_t {
  kAlpha = 1,
  kDigit = 2,
  kBlank = 4,        // space, tab (NBSP handled separately: two bytes)
  kLocal = 8,        // email local part: alnum . _ % + -
  kLabel = 16,       // host label: alnum -
  kTrigger = 32,     // stops the fast skip: alnum @ $ and the 4-byte lead 0xF0
  kHandleChar = 64,  // handle: alnum . _ -
  kUrlChar = 128,    // URL path: printable ASCII except < > " ` { } | \ ^
};
constexpr uint8_t kAlnum = kAlpha | kDigit;

constexpr std::array<uint8_t, 256> MakeByteClass() {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    uint8_t bits = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha) bits |= kAlpha;
    if (digit) bits |= kDigit;
    if (c == ' ' || c == '\t') bits |= kBlank;
    if (alpha || digit || c == '.' || c == '_' || c == '%' || c == '+' || c == '-') bits |= kLocal;
    if (alpha || digit || c == '-') bits |= kLabel;
    if (alpha || digit || c == '@' || c == '$' || c == 0xF0) bits |= kTrigger;
    if (alpha || digit || c == '.' || c == '_' || c == '-') bits |= kHandleChar;
    if (c >= 0x21 && c <= 0x7E && c != '<' && c != '>' && c != '"' && c != '`' && c != '{' &&
        c != '}' && c != '|' && c != '\\' && c != '^') {
      bits |= kUrlChar;
    }
    table[c] = bits;
  }
  return table;
}
constexpr std::array<uint8_t, 256> kByteClass = MakeByteClass();

// Bit masks of one 64-byte block: bit k is byte k. `alnum`: ASCII letters
// and digits; `trigger`: alnum plus '@', '$' and 0xF0 (the lead byte of
// the rose emoji).
struct BlockMasks {
  uint64_t alnum = 0;
  uint64_t trigger = 0;
};

#if defined(__SSE2__)
inline BlockMasks ClassifyBlock(const unsigned char* p) {
  BlockMasks m;
  const __m128i at = _mm_set1_epi8('@'), dollar = _mm_set1_epi8('$');
  const __m128i lead4 = _mm_set1_epi8(static_cast<char>(0xF0));
  for (int k = 0; k < 4; ++k) {
    const __m128i v = rules::Load16(p + 16 * k);
    const rules::AsciiClasses16 c = rules::ClassifyAscii16(v);
    const __m128i alnum = _mm_or_si128(c.letter, c.digit);
    const __m128i special = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(v, at), _mm_cmpeq_epi8(v, dollar)), _mm_cmpeq_epi8(v, lead4));
    m.alnum |= rules::Mask16(alnum) << (16 * k);
    m.trigger |= rules::Mask16(_mm_or_si128(alnum, special)) << (16 * k);
  }
  return m;
}
#else
inline BlockMasks ClassifyBlock(const unsigned char* p) {
  BlockMasks m;
  for (int k = 0; k < 64; ++k) {
    const uint8_t bits = kByteClass[p[k]];
    m.alnum |= static_cast<uint64_t>((bits & (kAlpha | kDigit)) != 0) << k;
    m.trigger |= static_cast<uint64_t>((bits & kTrigger) != 0) << k;
  }
  return m;
}
#endif

inline char Lower(uint8_t c) { return static_cast<char>((c >= 'A' && c <= 'Z') ? c + 32 : c); }

// ---------------------------------------------------------------------------
// Cue words.

enum class Cue : uint8_t {
  kAt,        // "at" of a spelled-out email
  kScheme,    // http, https
  kPlatform,  // kik, snap, ig, ...: a handle may follow
  kAgeWord,   // age, aged
  kIm,        // im, iam
  kI,         // I ('m | am)
  kUnitWord,  // roses, usd, donation: a price may follow
  kDuration,  // hh, hr, overnight, ...: a price may follow
};

// How much a platform word needs around it before the next token counts as
// a handle (see docs/entities.md).
enum class Strength : uint8_t { kStrong, kMedium, kWeak };

struct CueWord {
  std::string_view word;  // lower case
  Cue cue;
  std::string_view detail;  // platform, unit or duration
  Strength strength = Strength::kStrong;
};

constexpr CueWord kCueWords[] = {
    {"at", Cue::kAt, ""},
    {"http", Cue::kScheme, "http"},
    {"https", Cue::kScheme, "https"},
    {"kik", Cue::kPlatform, "kik"},
    {"snap", Cue::kPlatform, "snap"},
    {"snapchat", Cue::kPlatform, "snap"},
    {"sc", Cue::kPlatform, "snap", Strength::kMedium},
    {"instagram", Cue::kPlatform, "instagram"},
    {"insta", Cue::kPlatform, "instagram"},
    {"ig", Cue::kPlatform, "instagram", Strength::kMedium},
    {"telegram", Cue::kPlatform, "telegram"},
    {"tg", Cue::kPlatform, "telegram", Strength::kMedium},
    {"whatsapp", Cue::kPlatform, "whatsapp"},
    {"wa", Cue::kPlatform, "whatsapp", Strength::kWeak},
    {"wechat", Cue::kPlatform, "wechat"},
    {"wc", Cue::kPlatform, "wechat", Strength::kMedium},
    {"twitter", Cue::kPlatform, "twitter"},
    {"x", Cue::kPlatform, "twitter", Strength::kWeak},
    {"onlyfans", Cue::kPlatform, "onlyfans"},
    {"of", Cue::kPlatform, "onlyfans", Strength::kWeak},
    {"age", Cue::kAgeWord, ""},
    {"aged", Cue::kAgeWord, ""},
    {"im", Cue::kIm, ""},
    {"iam", Cue::kIm, ""},
    {"i", Cue::kI, ""},
    {"roses", Cue::kUnitWord, "roses"},
    {"rose", Cue::kUnitWord, "roses"},
    {"usd", Cue::kUnitWord, "usd"},
    {"donation", Cue::kUnitWord, "donation"},
    {"donations", Cue::kUnitWord, "donation"},
    {"hh", Cue::kDuration, "hh"},
    {"hhr", Cue::kDuration, "hh"},
    {"half", Cue::kDuration, "hh"},
    {"hr", Cue::kDuration, "hr"},
    {"hrs", Cue::kDuration, "hr"},
    {"hour", Cue::kDuration, "hr"},
    {"hours", Cue::kDuration, "hr"},
    {"h", Cue::kDuration, "hr"},
    {"overnight", Cue::kDuration, "overnight"},
    {"ovn", Cue::kDuration, "overnight"},
    {"qv", Cue::kDuration, "qv"},
    {"quickie", Cue::kDuration, "qv"},
};
constexpr size_t kMaxCueLength = 9;

// Words that are never handles: fillers and ordinary words that follow a
// platform name ("kik friendly", "snap pics", "one of them").
constexpr std::string_view kHandleStopwords[] = {
    "a",      "about",    "above",     "account",   "acct",     "add",      "again",     "all",
    "also",   "always",   "am",        "an",        "and",      "any",      "anytime",   "are",
    "as",     "asap",     "at",        "available", "babe",     "baby",     "back",      "be",
    "below",  "best",     "bio",       "but",       "by",       "call",     "can",       "chat",
    "check",  "com",      "contact",   "content",   "daddy",    "details",  "dm",        "do",
    "dot",    "down",     "email",     "first",     "follow",   "for",      "free",      "friendly",
    "from",   "fun",      "girls",     "great",     "guys",     "handle",   "here",      "hit",
    "hmu",    "honey",    "hun",       "i",         "id",       "if",       "ig",        "in",
    "info",   "insta",    "instagram", "is",        "it",       "its",      "just",      "kik",
    "ladies", "link",     "me",        "message",   "more",     "msg",      "my",        "name",
    "new",    "no",       "not",       "now",       "of",       "ok",       "okay",      "on",
    "only",   "onlyfans", "or",        "our",       "page",     "pic",      "pics",      "please",
    "pls",    "plz",      "premium",   "private",   "request",  "requests", "same",      "sc",
    "send",   "snap",     "snapchat",  "so",        "story",    "sub",      "subscribe", "tg",
    "thanks", "that",     "the",       "them",      "then",     "there",    "these",     "they",
    "this",   "those",    "thx",       "to",        "today",    "tonight",  "too",       "twitter",
    "u",      "up",       "us",        "user",      "username", "verified", "via",       "video",
    "videos", "vip",      "wa",        "was",       "wc",       "we",       "wechat",    "whatsapp",
    "with",   "x",        "yes",       "you",       "your",
};

// Words before " at " that make it a place or time, not an email
// ("meet at", "see me at").
constexpr std::string_view kLocalStopwords[] = {
    "a",        "again",     "am",      "and",   "anytime",  "apply",  "are",     "arrive",
    "arriving", "available", "back",    "be",    "best",     "book",   "buy",     "call",
    "come",     "contact",   "details", "info",  "join",     "more",   "online",  "order",
    "read",     "register",  "shop",    "sign",  "day",      "days",   "dm",      "done",
    "email",    "find",      "found",   "free",  "fun",      "here",   "hit",     "him",
    "her",      "home",      "hotel",   "i",     "ig",       "in",     "insta",   "is",
    "it",       "just",      "kik",     "live",  "lives",    "living", "located", "look",
    "looking",  "mail",      "me",      "meet",  "message",  "msg",    "night",   "nights",
    "no",       "not",       "now",     "of",    "off",      "on",     "only",    "open",
    "or",       "out",       "party",   "pick",  "play",     "reach",  "rest",    "sc",
    "see",      "snap",      "so",      "start", "starting", "stay",   "staying", "stop",
    "tg",       "text",      "the",     "them",  "there",    "time",   "up",      "us",
    "visit",    "visiting",  "wa",      "was",   "we",       "were",   "work",    "working",
    "x",        "yes",       "you",
};

// First domain labels that make " at ... dot ..." ordinary prose.
constexpr std::string_view kDomainStopwords[] = {
    "a",    "all",  "an",    "any",   "best", "first",    "her",  "his",   "home", "hotel",
    "it",   "its",  "last",  "least", "me",   "midnight", "most", "motel", "my",   "night",
    "no",   "noon", "once",  "one",   "our",  "school",   "some", "that",  "the",  "their",
    "them", "this", "times", "two",   "work", "you",      "your",
};

// Top-level domains accepted after a spelled-out "at".
constexpr std::string_view kEmailTlds[] = {
    "ai",  "app", "au",   "be", "biz",  "br",  "ca",  "cc",  "ch",  "club", "cn", "co",
    "com", "de",  "edu",  "es", "eu",   "fr",  "gov", "ie",  "in",  "info", "io", "it",
    "jp",  "kr",  "live", "ly", "me",   "mil", "mx",  "net", "nl",  "no",   "nz", "online",
    "org", "pl",  "ru",   "se", "site", "tv",  "uk",  "us",  "xyz", "za",
};

// Top-level domains accepted for a bare domain ("example.com/lexi"). English
// words that are also TLDs (at, be, in, is, it, no, to) are left out.
constexpr std::string_view kUrlTlds[] = {
    "ai",  "app",  "au",     "biz", "ca",   "cc",   "club", "co",   "com",  "de", "edu",
    "eu",  "fans", "fr",     "gl",  "gov",  "info", "io",   "link", "live", "ly", "me",
    "net", "nl",   "online", "org", "page", "ru",   "site", "tv",   "uk",   "us", "xyz",
};

// Words after a number that make it a time, a distance, a count or a
// measure rather than a price or an age ("hours 10 am", "hr 30 days").
constexpr std::string_view kNotAmountFollowers[] = {
    "am",     "cm",      "day",     "days",  "feet",   "ft",     "girls",   "guys",  "inch",
    "inches", "kg",      "lb",      "lbs",   "men",    "mi",     "mile",    "miles", "min",
    "mins",   "minute",  "minutes", "month", "months", "people", "percent", "pm",    "sec",
    "secs",   "seconds", "times",   "week",  "weeks",  "x",
};

// Further words that make a number after "age"/"I'm" something other than
// an age ("I'm 25 min away", "im 20 roses").
constexpr std::string_view kNotAgeFollowers[] = {
    "bucks", "dollar", "dollars", "h",    "hh",    "hour", "hours",
    "hr",    "hrs",    "k",       "rose", "roses", "usd",
};

template <size_t N>
std::unordered_set<std::string_view> MakeSet(const std::string_view (&words)[N]) {
  return std::unordered_set<std::string_view>(std::begin(words), std::end(words));
}

// Word tables shared by every call; immutable after construction.
class Lexicon {
 public:
  Lexicon()
      : handle_stop_(MakeSet(kHandleStopwords)),
        local_stop_(MakeSet(kLocalStopwords)),
        domain_stop_(MakeSet(kDomainStopwords)),
        email_tlds_(MakeSet(kEmailTlds)),
        url_tlds_(MakeSet(kUrlTlds)),
        not_amount_(MakeSet(kNotAmountFollowers)),
        not_age_(MakeSet(kNotAgeFollowers)) {
    slots_.fill(-1);
    for (auto& masks : prefix_) masks.fill(0);
    for (size_t i = 0; i < std::size(kCueWords); ++i) {
      const auto* w = reinterpret_cast<const unsigned char*>(kCueWords[i].word.data());
      const size_t len = kCueWords[i].word.size();
      prefix_[len][w[0] - 'a'] |= len == 1 ? kAnySecond : 1u << (w[1] - 'a');
      pairs_[len][w[0] & 0x1F] |= 1u << (len == 1 ? 0 : (w[1] & 0x1F));
      size_t slot = Hash(Pack(w, len), len);
      while (slots_[slot] >= 0) slot = (slot + 1) % kSlots;
      slots_[slot] = static_cast<int16_t>(i);
    }
  }

  // False when w[0, len) cannot be a cue word: most words fail on length
  // and first two letters, before any hashing.
  bool MayBeCue(const unsigned char* w, size_t len) const {
    if (len == 0 || len > kMaxCueLength) return false;
    const unsigned first = static_cast<unsigned>((w[0] | 0x20) - 'a');
    if (first >= 26) return false;
    if (len == 1) return (prefix_[1][first] & kAnySecond) != 0;
    const unsigned second = static_cast<unsigned>((w[1] | 0x20) - 'a');
    return second < 26 && (prefix_[len][first] & (1u << second)) != 0;
  }

  // A superset of MayBeCue for a word starting with a letter, one table
  // lookup: digits after the first byte may pass (Find decides).
  bool MayBeCueFast(const unsigned char* w, size_t len) const {
    if (len > kMaxCueLength) return false;
    const uint32_t second = len == 1 ? 0 : (w[1] & 0x1F);
    return (pairs_[len][w[0] & 0x1F] >> second) & 1;
  }

  // The cue word spelled by w[0, len) in any case, or nullptr.
  const CueWord* Find(const unsigned char* w, size_t len) const {
    if (!MayBeCue(w, len)) return nullptr;
    const uint64_t packed = Pack(w, len);
    for (size_t slot = Hash(packed, len);; slot = (slot + 1) % kSlots) {
      const int16_t index = slots_[slot];
      if (index < 0) return nullptr;
      const CueWord& cue = kCueWords[index];
      if (cue.word.size() != len) continue;
      const auto* c = reinterpret_cast<const unsigned char*>(cue.word.data());
      if (Pack(c, len) != packed) continue;
      if (len > 8 && Lower(w[8]) != cue.word[8]) continue;
      return &cue;
    }
  }

  bool IsHandleStopword(std::string_view lower) const { return handle_stop_.count(lower) > 0; }
  bool IsLocalStopword(std::string_view lower) const { return local_stop_.count(lower) > 0; }
  bool IsDomainStopword(std::string_view lower) const { return domain_stop_.count(lower) > 0; }
  bool IsEmailTld(std::string_view lower) const { return email_tlds_.count(lower) > 0; }
  bool IsUrlTld(std::string_view lower) const { return url_tlds_.count(lower) > 0; }
  bool IsNotAmountFollower(std::string_view lower) const { return not_amount_.count(lower) > 0; }
  bool IsNotAgeFollower(std::string_view lower) const {
    return not_amount_.count(lower) > 0 || not_age_.count(lower) > 0;
  }

 private:
  static constexpr size_t kSlots = 256;

  // First (up to) eight bytes, lower-cased (ASCII alnum only reaches here).
  static uint64_t Pack(const unsigned char* w, size_t len) {
    uint64_t packed = 0;
    const size_t m = std::min<size_t>(len, 8);
    for (size_t i = 0; i < m; ++i) packed |= static_cast<uint64_t>(w[i] | 0x20) << (8 * i);
    return packed;
  }
  static size_t Hash(uint64_t packed, size_t len) {
    return static_cast<size_t>(((packed + len) * 0x9E3779B97F4A7C15ull) >> 56);
  }

  static constexpr uint32_t kAnySecond = 1u << 26;
  std::array<int16_t, kSlots> slots_{};
  // prefix_[len][first letter]: bit per second letter of a cue word.
  std::array<std::array<uint32_t, 26>, kMaxCueLength + 1> prefix_{};
  // pairs_[len][first & 0x1F]: bit (second & 0x1F), bit 0 for len 1.
  std::array<std::array<uint32_t, 32>, kMaxCueLength + 1> pairs_{};
  std::unordered_set<std::string_view> handle_stop_, local_stop_, domain_stop_, email_tlds_,
      url_tlds_, not_amount_, not_age_;
};

// ---------------------------------------------------------------------------
// One call's scan.

enum Priority { kPriPrice = 0, kPriAge, kPriBareUrl, kPriHandle, kPriUrl, kPriEmail };

struct Candidate {
  Entity entity;
  int priority = 0;
};

struct Amount {
  uint64_t whole = 0;  // integer part (after a "k": times 1000)
  char frac[2] = {};   // fraction digits written, trailing zeros dropped
  uint8_t frac_len = 0;
  size_t end = 0;
  size_t int_digits = 0;
  bool integer = true;    // no fraction and no "k"/thousands separators
  bool fraction = false;  // cents written ("99.99")

  // Decimal string, no leading zeros, no trailing fraction zeros. Built
  // only for an amount that is emitted.
  std::string Value() const {
    std::string v = std::to_string(whole);
    if (frac_len != 0) {
      v += '.';
      v.append(frac, frac_len);
    }
    return v;
  }
};

class Scan {
 public:
  // `cands` is per-thread scratch, cleared here; its capacity is reused.
  Scan(const Lexicon& lex, std::string_view text, std::vector<Candidate>* cands)
      : lex_(lex), t_(reinterpret_cast<const unsigned char*>(text.data())), n_(text.size()), cands_(*cands) {
    cands_.clear();
  }

  // Visits, in order, every alphanumeric token start and every '@', '$'
  // and 0xF0 byte, from 64-bit block masks; a handler's return value
  // (which may fall inside a token) is where the visit resumes.
  void Run() {
    size_t i = 0;
    while (i < n_) {
      const size_t block = i >> 6;
      if (block != block_) LoadBlock(block);
      const size_t base = block << 6;
      const uint64_t alnum = masks_.alnum;
      const uint64_t starts = alnum & ~((alnum << 1) | carry_);
      uint64_t events = ((starts | (masks_.trigger & ~alnum)) | (masks_.trigger & (uint64_t{1} << (i & 63)))) &
                        (~uint64_t{0} << (i & 63));
      bool left_block = false;
      while (events != 0) {
        const size_t off = static_cast<size_t>(__builtin_ctzll(events));
        const size_t p = base + off;
        const uint8_t c = t_[p];
        size_t next;
        bool reloaded = false;
        if (((alnum >> off) & 1) && static_cast<uint8_t>(c - '0') > 9) {
          // The common case, kept tight: a letter word ending in this
          // block that is neither a host nor a cue word. The next event
          // lies past its end (no event falls inside a token).
          const uint64_t m = ~alnum >> off;
          if (m != 0) {
            const size_t e = p + static_cast<size_t>(__builtin_ctzll(m));
            const uint8_t after = e < n_ ? t_[e] : 0;
            if (!(after == '.' && Is(e + 1, kAlnum)) &&
                !(lex_.MayBeCueFast(t_ + p, e - p) && lex_.Find(t_ + p, e - p) != nullptr)) {
              events &= events - 1;
              continue;
            }
          }
        }
        if ((alnum >> off) & 1) {
          const uint64_t m = ~alnum >> off;
          size_t e;
          if (m != 0) {
            e = std::min(n_, p + static_cast<size_t>(__builtin_ctzll(m)));
          } else {
            e = AlnumEnd(p);  // loads later blocks
            reloaded = true;
          }
          if (kByteClass[c] & kDigit) {
            next = OnNumber(p, e);
          } else if ((C(e) == '.' && Is(e + 1, kAlnum)) || lex_.MayBeCueFast(t_ + p, e - p)) {
            // Most words are neither a host nor a cue word: they stop here
            // (OnWord reads a '.' or ':' after any other word as nothing).
            next = OnWord(p, e);
          } else {
            next = e;
          }
          if (next == kNone) next = e;
        } else if (c == '@') {
          next = OnAtSign(p);
        } else if (c == '$') {
          next = ParsePrice(p, "", p);
        } else {  // 0xF0
          next = RosesEnd(p) != p ? ParsePrice(p, "", p) : kNone;
        }
        i = (next == kNone || next <= p) ? p + 1 : next;
        if (reloaded || i >= base + 64) {
          left_block = true;
          break;
        }
        const uint64_t bit = uint64_t{1} << (i & 63);
        events = (events & ~(bit - 1)) | (masks_.trigger & bit);
      }
      if (!left_block) i = base + 64;
    }
  }

  std::vector<Candidate>& candidates() { return cands_; }

 private:
  // ----- block masks: the fast skip -----
  void LoadBlock(size_t block) {
    const size_t base = block * 64;
    carry_ = (base > 0 && (kByteClass[t_[base - 1]] & kAlnum)) ? 1 : 0;
    if (base + 64 <= n_) {
      masks_ = ClassifyBlock(t_ + base);
    } else {
      unsigned char tail[64] = {};
      std::memcpy(tail, t_ + base, n_ - base);
      masks_ = ClassifyBlock(tail);
    }
    block_ = block;
  }
  // First position >= i holding an alnum byte, '@', '$' or 0xF0; n_ if none.
  size_t NextTrigger(size_t i) {
    while (i < n_) {
      const size_t block = i >> 6;
      if (block != block_) LoadBlock(block);
      const uint64_t m = masks_.trigger >> (i & 63);
      if (m != 0) return i + static_cast<size_t>(__builtin_ctzll(m));
      i = (block + 1) << 6;
    }
    return n_;
  }
  // End of the alphanumeric run starting at i.
  size_t AlnumEnd(size_t i) {
    while (i < n_) {
      const size_t block = i >> 6;
      if (block != block_) LoadBlock(block);
      const uint64_t m = ~masks_.alnum >> (i & 63);
      if (m != 0) return std::min(n_, i + static_cast<size_t>(__builtin_ctzll(m)));
      i = (block + 1) << 6;
    }
    return n_;
  }

  // ----- byte access -----
  uint8_t C(size_t p) const { return p < n_ ? t_[p] : 0; }
  bool Is(size_t p, uint8_t bits) const { return p < n_ && (kByteClass[t_[p]] & bits); }
  size_t RunEnd(size_t p, uint8_t bits) const {
    while (p < n_ && (kByteClass[t_[p]] & bits)) ++p;
    return p;
  }
  // Bytes of a blank at p: space/tab 1, NBSP (C2 A0) 2, else 0.
  size_t BlankAt(size_t p) const {
    if (Is(p, kBlank)) return 1;
    if (C(p) == 0xC2 && C(p + 1) == 0xA0) return 2;
    return 0;
  }
  size_t BlankBefore(size_t p) const {
    if (p >= 1 && Is(p - 1, kBlank)) return 1;
    if (p >= 2 && t_[p - 2] == 0xC2 && t_[p - 1] == 0xA0) return 2;
    return 0;
  }
  size_t SkipBlanks(size_t p) const {
    for (size_t b; (b = BlankAt(p)) != 0;) p += b;
    return p;
  }
  size_t SkipBlanksBack(size_t p) const {
    for (size_t b; (b = BlankBefore(p)) != 0;) p -= b;
    return p;
  }
  // Bytes of an invisible character at p (zero-width space, non-joiner,
  // joiner, word joiner, BOM, soft hyphen), else 0.
  size_t InvisibleAt(size_t p) const {
    const uint8_t c = C(p);
    if (c == 0xE2 && C(p + 1) == 0x80 && C(p + 2) >= 0x8B && C(p + 2) <= 0x8D) return 3;
    if (c == 0xE2 && C(p + 1) == 0x81 && C(p + 2) == 0xA0) return 3;
    if (c == 0xEF && C(p + 1) == 0xBB && C(p + 2) == 0xBF) return 3;
    if (c == 0xC2 && C(p + 1) == 0xAD) return 2;
    return 0;
  }
  // A non-ASCII letter (a 2-byte UTF-8 letter such as Cyrillic "а", or a
  // fullwidth form) starts at p / ends just before p. An ASCII token glued
  // to one is a disguised word ("miа_0190"): reading only its ASCII part
  // would report a wrong value.
  bool LetterStartsAt(size_t p) const {
    const uint8_t c = C(p), c1 = C(p + 1);
    if (c >= 0xC3 && c <= 0xDF) return (c1 & 0xC0) == 0x80;
    return c == 0xEF && (c1 == 0xBC || c1 == 0xBD);
  }
  bool LetterEndsAt(size_t p) const {
    if (p >= 2 && (t_[p - 1] & 0xC0) == 0x80 && t_[p - 2] >= 0xC3 && t_[p - 2] <= 0xDF) {
      return true;
    }
    return p >= 3 && t_[p - 3] == 0xEF && (t_[p - 2] == 0xBC || t_[p - 2] == 0xBD) &&
           (t_[p - 1] & 0xC0) == 0x80;
  }
  // En dash or em dash (E2 80 93 / E2 80 94) at p.
  bool LongDashAt(size_t p) const {
    return C(p) == 0xE2 && C(p + 1) == 0x80 && (C(p + 2) == 0x93 || C(p + 2) == 0x94);
  }
  std::string_view View(size_t s, size_t e) const {
    return std::string_view(reinterpret_cast<const char*>(t_) + s, e - s);
  }
  std::string LowerCopy(size_t s, size_t e) const {
    std::string out(e - s, '\0');
    for (size_t i = s; i < e; ++i) out[i - s] = Lower(t_[i]);
    return out;
  }
  // A lower-cased copy of a short word, on the stack; longer words read as
  // "" (no cue word is that long).
  struct ShortWord {
    char buf[24];
    size_t len = 0;
    operator std::string_view() const { return std::string_view(buf, len); }  // NOLINT
  };
  ShortWord LowerWord(size_t s, size_t e) const {
    ShortWord w;
    if (e - s > sizeof(w.buf)) return w;
    for (size_t i = s; i < e; ++i) w.buf[i - s] = Lower(t_[i]);
    w.len = e - s;
    return w;
  }
  // The alphabetic word at p (case-insensitive) equals `lower`, and ends at
  // a word boundary.
  bool WordIs(size_t p, std::string_view lower) const {
    if (p + lower.size() > n_) return false;
    for (size_t k = 0; k < lower.size(); ++k) {
      if (Lower(t_[p + k]) != lower[k]) return false;
    }
    return !Is(p + lower.size(), kAlnum);
  }
  // End of the letters-only word at p (p itself when none).
  size_t AlphaEnd(size_t p) const { return RunEnd(p, kAlpha); }
  // The word that ends (after blanks) just before p, lower-cased; "" if none.
  std::string WordBefore(size_t p) const {
    const size_t e = SkipBlanksBack(p);
    size_t s = e;
    while (s > 0 && e - s < 16 && Is(s - 1, kAlpha)) --s;
    if (s == e || (s > 0 && Is(s - 1, kAlnum))) return "";
    return LowerCopy(s, e);
  }
  bool IsUpperWord(size_t s, size_t e) const {
    for (size_t i = s; i < e; ++i) {
      if (!(C(i) >= 'A' && C(i) <= 'Z')) return false;
    }
    return true;
  }

  void Emit(EntityType type, size_t s, size_t e, std::string value, int priority,
            bool obfuscated = false) {
    Candidate c;
    c.entity.type = type;
    c.entity.value = std::move(value);
    c.entity.start = static_cast<uint32_t>(s);
    c.entity.end = static_cast<uint32_t>(e);
    c.entity.obfuscated = obfuscated;
    c.priority = priority;
    cands_.push_back(std::move(c));
  }

  // ----- words -----
  // The out-of-line handlers below keep Run's loop small.
  [[gnu::noinline]] size_t OnWord(size_t s, size_t e) {
    const uint8_t next = C(e);
    if (next == '.' && Is(e + 1, kAlnum)) {
      const size_t end = TryUrl(s, s, "");
      if (end != kNone) return end;
    }
    const CueWord* cue = lex_.Find(t_ + s, e - s);
    if (next == '@') {
      // An email's local part ("kik@example.com"), else "kik@lexi99".
      const size_t end = OnAtSign(e);
      if (end != e + 1) return end;
      return (cue != nullptr && cue->cue == Cue::kPlatform) ? OnPlatform(s, e, *cue) : e;
    }
    if (cue == nullptr) return e;
    switch (cue->cue) {
      case Cue::kScheme:
        if (next == ':' && C(e + 1) == '/' && C(e + 2) == '/') {
          const size_t end = TryUrl(e + 3, s, cue->detail);
          if (end != kNone) return end;
        }
        return e;
      case Cue::kAt:
        return OnAtWord(s, e);
      case Cue::kPlatform:
        return OnPlatform(s, e, *cue);
      case Cue::kAgeWord:
      case Cue::kIm:
        return OnAgeCue(s, e, cue->cue == Cue::kAgeWord);
      case Cue::kI:
        if (C(e) == '\'' && (C(e + 1) | 0x20) == 'm' && !Is(e + 2, kAlnum)) {
          return OnAgeCue(s, e + 2, false);
        }
        if (C(e) == 0xE2 && C(e + 1) == 0x80 && C(e + 2) == 0x99 && (C(e + 3) | 0x20) == 'm' &&
            !Is(e + 4, kAlnum)) {
          return OnAgeCue(s, e + 4, false);
        }
        if (BlankAt(e) && WordIs(SkipBlanks(e), "am")) return OnAgeCue(s, SkipBlanks(e) + 2, false);
        return e;
      case Cue::kUnitWord: {
        const size_t end = ParsePrice(s, "", s);
        return end != kNone ? end : e;
      }
      case Cue::kDuration:
        return OnDurationWord(s, e, *cue);
    }
    return e;
  }

  // ----- emails -----

  // '@' at a: "name@example.com", or a spaced "name @ example . com".
  [[gnu::noinline]] size_t OnAtSign(size_t a) {
    if (a > 0 && Is(a - 1, kLocal) && Is(a + 1, kAlnum)) {
      const size_t end = TryPlainEmail(a);
      if (end != kNone) return end;
    }
    // Spaced '@' or spelled dots: "lexi99 @ example . com", "lexi99@example dot com".
    const size_t end = TryObfuscatedEmail(SkipBlanksBack(a), SkipBlanks(a + 1));
    return end != kNone ? end : a + 1;
  }

  // Start of the email local part ending at le, or kNone.
  size_t LocalStart(size_t le) const {
    size_t ls = le;
    while (ls > 0 && le - ls < 64 && Is(ls - 1, kLocal)) --ls;
    if (ls > 0 && Is(ls - 1, kLocal)) return kNone;  // longer than 64
    if (LetterEndsAt(ls)) return kNone;
    while (ls < le && !Is(ls, kAlnum)) ++ls;
    if (ls == le || C(le - 1) == '.') return kNone;
    return ls;
  }

  size_t TryPlainEmail(size_t a) {
    const size_t ls = LocalStart(a);
    if (ls == kNone) return kNone;
    // Domain: labels joined by '.', last one alphabetic, 2..24 letters.
    size_t p = a + 1, labels = 0, end = kNone;
    while (Is(p, kAlnum)) {
      const size_t le = RunEnd(p, kLabel);
      if (le - p > 63 || le - a > 254 || C(le - 1) == '-') break;
      ++labels;
      if (labels >= 2 && AlphaEnd(p) == le && le - p >= 2 && le - p <= 24) end = le;
      if (C(le) == '.' && Is(le + 1, kAlnum)) {
        p = le + 1;
      } else {
        break;
      }
    }
    if (end == kNone || end - a > 254 || LetterStartsAt(end)) return kNone;
    Emit(EntityType::kEmail, ls, end, LowerCopy(ls, end), kPriEmail);
    return end;
  }

  // "at" word [s, e): "lexi99 at example dot com", "(at)", "[at]", ...
  size_t OnAtWord(size_t s, size_t e) {
    static constexpr std::string_view kOpen = "([{<", kClose = ")]}>";
    size_t as, ae;
    const size_t open = s > 0 ? kOpen.find(static_cast<char>(t_[s - 1])) : std::string_view::npos;
    if (open != std::string_view::npos && C(e) == static_cast<uint8_t>(kClose[open])) {
      as = SkipBlanksBack(s - 1);
      ae = SkipBlanks(e + 1);
    } else if (BlankBefore(s) && BlankAt(e)) {
      as = SkipBlanksBack(s);
      ae = SkipBlanks(e);
    } else {
      return e;
    }
    const size_t end = TryObfuscatedEmail(as, ae);
    return end != kNone ? end : e;
  }

  // After a label ending at p: the end of a dot separator ('.', " . ",
  // " dot ", "(dot)", "[dot]", ...) followed by a label, or kNone.
  size_t DotSeparator(size_t p) const {
    static constexpr std::string_view kOpen = "([{<", kClose = ")]}>";
    size_t r = kNone;
    if (C(p) == '.') {
      r = p + 1;
    } else {
      const size_t q = SkipBlanks(p);
      const bool blank_before = q > p;
      const size_t open = kOpen.find(static_cast<char>(C(q)));
      if (C(q) == '.' && blank_before && BlankAt(q + 1)) {
        r = SkipBlanks(q + 1);
      } else if (C(q) != 0 && open != std::string_view::npos && WordIs(q + 1, "dot") &&
                 C(q + 4) == static_cast<uint8_t>(kClose[open])) {
        r = SkipBlanks(q + 5);
      } else if (blank_before && WordIs(q, "dot") && BlankAt(q + 3)) {
        r = SkipBlanks(q + 3);
      }
    }
    return (r != kNone && Is(r, kAlnum)) ? r : kNone;
  }

  // Local part ends at `as` (start of the "at" separator), domain starts at `ae`.
  size_t TryObfuscatedEmail(size_t as, size_t ae) {
    const size_t ls = LocalStart(as);
    if (ls == kNone || as - ls < 2) return kNone;
    if (ls > 0 && (C(ls - 1) == '@' || C(ls - 1) == '/')) return kNone;
    std::string local = LowerCopy(ls, as);
    if (lex_.IsLocalStopword(local)) return kNone;

    constexpr size_t kMaxLabels = 8;
    std::array<std::pair<size_t, size_t>, kMaxLabels> labels;
    size_t count = 0, best = 0;
    size_t p = ae;
    while (count < kMaxLabels && Is(p, kAlnum)) {
      const size_t le = RunEnd(p, kLabel);
      if (le - p > 63 || C(le - 1) == '-') break;
      labels[count++] = {p, le};
      if (count >= 2 && AlphaEnd(p) == le && lex_.IsEmailTld(LowerWord(p, le))) best = count;
      const size_t next = DotSeparator(le);
      if (next == kNone) break;
      p = next;
    }
    if (best < 2) return kNone;
    if (lex_.IsDomainStopword(LowerCopy(labels[0].first, labels[0].second))) return kNone;
    std::string value = std::move(local);
    value += '@';
    for (size_t k = 0; k < best; ++k) {
      if (k > 0) value += '.';
      value += LowerCopy(labels[k].first, labels[k].second);
    }
    const size_t end = labels[best - 1].second;
    if (LetterStartsAt(end)) return kNone;
    Emit(EntityType::kEmail, ls, end, std::move(value), kPriEmail, /*obfuscated=*/true);
    return end;
  }

  // ----- URLs -----

  // Host starts at hs; url_start is where the span begins (the scheme, if
  // any). Returns the end of the URL, or kNone.
  size_t TryUrl(size_t hs, size_t url_start, std::string_view scheme) {
    const bool bare = scheme.empty();
    if (bare) {
      // "my-site.com": the run started after a '-'.
      const size_t run_start = hs;
      while (hs > 0 && run_start - hs < 64 && Is(hs - 1, kLabel)) --hs;
      while (C(hs) == '-') ++hs;
      url_start = hs;
      if (hs > 0 && (C(hs - 1) == '@' || C(hs - 1) == '.' || C(hs - 1) == '/')) return kNone;
      if (LetterEndsAt(hs)) return kNone;
    }
    size_t p = hs, labels = 0, last = hs, host_end = hs;
    while (Is(p, kAlnum)) {
      const size_t le = RunEnd(p, kLabel);
      if (le - p > 63 || le - hs > 253) return kNone;
      ++labels;
      last = p;
      host_end = le;
      if (C(le) == '.' && Is(le + 1, kAlnum)) {
        p = le + 1;
      } else {
        break;
      }
    }
    if (labels == 0 || C(host_end - 1) == '-' || host_end - hs > 253) return kNone;
    if (C(host_end) == '@') return kNone;  // an email's local part
    if (LetterStartsAt(host_end)) return kNone;
    const std::string host = LowerCopy(hs, host_end);
    if (bare) {
      if (labels < 2) return kNone;
      const std::string tld(host.substr(last - hs));
      const bool www = host.compare(0, 4, "www.") == 0;
      if (AlphaEnd(last) != host_end) return kNone;
      if (www ? (tld.size() < 2 || tld.size() > 24) : !lex_.IsUrlTld(tld)) return kNone;
    }
    size_t end = host_end;
    if (C(end) == ':' && Is(end + 1, kDigit)) {
      const size_t port_end = RunEnd(end + 1, kDigit);
      if (!Is(port_end, kAlpha)) end = port_end;
    }
    if (C(end) == '/' || C(end) == '?' || C(end) == '#') end = RunEnd(end, kUrlChar);
    end = TrimUrlTail(host_end, end);

    // t.me/NAME is a Telegram handle.
    if ((host == "t.me" || host == "telegram.me" || host == "www.t.me") && C(host_end) == '/') {
      const size_t ns = host_end + 1;
      size_t ne = ns;
      while (ne < end && (Is(ne, kAlnum) || C(ne) == '_')) ++ne;
      if (ne - ns >= 3 && ne - ns <= 32 && (ne == end || (ne + 1 == end && C(ne) == '/')) &&
          Is(ns, kAlpha)) {
        Emit(EntityType::kHandle, url_start, end, "telegram:" + LowerCopy(ns, ne), kPriUrl);
        cands_.back().entity.platform = "telegram";
        return end;
      }
    }
    std::string value;
    if (!bare) {
      value = std::string(scheme) + "://";
    }
    value += host;
    value.append(View(host_end, end));
    const bool strong = !bare || host.compare(0, 4, "www.") == 0;
    Emit(EntityType::kUrl, url_start, end, std::move(value), strong ? kPriUrl : kPriBareUrl);
    return end;
  }

  // Drops trailing punctuation after the host ("see example.com/lexi.").
  size_t TrimUrlTail(size_t host_end, size_t end) const {
    static constexpr std::string_view kTrailing = ".,;:!?'\"*";
    while (end > host_end) {
      const char c = static_cast<char>(C(end - 1));
      if (kTrailing.find(c) != std::string_view::npos) {
        --end;
        continue;
      }
      if (c == ')' || c == ']') {
        const char open = c == ')' ? '(' : '[';
        const auto body = View(host_end, end);
        if (std::count(body.begin(), body.end(), c) > std::count(body.begin(), body.end(), open)) {
          --end;
          continue;
        }
      }
      break;
    }
    return end;
  }

  // ----- handles -----

  size_t OnPlatform(size_t s, size_t e, const CueWord& cue) {
    size_t q = SkipBlanks(e);
    bool filler = false, explicit_sep = false, dash = false, at = false;
    // "kik me", "snap id", "my kik is": filler words before the handle.
    for (int k = 0; k < 2; ++k) {
      const size_t we = AlphaEnd(q);
      if (we == q || Is(we, kDigit)) break;
      const ShortWord word = LowerWord(q, we);
      const std::string_view w = word;
      if (w != "me" && w != "id" && w != "is" && w != "name" && w != "username" && w != "user" &&
          w != "handle" && w != "at") {
        break;
      }
      filler = true;
      q = SkipBlanks(we);
    }
    for (int k = 0; k < 3; ++k) {
      const uint8_t c = C(q);
      if (c == ':' || c == '=' || c == '>') {
        explicit_sep = true;
        q = SkipBlanks(q + 1);
      } else if (c == '-' || c == '~') {
        dash = true;
        q = SkipBlanks(q + 1);
      } else if (LongDashAt(q)) {
        dash = true;
        q = SkipBlanks(q + 3);
      } else {
        break;
      }
    }
    if (C(q) == '@') {
      at = true;
      ++q;
    }
    if (!Is(q, kAlnum) && C(q) != '_') return e;
    size_t he = RunEnd(q, kHandleChar);
    while (he > q && (C(he - 1) == '.' || C(he - 1) == '-')) --he;
    if (he - q < 2 || he - q > 32) return e;
    // An email, a URL path, or a scheme ("snap: https://...").
    if (C(he) == '@' || C(he) == '/' || (C(he) == ':' && C(he + 1) == '/')) return e;
    if (LetterStartsAt(he)) return e;
    bool has_letter = false, handleish = false;
    for (size_t i = q; i < he; ++i) {
      has_letter |= Is(i, kAlpha);
      handleish |= Is(i, kDigit) || C(i) == '_' || C(i) == '.';
    }
    // All-digit tokens are phone numbers: the phone extractor reads them.
    if (!has_letter) return e;
    if (cue.detail == "whatsapp" && !Is(q, kAlpha)) return e;
    const std::string handle = LowerCopy(q, he);
    if (lex_.IsHandleStopword(handle)) return e;

    const std::string before = WordBefore(s);
    const bool my_or_add = before == "my" || before == "add";
    bool ok = false;
    switch (cue.strength) {
      case Strength::kStrong:
        // Fillers count as a cue only after a full platform name.
        ok = explicit_sep || at || dash || filler || handleish || my_or_add || before == "follow" ||
             before == "on";
        break;
      case Strength::kMedium:
        ok = explicit_sep || at || dash || my_or_add || before == "follow";
        break;
      case Strength::kWeak:
        ok = at || (explicit_sep && IsUpperWord(s, e)) || (my_or_add && cue.word != "x");
        break;
    }
    if (!ok) return e;
    Emit(EntityType::kHandle, s, he, std::string(cue.detail) + ":" + handle, kPriHandle);
    cands_.back().entity.platform = std::string(cue.detail);
    return he;
  }

  // ----- numbers -----

  // Reads "150", "1,000", "99.99", "1.5k" at p. False when it is not an
  // amount (7+ digits, 3+ decimals).
  bool ParseAmount(size_t p, Amount* amt) const {
    size_t q = p;
    uint64_t whole = 0;
    size_t digits = 0;
    while (Is(q, kDigit)) {
      whole = whole * 10 + (t_[q] - '0');
      ++digits;
      ++q;
      if (digits >= 7) return false;
      // "$3<ZWSP>00": an invisible character inside the number is skipped.
      const size_t invisible = InvisibleAt(q);
      if (invisible != 0 && Is(q + invisible, kDigit)) q += invisible;
    }
    if (digits == 0) return false;
    amt->int_digits = digits;
    amt->integer = true;
    bool grouped = false;
    if (digits <= 3) {
      while (C(q) == ',' && Is(q + 1, kDigit) && Is(q + 2, kDigit) && Is(q + 3, kDigit) &&
             !Is(q + 4, kDigit) && whole < 1000000) {
        whole = whole * 1000 + static_cast<uint64_t>((t_[q + 1] - '0') * 100 +
                                                     (t_[q + 2] - '0') * 10 + (t_[q + 3] - '0'));
        q += 4;
        grouped = true;
      }
    }
    char frac[2];
    size_t frac_len = 0;
    if (C(q) == '.' && Is(q + 1, kDigit)) {
      const size_t fe = RunEnd(q + 1, kDigit);
      if (fe - (q + 1) > 2) return false;
      frac_len = fe - (q + 1);
      for (size_t k = 0; k < frac_len; ++k) frac[k] = static_cast<char>(t_[q + 1 + k]);
      q = fe;
    }
    if ((C(q) == 'k' || C(q) == 'K') && !Is(q + 1, kAlnum) && !grouped) {
      uint64_t f = 0;
      for (size_t k = 0; k < frac_len; ++k) f = f * 10 + static_cast<uint64_t>(frac[k] - '0');
      const uint64_t scale = frac_len == 2 ? 10 : frac_len == 1 ? 100 : 1000;
      whole = whole * 1000 + f * (frac_len == 0 ? 0 : scale);
      frac_len = 0;
      ++q;
      amt->integer = false;
    }
    while (frac_len != 0 && frac[frac_len - 1] == '0') --frac_len;
    if (grouped || frac_len != 0) amt->integer = false;
    amt->fraction = frac_len != 0;
    amt->whole = whole;
    amt->frac_len = static_cast<uint8_t>(frac_len);
    for (size_t k = 0; k < frac_len; ++k) amt->frac[k] = frac[k];
    amt->end = q;
    return true;
  }

  // Single digits separated by single blanks after a unit ("$ 1 5 0"):
  // 2..6 digits, the group not followed by another digit.
  bool SpacedDigits(size_t p, Amount* amt) const {
    if (Is(p + 1, kDigit) || C(p + 1) != ' ' || !Is(p + 2, kDigit) || Is(p + 3, kDigit)) {
      return false;
    }
    uint64_t whole = 0;
    size_t digits = 0, q = p;
    while (true) {
      whole = whole * 10 + (t_[q] - '0');
      ++digits;
      ++q;
      if (C(q) == ' ' && Is(q + 1, kDigit) && !Is(q + 2, kDigit) && digits < 7) {
        ++q;
        continue;
      }
      break;
    }
    if (digits < 2 || digits > 6 || Is(q, kAlnum)) return false;
    amt->whole = whole;
    amt->end = q;
    amt->int_digits = digits;
    amt->integer = false;  // not a count of hours or years
    amt->fraction = false;
    return true;
  }

  // Digits at p belong to a phone-like group: 7+ digits joined by short
  // separators ("-", ".", "(", ")", a blank, or emoji and other non-ASCII
  // bytes: "702 555 0147", "(702) 555-0147", "5🌹0🌹3..."). *group_end
  // receives the end of the group.
  bool PhoneLike(size_t p, size_t* group_end) const {
    size_t digits = 0;
    size_t l = p;
    while (l > 0 && digits < 16) {
      if (Is(l - 1, kDigit)) {
        --l;
        ++digits;
        continue;
      }
      const size_t sep = PhoneSeparatorBefore(l);
      if (sep == 0) break;
      l -= sep;
    }
    size_t r = p;
    while (r < n_) {
      if (Is(r, kDigit)) {
        ++r;
        ++digits;
        continue;
      }
      const size_t sep = PhoneSeparatorAt(r);
      if (sep == 0) break;
      r += sep;
    }
    *group_end = r;
    return digits >= 7;
  }

  // A separator between phone digits: 1..8 bytes of "-.() " and non-ASCII
  // bytes, at most two of them ASCII, with a digit right after (At) or right
  // before (Before). Returns its length, or 0.
  static bool IsPhoneSeparatorByte(uint8_t c) {
    return c >= 0x80 || c == '-' || c == '.' || c == '(' || c == ')' || c == ' ';
  }
  size_t PhoneSeparatorAt(size_t p) const {
    size_t len = 0, ascii = 0;
    while (len < 8 && p + len < n_ && IsPhoneSeparatorByte(t_[p + len])) {
      ascii += t_[p + len] < 0x80;
      ++len;
    }
    return (len > 0 && ascii <= 2 && Is(p + len, kDigit)) ? len : 0;
  }
  size_t PhoneSeparatorBefore(size_t p) const {
    size_t len = 0, ascii = 0;
    while (len < 8 && len < p && IsPhoneSeparatorByte(t_[p - len - 1])) {
      ascii += t_[p - len - 1] < 0x80;
      ++len;
    }
    return (len > 0 && ascii <= 2 && len < p && Is(p - len - 1, kDigit)) ? len : 0;
  }

  // "yo", "y/o", "y.o.", "yrs", "years old", "-year-old" at p (after a
  // number). Returns the end, or kNone.
  size_t AgeSuffix(size_t p) const {
    size_t q = C(p) == '-' ? p + 1 : SkipBlanks(p);
    const size_t we = AlphaEnd(q);
    if (we == q || Is(we, kDigit)) return kNone;
    const ShortWord word = LowerWord(q, we);
    const std::string_view w = word;
    if (w == "yo") return we;
    if (w == "y") {
      if ((C(we) == '/' || C(we) == '.') && (C(we + 1) | 0x20) == 'o' && !Is(we + 2, kAlnum)) {
        return C(we) == '.' && C(we + 2) == '.' ? we + 3 : we + 2;
      }
      return kNone;
    }
    if (w == "yr" || w == "yrs" || w == "year" || w == "years") {
      const size_t o = C(we) == '-' ? we + 1 : SkipBlanks(we);
      if (WordIs(o, "old")) return o + 3;
      if (WordIs(o, "young")) return o + 5;
      if (w == "year" || w == "years") return kNone;
      const size_t n = SkipBlanks(we);
      for (std::string_view x : {"exp", "experience", "experienced", "of", "in", "ago"}) {
        if (WordIs(n, x)) return kNone;
      }
      return we;
    }
    return kNone;
  }

  // After a stated age at p: the number is something else ("I'm 25 miles",
  // "age 18-25", "100%").
  bool AgeFollowerRejects(size_t p) const {
    const uint8_t c = C(p);
    if (c == '%' || c == '\'' || c == '"' || c == '+' || c == '$') return true;
    if ((c == '/' || c == ':' || c == '.' || c == ',' || c == '-') && Is(p + 1, kDigit))
      return true;
    if (Is(p, kAlnum)) return true;
    const size_t q = SkipBlanks(p);
    const size_t we = AlphaEnd(q);
    return we > q && !Is(we, kDigit) && lex_.IsNotAgeFollower(LowerWord(q, we));
  }

  size_t OnAgeCue(size_t s, size_t cue_end, bool age_word) {
    size_t q = SkipBlanks(cue_end);
    if (age_word) {
      if (C(q) == ':' || C(q) == '=' || C(q) == '-') {
        q = SkipBlanks(q + 1);
      } else if (WordIs(q, "is")) {
        q = SkipBlanks(q + 2);
      }
    }
    if (!Is(q, kDigit) || (q == cue_end && !age_word)) return cue_end;
    const size_t r = RunEnd(q, kDigit);
    size_t group_end;
    if (r - q != 2 || PhoneLike(q, &group_end)) return cue_end;
    const int years = (t_[q] - '0') * 10 + (t_[q + 1] - '0');
    if (years < 10) return cue_end;
    size_t end = AgeSuffix(r);
    if (end == kNone) {
      if (AgeFollowerRejects(r)) return cue_end;
      end = r;
    }
    Emit(EntityType::kAge, s, end, std::to_string(years), kPriAge);
    return end;
  }

  // "2hrs", "2 hours", "30 min", "1-hour" after an integer n: the duration
  // ("2hr", "hh", ...) and its end, or kNone.
  size_t DurationCount(uint64_t n, size_t p, std::string* dur) const {
    const size_t q = C(p) == '-' ? p + 1 : SkipBlanks(p);
    const size_t we = AlphaEnd(q);
    if (we == q || Is(we, kDigit)) return kNone;
    const ShortWord word = LowerWord(q, we);
    const std::string_view w = word;
    if (w == "h" || w == "hr" || w == "hrs" || w == "hour" || w == "hours") {
      if (n < 1 || n > 24) return kNone;
      *dur = n == 1 ? "hr" : std::to_string(n) + "hr";
      return we;
    }
    if (w == "min" || w == "mins" || w == "minute" || w == "minutes") {
      if (n < 1 || n > 240) return kNone;
      *dur = n == 30 ? "hh" : n == 60 ? "hr" : std::to_string(n) + "min";
      return we;
    }
    return kNone;
  }

  // A duration term at q ("hh", "hour", "half hour", "overnight", "2hrs");
  // `short_ok` admits "h" and "night". Returns its end, or kNone.
  size_t DurationTerm(size_t q, bool short_ok, std::string* dur) const {
    if (Is(q, kDigit)) {
      const size_t r = RunEnd(q, kDigit);
      if (r - q > 3) return kNone;
      uint64_t n = 0;
      for (size_t i = q; i < r; ++i) n = n * 10 + (t_[i] - '0');
      return DurationCount(n, r, dur);
    }
    const size_t we = AlphaEnd(q);
    if (we == q || Is(we, kDigit)) return kNone;
    const ShortWord word = LowerWord(q, we);
    const std::string_view w = word;
    if (w == "hh" || w == "hhr") {
      *dur = "hh";
      return we;
    }
    if (w == "half") {
      const size_t h = C(we) == '-' ? we + 1 : SkipBlanks(we);
      for (std::string_view x : {"hour", "hr"}) {
        if (WordIs(h, x)) {
          *dur = "hh";
          return h + x.size();
        }
      }
      return kNone;
    }
    if (w == "hr" || w == "hrs" || w == "hour" || (w == "h" && short_ok)) {
      *dur = "hr";
      return we;
    }
    if (w == "one") {
      const size_t h = SkipBlanks(we);
      if (WordIs(h, "hour") || WordIs(h, "hr")) {
        *dur = "hr";
        return AlphaEnd(h);
      }
      return kNone;
    }
    if (w == "overnight" || w == "ovn" || (w == "night" && short_ok)) {
      *dur = "overnight";
      return we;
    }
    if (w == "all" && WordIs(SkipBlanks(we), "night")) {
      *dur = "overnight";
      return SkipBlanks(we) + 5;
    }
    if (w == "qv" || w == "quickie") {
      *dur = "qv";
      return we;
    }
    return kNone;
  }

  // After an amount (and unit) at r: "/hh", " hr", " per hour",
  // " for an hour", "hh". Returns the end, or kNone.
  size_t DurationAfter(size_t r, std::string* dur) const {
    size_t q = SkipBlanks(r);
    const bool attached = q == r;
    bool sep = false;
    if (C(q) == '/') {
      sep = true;
      q = SkipBlanks(q + 1);
    } else if (WordIs(q, "per")) {
      sep = true;
      q = SkipBlanks(q + 3);
    } else if (!attached && (WordIs(q, "a") || WordIs(q, "an"))) {
      sep = true;
      q = SkipBlanks(AlphaEnd(q));
    } else if (!attached && WordIs(q, "for")) {
      sep = true;
      q = SkipBlanks(q + 3);
      if (WordIs(q, "a") || WordIs(q, "an")) q = SkipBlanks(AlphaEnd(q));
    }
    return DurationTerm(q, sep || attached, dur);
  }

  // A unit after the amount ending at r: "$", "usd", "dollars", "roses",
  // rose emoji, "donation". Returns its end (r when none) and sets *unit.
  size_t UnitAfter(size_t r, std::string* unit) const {
    const size_t q = SkipBlanks(r);
    if (C(q) == '$' && q - r <= 1 && !Is(q + 1, kDigit)) {
      *unit = "usd";
      return q + 1;
    }
    const size_t roses = RosesEnd(q);
    if (roses != q) {
      *unit = "roses";
      return roses;
    }
    const size_t we = AlphaEnd(q);
    if (we == q || Is(we, kDigit)) return r;
    const ShortWord word = LowerWord(q, we);
    const std::string_view w = word;
    if (w == "usd" || w == "dollars" || w == "dollar" || w == "bucks") {
      *unit = "usd";
    } else if (w == "roses" || w == "rose") {
      *unit = "roses";
    } else if (w == "donation" || w == "donations") {
      *unit = "donation";
    } else {
      return r;
    }
    return we;
  }

  // End of a run of rose emoji (U+1F339, optional U+FE0F) at p; p when none.
  size_t RosesEnd(size_t p) const {
    size_t q = p;
    while (C(q) == 0xF0 && C(q + 1) == 0x9F && C(q + 2) == 0x8C && C(q + 3) == 0xB9) {
      q += 4;
      if (C(q) == 0xEF && C(q + 1) == 0xB8 && C(q + 2) == 0x8F) q += 3;
    }
    return q;
  }

  // A price at p: optional unit in front ('$', rose emoji, "roses",
  // "usd", "donation"), the amount, then optional unit and duration after.
  // pre_duration comes from a duration written before ("hh 120"). Emits
  // [span_start, end) and returns end, or kNone.
  //
  // `parsed`: OnNumber has already read the amount at p (a digit, p ==
  // span_start, no pre_duration) and found it not phone-like, with no
  // duration count after an integer and no age suffix after an integer of
  // at most two digits; those checks are not repeated.
  [[gnu::noinline]] size_t ParsePrice(size_t p, std::string_view pre_duration, size_t span_start,
                                      const Amount* parsed = nullptr) {
    std::string unit;
    size_t q = p;
    if (C(q) == '$') {
      unit = "usd";
      q = SkipBlanks(q + 1);
    } else if (RosesEnd(q) != q) {
      unit = "roses";
      q = SkipBlanks(RosesEnd(q));
    } else if (Is(q, kAlpha)) {
      const size_t we = AlphaEnd(q);
      const size_t after = UnitAfter(q, &unit);
      if (after != we) return kNone;
      q = SkipBlanks(we);
      if (C(q) == ':' || C(q) == '-' || C(q) == '=') q = SkipBlanks(q + 1);
    }
    if (!Is(q, kDigit) || (q != span_start && Is(q - 1, kAlnum))) return kNone;
    Amount amt;
    if (parsed != nullptr) {
      amt = *parsed;
    } else if (!unit.empty() && SpacedDigits(q, &amt)) {
      // "$ 1 5 0": read as 150.
    } else if (!ParseAmount(q, &amt)) {
      return kNone;
    }
    size_t group_end;
    if (parsed == nullptr && PhoneLike(q, &group_end)) return kNone;
    const bool unit_in_front = !unit.empty();
    size_t r = amt.end;
    const bool attached_alpha = Is(r, kAlpha);
    std::string dur;
    const bool age_checked = parsed != nullptr && amt.int_digits <= 2;
    if (amt.integer && !age_checked && AgeSuffix(r) != kNone) return kNone;
    if (amt.integer && !unit_in_front && parsed == nullptr && DurationCount(amt.whole, r, &dur) != kNone) {
      return kNone;
    }
    std::string unit_after;
    r = UnitAfter(r, &unit_after);
    if (unit.empty()) unit = unit_after;
    dur.clear();
    if (pre_duration.empty()) {
      const size_t d = DurationAfter(r, &dur);
      if (d != kNone) r = d;
    } else {
      dur = std::string(pre_duration);
    }
    if (attached_alpha && r == amt.end) return kNone;  // "150lbs", "9am"
    if (C(amt.end) == '%') return kNone;
    if (unit.empty()) {
      // A bare amount is a price only next to a duration, and not a time,
      // a range or a count ("hours 10-22", "24/7", "hr 30 days").
      if (dur.empty() || amt.fraction || amt.whole < 20 || amt.whole > 20000) return kNone;
      const uint8_t c = C(amt.end);
      if ((c == '/' || c == ':' || c == '-' || c == '.' || c == ',') && Is(amt.end + 1, kDigit)) {
        return kNone;
      }
      if (c == '+') return kNone;
      if (r == amt.end) {
        const size_t nq = SkipBlanks(r);
        const size_t we = AlphaEnd(nq);
        if (we > nq && lex_.IsNotAmountFollower(LowerWord(nq, we))) return kNone;
      }
      unit = "usd";
    }
    if (amt.whole == 0 || amt.whole > 1000000) return kNone;
    Emit(EntityType::kPrice, span_start, r, amt.Value(), kPriPrice);
    cands_.back().entity.unit = unit;
    cands_.back().entity.duration = dur;
    return r;
  }

  // A run of digits [s, e): age, duration then price, or price.
  [[gnu::noinline]] size_t OnNumber(size_t s, size_t e) {
    Amount amt;
    size_t group_end;
    if (PhoneLike(s, &group_end)) return std::max(group_end, e);
    if (!ParseAmount(s, &amt)) return e;
    if (amt.integer && amt.int_digits <= 2) {
      const size_t end = AgeSuffix(amt.end);
      if (end != kNone) {
        if (amt.whole >= 10) Emit(EntityType::kAge, s, end, amt.Value(), kPriAge);
        return end;
      }
    }
    if (amt.integer) {
      std::string dur;
      const size_t dend = DurationCount(amt.whole, amt.end, &dur);
      if (dend != kNone) {
        const size_t p = GapToAmount(dend);
        if (p != kNone) {
          const size_t end = ParsePrice(p, dur, s);
          if (end != kNone) return end;
        }
        return dend;
      }
    }
    const size_t end = ParsePrice(s, "", s, &amt);
    return end != kNone ? end : std::max(e, amt.end);
  }

  // Between a duration written first and its amount: blanks and one of
  // ':' '-' '=' '@' or a long dash. Returns where the amount (or '$' or a
  // rose) starts, or kNone.
  size_t GapToAmount(size_t p) const {
    size_t q = SkipBlanks(p);
    if (C(q) == ':' || C(q) == '-' || C(q) == '=' || C(q) == '@') {
      q = SkipBlanks(q + 1);
    } else if (LongDashAt(q)) {
      q = SkipBlanks(q + 3);
    }
    if (Is(q, kDigit) || C(q) == '$' || RosesEnd(q) != q) return q;
    return kNone;
  }

  // hh, hr, overnight, "half hour", ... [s, e) written before an amount.
  size_t OnDurationWord(size_t s, size_t e, const CueWord& cue) {
    std::string dur(cue.detail);
    size_t end = e;
    if (cue.word == "half") {
      end = DurationTerm(s, false, &dur);
      if (end == kNone) return e;
    }
    if (cue.word == "h" && !(BlankAt(e) || C(e) == ':')) return e;
    const size_t p = GapToAmount(end);
    if (p == kNone) return e;
    const size_t price_end = ParsePrice(p, dur, s);
    return price_end != kNone ? price_end : e;
  }

  const Lexicon& lex_;
  const unsigned char* t_;
  size_t n_;
  size_t block_ = kNone;  // block whose masks_ are loaded
  BlockMasks masks_;
  uint64_t carry_ = 0;  // 1 when the byte before block_ is alphanumeric
  std::vector<Candidate>& cands_;
};

}  // namespace

struct EntityExtractor::Impl {
  Lexicon lexicon;
};

EntityExtractor::EntityExtractor() : impl_(std::make_unique<Impl>()) {}
EntityExtractor::~EntityExtractor() = default;

void EntityExtractor::Extract(std::string_view text, std::vector<Entity>* out) const {
  if (out == nullptr) return;
  // Spans are 32-bit: text past 4 GiB is not read.
  if (text.size() > std::numeric_limits<uint32_t>::max()) {
    text = text.substr(0, std::numeric_limits<uint32_t>::max());
  }
  thread_local std::vector<Candidate> scratch;
  Scan scan(impl_->lexicon, text, &scratch);
  scan.Run();
  std::vector<Candidate>& cands = scan.candidates();
  const size_t first = out->size();
  // Usually the candidates are already in order and disjoint.
  bool disjoint = true;
  for (size_t i = 1; i < cands.size() && disjoint; ++i) {
    disjoint = cands[i - 1].entity.end <= cands[i].entity.start;
  }
  if (disjoint) {
    for (Candidate& c : cands) out->push_back(std::move(c.entity));
    return;
  }
  // Overlaps: the higher priority wins, then the earlier start.
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    if (a.priority != b.priority) return a.priority > b.priority;
    return a.entity.start < b.entity.start;
  });
  std::map<uint32_t, uint32_t> taken;  // start -> end, disjoint
  for (Candidate& c : cands) {
    const uint32_t s = c.entity.start, e = c.entity.end;
    auto it = taken.lower_bound(s);
    if (it != taken.end() && it->first < e) continue;
    if (it != taken.begin() && std::prev(it)->second > s) continue;
    taken.emplace(s, e);
    out->push_back(std::move(c.entity));
  }
  std::sort(out->begin() + static_cast<std::ptrdiff_t>(first), out->end(),
            [](const Entity& a, const Entity& b) {
              return a.start != b.start ? a.start < b.start : a.end < b.end;
            });
}

}  // namespace vigil::scanner
