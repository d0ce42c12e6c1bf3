// Store on RocksDB: one column family per record kind and index (keys.h).
//
// Ingest pipeline. PutScanned requests queue; a stager thread takes the
// queued requests as one group (up to kMaxGroupAds documents), stages it
// (reads the ads it names; keeps in-memory overlays of the ads
// and entities the group touches, so one id seen twice or one phone in
// many ads is handled once against the database plus the overlay; then
// finishes entity statistics, the network signal, leads, lead index
// entries and status counters) and hands one WriteBatch, each family's
// writes in key order (see Staging::Put and BuildBatch), to a writer
// thread, which commits groups in order with sync=true and completes their
// requests. While group k is being written, group k+1 is staged on top of
// group k's overlay (the "carry"), so staging and writing use both cores.
// At most one group is in flight while the next stages; a failed write
// fails the group staged on top of it and restarts staging from the
// database. Rescans (ReplaceFindings) queue in the same pipeline: staged
// against the same overlay, they write nothing for unchanged findings and
// commit their checkpoint in the group's batch. Other writes (reviews,
// audit, checkpoints, tokens) wait until no group is in flight, drop the
// carry and commit directly.
//
// Reads take a RocksDB snapshot (writers) or a shared lock against
// Refresh (read-only secondaries) so every read sees one state.
#include "storage/store.h"

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "storage/keys.h"

namespace vigil::storage {

using keys::Cf;
using scanner::Document;
using scanner::EntityType;
using scanner::ScanResult;

namespace {

constexpr size_t kMaxLeadLimit = 10000;
constexpr size_t kMaxAuditLimit = 100000;
constexpr size_t kMaxEntityPostings = 100000;
constexpr size_t kMaxReportedProblems = 100;
// A queued PutScanned group is committed with its followers up to this many
// documents per batch.
constexpr size_t kMaxGroupAds = 8192;
// Readahead for iterators that walk a whole family (rescans, the
// consistency check): without it, a rescan's walk of 50,000 ads issued
// 18,114 reads of single blocks; with it, 84 (strace).
constexpr size_t kWalkReadahead = size_t{2} << 20;
// Staging buffers larger than this are not kept for the next group.
constexpr size_t kMaxSpareBufferBytes = size_t{64} << 20;

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = fmt::format("{}: {}", what, s.ToString());
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsIOError()) return Status::IOError(std::move(msg));
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return Status::Busy(std::move(msg));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(msg));
  return Status::Internal(std::move(msg));
}

// RocksDB reports a held LOCK file as an IOError mentioning the lock file.
bool IsLockError(const rocksdb::Status& s) {
  const std::string text = s.ToString();
  return s.IsIOError() && (text.find("/LOCK") != std::string::npos ||
                           text.find("lock hold") != std::string::npos);
}

Status CorruptRecord(std::string_view what, std::string_view key) {
  return Status::Corruption(fmt::format("cannot decode {} record for key {:?}; run `vigil store check`",
                                        what, std::string(key)));
}

// The smallest key greater than every key starting with `prefix` (empty:
// none; every byte is 0xff).
std::string PrefixSuccessor(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return AsciiLower(a) == AsciiLower(b); });
  return it != haystack.end();
}

std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

// Checks a scan result before anything of it is stored. Spans must lie
// inside the ad's text of `text_size` bytes.
Status ValidateScan(std::string_view ad_id, size_t text_size, const ScanResult& result) {
  if (ad_id.empty()) return Status::InvalidArgument("a document has an empty id");
  if (ad_id.size() > kMaxAdIdBytes) {
    return Status::InvalidArgument(fmt::format("document id {:?}... is {} bytes; ids are at most {}",
                                               std::string(ad_id.substr(0, 40)), ad_id.size(),
                                               kMaxAdIdBytes));
  }
  if (!result.id.empty() && result.id != ad_id) {
    return Status::InvalidArgument(fmt::format("document {:?} was given the scan result of {:?}",
                                               std::string(ad_id), result.id));
  }
  if (!std::isfinite(result.score)) {
    return Status::InvalidArgument(fmt::format("document {:?}: score is not a finite number",
                                               std::string(ad_id)));
  }
  for (const std::string& c : result.categories) {
    if (c.empty()) {
      return Status::InvalidArgument(fmt::format("document {:?}: empty category", std::string(ad_id)));
    }
  }
  // `what` names the span only when it is wrong (no string built per hit).
  const auto check_span = [&](uint32_t start, uint32_t end, const auto& what) -> Status {
    if (start > end || end > text_size) {
      return Status::InvalidArgument(
          fmt::format("document {:?}: {} span [{}, {}) lies outside its {}-byte text",
                      std::string(ad_id), what(), start, end, text_size));
    }
    return Status::Ok();
  };
  for (const auto* hits : {&result.hits, &result.suppressed}) {
    for (const scanner::Hit& h : *hits) {
      if (h.rule.empty()) {
        return Status::InvalidArgument(fmt::format("document {:?}: a hit has no rule id", std::string(ad_id)));
      }
      if (Status s = check_span(h.start, h.end, [&] { return "hit " + h.rule; }); !s.ok()) return s;
    }
  }
  for (const scanner::Entity& e : result.entities) {
    if (Status s = check_span(e.start, e.end, [&] { return std::string(scanner::EntityTypeName(e.type)); }); !s.ok()) {
      return s;
    }
  }
  return Status::Ok();
}

Status ValidateNetworkOptions(const NetworkSignalOptions& o) {
  if (o.min_cities < 2 || o.min_cities > static_cast<int>(kMaxTrackedCities)) {
    return Status::InvalidArgument(fmt::format("network signal: min_cities {} is outside 2..{}",
                                               o.min_cities, kMaxTrackedCities));
  }
  if (o.window_days < 1 || o.window_days > 3650) {
    return Status::InvalidArgument(fmt::format("network signal: window_days {} is outside 1..3650", o.window_days));
  }
  if (!(o.boost > 0.0 && o.boost < 1.0)) {
    return Status::InvalidArgument(fmt::format("network signal: boost {} is outside (0, 1)", o.boost));
  }
  return Status::Ok();
}

int64_t SystemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool UsesPointLookups(Cf cf) {
  switch (cf) {
    case Cf::kMeta:
    case Cf::kAds:
    case Cf::kFindings:
    case Cf::kLeads:
    case Cf::kEntityStats:
    case Cf::kReviews:
    case Cf::kCheckpoints:
    case Cf::kTokens:
      return true;
    default:
      return false;
  }
}

bool IsLargeCf(Cf cf) {
  return cf == Cf::kAds || cf == Cf::kFindings || cf == Cf::kLeads || cf == Cf::kAdVersions;
}

rocksdb::CompressionType BestCompression() {
  const auto supported = rocksdb::GetSupportedCompressions();
  for (auto c : {rocksdb::kLZ4Compression, rocksdb::kSnappyCompression}) {
    if (std::find(supported.begin(), supported.end(), c) != supported.end()) return c;
  }
  return rocksdb::kNoCompression;
}

// `read_only`: a secondary instance (reads while vigild writes) only
// replays the WAL into its memtables and reads a few keys from them; their
// bloom filters (5% of each write buffer, ~20 MB zeroed at every open) were
// half of `vigil leads list`'s instructions.
rocksdb::ColumnFamilyOptions MakeCfOptions(Cf cf, const std::shared_ptr<rocksdb::Cache>& cache, bool read_only) {
  rocksdb::ColumnFamilyOptions o;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.format_version = 5;
  if (UsesPointLookups(cf)) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    if (!read_only) {
      o.memtable_whole_key_filtering = true;
      o.memtable_prefix_bloom_size_ratio = 0.05;
    }
  }
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Insert hints: each write batch is sorted by key, and with a hint (one
  // per memtable: the empty prefix) the skiplist repairs the previous
  // insert's position from the bottom level up instead of searching from
  // the top, so an insert near the previous one costs O(log distance).
  o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(0));
  // Flushes write level 0 uncompressed and compactions compress into the
  // last level: LZ4 at flush was ~9% of `vigil ingest`'s instructions
  // (callgrind; RocksDB also clears a 16 KiB LZ4 state per 4 KiB block),
  // for files the next compaction rewrites anyway (bench/RESULTS.md).
  o.compression = rocksdb::kNoCompression;
  o.bottommost_compression = BestCompression();
  o.level_compaction_dynamic_level_bytes = true;
  o.write_buffer_size = IsLargeCf(cf) ? (size_t{64} << 20) : (size_t{32} << 20);
  o.max_write_buffer_number = 4;
  o.level0_slowdown_writes_trigger = 36;
  o.level0_stop_writes_trigger = 64;
  o.target_file_size_base = 64 << 20;
  return o;
}

rocksdb::DBOptions MakeDbOptions(bool read_only) {
  rocksdb::DBOptions o;
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  o.max_background_jobs = 2;
  o.bytes_per_sync = 1 << 20;
  o.max_total_wal_size = 512 << 20;
  o.db_write_buffer_size = size_t{768} << 20;
  o.keep_log_file_num = 4;
  o.max_log_file_size = 16 << 20;
  o.max_open_files = -1;  // required by secondaries; keeps table readers open
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  o.info_log_level = read_only ? rocksdb::InfoLogLevel::WARN_LEVEL : rocksdb::InfoLogLevel::INFO_LEVEL;
  return o;
}

// Migrations from older schemas: each turns a store of schema `from` into
// schema `from + 1` by adding to one batch (the version bump is added by
// the caller). Schema 1 is the first; the list grows with the schema.
struct Migration {
  uint32_t from;
  const char* summary;
  Status (*apply)(rocksdb::DB* db, std::span<rocksdb::ColumnFamilyHandle* const> cfs,
                  rocksdb::WriteBatch* batch);
};

// Schema 1 -> 2: leads_by_score is no longer written. Every lead was in it
// and in leads_by_status under the same (score, id) order, so listing by
// score now merges leads_by_status's five status runs (ListLeads), and each
// ingested ad costs one memtable insert less (bench/RESULTS.md). The old
// entries are deleted; the family stays (RocksDB opens every family a store
// has) and is empty.
Status DropLeadsByScore(rocksdb::DB* db, std::span<rocksdb::ColumnFamilyHandle* const> cfs,
                        rocksdb::WriteBatch* batch) {
  rocksdb::ColumnFamilyHandle* h = cfs[static_cast<size_t>(Cf::kLeadsByScore)];
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
  for (it->SeekToFirst(); it->Valid(); it->Next()) batch->Delete(h, it->key());
  return FromRocks(it->status(), "reading leads_by_score");
}

// Schema 2 -> 3: findings values gain the extractor fingerprint of their
// entities (format 2, keys.h), which lets a rescan reuse them. Format 1
// values still decode (their entities are extracted afresh), so nothing
// is rewritten; the version bump keeps older vigils, which cannot read
// format 2, from misreading the store.
Status FindingsKeepFormat1(rocksdb::DB*, std::span<rocksdb::ColumnFamilyHandle* const>, rocksdb::WriteBatch*) {
  return Status::Ok();
}

inline constexpr Migration kMigrations[] = {
    {1, "leads_by_score dropped (score order merges the status runs of leads_by_status)", DropLeadsByScore},
    {2, "findings record the extractor fingerprint of their entities (older findings are read as they are)",
     FindingsKeepFormat1},
};
constexpr std::span<const Migration> Migrations() { return kMigrations; }

}  // namespace

void PutStats::Add(const PutStats& o) {
  ads += o.ads;
  new_ads += o.new_ads;
  new_versions += o.new_versions;
  duplicates += o.duplicates;
  flagged += o.flagged;
}

void ReplaceStats::Add(const ReplaceStats& o) {
  ads += o.ads;
  unchanged += o.unchanged;
  pack_only += o.pack_only;
  changed += o.changed;
  stale += o.stale;
}

// ---------------------------------------------------------------------------

namespace internal {

// The state of one ad inside a group being staged: as loaded from the
// database (or carried from the previous group), then as changed.
struct StagedAd {
  bool exists = false;       // a current version exists (stored or staged)
  std::string content_hash;  // of that version
  uint32_t version = 0;
  size_t text_size = 0;
  std::string ad_raw;        // its encoded AdRecord
  // False when version and text_size came from a rescan's update checked
  // against the lead (PrefetchUpdated): content_hash and ad_raw are then
  // read when a new version needs them (StagePut).
  bool ad_loaded = true;
  bool lead_loaded = false;
  std::optional<LeadRecord> db_lead;  // as stored before this group
  std::optional<LeadRecord> lead;     // as it will be stored
  bool lead_dirty = false;
  bool entities_loaded = false;
  std::vector<EntityRef> entities;  // indexed entities of the current findings
  bool findings_loaded = false;
  std::string findings_raw;  // the encoded findings of the current version
  bool rescored = false;  // findings written in this group: network re-derived from its phones
  uint64_t touched_seq = 0;  // the last group that wrote this ad
};

// The state of one entity inside a group being staged. Posting changes
// are tagged with the group that made them; they are kept while that
// group's batch may be in flight (CollectPostings merges them with the
// database either way).
struct StagedEntity {
  EntityType type = EntityType::kPhone;
  std::string value;
  bool loaded = false;
  bool exists = false;
  EntityStats stats;
  std::map<std::string, std::pair<Posting, uint64_t>> added;  // posting key → posting, group
  std::map<std::string, uint64_t> removed;                     // posting key → group
  bool changed = false;     // this group added or removed postings
  bool recount = false;     // this group removed postings
  bool newly_networked = false;
  uint64_t touched_seq = 0;
};

// What staging needs of one scanned document that depends on nothing but
// the document and its result: computed by PutScannedAsync on the calling
// thread (a scan worker in `vigil ingest`), so the single stager thread
// does not hash, encode or cut snippets.
struct PreparedAd {
  std::string content_hash;
  std::string findings;                 // EncodeFindings(result)
  std::vector<EntityRef> entities;      // IndexedEntities(result)
  std::vector<std::string> categories;  // sorted, unique
  std::string snippet;
  std::optional<int64_t> time;          // from posted_at / fetched_at; else the ingest time
};

inline PreparedAd PrepareAd(const Document& doc, const ScanResult& result) {
  PreparedAd p;
  p.content_hash = ContentHash(doc);
  p.findings = keys::EncodeFindings(result);
  p.entities = IndexedEntities(result);
  p.categories = result.categories;
  std::sort(p.categories.begin(), p.categories.end());
  p.categories.erase(std::unique(p.categories.begin(), p.categories.end()), p.categories.end());
  p.snippet = MakeSnippet(doc.text);
  if (auto t = ParseIsoTime(doc.posted_at)) {
    p.time = *t;
  } else if (auto f = ParseIsoTime(doc.fetched_at)) {
    p.time = *f;
  }
  return p;
}

// One staged write that goes through BuildBatch's sort; its key and value
// bytes are in StagingBuffers::arena (one buffer for the whole group
// instead of two strings per write).
struct StagedOp {
  keys::Cf cf;
  bool del;
  size_t key_at, key_size, value_at, value_size;
};

// The stager's scratch space, kept from group to group so that its pages
// stay mapped and warm.
struct StagingBuffers {
  std::vector<StagedOp> ops;
  std::string arena;
};

// What a staged group leaves for the next one: the final state of what it
// touched, and the counters after it.
struct StagingCarry {
  uint64_t seq = 0;
  std::unordered_map<std::string, StagedAd> ads;
  std::unordered_map<std::string, StagedEntity> entities;
  StatusCounts counts;
};

}  // namespace internal

struct Store::Impl {
  std::string dir;
  bool read_only = false;
  std::string secondary_dir;  // read-only: the secondary instance's own directory
  std::function<int64_t()> clock_ms;
  NetworkSignalOptions network;

  std::shared_ptr<rocksdb::Cache> cache;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // every opened family
  rocksdb::ColumnFamilyHandle* cf[keys::kCfCount] = {};

