// Tests for PhoneExtractor: obfuscated numbers decoded with exact spans,
// ordinary numbers that are not phones, robustness on arbitrary bytes, and
// the libphonenumber facts the extractor relies on.
#include "scanner/phone_extractor.h"

#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/corpus.h"

// libphonenumber's compiled-in metadata; exported by the library but not
// declared in an installed header.
namespace i18n::phonenumbers {
int metadata_size();
const void* metadata_get();
}  // namespace i18n::phonenumbers

namespace vigil::scanner {
namespace {

std::vector<Entity> Phones(const PhoneExtractor& extractor, std::string_view text) {
  std::vector<Entity> out;
  extractor.Extract(text, &out);
  return out;
}

const PhoneExtractor& Us() {
  static const PhoneExtractor extractor;
  return extractor;
}

// Every entity is a phone, in range, sorted and not overlapping.
void CheckWellFormed(std::string_view text, const std::vector<Entity>& phones) {
  uint32_t last_end = 0;
  for (const Entity& e : phones) {
    CHECK(e.type == EntityType::kPhone);
    CHECK(e.start < e.end);
    CHECK(e.end <= text.size());
    CHECK(e.start >= last_end);
    CHECK(e.value.size() >= 9);
    CHECK(e.value[0] == '+');
    last_end = e.end;
  }
}

struct ObfuscationRow {
  const char* text;
  const char* e164;
  bool obfuscated;
  const char* span;  // the exact original bytes the phone was read from
};

// Phones written plainly or to evade scrapers. All numbers are in the
// fictional 555-01xx range (or Ofcom's and ACMA's drama ranges).
const ObfuscationRow kObfuscationRows[] = {
    // Plain formats.
    {"Call (702) 555-0147 now", "+17025550147", false, "(702) 555-0147"},
    {"txt 702.555.0147 anytime", "+17025550147", false, "702.555.0147"},
    {"text +1 702 555 0147", "+17025550147", false, "+1 702 555 0147"},
    {"num 7025550147 ok", "+17025550147", false, "7025550147"},
    {"1-702-555-0147", "+17025550147", false, "1-702-555-0147"},
    {"Call +1-702-555-0147!", "+17025550147", false, "+1-702-555-0147"},
    {"(702)555-0147", "+17025550147", false, "(702)555-0147"},
    {"702/555/0147", "+17025550147", false, "702/555/0147"},
    {"702 - 555 - 0147", "+17025550147", false, "702 - 555 - 0147"},
    {"Text 1 (702) 555-0147", "+17025550147", false, "1 (702) 555-0147"},
    {"call me at7025550147", "+17025550147", false, "7025550147"},
    {"+44 20 7946 0958", "+442079460958", false, "+44 20 7946 0958"},
    {"aussie +61 491 570 156 here", "+61491570156", false, "+61 491 570 156"},
    // Digit words, apart and joined, any case.
    {"seven oh two five five five oh one four seven", "+17025550147", true,
     "seven oh two five five five oh one four seven"},
    {"sixoneseven five five five zero one nine nine", "+16175550199", true,
     "sixoneseven five five five zero one nine nine"},
    {"SiX-oNe-SeVeN 5five5 0one99", "+16175550199", true, "SiX-oNe-SeVeN 5five5 0one99"},
    {"TWO one TWO five five five zero one nine nine", "+12125550199", true,
     "TWO one TWO five five five zero one nine nine"},
    {"SEVEN ZERO TWO | FIVE FIVE FIVE | ZERO ONE FOUR SEVEN", "+17025550147", true,
     "SEVEN ZERO TWO | FIVE FIVE FIVE | ZERO ONE FOUR SEVEN"},
    {"Seven0Two555Zero1FourSeven", "+17025550147", true, "Seven0Two555Zero1FourSeven"},
    {"seven zero two 555 0147", "+17025550147", true, "seven zero two 555 0147"},
    {"702 five five five 0147", "+17025550147", true, "702 five five five 0147"},
    // Mixed digits and words (DIG's and TellFinder's shapes).
    {"508 5five5 01four1", "+15085550141", true, "508 5five5 01four1"},
    {"for80 5fivefive 0one9zero", "+14805550190", true, "for80 5fivefive 0one9zero"},
    {"nine0nine-5five5-0one2three", "+19095550123", true, "nine0nine-5five5-0one2three"},
    {"call nein0nein 555 0one0fore", "+19095550104", true, "nein0nein 555 0one0fore"},
    // Leet spellings.
    {"f0ur8zer0 555 0147", "+14805550147", true, "f0ur8zer0 555 0147"},
    {"n1ne0n1ne 555 0one23", "+19095550123", true, "n1ne0n1ne 555 0one23"},
    {"thr33 one 0 - 555 - 0 1 eigh7 eigh7", "+13105550188", true, "thr33 one 0 - 555 - 0 1 eigh7 eigh7"},
    {"s1x0netw0 555 0111", "+16125550111", true, "s1x0netw0 555 0111"},
    {"sev3n0two 555 01 47", "+17025550147", true, "sev3n0two 555 01 47"},
    {"sev3n 0h tw0 f1ve f1ve f1ve 0h 0ne f0ur sev3n", "+17025550147", true,
     "sev3n 0h tw0 f1ve f1ve f1ve 0h 0ne f0ur sev3n"},
    // Letters for digits.
    {"7O2-555-O1four7", "+17025550147", true, "7O2-555-O1four7"},
    {"7O2-555-Ol47", "+17025550147", true, "7O2-555-Ol47"},
    {"3lO-555-OllO", "+13105550110", true, "3lO-555-OllO"},
    {"7O2 5S5 Ol47", "+17025550147", true, "7O2 5S5 Ol47"},
    {"cyrillic 7\xD0\x9E" "2-555-\xD0\x9E" "147", "+17025550147", true, "7\xD0\x9E" "2-555-\xD0\x9E" "147"},
    // Separators or emoji between digits.
    {"7 0 2 . 5 5 5 . 0 1 4 7", "+17025550147", true, "7 0 2 . 5 5 5 . 0 1 4 7"},
    {"call 7 0 2 5 5 5 0 1 4 7 now", "+17025550147", true, "7 0 2 5 5 5 0 1 4 7"},
    {"7-0-2-5-5-5-0-1-4-7", "+17025550147", true, "7-0-2-5-5-5-0-1-4-7"},
    {"702 555 01 47", "+17025550147", true, "702 555 01 47"},
    {"702_555_0147", "+17025550147", true, "702_555_0147"},
    {"702\xE2\x80\xA2" "555\xE2\x80\xA2" "0147", "+17025550147", true, "702\xE2\x80\xA2" "555\xE2\x80\xA2" "0147"},
    {"702\xE2\x80\x8B" "555\xE2\x80\x8B" "0147", "+17025550147", true, "702\xE2\x80\x8B" "555\xE2\x80\x8B" "0147"},
    {"\xF0\x9F\x93\x9E 7\xF0\x9F\x8C\xB9" "0\xF0\x9F\x8C\xB9" "2\xF0\x9F\x8C\xB9" "5\xF0\x9F\x8C\xB9" "5\xF0\x9F\x8C\xB9"
     "5\xF0\x9F\x8C\xB9" "0\xF0\x9F\x8C\xB9" "1\xF0\x9F\x8C\xB9" "4\xF0\x9F\x8C\xB9" "7",
     "+17025550147", true,
     "7\xF0\x9F\x8C\xB9" "0\xF0\x9F\x8C\xB9" "2\xF0\x9F\x8C\xB9" "5\xF0\x9F\x8C\xB9" "5\xF0\x9F\x8C\xB9"
     "5\xF0\x9F\x8C\xB9" "0\xF0\x9F\x8C\xB9" "1\xF0\x9F\x8C\xB9" "4\xF0\x9F\x8C\xB9" "7"},
    // Keycaps, with and without the variation selector.
    {"7\xEF\xB8\x8F\xE2\x83\xA3" "0\xEF\xB8\x8F\xE2\x83\xA3" "2\xEF\xB8\x8F\xE2\x83\xA3" "5\xEF\xB8\x8F\xE2\x83\xA3"
     "5\xEF\xB8\x8F\xE2\x83\xA3" "5\xEF\xB8\x8F\xE2\x83\xA3" "0\xEF\xB8\x8F\xE2\x83\xA3" "1\xEF\xB8\x8F\xE2\x83\xA3"
     "4\xEF\xB8\x8F\xE2\x83\xA3" "7\xEF\xB8\x8F\xE2\x83\xA3!",
     "+17025550147", true,
     "7\xEF\xB8\x8F\xE2\x83\xA3" "0\xEF\xB8\x8F\xE2\x83\xA3" "2\xEF\xB8\x8F\xE2\x83\xA3" "5\xEF\xB8\x8F\xE2\x83\xA3"
     "5\xEF\xB8\x8F\xE2\x83\xA3" "5\xEF\xB8\x8F\xE2\x83\xA3" "0\xEF\xB8\x8F\xE2\x83\xA3" "1\xEF\xB8\x8F\xE2\x83\xA3"
     "4\xEF\xB8\x8F\xE2\x83\xA3" "7\xEF\xB8\x8F\xE2\x83\xA3"},
    {"7\xE2\x83\xA3" "0\xE2\x83\xA3" "2\xE2\x83\xA3 555 0147", "+17025550147", true,
     "7\xE2\x83\xA3" "0\xE2\x83\xA3" "2\xE2\x83\xA3 555 0147"},
    // Digits from other blocks and scripts.
    {"\xEF\xBC\x97\xEF\xBC\x90\xEF\xBC\x92-\xEF\xBC\x95\xEF\xBC\x95\xEF\xBC\x95-\xEF\xBC\x90\xEF\xBC\x91\xEF\xBC\x94\xEF\xBC\x97",
     "+17025550147", true,
     "\xEF\xBC\x97\xEF\xBC\x90\xEF\xBC\x92-\xEF\xBC\x95\xEF\xBC\x95\xEF\xBC\x95-\xEF\xBC\x90\xEF\xBC\x91\xEF\xBC\x94\xEF\xBC\x97"},
    {"\xD9\xA7\xD9\xA0\xD9\xA2\xD9\xA5\xD9\xA5\xD9\xA5\xD9\xA0\xD9\xA1\xD9\xA4\xD9\xA7", "+17025550147", true,
     "\xD9\xA7\xD9\xA0\xD9\xA2\xD9\xA5\xD9\xA5\xD9\xA5\xD9\xA0\xD9\xA1\xD9\xA4\xD9\xA7"},
    {"\xF0\x9D\x9F\x95\xF0\x9D\x9F\x8E\xF0\x9D\x9F\x90 555 0147", "+17025550147", true,
     "\xF0\x9D\x9F\x95\xF0\x9D\x9F\x8E\xF0\x9D\x9F\x90 555 0147"},
    {"\xE2\x91\xA6\xE2\x93\xAA\xE2\x91\xA1 555 0147", "+17025550147", true,
     "\xE2\x91\xA6\xE2\x93\xAA\xE2\x91\xA1 555 0147"},
    // Area code written apart.
    {"555-0147 area code 702", "+17025550147", true, "555-0147 area code 702"},
    {"area code 702 number 555-0147", "+17025550147", true, "702 number 555-0147"},
    {"(702) ... 555 0147", "+17025550147", true, "(702) ... 555 0147"},
    {"Five five five zero one four seven, AREA CODE seven oh two!", "+17025550147", true,
     "Five five five zero one four seven, AREA CODE seven oh two"},
};

TEST_CASE("phone extractor decodes obfuscated numbers with exact spans", "[phone]") {
  STATIC_REQUIRE(sizeof(kObfuscationRows) / sizeof(kObfuscationRows[0]) >= 40);
  for (const ObfuscationRow& row : kObfuscationRows) {
    const std::string text = row.text;
    INFO("text: " << text);
    const std::vector<Entity> phones = Phones(Us(), text);
    CheckWellFormed(text, phones);
    REQUIRE(phones.size() == 1);
    const Entity& e = phones[0];
    CHECK(e.value == row.e164);
    CHECK(e.obfuscated == row.obfuscated);
    CHECK(text.substr(e.start, e.end - e.start) == row.span);
    CHECK(e.start == text.find(row.span));
  }
}

// Text with numbers and digit words that are not phones.
const char* const kNotPhones[] = {
    "$200 for one hour",
    "150/hr special, 250 for two",
    "200 roses, no rush",
    "sweet 19 yo new in town",
    "available 12/25/2026 only",
    "last day 2026-11-28 at 10:30pm",
    "10:30pm till 4am",
    "zip 89109 near the strip",
    "3355 Las Vegas Blvd S suite 1205",
    "since 1999, est. 2004",
    "one night only",
    "for you and me",
    "two girls available",
    "oh my god",
    "I'm 5'4 110lbs 34C",
    "rates 100 150 200 300",
    "80hh 120h 200 2hrs 300 overnight",
    "open 24/7 call me",
    "call me oh so sweet, I love it",
    "ages 21 22 23 24 25 welcome",
    "sizes 2 4 6 8 10 12",
    "one two three four five six seven eight nine",
    "lol lol lol lol",
    "i i i i i i i i i i",
    "555-0147 and no area",
    "tel 702-555-014",
    "702 555",
    "id 1234567890",
    "serial 0123456789",
    "born 12.05.1999 in july",
    "$1,500.00 deposit",
    "version 1.2.3.4.5.6.7",
    "measurements 36-24-36",
    "2026 2027 2028 2029",
    "for four fore for",
    "someone special for one night",
};

TEST_CASE("phone extractor does not read ordinary numbers and words as phones", "[phone]") {
  STATIC_REQUIRE(sizeof(kNotPhones) / sizeof(kNotPhones[0]) >= 25);
  for (const char* text : kNotPhones) {
    INFO("text: " << text);
    const std::vector<Entity> phones = Phones(Us(), text);
    CHECK(phones.empty());
    for (const Entity& e : phones) INFO("found " << e.value);
  }
}

TEST_CASE("phone extractor keeps every occurrence with its own span", "[phone]") {
  const std::string text = "702-555-0147 or 702-555-0148, again 702-555-0147; (212) 555-0199.";
  const std::vector<Entity> phones = Phones(Us(), text);
  CheckWellFormed(text, phones);
  REQUIRE(phones.size() == 4);
  CHECK(phones[0].value == "+17025550147");
  CHECK(phones[1].value == "+17025550148");
  CHECK(phones[2].value == "+17025550147");
  CHECK(phones[3].value == "+12125550199");
  CHECK(phones[0].start == 0);
  CHECK(phones[2].start == text.find("702-555-0147", 20));
  CHECK(text.substr(phones[3].start, phones[3].end - phones[3].start) == "(212) 555-0199");
}

TEST_CASE("phone extractor splits numbers joined by separators", "[phone]") {
  const std::string text = "702-555-0147/702-555-0148 or 7025550147, 7025550148";
  const std::vector<Entity> phones = Phones(Us(), text);
  CheckWellFormed(text, phones);
  REQUIRE(phones.size() == 4);
  CHECK(phones[1].value == "+17025550148");
  CHECK(text.substr(phones[1].start, phones[1].end - phones[1].start) == "702-555-0148");
}

TEST_CASE("phone extractor does not take a digit word before the number", "[phone]") {
  // "for" reads as 4 and "one" as 1, but neither belongs to the number.
  for (std::string text : {"text for 702-555-0147", "call one 702 555 0147", "I 702 555 0147", "o 7025550147"}) {
    INFO(text);
    const std::vector<Entity> phones = Phones(Us(), text);
    REQUIRE(phones.size() == 1);
    CHECK(phones[0].value == "+17025550147");
    CHECK(phones[0].start == text.find('7'));
    CHECK_FALSE(phones[0].obfuscated);
  }
}

// The extractor skips text that cannot open a run with masks of 64-byte
// blocks. Regression: a word glued to digits ("Cal801") that started in one
// block and ended in the next was read from the block start ("l801", l = 1)
// and the phone was lost. Whatever stands before a number, at any offset,
// must not change what is found in it.
TEST_CASE("phone extractor finds the same phones at every offset", "[phone]") {
  const char* const kFragments[] = {
      "Cal801-555-0123. more words after it",
      "Ca 801 555 0123 and then some",
      "call7025550147 now",
      "l801-555-0123 is not one",
      "for 702 555 0147 tonight",
      "seven zero two five five five zero one four seven",
      "7\xEF\xB8\x8F\xE2\x83\xA3" "0 2 - 555 - 0147",
      "area code 702 number 555-0147",
      "one seven zero two five five five zero one four seven",
      "I'm at 7o2-5S5-O147 xo",
  };
  for (const char* fragment : kFragments) {
    const std::vector<Entity> alone = Phones(Us(), fragment);
    for (size_t pad = 1; pad <= 140; ++pad) {
      for (const std::string& prefix : {std::string(pad, ' '), std::string(pad - 1, 'q') + " "}) {
        const std::string text = prefix + fragment;
        INFO("pad " << pad << ": " << text);
        const std::vector<Entity> shifted = Phones(Us(), text);
        CheckWellFormed(text, shifted);
        REQUIRE(shifted.size() == alone.size());
        for (size_t k = 0; k < alone.size(); ++k) {
          CHECK(shifted[k].value == alone[k].value);
          CHECK(shifted[k].start == alone[k].start + pad);
          CHECK(shifted[k].end == alone[k].end + pad);
          CHECK(shifted[k].obfuscated == alone[k].obfuscated);
        }
      }
    }
  }
  // The regression case itself, found by its exact span.
  const std::string text = std::string(62, ' ') + "Cal801-555-0123.";
  const std::vector<Entity> phones = Phones(Us(), text);
  REQUIRE(phones.size() == 1);
  CHECK(phones[0].value == "+18015550123");
  CHECK(phones[0].start == 65);
}

TEST_CASE("phone extractor tolerates invalid UTF-8 around a number", "[phone]") {
  const std::string text = "\xff\xfe call \xc3 702-555-0147 \xe2\x82 bye \xf0\x9f";
  const std::vector<Entity> phones = Phones(Us(), text);
  CheckWellFormed(text, phones);
  REQUIRE(phones.size() == 1);
  CHECK(phones[0].value == "+17025550147");
  CHECK(text.substr(phones[0].start, phones[0].end - phones[0].start) == "702-555-0147");
}

TEST_CASE("phone extractor survives random bytes", "[phone]") {
  // Pieces that make runs, words and broken sequences likely.
  const std::vector<std::string> pieces = {
      "7", "0", "2", "5", "1", "4", " ", "-", ".", "(", ")", "+", "one", "oh", "five", "f0ur", "O", "l", "S",
      "\xF0\x9F\x8C\xB9", "\xEF\xBC\x97", "\xE2\x83\xA3", "\xEF\xB8\x8F", "\xE2\x80\x8B", "area code ", "\xff",
      "\xc3", "\xe2\x82", "\xf0\x9f\x8c", "x", "$", "\n", "\xD9\xA7", "\xD0\x9E"};
  std::mt19937 rng(20260117);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const int count = static_cast<int>(rng() % 120);
    for (int k = 0; k < count; ++k) {
      if (rng() % 5 == 0) {
        text.push_back(static_cast<char>(rng() % 256));
      } else {
        text += pieces[rng() % pieces.size()];
      }
    }
    const std::vector<Entity> phones = Phones(Us(), text);
    CheckWellFormed(text, phones);
  }
}

TEST_CASE("phone extractor handles long inputs", "[phone]") {
  std::string digits(100000, '7');  // one huge group: no phone, no crash
  CHECK(Phones(Us(), digits).empty());
  std::string words;
  for (int k = 0; k < 20000; ++k) words += "five";
  CHECK(Phones(Us(), words).empty());
  std::string many;
  for (int k = 0; k < 1000; ++k) many += "call 702-555-0147 now. ";
  const std::vector<Entity> phones = Phones(Us(), many);
  CheckWellFormed(many, phones);
  CHECK(phones.size() == 1000);
}

TEST_CASE("phone extractor reads national numbers of another default region", "[phone]") {
  PhoneExtractor gb(PhoneExtractor::Options{"GB"});
  REQUIRE(gb.status().ok());
  const std::string text = "ring 020 7946 0958 or +1 702 555 0147";
  const std::vector<Entity> phones = Phones(gb, text);
  CheckWellFormed(text, phones);
  REQUIRE(phones.size() == 2);
  CHECK(phones[0].value == "+442079460958");
  CHECK(text.substr(phones[0].start, phones[0].end - phones[0].start) == "020 7946 0958");
  CHECK(phones[1].value == "+17025550147");
}

TEST_CASE("phone extractor rejects an unknown region clearly", "[phone]") {
  auto created = PhoneExtractor::Create(PhoneExtractor::Options{"XQ"});
  REQUIRE_FALSE(created.ok());
  CHECK(created.status().IsInvalidArgument());
  CHECK(created.status().message().find("XQ") != std::string::npos);

  PhoneExtractor odd(PhoneExtractor::Options{"XQ"});
  CHECK_FALSE(odd.status().ok());
  // Only numbers with an explicit country code are found.
  const std::vector<Entity> phones = Phones(odd, "702-555-0147 or +1 702 555 0148");
  REQUIRE(phones.size() == 1);
  CHECK(phones[0].value == "+17025550148");

  auto us = PhoneExtractor::Create(PhoneExtractor::Options{});
  REQUIRE(us.ok());
  CHECK(Phones(**us, "702-555-0147").size() == 1);
  auto lower = PhoneExtractor::Create(PhoneExtractor::Options{"gb"});
  REQUIRE(lower.ok());
  CHECK(Phones(**lower, "020 7946 0958").size() == 1);
  CHECK_FALSE(PhoneExtractor::Create(PhoneExtractor::Options{""}).ok());
}

TEST_CASE("phone extractor gives the same answers from many threads", "[phone]") {
  const std::string text = "seven oh two five five five oh one four seven or (212) 555-0199 or +44 20 7946 0958";
  PhoneExtractor extractor;
  std::vector<std::vector<Entity>> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 200; ++k) {
        std::vector<Entity> out;
        extractor.Extract(text, &out);
        if (k == 0 || out.size() != 3) results[t] = out;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (const auto& r : results) {
    REQUIRE(r.size() == 3);
    CHECK(r[0].value == "+17025550147");
    CHECK(r[1].value == "+12125550199");
    CHECK(r[2].value == "+442079460958");
  }
}

// The extractor accepts the fictional 555-01xx range because libphonenumber
// itself calls it valid; if a metadata update changes that, this fails first.
TEST_CASE("libphonenumber considers the fictional 555-01xx range valid", "[phone]") {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  for (const char* s : {"+17025550147", "+12125550199", "+16175550100"}) {
    PhoneNumber n;
    REQUIRE(util->Parse(s, "US", &n) == PhoneNumberUtil::NO_PARSING_ERROR);
    CHECK(util->IsValidNumber(n));
  }
}

// k when `pattern` ends in \d{k} or \d{k,m}; 0 otherwise.
int TrailingFreeDigits(const std::string& pattern) {
  if (pattern.empty() || pattern.back() != '}') return 0;
  const size_t open = pattern.rfind("\\d{");
  if (open == std::string::npos) return 0;
  int k = 0;
  size_t i = open + 3;
  for (; i < pattern.size() && pattern[i] >= '0' && pattern[i] <= '9'; ++i) k = k * 10 + (pattern[i] - '0');
  if (i == open + 3) return 0;
  if (pattern[i] == ',') {
    for (++i; i < pattern.size() && pattern[i] >= '0' && pattern[i] <= '9'; ++i) {
    }
  }
  return i == pattern.size() - 1 ? k : 0;
}

// The NANP verdict cache keys on the first 7 digits. That is exact only if
// no NANP pattern in libphonenumber's metadata constrains the last three
// digits: every top-level alternative must end in \d{k} with k >= 3.
TEST_CASE("NANP patterns leave the last three digits free", "[phone]") {
  using namespace i18n::phonenumbers;
  REQUIRE(TrailingFreeDigits(R"((?:2(?:0[1-35-9]|1[02-9]))[2-9]\d{6})") == 6);
  REQUIRE(TrailingFreeDigits(R"(246521[0369]\d{3,4})") == 3);
  REQUIRE(TrailingFreeDigits(R"(7302[0-4]\d)") == 0);
  PhoneMetadataCollection collection;
  REQUIRE(collection.ParseFromArray(metadata_get(), metadata_size()));
  int checked = 0;
  for (const PhoneMetadata& m : collection.metadata()) {
    if (m.country_code() != 1) continue;
    for (const PhoneNumberDesc* d :
         {&m.general_desc(), &m.fixed_line(), &m.mobile(), &m.toll_free(), &m.premium_rate(), &m.shared_cost(),
          &m.personal_number(), &m.voip(), &m.pager(), &m.uan(), &m.voicemail()}) {
      if (!d->has_national_number_pattern()) continue;
      const std::string& pattern = d->national_number_pattern();
      std::vector<std::string> alternatives(1);
      int depth = 0;
      for (char c : pattern) {
        depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        if (c == '|' && depth == 0) {
          alternatives.emplace_back();
        } else {
          alternatives.back().push_back(c);
        }
      }
      for (const std::string& alt : alternatives) {
        INFO(m.id() << ": " << alt);
        CHECK(TrailingFreeDigits(alt) >= 3);
        ++checked;
      }
    }
  }
  CHECK(checked > 50);
}

// Differential: for every area code with the fictional exchange, the
// extractor agrees with libphonenumber asked directly.
TEST_CASE("phone extractor agrees with libphonenumber on the 555-01xx range", "[phone][slow]") {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneExtractor extractor;
  int valid = 0;
  for (int npa = 200; npa <= 999; npa += 7) {
    for (int line = 100; line <= 199; line += 33) {
      const std::string digits = std::to_string(npa) + "5550" + std::to_string(line);
      PhoneNumber n;
      n.set_country_code(1);
      n.set_national_number(std::stoull(digits));
      const bool expect = util->IsValidNumber(n);
      const std::vector<Entity> phones = Phones(extractor, digits.substr(0, 3) + "-555-0" + std::to_string(line));
      INFO(digits);
      CHECK(phones.size() == (expect ? 1u : 0u));
      if (expect && phones.size() == 1) {
        CHECK(phones[0].value == "+1" + digits);
        ++valid;
      }
    }
  }
  CHECK(valid > 100);
}

// The corpus generator writes each ad's phone in one of its obfuscation
// styles and records the answer; the extractor must find it.
TEST_CASE("phone extractor finds the phone of every generated ad", "[phone]") {
  bench::CorpusGenerator generator(7);
  int with_phone = 0;
  for (int k = 0; k < 2000; ++k) {
    const bench::GeneratedAd ad = generator.Next();
    const std::vector<Entity> phones = Phones(Us(), ad.text);
    CheckWellFormed(ad.text, phones);
    if (ad.phone_e164.empty()) {
      CHECK(phones.empty());
      continue;
    }
    ++with_phone;
    INFO("ad " << ad.id << ": " << ad.text);
    bool found = false;
    for (const Entity& e : phones) {
      CHECK(e.value == ad.phone_e164);  // the hard negatives (prices, ages, spaced words) are not phones
      if (e.value == ad.phone_e164) {
        found = true;
        CHECK(e.obfuscated == ad.phone_obfuscated);
      }
    }
    CHECK(found);
  }
  CHECK(with_phone > 500);
}

}  // namespace
}  // namespace vigil::scanner
