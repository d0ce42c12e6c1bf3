// LiteralSet: a pattern whose language is a small finite set of ASCII
// strings, matched without a regex engine.
//
// Most indicator patterns are phrases with alternations and optional
// parts (`\bjust (?:legal|turned (?:18|eighteen))\b`, `\bteens?\b`). Their
// language is finite, so they can be expanded to the strings they match
// and put in a trie. The scanner then confirms a Hyperscan end offset by
// walking a reversed trie back from the end (a few dozen byte compares)
// instead of running RE2's reverse DFA, and tries `unless` context
// patterns in a window by walking a forward trie.
//
// Supported syntax (anything else makes FromPattern return null, and the
// caller keeps using RE2): printable ASCII literals, emoji and other
// symbols without case written as themselves (UTF-8), backslash escapes of
// ASCII punctuation, `\d`, classes of ASCII characters and ranges
// (`[0-9]`, `[a-z]`; no negation), groups `(...)` and `(?:...)`,
// alternation `|`, the `?` quantifier, and `\b` where it ends up at the
// start or the end of an expanded string. Matching is ASCII caseless, as
// the pattern flags are (Hyperscan CASELESS, RE2 case-insensitive), and
// `\b` is the ASCII word boundary both engines use ([0-9A-Za-z_] on one
// side only), judged against the real neighbouring bytes of the text.
//
// Only for text without characters that RE2 folds onto ASCII letters
// (U+212A KELVIN SIGN, U+017F LONG S): the normalised text, which is NFKC
// and case folded, has none. Raw-text rules keep RE2.
//
// The expansion is capped (kMaxStrings, kMaxNodes): a pattern over the cap
// stays with RE2.
//
// Immutable after construction; safe for concurrent readers.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::rules {

class LiteralSet {
 public:
  static constexpr size_t kMaxStrings = 4096;
  static constexpr size_t kMaxNodes = 1 << 16;

  // Null when `regex` is outside the supported syntax or over the caps.
  static std::unique_ptr<LiteralSet> FromPattern(std::string_view regex);

  // The set as bytes, for the compiled-rule cache (building it from the
  // pattern was most of a cached start-up), and back. Cached tries are not
  // rebuilt from their patterns: a change to the expansion or to the trie
  // packing below needs a bump of the cache format (rules/compiler.cc). Parse consumes what
  // AppendTo wrote from the front of *in; it checks that every node a walk
  // can reach lies inside its trie, so a damaged or forged entry yields
  // null, never a read out of bounds.
  void AppendTo(std::string* out) const;
  static std::unique_ptr<LiteralSet> Parse(std::string_view* in);

  // The leftmost start s such that text[s, end) is in the language with
  // its word-boundary conditions met (RE2's `(?:p)\z` searched over
  // text[0, end)), or -1 when there is none.
  int64_t LeftmostStartEndingAt(std::string_view text, size_t end) const;

  // True when some match lies entirely within text[lo, hi); the text
  // outside the window still decides `\b` at its edges (RE2::Match with
  // startpos/endpos, UNANCHORED).
  //
  // `word_starts`, when given, is ComputeWordStarts(text): sets whose every
  // string begins at a word start then try only those positions.
  bool MatchesWithin(std::string_view text, size_t lo, size_t hi, const uint64_t* word_starts = nullptr) const;

  // Bit i of (*bits)[i / 64] set iff text[i] is an ASCII word byte and
  // text[i - 1] is not (or i == 0).
  static void ComputeWordStarts(std::string_view text, std::vector<uint64_t>* bits);

 private:
  // A trie over the strings, forward or reversed. Built from Node records,
  // then packed by Finish into one array of 32-bit words, in depth-first
  // order, so that a walk down one string reads neighbouring memory (the
  // walks are cache-miss bound: a node per heap allocation cost several
  // misses per step). A packed node at offset o:
  //   words[o]: bits 0-7 accept (bit i set: some string ends here with
  //     boundary condition i: 0 none, 1 \b at start, 2 \b at end, 3 both;
  //     in the reversed trie "start" and "end" keep their meaning in the
  //     text), bits 8-15 child count, bit 16 dense.
  //   dense (the root, and nodes with many children, when all their
  //     children are ASCII): words[o + 1 + b] is the child for byte b < 128,
  //     0 for none.
  //   otherwise: the child bytes, sorted, four to a word, then one word
  //     per child with its offset.
  // The root is at offset 0 and is never a child, so 0 means "none".
  struct Node {
    std::vector<std::pair<uint8_t, uint32_t>> next;  // sorted by byte
    uint8_t accept = 0;
  };
  struct Trie {
    std::vector<Node> nodes;      // while building; emptied by Finish
    std::vector<uint32_t> words;  // packed, after Finish
    static constexpr uint32_t kDense = 1u << 16;
    // Builder lookup (before Finish): node index of the child, 0 for none.
    uint32_t BuildChild(uint32_t node, uint8_t byte) const;
    void Add(const std::string& s, uint8_t accept_bit, bool reversed);
    void Finish();
    // Whether `words` is a packed trie every walk stays inside (Parse).
    bool Valid() const;
    // Packed lookups (after Finish).
    uint8_t Accept(uint32_t at) const { return static_cast<uint8_t>(words[at]); }
    uint32_t Child(uint32_t at, uint8_t byte) const {
      const uint32_t header = words[at];
      if (header & kDense) return byte < 128 ? words[at + 1 + byte] : 0;
      const uint32_t count = (header >> 8) & 0xFF;
      const auto* bytes = reinterpret_cast<const uint8_t*>(&words[at + 1]);
      for (uint32_t i = 0; i < count; ++i) {
        if (bytes[i] == byte) return words[at + 1 + (count + 3) / 4 + i];
        if (bytes[i] > byte) break;
      }
      return 0;
    }
  };

  LiteralSet() = default;

  Trie forward_;
  Trie reverse_;
  // Every string needs `\b` at its start: MatchesWithin tries only
  // positions on a word boundary.
  bool all_need_start_boundary_ = false;
  // ... and every string's first byte is a word byte, so a match can only
  // start at a word start.
  bool all_start_at_word_start_ = false;
  // Bit b set: some string starts with byte b (lower-case ASCII, or a
  // UTF-8 lead byte).
  std::array<uint64_t, 4> first_bytes_{};
  bool StartsWithFirstByte(std::string_view text, size_t start) const {
    const uint8_t b = static_cast<uint8_t>(text[start]);
    const uint8_t lower = b >= 'A' && b <= 'Z' ? static_cast<uint8_t>(b + 32) : b;
    return (first_bytes_[lower >> 6] >> (lower & 63)) & 1;
  }
  // Does a string start at `start` and end by `hi`?
  bool MatchesAt(std::string_view text, size_t start, size_t hi) const;
};

}  // namespace vigil::rules