  // ---- writers: the ingest pipeline (see the overview) ----
  // A queued write: scanned documents (PutScanned) or new findings of
  // stored ads with an optional checkpoint (ReplaceFindings).
  struct PutRequest {
    std::span<const ScannedAd> ads;
    std::vector<internal::PreparedAd> prepared;  // parallel to ads
    std::function<void(const Status&, const PutStats&)> done;
    PutStats stats;
    bool replace = false;
    std::span<const FindingsUpdate> updates;
    std::vector<std::string> encoded_findings;  // parallel to updates, encoded by the caller's thread
    std::optional<CheckpointWrite> checkpoint;
    std::function<void(const Status&, const ReplaceStats&)> replace_done;
    ReplaceStats replace_stats;
    Status rejected;  // this request alone failed while staging (nothing of it staged)
    void Complete(const Status& s) {
      const Status& outcome = s.ok() ? rejected : s;
      if (replace) {
        replace_done(outcome, outcome.ok() ? replace_stats : ReplaceStats{});
      } else {
        done(outcome, outcome.ok() ? stats : PutStats{});
      }
    }
  };
  struct StagedGroup {
    uint64_t seq = 0;
    uint64_t base_seq = 0;  // the group whose carry it was staged on; 0: the database
    std::unique_ptr<rocksdb::WriteBatch> batch;
    StatusCounts counts;
    std::vector<std::unique_ptr<PutRequest>> requests;
  };
  // Requests not yet staged.
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<std::unique_ptr<PutRequest>> queue;
  bool stopping = false;
  // Guards everything below; stage_cv signals changes to it.
  std::mutex stage_mu;
  std::condition_variable stage_cv;
  int in_flight = 0;            // groups staged and not yet written
  bool staging_active = false;  // the stager is staging a group (without holding stage_mu)
  int exclusive_waiting = 0;    // other writes waiting for the pipeline to drain
  bool reset_carry = false;     // drop the carry once nothing is in flight
  bool stager_done = false;
  std::unique_ptr<internal::StagingCarry> carry;
  uint64_t next_group_seq = 1;
  uint64_t last_failed_seq = 0;
  Status last_failure;
  std::deque<std::unique_ptr<StagedGroup>> write_queue;
  // Written batches, cleared, for the stager to fill again (at most two).
  std::vector<std::unique_ptr<rocksdb::WriteBatch>> spare_batches;
  StatusCounts counts;          // as committed
  uint64_t next_audit_seq = 1;
  std::thread stager;
  std::thread writer;
  internal::StagingBuffers staging_buffers;  // the stager thread's alone

  // Read-only: Refresh takes it exclusively, reads shared.
  mutable std::shared_mutex refresh_mu;

  ~Impl() {
    StopPipeline();
    if (db) {
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
      db->Close();
      db.reset();
    }
    if (!secondary_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(secondary_dir, ec);
    }
  }

  rocksdb::ColumnFamilyHandle* H(Cf c) const { return cf[static_cast<size_t>(c)]; }

  Status WritableCheck(std::string_view what) const {
    if (!read_only) return Status::Ok();
    return Status::Unavailable(fmt::format(
        "{} needs the store opened for writing, and {} is open read-only; send it through vigild "
        "(or stop vigild and retry)",
        what, dir));
  }

  Status Commit(rocksdb::WriteBatch* batch) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db->Write(wo, batch), fmt::format("writing to the store at {}", dir));
  }

  // Get into *value; NotFound when absent.
  Status Get(const rocksdb::ReadOptions& ro, Cf c, std::string_view key, std::string* value) const {
    rocksdb::PinnableSlice slice;
    rocksdb::Status s = db->Get(ro, H(c), rocksdb::Slice(key.data(), key.size()), &slice);
    if (s.IsNotFound()) return Status::NotFound(std::string(keys::CfName(c)));
    if (!s.ok()) return FromRocks(s, fmt::format("reading {}", keys::CfName(c)));
    value->assign(slice.data(), slice.size());
    return Status::Ok();
  }

  Status Open(const OpenOptions& options);
  Status InitMeta(const OpenOptions& options);
  Status LoadWriterState();
  void StartPipeline();
  void StopPipeline();
  void StagerLoop();
  void WriterLoop();
  void StageGroup(std::vector<std::unique_ptr<PutRequest>> group);
  void Enqueue(std::unique_ptr<PutRequest> request);
  Result<uint64_t> AppendAuditLocked(const AuditEvent& event, rocksdb::WriteBatch* batch);
};

namespace {

// One consistent view for a read: a snapshot (writers) or a shared lock
// against Refresh (read-only secondaries, which do not move otherwise).
class ReadView {
 public:
  explicit ReadView(const Store::Impl& impl) : impl_(impl), lock_(impl.refresh_mu) {
    if (!impl.read_only) {
      snapshot_ = impl.db->GetSnapshot();
      options_.snapshot = snapshot_;
    }
  }
  ~ReadView() {
    if (snapshot_) impl_.db->ReleaseSnapshot(snapshot_);
  }
  ReadView(const ReadView&) = delete;
  ReadView& operator=(const ReadView&) = delete;

  const rocksdb::ReadOptions& options() const { return options_; }
  Status Get(Cf c, std::string_view key, std::string* value) const {
    return impl_.Get(options_, c, key, value);
  }
  // An iterator over keys in [lower, upper) (empty bounds: unbounded). The
  // bounds are copied into the returned holder. `readahead`: bytes read
  // ahead of the iterator in each table file (0: RocksDB's automatic
  // readahead), for walks over a whole family: they read each block once
  // and leave the block cache alone (cached, every block was a fresh
  // allocation: page faults, zeroed pages, and a hot block evicted).
  struct Iter {
    std::string lower, upper;
    rocksdb::Slice lower_slice, upper_slice;
    rocksdb::ReadOptions options;
    std::unique_ptr<rocksdb::Iterator> it;
    rocksdb::Iterator* operator->() { return it.get(); }
  };
  std::unique_ptr<Iter> NewIterator(Cf c, std::string lower = {}, std::string upper = {}, size_t readahead = 0) const {
    auto iter = std::make_unique<Iter>();
    iter->options = options_;
    iter->options.readahead_size = readahead;
    if (readahead > 0) iter->options.fill_cache = false;
    iter->lower = std::move(lower);
    iter->upper = std::move(upper);
    if (!iter->lower.empty()) {
      iter->lower_slice = rocksdb::Slice(iter->lower);
      iter->options.iterate_lower_bound = &iter->lower_slice;
    }
    if (!iter->upper.empty()) {
      iter->upper_slice = rocksdb::Slice(iter->upper);
      iter->options.iterate_upper_bound = &iter->upper_slice;
    }
    iter->it.reset(impl_.db->NewIterator(iter->options, impl_.H(c)));
    return iter;
  }

 private:
  const Store::Impl& impl_;
  std::shared_lock<std::shared_mutex> lock_;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  rocksdb::ReadOptions options_;
};

Status ReadLead(const ReadView& view, std::string_view ad_id, LeadRecord* lead) {
  std::string raw;
  Status s = view.Get(Cf::kLeads, ad_id, &raw);
  if (s.IsNotFound()) return Status::Corruption(fmt::format("ad {:?} has no lead record; run `vigil store check`", std::string(ad_id)));
  if (!s.ok()) return s;
  if (!keys::DecodeLead(raw, lead)) return CorruptRecord("lead", ad_id);
  return Status::Ok();
}

Status ReadReview(const ReadView& view, std::string_view ad_id, ReviewRecord* review) {
  std::string raw;
  Status s = view.Get(Cf::kReviews, ad_id, &raw);
  if (s.IsNotFound()) {
    *review = ReviewRecord{};
    return Status::Ok();
  }
  if (!s.ok()) return s;
  if (!keys::DecodeReview(raw, review)) return CorruptRecord("review", ad_id);
  return Status::Ok();
}

// Ad, findings, lead and review of one ad: the common part of GetAd and
// Export. NotFound when the ad does not exist.
Status ReadAdParts(const ReadView& view, std::string_view ad_id, AdRecord* ad, ScanResult* findings,
                   std::vector<std::string>* finding_ids, LeadRecord* lead, ReviewRecord* review) {
  std::string raw;
  Status s = view.Get(Cf::kAds, ad_id, &raw);
  if (s.IsNotFound()) return Status::NotFound(fmt::format("no ad with id {:?}", std::string(ad_id)));
  if (!s.ok()) return s;
  if (!keys::DecodeAdRecord(raw, ad)) return CorruptRecord("ad", ad_id);
  ad->doc.id = std::string(ad_id);
  s = view.Get(Cf::kFindings, ad_id, &raw);
  if (s.IsNotFound()) return Status::Corruption(fmt::format("ad {:?} has no findings record; run `vigil store check`", std::string(ad_id)));
  if (!s.ok()) return s;
  if (!keys::DecodeFindings(raw, findings)) return CorruptRecord("findings", ad_id);
  findings->id = std::string(ad_id);
  *finding_ids = FindingIds(*findings, ad->content_hash);
  if (s = ReadLead(view, ad_id, lead); !s.ok()) return s;
  return ReadReview(view, ad_id, review);
}

}  // namespace

// ---- open ------------------------------------------------------------------

Status Store::Impl::Open(const OpenOptions& options) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool exists = fs::exists(fs::path(dir) / "CURRENT", ec);
  if (read_only && !exists) {
    return Status::NotFound(fmt::format("there is no vigil store at {} (nothing was ingested there yet)", dir));
  }
  if (!read_only && !exists && !options.create_if_missing) {
    return Status::NotFound(fmt::format("there is no vigil store at {}", dir));
  }
  if (!read_only) {
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError(fmt::format("cannot create the store directory {}: {}", dir, ec.message()));
  }

  if (!read_only) {
    // Compactions run at the lowest CPU priority (nice 19; flushes keep
    // theirs): they take the CPU that ingest leaves idle instead of
    // delaying acknowledgements. On two cores a compaction burst after an
    // 8 s full load pushed vigild's half-load ack p99 to ~60 ms in 3 of 7
    // runs; at nice 19 it stayed at 20-32 ms in 8 and 30 s runs, and 47 ms
    // after a 90 s full load, during which compactions still got 30-70% of
    // a core and no write stall occurred (bench/RESULTS.md).
    // Process-wide: RocksDB's default Env owns the thread pools.
    static std::once_flag lowered;
    std::call_once(lowered, [] {
      rocksdb::Env::Default()->LowerThreadPoolCPUPriority(rocksdb::Env::LOW, rocksdb::CpuPriority::kLow);
    });
  }
  cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::DBOptions db_options = MakeDbOptions(read_only);

  std::vector<std::string> existing;
  if (exists) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir, &existing);
    if (!s.ok()) return FromRocks(s, fmt::format("reading the store at {}", dir));
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  std::vector<int> slot;  // descriptor index → Cf, or -1
  slot.push_back(-1);
  for (size_t i = 0; i < keys::kCfCount; ++i) {
    const auto c = static_cast<Cf>(i);
    const bool present = std::find(existing.begin(), existing.end(), keys::CfName(c)) != existing.end();
    if (read_only && !present) {
      return Status::InvalidArgument(fmt::format(
          "{} is not a complete vigil store (column family {} is missing)", dir, keys::CfName(c)));
    }
    descriptors.emplace_back(keys::CfName(c), MakeCfOptions(c, cache, read_only));
    slot.push_back(static_cast<int>(i));
  }
  if (!read_only) {
    // A writer must open every family, including ones a newer vigil added.
    for (const std::string& name : existing) {
      const bool known = std::any_of(descriptors.begin(), descriptors.end(),
                                     [&](const auto& d) { return d.name == name; });
      if (!known) {
        descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
        slot.push_back(-1);
      }
    }
  }

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (read_only) {
    static std::atomic<uint64_t> counter{0};
    secondary_dir = (fs::temp_directory_path(ec) /
                     fmt::format("vigil-secondary-{}-{}", getpid(), counter.fetch_add(1)))
                        .string();
    fs::create_directories(secondary_dir, ec);
    if (ec) {
      return Status::IOError(fmt::format("cannot create a directory for the read-only open: {}: {}",
                                         secondary_dir, ec.message()));
    }
    s = rocksdb::DB::OpenAsSecondary(db_options, dir, secondary_dir, descriptors, &handles, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, dir, descriptors, &handles, &raw);
  }
  if (!s.ok()) {
    if (IsLockError(s)) {
      return Status::Busy(fmt::format(
          "the store at {} is in use by another process (is vigild running?): open it read-only to "
          "read, send writes through vigild, or stop it and retry",
          dir));
    }
    return FromRocks(s, fmt::format("opening the store at {}", dir));
  }
  db.reset(raw);
  for (size_t i = 0; i < handles.size(); ++i) {
    if (slot[i] >= 0) cf[slot[i]] = handles[i];
  }
  if (read_only) {
    if (s = db->TryCatchUpWithPrimary(); !s.ok()) {
      return FromRocks(s, fmt::format("catching up with the writer of {}", dir));
    }
  }
  return InitMeta(options);
}

Status Store::Impl::InitMeta(const OpenOptions& options) {
  rocksdb::ReadOptions ro;
  std::string raw;
  Status st = Get(ro, Cf::kMeta, keys::kMetaSchemaVersion, &raw);
  if (st.IsNotFound()) {
    if (read_only) {
      return Status::InvalidArgument(fmt::format("{} is not a vigil store (it has no schema version)", dir));
    }
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, H(Cf::kAds)));
    it->SeekToFirst();
    if (it->Valid()) {
      return Status::Corruption(fmt::format("the store at {} holds ads but no schema version", dir));
    }
    rocksdb::WriteBatch batch;
    batch.Put(H(Cf::kMeta), keys::kMetaSchemaVersion, keys::EncodeSchemaVersion(Store::kSchemaVersion));
    batch.Put(H(Cf::kMeta), keys::kMetaCreatedAt, std::to_string(clock_ms()));
    batch.Put(H(Cf::kMeta), keys::kMetaNetworkSignal, keys::EncodeNetworkSignal(options.network));
    batch.Put(H(Cf::kMeta), keys::kMetaStatusCounts, keys::EncodeStatusCounts(StatusCounts{}));
    if (Status s = Commit(&batch); !s.ok()) return s;
    raw = keys::EncodeSchemaVersion(Store::kSchemaVersion);
  } else if (!st.ok()) {
    return st;
  }
  uint32_t version = 0;
  if (!keys::DecodeSchemaVersion(raw, &version)) {
    return Status::Corruption(fmt::format("the store at {} has an unreadable schema version", dir));
  }
  if (version > Store::kSchemaVersion) {
    return Status::InvalidArgument(fmt::format(
        "the store at {} was written by a newer vigil (schema {}); this vigil reads schema {}", dir,
        version, Store::kSchemaVersion));
  }
  if (version < Store::kSchemaVersion) {
    if (read_only) {
      return Status::Unavailable(fmt::format(
          "the store at {} has schema {}, older than this vigil's {}; open it once for writing to "
          "migrate it (vigild or any writing vigil command does; the reading commands do it themselves "
          "when no other process holds the store)",
          dir, version, Store::kSchemaVersion));
    }
    std::vector<rocksdb::ColumnFamilyHandle*> all(std::begin(cf), std::end(cf));
    while (version < Store::kSchemaVersion) {
      const auto migrations = Migrations();
      auto m = std::find_if(migrations.begin(), migrations.end(),
                            [&](const Migration& x) { return x.from == version; });
      if (m == migrations.end()) {
        return Status::Corruption(fmt::format(
            "the store at {} has schema {} and this vigil has no migration from it", dir, version));
      }
      rocksdb::WriteBatch batch;
      if (Status s = m->apply(db.get(), all, &batch); !s.ok()) return s;
      batch.Put(H(Cf::kMeta), keys::kMetaSchemaVersion, keys::EncodeSchemaVersion(version + 1));
      if (Status s = Commit(&batch); !s.ok()) return s;
      ++version;
    }
  }
  if (Status s = Get(ro, Cf::kMeta, keys::kMetaNetworkSignal, &raw); !s.ok()) {
    return s.IsNotFound() ? Status::Corruption(fmt::format("the store at {} has no network signal settings", dir)) : s;
  }
  if (!keys::DecodeNetworkSignal(raw, &network) || !ValidateNetworkOptions(network).ok()) {
    return Status::Corruption(fmt::format("the store at {} has unreadable network signal settings", dir));
  }
  return read_only ? Status::Ok() : LoadWriterState();
}

