// Tests for scanner/entity_extractor.cc: one table of positive and one of
// negative rows per entity type, plus ordering, overlap and robustness
// checks. All text is invented; phone numbers are in 555-0100..0199.
#include "scanner/entity_extractor.h"

#include <catch2/catch.hpp>
#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::scanner {
namespace {

std::vector<Entity> Extract(std::string_view text) {
  static const EntityExtractor extractor;
  std::vector<Entity> out;
  extractor.Extract(text, &out);
  return out;
}

std::vector<Entity> OfType(const std::vector<Entity>& all, EntityType type) {
  std::vector<Entity> out;
  for (const Entity& e : all) {
    if (e.type == type) out.push_back(e);
  }
  return out;
}

std::string Describe(const std::vector<Entity>& all) {
  std::string s;
  for (const Entity& e : all) {
    s += std::string(EntityTypeName(e.type)) + "{" + e.value + " [" + std::to_string(e.start) +
         "," + std::to_string(e.end) + ") unit=" + e.unit + " dur=" + e.duration +
         " platform=" + e.platform + (e.obfuscated ? " obf" : "") + "} ";
  }
  return s.empty() ? "(none)" : s;
}

// A positive row: `span` is the exact text the entity must cover (its first
// occurrence in `text`); `detail` is the platform (handles), or
// "unit/duration" (prices), or "obf"/"plain" (emails).
struct Row {
  std::string_view text;
  std::string_view value;
  std::string_view span;
  std::string_view detail;
};

void CheckPositive(EntityType type, const Row& row) {
  const std::vector<Entity> all = Extract(row.text);
  INFO("text: " << row.text);
  INFO("got: " << Describe(all));
  const std::vector<Entity> found = OfType(all, type);
  REQUIRE(found.size() >= 1);
  const Entity& e = found.front();
  const size_t start = row.text.find(row.span);
  REQUIRE(start != std::string_view::npos);
  CHECK(e.value == row.value);
  CHECK(e.start == start);
  CHECK(e.end == start + row.span.size());
  switch (type) {
    case EntityType::kEmail:
      CHECK(e.obfuscated == (row.detail == "obf"));
      break;
    case EntityType::kHandle:
      CHECK(e.platform == row.detail);
      CHECK(e.value.rfind(std::string(row.detail) + ":", 0) == 0);
      break;
    case EntityType::kPrice:
      CHECK(e.unit + "/" + e.duration == row.detail);
      break;
    default:
      break;
  }
}

void CheckNegative(EntityType type, std::string_view text) {
  const std::vector<Entity> all = Extract(text);
  INFO("text: " << text);
  INFO("got: " << Describe(all));
  CHECK(OfType(all, type).empty());
}

// ---------------------------------------------------------------------------

TEST_CASE("emails: plain and spelled-out", "[entity][email]") {
  const Row rows[] = {
      {"email lexi99@example.com now", "lexi99@example.com", "lexi99@example.com", "plain"},
      {"Contact: Lexi.Rose_22@Example.CO.UK.", "lexi.rose_22@example.co.uk",
       "Lexi.Rose_22@Example.CO.UK", "plain"},
      {"a.b-c+tag@sub.example.info", "a.b-c+tag@sub.example.info", "a.b-c+tag@sub.example.info",
       "plain"},
      {"lexi99 at example dot com", "lexi99@example.com", "lexi99 at example dot com", "obf"},
      {"lexi99 (at) example (dot) com", "lexi99@example.com", "lexi99 (at) example (dot) com",
       "obf"},
      {"lexi99[at]example[dot]com", "lexi99@example.com", "lexi99[at]example[dot]com", "obf"},
      {"lexi99 @ example . com", "lexi99@example.com", "lexi99 @ example . com", "obf"},
      {"write LEXI99 AT EXAMPLE DOT NET", "lexi99@example.net", "LEXI99 AT EXAMPLE DOT NET", "obf"},
      {"lexi99 at example.com", "lexi99@example.com", "lexi99 at example.com", "obf"},
      {"lexi99@example dot com", "lexi99@example.com", "lexi99@example dot com", "obf"},
      {"lexi99{at}example{dot}org", "lexi99@example.org", "lexi99{at}example{dot}org", "obf"},
      {"mail: candy_0147 at mailbox dot co dot uk please", "candy_0147@mailbox.co.uk",
       "candy_0147 at mailbox dot co dot uk", "obf"},
      {"lexi99 at gmail dot com.", "lexi99@gmail.com", "lexi99 at gmail dot com", "obf"},
      {"lexi99<at>example<dot>me", "lexi99@example.me", "lexi99<at>example<dot>me", "obf"},
      {"rosie0155 (at) mailbox (dot) com 🌹", "rosie0155@mailbox.com",
       "rosie0155 (at) mailbox (dot) com", "obf"},
      {"lexi99 at example . com", "lexi99@example.com", "lexi99 at example . com", "obf"},
      {"名前 lexi99@example.com 🌹", "lexi99@example.com", "lexi99@example.com", "plain"},
      {"email me at lexi99@example.com", "lexi99@example.com", "lexi99@example.com", "plain"},
      {"kik@example.com", "kik@example.com", "kik@example.com", "plain"},
  };
  for (const Row& row : rows) CheckPositive(EntityType::kEmail, row);
}

TEST_CASE("emails: prose and broken addresses are not emails", "[entity][email]") {
  const std::string_view rows[] = {
      "meet at the hotel dot com",
      "see me at home dot com",
      "I'm at work. Com later",
      "lexi99 at example dot coffee",
      "lexi99@",
      "@example.com",
      "lexi99@example",
      "lexi99 at example",
      "stay at my place dot com",
      "arrive at 9 dot com",
      "lexi99@@example.com",
      "look at them dot",
      "lexi99 at example dot 99",
      "available at noon dot com",
      "book at my-site.org today",
      "mi\u0430_0190@example.com",  // Cyrillic letter inside the local part
      "lexi@mailb\u043ex.com",
  };
  for (std::string_view text : rows) CheckNegative(EntityType::kEmail, text);
}

// ---------------------------------------------------------------------------

TEST_CASE("urls: schemes, www and bare domains", "[entity][url]") {
  const Row rows[] = {
      {"see https://example.com/lexi", "https://example.com/lexi", "https://example.com/lexi", ""},
      {"HTTPS://Example.COM/Lexi?x=1", "https://example.com/Lexi?x=1",
       "HTTPS://Example.COM/Lexi?x=1", ""},
      {"www.example.com/lexi", "www.example.com/lexi", "www.example.com/lexi", ""},
      {"visit example.com/lexi.", "example.com/lexi", "example.com/lexi", ""},
      {"(see example.com/lexi)", "example.com/lexi", "example.com/lexi", ""},
      {"http://example.net", "http://example.net", "http://example.net", ""},
      {"book at my-site.org today", "my-site.org", "my-site.org", ""},
      {"WWW.Example.Info/Page", "www.example.info/Page", "WWW.Example.Info/Page", ""},
      {"https://sub.example.co.uk:8080/a/b#frag", "https://sub.example.co.uk:8080/a/b#frag",
       "https://sub.example.co.uk:8080/a/b#frag", ""},
      {"go to example.io!", "example.io", "example.io", ""},
      {"https://en.example.org/wiki/Foo_(bar)", "https://en.example.org/wiki/Foo_(bar)",
       "https://en.example.org/wiki/Foo_(bar)", ""},
      {"link: example.com/lexi, call me", "example.com/lexi", "example.com/lexi", ""},
      {"http://10.0.0.1/x", "http://10.0.0.1/x", "http://10.0.0.1/x", ""},
      {"www.example.xyz", "www.example.xyz", "www.example.xyz", ""},
      {"example.com?ref=ad", "example.com?ref=ad", "example.com?ref=ad", ""},
      {"👉example.com/lexi👈", "example.com/lexi", "example.com/lexi", ""},
      {"'https://example.com/a'", "https://example.com/a", "https://example.com/a", ""},
  };
  for (const Row& row : rows) CheckPositive(EntityType::kUrl, row);
}

TEST_CASE("urls: abbreviations, decimals and email domains are not URLs", "[entity][url]") {
  const std::string_view rows[] = {
      "lexi99@example.com",
      "lexi99 at example dot com",
      "lexi99 at example.com",
      "St.Louis",
      "e.g. this",
      "lexi.99",
      "photo.jpg",
      "hello.world",
      "end of sentence.Next one",
      "3.5 stars",
      "file.exe",
      "http:/broken",
      "t.me/lexi99",       // a Telegram handle, not a URL
      "ex\u0430mple.com",  // Cyrillic letter inside the host
  };
  for (std::string_view text : rows) CheckNegative(EntityType::kUrl, text);
}

// ---------------------------------------------------------------------------

TEST_CASE("handles: platform cues and separators", "[entity][handle]") {
  const Row rows[] = {
      {"kik: lexi_99", "kik:lexi_99", "kik: lexi_99", "kik"},
      {"snap @lexi.99", "snap:lexi.99", "snap @lexi.99", "snap"},
      {"add my sc lexi99", "snap:lexi99", "sc lexi99", "snap"},
      {"IG - lexi99", "instagram:lexi99", "IG - lexi99", "instagram"},
      {"telegram @lexi99", "telegram:lexi99", "telegram @lexi99", "telegram"},
      {"t.me/Lexi99", "telegram:lexi99", "t.me/Lexi99", "telegram"},
      {"https://t.me/lexi_99.", "telegram:lexi_99", "https://t.me/lexi_99", "telegram"},
      {"Snapchat: LexiRose", "snap:lexirose", "Snapchat: LexiRose", "snap"},
      {"my kik is sweetlexi", "kik:sweetlexi", "kik is sweetlexi", "kik"},
      {"insta: @mia_0190.", "instagram:mia_0190", "insta: @mia_0190", "instagram"},
      {"wechat: lexi_99", "wechat:lexi_99", "wechat: lexi_99", "wechat"},
      {"WhatsApp: lexirose", "whatsapp:lexirose", "WhatsApp: lexirose", "whatsapp"},
      {"twitter @lexi99", "twitter:lexi99", "twitter @lexi99", "twitter"},
      {"OF: lexirose", "onlyfans:lexirose", "OF: lexirose", "onlyfans"},
      {"onlyfans lexi_99", "onlyfans:lexi_99", "onlyfans lexi_99", "onlyfans"},
      {"X: @lexi99", "twitter:lexi99", "X: @lexi99", "twitter"},
      {"tg: lexi99", "telegram:lexi99", "tg: lexi99", "telegram"},
      {"kik me lexi99", "kik:lexi99", "kik me lexi99", "kik"},
      {"check my OF lexirose", "onlyfans:lexirose", "OF lexirose", "onlyfans"},
      {"my OF is lexi_99", "onlyfans:lexi_99", "OF is lexi_99", "onlyfans"},
      {"kik—lexi99", "kik:lexi99", "kik—lexi99", "kik"},
      {"snap id: Candy.0147 xx", "snap:candy.0147", "snap id: Candy.0147", "snap"},
      {"kik@lexi99", "kik:lexi99", "kik@lexi99", "kik"},
  };
  for (const Row& row : rows) CheckPositive(EntityType::kHandle, row);
}

TEST_CASE("handles: ordinary words and phones after a platform word", "[entity][handle]") {
  const std::string_view rows[] = {
      "one of them",
      "kik friendly",
      "snap pics",
      "x marks the spot",
      "whatsapp: 702-555-0147",
      "wa: +1 702 555 0147",
      "sc lexi99",  // short form without a cue: ambiguous
      "Seattle, WA 98101",
      "kik me",
      "a list of: apples",
      "snapchat and instagram",
      "the wc is clean",
      "@lexi99",
      "kik lexi99@example.com",
      "tg is great",
      "2 x 3",
      "snap: https://example.com/lexi",
      // Regression: a Cyrillic letter cut the handle to "mi".
      "IG - mi\u0430_0190",
  };
  for (std::string_view text : rows) CheckNegative(EntityType::kHandle, text);
}

// ---------------------------------------------------------------------------

TEST_CASE("prices: amounts with units and durations", "[entity][price]") {
  const Row rows[] = {
      {"$200", "200", "$200", "usd/"},
      {"only 200$ tonight", "200", "200$", "usd/"},
      {"200 roses", "200", "200 roses", "roses/"},
      {"150 roses/hh", "150", "150 roses/hh", "roses/hh"},
      {"$150 hr", "150", "$150 hr", "usd/hr"},
      {"200/hr", "200", "200/hr", "usd/hr"},
      {"300 for an hour", "300", "300 for an hour", "usd/hr"},
      {"hh 120 h 200", "120", "hh 120", "usd/hh"},
      {"🌹🌹 150", "150", "🌹🌹 150", "roses/"},
      {"2hrs 400", "400", "2hrs 400", "usd/2hr"},
      {"overnight 1000", "1000", "overnight 1000", "usd/overnight"},
      {"150 donation", "150", "150 donation", "donation/"},
      {"$1,000 overnight", "1000", "$1,000 overnight", "usd/overnight"},
      {"$99.99", "99.99", "$99.99", "usd/"},
      {"$150.00 hh", "150", "$150.00 hh", "usd/hh"},
      {"1.5k overnight", "1500", "1.5k overnight", "usd/overnight"},
      {"150🌹", "150", "150🌹", "roses/"},
      {"30 min 100", "100", "30 min 100", "usd/hh"},
      {"250 roses half hour", "250", "250 roses half hour", "roses/hh"},
      {"USD 200", "200", "USD 200", "usd/"},
      {"donation: 150", "150", "donation: 150", "donation/"},
      {"$200/2hrs", "200", "$200/2hrs", "usd/2hr"},
      {"200 per hour", "200", "200 per hour", "usd/hr"},
      {"hr-200", "200", "hr-200", "usd/hr"},
      {"qv 80", "80", "qv 80", "usd/qv"},
      {"1hr $200", "200", "1hr $200", "usd/hr"},
      // Regression: a zero-width space inside the amount gave "$3".
      {"$3\u200b00 for an hour", "300", "$3\u200b00 for an hour", "usd/hr"},
      // Regression: spaced digits gave "$ 1".
      {"$ 1 5 0  H H!!", "150", "$ 1 5 0", "usd/"},
  };
  for (const Row& row : rows) CheckPositive(EntityType::kPrice, row);
}

TEST_CASE("prices: a price table yields one price per pair", "[entity][price]") {
  const std::string text = "hh 120 h 200";
  const auto prices = OfType(Extract(text), EntityType::kPrice);
  INFO(Describe(prices));
  REQUIRE(prices.size() == 2);
  CHECK(prices[0].value == "120");
  CHECK(prices[0].duration == "hh");
  CHECK(prices[1].value == "200");
  CHECK(prices[1].duration == "hr");
  CHECK(text.substr(prices[1].start, prices[1].end - prices[1].start) == "h 200");
}

TEST_CASE("prices: bare numbers, phones, ages and times are not prices", "[entity][price]") {
  const std::string_view rows[] = {
      "call 702-555-0147",
      "19 yo",
      "I have 200 photos",
      "available 24/7",
      "open 10-22 hours",
      "2 hours 30 minutes",
      "room 150",
      "7025550147",
      "100% real",
      "hours 9am-5pm",
      "$ only",
      "20 min away",
      "hh 5",
      "hr 30 days",
      "$7025550147",
      "hh 702 555 0147",
      // Regression: a phone with rose separators read as rose prices.
      "Call 5🌹0🌹3🌹5🌹5🌹5🌹0🌹1🌹7🌹6.",
      "7💕0💕2 555 0147 roses",
  };
  for (std::string_view text : rows) CheckNegative(EntityType::kPrice, text);
}

// ---------------------------------------------------------------------------

TEST_CASE("ages: stated ages", "[entity][age]") {
  const Row rows[] = {
      {"19 yo", "19", "19 yo", ""},
      {"sweet 19yo", "19", "19yo", ""},
      {"19 y/o", "19", "19 y/o", ""},
      {"19 years old", "19", "19 years old", ""},
      {"age 21", "21", "age 21", ""},
      {"age: 21", "21", "age: 21", ""},
      {"I'm 22 and ready", "22", "I'm 22", ""},
      {"im 19", "19", "im 19", ""},
      {"21 yrs", "21", "21 yrs", ""},
      {"a 19-year-old", "19", "19-year-old", ""},
      {"I’m 23", "23", "I’m 23", ""},
      {"I am 24", "24", "I am 24", ""},
      {"Aged 25.", "25", "Aged 25", ""},
      {"17 yo", "17", "17 yo", ""},  // under 18: kept for investigators
      {"19 y.o. girl", "19", "19 y.o.", ""},
      {"age is 30", "30", "age is 30", ""},
      {"22yrs old", "22", "22yrs old", ""},
      {"im 20 yo", "20", "im 20 yo", ""},
      {"Im 19 years young", "19", "Im 19 years young", ""},
  };
  for (const Row& row : rows) CheckPositive(EntityType::kAge, row);
}

TEST_CASE("ages: numbers without a stated-age cue are not ages", "[entity][age]") {
  const std::string_view rows[] = {
      "19",
      "I'm 5'4",
      "im 100% real",
      "9 yo",
      "120 years old",
      "I'm 25 miles away",
      "im 30 min away",
      "5 yrs experience",
      "20 yrs experience",
      "age 18-25",
      "I'm 24/7 available",
      "im 702 555 0147",
      "19 years",
  };
  for (std::string_view text : rows) CheckNegative(EntityType::kAge, text);
}

// ---------------------------------------------------------------------------

TEST_CASE("a whole ad: sorted, disjoint, one entity per thing", "[entity]") {
  const std::string ad =
      "NEW in town 🌹 Lexi, 21 yo, 100% real. hh 120 h 200, overnight 1000. "
      "kik: lexi_99 / snap @lexi.99 / lexi99 at example dot com / example.com/lexi "
      "call 702-555-0147";
  const auto all = Extract(ad);
  INFO(Describe(all));
  for (size_t i = 1; i < all.size(); ++i) {
    CHECK(all[i - 1].start <= all[i].start);
    CHECK(all[i - 1].end <= all[i].start);
  }
  CHECK(OfType(all, EntityType::kAge).size() == 1);
  CHECK(OfType(all, EntityType::kPrice).size() == 3);
  CHECK(OfType(all, EntityType::kHandle).size() == 2);
  CHECK(OfType(all, EntityType::kEmail).size() == 1);
  CHECK(OfType(all, EntityType::kUrl).size() == 1);
  CHECK(OfType(all, EntityType::kPhone).empty());
}

// Builds ads from neutral filler and planted entities whose type, value and
// span are known, and checks the extractor finds exactly the planted ones.
// Planted phones must yield nothing.
TEST_CASE("planted entities in generated ads are found exactly", "[entity][generated]") {
  struct Planted {
    EntityType type;
    std::string text;
    std::string value;
  };
  std::mt19937_64 rng(7);
  auto pick = [&](std::initializer_list<const char*> items) {
    return std::string(items.begin()[rng() % items.size()]);
  };
  auto num = [&](int lo, int hi) { return lo + static_cast<int>(rng() % (hi - lo + 1)); };
  auto plant = [&]() -> Planted {
    const std::string name =
        pick({"lexi", "candy", "rosie", "mia", "Jade"}) + std::to_string(num(10, 99));
    const std::string lname = [&] {
      std::string l = name;
      for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return l;
    }();
    const std::string domain = pick({"example", "mailbox", "sample"});
    const std::string tld = pick({"com", "net", "org"});
    const int amount = num(8, 60) * 10;
    switch (rng() % 9) {
      case 0:
        return {EntityType::kEmail, name + "@" + domain + "." + tld,
                lname + "@" + domain + "." + tld};
      case 1: {
        const std::string at = pick({" at ", " (at) ", "[at]", " @ "});
        const std::string dot = pick({" dot ", " (dot) ", "[dot]", "."});
        return {EntityType::kEmail, name + at + domain + dot + tld,
                lname + "@" + domain + "." + tld};
      }
      case 2: {
        const std::string path = "/" + name;
        const std::string prefix = pick({"https://", "www.", ""});
        const std::string host = (prefix == "www." ? "www." : "") + domain + "." + tld;
        const std::string scheme = prefix == "https://" ? "https://" : "";
        return {EntityType::kUrl, prefix + domain + "." + tld + path, scheme + host + path};
      }
      case 3: {
        const std::string cue = pick({"kik: ", "snap @", "IG - ", "telegram @", "snapchat: "});
        const std::string platform = cue[0] == 'k'   ? "kik"
                                     : cue[0] == 's' ? "snap"
                                     : cue[0] == 'I' ? "instagram"
                                                     : "telegram";
        return {EntityType::kHandle, cue + name, platform + ":" + lname};
      }
      case 4:
        return {EntityType::kPrice, "$" + std::to_string(amount) + pick({"", " hr", "/hh"}),
                std::to_string(amount)};
      case 5:
        return {EntityType::kPrice,
                std::to_string(amount) + pick({" roses", " roses/hr", "/hr", " donation"}),
                std::to_string(amount)};
      case 6:
        return {EntityType::kPrice,
                pick({"hh ", "overnight ", "2hrs ", "🌹🌹 "}) + std::to_string(amount),
                std::to_string(amount)};
      case 7: {
        const int age = num(16, 45);
        return {EntityType::kAge, pick({"age ", "age: ", "I'm ", "im "}) + std::to_string(age),
                std::to_string(age)};
      }
      default: {
        // A phone: never this extractor's.
        const std::string digits =
            std::to_string(num(201, 989)) + "-555-01" + std::to_string(num(10, 99));
        return {EntityType::kPhone, pick({"call ", "text "}) + digits, ""};
      }
    }
  };
  const char* const kFiller[] = {
      "hello",   "gentlemen", "ready",    "to",      "play", "relax", "discreet",
      "tonight", "classy",    "downtown", "only",    "and",  "with",  "sweet",
      "new",     "pics",      "friendly", "upscale", "come", "see",   "me"};
  const char* const kSeparators[] = {" ", ", ", ". ", "!! ", "\n", " 💕 "};
  for (int ad = 0; ad < 400; ++ad) {
    std::string text;
    std::vector<Entity> expected;
    const int parts = num(1, 6);
    for (int k = 0; k < parts; ++k) {
      text += kFiller[rng() % std::size(kFiller)];
      text += kSeparators[rng() % std::size(kSeparators)];
      const Planted p = plant();
      if (p.type != EntityType::kPhone) {
        Entity e;
        e.type = p.type;
        e.value = p.value;
        e.start = static_cast<uint32_t>(text.size());
        e.end = static_cast<uint32_t>(text.size() + p.text.size());
        expected.push_back(e);
      }
      text += p.text;
      text += kSeparators[rng() % std::size(kSeparators)];
    }
    text += kFiller[rng() % std::size(kFiller)];
    const std::vector<Entity> got = Extract(text);
    INFO("text: " << text);
    INFO("got: " << Describe(got));
    INFO("expected: " << Describe(expected));
    REQUIRE(got.size() == expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].type == expected[i].type);
      CHECK(got[i].value == expected[i].value);
      CHECK(got[i].start == expected[i].start);
      CHECK(got[i].end == expected[i].end);
    }
  }
}

