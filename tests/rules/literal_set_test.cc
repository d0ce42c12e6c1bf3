// LiteralSet against RE2 on the same questions: which patterns it takes,
// and, for every pattern of the core pack it takes, the leftmost start of
// a match ending at each offset and whether a window holds a match, over
// random texts built from the pattern's own words.
#include "rules/literal_set.h"

#include <catch2/catch.hpp>
#include <re2/re2.h>

#include <cctype>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "rules/pack_loader.h"
#include "rules/pattern_syntax.h"

namespace {

using vigil::rules::LiteralSet;

// RE2's answer for LiteralSet::LeftmostStartEndingAt: the first start s
// with pattern matching exactly text[s, end), with the whole text as
// context for \b.
int64_t Re2LeftmostStart(const RE2& re, const std::string& text, size_t end) {
  for (size_t s = 0; s < end; ++s) {
    if (re.Match(text, s, end, RE2::ANCHOR_BOTH, nullptr, 0)) return static_cast<int64_t>(s);
  }
  return -1;
}

// Random text over the pattern's letters, its words, spaces and a few
// word and non-word neighbours, so that matches, near misses and
// boundary cases all occur.
std::string RandomText(std::mt19937* rng, const std::vector<std::string>& pieces, size_t parts) {
  static const std::vector<std::string> kFiller = {" ", " ", "x", "_", "-", ".", "s", "9", "A", "é", ""};
  std::string out;
  for (size_t i = 0; i < parts; ++i) {
    const bool piece = !pieces.empty() && (*rng)() % 2 == 0;
    if (piece) {
      const std::string& p = pieces[(*rng)() % pieces.size()];
      // Sometimes only a prefix or a suffix of a word.
      size_t cut = (*rng)() % 4 == 0 ? (*rng)() % (p.size() + 1) : p.size();
      out += (*rng)() % 2 ? p.substr(0, cut) : p.substr(p.size() - cut);
    } else {
      out += kFiller[(*rng)() % kFiller.size()];
    }
  }
  return out;
}

// The runs of letters and digits of a pattern, and its non-ASCII
// characters (emoji): pieces its matches contain.
std::vector<std::string> WordsOf(const std::string& regex) {
  std::vector<std::string> words;
  std::string w;
  for (size_t i = 0; i < regex.size(); ++i) {
    char c = regex[i];
    if (c == '\\' && i + 1 < regex.size()) {
      ++i;  // \b, \d, escaped punctuation: not part of a word
      if (!w.empty()) words.push_back(w), w.clear();
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      if (!w.empty()) words.push_back(w), w.clear();
      size_t end = i + 1;
      while (end < regex.size() && (static_cast<unsigned char>(regex[end]) & 0xC0) == 0x80) ++end;
      words.push_back(regex.substr(i, end - i));
      i = end - 1;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ') {
      w += c;
    } else if (!w.empty()) {
      words.push_back(w);
      w.clear();
    }
  }
  if (!w.empty()) words.push_back(w);
  return words;
}

// `extra`: more pieces for the random texts (the pattern's symbols).
void CheckAgainstRe2(const std::string& regex, std::mt19937* rng, int texts,
                     const std::vector<std::string>& extra = {}) {
  INFO("pattern: " << regex);
  std::unique_ptr<LiteralSet> set = LiteralSet::FromPattern(regex);
  REQUIRE(set != nullptr);
  // The set as the compiled-rule cache stores it must answer the same.
  std::string bytes;
  set->AppendTo(&bytes);
  std::string_view in = bytes;
  std::unique_ptr<LiteralSet> cached = LiteralSet::Parse(&in);
  REQUIRE(cached != nullptr);
  REQUIRE(in.empty());
  RE2 re(regex, vigil::rules::Re2OptionsForPatterns());
  REQUIRE(re.ok());
  std::vector<std::string> words = WordsOf(regex);
  words.insert(words.end(), extra.begin(), extra.end());
  for (int t = 0; t < texts; ++t) {
    const std::string text = RandomText(rng, words, 2 + (*rng)() % 8);
    INFO("text: '" << text << "'");
    for (size_t end = 0; end <= text.size(); ++end) {
      INFO("end: " << end);
      const int64_t start = Re2LeftmostStart(re, text, end);
      REQUIRE(set->LeftmostStartEndingAt(text, end) == start);
      REQUIRE(cached->LeftmostStartEndingAt(text, end) == start);
    }
    const size_t lo = text.empty() ? 0 : (*rng)() % text.size();
    const size_t hi = lo + (*rng)() % (text.size() - lo + 1);
    INFO("window: [" << lo << ", " << hi << ")");
    const bool expected = re.Match(text, lo, hi, RE2::UNANCHORED, nullptr, 0);
    REQUIRE(set->MatchesWithin(text, lo, hi) == expected);
    std::vector<uint64_t> word_starts;
    LiteralSet::ComputeWordStarts(text, &word_starts);
    REQUIRE(set->MatchesWithin(text, lo, hi, word_starts.data()) == expected);
    REQUIRE(cached->MatchesWithin(text, lo, hi) == expected);
    REQUIRE(cached->MatchesWithin(text, lo, hi, word_starts.data()) == expected);
  }
}

}  // namespace