Status Store::Impl::LoadWriterState() {
  rocksdb::ReadOptions ro;
  std::string raw;
  Status s = Get(ro, Cf::kMeta, keys::kMetaStatusCounts, &raw);
  if (s.IsNotFound()) {
    counts = StatusCounts{};
  } else if (!s.ok()) {
    return s;
  } else if (!keys::DecodeStatusCounts(raw, &counts)) {
    return Status::Corruption(fmt::format("the store at {} has unreadable status counters", dir));
  }
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro, H(Cf::kAudit)));
  it->SeekToLast();
  next_audit_seq = 1;
  if (it->Valid()) {
    if (it->key().size() != 8) return Status::Corruption(fmt::format("the store at {} has a malformed audit key", dir));
    next_audit_seq = keys::GetBigEndian64(it->key().data()) + 1;
  }
  return FromRocks(it->status(), "reading the audit log");
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, const OpenOptions& options) {
  if (dir.empty()) return Status::InvalidArgument("the store directory is empty");
  if (Status s = ValidateNetworkOptions(options.network); !s.ok()) return s;
  if (options.block_cache_bytes < (size_t{1} << 20)) {
    return Status::InvalidArgument("block_cache_bytes must be at least 1 MiB");
  }
  const auto open = [&](const OpenOptions& o) -> Result<std::unique_ptr<Store>> {
    auto impl = std::make_unique<Impl>();
    impl->dir = dir;
    impl->read_only = o.read_only;
    impl->clock_ms = o.clock_ms ? o.clock_ms : SystemClockMs;
    if (Status s = impl->Open(o); !s.ok()) return s;
    if (!impl->read_only) impl->StartPipeline();
    return std::unique_ptr<Store>(new Store(std::move(impl)));
  };
  Result<std::unique_ptr<Store>> store = open(options);
  // Only a reader's "older schema" is Unavailable from Impl::Open.
  if (store.ok() || !options.read_only || !options.migrate_older_schema || !store.status().IsUnavailable()) {
    return store;
  }
  OpenOptions writer = options;
  writer.read_only = false;
  writer.create_if_missing = false;
  Result<std::unique_ptr<Store>> migrated = open(writer);  // migrates, then closes
  if (!migrated.ok()) {
    if (migrated.status().IsBusy()) {
      return Status::Unavailable(store.status().message() +
                                 "; another process holds it for writing (an older vigild?): restart that with "
                                 "this vigil, which migrates it");
    }
    return migrated.status();
  }
  migrated.value().reset();  // close the writer (releases the lock)
  return open(options);
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

const std::string& Store::dir() const { return impl_->dir; }
bool Store::read_only() const { return impl_->read_only; }
const NetworkSignalOptions& Store::network_signal() const { return impl_->network; }

Status Store::Refresh() {
  if (!impl_->read_only) return Status::Ok();
  std::unique_lock lock(impl_->refresh_mu);
  return FromRocks(impl_->db->TryCatchUpWithPrimary(),
                   fmt::format("catching up with the writer of {}", impl_->dir));
}

// ---- ingest staging -----------------------------------------------------------

namespace {

using internal::StagedAd;
using internal::StagedEntity;
using internal::StagingCarry;

class Staging {
 public:
  // Group `seq`, staged on `carry` (the previous group's overlay; null: on
  // the database alone, which then holds every earlier group).
  // `batch`: a cleared batch to fill (null: a new one); `buffers`: scratch
  // space this staging has alone until it is destroyed.
  Staging(Store::Impl* impl, int64_t now_ms, uint64_t seq, std::unique_ptr<StagingCarry> carry,
          std::unique_ptr<rocksdb::WriteBatch> batch, internal::StagingBuffers* buffers)
      : impl_(impl), now_ms_(now_ms), seq_(seq), counts_(impl->counts), ops_(buffers->ops),
        arena_(buffers->arena), batch_(std::move(batch)) {
    ops_.clear();
    arena_.clear();
    if (!carry) return;
    counts_ = carry->counts;
    ads_ = std::move(carry->ads);
    entities_ = std::move(carry->entities);
    for (auto& [id, st] : ads_) st.rescored = st.lead_dirty = false;
    for (auto& [key, ent] : entities_) {
      ent.changed = ent.recount = ent.newly_networked = false;
      // Groups before seq - 1 are durable: their posting changes are in
      // the database.
      std::erase_if(ent.added, [&](const auto& kv) { return kv.second.second + 1 < seq_; });
      std::erase_if(ent.removed, [&](const auto& kv) { return kv.second + 1 < seq_; });
    }
  }

  const StatusCounts& counts() const { return counts_; }

  // What the next group needs while this one is in flight: the ads and
  // entities this group wrote (the rest is in the database by the time the
  // next group after that stages).
  std::unique_ptr<StagingCarry> TakeCarry() {
    auto carry = std::make_unique<StagingCarry>();
    carry->seq = seq_;
    carry->counts = counts_;
    std::erase_if(ads_, [&](const auto& kv) { return kv.second.touched_seq != seq_; });
    std::erase_if(entities_, [&](const auto& kv) { return kv.second.touched_seq != seq_; });
    carry->ads = std::move(ads_);
    carry->entities = std::move(entities_);
    return carry;
  }
  // Completes the batch: the writes staged in the arena, sorted by column
  // family and key (a stable sort: writes to one key keep their order),
  // after the direct writes already in the batch (see Put). Sorted inserts
  // let each memtable's skiplist reuse the previous insert's position,
  // which roughly halves the cost of applying the batch.
  Status BuildBatch() {
    // Sort compact (family, first 16 key bytes, index) records; only keys
    // that share 16 bytes compare in full.
    struct SortKey {
      uint64_t a, b;
      uint32_t cf, index;
    };
    const auto word = [](std::string_view k, size_t at) {
      uint64_t v = 0;
      for (size_t i = at; i < at + 8; ++i) v = (v << 8) | (i < k.size() ? static_cast<uint8_t>(k[i]) : 0);
      return v;
    };
    // Bucket by family first (counting sort, keeps staging order), then
    // sort each family's run unless it is already in order (ads, findings
    // and leads of ids that arrive in order are).
    size_t family_start[keys::kCfCount + 1] = {};
    for (const Op& op : ops_) ++family_start[static_cast<size_t>(op.cf) + 1];
    for (size_t c = 0; c < keys::kCfCount; ++c) family_start[c + 1] += family_start[c];
    std::vector<SortKey> sort_keys(ops_.size());
    size_t next[keys::kCfCount];
    std::copy(family_start, family_start + keys::kCfCount, next);
    for (uint32_t i = 0; i < ops_.size(); ++i) {
      const std::string_view k = Key(ops_[i]);
      sort_keys[next[static_cast<size_t>(ops_[i].cf)]++] = {word(k, 0), word(k, 8), static_cast<uint32_t>(ops_[i].cf), i};
    }
    const auto less = [&](const SortKey& x, const SortKey& y) {
      if (x.a != y.a) return x.a < y.a;
      if (x.b != y.b) return x.b < y.b;
      const int c = Key(ops_[x.index]).compare(Key(ops_[y.index]));
      if (c != 0) return c < 0;
      return x.index < y.index;  // stable: writes to one key keep their order
    };
    for (size_t c = 0; c < keys::kCfCount; ++c) {
      const auto first = sort_keys.begin() + static_cast<std::ptrdiff_t>(family_start[c]);
      const auto last = sort_keys.begin() + static_cast<std::ptrdiff_t>(family_start[c + 1]);
      if (!std::is_sorted(first, last, less)) std::sort(first, last, less);
    }
    for (const SortKey& sk : sort_keys) {
      const Op& op = ops_[sk.index];
      const std::string_view key = Key(op);
      rocksdb::Status s;
      if (op.del) {
        s = batch_->Delete(impl_->H(op.cf), rocksdb::Slice(key.data(), key.size()));
      } else {
        const std::string_view value = Value(op);
        s = batch_->Put(impl_->H(op.cf), rocksdb::Slice(key.data(), key.size()),
                        rocksdb::Slice(value.data(), value.size()));
      }
      NoteBatchStatus(s);
    }
    ops_.clear();
    arena_.clear();
    if (arena_.capacity() > kMaxSpareBufferBytes) arena_.shrink_to_fit();
    if (ops_.capacity() * sizeof(Op) > kMaxSpareBufferBytes) ops_.shrink_to_fit();
    return FromRocks(batch_error_, "building the write batch");
  }
  std::unique_ptr<rocksdb::WriteBatch> TakeBatch() { return std::move(batch_); }

  // Room for the writes of about `ads` documents.
  void Reserve(size_t ads) {
    if (!batch_) batch_ = std::make_unique<rocksdb::WriteBatch>(ads * 2048);
    ops_.reserve(ads * 12);
    arena_.reserve(ads * 640);
  }

  // Ads of this group with the state they are staged on.
  using AdList = std::vector<std::pair<std::string_view, StagedAd*>>;

  // Calls fn(i, value) for each id of `ids` (sorted by key, unique) that
  // family `cf` holds. A rescan's ids are either runs of neighbouring keys
  // (most ads' findings changed), which one iterator reads entry by entry
  // from blocks it already has, or scattered (a few changed): there a seek
  // reads a block of every file whose range holds the key, while a point
  // lookup's bloom filters skip the files without it. So the iterator
  // steps to the next id while it is near and seeks when it is not; once
  // most ids have needed a seek, the rest are point lookups.
  template <typename Fn>
  Status WalkSorted(Cf cf, const AdList& ids, Fn&& fn) {
    constexpr int kMaxSteps = 8;
    // Each block is read once per group, and caching it cost a fresh
    // allocation (page faults) and an eviction per block.
    if (ids.empty()) return Status::Ok();
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->H(cf)));
    bool positioned = false;
    size_t i = 0, seeks = 0;
    for (; i < ids.size(); ++i) {
      const rocksdb::Slice key(ids[i].first.data(), ids[i].first.size());
      // At the first key >= the previous id: step while below this one.
      bool near = positioned && it->Valid();
      for (int step = 0; near && it->key().compare(key) < 0; ++step) {
        if (step == kMaxSteps) {
          near = false;
        } else {
          it->Next();
          near = it->Valid();
        }
      }
      if (!near && positioned && ++seeks > 4 && seeks * 2 > i) break;  // scattered: point lookups from here
      if (!near) it->Seek(key);
      positioned = true;
      if (it->Valid() && it->key() == key) {
        if (Status s = fn(i, View(it->value())); !s.ok()) return s;
      } else if (!it->status().ok()) {
        break;
      }
    }
    if (!it->status().ok()) return FromRocks(it->status(), fmt::format("reading {}", keys::CfName(cf)));
    rocksdb::PinnableSlice value;
    for (; i < ids.size(); ++i) {
      value.Reset();
      const rocksdb::Status s =
          impl_->db->Get(ro, impl_->H(cf), rocksdb::Slice(ids[i].first.data(), ids[i].first.size()), &value);
      if (s.IsNotFound()) continue;
      if (!s.ok()) return FromRocks(s, fmt::format("reading {}", keys::CfName(cf)));
      if (Status st = fn(i, View(value)); !st.ok()) return st;
    }
    return Status::Ok();
  }

  // Loads the current versions of these ingested documents' ads, mostly
  // new (absent) ids, with point Gets: RocksDB 7.8's MultiGet skips the
  // memtable bloom filters, which answer for absent ids without searching
  // the memtables.
  Status PrefetchAds(const std::vector<std::string_view>& ids) {
    const rocksdb::ReadOptions ro;
    rocksdb::PinnableSlice value;
    for (std::string_view id : ids) {
      auto [it, inserted] = ads_.try_emplace(std::string(id));
      if (!inserted) continue;
      StagedAd& st = it->second;
      value.Reset();
      const rocksdb::Status s = impl_->db->Get(ro, impl_->H(Cf::kAds), rocksdb::Slice(id.data(), id.size()), &value);
      if (s.IsNotFound()) {
        st.lead_loaded = st.entities_loaded = st.findings_loaded = true;
        continue;
      }
      if (!s.ok()) return FromRocks(s, "reading ads");
      st.ad_raw.assign(value.data(), value.size());
      if (Status loaded = LoadAdFields(id, &st); !loaded.ok()) return loaded;
    }
    return Status::Ok();
  }

  // Loads the stored ads these requests update (ReplaceFindings), their
  // leads and their findings, each family in one walk (WalkSorted): the
  // ids of a rescan are stored and mostly neighbours. An update that says
  // which version it read and how long that version's text is
  // (FindingsUpdate::text_size) is taken at its word when the lead, which
  // every new version rewrites, holds that version: its ad record is not
  // read (a fifth of the stager's instructions in a rescan that rewrites
  // a third of the ads). The others' ad records are read, and so are those
  // of ads whose updates in this group disagree. (A lead whose ad record is
  // gone, which only damage can cause, is then taken at its word too; the
  // consistency check reports it.)
  Status PrefetchUpdated(const std::vector<std::unique_ptr<Store::Impl::PutRequest>>& group) {
    struct Todo {
      std::string_view id;
      StagedAd* st;
      const FindingsUpdate* update;  // the first of this id's updates
      bool agree = true;             // its other updates give the same version and text size
    };
    std::vector<Todo> todo;
    std::unordered_map<std::string_view, size_t> index;  // id -> its Todo
    for (const auto& r : group) {
      for (const FindingsUpdate& u : r->updates) {
        auto [it, inserted] = ads_.try_emplace(u.ad_id);
        if (inserted) {
          index.emplace(it->first, todo.size());
          todo.push_back({it->first, &it->second, &u});
        } else if (auto t = index.find(u.ad_id); t != index.end()) {
          Todo& first = todo[t->second];
          first.agree = first.agree && u.expected_version == first.update->expected_version &&
                        u.text_size == first.update->text_size;
        }
      }
    }
    std::sort(todo.begin(), todo.end(), [](const Todo& x, const Todo& y) { return x.id < y.id; });
    AdList ids;
    ids.reserve(todo.size());
    for (const Todo& t : todo) ids.emplace_back(t.id, t.st);
    if (Status s = WalkSorted(Cf::kLeads, ids,
                              [&](size_t i, std::string_view value) {
                                LeadRecord lead;
                                if (!keys::DecodeLead(value, &lead)) return CorruptRecord("lead", ids[i].first);
                                StagedAd& st = *ids[i].second;
                                st.db_lead = lead;
                                st.lead = std::move(lead);
                                return Status::Ok();
                              });
        !s.ok()) {
      return s;
    }
    AdList unread;
    for (const Todo& t : todo) {
      StagedAd& st = *t.st;
      st.lead_loaded = true;
      const FindingsUpdate& u = *t.update;
      if (t.agree && st.lead && u.expected_version != 0 && u.text_size && st.lead->version == u.expected_version) {
        st.exists = true;
        st.version = u.expected_version;
        st.text_size = *u.text_size;
        st.ad_loaded = false;
      } else {
        unread.emplace_back(t.id, t.st);
      }
    }
    if (Status s = WalkSorted(Cf::kAds, unread,
                              [&](size_t i, std::string_view value) {
                                StagedAd& st = *unread[i].second;
                                st.ad_raw.assign(value);
                                return LoadAdFields(unread[i].first, &st);
                              });
        !s.ok()) {
      return s;
    }
    for (const auto& [id, st] : unread) {
      if (st->exists) continue;
      // No such ad (a lead without its ad is for the consistency check).
      st->lead.reset();
      st->db_lead.reset();
      st->entities_loaded = st->findings_loaded = true;
    }
    AdList findings;
    for (const Todo& t : todo) {
      if (t.st->exists && !t.st->findings_loaded) findings.emplace_back(t.id, t.st);
    }
    if (Status s = WalkSorted(Cf::kFindings, findings,
                              [&](size_t i, std::string_view value) {
                                StagedAd& st = *findings[i].second;
                                st.findings_raw.assign(value);
                                st.entities.clear();
                                if (!keys::DecodeFindingsEntities(st.findings_raw, &st.entities)) {
                                  return CorruptRecord("findings", findings[i].first);
                                }
                                return Status::Ok();
                              });
        !s.ok()) {
      return s;
    }
    for (const auto& [id, st] : findings) st->findings_loaded = st->entities_loaded = true;
    return Status::Ok();
  }

  // Whether every update of a ReplaceFindings request can be applied to the
  // ads as staged so far: the ad exists and the findings fit its text.
  Status CheckReplace(std::span<const FindingsUpdate> updates) const {
    for (const FindingsUpdate& u : updates) {
      auto it = ads_.find(u.ad_id);
      if (it == ads_.end() || !it->second.exists) return Status::NotFound(fmt::format("no ad with id {:?}", u.ad_id));
      if (u.expected_version != 0 && u.expected_version != it->second.version) continue;
      if (Status s = ValidateScan(u.ad_id, it->second.text_size, *u.result); !s.ok()) return s;
    }
    return Status::Ok();
  }

  // A checkpoint in the batch (the last one staged for a name wins).
  void StageCheckpoint(const CheckpointWrite& checkpoint) {
    Put(Cf::kCheckpoints, checkpoint.name, checkpoint.value);
  }

  // A scanned document: duplicate, new ad or new version.
  Status StagePut(const Document& doc, const ScanResult& result, internal::PreparedAd& prepared, PutStats* stats) {
    StagedAd& st = ads_.at(doc.id);
    std::string& hash = prepared.content_hash;
    if (st.exists && !st.ad_loaded) {
      if (Status s = LoadAdRecord(doc.id, &st); !s.ok()) {
        return s.IsNotFound() ? Status::Corruption(fmt::format("ad {:?} has a lead but no record; run `vigil store "
                                                               "check`",
                                                               doc.id))
                              : s;
      }
    }
    if (st.exists && st.content_hash == hash) {
      ++stats->duplicates;
      return Status::Ok();
    }
    ReviewStatus status = ReviewStatus::kNew;
    uint32_t version = 1;
    if (st.exists) {
      if (Status s = LoadLeadAndEntities(doc.id, &st); !s.ok()) return s;
      Put(Cf::kAdVersions, keys::AdVersionKey(doc.id, st.version), std::move(st.ad_raw));
      version = st.version + 1;
      if (st.lead) status = st.lead->status;
      ++stats->new_versions;
    } else {
      ++stats->new_ads;
    }
    const int64_t time = prepared.time ? *prepared.time : LeadTime(doc, now_ms_);
    st.ad_raw = keys::EncodeAdRecord(doc, hash, version, time, now_ms_);
    st.content_hash = std::move(hash);
    st.version = version;
    st.text_size = doc.text.size();
    st.exists = true;
    Put(Cf::kAds, doc.id, st.ad_raw);
    st.findings_raw = std::move(prepared.findings);
    st.findings_loaded = true;
    Put(Cf::kFindings, doc.id, st.findings_raw);

    LeadRecord lead;
    lead.base_score = lead.score = result.score;
    lead.flagged = result.flagged;
    lead.status = status;
    lead.time = time;
    lead.version = version;
    lead.categories = std::move(prepared.categories);
    lead.city = doc.city;
    lead.posted_at = doc.posted_at;
    lead.pack_version = result.pack_version;
    lead.snippet = std::move(prepared.snippet);
    UpdatePostings(doc.id, &st, std::move(prepared.entities), lead.time, lead.city);
    st.lead = std::move(lead);
    st.lead_dirty = st.rescored = true;
    if (result.flagged) ++stats->flagged;
    return Status::Ok();
  }

  // New findings for a stored ad (rescans); CheckReplace accepted them.
  // Findings equal to the stored ones write nothing; equal but for the
  // pack version, only the findings and the lead record.
  Status StageReplace(const FindingsUpdate& u, std::string encoded, ReplaceStats* stats) {
    const std::string& ad_id = u.ad_id;
    const ScanResult& result = *u.result;
    StagedAd& st = ads_.at(ad_id);
    ++stats->ads;
    if (u.expected_version != 0 && u.expected_version != st.version) {
      ++stats->stale;
      return Status::Ok();
    }
    if (Status s = LoadLeadAndEntities(ad_id, &st); !s.ok()) return s;
    if (!st.lead) return Status::Corruption(fmt::format("ad {:?} has no lead record; run `vigil store check`", ad_id));
    if (encoded == st.findings_raw) {
      ++stats->unchanged;
      return Status::Ok();
    }
    if (keys::SameFindingsButPackVersion(encoded, st.findings_raw)) {
      ++stats->pack_only;
      st.findings_raw = encoded;
      Put(Cf::kFindings, ad_id, std::move(encoded));
      st.touched_seq = seq_;  // the next group, staged while this one is written, reads it from the carry
      if (st.lead->pack_version == result.pack_version) return Status::Ok();  // only entities_by changed
      st.lead->pack_version = result.pack_version;
      if (!st.lead_dirty) {  // else Finish writes the lead
        Put(Cf::kLeads, ad_id, keys::EncodeLead(*st.lead));
        st.db_lead = st.lead;
      }
      return Status::Ok();
    }
    ++stats->changed;
    st.findings_raw = encoded;
    Put(Cf::kFindings, ad_id, std::move(encoded));
    LeadRecord lead = *st.lead;
    lead.base_score = result.score;
    lead.flagged = result.flagged;
    lead.categories = result.categories;
    std::sort(lead.categories.begin(), lead.categories.end());
    lead.categories.erase(std::unique(lead.categories.begin(), lead.categories.end()), lead.categories.end());
    lead.pack_version = result.pack_version;
    UpdatePostings(ad_id, &st, IndexedEntities(result), lead.time, lead.city);
    st.lead = std::move(lead);
    st.lead_dirty = st.rescored = true;
    return Status::Ok();
  }

  // Entity statistics, the network signal, leads, lead indexes, counters.
  Status Finish() {
    if (Status s = LoadEntityStats(); !s.ok()) return s;
    for (auto& [key, ent] : entities_) {
      if (!ent.changed) continue;
      if (Status s = UpdateEntity(key, &ent); !s.ok()) return s;
    }
    for (auto& [key, ent] : entities_) {
      if (!ent.newly_networked) continue;
      if (Status s = MarkNetworkAds(ent); !s.ok()) return s;
    }
    for (auto& [id, st] : ads_) {
      if (!st.rescored) continue;
      bool network = false;
      for (const EntityRef& e : st.entities) {
        if (e.type != EntityType::kPhone) continue;
        const StagedEntity& ent = entities_.at(keys::EntityStatsKey(e.type, e.value));
        network = network || ent.stats.network;
      }
      st.lead->network = network;
    }
    // In id order: the lead records then go straight into the batch (Put).
    std::vector<std::pair<const std::string*, StagedAd*>> dirty;
    for (auto& [id, st] : ads_) {
      if (st.lead_dirty) dirty.emplace_back(&id, &st);
    }
    std::sort(dirty.begin(), dirty.end(), [](const auto& x, const auto& y) { return *x.first < *y.first; });
    for (const auto& [id, st] : dirty) WriteLead(*id, st);
    Put(Cf::kMeta, std::string(keys::kMetaStatusCounts), keys::EncodeStatusCounts(counts_));
    return Status::Ok();
  }

 private:
  StagedEntity& Entity(const EntityRef& e) {
    auto [it, inserted] = entities_.try_emplace(keys::EntityStatsKey(e.type, e.value));
    if (inserted) {
      it->second.type = e.type;
      it->second.value = e.value;
    }
    return it->second;
  }

  // Fills the fields of a stored ad from st->ad_raw.
  static Status LoadAdFields(std::string_view ad_id, StagedAd* st) {
    int64_t time;
    if (!keys::DecodeAdSummary(st->ad_raw, &st->version, &st->content_hash, &time, &st->text_size)) {
      return CorruptRecord("ad", ad_id);
    }
    st->exists = true;
    st->ad_loaded = true;
    return Status::Ok();
  }

  // Reads an ad's stored record into *st (an ad staged without it, or not
  // staged yet). NotFound when there is none: the caller says what that
  // damage is.
  Status LoadAdRecord(const std::string& ad_id, StagedAd* st) {
    if (Status s = impl_->Get(rocksdb::ReadOptions(), Cf::kAds, ad_id, &st->ad_raw); !s.ok()) return s;
    return LoadAdFields(ad_id, st);
  }

  Status LoadLeadAndEntities(const std::string& ad_id, StagedAd* st) {
    const rocksdb::ReadOptions ro;
    std::string raw;
    if (!st->lead_loaded) {
      Status s = impl_->Get(ro, Cf::kLeads, ad_id, &raw);
      if (s.ok()) {
        LeadRecord lead;
        if (!keys::DecodeLead(raw, &lead)) return CorruptRecord("lead", ad_id);
        st->db_lead = lead;
        st->lead = std::move(lead);
      } else if (!s.IsNotFound()) {
        return s;
      }
      st->lead_loaded = true;
    }
    if (!st->entities_loaded || !st->findings_loaded) {
      Status s = impl_->Get(ro, Cf::kFindings, ad_id, &st->findings_raw);
      if (s.ok()) {
        st->entities.clear();
        if (!keys::DecodeFindingsEntities(st->findings_raw, &st->entities)) return CorruptRecord("findings", ad_id);
      } else if (!s.IsNotFound()) {
        return s;
      } else {
        st->findings_raw.clear();
      }
      st->entities_loaded = st->findings_loaded = true;
    }
    return Status::Ok();
  }

  // Replaces the postings of an ad: the old ones (current entities at the
  // current lead's time and city) by the new ones.
  void UpdatePostings(const std::string& ad_id, StagedAd* st, std::vector<EntityRef> entities,
                      int64_t time, const std::string& city) {
    const bool had_lead = st->lead.has_value();
    const int64_t old_time = had_lead ? st->lead->time : 0;
    const bool same_place = had_lead && old_time == time && st->lead->city == city;
    for (const EntityRef& e : st->entities) {
      const bool kept = same_place && std::find(entities.begin(), entities.end(), e) != entities.end();
      if (kept) continue;
      std::string key = keys::PostingKey(e.type, e.value, old_time, ad_id);
      StagedEntity& ent = Entity(e);
      ent.added.erase(key);
      ent.changed = ent.recount = true;
      Delete(Cf::kEntities, key);
      ent.removed[std::move(key)] = seq_;
    }
    for (const EntityRef& e : entities) {
      StagedEntity& ent = Entity(e);  // also loads stats of kept entities (network)
      const bool kept = same_place && std::find(st->entities.begin(), st->entities.end(), e) != st->entities.end();
      if (kept) continue;
      std::string key = keys::PostingKey(e.type, e.value, time, ad_id);
      Put(Cf::kEntities, key, city);
      ent.changed = true;
      ent.added[std::move(key)] = {Posting{ad_id, time, city}, seq_};
    }
    st->entities = std::move(entities);
  }

  Status LoadEntityStats() {
    // Point Gets for the memtable bloom filters (see PrefetchAds).
    const rocksdb::ReadOptions ro;
    rocksdb::PinnableSlice value;
    for (auto& [key, ent] : entities_) {
      if (ent.loaded) continue;
      ent.loaded = true;
      value.Reset();
      const rocksdb::Status s = impl_->db->Get(ro, impl_->H(Cf::kEntityStats), key, &value);
      if (s.IsNotFound()) continue;
      if (!s.ok()) return FromRocks(s, "reading entity statistics");
      if (!keys::DecodeEntityStats(View(value), &ent.stats)) return CorruptRecord("entity statistics", key);
      ent.exists = true;
    }
    return Status::Ok();
  }

  // The entity's postings with time in [lo, hi], as they will be after
  // this batch: stored ones not removed or re-added, plus the added ones.
  Status CollectPostings(const StagedEntity& ent, int64_t lo, int64_t hi, std::vector<Posting>* out) {
    const std::string prefix = keys::PostingPrefix(ent.type, ent.value);
    const std::string upper = PrefixSuccessor(prefix);
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper_slice(upper);
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->H(Cf::kEntities)));
    EntityType type;
    std::string value;
    for (it->Seek(keys::PostingSeek(ent.type, ent.value, lo)); it->Valid(); it->Next()) {
      const std::string_view key = View(it->key());
      Posting p;
      if (!keys::ParsePostingKey(key, &type, &value, &p.time, &p.ad_id)) return CorruptRecord("posting", key);
      if (p.time > hi) break;
      const std::string k(key);
      if (ent.removed.count(k) || ent.added.count(k)) continue;
      p.city.assign(it->value().data(), it->value().size());
      out->push_back(std::move(p));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading postings");
    for (const auto& [key, added] : ent.added) {
      if (added.first.time >= lo && added.first.time <= hi) out->push_back(added.first);
    }
    return Status::Ok();
  }

  static void AddCity(EntityStats* stats, const std::string& city) {
    const std::string c = NormalizeCity(city);
    if (c.empty()) return;
    auto it = std::lower_bound(stats->cities.begin(), stats->cities.end(), c);
    if (it != stats->cities.end() && *it == c) return;
    if (stats->cities.size() >= kMaxTrackedCities) {
      stats->cities_truncated = true;
      return;
    }
    stats->cities.insert(it, c);
  }

  Status UpdateEntity(const std::string& key, StagedEntity* ent) {
    EntityStats& stats = ent->stats;
    std::vector<Posting> all;
    const bool recount = ent->recount;
    if (recount) {
      if (Status s = CollectPostings(*ent, INT64_MIN, INT64_MAX, &all); !s.ok()) return s;
      const bool network = ent->exists && stats.network;
      const int64_t network_since = stats.network_since;
      stats = EntityStats{};
      stats.network = network;
      stats.network_since = network_since;
      stats.ads = all.size();
      for (size_t i = 0; i < all.size(); ++i) {
        stats.first_seen = i == 0 ? all[i].time : std::min(stats.first_seen, all[i].time);
        stats.last_seen = i == 0 ? all[i].time : std::max(stats.last_seen, all[i].time);
        AddCity(&stats, all[i].city);
      }
    } else {
      for (const auto& [k, added] : ent->added) {
        if (added.second != seq_) continue;  // counted by an earlier group
        const Posting& p = added.first;
        const bool first = stats.ads == 0;
        stats.first_seen = first ? p.time : std::min(stats.first_seen, p.time);
        stats.last_seen = first ? p.time : std::max(stats.last_seen, p.time);
        ++stats.ads;
        AddCity(&stats, p.city);
      }
    }
    const NetworkSignalOptions& net = impl_->network;
    if (ent->type == EntityType::kPhone && !stats.network && stats.ads > 0 &&
        (stats.cities.size() >= static_cast<size_t>(net.min_cities) || stats.cities_truncated)) {
      // Before this group no window qualified, so a qualifying window now
      // holds a posting it added: look within one window of them.
      if (!recount) {
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (const auto& [k, added] : ent->added) {
          if (added.second != seq_) continue;
          lo = std::min(lo, added.first.time);
          hi = std::max(hi, added.first.time);
        }
        const int64_t window = static_cast<int64_t>(net.window_days) * 86400;
        if (Status s = CollectPostings(*ent, lo - window, hi + window, &all); !s.ok()) return s;
      }
      if (auto since = FindNetworkWindow(std::move(all), net)) {
        stats.network = true;
        stats.network_since = *since;
        ent->newly_networked = true;
      }
    }
    if (stats.ads == 0) {
      Delete(Cf::kEntityStats, key);
    } else {
      Put(Cf::kEntityStats, key, keys::EncodeEntityStats(stats));
    }
    ent->exists = stats.ads > 0;
    ent->touched_seq = seq_;
    return Status::Ok();
  }

  // The phone just got the network signal: every ad carrying it gets it
  // too (ads whose findings this group wrote get it from their own phones).
  Status MarkNetworkAds(const StagedEntity& ent) {
    std::vector<Posting> postings;
    if (Status s = CollectPostings(ent, INT64_MIN, INT64_MAX, &postings); !s.ok()) return s;
    for (const Posting& p : postings) {
      auto [pos, inserted] = ads_.try_emplace(p.ad_id);
      StagedAd& st = pos->second;
      if (st.rescored) continue;
      if (inserted) {
        // Loaded in full: the entry may be carried into the next group,
        // which may write a new version of the ad.
        if (Status s = LoadAdRecord(p.ad_id, &st); !s.ok()) {
          return s.IsNotFound() ? Status::Corruption(fmt::format("a posting of {:?} points at missing ad {:?}",
                                                                  ent.value, p.ad_id))
                                : s;
        }
      }
      if (Status s = LoadLeadAndEntities(p.ad_id, &st); !s.ok()) return s;
      if (!st.lead) {
        return Status::Corruption(fmt::format("a posting of {:?} points at ad {:?}, which has no lead", ent.value, p.ad_id));
      }
      if (!st.lead->network) {
        st.lead->network = true;
        st.lead_dirty = true;
      }
    }
    return Status::Ok();
  }

  void WriteLead(const std::string& id, StagedAd* st) {
    LeadRecord& lead = *st->lead;
    lead.score = lead.network ? NetworkBoostedScore(lead.base_score, impl_->network.boost) : lead.base_score;
    const std::vector<keys::IndexEntry> entries = keys::LeadIndexEntries(id, lead);
    const std::string value = keys::EncodeLeadIndexValue(lead);
    std::vector<keys::IndexEntry> old_entries;
    bool same_value = false;
    if (st->db_lead) {
      old_entries = keys::LeadIndexEntries(id, *st->db_lead);
      for (const keys::IndexEntry& old : old_entries) {
        if (std::find(entries.begin(), entries.end(), old) == entries.end()) {
          Delete(old.cf, old.key);
        }
      }
      same_value = keys::EncodeLeadIndexValue(*st->db_lead) == value;
      StatusCount& c = counts_[st->db_lead->status];
      --c.total;
      if (st->db_lead->flagged) --c.flagged;
    }
    // An entry that exists with the same value needs no write.
    for (const keys::IndexEntry& e : entries) {
      if (same_value && std::find(old_entries.begin(), old_entries.end(), e) != old_entries.end()) continue;
      Put(e.cf, e.key, value);
    }
    std::string encoded = keys::EncodeLead(lead);
    if (!st->db_lead || keys::EncodeLead(*st->db_lead) != encoded) Put(Cf::kLeads, id, std::move(encoded));
    StatusCount& c = counts_[lead.status];
    ++c.total;
    if (lead.flagged) ++c.flagged;
    // Later groups see this lead as stored.
    st->db_lead = lead;
    st->lead_dirty = false;
    st->touched_seq = seq_;
  }

  using Op = internal::StagedOp;

  // The families keyed by ad id, whose values are most of a group's bytes.
  static int DirectFamily(Cf cf) {
    switch (cf) {
      case Cf::kAds: return 0;
      case Cf::kFindings: return 1;
      case Cf::kLeads: return 2;
      default: return -1;
    }
  }
  void NoteBatchStatus(const rocksdb::Status& s) {
    if (!s.ok() && batch_error_.ok()) batch_error_ = s;
  }

  // A write of one of the direct families goes straight into the batch
  // while that family's keys come in order (ids that arrive in order, and
  // leads, which Finish writes in id order): it is then already sorted,
  // and copying it through the arena would only cost time. From the first
  // key out of order on, the family's writes go through the arena and
  // BuildBatch's sort; they land after its direct ones, so writes to one
  // key keep their order.
  void Put(Cf cf, std::string_view key, std::string_view value) {
    if (const int d = DirectFamily(cf); d >= 0 && direct_open_[d]) {
      if (std::string_view(last_direct_[d]) <= key) {  // "" before the first: ids are never empty
        NoteBatchStatus(batch_->Put(impl_->H(cf), rocksdb::Slice(key.data(), key.size()),
                                    rocksdb::Slice(value.data(), value.size())));
        last_direct_[d].assign(key);
        return;
      }
      direct_open_[d] = false;
    }
    ops_.push_back({cf, false, arena_.size(), key.size(), arena_.size() + key.size(), value.size()});
    arena_.append(key);
    arena_.append(value);
  }
  void Delete(Cf cf, std::string_view key) {
    ops_.push_back({cf, true, arena_.size(), key.size(), 0, 0});
    arena_.append(key);
  }
  std::string_view Key(const Op& op) const { return std::string_view(arena_).substr(op.key_at, op.key_size); }
  std::string_view Value(const Op& op) const { return std::string_view(arena_).substr(op.value_at, op.value_size); }

  Store::Impl* impl_;
  int64_t now_ms_;
  uint64_t seq_;
  StatusCounts counts_;
  std::vector<Op>& ops_;
  std::string& arena_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  rocksdb::Status batch_error_;  // the first failed batch append
  bool direct_open_[3] = {true, true, true};
  std::string last_direct_[3];  // the last key each direct family wrote
  std::unordered_map<std::string, StagedAd> ads_;
  std::unordered_map<std::string, StagedEntity> entities_;
};

}  // namespace

