// PhoneExtractor: finds phone numbers in an ad's original text, including
// numbers written to evade collection (digit words, misspelt digit words,
// mixed digits and words, letters for digits, separators or emoji between
// digits, an area code written apart), validates them with libphonenumber
// and formats them as E.164.
//
// Thread-safety: immutable after construction; Extract may be called from
// many threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scanner/scan_result.h"

namespace vigil::scanner {

class PhoneExtractor {
 public:
  struct Options {
    std::string default_region = "US";  // ISO 3166 region for numbers without a country code
  };

  PhoneExtractor();
  explicit PhoneExtractor(Options options);
  ~PhoneExtractor();
  PhoneExtractor(const PhoneExtractor&) = delete;
  PhoneExtractor& operator=(const PhoneExtractor&) = delete;

  // Appends every phone found in `text` (original UTF-8, possibly invalid)
  // to *out as an Entity of type kPhone: value in E.164, [start, end) the
  // original byte span it was read from, obfuscated = decoding was needed.
  void Extract(std::string_view text, std::vector<Entity>* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::scanner
