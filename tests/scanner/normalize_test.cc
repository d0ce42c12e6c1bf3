#include "scanner/normalize.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "scanner/utf8.h"

namespace vigil::scanner {
namespace {

struct Case {
  const char* before;
  const char* after;
};

std::string Norm(std::string_view raw) {
  static const Normalizer normalizer;
  return normalizer.NormalizeToString(raw);
}

void CheckTable(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO("input: " << c.before);
    CHECK(Norm(c.before) == c.after);
  }
}

// Code points of a valid UTF-8 string.
std::vector<uint32_t> CodePoints(std::string_view s) {
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) {
    const size_t len = Utf8SequenceLength(s, i);
    REQUIRE(len > 0);
    uint32_t cp = static_cast<uint8_t>(s[i]);
    if (len > 1) {
      cp &= 0x3F >> (len - 1);
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<uint8_t>(s[i + k]) & 0x3F);
    }
    cps.push_back(cp);
    i += len;
  }
  return cps;
}

TEST_CASE("rule 1: invalid UTF-8 becomes a separator", "[normalize]") {
  CheckTable({
      {"ab\xff" "cd", "ab cd"},
      {"ab\xc0\xaf" "cd", "ab cd"},           // overlong '/'
      {"ab\xed\xa0\x80" "cd", "ab cd"},       // UTF-16 surrogate
      {"ab\xe2\x82", "ab"},                   // truncated at the end
      {"ab\xe2\x82" "cd", "ab cd"},           // truncated in the middle
      {"\xf4\x90\x80\x80x", "x"},             // above U+10FFFF
      {"\x80\x80\x80", ""},
      {"ok\xef\xbf\xbdok", "ok ok"},          // a real U+FFFD
  });
  NormalizedText out;
  Normalizer().Normalize("ab\xff" "cd", &out);
  CHECK(out.decoded);
}

TEST_CASE("rule 2: NFKC, case folding, marks stripped", "[normalize]") {
  CheckTable({
      {"HELLO World", "hello world"},
      {"caf\xc3\xa9", "cafe"},                              // café, precomposed
      {"cafe\xcc\x81", "cafe"},                             // café, combining acute
      {"\xef\xbd\x86\xef\xbd\x92\xef\xbd\x85\xef\xbd\x93\xef\xbd\x88", "fresh"},  // ｆｒｅｓｈ
      {"\xe2\x93\x83\xe2\x93\x94\xe2\x93\xa6", "new"},      // Ⓝⓔⓦ
      {"\xf0\x9d\x90\xa7\xf0\x9d\x90\x9e\xf0\x9d\x90\xb0", "new"},  // 𝐧𝐞𝐰 (math bold)
      {"\xf0\x9d\x93\x9d\xf0\x9d\x93\xae\xf0\x9d\x94\x80", "new"},  // 𝓝𝓮𝔀 (math bold script)
      {"\xef\xac\x81ne", "fine"},                           // ﬁ ligature
      {"STRA\xc3\x9f" "E", "strasse"},                      // ß folds to ss
      {"\xe2\x91\xa0\xe2\x91\xa1", "12"},                   // ①②
      {"ni\xc3\xb1" "a", "nina"},
      {"\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2", "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"},  // ПРИВЕТ -> привет
      {"\xea\xb0\x80\xeb\x82\x98", "\xea\xb0\x80\xeb\x82\x98"},  // Hangul stays composed
  });
}