// ---- the ingest pipeline ----------------------------------------------------------

void Store::Impl::StartPipeline() {
  // RocksDB's per-thread perf counters are on (kEnableCount) by default and
  // cost a thread-local lookup per key written or read; nothing reads them.
  stager = std::thread([this] {
    pthread_setname_np(pthread_self(), "vigil-stage");
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    StagerLoop();
  });
  writer = std::thread([this] {
    pthread_setname_np(pthread_self(), "vigil-write");
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    WriterLoop();
  });
}

void Store::Impl::StopPipeline() {
  if (!stager.joinable()) return;
  {
    std::lock_guard lock(queue_mu);
    stopping = true;
  }
  queue_cv.notify_all();
  stager.join();  // stages what was queued, then tells the writer
  writer.join();  // writes what was staged
}

void Store::Impl::StagerLoop() {
  for (;;) {
    std::vector<std::unique_ptr<PutRequest>> group;
    {
      std::unique_lock lock(queue_mu);
      queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) break;
      size_t n = 0;
      while (!queue.empty() && (group.empty() || n + queue.front()->ads.size() <= kMaxGroupAds)) {
        n += queue.front()->ads.size();
        group.push_back(std::move(queue.front()));
        queue.pop_front();
      }
    }
    StageGroup(std::move(group));
  }
  std::lock_guard lock(stage_mu);
  stager_done = true;
  stage_cv.notify_all();
}

