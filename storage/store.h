// Store: everything investigators review, in one embedded RocksDB store —
// ads and their versions, the findings of each ad's latest scan, lead
// indexes (score, time, category, review status), entity postings and
// statistics (with the network signal), reviews with history, an
// append-only audit log, checkpoints. docs/storage.md has the layouts.
//
// Durability: every write method commits one atomic RocksDB write batch
// with a synced WAL before it returns OK (PutScannedAsync: before it
// reports OK); an ad and all its index entries are in the same batch.
// Ingest runs as a pipeline on two store threads: queued PutScanned
// requests are staged together as one group (group commit: one batch and
// one sync for all of them) while the previous group is being written.
//
// Processes: one process opens a store for writing (RocksDB's lock); any
// number of others open it read-only (a RocksDB secondary instance that
// sees the writer's data as of Open or the last Refresh). Opening for
// writing while another process writes returns Status::Busy naming the
// directory and saying how to proceed.
//
// Thread-safety: all methods may be called from many threads at once.
// Writes are serialised inside the store; reads run concurrently with them
// and each read sees one consistent snapshot.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rules/status.h"
#include "scanner/document.h"
#include "scanner/scan_result.h"
#include "storage/records.h"

namespace vigil::storage {

inline constexpr const char* kDefaultStoreDir = "./var/vigil";
inline constexpr size_t kMaxAdIdBytes = 1024;

struct OpenOptions {
  // Open a RocksDB secondary instance: reads only, works while another
  // process writes; Refresh() catches up with the writer.
  bool read_only = false;
  // Create the directory and an empty store when there is none (writers only).
  bool create_if_missing = true;
  // Readers only: a store of an older schema is first opened for writing
  // (which migrates it, docs/storage.md) when no other process holds it.
  // Without this, or while another process holds it, such a store is
  // refused with Unavailable saying how to migrate it.
  bool migrate_older_schema = false;
  // The network signal's parameters; written when the store is created and
  // read back from the store afterwards (these are ignored then).
  NetworkSignalOptions network;
  // Shared RocksDB block cache.
  size_t block_cache_bytes = size_t{256} << 20;
  // Milliseconds since the Unix epoch; tests inject a fixed clock. Empty:
  // the system clock.
  std::function<int64_t()> clock_ms;
};

// One scanned document for PutScanned; the pointers must stay valid for
// the call.
struct ScannedAd {
  const scanner::Document* doc = nullptr;
  const scanner::ScanResult* result = nullptr;
};

// What a PutScanned call did.
struct PutStats {
  uint64_t ads = 0;           // documents given
  uint64_t new_ads = 0;       // ids not seen before
  uint64_t new_versions = 0;  // known ids with new content (old version kept)
  uint64_t duplicates = 0;    // known ids with the same content: nothing written
  uint64_t flagged = 0;       // written (new or new version) and flagged by the scanner
  void Add(const PutStats& other);
};

// A rescan's new findings for one stored ad (ReplaceFindings).
struct FindingsUpdate {
  std::string ad_id;
  const scanner::ScanResult* result = nullptr;
  // The ad version the result was computed from; 0: whatever version is
  // current. When the stored version differs (a newer one was ingested
  // meanwhile) the update is skipped and counted as stale.
  uint32_t expected_version = 0;
  // The result already encoded (CompareStoredFindings); empty: the store
  // encodes it.
  std::string encoded{};
  // With expected_version: the size of that version's text, as the caller
  // read it (a rescan's walk). The store then checks the version against
  // the lead record (which every new version rewrites) and reads the ad
  // record itself only when they differ. Unset: the ad record is read.
  std::optional<size_t> text_size{};
};

// What a ReplaceFindings call did, per ad.
struct ReplaceStats {
  uint64_t ads = 0;        // updates given
  uint64_t unchanged = 0;  // the same findings from the same pack: nothing written
  uint64_t pack_only = 0;  // the same findings from another pack version or extraction
                           // (entities_by): the findings record rewritten, and the lead
                           // record when its pack version changes; no index entry touched
  uint64_t changed = 0;    // findings changed: lead, indexes and postings replaced
  uint64_t stale = 0;      // expected_version was not the current version: skipped
  void Add(const ReplaceStats& other);
};

// A named value for the checkpoints family, written in the same atomic
// batch as the write it accompanies (a rescan's position and report).
struct CheckpointWrite {
  std::string name;
  std::string value;
};

// An ad as stored, with the findings of its current version and its lead
// (ForEachStoredAd). The findings stay encoded: a rescan compares a new
// result with them (CompareStoredFindings) and decodes them only when they
// differ.
struct StoredAd {
  AdRecord ad;                // doc.id set
  std::string findings_raw;   // encoded findings of the current version
  LeadRecord lead;            // when walked with leads