TEST_CASE("rule 3: invisible characters are removed and join their neighbours", "[normalize]") {
  CheckTable({
      {"ne\xe2\x80\x8bw", "new"},            // ZWSP
      {"n\xe2\x80\x8c" "e\xe2\x80\x8dw", "new"},  // ZWNJ, ZWJ
      {"n\xe2\x81\xa0" "ew", "new"},         // WORD JOINER
      {"\xef\xbb\xbfhello", "hello"},        // BOM
      {"ne\xe2\x80\x8ew\xe2\x80\xae", "new"},  // LRM, RLO
      {"ne\xe2\x81\xa6w", "new"},            // LRI
      {"se\xc2\xadxy", "sexy"},              // soft hyphen
      {"ne\xef\xb8\x80w", "new"},            // VS1
      {"ne\xf3\xa0\x84\x80w", "new"},        // VS17
      {"ne\xf3\xa0\x80\x81w", "new"},        // tag LANGUAGE TAG
      {"ne\xf3\xa0\x81\xa1w", "new"},        // tag latin small a
      {"\xe2\x9c\x88\xef\xb8\x8f", "\xe2\x9c\x88"},  // ✈️ -> ✈
  });
  NormalizedText out;
  Normalizer().Normalize("ne\xe2\x80\x8bw", &out);
  CHECK(out.decoded);
  Normalizer().Normalize("\xe2\x9c\x88\xef\xb8\x8f", &out);
  CHECK_FALSE(out.decoded);  // VS16 after an emoji is presentation, not evasion
}

TEST_CASE("rule 4: look-alike letters and other-script digits", "[normalize]") {
  CheckTable({
      {"n\xd0\xb5w", "new"},                                   // Cyrillic е in a Latin word
      {"\xd1\x81\xd0\xbe\xd1\x80", "cop"},                     // сор: only look-alikes
      {"\xd0\x9d\xd0\x9e\xd0\xa2", "hot"},                     // НОТ (Cyrillic capitals)
      {"\xce\x97\xce\x9f\xce\xa4", "hot"},                     // ΗΟΤ (Greek capitals)
      {"y\xce\xbfung", "young"},                               // Greek omicron
      {"\xd0\xbc\xd0\xb8\xd1\x80", "\xd0\xbc\xd0\xb8\xd1\x80"},  // мир: real word, kept
      {"\xce\xba\xce\xb1\xce\xbb\xce\xb7", "\xce\xba\xce\xb1\xce\xbb\xce\xb7"},  // καλη kept
      {"\xd0\xb5", "\xd0\xb5"},                                // a lone look-alike is kept
      {"\xd9\xa7\xd9\xa0\xd9\xa2", "702"},                     // Arabic-Indic digits
      {"\xef\xbc\x97\xef\xbc\x90\xef\xbc\x92", "702"},         // fullwidth digits
      {"\xf0\x9d\x9f\x95\xf0\x9d\x9f\x8e", "70"},              // 𝟕𝟎 math bold digits
      {"\xe0\xa5\xad\xe0\xa5\xa6\xe0\xa5\xa8", "702"},         // Devanagari digits
  });
  Normalizer::Options off;
  off.map_confusables = false;
  CHECK(Normalizer(off).NormalizeToString("n\xd0\xb5w") == "n\xd0\xb5w");
}

TEST_CASE("rule 5: leetspeak between letters", "[normalize]") {
  CheckTable({
      {"y0ung", "young"},
      {"fr3sh", "fresh"},
      {"s3xy", "sexy"},
      {"h0t", "hot"},
      {"sw33t", "sweet"},
      {"pr1v@te", "private"},
      {"cla$$y", "classy"},
      {"t1ght", "tight"},
      {"4hr", "4hr"},
      {"100", "100"},
      {"b4", "b4"},
      {"18yo", "18yo"},
      {"5five5", "5five5"},
      {"h000t", "h000t"},      // three in a row: not leetspeak
      {"a2b", "a2b"},          // 2 is not a leetspeak letter
      {"jane@", "jane"},       // '@' not between letters is a separator
      {"@jane", "jane"},
      {"a@@@b", "a b"},
      {"$200", "$200"},
  });
  Normalizer::Options off;
  off.decode_leetspeak = false;
  CHECK(Normalizer(off).NormalizeToString("y0ung pr1v@te") == "y0ung pr1v te");
}

