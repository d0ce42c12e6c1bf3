// entity_bench: throughput of EntityExtractor::Extract on synthetic ads,
// with a same-run baseline (one pass that counts '@', '.', '$' and digits,
// the least any extractor must read).
//
//   corpus   ads from bench/corpus.h (CorpusGenerator, seed 1), ~600 bytes
//            typical, with prices, handles, emails and phone numbers;
//   dense    the same ads with an entity-rich tail appended (every entity
//            type, spelled-out email, price table), the worst usual case;
//   prose    ordinary classified prose with no entities at all.
//
// With --instructions it makes one counted pass for callgrind instead.
// Everything is generated from fixed seeds. Each corpus is extracted
// repeatedly for about a third of a second of this thread's CPU time; MB/s
// counts input bytes per CPU second (one core). Not a test: timing decides
// nothing.
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "bench/corpus.h"
#include "bench/instructions.h"
#include "scanner/entity_extractor.h"

namespace {

using vigil::scanner::Entity;
using vigil::scanner::EntityExtractor;

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
  static const char* const kTails[] = {
      " Lexi 21 yo. hh 120 h 200 overnight 1000. kik: lexi_99, snap @lexi.99, "
      "lexi99 at example dot com, example.com/lexi, 702-555-0147",
      " age: 23. $150 hr / 250 roses/hr. IG - mia_0190. mia0190@example.net. t.me/mia0190",
      " im 22, 🌹🌹 150 hh, 300 for an hour, telegram @rosie0155, www.example.org/rosie",
  };
  static const char* const kProse[] = {
      "Dental clinic new to the neighbourhood, accepting new patients every weekday morning. ",
      "Fresh seafood market open on the weekend with oysters, crab and local fish for sale. ",
      "Certified physiotherapist offering sports massage for runners and cyclists nearby. ",
      "Young professionals networking night at the library with free entry and snacks. ",
      "Moving company on tour across three states, book your slot early to avoid delays. ",
  };
  for (int i = 0; i < 4000; ++i) {
    std::string text;
    if (mode == 2) {
      for (int k = 0; k < 7; ++k) text += kProse[(i + k) % 5];
    } else {
      text = gen.Next().text;
      if (mode == 1) text += kTails[i % 3];
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
  return static_cast<double>(bytes) / (now - start);
}



}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "--instructions") {
    const EntityExtractor extractor;
    std::vector<Entity> out;
    return vigil::bench::CountInstructions([&](const std::string& ad) {
      out.clear();
      extractor.Extract(ad, &out);
    });
  }
  const EntityExtractor extractor;
  size_t sink = 0;
  std::vector<Entity> out;
  std::printf("%-8s %7s %9s %12s %12s %6s\n", "corpus", "ads", "avg_B", "extract_MB/s",
              "baseline_MB/s", "ratio");
  for (int mode = 0; mode < 3; ++mode) {
    static const char* const kNames[] = {"corpus", "dense", "prose"};
    const Corpus c = MakeCorpus(kNames[mode], mode);
    size_t entities = 0;
    for (const std::string& ad : c.ads) {
      out.clear();
      extractor.Extract(ad, &out);
      entities += out.size();
    }
    const double baseline = Measure(
        c, 0.1,
        [](const std::string& ad) {
          size_t n = 0;
          for (unsigned char ch : ad) {
            n += ch == '@' || ch == '.' || ch == '$' || (ch >= '0' && ch <= '9');
          }
          return n;
        },
        &sink);
    const double extract = Measure(
        c, 0.33,
        [&](const std::string& ad) {
          out.clear();
          extractor.Extract(ad, &out);
          return out.size();
        },
        &sink);
    std::printf("%-8s %7zu %9.0f %12.1f %12.1f %6.2f   (%zu entities)\n", c.name, c.ads.size(),
                static_cast<double>(c.bytes) / static_cast<double>(c.ads.size()), extract / 1e6,
                baseline / 1e6, extract / baseline, entities);
  }
  std::fprintf(stderr, "checksum %zu\n", sink);
  return 0;
}