TEST_CASE("LiteralSet takes finite phrase patterns and refuses the rest") {
  for (const char* ok : {"\\byoung\\b", "\\bteens?\\b", "\\bjust (?:legal|turned (?:18|eighteen|legal))\\b",
                         "[0-9] ?roses\\b", "\\b(?:2|two) ?(?:girls|ladies)\\b", "a\\.b\\-c", "[a-c]x|\\d\\d"}) {
    INFO(ok);
    CHECK(LiteralSet::FromPattern(ok) != nullptr);
  }
  for (const char* refused : {"young+", "a*", "a{2}", "\\w+", "(?i)young", "[^a]", "\\x{20E3}", "caf\xc3\xa9", ".",
                              "^young", "young$", "a\\bb", "(young", "young)", "[ab", "a??", "", "a|", "\\"}) {
    INFO(refused);
    CHECK(LiteralSet::FromPattern(refused) == nullptr);
  }
  // Emoji and other caseless symbols are literals; letters with a case
  // outside ASCII (é, Ä, the Kelvin sign, long s) and broken UTF-8 are not.
  for (const char* ok : {"\xf0\x9f\x8c\xb9", "[0-9]\xf0\x9f\x8c\xb9[0-9]", "x\xf0\x9f\x91\x91?y", "\xe2\x9c\x88|go"}) {
    INFO(ok);
    CHECK(LiteralSet::FromPattern(ok) != nullptr);
  }
  for (const char* refused : {"\xc3\x84", "\xe2\x84\xaa", "\xc5\xbf", "\xf0\x9f\x8c", "\xc0\xaf", "\xe2\x9c\x88\xef\xb8\x8f",
                              "[\xf0\x9f\x8c\xb9]"}) {
    INFO(refused);
    CHECK(LiteralSet::FromPattern(refused) == nullptr);
  }
  // Over the expansion cap: 16 optional letters make 65,536 strings.
  CHECK(LiteralSet::FromPattern("a?b?c?d?e?f?g?h?i?j?k?l?m?n?o?p?") == nullptr);
}

TEST_CASE("LiteralSet finds the leftmost start and honours word boundaries") {
  auto set = LiteralSet::FromPattern("\\b(?:young|very young|so young)\\b");
  REQUIRE(set);
  const std::string text = "she is very young, not youngish";
  CHECK(set->LeftmostStartEndingAt(text, 17) == 7);   // "very young", not "young"
  CHECK(set->LeftmostStartEndingAt(text, 28) == -1);  // "young" inside "youngish": no \b after it
  CHECK(set->LeftmostStartEndingAt("YOUNG", 5) == 0);  // caseless
  CHECK(set->MatchesWithin(text, 0, 17));
  CHECK_FALSE(set->MatchesWithin(text, 0, 16));  // the match must end inside the window
  CHECK_FALSE(set->MatchesWithin(text, 8, 16));  // "ery youn": no whole match inside
  CHECK(set->MatchesWithin(text, 12, 17));
}

TEST_CASE("LiteralSet agrees with RE2 on hand-written patterns") {
  std::mt19937 rng(7);
  for (const char* p : {"\\byoung\\b", "\\bteens?\\b", "[0-9] ?roses\\b", "\\b(?:2|two) ?(?:girls|ladies)\\b",
                        "(?:\\bab|abc\\b|b)", "\\b-x", "x-\\b", "[a-c]x|\\d\\d", "a\\.b|_b_"}) {
    CheckAgainstRe2(p, &rng, 300);
  }
}

TEST_CASE("LiteralSet agrees with RE2 on patterns with emoji") {
  std::mt19937 rng(11);
  const std::string rose = "\xf0\x9f\x8c\xb9", crown = "\xf0\x9f\x91\x91", plane = "\xe2\x9c\x88";
  const std::vector<std::string> symbols = {rose, crown, plane, "\xf0\x9f\x8d\x92", "1", "2", "\xc3\xa9"};
  for (const std::string& p : {rose, "[0-9]" + rose + "[0-9]" + rose + "[0-9]", "\\bx" + crown + "?y\\b",
                               plane + "|" + rose + " ?go", rose + "\\b", "\\b" + crown, "(?:" + rose + "|" + crown + ")+?"}) {
    if (p.size() > 2 && p.substr(p.size() - 3) == ")+?") {
      CHECK(LiteralSet::FromPattern(p) == nullptr);  // repetition: not a finite set
      continue;
    }
    CheckAgainstRe2(p, &rng, 300, symbols);
  }
}

