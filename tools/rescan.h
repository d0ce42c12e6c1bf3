// Rescanner: rescans the ads of a store with a (new) rule pack and replaces
// their findings, leads and index entries (Store::ReplaceFindings), batch by
// batch; review status, notes and history are untouched, and a lead that
// falls below the new pack's threshold stays listed with flagged = false
// under the new pack version. Used by `vigil rescan` and by vigild.
//
// Pipeline: N workers take turns walking the ads in id order with their
// stored findings, still encoded, and (only to select by category) their
// leads (Store::WalkStoredAds, one snapshot, no point lookups), a batch
// each; each scans the ads of its batch (one ScanContext per worker) and
// compares the new findings with the stored bytes (CompareStoredFindings).
// Stored entities are reused when the findings record that this scanner's
// extraction found them (Scanner::extractor_fingerprint). Findings the new
// pack reproduces, whatever the pack label, are left as they are: not
// decoded, not sent to the store, and their records keep the label of the
// pack that produced them; unless they do not record this extraction, in
// which case a writing rescan rewrites them once with it (`relabelled`).
// Finished batches are delivered in id order,
// merged into the report and the changed findings handed to the store
// without waiting (Store::ReplaceFindingsAsync) with a checkpoint — the
// last ad id done and the report so far — in the same atomic batch, so a
// stopped or killed rescan resumes exactly after the last committed batch.
// The store groups queued batches into one synced write. An ad re-ingested
// with new content since the walk is left to its new findings. The
// checkpoint names the pack's hash and the selection: a checkpoint of
// another pack or selection is refused, never silently mixed.
//
// A dry run reads and scans the same way, computes the same report and
// writes nothing (no findings, no checkpoint); it works on a read-only
// store.
//
// Thread-safety: one Run at a time per Rescanner; Run blocks the calling
// thread. The store may be used by other threads meanwhile (live ingest
// keeps running). The progress callback runs on one thread at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/status.h"
#include "scanner/scanner.h"
#include "storage/store.h"

namespace vigil::tools {

// The checkpoint name used in the store's checkpoints family.
inline constexpr const char* kRescanCheckpoint = "rescan";
// The record of the last rescan that ran to completion (LastRescan).
inline constexpr const char* kLastRescanCheckpoint = "rescan.last";

// The last rescan that ran to completion and wrote (not a dry run). The
// ads it read and whose findings its pack reproduced were left as they
// were, labelled with the pack that produced them; the ad views say that
// this later pack found the same.
struct LastRescan {
  std::string pack;               // "name@version"
  int64_t started_at_ms = 0;      // its first start (resuming keeps it)
  int64_t finished_at_ms = 0;
  std::optional<int64_t> since;   // its selection
  std::string category;

