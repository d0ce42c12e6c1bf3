// gen_corpus: writes N generated ads as JSON Lines (bench/corpus.h).
//   gen_corpus [--count N] [--seed S] [--out FILE]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/corpus.h"

int main(int argc, char** argv) {
  uint64_t count = 1000, seed = 1;
  const char* out_path = nullptr;
  for (int i = 1; i < argc; ++i) {
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gen_corpus: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--count")) {
      count = std::strtoull(value("--count"), nullptr, 10);
    } else if (!std::strcmp(argv[i], "--seed")) {
      seed = std::strtoull(value("--seed"), nullptr, 10);
    } else if (!std::strcmp(argv[i], "--out")) {
      out_path = value("--out");
    } else {
      std::fprintf(stderr, "usage: gen_corpus [--count N] [--seed S] [--out FILE]\n");
      return 2;
    }
  }
  FILE* out = out_path ? std::fopen(out_path, "w") : stdout;
  if (!out) {
    std::perror(out_path);
    return 2;
  }
  vigil::bench::CorpusGenerator gen(seed);
  std::string line;
  for (uint64_t i = 0; i < count; ++i) {
    line = vigil::bench::CorpusGenerator::ToJsonLine(gen.Next());
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      std::perror("gen_corpus: write");
      return 2;
    }
  }
  if (out != stdout && std::fclose(out) != 0) {
    std::perror("gen_corpus: close");
    return 2;
  }
  return 0;
}
