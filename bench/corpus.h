// CorpusGenerator: a deterministic generator of realistic, entirely
// invented classified ads — escort, massage, job offers (some deceptive)
// and ordinary classifieds, including the hard negatives of the indicators
// note — with obscured phone numbers, emoji and Unicode tricks. Phone
// numbers are only in the fictional NANP range NXX-555-01XX.
//
// Used by benchmarks, the demo (`make run`) and tests. The same seed gives
// the same corpus on every machine. Not thread-safe: one per thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::bench {

struct GeneratedAd {
  std::string id;
  std::string kind;  // "escort", "massage", "job", "classified"
  std::string text;
  std::string city;
  std::string posted_at;  // ISO 8601, UTC
  std::string url;
  std::string source;
  std::string phone_e164;  // the phone written in the ad ("" when none)
  bool phone_obfuscated = false;
};

class CorpusGenerator {
 public:
  explicit CorpusGenerator(uint64_t seed);

  GeneratedAd Next();

  // The ad as one JSON Lines record (no newline).
  static std::string ToJsonLine(const GeneratedAd& ad);

 private:
  uint64_t NextRandom();
  size_t Pick(size_t n) { return static_cast<size_t>(NextRandom() % n); }
  bool Chance(int percent) { return Pick(100) < static_cast<size_t>(percent); }
  template <size_t N>
  const char* PickFrom(const char* const (&list)[N]) {
    return list[Pick(N)];
  }

  std::string Phone(std::string* e164, bool* obfuscated);
  std::string Trick(const std::string& phrase);
  std::string EscortAd(GeneratedAd* ad);
  std::string MassageAd(GeneratedAd* ad);
  std::string JobAd(GeneratedAd* ad);
  std::string ClassifiedAd(GeneratedAd* ad);
  void Pad(std::string* text, size_t target);

  uint64_t state_;
  uint64_t counter_ = 0;
  // Advertisers reuse phones across ads and cities (linking, circuits).
  std::vector<std::string> advertiser_phones_;
};

}  // namespace vigil::bench
