#include "bench/corpus.h"

#include <fmt/format.h>

namespace vigil::bench {

namespace {

const char* const kCities[] = {"Las Vegas", "Phoenix", "Denver",   "Dallas",    "Houston",  "Atlanta",
                               "Miami",     "Chicago", "Seattle",  "Portland",  "Boston",   "Newark",
                               "Orlando",   "Tampa",   "San Diego", "Sacramento", "Reno",   "Salt Lake City"};
const char* const kAreaCodes[] = {"702", "602", "303", "214", "713", "404", "305", "312", "206",
                                  "503", "617", "973", "407", "813", "619", "916", "775", "801"};

const char* const kDigitWords[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
const char* const kLeetDigitWords[] = {"zer0", "0ne", "tw0", "thr33", "f0ur", "f1ve", "s1x", "sev3n", "eight", "n1ne"};

const char* const kYouth[] = {"sweet and young", "petite little thing", "barely legal", "fresh and innocent",
                              "new to this", "teen 🍒", "schoolgirl outfit", "daddy's girl", "y0ung and tight",
                              "18 and fresh"};
const char* const kTrust[] = {"100% real pics", "real pictures, no games", "not a cop", "legit and verified",
                              "safe and discreet", "genuine provider", "no fake photos", "upscale and professional"};
const char* const kMovement[] = {"new in town", "just arrived", "leaving soon", "visiting this week only",
                                 "on tour", "in town till sunday", "✈️ just landed", "last days here"};
const char* const kForeign[] = {"sexy Asian", "exotic Latina", "Thai beauty", "Korean doll", "Russian blonde",
                                "island girl", "no English", "just arrived from Bangkok"};
const char* const kThirdPerson[] = {"she is available now", "she will make you happy", "book her today",
                                    "call to see her", "she does everything"};
const char* const kRestricted[] = {"incall only", "no outcall", "available 24/7", "call my manager",
                                   "my driver drops me off", "👑 daddy approved"};
const char* const kRisky[] = {"bareback ok", "bbfs", "no condom", "anything goes", "no limits",
                              "🌹🌹 200 hh", "greek available"};
const char* const kMultiple[] = {"2 girls available", "new girls every week", "ask about my friends",
                                 "different girls daily", "two girl special"};
const char* const kPrices[] = {"$150 hh", "200 roses/hr", "$300 for an hour", "hh 120 h 200", "250 donation",
                               "overnight 1000"};
const char* const kHandles[] = {"kik: candy_0147", "snap @lexi.0122", "telegram @rosie0155", "IG - mia_0190",
                                "add my sc lexi0133"};
const char* const kEmails[] = {"candy0147 at mailbox dot com", "lexi0122@mailbox.com",
                               "rosie0155 (at) mailbox (dot) com"};

const char* const kMassage[] = {"relaxing full body massage", "table shower", "hot stone and deep tissue",
                                "soft hands, private rooms", "walk-ins welcome", "VIP room available",
                                "Asian staff", "new girls", "open late every night", "clean and quiet spa"};

const char* const kRecruit[] = {"work abroad in hospitality", "visa and airfare paid", "housing provided",
                                "no experience needed", "no interview", "urgent hiring", "young women only",
                                "fees repaid from wages", "employer keeps passport for safety",
                                "earn $5000 a month"};
const char* const kLegitJob[] = {"university hiring researchers", "visa sponsorship and a written contract",
                                 "competitive salary and benefits", "apply with CV and references",
                                 "interviews held online", "equal opportunity employer",
                                 "two years of experience required", "relocation assistance available"};

const char* const kClassified[] = {
    "Dental clinic new to the neighbourhood, accepting new patients.",
    "Young professionals networking night at the library, free entry.",
    "Fresh seafood market open Saturday, oysters and crab.",
    "Certified physiotherapist offering sports massage for runners.",
    "Moving company on tour across three states, book your slot.",
    "Selling a used sofa, great condition, pick up only.",
    "2015 sedan for sale, low mileage, new tires.",
    "Piano lessons for all ages, first lesson free.",
    "Garage sale this weekend, tools and books.",
    "Lost cat, grey with white paws, reward offered.",
    "Apartment for rent near the park, two bedrooms.",
    "Fresh bread and produce at the farmers market.",
    "Dog walker available weekdays, references on request.",
    "Yoga class for beginners, bring your own mat."};
const char* const kFiller[] = {
    "Message for details.", "Serious inquiries only.", "Available most evenings.",
    "Clean, quiet location with parking.", "Call or text anytime.", "Prices are firm.",
    "See photos for more.", "Thanks for looking.", "Open to questions.", "Located near downtown."};

// Unicode look-alikes and spacing tricks applied to a phrase.
const char* const kFullwidth[] = {"ａ", "ｂ", "ｃ", "ｄ", "ｅ", "ｆ", "ｇ", "ｈ", "ｉ", "ｊ", "ｋ", "ｌ", "ｍ",
                                  "ｎ", "ｏ", "ｐ", "ｑ", "ｒ", "ｓ", "ｔ", "ｕ", "ｖ", "ｗ", "ｘ", "ｙ", "ｚ"};

void AppendJsonString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      default:
        if (c < 0x20) {
          out->append(fmt::format("\\u{:04x}", c));
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

CorpusGenerator::CorpusGenerator(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 0x1234567ull) {
  for (int i = 0; i < 400; ++i) {
    std::string area = kAreaCodes[Pick(std::size(kAreaCodes))];
    advertiser_phones_.push_back(fmt::format("{}5550{:03}", area, 100 + Pick(100)));
  }
}

uint64_t CorpusGenerator::NextRandom() {
  // xorshift64*
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return state_ * 2685821657736338717ull;
}

std::string CorpusGenerator::Phone(std::string* e164, bool* obfuscated) {
  // Mostly advertiser phones (reused), sometimes a fresh one.
  std::string digits = Chance(80) ? advertiser_phones_[Pick(advertiser_phones_.size())]
                                  : fmt::format("{}5550{:03}", kAreaCodes[Pick(std::size(kAreaCodes))], 100 + Pick(100));
  *e164 = "+1" + digits;
  std::string a = digits.substr(0, 3), b = digits.substr(3, 3), c = digits.substr(6);
  *obfuscated = true;
  switch (Pick(9)) {
    case 0: *obfuscated = false; return fmt::format("({}) {}-{}", a, b, c);
    case 1: *obfuscated = false; return fmt::format("{}.{}.{}", a, b, c);
    case 2: *obfuscated = false; return fmt::format("{}-{}-{}", a, b, c);
    case 3: {  // every digit as a word
      std::string out;
      for (char d : digits) {
        if (!out.empty()) out.push_back(' ');
        out += kDigitWords[d - '0'];
      }
      return out;
    }
    case 4: {  // mixed digits and words
      std::string out;
      for (size_t i = 0; i < digits.size(); ++i) {
        if (i == 3 || i == 6) out.push_back(' ');
        if (i % 3 == 1) {
          out += kDigitWords[digits[i] - '0'];
        } else {
          out.push_back(digits[i]);
        }
      }
      return out;
    }
    case 5: {  // separators between every digit
      std::string out;
      for (size_t i = 0; i < digits.size(); ++i) {
        if (i) out += " ";
        out.push_back(digits[i]);
      }
      return out;
    }
    case 6: {  // letters for digits
      std::string out = fmt::format("{}-{}-{}", a, b, c);
      for (char& ch : out) {
        if (ch == '0') ch = 'O';
        else if (ch == '1') ch = 'l';
      }
      return out;
    }
    case 7: {  // leet digit words inside digit groups
      std::string out = a + " " + b + " ";
      for (char d : c) out += kLeetDigitWords[d - '0'];
      return out;
    }
    default: {  // emoji between digits
      std::string out;
      for (size_t i = 0; i < digits.size(); ++i) {
        if (i) out += "🌹";
        out.push_back(digits[i]);
      }
      return out;
    }
  }
}

std::string CorpusGenerator::Trick(const std::string& phrase) {
  // The tricks below rewrite byte by byte: keep phrases with emoji intact.
  for (char c : phrase) {
    if (static_cast<unsigned char>(c) >= 0x80) return phrase;
  }
  switch (Pick(10)) {
    case 0: {  // spaced capitals
      std::string out;
      for (char c : phrase) {
        if (c == ' ') {
          out += "  ";
        } else {
          if (!out.empty() && out.back() != ' ') out.push_back(' ');
          out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        }
      }
      return out;
    }
    case 1: {  // fullwidth letters
      std::string out;
      for (char c : phrase) {
        if (c >= 'a' && c <= 'z') {
          out += kFullwidth[c - 'a'];
        } else {
          out.push_back(c);
        }
      }
      return out;
    }
    case 2: {  // zero-width spaces inside words
      std::string out;
      for (size_t i = 0; i < phrase.size(); ++i) {
        out.push_back(phrase[i]);
        // Only between ASCII letters, never inside a multi-byte character.
        unsigned char c = static_cast<unsigned char>(phrase[i]);
        unsigned char next = i + 1 < phrase.size() ? static_cast<unsigned char>(phrase[i + 1]) : 0;
        if (i % 3 == 1 && std::isalpha(c) && next < 0x80 && std::isalpha(next)) out += "\u200b";
      }
      return out;
    }
    case 3: {  // Cyrillic look-alikes
      std::string out;
      for (char c : phrase) {
        if (c == 'a') out += "а";
        else if (c == 'e') out += "е";
        else if (c == 'o') out += "о";
        else out.push_back(c);
      }
      return out;
    }
    default:
      return phrase;
  }
}

void CorpusGenerator::Pad(std::string* text, size_t target) {
  while (text->size() < target) {
    text->append(" ");
    text->append(PickFrom(kFiller));
  }
}

std::string CorpusGenerator::EscortAd(GeneratedAd* ad) {
  std::string t;
  const char* openers[] = {"Hey guys! ", "Sweet treat 💋 ", "Hi gentlemen, ", "Ready to play? ", ""};
  t += PickFrom(openers);
  auto add = [&](const std::string& s) {
    t += Trick(s);
    t += Chance(50) ? ". " : "!! ";
  };
  if (Chance(55)) add(PickFrom(kYouth));
  if (Chance(50)) add(PickFrom(kTrust));
  if (Chance(45)) add(PickFrom(kMovement));
  if (Chance(35)) add(PickFrom(kForeign));
  if (Chance(25)) add(PickFrom(kThirdPerson));
  if (Chance(30)) add(PickFrom(kRestricted));
  if (Chance(25)) add(PickFrom(kRisky));
  if (Chance(15)) add(PickFrom(kMultiple));
  if (Chance(70)) add(PickFrom(kPrices));
  if (Chance(20)) add(PickFrom(kHandles));
  if (Chance(10)) add(PickFrom(kEmails));
  t += "Call ";
  t += Phone(&ad->phone_e164, &ad->phone_obfuscated);
  t += Chance(50) ? " 💕" : ".";
  Pad(&t, 420 + Pick(300));
  return t;
}

std::string CorpusGenerator::MassageAd(GeneratedAd* ad) {
  std::string t = PickFrom(kMassage);
  for (int i = 0; i < 3; ++i) {
    t += ". ";
    t += PickFrom(kMassage);
  }
  if (Chance(30)) t += ". " + std::string(PickFrom(kForeign));
  if (Chance(20)) t += ". " + std::string(PickFrom(kRestricted));
  t += ". Call ";
  t += Phone(&ad->phone_e164, &ad->phone_obfuscated);
  Pad(&t, 380 + Pick(300));
  return t;
}

std::string CorpusGenerator::JobAd(GeneratedAd* ad) {
  std::string t;
  if (Chance(50)) {
    t = "Great opportunity! ";
    for (int i = 0; i < 4; ++i) {
      t += PickFrom(kRecruit);
      t += ". ";
    }
  } else {
    t = "Now hiring. ";
    for (int i = 0; i < 4; ++i) {
      t += PickFrom(kLegitJob);
      t += ". ";
    }
  }
  if (Chance(60)) {
    t += "Contact ";
    t += Phone(&ad->phone_e164, &ad->phone_obfuscated);
  }
  Pad(&t, 450 + Pick(300));
  return t;
}

std::string CorpusGenerator::ClassifiedAd(GeneratedAd* ad) {
  std::string t = PickFrom(kClassified);
  if (Chance(50)) {
    t += " ";
    t += PickFrom(kClassified);
  }
  if (Chance(40)) {
    t += " Call ";
    std::string e164;
    bool obfuscated = false;
    // Ordinary ads write numbers plainly.
    std::string digits = fmt::format("{}5550{:03}", kAreaCodes[Pick(std::size(kAreaCodes))], 100 + Pick(100));
    t += fmt::format("{}-{}-{}", digits.substr(0, 3), digits.substr(3, 3), digits.substr(6));
    ad->phone_e164 = "+1" + digits;
    ad->phone_obfuscated = obfuscated;
  }
  if (Chance(30)) t += fmt::format(" Asking ${}.", 20 + Pick(900));
  Pad(&t, 350 + Pick(300));
  return t;
}

GeneratedAd CorpusGenerator::Next() {
  GeneratedAd ad;
  ++counter_;
  ad.id = fmt::format("ad-{:07}", counter_);
  size_t roll = Pick(100);
  if (roll < 40) {
    ad.kind = "escort";
    ad.text = EscortAd(&ad);
  } else if (roll < 55) {
    ad.kind = "massage";
    ad.text = MassageAd(&ad);
  } else if (roll < 70) {
    ad.kind = "job";
    ad.text = JobAd(&ad);
  } else {
    ad.kind = "classified";
    ad.text = ClassifiedAd(&ad);
  }
  ad.city = kCities[Pick(std::size(kCities))];
  // Spread over November 2026.
  uint64_t minute = Pick(30 * 24 * 60);
  ad.posted_at = fmt::format("2026-11-{:02}T{:02}:{:02}:00Z", 1 + minute / (24 * 60), (minute / 60) % 24, minute % 60);
  ad.source = ad.kind == "job" ? "jobs.example" : "classifieds.example";
  ad.url = fmt::format("https://{}/{}", ad.source, ad.id);
  return ad;
}

std::string CorpusGenerator::ToJsonLine(const GeneratedAd& ad) {
  std::string out = "{\"id\":";
  AppendJsonString(ad.id, &out);
  out += ",\"text\":";
  AppendJsonString(ad.text, &out);
  out += ",\"city\":";
  AppendJsonString(ad.city, &out);
  out += ",\"posted_at\":";
  AppendJsonString(ad.posted_at, &out);
  out += ",\"url\":";
  AppendJsonString(ad.url, &out);
  out += ",\"source\":";
  AppendJsonString(ad.source, &out);
  out += ",\"kind\":";
  AppendJsonString(ad.kind, &out);
  out += "}";
  return out;
}

}  // namespace vigil::bench