void Store::Impl::StageGroup(std::vector<std::unique_ptr<PutRequest>> group) {
  std::unique_lock lock(stage_mu);
  // At most one earlier group may still be in flight (it is in the carry);
  // without a carry, everything earlier must be in the database.
  stage_cv.wait(lock, [&] {
    return exclusive_waiting == 0 && in_flight <= 1 && (carry != nullptr || in_flight == 0) &&
           (!reset_carry || in_flight == 0);
  });
  if (reset_carry) {
    carry.reset();
    reset_carry = false;
  }
  const uint64_t seq = next_group_seq++;
  const uint64_t base_seq = carry ? carry->seq : 0;
  std::unique_ptr<rocksdb::WriteBatch> batch;
  if (!spare_batches.empty()) {
    batch = std::move(spare_batches.back());
    spare_batches.pop_back();
  }
  Staging staging(this, clock_ms(), seq, std::move(carry), std::move(batch), &staging_buffers);
  // Stage without holding stage_mu, so that the writer can finish the group
  // in flight (complete its requests, take the next one) meanwhile; with the
  // lock held the two threads ran one after the other. Exclusive writes wait
  // for staging_active to clear: staging reads reviews and leads they change.
  staging_active = true;
  lock.unlock();
  Status s = [&] {
    std::vector<std::string_view> ids;
    size_t id_count = 0;
    for (const auto& r : group) id_count += r->ads.size() + r->updates.size();
    ids.reserve(id_count);
    for (const auto& r : group) {
      for (const ScannedAd& a : r->ads) ids.push_back(a.doc->id);
    }
    staging.Reserve(id_count);
    // Updates first: an ad that is also ingested anew in this group is then
    // read only if the update could not be taken as walked.
    if (Status st = staging.PrefetchUpdated(group); !st.ok()) return st;
    if (Status st = staging.PrefetchAds(ids); !st.ok()) return st;
    for (auto& r : group) {
      if (r->replace) {
        if (Status st = staging.CheckReplace(r->updates); !st.ok()) {
          r->rejected = st;  // this request alone; nothing of it is staged
          continue;
        }
        for (size_t i = 0; i < r->updates.size(); ++i) {
          if (Status st = staging.StageReplace(r->updates[i], std::move(r->encoded_findings[i]), &r->replace_stats);
              !st.ok()) {
            return st;
          }
        }
        if (r->checkpoint) staging.StageCheckpoint(*r->checkpoint);
        continue;
      }
      for (size_t i = 0; i < r->ads.size(); ++i) {
        const ScannedAd& a = r->ads[i];
        ++r->stats.ads;
        if (Status st = staging.StagePut(*a.doc, *a.result, r->prepared[i], &r->stats); !st.ok()) return st;
      }
    }
    if (Status st = staging.Finish(); !st.ok()) return st;
    return staging.BuildBatch();
  }();
  if (!s.ok()) {
    // The carry went into the failed staging: start over from the database
    // once the group in flight (if any) is written.
    lock.lock();
    staging_active = false;
    reset_carry = true;
    lock.unlock();
    stage_cv.notify_all();
    for (auto& r : group) r->Complete(s);
    return;
  }
  auto staged = std::make_unique<StagedGroup>();
  staged->seq = seq;
  staged->base_seq = base_seq;
  staged->batch = staging.TakeBatch();
  staged->counts = staging.counts();
  staged->requests = std::move(group);
  std::unique_ptr<internal::StagingCarry> next_carry = staging.TakeCarry();
  lock.lock();
  staging_active = false;
  carry = std::move(next_carry);
  ++in_flight;
  write_queue.push_back(std::move(staged));
  lock.unlock();
  stage_cv.notify_all();
}

void Store::Impl::WriterLoop() {
  for (;;) {
    std::unique_ptr<StagedGroup> group;
    bool on_failed_base = false;
    Status failure;
    {
      std::unique_lock lock(stage_mu);
      stage_cv.wait(lock, [&] { return !write_queue.empty() || stager_done; });
      if (write_queue.empty()) break;
      group = std::move(write_queue.front());
      write_queue.pop_front();
      on_failed_base = group->base_seq != 0 && group->base_seq == last_failed_seq;
      failure = last_failure;
    }
    Status s = on_failed_base
                   ? Status::IOError(fmt::format("an earlier batch this one builds on failed: {}", failure.ToString()))
                   : Commit(group->batch.get());
    {
      std::lock_guard lock(stage_mu);
      if (s.ok()) {
        counts = group->counts;
      } else {
        last_failed_seq = group->seq;
        last_failure = s;
        reset_carry = true;
      }
      --in_flight;
    }
    stage_cv.notify_all();
    for (auto& r : group->requests) r->Complete(s);
    if (group->batch->GetDataSize() <= kMaxSpareBufferBytes) {
      group->batch->Clear();
      std::lock_guard lock(stage_mu);
      if (spare_batches.size() < 2) spare_batches.push_back(std::move(group->batch));
    }
  }
}

namespace {

// Holds the pipeline drained for a write outside it (reviews, audit,
// rescans, ...): no group in flight, no carry, no staging meanwhile.
class ExclusiveWrite {
 public:
  explicit ExclusiveWrite(Store::Impl& impl) : impl_(impl), lock_(impl.stage_mu) {
    ++impl.exclusive_waiting;
    impl.stage_cv.wait(lock_, [&] { return impl.in_flight == 0 && !impl.staging_active; });
    --impl.exclusive_waiting;
    impl.carry.reset();
    impl.reset_carry = false;
  }
  ~ExclusiveWrite() {
    lock_.unlock();
    impl_.stage_cv.notify_all();
  }
  ExclusiveWrite(const ExclusiveWrite&) = delete;
  ExclusiveWrite& operator=(const ExclusiveWrite&) = delete;

 private:
  Store::Impl& impl_;
  std::unique_lock<std::mutex> lock_;
};

}  // namespace

void Store::PutScannedAsync(std::span<const ScannedAd> ads,
                            std::function<void(const Status&, const PutStats&)> done) {
  Status s = impl_->WritableCheck("ingest");
  for (size_t i = 0; s.ok() && i < ads.size(); ++i) {
    if (!ads[i].doc || !ads[i].result) {
      s = Status::InvalidArgument(fmt::format("document {} of the batch is missing", i));
    } else {
      s = ValidateScan(ads[i].doc->id, ads[i].doc->text.size(), *ads[i].result);
    }
  }
  if (!s.ok() || ads.empty()) {
    done(s, PutStats{});
    return;
  }
  auto request = std::make_unique<Impl::PutRequest>();
  request->ads = ads;
  request->prepared.reserve(ads.size());
  for (const ScannedAd& a : ads) request->prepared.push_back(internal::PrepareAd(*a.doc, *a.result));
  request->done = std::move(done);
  impl_->Enqueue(std::move(request));
}

void Store::Impl::Enqueue(std::unique_ptr<PutRequest> request) {
  {
    std::lock_guard lock(queue_mu);
    if (!stopping) queue.push_back(std::move(request));
  }
  if (request) {  // not queued: the store is closing
    request->Complete(Status::Unavailable(fmt::format("the store at {} is closing", dir)));
    return;
  }
  queue_cv.notify_one();
}

namespace {

// The blocking form of an asynchronous store call: start(done) queues the
// work, and this waits until the store thread calls done(status, stats).
template <typename Stats, typename Start>
Status WaitForStore(Start start, Stats* stats) {
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  Status result;
  Stats got;
  start([&](const Status& s, const Stats& st) {
    std::lock_guard lock(mu);
    result = s;
    got = st;
    finished = true;
    cv.notify_one();  // under the lock: the waiter's stack outlives this call
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return finished; });
  if (result.ok() && stats) stats->Add(got);
  return result;
}

}  // namespace

Status Store::PutScanned(std::span<const ScannedAd> ads, PutStats* stats) {
  return WaitForStore([&](auto done) { PutScannedAsync(ads, std::move(done)); }, stats);
}

Status Store::PutScanned(const std::vector<std::pair<Document, ScanResult>>& ads, PutStats* stats) {
  std::vector<ScannedAd> refs;
  refs.reserve(ads.size());
  for (const auto& [doc, result] : ads) refs.push_back({&doc, &result});
  return PutScanned(refs, stats);
}

void Store::ReplaceFindingsAsync(std::span<const FindingsUpdate> updates, std::optional<CheckpointWrite> checkpoint,
                                 std::function<void(const Status&, const ReplaceStats&)> done) {
  Status s = impl_->WritableCheck("replacing findings");
  for (size_t i = 0; s.ok() && i < updates.size(); ++i) {
    const FindingsUpdate& u = updates[i];
    if (!u.result) {
      s = Status::InvalidArgument(fmt::format("findings for {:?} are missing", u.ad_id));
    } else if (u.ad_id.empty()) {
      s = Status::InvalidArgument("a findings update has an empty ad id");
    }
  }
  if (s.ok() && checkpoint && checkpoint->name.empty()) s = Status::InvalidArgument("saving a checkpoint: the name is empty");
  if (!s.ok() || (updates.empty() && !checkpoint)) {
    done(s, ReplaceStats{});
    return;
  }
  auto request = std::make_unique<Impl::PutRequest>();
  request->replace = true;
  request->updates = updates;
  request->encoded_findings.reserve(updates.size());
  for (const FindingsUpdate& u : updates) {
    request->encoded_findings.push_back(u.encoded.empty() ? keys::EncodeFindings(*u.result) : u.encoded);
  }
  request->checkpoint = std::move(checkpoint);
  request->replace_done = std::move(done);
  impl_->Enqueue(std::move(request));
}

Status Store::ReplaceFindings(std::span<const FindingsUpdate> updates, const CheckpointWrite* checkpoint,
                              ReplaceStats* stats) {
  return WaitForStore(
      [&](auto done) {
        ReplaceFindingsAsync(updates, checkpoint ? std::optional<CheckpointWrite>(*checkpoint) : std::nullopt,
                             std::move(done));
      },
      stats);
}

Status Store::ReplaceFindings(std::span<const FindingsUpdate> updates) {
  return ReplaceFindings(updates, nullptr, nullptr);
}

Status Store::ReplaceFindings(std::string_view ad_id, const ScanResult& result) {
  FindingsUpdate update{std::string(ad_id), &result};
  return ReplaceFindings(std::span<const FindingsUpdate>(&update, 1));
}

// ---- reads ------------------------------------------------------------------

namespace {

// The lead index entries a lead list walks, in order: one key range of one
// family, or, for every lead by score (no category or status given), the
// status runs of leads_by_status merged on what follows the status byte,
// (score descending, ad id): the order leads_by_score kept until schema 2.
class LeadIndexWalk {
 public:
  LeadIndexWalk(const ReadView& view, Cf cf, const std::string& prefix) {
    iters_.push_back(view.NewIterator(cf, prefix, prefix.empty() ? std::string() : PrefixSuccessor(prefix)));
  }
  explicit LeadIndexWalk(const ReadView& view) : merged_(true) {
    for (int s = 0; s < kReviewStatusCount; ++s) {
      std::string prefix = keys::LeadStatusPrefix(static_cast<ReviewStatus>(s));
      iters_.push_back(view.NewIterator(Cf::kLeadsByStatus, prefix, PrefixSuccessor(prefix)));
    }
  }

  // The first entry at or after `start`. Merged: `start` is empty or a
  // leads_by_status key, whose (score, id) part is sought in every run.
  void Seek(std::string_view start) {
    if (!merged_) {
      iters_[0]->it->Seek(rocksdb::Slice(start.data(), start.size()));
    } else {
      for (size_t i = 0; i < iters_.size(); ++i) {
        std::string key = keys::LeadStatusPrefix(static_cast<ReviewStatus>(i));
        if (!start.empty()) key.append(start.substr(key.size()));
        iters_[i]->it->Seek(rocksdb::Slice(key));
      }
    }
    Pick();
  }
  bool Valid() const { return current_ < iters_.size(); }
  void Next() {
    iters_[current_]->it->Next();
    Pick();
  }
  std::string_view key() const { return View(iters_[current_]->it->key()); }
  std::string_view value() const { return View(iters_[current_]->it->value()); }
  rocksdb::Status status() const {
    for (const auto& iter : iters_) {
      if (!iter->it->status().ok()) return iter->it->status();
    }
    return rocksdb::Status::OK();
  }

 private:
  std::string_view Order(size_t i) const {
    const std::string_view k = View(iters_[i]->it->key());
    return merged_ ? k.substr(1) : k;
  }
  void Pick() {
    current_ = iters_.size();
    for (size_t i = 0; i < iters_.size(); ++i) {
      if (!iters_[i]->it->Valid()) continue;
      if (current_ == iters_.size() || Order(i) < Order(current_)) current_ = i;
    }
  }

  bool merged_ = false;
  std::vector<std::unique_ptr<ReadView::Iter>> iters_;
  size_t current_ = 0;
};

}  // namespace

