// EntityExtractor: finds the non-phone entities of an ad in its original
// text: emails (including "name at domain dot com"), URLs, social handles
// (kik, snap, instagram, telegram, whatsapp, wechat, twitter, onlyfans),
// prices with their unit and duration ("200 roses/hh", "$150 hr") and
// stated ages ("19 yo", "age: 21").
//
// Thread-safety: immutable after construction; Extract may be called from
// many threads at once.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "scanner/scan_result.h"

namespace vigil::scanner {

class EntityExtractor {
 public:
  EntityExtractor();
  ~EntityExtractor();
  EntityExtractor(const EntityExtractor&) = delete;
  EntityExtractor& operator=(const EntityExtractor&) = delete;

  // Appends every email, URL, handle, price and age found in `text`
  // (original UTF-8, possibly invalid) to *out with original byte spans.
  void Extract(std::string_view text, std::vector<Entity>* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::scanner