// The scan visits word starts from masks of 64-byte blocks and passes over
// plain words in a tight loop; what stands before an entity, at any offset
// across block boundaries, must not change what is found.
TEST_CASE("the same entities at every offset", "[entity]") {
  const char* const kFragments[] = {
      "mail lexi99@example.com now",
      "lexi99 at example dot com please",
      "visit www.example.com/lexi. or example.com:8080/x",
      "http://t.me/lexi_99 and telegram: lexi_99",
      "kik: lexi_99 snap lexi.x",
      "$150/hh 200 roses hr, hh 120, 2hrs 400",
      "I'm 23 yo, age: 21, 19 years old",
      "inquiries only: serious. firm 5.5k done",
      "call 702-555-0147 ok 99.99 usd",
      "\xF0\x9F\x8C\xB9\xF0\x9F\x8C\xB9 150 overnight",
  };
  for (const char* fragment : kFragments) {
    const std::vector<Entity> alone = Extract(fragment);
    for (size_t pad = 1; pad <= 140; ++pad) {
      for (const std::string& prefix : {std::string(pad, ' '), std::string(pad - 1, 'q') + " "}) {
        const std::string text = prefix + fragment;
        INFO("pad " << pad << ": " << text);
        const std::vector<Entity> shifted = Extract(text);
        INFO("alone: " << Describe(alone) << " shifted: " << Describe(shifted));
        REQUIRE(shifted.size() == alone.size());
        for (size_t k = 0; k < alone.size(); ++k) {
          CHECK(shifted[k].type == alone[k].type);
          CHECK(shifted[k].value == alone[k].value);
          CHECK(shifted[k].start == alone[k].start + pad);
          CHECK(shifted[k].end == alone[k].end + pad);
          CHECK(shifted[k].unit == alone[k].unit);
          CHECK(shifted[k].duration == alone[k].duration);
        }
      }
    }
  }
}