TEST_CASE("rule 6: apostrophes between letters are dropped", "[normalize]") {
  CheckTable({
      {"don't", "dont"},
      {"don\xe2\x80\x99t", "dont"},   // ’
      {"don\xca\xbct", "dont"},       // ʼ
      {"don\xe2\x80\x98t", "dont"},   // ‘
      {"rock'n'roll", "rocknroll"},
      {"'quoted'", "quoted"},
      {"the 90's", "the 90 s"},
      {"a''b", "a b"},
  });
}

TEST_CASE("rule 7: spaced letters are joined", "[normalize]") {
  CheckTable({
      {"n e w", "new"},
      {"n.e.w", "new"},
      {"n-e-w", "new"},
      {"n_e_w", "new"},
      {"n*e*w", "new"},
      {"N E W  I N  T O W N", "new in town"},
      {"b a r e l y  l e g a l", "barely legal"},
      {"I N  T O W N", "in town"},       // a pair next to a joined run
      {"N E W  I N", "new in"},
      {"a b, c d", "a b c d"},           // pairs alone are not joined
      {"i am a good girl", "i am a good girl"},
      {"a b", "a b"},
      {"n.e.w y.o.r.k", "new york"},
      {"n e w.", "new"},
      {"s 3 x y", "sexy"},               // joined, then leetspeak
      {"1 2 3", "1 2 3"},                // digits alone are not joined
      {"x 7 0 2", "x702"},
      {"n, e, w", "n e w"},              // two-character separator runs
      {"n  e  w", "n e w"},
      {"n.e-w", "n e w"},                // mixed separators
      {"\xef\xbd\x8e \xef\xbd\x85 \xef\xbd\x97", "new"},  // ｎ ｅ ｗ
      {"n\xc2\xa0" "e\xc2\xa0w", "new"},                  // no-break spaces
  });
  Normalizer::Options off;
  off.join_spaced_letters = false;
  CHECK(Normalizer(off).NormalizeToString("n e w") == "n e w");
}

TEST_CASE("rule 8: separators collapse, symbols and emoji stay", "[normalize]") {
  CheckTable({
      {"  hello,   world!!  ", "hello world"},
      {"a\t\n\r b", "a b"},
      {"a\xc2\xa0\xe2\x80\x83" "b", "a b"},  // NBSP, EM SPACE
      {"a\xe3\x80\x82" "b", "a b"},          // ideographic full stop
      {"$200 + tip", "$200 + tip"},
      {"<3 u", "<3 u"},
      {"\xf0\x9f\x8c\xb9\xf0\x9f\x8c\xb9 150", "\xf0\x9f\x8c\xb9\xf0\x9f\x8c\xb9 150"},  // 🌹🌹
      {"new\xf0\x9f\x8d\x92", "new\xf0\x9f\x8d\x92"},                          // new🍒
      {"\xf0\x9f\x92\x97 \xf0\x9f\x91\x91 \xf0\x9f\x91\xa7", "\xf0\x9f\x92\x97 \xf0\x9f\x91\x91 \xf0\x9f\x91\xa7"},
      {"\xe2\x80\xa6wait\xe2\x80\xa6", "wait"},  // … expands to dots
      {"", ""},
      {"   ", ""},
  });
}

TEST_CASE("offset map for a simple case", "[normalize]") {
  NormalizedText out;
  Normalizer().Normalize("  Hi,  y0u\xe2\x80\x8b!", &out);
  REQUIRE(out.text == "hi you");
  // "Hi" at 2-3, ",  " at 4-6 becomes one space, "y0u" at 7-9; the
  // zero-width space (10-12) and "!" leave nothing.
  const std::vector<uint32_t> begin = {2, 3, 4, 7, 8, 9};
  const std::vector<uint32_t> end = {3, 4, 7, 8, 9, 10};
  CHECK(out.src_begin == begin);
  CHECK(out.src_end == end);
  uint32_t ob, oe;
  out.ToOriginal(3, 6, &ob, &oe);
  CHECK(ob == 7);
  CHECK(oe == 10);
  CHECK(out.decoded);
}