  // Decodes findings_raw (id set); Corruption if it does not decode.
  Status DecodeFindings(scanner::ScanResult* out) const;
  // The stored entities, into *out, when the findings record that an
  // extraction with this fingerprint (Scanner::extractor_fingerprint)
  // produced them; false when they do not (or `entities_by` is empty), or
  // when they do not decode.
  bool EntitiesExtractedBy(std::string_view entities_by, std::vector<scanner::Entity>* out) const;
};

// How a new scan result compares with an ad's stored findings.
enum class FindingsChange {
  kSame,      // the same findings from the same pack
  kPackOnly,  // the same findings (hits, spans, entities, score, verdict) from another
              // pack version or with another entities_by
  kChanged,
};

// Encodes `result` as the store would (into *encoded, for
// FindingsUpdate::encoded, reusing its memory) and compares it with the stored findings. For
// kSame and kPackOnly, *stored_pack (optional) is set to the stored
// findings' pack version: a view into stored.findings_raw.
FindingsChange CompareStoredFindings(const StoredAd& stored, const scanner::ScanResult& result, std::string* encoded,
                                     std::string_view* stored_pack = nullptr);

enum class LeadOrder { kScore, kTime };

// A lead list query. Filters combine with AND. The store walks one index
// (by category when `category` is set and the order is by score, else by
// status when `status` is set, else by score; by time when ordered by
// time, bounded by since/until) and filters the rest from the index
// entries, so cost grows with the entries skipped, not the store size.
struct LeadQuery {
  std::optional<ReviewStatus> status;
  std::string category;               // empty: any
  double min_score = 0.0;
  std::optional<int64_t> since;       // lead time >= since (Unix seconds)
  std::optional<int64_t> until;       // lead time < until
  std::string city;                   // compared with NormalizeCity; empty: any
  std::string text;                   // case-insensitive (ASCII) substring of the
                                      // ad text; reads each candidate ad (slower)
  size_t limit = 50;                  // 1..10000
  std::string cursor;                 // LeadPage::next_cursor of the previous page
  LeadOrder order = LeadOrder::kScore;
  bool flagged_only = false;
};

struct LeadSummary {
  std::string ad_id;
  double score = 0.0;
  double base_score = 0.0;
  bool flagged = false;
  bool network = false;
  std::vector<std::string> categories;  // effective: "network" included when marked
  ReviewStatus status = ReviewStatus::kNew;
  int64_t time = 0;
  std::string posted_at;
  std::string city;
  std::string pack_version;
  std::string snippet;
};

struct LeadPage {
  std::vector<LeadSummary> leads;
  std::string next_cursor;  // empty when the list is exhausted
  uint64_t scanned = 0;     // index entries read
};

// An ad with everything known about it.
struct AdDetail {
  AdRecord ad;                          // the current version
  uint32_t version_count = 1;           // versions stored (current included)
  scanner::ScanResult findings;         // of the current version; id set
  std::vector<std::string> finding_ids; // one per findings.hits entry
  LeadRecord lead;
  ReviewRecord review;
  std::vector<ReviewHistoryEntry> history;  // oldest first
};

struct EntityDetail {
  scanner::EntityType type = scanner::EntityType::kPhone;
  std::string value;
  EntityStats stats;
  std::vector<Posting> postings;  // newest first, at most the requested limit
};

// One review action. At least one of status, assignee, note.
struct ReviewAction {
  std::optional<ReviewStatus> status;
  std::optional<std::string> assignee;  // "" unassigns
  std::string note;
  std::string user;                         // required
  std::optional<uint64_t> expected_version; // the ReviewRecord::version the user saw
};

struct AuditQuery {
  // Oldest first: events with seq >= start_seq. Newest first: events with
  // seq <= start_seq (0: from the latest).
  uint64_t start_seq = 0;
  bool newest_first = true;
  std::string user;    // exact; empty: any
  std::string action;  // exact; empty: any
  std::string target;  // exact; empty: any
  size_t limit = 100;  // 1..100000
};

struct EntityKey {
  scanner::EntityType type = scanner::EntityType::kPhone;
  std::string value;
};

// What to export. Given filters combine with AND; at least one is needed.
struct ExportQuery {
  std::optional<ReviewStatus> status;
  std::optional<EntityKey> entity;  // ads carrying this entity
  std::vector<std::string> ad_ids;  // these ads (each must exist)
  std::string purpose;              // why: recorded in the audit log
  size_t max_records = 10000;       // more matches than this is an error
};

// One exported ad with its provenance.
struct ExportRecord {
  AdRecord ad;
  scanner::ScanResult findings;
  std::vector<std::string> finding_ids;
  LeadRecord lead;
  ReviewRecord review;
  // A later pack that read this version in a completed rescan and found
  // the same findings (the label stays the pack that produced them). The
  // store leaves it empty; the tools, which know rescans, fill it.
  struct Citation {
    std::string pack;  // "name@version"
    int64_t finished_at_ms = 0;
  };
  std::optional<Citation> unchanged_by;
};

struct ExportResult {
  std::vector<ExportRecord> records;
  uint64_t audit_seq = 0;  // the audit event that records this export
};

// What Store::Compact did: bytes in live table files, all families.
struct CompactStats {
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
};

struct ConsistencyReport {
  uint64_t ads = 0;
  uint64_t ad_versions = 0;
  uint64_t leads = 0;
  uint64_t lead_index_entries = 0;
  uint64_t postings = 0;
  uint64_t entities = 0;
  uint64_t reviews = 0;
  uint64_t review_history = 0;
  uint64_t audit_events = 0;
  uint64_t problem_count = 0;
  std::vector<std::string> problems;  // the first 100, one line each
  // True when the quick pass (walks and checksums, see CheckConsistency)
  // decided; false when the precise pass ran.
  bool quick = false;
  bool ok() const { return problem_count == 0; }
};

// How CheckConsistency works. kAuto: a quick pass first (walks and
// checksums, no lookups per ad); only if it finds any disagreement, the
// precise pass, which looks everything up and names each problem. The
// result is the same either way; kPrecise skips the quick pass (tests).
enum class CheckMethod { kAuto, kPrecise };

class Store {
 public:
  static constexpr uint32_t kSchemaVersion = 3;

