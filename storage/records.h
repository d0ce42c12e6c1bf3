// The store's value types: what one ad, its lead, an entity, a review and an
// audit event look like once stored, plus the pure functions that derive
// stored fields from a scanned document (content hash, lead time, snippet,
// finding ids, the network signal's score boost). Encodings live in
// storage/keys.h; the store that reads and writes them in storage/store.h.
//
// Plain value types and pure functions; thread-compatible.
//
// Units: ad times (`time`, posting times, first/last seen) are Unix seconds;
// event times (`*_ms`: ingest, reviews, audit) are Unix milliseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scanner/document.h"
#include "scanner/scan_result.h"

namespace vigil::storage {

// Review workflow state of an ad. `kNew` until someone reviews it.
enum class ReviewStatus : uint8_t {
  kNew = 0,
  kInReview = 1,
  kEscalated = 2,
  kDismissed = 3,
  kNeedsInfo = 4,
};
inline constexpr int kReviewStatusCount = 5;
// "new", "in_review", "escalated", "dismissed", "needs_info".
const char* ReviewStatusName(ReviewStatus status);
// The inverse of ReviewStatusName; nullopt for anything else.
std::optional<ReviewStatus> ParseReviewStatus(std::string_view name);

// The network signal (docs/storage.md): a phone seen in `min_cities` or
// more distinct cities within `window_days` marks every ad carrying it; a
// marked ad gets the category "network" and its score s becomes
// 1 - (1 - s) * (1 - boost) (noisy-or). Fixed when a store is created.
struct NetworkSignalOptions {
  int min_cities = 3;    // 2..64
  int window_days = 30;  // 1..3650
  double boost = 0.2;    // (0, 1)
};
inline constexpr const char* kNetworkCategory = "network";
// Noisy-or of a score with the boost; never lowers a score.
double NetworkBoostedScore(double base_score, double boost);

// One stored version of an ad.
struct AdRecord {
  scanner::Document doc;
  std::string content_hash;  // ContentHash(doc): 64 lower-case hex digits
  uint32_t version = 1;      // 1 for the first content seen under this id
  int64_t time = 0;          // LeadTime(doc, ingested_at_ms)
  int64_t ingested_at_ms = 0;
};

// SHA-256 over the ad's content: text, url, source, city and posted_at,
// each length-prefixed. fetched_at and metadata are not content (a
// re-fetch of the same ad is a duplicate, not a new version).
std::string ContentHash(const scanner::Document& doc);

// Unix seconds of an ISO 8601 date or date-time: "2026-03-01",
// "2026-03-01T14:05", "2026-03-01 14:05:09.5Z", "...+02:00", "...-0500".
// A missing offset means UTC. nullopt for anything else.
std::optional<int64_t> ParseIsoTime(std::string_view text);
// "2026-03-01T14:05:09Z".
std::string FormatIsoTime(int64_t unix_seconds);

// The ad's time for indexes and entity postings: posted_at when it parses
// as ISO 8601, else fetched_at, else the ingest time.
int64_t LeadTime(const scanner::Document& doc, int64_t ingested_at_ms);

// The first `max_bytes` (at most) of `text` for lead lists: whitespace runs
// collapsed to one space, trimmed, cut on a UTF-8 boundary, invalid bytes
// replaced by U+FFFD.
std::string MakeSnippet(std::string_view text, size_t max_bytes = 160);

// The stable id of a hit: hex of the first 12 bytes of SHA-256 over the
// rule id, the ad's content hash, the normalised match (the raw match when
// there is none) and the ordinal of this (rule, match) pair in the ad.
// Independent of offsets, so a rescan of unchanged content keeps ids.
std::string FindingId(std::string_view rule, std::string_view content_hash,
                      std::string_view normalized_match, uint32_t ordinal);
// FindingId for every hit of `result`, in order.
std::vector<std::string> FindingIds(const scanner::ScanResult& result,
                                    std::string_view content_hash);

// The lead of an ad: what lead lists show and the lead indexes are built
// from. One per ad, for its current version.
struct LeadRecord {
  double base_score = 0.0;  // the scanner's score
  double score = 0.0;       // base_score, boosted when `network`
  bool flagged = false;     // the scanner's verdict (the network signal never flags)
  bool network = false;     // a phone of this ad carries the network signal
  ReviewStatus status = ReviewStatus::kNew;
  int64_t time = 0;         // AdRecord::time
  uint32_t version = 1;     // AdRecord::version the findings belong to
  std::vector<std::string> categories;  // the scanner's, sorted
  std::string city;
  std::string posted_at;
  std::string pack_version;
  std::string snippet;
};
// The categories a lead is listed under: its own plus "network" when marked,
// sorted and unique.
std::vector<std::string> EffectiveCategories(const LeadRecord& lead);
// The same, each passed to fn(std::string_view) in order, without copying
// them when the lead's own are sorted and unique (as stored leads' are).
template <typename Fn>
void ForEachEffectiveCategory(const LeadRecord& lead, Fn&& fn) {
  const std::vector<std::string>& own = lead.categories;
  for (size_t i = 1; i < own.size(); ++i) {
    if (!(own[i - 1] < own[i])) {
      for (const std::string& c : EffectiveCategories(lead)) fn(std::string_view(c));
      return;
    }
  }
  constexpr std::string_view kNetwork = kNetworkCategory;
  bool network = lead.network;
  for (const std::string& c : own) {
    if (network && kNetwork <= c) {
      if (kNetwork != c) fn(kNetwork);
      network = false;
    }
    fn(std::string_view(c));
  }
  if (network) fn(kNetwork);
}

// Entity types that get postings (entity → ads) and statistics.
bool IsIndexedEntity(scanner::EntityType type);

// An entity value as stored: type plus canonical value.
struct EntityRef {
  scanner::EntityType type = scanner::EntityType::kPhone;
  std::string value;
  bool operator==(const EntityRef&) const = default;
};
// The indexed entities of a result, deduplicated, in first-seen order.
std::vector<EntityRef> IndexedEntities(const scanner::ScanResult& result);

// One ad carrying an entity.
struct Posting {
  std::string ad_id;
  int64_t time = 0;
  std::string city;
};

// Per-entity statistics over its current postings.
inline constexpr size_t kMaxTrackedCities = 64;
struct EntityStats {
  uint64_t ads = 0;  // number of postings (ads whose current version carries it)
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  std::vector<std::string> cities;  // NormalizeCity'd, sorted, at most kMaxTrackedCities
  bool cities_truncated = false;    // more distinct cities than tracked
  bool network = false;             // the network signal fired (sticky while postings exist)
  int64_t network_since = 0;        // the posting time that completed the first qualifying window
};
// Trimmed, ASCII-lower-cased; the form cities are compared in.
std::string NormalizeCity(std::string_view city);

// Whether `postings` (any order) contain a window of at most `window_days`
// days with `min_cities` or more distinct non-empty cities. Returns the
// time of the posting that completed the earliest such window.
std::optional<int64_t> FindNetworkWindow(std::vector<Posting> postings,
                                         const NetworkSignalOptions& options);

// The current review of an ad. Absent reviews read as status kNew, version 0.
struct ReviewRecord {
  ReviewStatus status = ReviewStatus::kNew;
  std::string assignee;
  uint64_t version = 0;  // number of review actions so far
  int64_t updated_at_ms = 0;
  std::string updated_by;
};

// One review action, kept forever in review_history.
struct ReviewHistoryEntry {
  uint64_t version = 0;  // the review version this action produced
  int64_t at_ms = 0;
  std::string user;
  ReviewStatus from_status = ReviewStatus::kNew;
  ReviewStatus to_status = ReviewStatus::kNew;
  std::string from_assignee;
  std::string to_assignee;
  std::string note;
};

// One audit record: who did what to which target, when.
struct AuditEvent {
  uint64_t seq = 0;    // assigned by the store, 1, 2, 3, ...
  int64_t at_ms = 0;   // assigned by the store
  std::string user;
  std::string action;  // "review", "export", "view", ...
  std::string target;  // an ad id, an entity, a query
  std::string detail;
};

// Leads per review status (total and flagged), maintained with every write.
struct StatusCount {
  uint64_t total = 0;
  uint64_t flagged = 0;
  bool operator==(const StatusCount&) const = default;
};
struct StatusCounts {
  StatusCount by_status[kReviewStatusCount];
  const StatusCount& operator[](ReviewStatus s) const { return by_status[static_cast<int>(s)]; }
  StatusCount& operator[](ReviewStatus s) { return by_status[static_cast<int>(s)]; }
  bool operator==(const StatusCounts&) const = default;
};

}  // namespace vigil::storage
