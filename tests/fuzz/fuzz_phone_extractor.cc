// Fuzzes PhoneExtractor::Extract on arbitrary bytes. Every entity must be a
// phone in E.164 ("+" and 8 to 15 digits) with a non-empty span inside the
// text; entities come sorted by start and never overlap; extraction must
// not depend on what was appended to the output vector before.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "scanner/phone_extractor.h"

namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
  }
}

bool IsE164(const std::string& v) {
  if (v.size() < 3 || v.size() > 16 || v[0] != '+') return false;
  for (size_t i = 1; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::scanner;
  static const PhoneExtractor extractor;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  std::vector<Entity> found;
  extractor.Extract(text, &found);
  for (size_t i = 0; i < found.size(); ++i) {
    const Entity& e = found[i];
    Require(e.type == EntityType::kPhone, "only phones");
    Require(IsE164(e.value), "value is E.164");
    Require(e.start < e.end && e.end <= text.size(), "span is non-empty and inside the text");
    if (i > 0) Require(found[i - 1].end <= e.start, "sorted and non-overlapping");
  }

  std::vector<Entity> again(1);  // a prior entry the extractor must leave alone
  extractor.Extract(text, &again);
  Require(again.size() == found.size() + 1, "same count on a second run");
  for (size_t i = 0; i < found.size(); ++i) {
    Require(again[i + 1].value == found[i].value && again[i + 1].start == found[i].start &&
                again[i + 1].end == found[i].end,
            "same entities on a second run");
  }
  return 0;
}