  // Opens (or creates) the store in `dir`. Errors: Busy when another
  // process holds it for writing; NotFound when there is no store and it
  // may not be created; InvalidArgument when the store was written by a
  // newer vigil or options are out of range; IOError/Corruption from disk.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, const OpenOptions& options);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& dir() const;
  bool read_only() const;
  const NetworkSignalOptions& network_signal() const;

  // Read-only stores: catch up with the writer's latest commits. A no-op
  // for writers.
  Status Refresh();

  // ---- ingest and rescans (writers only) ----

  // Stores scanned documents with their findings and all index entries in
  // one synced batch. Per id: the same content as stored is a duplicate
  // (nothing written); new content becomes a new version (the old one kept
  // in ad_versions, its index entries replaced); review status is kept.
  // Invalid input (empty id, id mismatch, spans outside the text, a score
  // that is not a finite number) fails the whole call with InvalidArgument
  // naming the document; nothing is written then. Adds to *stats (optional).
  Status PutScanned(std::span<const ScannedAd> ads, PutStats* stats);
  Status PutScanned(const std::vector<std::pair<scanner::Document, scanner::ScanResult>>& ads,
                    PutStats* stats);
  // PutScanned without waiting: queues the documents and returns. `done`
  // runs once with the outcome — on the calling thread for invalid input,
  // else on a store thread once the batch holding them is durable (or
  // failed). Requests commit in the order they were queued. The documents
  // must stay valid until `done` runs; `done` must not call back into the
  // store's write methods.
  void PutScannedAsync(std::span<const ScannedAd> ads,
                       std::function<void(const Status&, const PutStats&)> done);

  // Replaces the findings of stored ads (rescans with a new rule pack):
  // findings, lead, lead indexes and entity postings change; the ad, its
  // version and its review do not. A lead below threshold stays listed with
  // flagged = false. NotFound when an ad does not exist (nothing written).
  Status ReplaceFindings(std::string_view ad_id, const scanner::ScanResult& result);
  Status ReplaceFindings(std::span<const FindingsUpdate> updates);
  // The same, with an optional checkpoint committed in the same atomic
  // batch; adds what it did to *stats (optional). An ad whose new findings
  // equal the stored ones costs no write (see ReplaceStats).
  Status ReplaceFindings(std::span<const FindingsUpdate> updates, const CheckpointWrite* checkpoint,
                         ReplaceStats* stats);
  // ReplaceFindings without waiting, through the ingest pipeline (grouped
  // with other queued writes into one synced batch, in queue order). `done`
  // runs once: on the calling thread for invalid arguments, else on a store
  // thread once the batch is durable or failed. An update of an ad that
  // does not exist, or findings that do not fit the ad, fail this request
  // alone (NotFound / InvalidArgument) and write nothing of it, its
  // checkpoint included. The updates and results must stay valid until
  // `done` runs; `done` must not call back into the store's write methods.
  void ReplaceFindingsAsync(std::span<const FindingsUpdate> updates, std::optional<CheckpointWrite> checkpoint,
                            std::function<void(const Status&, const ReplaceStats&)> done);

