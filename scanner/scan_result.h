// What scanning one document produces: rule hits, extracted entities and a
// score. All offsets are byte offsets into the document's original text,
// half-open [start, end). Plain value types; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vigil::scanner {

// One rule firing on one span.
struct Hit {
  std::string rule;      // rule id
  std::string category;  // category id
  uint32_t start = 0;    // original byte offsets
  uint32_t end = 0;
  std::string match;     // original text[start, end)
  std::string normalized;  // what the matcher read there (normalised text)
  int pattern_index = 0;   // which of the rule's patterns matched
  double weight = 0.0;
  std::string evidence;  // "supported" | "contested" | "lore"
  // Only for ScanResult::suppressed: why the hit does not count
  // ("unless: <context pattern>", "requires: 1 of 2 ...").
  std::string suppressed_reason;
};

enum class EntityType { kPhone, kEmail, kUrl, kHandle, kPrice, kAge };
const char* EntityTypeName(EntityType t);  // "phone", "email", "url", "handle", "price", "age"

struct Entity {
  EntityType type = EntityType::kPhone;
  // Canonical value: E.164 for phones ("+17025550147"), lower-case address
  // for emails, "platform:handle" for handles ("snap:lexi_99"), the URL as
  // written (lower-cased scheme and host) for URLs, the amount as a decimal
  // string for prices ("200"), the age in years for ages ("19").
  std::string value;
  uint32_t start = 0;  // original byte offsets
  uint32_t end = 0;
  bool obfuscated = false;  // decoding was needed to read it
  // Type-specific details, empty when not applicable:
  std::string platform;  // handles: kik, snap, instagram, telegram, whatsapp, wechat, twitter, onlyfans
  std::string unit;      // prices: "usd", "roses", ...
  std::string duration;  // prices: "hh" (half hour), "hr", "2hr", "overnight", ...
};

struct ScanResult {
  std::string id;
  double score = 0.0;
  bool flagged = false;
  std::vector<std::string> categories;  // categories with at least one counted hit, sorted
  std::vector<Hit> hits;                // sorted by start, then rule
  std::vector<Entity> entities;         // sorted by start
  std::string pack_version;             // "name@version" of the rule set used
  // Hits dropped by an `unless` context or an unmet `requires`, kept for
  // explanations ("why didn't this fire"); not counted in the score.
  std::vector<Hit> suppressed;
  // Per-document limits that were reached (e.g. "max_hits"); empty when none.
  std::vector<std::string> truncated;
  // The extraction that produced `entities` (Scanner::extractor_fingerprint);
  // empty when it did not run to the end (the time budget) or is unknown
  // (findings stored by a vigil that did not record it). Not in JSON output.
  std::string entities_by;
};

}  // namespace vigil::scanner
