// A document to scan: one ad as it arrived. Plain value type.
#pragma once

#include <string>

namespace vigil::scanner {

struct Document {
  std::string id;
  std::string text;       // original bytes as received (may be invalid UTF-8)
  // Optional provenance fields of the ad; empty when absent.
  std::string url;
  std::string source;
  std::string city;
  std::string posted_at;  // ISO 8601 as given
  std::string fetched_at;
  // Every other field of the input JSON object, as a compact JSON object
  // text ("{}" or empty when there were none). Kept, never interpreted.
  std::string metadata_json;
};

}  // namespace vigil::scanner
