// normalize_bench: throughput of Normalizer::Normalize on four synthetic
// corpora, with a same-run baseline: the general path alone
// (Options::ascii_fast_path = false), i.e. what the ASCII fast path buys.
//
//   ascii    ~600-byte ads in sentences: mixed-case ASCII words, commas and
//            full stops, prices, phone numbers, "I'm", "100%", as most ads
//            are;
//   dense    word salad with punctuation between most words (" * ", " :) ",
//            " / "): a hard case for the fast path;
//   unicode  the dense ads with most words disguised: fullwidth letters,
//            Cyrillic look-alikes, accents, emoji, invisible characters,
//            leetspeak, spaced letters;
//   corpus   ads from bench/corpus.h (CorpusGenerator, seed 1).
//
// With --instructions it makes one counted pass for callgrind instead.
// Everything is generated from fixed seeds. Each corpus is normalised
// repeatedly for about a quarter of a second of this thread's CPU time; MB/s
// counts input bytes per CPU second (one core). Not a test: timing decides
// nothing.
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/corpus.h"
#include "bench/instructions.h"
#include "scanner/normalize.h"

namespace {

using vigil::scanner::NormalizedText;
using vigil::scanner::Normalizer;

const char* const kWords[] = {
    "Hello", "gentlemen", "I", "am", "new", "in", "town", "and", "ready", "to", "play",
    "sweet", "young", "fresh", "Available", "NOW", "incall", "outcall", "Call", "or", "text",
    "me", "for", "a", "good", "time", "no", "rush", "100%", "real", "pics", "roses", "hh",
    "hr", "special", "tonight", "only", "Discreet", "friendly", "classy", "Downtown", "hotel",
    "visiting", "this", "week", "ask", "about", "my", "rates", "GFE", "the", "best", "YOU",
    "deserve", "relax", "with", "me", "BEAUTIFUL", "petite", "blonde", "party", "girl"};
const char* const kPunct[] = {" ", " ", " ", " ", " ", ", ", ". ", "! ", "!! ", " - ", "... ",
                              " :) ", " * ", "\n", " ~ ", " / "};

// Disguises of one ASCII word in the unicode corpus.
std::string Fullwidth(const std::string& w) {
  std::string out;
  for (char c : w) {
    if (c >= '!' && c <= '~') {
      const uint32_t cp = 0xFF01 + static_cast<uint32_t>(c - '!');
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += c;
    }
  }
  return out;
}

std::string Lookalike(const std::string& w) {
  std::string out;
  for (char c : w) {
    switch (c) {
      case 'a': out += "\xd0\xb0"; break;  // Cyrillic а
      case 'e': out += "\xd0\xb5"; break;
      case 'o': out += "\xce\xbf"; break;  // Greek ο
      case 'c': out += "\xd1\x81"; break;
      case 'p': out += "\xd1\x80"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Invisible(const std::string& w) {
  std::string out;
  for (size_t i = 0; i < w.size(); ++i) {
    out += w[i];
    if (i + 1 < w.size()) out += "\xe2\x80\x8b";  // ZWSP
  }
  return out;
}

std::string Spaced(const std::string& w) {
  std::string out;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i > 0) out += '.';
    out += w[i];
  }
  return out;
}

std::string Leet(const std::string& w) {
  std::string out = w;
  for (size_t i = 1; i + 1 < out.size(); ++i) {
    if (out[i] == 'o') out[i] = '0';
    if (out[i] == 'e') out[i] = '3';
  }
  return out;
}

const char* const kEmoji[] = {"\xf0\x9f\x8c\xb9", "\xf0\x9f\x8d\x92", "\xf0\x9f\x92\x97",
                              "\xf0\x9f\x91\x91", "\xe2\x9c\x88\xef\xb8\x8f", "\xf0\x9f\x92\x8b"};

std::string MakeAd(std::mt19937& rng, bool disguise) {
  std::uniform_int_distribution<size_t> word(0, std::size(kWords) - 1);
  std::uniform_int_distribution<size_t> punct(0, std::size(kPunct) - 1);
  std::uniform_int_distribution<int> percent(0, 99);
  std::string ad;
  while (ad.size() < 600) {
    std::string w = kWords[word(rng)];
    if (disguise) {
      const int r = percent(rng);
      if (r < 12) w = Fullwidth(w);
      else if (r < 24) w = Lookalike(w);
      else if (r < 32) w = Invisible(w);
      else if (r < 40) w = Spaced(w);
      else if (r < 50) w = Leet(w);
      else if (r < 58) w += kEmoji[static_cast<size_t>(r) % std::size(kEmoji)];
      else if (r < 64) w.insert(0, "caf\xc3\xa9 ");
    }
    ad += w;
    ad += kPunct[punct(rng)];
    if (percent(rng) < 3) {
      char phone[32];
      std::snprintf(phone, sizeof phone, "(702) 555-01%02d ", percent(rng));
      ad += phone;
    }
    if (percent(rng) < 3) {
      ad += '$';
      ad += std::to_string(100 + percent(rng) * 5);
      ad += ' ';
    }
  }
  return ad;
}

// CPU time of this thread: the machine is shared, and wall time would
// count the time other processes hold the core.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// An ad in sentences of 4 to 12 words.
std::string MakeSentenceAd(std::mt19937& rng) {
  std::uniform_int_distribution<size_t> word(0, std::size(kWords) - 1);
  std::uniform_int_distribution<int> percent(0, 99);
  std::uniform_int_distribution<int> sentence_length(4, 12);
  const char* const kEnds[] = {". ", ". ", ". ", "! ", "!! ", "... ", "\n"};
  std::string ad;
  while (ad.size() < 600) {
    const int words = sentence_length(rng);
    for (int i = 0; i < words; ++i) {
      std::string w = kWords[word(rng)];
      if (i == 0 && w[0] >= 'a' && w[0] <= 'z') w[0] = static_cast<char>(w[0] - 32);
      const int r = percent(rng);
      // Cleared and appended: assigning a literal here trips GCC 12's false
      // -Wrestrict warning.
      if (r < 4) w.clear();
      if (r < 2) {
        w.append("I'm");
      } else if (r < 3) {
        w.append("$");
        w.append(std::to_string(100 + percent(rng) * 5));
      } else if (r < 4) {
        w.append("(702) 555-01");
        w.append(std::to_string(10 + percent(rng) % 90));
      }
      ad += w;
      if (i + 1 < words) ad += percent(rng) < 12 ? ", " : " ";
    }
    ad += kEnds[static_cast<size_t>(percent(rng)) % std::size(kEnds)];
  }
  return ad;
}

template <typename Fn>
double MegabytesPerSecond(const std::vector<std::string>& ads, Fn fn) {
  size_t bytes_per_pass = 0;
  for (const std::string& ad : ads) bytes_per_pass += ad.size();
  for (const std::string& ad : ads) fn(ad);  // warm buffers and caches
  const double start = ThreadCpuSeconds();
  size_t bytes = 0;
  double seconds = 0;
  do {
    for (const std::string& ad : ads) fn(ad);
    bytes += bytes_per_pass;
    seconds = ThreadCpuSeconds() - start;
  } while (seconds < 0.25);
  return static_cast<double>(bytes) / seconds / 1e6;
}



}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "--instructions") {
    const Normalizer normalizer;
    NormalizedText out;
    return vigil::bench::CountInstructions([&](const std::string& ad) { normalizer.Normalize(ad, &out); });
  }
  std::mt19937 rng(42);
  std::vector<std::string> ascii, dense, unicode, corpus;
  for (int i = 0; i < 500; ++i) ascii.push_back(MakeSentenceAd(rng));
  for (int i = 0; i < 500; ++i) dense.push_back(MakeAd(rng, false));
  for (int i = 0; i < 500; ++i) unicode.push_back(MakeAd(rng, true));
  vigil::bench::CorpusGenerator generator(1);
  for (int i = 0; i < 500; ++i) corpus.push_back(generator.Next().text);

  const Normalizer normalizer;
  Normalizer::Options general_options;
  general_options.ascii_fast_path = false;
  const Normalizer general(general_options);
  NormalizedText out;
  size_t sink = 0;
  auto normalize = [&](const std::string& ad) {
    normalizer.Normalize(ad, &out);
    sink += out.text.size();
  };
  auto general_path = [&](const std::string& ad) {
    general.Normalize(ad, &out);
    sink += out.text.size();
  };

  std::printf("MB/s per CPU second   normalize   general path only\n");
  for (const auto& [name, ads] : {std::pair<const char*, const std::vector<std::string>*>{"ascii", &ascii},
                                  {"dense", &dense},
                                  {"unicode", &unicode},
                                  {"corpus", &corpus}}) {
    const double n = MegabytesPerSecond(*ads, normalize);
    const double g = MegabytesPerSecond(*ads, general_path);
    std::printf("%-8s %21.0f %11.0f   (fast path x%.2f)\n", name, n, g, n / g);
  }
  std::printf("(%zu bytes written)\n", sink);
  return 0;
}