  // ---- reads ----

  Result<LeadPage> ListLeads(const LeadQuery& query) const;
  Result<StatusCounts> CountByStatus() const;
  // NotFound when there is no such ad.
  Result<AdDetail> GetAd(std::string_view ad_id) const;
  // A stored version (1..version_count). NotFound when absent.
  Result<AdRecord> GetAdVersion(std::string_view ad_id, uint32_t version) const;
  // Statistics and up to `limit` postings, newest first. NotFound when no
  // current ad carries the entity. `value` is canonical (records.h).
  Result<EntityDetail> GetEntity(scanner::EntityType type, std::string_view value,
                                 size_t limit) const;
  // Calls `visit` for each current ad in id order, starting after
  // `start_after` (empty: from the first), until it returns false. Sees one
  // snapshot; `visit` may call write methods.
  Status ForEachAd(std::string_view start_after,
                   const std::function<bool(const AdRecord&)>& visit) const;
  // ForEachAd with each ad's findings and lead, read by walking the three
  // families side by side on one snapshot (rescans: no point lookups).
  // `visit` may move from its argument. Corruption when an ad lacks its
  // findings or lead. `with_leads` false: the leads are neither read nor
  // checked (StoredAd::lead stays empty). `fields` kScan: only what scanning
  // again needs is decoded (keys::DecodeAdRecordForScan; a rescan). Like
  // every whole-family walk, it leaves the block cache alone.
  enum class AdFields { kAll, kScan };
  Status ForEachStoredAd(std::string_view start_after, bool with_leads, AdFields fields,
                         const std::function<bool(StoredAd&)>& visit) const;
  // The same walk one ad at a time, for callers that take ads from it on
  // several threads (a rescan's workers; one call at a time: a walk is not
  // thread-safe). It holds its snapshot until destroyed.
  class AdWalk {
   public:
    ~AdWalk();
    // Decodes the next ad into *out (its strings reuse their memory);
    // false at the end or on an error (status()).
    bool Next(StoredAd* out);
    const Status& status() const { return status_; }

   private:
    friend class Store;
    struct State;
    explicit AdWalk(std::unique_ptr<State> state);
    std::unique_ptr<State> state_;
    Status status_;
  };
  std::unique_ptr<AdWalk> WalkStoredAds(std::string_view start_after, bool with_leads, AdFields fields) const;

  // ---- reviews, audit, export (writers only unless noted) ----

  // Applies a review action: updates the review, appends history and an
  // audit event, moves the lead in the status index. Conflict when
  // expected_version is set and differs from the current review version
  // (someone else reviewed first); NotFound when the ad does not exist.
  Result<ReviewRecord> Review(std::string_view ad_id, const ReviewAction& action);
  // Appends an audit event (seq and time are assigned); returns its seq.
  // The log has no update or delete.
  Result<uint64_t> AppendAudit(const AuditEvent& event);
  // Reads the audit log (readers too).
  Result<std::vector<AuditEvent>> ListAudit(const AuditQuery& query) const;
  // Collects the matching ads with provenance and records the export (who,
  // purpose, which ads) in the audit log before returning them.
  Result<ExportResult> Export(const ExportQuery& query, std::string_view user);

  // ---- checkpoints and tokens (small named values) ----

  Status PutCheckpoint(std::string_view name, std::string_view value);
  Result<std::string> GetCheckpoint(std::string_view name) const;  // NotFound when absent
  // The store's clock (OpenOptions::clock_ms), which stamps
  // AdRecord::ingested_at_ms: milliseconds since the Unix epoch.
  int64_t NowMs() const;
  Status PutToken(std::string_view name, std::string_view value);
  Result<std::string> GetToken(std::string_view name) const;  // NotFound when absent
  Status DeleteToken(std::string_view name);

  // ---- maintenance ----

  // Verifies every index against the records it points at (and back):
  // lead index entries, postings, entity statistics, versions, reviews,
  // history, audit sequence, status counters. Fills *report; returns an
  // error only when the check itself could not run.
  Status CheckConsistency(ConsistencyReport* report, CheckMethod method = CheckMethod::kAuto) const;
  // Flushes memtables to table files (writers; not needed for durability).
  Status Flush();
  // Flushes, then compacts every family into its last level, compressed,
  // and waits for it: what background compactions would do over time,
  // done now (after a bulk import, or to reclaim the space of replaced
  // findings after a rescan). Table-file bytes after the flush and after
  // the compaction in *stats (required).
  Status Compact(CompactStats* stats);
  // Overwrites the stored schema version (tests of the refusal path).
  Status SetSchemaVersionForTesting(uint32_t version);

  // The implementation (store.cc); opaque to users.
  struct Impl;

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::storage
