// Regression tests for bugs found by the fuzz targets (tests/fuzz), each
// named after the bug. Run under `make test-asan` they also catch the
// original memory error, not only a wrong result.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "rules/compiler.h"
#include "rules/pack_loader.h"
#include "scanner/normalize.h"

namespace {

// The input in a heap block of exactly its size, so that ASan sees a read
// one byte past the end.
std::unique_ptr<char[]> ExactCopy(std::string_view text) {
  auto copy = std::make_unique<char[]>(text.size());
  std::memcpy(copy.get(), text.data(), text.size());
  return copy;
}

}  // namespace

TEST_CASE("regression: Normalizer ASCII fast path read past the end of a long symbol run", "[hardening][regression]") {
  // fuzz_normalize crash-8d869ea3: a run of '=' reaching the end of the
  // text was scanned without a bound (heap-buffer-overflow in FastAscii).
  using vigil::scanner::NormalizedText;
  using vigil::scanner::Normalizer;
  const Normalizer fast;
  Normalizer::Options general_options;
  general_options.ascii_fast_path = false;
  const Normalizer general(general_options);
  for (const std::string& text : {std::string("\xa0\xc2\x80 here=-") + std::string(33, '='),
                                  "word " + std::string(40, '+'), std::string(64, '~'),
                                  "a b c " + std::string(100, '=') + " d"}) {
    INFO(text);
    auto exact = ExactCopy(text);
    const std::string_view view(exact.get(), text.size());
    NormalizedText a, b;
    fast.Normalize(view, &a);
    general.Normalize(view, &b);
    CHECK(a.text == b.text);
    CHECK(a.src_begin == b.src_begin);
    CHECK(a.src_end == b.src_end);
    for (uint32_t end : a.src_end) CHECK(end <= text.size());
  }
}

TEST_CASE("regression: a rule pack with invalid UTF-8 compiled, then SerializeRuleSet threw", "[hardening][regression]") {
  // fuzz_rule_pack crash-cb0c9482: a title with a stray byte passed loading
  // and compiling; nlohmann::json::dump then threw type_error 316 while
  // writing the compiled set (vigild's rule cache, `vigil rules compile`).
  // The loader now refuses the file with V001 at the byte's position.
  const std::string header =
      "name: u\nversion: 0.1.0\ndescription: u\nthreshold: 0.5\ncategories:\n"
      "  - {id: youth, title: Youth, description: youth language}\n";
  const std::string rules =
      "rules:\n  - id: youth.u\n    title: \"bad \xff title\"\n    description: test rule\n    category: youth\n"
      "    weight: 0.6\n    evidence: supported\n    patterns: ['\\bfresh\\b']\n";
  vigil::rules::Pack pack;
  vigil::rules::Diagnostics diags;
  CHECK_FALSE(vigil::rules::LoadPackFromFiles("mem", {{"pack.yaml", header}, {"rules.yaml", rules}}, &pack, &diags));
  const std::string text = diags.ToString();
  INFO(text);
  CHECK(text.find("rules.yaml:3:17: error[V001]") != std::string::npos);
  CHECK(text.find("not valid UTF-8 (byte 0xFF)") != std::string::npos);
  // Valid multi-byte text still loads, compiles and serializes.
  const std::string good = "rules:\n  - id: youth.u\n    title: \"café ✓ 🌹\"\n    description: test rule\n"
                           "    category: youth\n    weight: 0.6\n    evidence: supported\n    patterns: ['\\bfresh\\b']\n";
  vigil::rules::Diagnostics good_diags;
  REQUIRE(vigil::rules::LoadPackFromFiles("mem", {{"pack.yaml", header}, {"rules.yaml", good}}, &pack, &good_diags));
  auto set = vigil::rules::Compile(pack, {}, &good_diags);
  REQUIRE(set.ok());
  CHECK(vigil::rules::SerializeRuleSet(**set).ok());
}