Result<LeadPage> Store::ListLeads(const LeadQuery& q) const {
  if (q.limit == 0 || q.limit > kMaxLeadLimit) {
    return Status::InvalidArgument(fmt::format("lead list limit {} is outside 1..{}", q.limit, kMaxLeadLimit));
  }
  if (std::isnan(q.min_score)) return Status::InvalidArgument("min_score is not a number");
  Cf cf;  // the family walked
  std::string prefix;
  std::string start;
  bool merged = false;  // every lead by score: leads_by_status's runs merged
  if (q.order == LeadOrder::kTime) {
    cf = Cf::kLeadsByTime;
    if (q.until) start = keys::LeadTimeSeek(*q.until == INT64_MIN ? INT64_MIN : *q.until - 1);
  } else if (!q.category.empty()) {
    cf = Cf::kLeadsByCategory;
    prefix = keys::LeadCategoryPrefix(q.category);
  } else if (q.status) {
    cf = Cf::kLeadsByStatus;
    prefix = keys::LeadStatusPrefix(*q.status);
  } else {
    cf = Cf::kLeadsByStatus;
    merged = true;
  }
  // A cursor names its order: the merged walk's cursors carry the tag of
  // the score order (leads_by_score) and a leads_by_status key.
  const Cf cursor_cf = merged ? Cf::kLeadsByScore : cf;
  if (start.empty()) start = prefix;
  bool skip_start = false;
  std::string id, text_raw;
  if (!q.cursor.empty()) {
    Cf got;
    std::string key;
    if (!keys::DecodeCursor(q.cursor, &got, &key) || got != cursor_cf || !StartsWith(key, prefix) ||
        (merged && !keys::ParseLeadIndexKey(Cf::kLeadsByStatus, key, &id, nullptr, nullptr))) {
      return Status::InvalidArgument("the cursor does not belong to this lead query (start over without it)");
    }
    start = std::move(key);
    skip_start = true;
  }
  const std::string city = NormalizeCity(q.city);

  ReadView view(*impl_);
  LeadIndexWalk walk = merged ? LeadIndexWalk(view) : LeadIndexWalk(view, cf, prefix);
  LeadPage page;
  std::vector<std::string> ids;
  keys::LeadIndexValue v;
  AdRecord ad;
  for (walk.Seek(start); walk.Valid(); walk.Next()) {
    const std::string_view key = walk.key();
    if (skip_start && key == start) continue;
    ++page.scanned;
    if (!keys::ParseLeadIndexKey(cf, key, &id, nullptr, nullptr) || !keys::DecodeLeadIndexValue(walk.value(), &v)) {
      return CorruptRecord(keys::CfName(cf), key);
    }
    if (q.order == LeadOrder::kScore && v.score < q.min_score) break;
    if (q.order == LeadOrder::kTime && q.since && v.time < *q.since) break;
    if (v.score < q.min_score) continue;
    if (q.since && v.time < *q.since) continue;
    if (q.until && v.time >= *q.until) continue;
    if (q.status && v.status != *q.status) continue;
    if (q.flagged_only && !v.flagged) continue;
    if (!city.empty() && NormalizeCity(v.city) != city) continue;
    if (!q.category.empty() && cf != Cf::kLeadsByCategory &&
        std::find(v.categories.begin(), v.categories.end(), q.category) == v.categories.end()) {
      continue;
    }
    if (!q.text.empty()) {
      if (Status s = view.Get(Cf::kAds, id, &text_raw); !s.ok()) {
        return s.IsNotFound() ? Status::Corruption(fmt::format("lead index entry points at missing ad {:?}", id)) : s;
      }
      if (!keys::DecodeAdRecord(text_raw, &ad)) return CorruptRecord("ad", id);
      if (!ContainsIgnoreCase(ad.doc.text, q.text)) continue;
    }
    ids.push_back(id);
    if (ids.size() == q.limit) {
      page.next_cursor = keys::EncodeCursor(cursor_cf, key);
      break;
    }
  }
  if (!walk.status().ok()) return FromRocks(walk.status(), "listing leads");

  std::vector<rocksdb::Slice> key_slices;
  key_slices.reserve(ids.size());
  for (const std::string& k : ids) key_slices.emplace_back(k);
  std::vector<rocksdb::PinnableSlice> values(ids.size());
  std::vector<rocksdb::Status> statuses(ids.size());
  impl_->db->MultiGet(view.options(), impl_->H(Cf::kLeads), key_slices.size(), key_slices.data(),
                      values.data(), statuses.data());
  page.leads.reserve(ids.size());
  LeadRecord lead;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (statuses[i].IsNotFound()) {
      return Status::Corruption(fmt::format("lead index entry points at ad {:?}, which has no lead; run `vigil store check`", ids[i]));
    }
    if (!statuses[i].ok()) return FromRocks(statuses[i], "reading leads");
    if (!keys::DecodeLead(View(values[i]), &lead)) return CorruptRecord("lead", ids[i]);
    LeadSummary& s = page.leads.emplace_back();
    s.ad_id = ids[i];
    s.score = lead.score;
    s.base_score = lead.base_score;
    s.flagged = lead.flagged;
    s.network = lead.network;
    s.categories = EffectiveCategories(lead);
    s.status = lead.status;
    s.time = lead.time;
    s.posted_at = std::move(lead.posted_at);
    s.city = std::move(lead.city);
    s.pack_version = std::move(lead.pack_version);
    s.snippet = std::move(lead.snippet);
  }
  return page;
}

Result<StatusCounts> Store::CountByStatus() const {
  ReadView view(*impl_);
  std::string raw;
  Status s = view.Get(Cf::kMeta, keys::kMetaStatusCounts, &raw);
  if (s.IsNotFound()) return StatusCounts{};
  if (!s.ok()) return s;
  StatusCounts counts;
  if (!keys::DecodeStatusCounts(raw, &counts)) return CorruptRecord("status counters", keys::kMetaStatusCounts);
  return counts;
}

Result<AdDetail> Store::GetAd(std::string_view ad_id) const {
  ReadView view(*impl_);
  AdDetail d;
  if (Status s = ReadAdParts(view, ad_id, &d.ad, &d.findings, &d.finding_ids, &d.lead, &d.review); !s.ok()) {
    return s;
  }
  d.version_count = d.ad.version;
  const std::string prefix = keys::ReviewHistoryPrefix(ad_id);
  auto iter = view.NewIterator(Cf::kReviewHistory, prefix, PrefixSuccessor(prefix));
  for (iter->it->Seek(prefix); iter->it->Valid(); iter->it->Next()) {
    ReviewHistoryEntry& e = d.history.emplace_back();
    if (!keys::DecodeHistoryEntry(View(iter->it->value()), &e)) return CorruptRecord("review history", View(iter->it->key()));
  }
  if (!iter->it->status().ok()) return FromRocks(iter->it->status(), "reading review history");
  return d;
}

Result<AdRecord> Store::GetAdVersion(std::string_view ad_id, uint32_t version) const {
  ReadView view(*impl_);
  std::string raw;
  Status s = view.Get(Cf::kAds, ad_id, &raw);
  if (s.IsNotFound()) return Status::NotFound(fmt::format("no ad with id {:?}", std::string(ad_id)));
  if (!s.ok()) return s;
  AdRecord ad;
  if (!keys::DecodeAdRecord(raw, &ad)) return CorruptRecord("ad", ad_id);
  if (version != ad.version) {
    if (version == 0 || version > ad.version) {
      return Status::NotFound(fmt::format("ad {:?} has versions 1..{}, not {}", std::string(ad_id), ad.version, version));
    }
    s = view.Get(Cf::kAdVersions, keys::AdVersionKey(ad_id, version), &raw);
    if (s.IsNotFound()) {
      return Status::Corruption(fmt::format("version {} of ad {:?} is missing; run `vigil store check`", version, std::string(ad_id)));
    }
    if (!s.ok()) return s;
    if (!keys::DecodeAdRecord(raw, &ad)) return CorruptRecord("ad version", ad_id);
  }
  ad.doc.id = std::string(ad_id);
  return ad;
}

Result<EntityDetail> Store::GetEntity(EntityType type, std::string_view value, size_t limit) const {
  if (limit > kMaxEntityPostings) {
    return Status::InvalidArgument(fmt::format("posting limit {} is above {}", limit, kMaxEntityPostings));
  }
  ReadView view(*impl_);
  std::string raw;
  const std::string key = keys::EntityStatsKey(type, value);
  Status s = view.Get(Cf::kEntityStats, key, &raw);
  if (s.IsNotFound()) {
    return Status::NotFound(fmt::format("no ad carries {} {:?}", scanner::EntityTypeName(type), std::string(value)));
  }
  if (!s.ok()) return s;
  EntityDetail d;
  d.type = type;
  d.value = std::string(value);
  if (!keys::DecodeEntityStats(raw, &d.stats)) return CorruptRecord("entity statistics", key);
  if (limit == 0) return d;
  const std::string prefix = keys::PostingPrefix(type, value);
  auto iter = view.NewIterator(Cf::kEntities, prefix, PrefixSuccessor(prefix));
  EntityType t;
  std::string v;
  for (iter->it->SeekToLast(); iter->it->Valid() && d.postings.size() < limit; iter->it->Prev()) {
    Posting& p = d.postings.emplace_back();
    if (!keys::ParsePostingKey(View(iter->it->key()), &t, &v, &p.time, &p.ad_id)) {
      return CorruptRecord("posting", View(iter->it->key()));
    }
    p.city.assign(iter->it->value().data(), iter->it->value().size());
  }
  if (!iter->it->status().ok()) return FromRocks(iter->it->status(), "reading postings");
  return d;
}

Status Store::ForEachAd(std::string_view start_after,
                        const std::function<bool(const AdRecord&)>& visit) const {
  ReadView view(*impl_);
  auto iter = view.NewIterator(Cf::kAds, {}, {}, kWalkReadahead);
  auto& it = iter->it;
  if (start_after.empty()) {
    it->SeekToFirst();
  } else {
    it->Seek(rocksdb::Slice(start_after.data(), start_after.size()));
    if (it->Valid() && View(it->key()) == start_after) it->Next();
  }
  AdRecord ad;
  for (; it->Valid(); it->Next()) {
    if (!keys::DecodeAdRecord(View(it->value()), &ad)) return CorruptRecord("ad", View(it->key()));
    ad.doc.id.assign(it->key().data(), it->key().size());
    if (!visit(ad)) return Status::Ok();
  }
  return FromRocks(it->status(), "reading ads");
}

int64_t Store::NowMs() const { return impl_->clock_ms(); }

Status StoredAd::DecodeFindings(ScanResult* out) const {
  *out = ScanResult{};
  if (!keys::DecodeFindings(findings_raw, out)) return CorruptRecord("findings", ad.doc.id);
  out->id = ad.doc.id;
  return Status::Ok();
}

bool StoredAd::EntitiesExtractedBy(std::string_view entities_by, std::vector<scanner::Entity>* out) const {
  std::string_view stored_by;
  return !entities_by.empty() && keys::DecodeFindingsExtraction(findings_raw, &stored_by, nullptr) &&
         stored_by == entities_by && keys::DecodeFindingsExtraction(findings_raw, &stored_by, out);
}

FindingsChange CompareStoredFindings(const StoredAd& stored, const ScanResult& result, std::string* encoded,
                                     std::string_view* stored_pack) {
  keys::EncodeFindings(result, encoded);
  if (*encoded == stored.findings_raw) {
    // A view into the stored findings, which the caller keeps, not into
    // `result`, which a caller may reuse or move (the rescan's workers do).
    if (stored_pack && !keys::FindingsPackVersion(stored.findings_raw, stored_pack)) *stored_pack = {};
    return FindingsChange::kSame;
  }
  if (keys::SameFindingsButPackVersion(*encoded, stored.findings_raw, stored_pack)) return FindingsChange::kPackOnly;
  return FindingsChange::kChanged;
}

struct Store::AdWalk::State {
  // Positioned at the first ad after `start_after` (empty: the first ad).
  State(const Store::Impl& impl, std::string_view start_after, bool with_leads, AdFields fields)
      : decode(fields == AdFields::kScan ? keys::DecodeAdRecordForScan : keys::DecodeAdRecord),
        view(impl),
        ads(view.NewIterator(Cf::kAds, {}, {}, kWalkReadahead)),
        findings(view.NewIterator(Cf::kFindings, {}, {}, kWalkReadahead)),
        leads(with_leads ? view.NewIterator(Cf::kLeads, {}, {}, kWalkReadahead) : nullptr) {
    if (start_after.empty()) {
      ads->it->SeekToFirst();
    } else {
      ads->it->Seek(rocksdb::Slice(start_after.data(), start_after.size()));
      if (ads->it->Valid() && View(ads->it->key()) == start_after) ads->it->Next();
    }
  }

  bool (*const decode)(std::string_view, AdRecord*);
  ReadView view;
  std::unique_ptr<ReadView::Iter> ads, findings, leads;
  bool started = false;     // `ads` has moved past the first ad
  bool positioned = false;  // `findings` and `leads` are at the previous ad
};

Store::AdWalk::AdWalk(std::unique_ptr<State> state) : state_(std::move(state)) {}

Store::AdWalk::~AdWalk() = default;

bool Store::AdWalk::Next(StoredAd* out) {
  State& st = *state_;
  if (!status_.ok()) return false;
  rocksdb::Iterator* ads = st.ads->it.get();
  if (st.started && ads->Valid()) ads->Next();
  st.started = true;
  if (!ads->Valid()) {
    status_ = FromRocks(ads->status(), "reading ads");
    return false;
  }
  // Moves `other` to the key of the current ad: the next entry in the
  // common case, a seek otherwise. False when the ad has no such entry.
  const auto align = [&](ReadView::Iter& other, const rocksdb::Slice& key) {
    if (st.positioned && other->Valid()) {
      other->Next();
      if (other->Valid() && other->key() == key) return true;
    }
    other->Seek(key);
    return other->Valid() && other->key() == key;
  };
  const rocksdb::Slice key = ads->key();
  const std::string_view id = View(key);
  if (!st.decode(View(ads->value()), &out->ad)) {
    status_ = CorruptRecord("ad", id);
    return false;
  }
  out->ad.doc.id.assign(id);
  if (!align(*st.findings, key)) {
    status_ = !st.findings->it->status().ok()
                  ? FromRocks(st.findings->it->status(), "reading findings")
                  : Status::Corruption(fmt::format("ad {:?} has no findings record; run `vigil store check`",
                                                   std::string(id)));
    return false;
  }
  if (st.leads && !align(*st.leads, key)) {
    status_ = !st.leads->it->status().ok()
                  ? FromRocks(st.leads->it->status(), "reading leads")
                  : Status::Corruption(fmt::format("ad {:?} has no lead record; run `vigil store check`",
                                                   std::string(id)));
    return false;
  }
  st.positioned = true;
  out->findings_raw.assign(View(st.findings->it->value()));
  if (st.leads && !keys::DecodeLead(View(st.leads->it->value()), &out->lead)) {
    status_ = CorruptRecord("lead", id);
    return false;
  }
  return true;
}

std::unique_ptr<Store::AdWalk> Store::WalkStoredAds(std::string_view start_after, bool with_leads,
                                                    AdFields fields) const {
  return std::unique_ptr<AdWalk>(new AdWalk(std::make_unique<AdWalk::State>(*impl_, start_after, with_leads, fields)));
}

Status Store::ForEachStoredAd(std::string_view start_after, bool with_leads, AdFields fields,
                              const std::function<bool(StoredAd&)>& visit) const {
  std::unique_ptr<AdWalk> walk = WalkStoredAds(start_after, with_leads, fields);
  StoredAd stored;
  while (walk->Next(&stored)) {
    if (!visit(stored)) return Status::Ok();
  }
  return walk->status();
}

// ---- reviews, audit, export -------------------------------------------------

Result<uint64_t> Store::Impl::AppendAuditLocked(const AuditEvent& event, rocksdb::WriteBatch* batch) {
  AuditEvent e = event;
  e.seq = next_audit_seq;
  e.at_ms = clock_ms();
  batch->Put(H(Cf::kAudit), keys::AuditKey(e.seq), keys::EncodeAuditEvent(e));
  return e.seq;
}

