// The --instructions mode shared by the stage benches (normalize_bench,
// phone_bench, entity_bench): one warm pass over 3,000 generated ads
// (seed 1), then one pass inside CountedPass, for a deterministic
// instructions-per-byte figure:
//   valgrind --tool=callgrind --toggle-collect='*CountedPass*' BENCH --instructions
// (the "Collected" count divided by the bytes printed).
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/corpus.h"

namespace vigil::bench {

template <typename Pass>
[[gnu::noinline]] void CountedPass(Pass& pass) {
  pass();
  asm volatile("");
}

template <typename PerAd>
int CountInstructions(PerAd per_ad) {
  CorpusGenerator gen(1);
  std::vector<std::string> ads;
  size_t bytes = 0;
  for (int i = 0; i < 3000; ++i) {
    ads.push_back(gen.Next().text);
    bytes += ads.back().size();
  }
  auto pass = [&] {
    for (const std::string& ad : ads) per_ad(ad);
  };
  pass();
  CountedPass(pass);
  std::printf("bytes %zu in %zu ads\n", bytes, ads.size());
  return 0;
}

}  // namespace vigil::bench
