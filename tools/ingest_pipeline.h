// IngestPipeline: NDJSON batches in, durable acknowledgements out.
//
//   Submit (any thread) -> bounded queue -> N scan workers (one
//   DocumentParser and one ScanContext each; the live scanner is taken
//   per chunk) -> Store::PutScannedAsync (synced group commit) -> callback.
//
// A batch is cut into chunks of kChunkLines lines that the scan workers
// take independently, so one large batch is scanned on every core at once
// (ack latency) and many batches keep every core busy (throughput).
//
// The scan worker that finishes a batch hands it to the store without
// waiting; the store's writer commits every batch queued at that moment in
// ONE synced RocksDB write (group commit) and still reports each batch's
// own counts. A batch's callback runs only after its write is durable, so
// an acknowledged document survives a crash.
//
// Bounds: at most `max_batches` batches and `max_bytes` bytes are held at
// once (scan and commit stages together); Submit refuses more with
// Unavailable and nothing of that batch is kept (the HTTP layer answers
// 503 with Retry-After). Memory stays bounded whatever the load.
//
// Thread-safety: Submit and Shutdown may be called from many threads.
// Callbacks run on the store's commit thread (or a scan worker for a batch
// with nothing to store, or one the store refused) and must not block for
// long: the store's next group commit waits for them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rules/status.h"
#include "storage/store.h"
#include "tools/live_rules.h"
#include "tools/metrics.h"

namespace vigil::daemon {

struct LineError {
  uint64_t line = 0;  // 1-based, in the request body (or the connection for the TCP port)
  std::string error;
};

// What happened to one submitted batch.
struct IngestOutcome {
  Status status;  // not OK: the store failed and nothing of the batch is acknowledged
  uint64_t lines = 0;       // non-blank lines
  uint64_t accepted = 0;    // lines stored or found duplicate
  uint64_t new_ads = 0;     // new ids
  uint64_t new_versions = 0;  // known ids with changed content
  uint64_t duplicates = 0;  // same content as stored
  uint64_t flagged = 0;     // stored and flagged
  std::vector<LineError> errors;
  std::string pack;         // the pack that scanned the batch
};

using IngestCallback = std::function<void(IngestOutcome)>;

class IngestPipeline {
 public:
  struct Options {
    int scan_workers = 2;
    int committers = 8;  // unused: batches go to the store without committer threads (kept for old configs)
    size_t max_batches = 64;
    size_t max_bytes = size_t{256} << 20;
    size_t max_line_bytes = size_t{1} << 20;
  };

  // `store`, `rules` and `metrics` (optional) must outlive the pipeline.
  IngestPipeline(storage::Store* store, LiveRules* rules, Metrics* metrics, Options options);
  ~IngestPipeline();  // Shutdown()
  IngestPipeline(const IngestPipeline&) = delete;
  IngestPipeline& operator=(const IngestPipeline&) = delete;

  // Queues `body` (NDJSON; lines are numbered from `first_line`). `done`
  // is called exactly once, after the batch is durable (or failed), unless
  // Submit returns an error: Unavailable when the queue is full or the
  // pipeline shuts down; then `done` is never called.
  Status Submit(std::string body, uint64_t first_line, IngestCallback done);

  // Stops accepting, finishes every queued batch (callbacks included) and
  // stops the threads. Idempotent.
  void Shutdown();

  size_t scan_queue_batches() const;
  size_t commit_queue_batches() const;
  size_t queued_bytes() const;

 private:
  static constexpr size_t kChunkLines = 32;
  struct Batch;
  struct Chunk;
  struct Worker;
  void ScanLoop(int index);
  void Commit(std::unique_ptr<Batch> batch);
  void ScanChunk(Batch* batch, Chunk* chunk, Worker* worker);
  void Finish(std::unique_ptr<Batch> batch);

  storage::Store* store_;
  LiveRules* rules_;
  Metrics* metrics_;
  Options options_;

  mutable std::mutex mu_;
  std::condition_variable scan_cv_;
  std::condition_variable idle_cv_;
  std::deque<std::pair<Batch*, Chunk*>> scan_queue_;  // chunks to scan; batches owned by scanning_batches_
  std::vector<std::unique_ptr<Batch>> scanning_batches_;
  size_t in_flight_batches_ = 0;
  size_t in_flight_bytes_ = 0;
  size_t scanning_ = 0;  // chunks being scanned
  size_t committing_ = 0;  // batches handed to the store, not yet durable
  bool closed_ = false;
  bool stopping_ = false;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
};

}  // namespace vigil::daemon