Result<ReviewRecord> Store::Review(std::string_view ad_id, const ReviewAction& action) {
  if (Status s = impl_->WritableCheck("reviewing"); !s.ok()) return s;
  if (action.user.empty()) return Status::InvalidArgument("a review action needs the user who takes it");
  if (!action.status && !action.assignee && action.note.empty()) {
    return Status::InvalidArgument("a review action needs a status, an assignee or a note");
  }
  ExclusiveWrite exclusive(*impl_);
  ReadView view(*impl_);
  std::string raw;
  Status s = view.Get(Cf::kAds, ad_id, &raw);
  if (s.IsNotFound()) return Status::NotFound(fmt::format("no ad with id {:?}", std::string(ad_id)));
  if (!s.ok()) return s;
  ReviewRecord review;
  if (s = ReadReview(view, ad_id, &review); !s.ok()) return s;
  if (action.expected_version && *action.expected_version != review.version) {
    return Status::Conflict(fmt::format(
        "ad {:?} was reviewed since you loaded it (review version {} by {} at {}, you saw version "
        "{}); reload it and retry",
        std::string(ad_id), review.version, review.updated_by, FormatIsoTime(review.updated_at_ms / 1000),
        *action.expected_version));
  }
  LeadRecord lead;
  if (s = ReadLead(view, ad_id, &lead); !s.ok()) return s;

  const int64_t now = impl_->clock_ms();
  ReviewHistoryEntry entry;
  entry.version = review.version + 1;
  entry.at_ms = now;
  entry.user = action.user;
  entry.from_status = review.status;
  entry.to_status = action.status.value_or(review.status);
  entry.from_assignee = review.assignee;
  entry.to_assignee = action.assignee.value_or(review.assignee);
  entry.note = action.note;

  ReviewRecord updated;
  updated.status = entry.to_status;
  updated.assignee = entry.to_assignee;
  updated.version = entry.version;
  updated.updated_at_ms = now;
  updated.updated_by = action.user;

  rocksdb::WriteBatch batch;
  batch.Put(impl_->H(Cf::kReviews), ad_id, keys::EncodeReview(updated));
  batch.Put(impl_->H(Cf::kReviewHistory), keys::ReviewHistoryKey(ad_id, entry.version),
            keys::EncodeHistoryEntry(entry));
  StatusCounts counts = impl_->counts;
  if (lead.status != updated.status) {
    for (const keys::IndexEntry& e : keys::LeadIndexEntries(ad_id, lead)) {
      if (e.cf == Cf::kLeadsByStatus) batch.Delete(impl_->H(e.cf), e.key);
    }
    StatusCount& from = counts[lead.status];
    --from.total;
    if (lead.flagged) --from.flagged;
    lead.status = updated.status;
    StatusCount& to = counts[lead.status];
    ++to.total;
    if (lead.flagged) ++to.flagged;
  }
  // Every index entry carries the status (for filtering): rewrite them all.
  const std::string value = keys::EncodeLeadIndexValue(lead);
  for (const keys::IndexEntry& e : keys::LeadIndexEntries(ad_id, lead)) {
    batch.Put(impl_->H(e.cf), e.key, value);
  }
  batch.Put(impl_->H(Cf::kLeads), ad_id, keys::EncodeLead(lead));
  batch.Put(impl_->H(Cf::kMeta), keys::kMetaStatusCounts, keys::EncodeStatusCounts(counts));

  std::string detail = fmt::format("status {} -> {}", ReviewStatusName(entry.from_status),
                                   ReviewStatusName(entry.to_status));
  if (entry.from_assignee != entry.to_assignee) {
    detail += fmt::format("; assignee {:?} -> {:?}", entry.from_assignee, entry.to_assignee);
  }
  if (!entry.note.empty()) detail += fmt::format("; note: {}", entry.note);
  auto seq = impl_->AppendAuditLocked({0, 0, action.user, "review", std::string(ad_id), detail}, &batch);
  if (!seq.ok()) return seq.status();
  if (s = impl_->Commit(&batch); !s.ok()) return s;
  impl_->counts = counts;
  impl_->next_audit_seq = *seq + 1;
  return updated;
}

Result<uint64_t> Store::AppendAudit(const AuditEvent& event) {
  if (Status s = impl_->WritableCheck("writing the audit log"); !s.ok()) return s;
  if (event.user.empty() || event.action.empty()) {
    return Status::InvalidArgument("an audit event needs a user and an action");
  }
  ExclusiveWrite exclusive(*impl_);
  rocksdb::WriteBatch batch;
  auto seq = impl_->AppendAuditLocked(event, &batch);
  if (!seq.ok()) return seq;
  if (Status s = impl_->Commit(&batch); !s.ok()) return s;
  impl_->next_audit_seq = *seq + 1;
  return seq;
}

Result<std::vector<AuditEvent>> Store::ListAudit(const AuditQuery& q) const {
  if (q.limit == 0 || q.limit > kMaxAuditLimit) {
    return Status::InvalidArgument(fmt::format("audit limit {} is outside 1..{}", q.limit, kMaxAuditLimit));
  }
  ReadView view(*impl_);
  auto iter = view.NewIterator(Cf::kAudit);
  auto& it = iter->it;
  if (q.newest_first) {
    if (q.start_seq == 0) {
      it->SeekToLast();
    } else {
      it->SeekForPrev(keys::AuditKey(q.start_seq));
    }
  } else {
    it->Seek(keys::AuditKey(q.start_seq));
  }
  std::vector<AuditEvent> out;
  AuditEvent e;
  for (; it->Valid() && out.size() < q.limit; q.newest_first ? it->Prev() : it->Next()) {
    if (!keys::DecodeAuditEvent(View(it->value()), &e)) return CorruptRecord("audit", View(it->key()));
    if (!q.user.empty() && e.user != q.user) continue;
    if (!q.action.empty() && e.action != q.action) continue;
    if (!q.target.empty() && e.target != q.target) continue;
    out.push_back(e);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the audit log");
  return out;
}

Result<ExportResult> Store::Export(const ExportQuery& q, std::string_view user) {
  if (Status s = impl_->WritableCheck("exporting (exports are recorded in the audit log)"); !s.ok()) return s;
  if (user.empty()) return Status::InvalidArgument("an export needs the user who takes it");
  if (!q.status && !q.entity && q.ad_ids.empty()) {
    return Status::InvalidArgument("say what to export: a review status, an entity or ad ids");
  }
  if (q.max_records == 0) return Status::InvalidArgument("max_records must be at least 1");
  ExportResult out;
  std::vector<std::string> ids;
  {
    ReadView view(*impl_);
    std::string raw;
    if (!q.ad_ids.empty()) {
      std::unordered_set<std::string> seen;
      for (const std::string& id : q.ad_ids) {
        if (seen.insert(id).second) ids.push_back(id);
      }
    }
    if (q.entity) {
      const std::string prefix = keys::PostingPrefix(q.entity->type, q.entity->value);
      auto iter = view.NewIterator(Cf::kEntities, prefix, PrefixSuccessor(prefix));
      std::vector<std::string> carrying;
      EntityType t;
      std::string v, id;
      int64_t time;
      for (iter->it->Seek(prefix); iter->it->Valid(); iter->it->Next()) {
        if (!keys::ParsePostingKey(View(iter->it->key()), &t, &v, &time, &id)) {
          return CorruptRecord("posting", View(iter->it->key()));
        }
        carrying.push_back(id);
      }
      if (!iter->it->status().ok()) return FromRocks(iter->it->status(), "reading postings");
      if (q.ad_ids.empty()) {
        ids = std::move(carrying);
      } else {
        const std::unordered_set<std::string> keep(carrying.begin(), carrying.end());
        std::erase_if(ids, [&](const std::string& id) { return !keep.count(id); });
      }
    }
    if (q.status && q.ad_ids.empty() && !q.entity) {
      const std::string prefix = keys::LeadStatusPrefix(*q.status);
      auto iter = view.NewIterator(Cf::kLeadsByStatus, prefix, PrefixSuccessor(prefix));
      std::string id;
      for (iter->it->Seek(prefix); iter->it->Valid(); iter->it->Next()) {
        if (!keys::ParseLeadIndexKey(Cf::kLeadsByStatus, View(iter->it->key()), &id, nullptr, nullptr)) {
          return CorruptRecord("leads_by_status", View(iter->it->key()));
        }
        ids.push_back(id);
        if (ids.size() > q.max_records) break;
      }
      if (!iter->it->status().ok()) return FromRocks(iter->it->status(), "reading leads");
    }
    for (const std::string& id : ids) {
      ExportRecord r;
      Status s = ReadAdParts(view, id, &r.ad, &r.findings, &r.finding_ids, &r.lead, &r.review);
      if (!s.ok()) return s;
      if (q.status && r.lead.status != *q.status) continue;
      out.records.push_back(std::move(r));
      if (out.records.size() > q.max_records) {
        return Status::InvalidArgument(fmt::format(
            "the export matches more than {} ads (max_records); narrow the query or raise the limit",
            q.max_records));
      }
    }
  }
  std::string target;
  if (q.status) target += fmt::format("status={} ", ReviewStatusName(*q.status));
  if (q.entity) target += fmt::format("entity={}:{} ", scanner::EntityTypeName(q.entity->type), q.entity->value);
  if (!q.ad_ids.empty()) target += fmt::format("ads=[{} listed] ", q.ad_ids.size());
  if (!target.empty()) target.pop_back();
  std::string detail = fmt::format("purpose: {}; records: {}; ads:", q.purpose.empty() ? "(none given)" : q.purpose,
                                   out.records.size());
  for (const ExportRecord& r : out.records) {
    detail += ' ';
    detail += r.ad.doc.id;
  }
  ExclusiveWrite exclusive(*impl_);
  rocksdb::WriteBatch batch;
  auto seq = impl_->AppendAuditLocked({0, 0, std::string(user), "export", target, detail}, &batch);
  if (!seq.ok()) return seq.status();
  if (Status s = impl_->Commit(&batch); !s.ok()) return s;
  impl_->next_audit_seq = *seq + 1;
  out.audit_seq = *seq;
  return out;
}

// ---- checkpoints, tokens, maintenance ------------------------------------------

namespace {

Status PutNamed(Store::Impl* impl, Cf cf, std::string_view name, std::string_view value, std::string_view what) {
  if (Status s = impl->WritableCheck(what); !s.ok()) return s;
  if (name.empty()) return Status::InvalidArgument(fmt::format("{}: the name is empty", what));
  ExclusiveWrite exclusive(*impl);
  rocksdb::WriteBatch batch;
  batch.Put(impl->H(cf), rocksdb::Slice(name.data(), name.size()), rocksdb::Slice(value.data(), value.size()));
  return impl->Commit(&batch);
}

Result<std::string> GetNamed(const Store::Impl& impl, Cf cf, std::string_view name, std::string_view what) {
  ReadView view(impl);
  std::string value;
  Status s = view.Get(cf, name, &value);
  if (s.IsNotFound()) return Status::NotFound(fmt::format("no {} named {:?}", what, std::string(name)));
  if (!s.ok()) return s;
  return value;
}

}  // namespace

Status Store::PutCheckpoint(std::string_view name, std::string_view value) {
  return PutNamed(impl_.get(), Cf::kCheckpoints, name, value, "saving a checkpoint");
}

Result<std::string> Store::GetCheckpoint(std::string_view name) const {
  return GetNamed(*impl_, Cf::kCheckpoints, name, "checkpoint");
}

Status Store::PutToken(std::string_view name, std::string_view value) {
  return PutNamed(impl_.get(), Cf::kTokens, name, value, "saving a token");
}

Result<std::string> Store::GetToken(std::string_view name) const {
  return GetNamed(*impl_, Cf::kTokens, name, "token");
}

Status Store::DeleteToken(std::string_view name) {
  if (Status s = impl_->WritableCheck("deleting a token"); !s.ok()) return s;
  ExclusiveWrite exclusive(*impl_);
  rocksdb::WriteBatch batch;
  batch.Delete(impl_->H(Cf::kTokens), rocksdb::Slice(name.data(), name.size()));
  return impl_->Commit(&batch);
}

Status Store::Flush() {
  if (Status s = impl_->WritableCheck("flushing"); !s.ok()) return s;
  std::vector<rocksdb::ColumnFamilyHandle*> all(std::begin(impl_->cf), std::end(impl_->cf));
  return FromRocks(impl_->db->Flush(rocksdb::FlushOptions(), all), "flushing the store");
}

Status Store::Compact(CompactStats* stats) {
  if (Status s = impl_->WritableCheck("compacting"); !s.ok()) return s;
  const auto live_bytes = [&] {
    uint64_t total = 0;
    for (rocksdb::ColumnFamilyHandle* h : impl_->cf) {
      uint64_t bytes = 0;
      if (impl_->db->GetIntProperty(h, rocksdb::DB::Properties::kLiveSstFilesSize, &bytes)) total += bytes;
    }
    return total;
  };
  if (Status s = Flush(); !s.ok()) return s;
  stats->bytes_before = live_bytes();
  // A family whose files are all in the last level is left as it is (vigil
  // sets no compaction filter, so rewriting them would change nothing);
  // any other is compacted whole into the last level.
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  for (size_t c = 0; c < keys::kCfCount; ++c) {
    rocksdb::ColumnFamilyMetaData meta;
    impl_->db->GetColumnFamilyMetaData(impl_->cf[c], &meta);
    bool settled = true;
    for (const rocksdb::LevelMetaData& level : meta.levels) {
      if (level.level + 1 < static_cast<int>(meta.levels.size()) && !level.files.empty()) settled = false;
    }
    if (settled) continue;
    const rocksdb::Status s = impl_->db->CompactRange(options, impl_->cf[c], nullptr, nullptr);
    if (!s.ok()) return FromRocks(s, fmt::format("compacting {}", keys::CfName(static_cast<Cf>(c))));
  }
  stats->bytes_after = live_bytes();
  return Status::Ok();
}

Status Store::SetSchemaVersionForTesting(uint32_t version) {
  if (Status s = impl_->WritableCheck("setting the schema version"); !s.ok()) return s;
  ExclusiveWrite exclusive(*impl_);
  rocksdb::WriteBatch batch;
  batch.Put(impl_->H(Cf::kMeta), keys::kMetaSchemaVersion, keys::EncodeSchemaVersion(version));
  return impl_->Commit(&batch);
}

// ---- consistency check --------------------------------------------------------

namespace {

// An order-independent checksum of a multiset of entries (family, key,
// value): the count and two wrapping sums of a 64-bit hash of each entry
// under two seeds. The quick consistency pass (Checker::RunQuick) sums the
// entries the ads imply and the entries stored; equal sums mean the same
// entries but for a chance of about 2^-128.
class EntrySum {
 public:
  void Add(Cf cf, std::string_view key, std::string_view value) {
    ++count_;
    a_ += Hash(cf, key, value, 0x6a09e667f3bcc908ULL);
    b_ += Hash(cf, key, value, 0xbb67ae8584caa73bULL);
  }
  bool operator==(const EntrySum& o) const { return count_ == o.count_ && a_ == o.a_ && b_ == o.b_; }

 private:
  // splitmix64's finaliser: a bijection that mixes every input bit into
  // every output bit.
  static uint64_t Mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  }
  // Eight bytes at a time, then the tail with the length, so that no two
  // different strings are read the same way.
  static uint64_t Bytes(std::string_view s, uint64_t h) {
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = Mix(h ^ w);
    }
    uint64_t tail = 0;
    std::memcpy(&tail, s.data() + i, s.size() - i);
    return Mix(h ^ tail ^ (static_cast<uint64_t>(s.size()) << 56) ^ 0x9e3779b97f4a7c15ULL);
  }
  static uint64_t Hash(Cf cf, std::string_view key, std::string_view value, uint64_t seed) {
    return Bytes(value, Bytes(key, Mix(seed ^ static_cast<uint64_t>(cf))));
  }

  uint64_t count_ = 0, a_ = 0, b_ = 0;
};

class Checker {
 public:
  Checker(const Store::Impl& impl, const ReadView& view, ConsistencyReport* report)
      : impl_(impl), view_(view), report_(report) {}

  template <typename... Args>
  void Problem(fmt::format_string<Args...> format, Args&&... args) {
    if (quiet_) {  // the quick pass only decides; the precise one names
      failed_ = true;
      return;
    }
    ++report_->problem_count;
    if (report_->problems.size() < kMaxReportedProblems) {
      report_->problems.push_back(fmt::format(format, std::forward<Args>(args)...));
    }
  }

  bool Exists(Cf cf, std::string_view key, std::string* value) {
    Status s = view_.Get(cf, key, value);
    if (!s.ok() && !s.IsNotFound()) {
      error_ = s;
      return false;
    }
    return s.ok();
  }

  // Walks every key of a family.
  template <typename Fn>
  Status Scan(Cf cf, Fn fn) {
    auto iter = view_.NewIterator(cf, {}, {}, kWalkReadahead);
    for (iter->it->SeekToFirst(); iter->it->Valid() && error_.ok(); iter->it->Next()) {
      fn(View(iter->it->key()), View(iter->it->value()));
    }
    if (!error_.ok()) return error_;
    return FromRocks(iter->it->status(), fmt::format("checking {}", keys::CfName(cf)));
  }

