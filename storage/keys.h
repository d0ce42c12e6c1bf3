// Every key layout and value encoding of the store, in one place
// (docs/storage.md describes them for people).
//
// Keys are built to sort the way they are scanned: big-endian integers,
// order-preserving encodings of doubles and signed times (bit-inverted for
// descending order), and escaped strings (0x00 → 0x00 0xff, terminated by
// 0x00 0x01) wherever a string is followed by more key. An ad id that ends
// a key is stored raw.
//
// Values use a compact binary encoding (varints, length-prefixed strings,
// fixed 64-bit doubles), each starting with a format byte so that later
// schemas can add fields. Decoders check every length and return false on
// malformed input instead of reading past it.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scanner/scan_result.h"
#include "storage/records.h"

namespace vigil::storage::keys {

// Column families, in the order the store opens them.
enum class Cf : uint8_t {
  kMeta = 0,          // name → value: schema version, network options, counters
  kAds,               // ad id → AdRecord (current version)
  kAdVersions,        // esc(ad id) be32(version) → AdRecord (superseded versions)
  kFindings,          // ad id → ScanResult of the current version (id not repeated)
  kLeads,             // ad id → LeadRecord
  kLeadsByScore,      // schema 1 only (empty since schema 2): desc(score) ad id → LeadIndexValue
  kLeadsByTime,       // desc(time) ad id → LeadIndexValue
  kLeadsByCategory,   // esc(category) desc(score) ad id → LeadIndexValue
  kLeadsByStatus,     // status byte desc(score) ad id → LeadIndexValue
  kEntities,          // type byte esc(value) asc(time) ad id → city
  kEntityStats,       // type byte value → EntityStats
  kReviews,           // ad id → ReviewRecord
  kReviewHistory,     // esc(ad id) be64(review version) → ReviewHistoryEntry
  kAudit,             // be64(seq) → AuditEvent
  kCheckpoints,       // name → opaque bytes (rescans)
  kTokens,            // name → opaque bytes (daemon credentials)
  kCount,
};
inline constexpr size_t kCfCount = static_cast<size_t>(Cf::kCount);
// "meta", "ads", "ad_versions", ... (RocksDB column family names).
const char* CfName(Cf cf);

// Names of meta entries.
inline constexpr std::string_view kMetaSchemaVersion = "schema_version";
inline constexpr std::string_view kMetaCreatedAt = "created_at_ms";
inline constexpr std::string_view kMetaNetworkSignal = "network_signal";
inline constexpr std::string_view kMetaStatusCounts = "status_counts";

// ---- primitives ----------------------------------------------------------

void PutBigEndian32(std::string* out, uint32_t v);
void PutBigEndian64(std::string* out, uint64_t v);
uint32_t GetBigEndian32(const char* p);
uint64_t GetBigEndian64(const char* p);
// Monotone maps to uint64: a < b ⇔ Ordered(a) < Ordered(b). NaN is not
// accepted by the store (it validates scores before they get here).
uint64_t OrderedDouble(double v);
double DoubleFromOrdered(uint64_t v);
uint64_t OrderedTime(int64_t t);
int64_t TimeFromOrdered(uint64_t v);
// Escaped string for use inside a key, and its inverse. GetEscaped consumes
// the string and its terminator from *in.
void PutEscaped(std::string* out, std::string_view s);
bool GetEscaped(std::string_view* in, std::string* out);

// ---- keys ----------------------------------------------------------------

std::string AdVersionKey(std::string_view ad_id, uint32_t version);
std::string AdVersionPrefix(std::string_view ad_id);
// Splits an ad_versions key.
bool ParseAdVersionKey(std::string_view key, std::string* ad_id, uint32_t* version);

std::string LeadScoreKey(double score, std::string_view ad_id);
std::string LeadTimeKey(int64_t time, std::string_view ad_id);
std::string LeadCategoryKey(std::string_view category, double score, std::string_view ad_id);
std::string LeadStatusKey(ReviewStatus status, double score, std::string_view ad_id);
// Key prefixes shared by every entry of one category / status.
std::string LeadCategoryPrefix(std::string_view category);
std::string LeadStatusPrefix(ReviewStatus status);
// The smallest leads_by_time key of any ad with time <= t (entries are
// newest first), i.e. where a scan of times <= t starts.
std::string LeadTimeSeek(int64_t t);
// Splits a lead index key of family `cf` into its ad id (and its score, for
// the score-ordered indexes; its time for leads_by_time).
bool ParseLeadIndexKey(Cf cf, std::string_view key, std::string* ad_id, double* score,
                       int64_t* time);

// One lead index entry an ad's lead owns.
struct IndexEntry {
  Cf cf;
  std::string key;
  bool operator==(const IndexEntry&) const = default;
};
// Every lead index entry of the lead of `ad_id`: one in leads_by_time and
// leads_by_status, one per effective category. (Schema 1 also kept one in
// leads_by_score; schema 2 orders all leads by score by merging the status
// runs of leads_by_status, and leads_by_score stays empty.)
std::vector<IndexEntry> LeadIndexEntries(std::string_view ad_id, const LeadRecord& lead);

std::string PostingKey(scanner::EntityType type, std::string_view value, int64_t time,
                       std::string_view ad_id);
std::string PostingPrefix(scanner::EntityType type, std::string_view value);
// The first posting key of this entity with time >= t.
std::string PostingSeek(scanner::EntityType type, std::string_view value, int64_t t);
bool ParsePostingKey(std::string_view key, scanner::EntityType* type, std::string* value,
                     int64_t* time, std::string* ad_id);

std::string EntityStatsKey(scanner::EntityType type, std::string_view value);
bool ParseEntityStatsKey(std::string_view key, scanner::EntityType* type, std::string* value);

std::string ReviewHistoryKey(std::string_view ad_id, uint64_t version);
std::string ReviewHistoryPrefix(std::string_view ad_id);
bool ParseReviewHistoryKey(std::string_view key, std::string* ad_id, uint64_t* version);

std::string AuditKey(uint64_t seq);

// Opaque lead-list cursor: which index, and the last key returned.
std::string EncodeCursor(Cf cf, std::string_view key);
bool DecodeCursor(std::string_view cursor, Cf* cf, std::string* key);

// ---- values --------------------------------------------------------------

std::string EncodeAdRecord(const AdRecord& ad);
// The same encoding from the parts (no AdRecord, no copy of the document).
std::string EncodeAdRecord(const scanner::Document& doc, std::string_view content_hash, uint32_t version,
                           int64_t time, int64_t ingested_at_ms);
bool DecodeAdRecord(std::string_view in, AdRecord* ad);
// Only what scanning the ad again needs: version, time, ingest time and
// text. The other strings (content hash, url, source, city, times as
// given, metadata) are checked but left empty.
bool DecodeAdRecordForScan(std::string_view in, AdRecord* ad);
// The fields of an encoded AdRecord the ingest pipeline needs (no copy of
// the text). Checks only the bytes it reads.
bool DecodeAdSummary(std::string_view in, uint32_t* version, std::string* content_hash, int64_t* time,
                     size_t* text_size);

// Every field of the result except its id (the key).
std::string EncodeFindings(const scanner::ScanResult& result);
// The same into *out, reusing its memory.
void EncodeFindings(const scanner::ScanResult& result, std::string* out);
bool DecodeFindings(std::string_view in, scanner::ScanResult* result);
// Only the indexed entities of an encoded findings value (IndexedEntities),
// without decoding everything else into strings.
bool DecodeFindingsEntities(std::string_view in, std::vector<EntityRef>* entities);
// The extraction of an encoded findings value: *entities_by (a view into
// `in`; empty for findings stored before schema 3) and, when `entities` is
// given, every entity in stored order. False when it does not decode.
bool DecodeFindingsExtraction(std::string_view in, std::string_view* entities_by,
                              std::vector<scanner::Entity>* entities);
// Whether two encoded findings values differ in nothing but their labels,
// the pack version and entities_by (a rescan that found the same hits,
// entities, score and verdict). False when either does not decode. When
// true and `b_pack` is given, it is set to b's pack version (a view into b).
bool SameFindingsButPackVersion(std::string_view a, std::string_view b, std::string_view* b_pack = nullptr);
// The pack version of encoded findings, as a view into `in`; false if it
// does not decode that far.
bool FindingsPackVersion(std::string_view in, std::string_view* pack);

std::string EncodeLead(const LeadRecord& lead);
bool DecodeLead(std::string_view in, LeadRecord* lead);

// What every lead index entry holds so lead lists filter without reading
// the lead: score, time, flags, status, city, effective categories.
struct LeadIndexValue {
  double score = 0.0;
  int64_t time = 0;
  bool flagged = false;
  bool network = false;
  ReviewStatus status = ReviewStatus::kNew;
  std::string city;
  std::vector<std::string> categories;
};
std::string EncodeLeadIndexValue(const LeadRecord& lead);
bool DecodeLeadIndexValue(std::string_view in, LeadIndexValue* value);

std::string EncodeEntityStats(const EntityStats& stats);
bool DecodeEntityStats(std::string_view in, EntityStats* stats);

std::string EncodeReview(const ReviewRecord& review);
bool DecodeReview(std::string_view in, ReviewRecord* review);

std::string EncodeHistoryEntry(const ReviewHistoryEntry& entry);
bool DecodeHistoryEntry(std::string_view in, ReviewHistoryEntry* entry);

std::string EncodeAuditEvent(const AuditEvent& event);
bool DecodeAuditEvent(std::string_view in, AuditEvent* event);

std::string EncodeStatusCounts(const StatusCounts& counts);
bool DecodeStatusCounts(std::string_view in, StatusCounts* counts);

std::string EncodeNetworkSignal(const NetworkSignalOptions& options);
bool DecodeNetworkSignal(std::string_view in, NetworkSignalOptions* options);

std::string EncodeSchemaVersion(uint32_t version);
bool DecodeSchemaVersion(std::string_view in, uint32_t* version);

}  // namespace vigil::storage::keys
