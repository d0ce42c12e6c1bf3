// StoreSink: the scanner's ResultSink for ingest. Buffers accepted
// documents and hands each full batch to the Store without waiting
// (Store::PutScannedAsync), keeping up to kMaxBatchesInFlight batches in
// flight so that the store's group commit has enough queued to group and
// scanning, staging and writing overlap. A document is acknowledged —
// durable — once the batch holding it is committed: on_commit reports it,
// committed() counts it, and Finish returns after everything is.
//
// Thread-safety: Accept and Finish from one thread (the scanner's
// pipelines call Accept from one thread, in input order). on_commit runs on
// a store thread, in commit order, and must not call the store's write
// methods. The Store may be shared with other threads.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "rules/status.h"
#include "scanner/sink.h"
#include "storage/store.h"

namespace vigil::storage {

class StoreSink : public scanner::ResultSink {
 public:
  static constexpr size_t kDefaultBatchSize = 1024;
  // Batches handed over and not yet durable: enough for groups of several
  // thousand ads (larger groups apply to the memtables faster, sorted).
  static constexpr size_t kMaxBatchesInFlight = 16;

  // `store` must outlive the sink. batch_size 0 means kDefaultBatchSize.
  explicit StoreSink(Store* store, size_t batch_size = kDefaultBatchSize);
  // Waits for batches in flight (it does not commit a partial batch: call
  // Finish for that).
  ~StoreSink() override;
  StoreSink(const StoreSink&) = delete;
  StoreSink& operator=(const StoreSink&) = delete;

  // Copies the document and result into the current batch; hands the
  // batch to the store when it is full (waiting while kMaxBatchesInFlight
  // are in flight).
  // After a failed commit every later call returns that error and nothing
  // more is handed over.
  Status Accept(const scanner::Document& doc, const scanner::ScanResult& result) override;
  // Commits what is buffered and waits until every batch is durable.
  // Idempotent.
  Status Finish() override;

  // Called after each commit with the ids it made durable (accept order).
  // Set before the first Accept.
  void set_on_commit(std::function<void(std::span<const std::string> ids)> on_commit);

  PutStats stats() const;   // of committed batches
  size_t committed() const;  // documents made durable so far
  size_t pending() const;    // accepted, not yet durable

 private:
  struct Batch {
    std::vector<scanner::Document> docs;
    std::vector<scanner::ScanResult> results;
    std::vector<ScannedAd> refs;
    bool done = false;
  };
  // Hands the current batch over; waits while the pipeline is full.
  Status Submit();
  // Waits until at most `max` batches are in flight; returns the first error.
  Status WaitInFlight(size_t max);

  Store* store_;
  size_t batch_size_;
  std::unique_ptr<Batch> current_;
  std::function<void(std::span<const std::string>)> on_commit_;

  mutable std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Batch>> in_flight_;
  PutStats stats_;
  size_t committed_ = 0;
  size_t accepted_ = 0;
  Status failed_;
};

}  // namespace vigil::storage