TEST_CASE("appends to existing output and keeps it", "[entity]") {
  static const EntityExtractor extractor;
  std::vector<Entity> out(1);
  out[0].value = "+17025550147";
  extractor.Extract("age 21", &out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].value == "+17025550147");
  CHECK(out[1].type == EntityType::kAge);
  extractor.Extract("age 21", nullptr);  // no crash
}

TEST_CASE("random bytes: no crash, spans in range and disjoint", "[entity][robustness]") {
  std::mt19937_64 rng(20240517);
  // Biased alphabet so triggers and separators meet often.
  const std::string_view pieces[] = {
      "@",   ".",    "$",    " ",   "at",       "dot",   "kik",   ":",    "hh",   "19",  "yo",
      "🌹",   "\xF0", "\xC2", "age", "www",      "/",     "com",   "-",    "http", "://", "im",
      "200", "(",    ")",    "x",   "\xE2\x80", "roses", "1,000", "snap", "0"};
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const size_t parts = rng() % 60;
    for (size_t i = 0; i < parts; ++i) {
      if (rng() % 4 == 0) {
        text.push_back(static_cast<char>(rng() & 0xFF));
      } else {
        text += pieces[rng() % std::size(pieces)];
      }
    }
    const auto all = Extract(text);
    for (size_t i = 0; i < all.size(); ++i) {
      REQUIRE(all[i].start < all[i].end);
      REQUIRE(all[i].end <= text.size());
      REQUIRE(!all[i].value.empty());
      if (i > 0) REQUIRE(all[i - 1].end <= all[i].start);
    }
  }
}

TEST_CASE("long runs do not slow to a crawl or overflow", "[entity][robustness]") {
  // A long digit-and-separator group and a long label run are read once.
  std::string digits;
  for (int i = 0; i < 20000; ++i) digits += "5 ";
  CHECK(OfType(Extract(digits), EntityType::kPrice).empty());
  std::string labels;
  for (int i = 0; i < 5000; ++i) labels += "ab.";
  labels += "com";
  CHECK(Extract(labels).size() <= 1);
  const std::string nul("age\0 21", 7);
  CHECK(Extract(nul).empty());
}

}  // namespace
}  // namespace vigil::scanner