  // Whether it read this version of the ad: stored before the rescan
  // started, and in its selection. A selection by category is never
  // claimed: the categories an ad had then are not kept.
  bool Read(const storage::AdRecord& ad) const;
  // Whether the views cite it for an ad whose findings carry `label`: it
  // read the ad, and its pack is another (it left them as they were).
  bool Cites(const storage::AdRecord& ad, std::string_view label) const;
};

// The record as stored (NotFound when no writing rescan has run), and
// what it says: NotFound when a rescan has started since the last that
// completed (until it completes), or when the record does not decode (it
// only informs the ad views).
Result<std::string> ReadLastRescanRecord(const storage::Store& store);
Result<LastRescan> DecodeLastRescan(std::string_view record);

// For an ad view, which reads the record (ReadLastRescanRecord) before it
// reads the ad, then asks for the last completed rescan if it read that
// version of the ad and its pack is not the findings' `label`. NotFound
// otherwise, and when the record changed in between (a rescan that
// started or completed meanwhile may have replaced the findings read).
Result<LastRescan> LastRescanThatRead(const storage::Store& store, const Result<std::string>& record_before,
                                      const storage::AdRecord& ad, std::string_view label);

// For an export, which reads the record (ReadLastRescanRecord) before the
// ads: fills each record's unchanged_by where the last completed rescan
// read it and found the same, as LastRescanThatRead decides for one ad
// (the record is read again and decoded once for all of them).
void CiteLastRescan(const storage::Store& store, const Result<std::string>& record_before,
                    std::vector<storage::ExportRecord>* records);

struct RescanOptions {
  int threads = 0;               // scan workers; 0: all cores
  bool dry_run = false;          // compute the report, write nothing
  std::optional<int64_t> since;  // only ads whose time >= since (Unix seconds)
  std::string category;          // only ads whose stored lead has this category
  size_t batch_size = 1024;      // ads per commit and checkpoint (1..8192)
  bool restart = false;          // discard an unfinished checkpoint of another pack or selection
  size_t max_examples = 5;       // example ad ids kept per report line
  size_t top_score_changes = 10;
};

struct RescanProgress {
  uint64_t examined = 0;   // ads walked so far (selected or not), resumed ones included
  uint64_t total = 0;      // ads in the store when the run started
  uint64_t rescanned = 0;  // selected ads scanned (the report's `written` counts those replaced)
  uint64_t bytes = 0;      // text bytes scanned in this run
  uint64_t run_ads = 0;    // ads examined in this run (for rates)
  double seconds = 0.0;    // since this run started
  bool resumed = false;
};

// Counts of one rule or category over the rescanned ads, before (the stored
// findings) and after (the new pack).
struct RescanDelta {
  uint64_t hits_before = 0, hits_after = 0;
  uint64_t ads_before = 0, ads_after = 0;          // ads with at least one hit
  uint64_t flagged_before = 0, flagged_after = 0;  // flagged ads with at least one hit
  std::vector<std::string> gained;                 // examples: ads that gained hits
  std::vector<std::string> lost;                   // examples: ads that lost hits
};

struct ScoreChange {
  std::string ad_id;
  double before = 0.0;  // the scanner's score (without the network boost)
  double after = 0.0;
};

// Maps keyed by name that are looked up with string_views (std::less<>).
using DeltaMap = std::map<std::string, RescanDelta, std::less<>>;

struct RescanReport {
  std::string pack;       // "name@version" of the new pack
  std::string pack_hash;
  std::map<std::string, uint64_t, std::less<>> packs_before;  // pack label -> ads it had scanned
  bool dry_run = false;
  bool complete = false;  // every selected ad was rescanned
  bool resumed = false;   // this run continued a checkpoint
  uint64_t examined = 0;
  uint64_t rescanned = 0;
  uint64_t changed = 0;   // ads whose hits, score or verdict changed
  uint64_t written = 0;   // ads whose findings differed and were sent to be replaced (a dry run: would be);
                          // one re-ingested meanwhile keeps its new version's findings
  uint64_t relabelled = 0;  // ads whose findings were the same and were rewritten only to record
                            // this vigil's extraction (entities_by), so that later rescans reuse it
  uint64_t flagged_before = 0, flagged_after = 0;
  uint64_t newly_flagged = 0, no_longer_flagged = 0;
  std::vector<std::string> newly_flagged_examples, no_longer_flagged_examples;
  DeltaMap rules, categories;
  std::vector<ScoreChange> largest_changes;  // by |after - before|, largest first
  std::string last_id;                       // the last ad done (checkpoint position)

  // JSON object (for --report FILE and the daemon) and text for a person.
  std::string ToJson() const;
  std::string ToText(size_t max_rules = 40) const;
};

class Rescanner {
 public:
  // `store` and `scanner` must outlive the Rescanner. A dry run may use a
  // read-only store.
  Rescanner(storage::Store* store, std::shared_ptr<const scanner::Scanner> scanner, RescanOptions options);

  using ProgressFn = std::function<void(const RescanProgress&)>;

  // Runs to the end or until *stop becomes true (checked between ads; the
  // batches in flight are still committed and checkpointed). Returns the
  // report so far: complete = false when stopped. Errors: InvalidArgument
  // for options or a checkpoint of another pack or selection (the message
  // says how to proceed); store errors as they come (nothing after the last
  // checkpoint is lost, the same command resumes).
  Result<RescanReport> Run(const ProgressFn& progress, const std::atomic<bool>* stop);

 private:
  storage::Store* store_;
  std::shared_ptr<const scanner::Scanner> scanner_;
  RescanOptions options_;
};

}  // namespace vigil::tools
