// phone_bench: throughput of PhoneExtractor::Extract on synthetic ads, with
// a same-run baseline (one pass counting ASCII digits, the least any phone
// extractor must read).
//
//   corpus   ads from bench/corpus.h (CorpusGenerator, seed 1), ~600 bytes
//            typical, one phone each in one of nine styles (plain, digit
//            words, mixed, spaced, letters for digits, leet, emoji);
//   plain    ordinary prose with one plainly written phone per ad;
//   prose    ordinary prose with no digits at all.
//
// Everything is generated from fixed seeds; phones are in the fictional
// NXX-555-01XX range. "cold" is the first pass over the corpus with a new
// extractor (libphonenumber is asked about every new 7-digit prefix);
// the other figures repeat passes for about a third of a second of this
// thread's CPU time. MB/s counts input bytes per CPU second (one core).
// With --instructions it makes one counted pass for callgrind instead.
// Not a test: timing decides nothing.
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "bench/corpus.h"
#include "bench/instructions.h"
#include "scanner/phone_extractor.h"

namespace {

using vigil::scanner::Entity;
using vigil::scanner::PhoneExtractor;

double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Corpus {
  const char* name;
  std::vector<std::string> ads;
  size_t bytes = 0;
};

Corpus MakeCorpus(const char* name, int mode) {
  Corpus c{name, {}, 0};
  vigil::bench::CorpusGenerator gen(1);
  static const char* const kProse[] = {
      "Dental clinic new to the neighbourhood, accepting new patients every weekday morning. ",
      "Fresh seafood market open on the weekend with oysters, crab and local fish for sale. ",
      "Certified physiotherapist offering sports massage for runners and cyclists nearby. ",
      "Young professionals networking night at the library with free entry and snacks. ",
      "Moving company on tour across three states, book your slot early to avoid delays. ",
  };
  static const char* const kAreaCodes[] = {"702", "212", "617", "305", "415", "713", "312", "404"};
  for (int i = 0; i < 4000; ++i) {
    std::string text;
    if (mode == 0) {
      text = gen.Next().text;
    } else {
      for (int k = 0; k < 7; ++k) {
        text += kProse[(i + k) % 5];
        if (mode == 1 && k == 3) {
          text += "Call (" + std::string(kAreaCodes[i % 8]) + ") 555-01" + std::to_string(10 + i % 90) + ". ";
        }
      }
    }
    c.bytes += text.size();
    c.ads.push_back(std::move(text));
  }
  return c;
}

// Bytes per CPU second of `pass` over the corpus, repeated for ~budget s.
template <typename Pass>
double Measure(const Corpus& c, double budget, Pass pass, size_t* sink) {
  size_t bytes = 0;
  const double start = ThreadSeconds();
  double now = start;
  while (now - start < budget) {
    for (const std::string& ad : c.ads) *sink += pass(ad);
    bytes += c.bytes;
    now = ThreadSeconds();
  }
  return static_cast<double>(bytes) / (now - start) / 1e6;
}

size_t CountDigits(const std::string& text) {
  size_t n = 0;
  for (char ch : text) n += (ch >= '0' && ch <= '9');
  return n;
}



}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "--instructions") {
    PhoneExtractor extractor;
    std::vector<Entity> out;
    return vigil::bench::CountInstructions([&](const std::string& ad) {
      out.clear();
      extractor.Extract(ad, &out);
    });
  }
  const Corpus corpora[] = {MakeCorpus("corpus", 0), MakeCorpus("plain", 1), MakeCorpus("prose", 2)};
  size_t sink = 0;
  std::vector<Entity> out;

  {
    PhoneExtractor cold;
    size_t phones = 0;
    const double start = ThreadSeconds();
    for (const std::string& ad : corpora[0].ads) {
      out.clear();
      cold.Extract(ad, &out);
      phones += out.size();
    }
    const double seconds = ThreadSeconds() - start;
    std::printf("%-8s cold first pass: %8.1f MB/s  (%zu ads, %zu phones, new extractor)\n", corpora[0].name,
                static_cast<double>(corpora[0].bytes) / seconds / 1e6, corpora[0].ads.size(), phones);
  }

  PhoneExtractor extractor;
  for (const Corpus& c : corpora) {
    size_t phones = 0;
    for (const std::string& ad : c.ads) {  // warm the verdict caches
      out.clear();
      extractor.Extract(ad, &out);
      phones += out.size();
    }
    const double base = Measure(c, 0.33, CountDigits, &sink);
    const double mbps = Measure(
        c, 0.33,
        [&](const std::string& ad) {
          out.clear();
          extractor.Extract(ad, &out);
          return out.size();
        },
        &sink);
    std::printf("%-8s %8.1f MB/s  baseline(count digits) %8.1f MB/s  ratio %.2f  (%zu ads, %.0f B/ad, %zu phones)\n",
                c.name, mbps, base, mbps / base, c.ads.size(),
                static_cast<double>(c.bytes) / static_cast<double>(c.ads.size()), phones);
  }
  return sink == 0 ? 1 : 0;
}