TEST_CASE("offset map of multi-byte and expanded characters", "[normalize]") {
  NormalizedText out;
  // "ﬁ" (3 bytes) expands to two letters; "é" (2 bytes) folds to one.
  Normalizer().Normalize("\xef\xac\x81" "\xc3\xa9", &out);
  REQUIRE(out.text == "fie");
  CHECK(out.src_begin == std::vector<uint32_t>{0, 0, 3});
  CHECK(out.src_end == std::vector<uint32_t>{3, 3, 5});
  // A kept multi-byte character maps every byte to its whole source.
  Normalizer().Normalize("x \xf0\x9f\x8c\xb9", &out);
  REQUIRE(out.text == "x \xf0\x9f\x8c\xb9");
  CHECK(out.src_begin == std::vector<uint32_t>{0, 1, 2, 2, 2, 2});
  CHECK(out.src_end == std::vector<uint32_t>{1, 2, 6, 6, 6, 6});
  // A combining mark belongs to the letter before it.
  Normalizer().Normalize("e\xcc\x81x", &out);
  REQUIRE(out.text == "ex");
  CHECK(out.src_end == std::vector<uint32_t>{3, 4});
}

TEST_CASE("decoded flag", "[normalize]") {
  NormalizedText out;
  const Normalizer n;
  n.Normalize("Hello, World!  NEW in town", &out);
  CHECK_FALSE(out.decoded);
  n.Normalize("\xf0\x9f\x8c\xb9 roses \xd0\xbc\xd0\xb8\xd1\x80", &out);  // emoji, lower-case Cyrillic
  CHECK_FALSE(out.decoded);
  for (const char* s : {"y0ung", "n e w", "don't", "caf\xc3\xa9", "n\xd0\xb5w", "\xef\xbd\x86", "a\xffz"}) {
    INFO(s);
    n.Normalize(s, &out);
    CHECK(out.decoded);
  }
}

TEST_CASE("buffers are reused", "[normalize]") {
  NormalizedText out;
  const Normalizer n;
  n.Normalize(std::string(1000, 'a') + " \xf0\x9f\x8c\xb9", &out);
  const char* text_data = out.text.data();
  const uint32_t* begin_data = out.src_begin.data();
  n.Normalize("short text", &out);
  CHECK(out.text == "short text");
  CHECK(out.text.data() == text_data);
  CHECK(out.src_begin.data() == begin_data);
}

// ---------------------------------------------------------------------------
// Randomised invariants.

// Pieces the generator strings together: ASCII words and punctuation,
// Latin-1, Cyrillic, Greek, emoji, invisibles, marks, invalid bytes.
const std::vector<std::string>& Pieces() {
  static const std::vector<std::string> pieces = {
      "a", "b", "e", "n", "w", "X", "Y", "hot", "Young", "new", "0", "1", "3", "4", "5", "7", "9",
      "@", "$", "'", " ", "  ", ".", "-", "_", "*", ",", "!", "\t", "\n", "+", "<", "%", "#",
      "\xc3\xa9", "\xc3\x89", "\xc3\xb1", "\xc3\x9f", "\xc2\xa0", "\xc2\xad", "\xc2\xb7",
      "\xd0\xb5", "\xd0\x9d", "\xd0\xbc\xd0\xb8\xd1\x80", "\xd1\x81", "\xce\x97", "\xce\xbf",
      "\xf0\x9f\x8c\xb9", "\xf0\x9f\x8d\x92", "\xe2\x9c\x88", "\xef\xb8\x8f", "\xe2\x80\x8b",
      "\xe2\x80\x8d", "\xe2\x80\xae", "\xf3\xa0\x81\xa1", "\xcc\x81", "\xe2\x80\x99",
      "\xef\xbd\x86", "\xe2\x93\x83", "\xf0\x9d\x90\xa7", "\xef\xac\x81", "\xe2\x80\xa6",
      "\xd9\xa7", "\xe2\x91\xb4", "\xea\xb0\x80", "\xef\xbf\xbd",
      "\xff", "\xc0", "\xe2\x82", "\xed\xa0\x80", "\xf0\x9f", "\x80",
  };
  return pieces;
}

