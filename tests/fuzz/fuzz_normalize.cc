// Fuzzes the Normalizer and checks the offset-map invariants of
// docs/normalization.md on every input: valid UTF-8 out, one span per output
// byte, spans non-empty, inside the input and non-decreasing, every byte of
// one output character sharing its span, no leading, trailing or doubled
// space. The ASCII fast path and the general path must give the same
// result, and NormalizedText reuse must not leak state between inputs.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scanner/normalize.h"
#include "scanner/utf8.h"

namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
  }
}

vigil::scanner::Normalizer::Options GeneralPathOptions() {
  vigil::scanner::Normalizer::Options options;
  options.ascii_fast_path = false;
  return options;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::scanner;
  static const Normalizer normalizer;
  static const Normalizer general(GeneralPathOptions());
  static NormalizedText out;  // reused across inputs, as workers do
  const std::string_view raw(reinterpret_cast<const char*>(data), size);

  normalizer.Normalize(raw, &out);
  const std::string& t = out.text;
  Require(IsValidUtf8(t), "output is valid UTF-8");
  Require(out.src_begin.size() == t.size() && out.src_end.size() == t.size(), "one span per output byte");
  if (!t.empty()) Require(t.front() != ' ' && t.back() != ' ', "no leading or trailing space");
  Require(t.find("  ") == std::string::npos, "no doubled space");
  for (size_t i = 0; i < t.size(); ++i) {
    Require(out.src_begin[i] < out.src_end[i], "spans are non-empty");
    Require(out.src_end[i] <= raw.size(), "spans stay inside the input");
    if (i > 0) {
      Require(out.src_begin[i - 1] <= out.src_begin[i], "src_begin is non-decreasing");
      Require(out.src_end[i - 1] <= out.src_end[i], "src_end is non-decreasing");
    }
  }
  for (size_t i = 0; i < t.size();) {
    const size_t len = Utf8SequenceLength(t, i);
    Require(len > 0, "output characters are whole");
    for (size_t k = 1; k < len; ++k) {
      Require(out.src_begin[i + k] == out.src_begin[i] && out.src_end[i + k] == out.src_end[i],
              "bytes of one character share a span");
    }
    i += len;
  }
  if (!t.empty()) {
    uint32_t b = 0, e = 0;
    out.ToOriginal(0, static_cast<uint32_t>(t.size()), &b, &e);
    Require(b <= e && e <= raw.size(), "ToOriginal of the whole text stays inside the input");
  }

  NormalizedText slow;
  general.Normalize(raw, &slow);
  Require(slow.text == t, "fast and general paths give the same text");
  Require(slow.src_begin == out.src_begin && slow.src_end == out.src_end, "fast and general paths give the same map");
  Require(slow.decoded == out.decoded, "fast and general paths agree on decoded");
  return 0;
}