  Status Run() {
    StatusCounts counts;
    std::unordered_map<std::string, uint64_t> posting_counts;  // stats key → postings seen
    std::string raw;

    // Ads, and everything each ad must own.
    Status s = Scan(Cf::kAds, [&](std::string_view id, std::string_view value) {
      ++report_->ads;
      AdRecord ad;
      if (!keys::DecodeAdRecord(value, &ad)) return Problem("ads/{:?}: undecodable", std::string(id));
      for (uint32_t v = 1; v < ad.version; ++v) {
        if (!Exists(Cf::kAdVersions, keys::AdVersionKey(id, v), &raw)) {
          Problem("ads/{:?}: version {} of {} is missing from ad_versions", std::string(id), v, ad.version);
        }
      }
      std::vector<EntityRef> entities;
      if (!Exists(Cf::kFindings, id, &raw)) {
        Problem("ads/{:?}: no findings", std::string(id));
      } else if (!keys::DecodeFindingsEntities(raw, &entities)) {
        Problem("findings/{:?}: undecodable", std::string(id));
      }
      LeadRecord lead;
      if (!Exists(Cf::kLeads, id, &raw)) return Problem("ads/{:?}: no lead", std::string(id));
      if (!keys::DecodeLead(raw, &lead)) return Problem("leads/{:?}: undecodable", std::string(id));
      if (lead.version != ad.version || lead.time != ad.time) {
        Problem("leads/{:?}: version/time {}/{} differ from the ad's {}/{}", std::string(id), lead.version,
                lead.time, ad.version, ad.time);
      }
      const double expected = lead.network ? NetworkBoostedScore(lead.base_score, impl_.network.boost) : lead.base_score;
      if (lead.score != expected) Problem("leads/{:?}: score {} should be {}", std::string(id), lead.score, expected);
      StatusCount& c = counts[lead.status];
      ++c.total;
      if (lead.flagged) ++c.flagged;
      ReviewRecord review;
      if (Exists(Cf::kReviews, id, &raw)) {
        if (!keys::DecodeReview(raw, &review)) Problem("reviews/{:?}: undecodable", std::string(id));
      }
      if (review.status != lead.status) {
        Problem("leads/{:?}: status {} but the review says {}", std::string(id), ReviewStatusName(lead.status),
                ReviewStatusName(review.status));
      }
      const std::string index_value = keys::EncodeLeadIndexValue(lead);
      for (const keys::IndexEntry& e : keys::LeadIndexEntries(id, lead)) {
        if (!Exists(e.cf, e.key, &raw)) {
          Problem("leads/{:?}: missing its {} entry", std::string(id), keys::CfName(e.cf));
        } else if (raw != index_value) {
          Problem("leads/{:?}: its {} entry is stale", std::string(id), keys::CfName(e.cf));
        }
      }
      bool has_network_phone = false;
      for (const EntityRef& e : entities) {
        if (!Exists(Cf::kEntities, keys::PostingKey(e.type, e.value, lead.time, id), &raw)) {
          Problem("ads/{:?}: missing posting for {} {:?}", std::string(id), scanner::EntityTypeName(e.type), e.value);
        } else if (raw != lead.city) {
          Problem("ads/{:?}: posting for {:?} has city {:?}, not {:?}", std::string(id), e.value, raw, lead.city);
        }
        EntityStats stats;
        if (e.type == EntityType::kPhone && Exists(Cf::kEntityStats, keys::EntityStatsKey(e.type, e.value), &raw) &&
            keys::DecodeEntityStats(raw, &stats) && stats.network) {
          has_network_phone = true;
        }
      }
      if (lead.network != has_network_phone) {
        Problem("leads/{:?}: network is {} but its phones say {}", std::string(id), lead.network, has_network_phone);
      }
    });
    if (!s.ok()) return s;

    s = CheckAdVersions();
    if (!s.ok()) return s;

    s = Scan(Cf::kFindings, [&](std::string_view id, std::string_view) {
      if (!Exists(Cf::kAds, id, &raw)) Problem("findings/{:?}: points at no ad", std::string(id));
    });
    if (!s.ok()) return s;
    s = Scan(Cf::kLeads, [&](std::string_view id, std::string_view) {
      ++report_->leads;
      if (!Exists(Cf::kAds, id, &raw)) Problem("leads/{:?}: points at no ad", std::string(id));
    });
    if (!s.ok()) return s;

    // (leads_by_score is empty since schema 2: anything in it is stale.)
    for (Cf cf : {Cf::kLeadsByScore, Cf::kLeadsByTime, Cf::kLeadsByCategory, Cf::kLeadsByStatus}) {
      s = Scan(cf, [&](std::string_view key, std::string_view) {
        ++report_->lead_index_entries;
        std::string id;
        if (!keys::ParseLeadIndexKey(cf, key, &id, nullptr, nullptr)) {
          return Problem("{}: undecodable key", keys::CfName(cf));
        }
        LeadRecord lead;
        if (!Exists(Cf::kLeads, id, &raw) || !keys::DecodeLead(raw, &lead)) {
          return Problem("{}: entry points at missing lead {:?}", keys::CfName(cf), id);
        }
        const auto entries = keys::LeadIndexEntries(id, lead);
        if (std::find(entries.begin(), entries.end(), keys::IndexEntry{cf, std::string(key)}) == entries.end()) {
          Problem("{}: stale entry for ad {:?}", keys::CfName(cf), id);
        }
      });
      if (!s.ok()) return s;
    }

    s = Scan(Cf::kEntities, [&](std::string_view key, std::string_view value) {
      ++report_->postings;
      EntityType type;
      std::string entity, id;
      int64_t time;
      if (!keys::ParsePostingKey(key, &type, &entity, &time, &id)) return Problem("entities: undecodable key");
      ++posting_counts[keys::EntityStatsKey(type, entity)];
      LeadRecord lead;
      if (!Exists(Cf::kLeads, id, &raw) || !keys::DecodeLead(raw, &lead)) {
        return Problem("entities/{}:{:?}: points at missing ad {:?}", scanner::EntityTypeName(type), entity, id);
      }
      if (lead.time != time) Problem("entities/{:?}: posting time {} is not the ad {:?}'s {}", entity, time, id, lead.time);
      std::vector<EntityRef> entities;
      if (!Exists(Cf::kFindings, id, &raw) || !keys::DecodeFindingsEntities(raw, &entities) ||
          std::find(entities.begin(), entities.end(), EntityRef{type, entity}) == entities.end()) {
        Problem("entities/{:?}: ad {:?} does not carry it", entity, id);
      }
      if (value != lead.city) Problem("entities/{:?}: city of ad {:?} differs", entity, id);
    });
    if (!s.ok()) return s;

    s = Scan(Cf::kEntityStats, [&](std::string_view key, std::string_view value) {
      EntityType type;
      std::string entity;
      EntityStats stats;
      if (!ReadStats(key, value, &type, &entity, &stats)) return;
      const auto it = posting_counts.find(std::string(key));
      const uint64_t seen = it == posting_counts.end() ? 0 : it->second;
      if (seen != stats.ads) Problem("entity_stats/{:?}: counts {} ads, postings say {}", entity, stats.ads, seen);
      if (it != posting_counts.end()) posting_counts.erase(it);
    });
    if (!s.ok()) return s;
    for (const auto& [key, n] : posting_counts) {
      Problem("entities/{:?}: {} postings but no statistics", key.substr(1), n);
    }

    return CheckReviewsAndAudit(counts);
  }

  // The quick pass. The precise one (Run) looks up, for every ad, each
  // record and index entry it implies, and for every index entry the ad it
  // names: ~15 point lookups per ad, most of the check's time. This pass
  // walks the four id-keyed families (ads, findings, leads, reviews)
  // together instead, and compares the lead index entries and postings the
  // ads imply with the stored ones as multiset checksums (EntrySum). It
  // only decides: *consistent is false on any disagreement, and the caller
  // then runs the precise check to find and name each problem. Fills the
  // report's counts.
  Status RunQuick(bool* consistent) {
    quiet_ = true;
    StatusCounts counts;
    std::string raw;

    // Entity statistics first: how many postings each entity should have,
    // and which phones carry the network signal.
    std::unordered_map<std::string, uint64_t> stats_ads;  // stats key → ads
    std::unordered_set<std::string> network_phones;       // stats keys
    Status s = Scan(Cf::kEntityStats, [&](std::string_view key, std::string_view value) {
      EntityType type;
      std::string entity;
      EntityStats stats;
      if (!ReadStats(key, value, &type, &entity, &stats)) return;
      if (stats.ads != 0) stats_ads.emplace(key, stats.ads);  // as the precise pass: 0 ads, 0 postings
      if (type == EntityType::kPhone && stats.network) network_phones.emplace(key);
    });
    if (!s.ok()) return s;

    EntrySum implied_index, implied_postings;
    auto ads = view_.NewIterator(Cf::kAds, {}, {}, kWalkReadahead);
    auto findings = view_.NewIterator(Cf::kFindings, {}, {}, kWalkReadahead);
    auto leads = view_.NewIterator(Cf::kLeads, {}, {}, kWalkReadahead);
    auto reviews = view_.NewIterator(Cf::kReviews, {}, {}, kWalkReadahead);
    for (auto* it : {ads.get(), findings.get(), leads.get(), reviews.get()}) it->it->SeekToFirst();
    const auto at = [](ReadView::Iter& it, std::string_view id) { return it->Valid() && View(it->key()) == id; };
    std::vector<EntityRef> entities;
    for (; ads->it->Valid() && error_.ok() && !failed_; ads->it->Next()) {
      const std::string_view id = View(ads->it->key());
      ++report_->ads;
      ++report_->leads;
      // A findings, lead or review record before this id has no ad.
      if (!at(*findings, id) || !at(*leads, id) || (reviews->it->Valid() && View(reviews->it->key()) < id)) {
        failed_ = true;
        break;
      }
      AdRecord ad;
      LeadRecord lead;
      if (!keys::DecodeAdRecord(View(ads->it->value()), &ad) ||
          !keys::DecodeFindingsEntities(View(findings->it->value()), &entities) ||
          !keys::DecodeLead(View(leads->it->value()), &lead)) {
        failed_ = true;
        break;
      }
      for (uint32_t v = 1; v < ad.version; ++v) {
        if (!Exists(Cf::kAdVersions, keys::AdVersionKey(id, v), &raw)) failed_ = true;
      }
      const double expected = lead.network ? NetworkBoostedScore(lead.base_score, impl_.network.boost) : lead.base_score;
      if (lead.version != ad.version || lead.time != ad.time || lead.score != expected) failed_ = true;
      StatusCount& c = counts[lead.status];
      ++c.total;
      if (lead.flagged) ++c.flagged;
      ReviewRecord review;
      if (at(*reviews, id)) {
        if (!keys::DecodeReview(View(reviews->it->value()), &review)) failed_ = true;
        reviews->it->Next();
      }
      if (review.status != lead.status) failed_ = true;
      const std::string index_value = keys::EncodeLeadIndexValue(lead);
      for (const keys::IndexEntry& e : keys::LeadIndexEntries(id, lead)) implied_index.Add(e.cf, e.key, index_value);
      bool has_network_phone = false;
      for (const EntityRef& e : entities) {
        implied_postings.Add(Cf::kEntities, keys::PostingKey(e.type, e.value, lead.time, id), lead.city);
        if (e.type == EntityType::kPhone && network_phones.count(keys::EntityStatsKey(e.type, e.value))) {
          has_network_phone = true;
        }
      }
      if (lead.network != has_network_phone) failed_ = true;
      findings->it->Next();
      leads->it->Next();
    }
    for (auto* it : {ads.get(), findings.get(), leads.get(), reviews.get()}) {
      if (Status st = FromRocks(it->it->status(), "checking the id-keyed families"); !st.ok()) return st;
    }
    if (!error_.ok()) return error_;
    // Records left over have no ad.
    if (findings->it->Valid() || leads->it->Valid() || reviews->it->Valid()) failed_ = true;
    if (failed_) return Finish(consistent);

    s = CheckAdVersions();
    if (!s.ok()) return s;

    // What is stored against what the ads imply. (leads_by_score is empty
    // since schema 2: anything in it makes the sums differ.)
    EntrySum stored_index;
    for (Cf cf : {Cf::kLeadsByScore, Cf::kLeadsByTime, Cf::kLeadsByCategory, Cf::kLeadsByStatus}) {
      s = Scan(cf, [&](std::string_view key, std::string_view value) {
        ++report_->lead_index_entries;
        stored_index.Add(cf, key, value);
      });
      if (!s.ok()) return s;
    }
    EntrySum stored_postings;
    std::unordered_map<std::string, uint64_t> posting_counts;  // stats key → postings seen
    s = Scan(Cf::kEntities, [&](std::string_view key, std::string_view value) {
      ++report_->postings;
      stored_postings.Add(Cf::kEntities, key, value);
      EntityType type;
      std::string entity, id;
      int64_t time;
      if (!keys::ParsePostingKey(key, &type, &entity, &time, &id)) return Problem("entities: undecodable key");
      ++posting_counts[keys::EntityStatsKey(type, entity)];
    });
    if (!s.ok()) return s;
    if (!(stored_index == implied_index) || !(stored_postings == implied_postings) || posting_counts != stats_ads) {
      failed_ = true;
      return Finish(consistent);
    }
    s = CheckReviewsAndAudit(counts);
    if (!s.ok()) return s;
    return Finish(consistent);
  }

  // One entity_stats entry, counted; false (and a problem) when it does
  // not decode.
  bool ReadStats(std::string_view key, std::string_view value, EntityType* type, std::string* entity,
                 EntityStats* stats) {
    ++report_->entities;
    if (!keys::ParseEntityStatsKey(key, type, entity) || !keys::DecodeEntityStats(value, stats)) {
      Problem("entity_stats: undecodable entry");
      return false;
    }
    return true;
  }

  // Every older version of an ad has a newer current one.
  Status CheckAdVersions() {
    std::string raw;
    return Scan(Cf::kAdVersions, [&](std::string_view key, std::string_view value) {
      ++report_->ad_versions;
      std::string id;
      uint32_t version;
      AdRecord ad;
      if (!keys::ParseAdVersionKey(key, &id, &version) || !keys::DecodeAdRecord(value, &ad)) {
        return Problem("ad_versions: undecodable entry");
      }
      AdRecord current;
      if (!Exists(Cf::kAds, id, &raw) || !keys::DecodeAdRecord(raw, &current) || current.version <= version) {
        Problem("ad_versions/{:?}#{}: no newer current version", id, version);
      }
    });
  }

  // Reviews and their history, the audit sequence, and the status counts
  // (`counts`: what the leads say) against meta.
  Status CheckReviewsAndAudit(const StatusCounts& counts) {
    std::string raw;
    Status s = Scan(Cf::kReviews, [&](std::string_view id, std::string_view value) {
      ++report_->reviews;
      ReviewRecord review;
      if (!keys::DecodeReview(value, &review)) return Problem("reviews/{:?}: undecodable", std::string(id));
      if (!Exists(Cf::kAds, id, &raw)) Problem("reviews/{:?}: points at no ad", std::string(id));
      for (uint64_t v = 1; v <= review.version; ++v) {
        if (!Exists(Cf::kReviewHistory, keys::ReviewHistoryKey(id, v), &raw)) {
          Problem("reviews/{:?}: history entry {} is missing", std::string(id), v);
        }
      }
    });
    if (!s.ok()) return s;
    s = Scan(Cf::kReviewHistory, [&](std::string_view key, std::string_view) {
      ++report_->review_history;
      std::string id;
      uint64_t version;
      ReviewRecord review;
      if (!keys::ParseReviewHistoryKey(key, &id, &version)) return Problem("review_history: undecodable key");
      if (!Exists(Cf::kReviews, id, &raw) || !keys::DecodeReview(raw, &review) || review.version < version) {
        Problem("review_history/{:?}#{}: no review reached this version", id, version);
      }
    });
    if (!s.ok()) return s;

    uint64_t expected_seq = 1;
    s = Scan(Cf::kAudit, [&](std::string_view key, std::string_view value) {
      ++report_->audit_events;
      AuditEvent e;
      if (key.size() != 8 || !keys::DecodeAuditEvent(value, &e)) return Problem("audit: undecodable entry");
      const uint64_t seq = keys::GetBigEndian64(key.data());
      if (e.seq != seq) Problem("audit#{}: holds seq {}", seq, e.seq);
      if (seq != expected_seq) Problem("audit: seq {} follows {} (a gap)", seq, expected_seq - 1);
      expected_seq = seq + 1;
    });
    if (!s.ok()) return s;

    StatusCounts stored;
    if (Exists(Cf::kMeta, keys::kMetaStatusCounts, &raw) && keys::DecodeStatusCounts(raw, &stored)) {
      if (!(stored == counts)) {
        for (int i = 0; i < kReviewStatusCount; ++i) {
          const auto st = static_cast<ReviewStatus>(i);
          if (!(stored[st] == counts[st])) {
            Problem("meta/status_counts: {} is {}/{} (total/flagged), leads say {}/{}", ReviewStatusName(st),
                    stored[st].total, stored[st].flagged, counts[st].total, counts[st].flagged);
          }
        }
      }
    } else {
      Problem("meta/status_counts: missing or undecodable");
    }
    return error_;
  }

 private:
  const Store::Impl& impl_;
  const ReadView& view_;
  ConsistencyReport* report_;
  Status error_;
  // RunQuick's end: consistent unless something disagreed or a read failed.
  Status Finish(bool* consistent) {
    *consistent = error_.ok() && !failed_;
    return error_;
  }

  bool quiet_ = false;  // RunQuick: Problem only sets failed_
  bool failed_ = false;
};

}  // namespace

Status Store::CheckConsistency(ConsistencyReport* report, CheckMethod method) const {
  ReadView view(*impl_);  // both passes read the same snapshot
  if (method == CheckMethod::kAuto) {
    *report = ConsistencyReport{};
    bool consistent = false;
    Checker quick(*impl_, view, report);
    if (Status s = quick.RunQuick(&consistent); !s.ok()) return s;
    if (consistent) {
      report->quick = true;
      return Status::Ok();
    }
  }
  *report = ConsistencyReport{};
  Checker checker(*impl_, view, report);
  return checker.Run();
}

}  // namespace vigil::storage