std::string RandomString(std::mt19937& rng, size_t max_pieces = 24) {
  const auto& pieces = Pieces();
  std::uniform_int_distribution<size_t> count(0, max_pieces);
  std::uniform_int_distribution<size_t> pick(0, pieces.size() - 1);
  std::string s;
  for (size_t i = count(rng); i > 0; --i) s += pieces[pick(rng)];
  return s;
}

// True when the normalised text has three single-character words in a row:
// normalising it again would join them (docs/normalization.md, idempotence).
bool HasSingleCharacterRun(const std::string& text) {
  size_t run = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view word(text.data() + start, end - start);
    const bool single = !word.empty() && CodePoints(word).size() == 1;
    run = single ? run + 1 : 0;
    if (run >= 3) return true;
    start = end + 1;
  }
  return false;
}

TEST_CASE("offset map invariants on random strings", "[normalize]") {
  std::mt19937 rng(20240611);
  const Normalizer normalizer;
  Normalizer::Options plain_options;
  plain_options.map_confusables = false;
  plain_options.decode_leetspeak = false;
  plain_options.join_spaced_letters = false;
  const Normalizer plain(plain_options);
  NormalizedText out;
  for (int iteration = 0; iteration < 10000; ++iteration) {
    const std::string raw = RandomString(rng, iteration % 10 == 0 ? 200 : 24);
    normalizer.Normalize(raw, &out);
    const std::string& t = out.text;
    INFO("iteration " << iteration);
    REQUIRE(IsValidUtf8(t));
    REQUIRE(out.src_begin.size() == t.size());
    REQUIRE(out.src_end.size() == t.size());
    if (!t.empty()) {
      REQUIRE(t.front() != ' ');
      REQUIRE(t.back() != ' ');
    }
    REQUIRE(t.find("  ") == std::string::npos);
    for (size_t i = 0; i < t.size(); ++i) {
      REQUIRE(out.src_begin[i] < out.src_end[i]);
      REQUIRE(out.src_end[i] <= raw.size());
      if (i > 0) {
        REQUIRE(out.src_begin[i - 1] <= out.src_begin[i]);
        REQUIRE(out.src_end[i - 1] <= out.src_end[i]);
      }
    }
    // Each output character comes from source bytes that explain it.
    for (size_t i = 0; i < t.size();) {
      const size_t len = Utf8SequenceLength(t, i);
      REQUIRE(len > 0);
      for (size_t k = 1; k < len; ++k) {
        REQUIRE(out.src_begin[i + k] == out.src_begin[i]);
        REQUIRE(out.src_end[i + k] == out.src_end[i]);
      }
      const std::string span = raw.substr(out.src_begin[i], out.src_end[i] - out.src_begin[i]);
      const std::string ch = t.substr(i, len);
      INFO("raw span '" << span << "' for output '" << ch << "' in '" << t << "'");
      if (ch == " ") {
        // A separator run: between two digits it still separates.
        CHECK(plain.NormalizeToString("5" + span + "5").find(' ') != std::string::npos);
      } else {
        // The span alone gives the character, or does so between two
        // letters (leetspeak, look-alikes within a Latin word).
        const std::string alone = plain.NormalizeToString(span);
        const std::string in_word = normalizer.NormalizeToString("f" + span + "f");
        const bool explained = alone.find(ch) != std::string::npos ||
                               (ch != "f" && in_word.find(ch) != std::string::npos);
        CHECK(explained);
      }
      i += len;
    }
  }
}

TEST_CASE("idempotence on random strings", "[normalize]") {
  std::mt19937 rng(7);
  const Normalizer normalizer;
  Normalizer::Options no_join;
  no_join.join_spaced_letters = false;
  const Normalizer without_join(no_join);
  for (int iteration = 0; iteration < 10000; ++iteration) {
    const std::string raw = RandomString(rng);
    INFO("raw: " << raw);
    const std::string once = without_join.NormalizeToString(raw);
    CHECK(without_join.NormalizeToString(once) == once);
    const std::string joined = normalizer.NormalizeToString(raw);
    if (!HasSingleCharacterRun(joined)) CHECK(normalizer.NormalizeToString(joined) == joined);
  }
}

