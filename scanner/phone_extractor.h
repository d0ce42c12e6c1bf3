// PhoneExtractor: finds phone numbers in an ad's original text, including
// numbers written to evade collection (digit words, misspelt digit words,
// mixed digits and words, letters for digits, separators or emoji between
// digits, an area code written apart), validates them with libphonenumber
// and formats them as E.164. docs/phones.md gives the decoding rules.
//
// Thread-safety: immutable after construction apart from internal caches
// of libphonenumber verdicts, which are synchronised; Extract may be called
// from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rules/status.h"
#include "scanner/scan_result.h"

namespace vigil::scanner {

class PhoneExtractor {
 public:
  struct Options {
    std::string default_region = "US";  // ISO 3166 region for numbers without a country code
  };

  // Checks `options` and returns a ready extractor, or InvalidArgument when
  // default_region is not a region libphonenumber knows.
  static Result<std::unique_ptr<PhoneExtractor>> Create(Options options);

  PhoneExtractor();
  // An unknown default_region does not crash: status() reports it and the
  // extractor then finds only numbers written with an explicit +country code.
  explicit PhoneExtractor(Options options);
  ~PhoneExtractor();
  PhoneExtractor(const PhoneExtractor&) = delete;
  PhoneExtractor& operator=(const PhoneExtractor&) = delete;

  // OK, or why the options given to the constructor were rejected.
  const Status& status() const;

  // Appends every phone found in `text` (original UTF-8, possibly invalid)
  // to *out as an Entity of type kPhone: value in E.164, [start, end) the
  // original byte span it was read from, obfuscated = decoding was needed.
  // The appended entities are sorted by start and their spans never
  // overlap. Text beyond the first 4 GiB - 1 bytes is not read.
  void Extract(std::string_view text, std::vector<Entity>* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::scanner