TEST_CASE("LiteralSet agrees with RE2 on every core pack pattern it takes") {
  vigil::rules::Pack pack;
  vigil::rules::Diagnostics diags;
  REQUIRE(vigil::rules::LoadPack(std::string(VIGIL_SOURCE_DIR) + "/rules/packs/core", &pack, &diags));
  std::mt19937 rng(42);
  int taken = 0, total = 0;
  for (const vigil::rules::Rule& rule : pack.rules) {
    std::vector<std::string> all;
    for (const auto& p : rule.patterns) all.push_back(p.regex);
    for (const auto& p : rule.unless.patterns) all.push_back(p.regex);
    for (const std::string& regex : all) {
      ++total;
      if (!LiteralSet::FromPattern(regex)) continue;
      ++taken;
      CheckAgainstRe2(regex, &rng, 40);
    }
  }
  // Most of the pack is phrases; if this drops, the scanner falls back to
  // RE2 for them (correct, slower) and the expander should be looked at.
  CHECK(taken * 10 >= total * 7);
  WARN("LiteralSet takes " << taken << " of " << total << " core pack patterns");
}

TEST_CASE("LiteralSet::ComputeWordStarts marks every word start, across 64-byte blocks") {
  std::mt19937 rng(3);
  static const char kAlphabet[] = "aZ09_ -.\xc3\xa9\x80\xff\x00`{@[";
  const std::string alphabet(kAlphabet, sizeof(kAlphabet) - 1);  // with its NUL
  for (int t = 0; t < 2000; ++t) {
    std::string text;
    const size_t n = rng() % 300;
    for (size_t i = 0; i < n; ++i) text += alphabet[rng() % alphabet.size()];
    std::vector<uint64_t> bits;
    LiteralSet::ComputeWordStarts(text, &bits);
    REQUIRE(bits.size() == text.size() / 64 + 1);
    auto word = [&](size_t i) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      return std::isalnum(c) != 0 && c < 0x80 ? true : c == '_';
    };
    for (size_t i = 0; i < text.size(); ++i) {
      const bool expected = word(i) && (i == 0 || !word(i - 1));
      INFO("text of " << text.size() << " bytes, position " << i);
      REQUIRE(((bits[i / 64] >> (i % 64)) & 1) == (expected ? 1u : 0u));
    }
  }
}

TEST_CASE("LiteralSet::Parse refuses damaged bytes and never reads outside its tries") {
  std::unique_ptr<LiteralSet> set =
      LiteralSet::FromPattern("\\b(?:new|fresh|just arrived|barely legal|young(?:est)?|teen ?(?:girl|babe))\\b");
  REQUIRE(set != nullptr);
  std::string bytes;
  set->AppendTo(&bytes);
  // Every truncation is refused.
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string_view in = std::string_view(bytes).substr(0, n);
    CHECK(LiteralSet::Parse(&in) == nullptr);
  }
  // Random damage: refused, or a set whose walks stay in bounds (the
  // sanitizer builds of this test would catch a read outside).
  std::mt19937 rng(7);
  int refused = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string damaged = bytes;
    for (int k = 1 + rng() % 4; k > 0; --k) damaged[rng() % damaged.size()] ^= static_cast<char>(1u << (rng() % 8));
    std::string_view in = damaged;
    std::unique_ptr<LiteralSet> parsed = LiteralSet::Parse(&in);
    if (!parsed) {
      ++refused;
      continue;
    }
    for (const std::string text : {"so fresh and new", "teen girl, young", "just arrived barely legal", "xyz"}) {
      for (size_t end = 0; end <= text.size(); ++end) (void)parsed->LeftmostStartEndingAt(text, end);
      (void)parsed->MatchesWithin(text, 0, text.size());
    }
  }
  CHECK(refused > 0);
  // A child pointing past the end is refused outright.
  std::string out_of_bounds = bytes;
  const size_t words_at = 1 + 32 + 4;  // flags, first bytes, forward word count
  const uint32_t huge = 0x00FFFFFF;
  std::memcpy(&out_of_bounds[words_at + 4 * (1 + 'n')], &huge, 4);  // the root's child for 'n'
  std::string_view in = out_of_bounds;
  CHECK(LiteralSet::Parse(&in) == nullptr);
}