// The ASCII fast path is an optimisation only: with it switched off, every
// character takes the general path, and the results must be identical.
// Mostly-ASCII ad-like text exercises the fast path's word and block copies.
std::string RandomAdText(std::mt19937& rng) {
  static const std::vector<std::string> words = {
      "Hello", "new", "in", "town", "I", "a", "am", "NOW", "sweet", "y0ung", "don't", "100%",
      "$200", "18yo", "b4", "hh", "GFE", "n e w", "N.E.W", "x", "5", "jane@mail", "+", "~",
      "(702)", "555-0147", "caf\xc3\xa9", "\xf0\x9f\x8c\xb9", "n\xd0\xb5w", "ne\xe2\x80\x8bw",
      "verylongwordwithoutanyspacesatall", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "\xff", "s3xy",
      "I'm", "rock'n'roll", "@", "'", "e\xcc\x81"};
  static const std::vector<std::string> gaps = {" ", " ", " ", " ", "  ", ", ", ". ", "!! ",
                                                " - ", "\n", "...", "-", ".", "*", " :) "};
  std::uniform_int_distribution<size_t> word(0, words.size() - 1);
  std::uniform_int_distribution<size_t> gap(0, gaps.size() - 1);
  std::uniform_int_distribution<size_t> count(0, 120);
  std::string s;
  for (size_t i = count(rng); i > 0; --i) {
    s += words[word(rng)];
    s += gaps[gap(rng)];
  }
  return s;
}

TEST_CASE("fast path and general path agree", "[normalize]") {
  std::mt19937 rng(31337);
  Normalizer::Options general_options;
  general_options.ascii_fast_path = false;
  const Normalizer fast;
  const Normalizer general(general_options);
  NormalizedText a, b;
  for (int iteration = 0; iteration < 5000; ++iteration) {
    const std::string raw = iteration % 2 ? RandomAdText(rng) : RandomString(rng, 200);
    fast.Normalize(raw, &a);
    general.Normalize(raw, &b);
    INFO("raw: " << raw);
    REQUIRE(a.text == b.text);
    size_t first_difference = 0;
    while (first_difference < a.text.size() && a.src_begin[first_difference] == b.src_begin[first_difference] &&
           a.src_end[first_difference] == b.src_end[first_difference]) {
      ++first_difference;
    }
    INFO("offsets differ at output byte " << first_difference << " of '" << a.text << "'");
    REQUIRE(first_difference == a.text.size());
    REQUIRE(a.decoded == b.decoded);
  }
}

// On ASCII input, when `decoded` is false the text is exactly the input
// lower-cased with separator runs collapsed; this reference does that.
std::string SimpleCollapse(std::string_view raw) {
  std::string out;
  bool pending = false;
  for (char c : raw) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string_view("$+<=>^`|~").find(c) != std::string_view::npos;
    if (!word) {
      pending = true;
      continue;
    }
    if (pending && !out.empty()) out += ' ';
    pending = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

TEST_CASE("without decoding, ASCII text is only lower-cased and collapsed", "[normalize]") {
  std::mt19937 rng(99);
  const std::string alphabet = "abcXYZ0134579 .,-_*'@$!+<\t";
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<size_t> length(0, 30);
  const Normalizer normalizer;
  NormalizedText out;
  int undecoded = 0;
  for (int iteration = 0; iteration < 10000; ++iteration) {
    std::string raw;
    for (size_t i = length(rng); i > 0; --i) raw += alphabet[pick(rng)];
    normalizer.Normalize(raw, &out);
    INFO("raw: " << raw);
    if (!out.decoded) {
      ++undecoded;
      CHECK(out.text == SimpleCollapse(raw));
    }
  }
  CHECK(undecoded > 100);  // the check above really ran
}

}  // namespace
}  // namespace vigil::scanner
