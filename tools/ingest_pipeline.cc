// IngestPipeline: Submit cuts a body into chunks of lines and queues them
// in scan_queue_; scan workers parse and scan chunks (of any batch) in
// parallel; the worker that finishes a batch's last chunk joins the chunk
// outputs in line order and hands the batch to Store::PutScannedAsync
// (which joins the store's group commit); the store's thread calls Finish
// once the batch is durable, and Finish runs the batch's callback. No
// thread of this pipeline waits for a sync. in_flight_* count a batch from
// Submit to its callback.
#include "tools/ingest_pipeline.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "scanner/document_parser.h"

namespace vigil::daemon {
namespace {

constexpr size_t kPadding = 64;  // readable bytes simdjson may touch after a line

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

struct IngestPipeline::Chunk {
  size_t begin = 0;  // byte range of the body: whole lines
  size_t end = 0;
  uint64_t first_line = 1;
  std::vector<scanner::Document> docs;
  std::vector<scanner::ScanResult> results;
  std::vector<LineError> errors;
  uint64_t lines = 0;
  std::string pack;
};

struct IngestPipeline::Batch {
  std::string body;  // followed by kPadding bytes of padding
  size_t body_bytes = 0;
  uint64_t first_line = 1;
  IngestCallback done;
  std::chrono::steady_clock::time_point submitted;
  std::chrono::steady_clock::time_point scan_started;
  std::vector<Chunk> chunks;
  size_t chunks_left = 0;  // guarded by mu_
  std::vector<scanner::Document> docs;
  std::vector<scanner::ScanResult> results;
  std::vector<storage::ScannedAd> ads;  // points into docs/results; valid until Finish
  std::chrono::steady_clock::time_point commit_started;
  IngestOutcome outcome;
};

struct IngestPipeline::Worker {
  explicit Worker(size_t max_line_bytes)
      : parser(scanner::DocumentParser::Limits{max_line_bytes, storage::kMaxAdIdBytes / 2}) {}
  scanner::DocumentParser parser;
  std::unique_ptr<scanner::ScanContext> context;
};

IngestPipeline::IngestPipeline(storage::Store* store, LiveRules* rules, Metrics* metrics, Options options)
    : store_(store), rules_(rules), metrics_(metrics), options_(options) {
  if (options_.scan_workers < 1) options_.scan_workers = 1;
  if (options_.committers < 1) options_.committers = 1;
  if (options_.max_batches < 1) options_.max_batches = 1;
  std::shared_ptr<const scanner::Scanner> scan = rules_->Current();
  for (int i = 0; i < options_.scan_workers; ++i) {
    auto w = std::make_unique<Worker>(options_.max_line_bytes);
    if (scan) w->context = scan->NewContext();
    workers_.push_back(std::move(w));
  }
  // Named so that top, perf and load_gen can tell the stages apart.
  for (int i = 0; i < options_.scan_workers; ++i) {
    threads_.emplace_back([this, i] {
      pthread_setname_np(pthread_self(), "vigil-scan");
      ScanLoop(i);
    });
  }
}

IngestPipeline::~IngestPipeline() { Shutdown(); }

Status IngestPipeline::Submit(std::string body, uint64_t first_line, IngestCallback done) {
  size_t bytes = body.size();
  std::unique_lock lock(mu_);
  if (closed_) return Status::Unavailable("shutting down");
  if (in_flight_batches_ >= options_.max_batches ||
      (in_flight_batches_ > 0 && in_flight_bytes_ + bytes > options_.max_bytes)) {
    return Status::Unavailable(fmt::format("ingest queue full ({} batches, {} bytes waiting)", in_flight_batches_,
                                           in_flight_bytes_));
  }
  ++in_flight_batches_;
  in_flight_bytes_ += bytes;
  lock.unlock();
  auto batch = std::make_unique<Batch>();
  batch->body = std::move(body);
  batch->body_bytes = bytes;
  batch->body.append(kPadding, ' ');
  batch->first_line = first_line;
  batch->done = std::move(done);
  batch->submitted = std::chrono::steady_clock::now();
  // Cut into chunks of whole lines (a trailing unterminated line included).
  size_t pos = 0;
  uint64_t line = first_line;
  while (pos < bytes || batch->chunks.empty()) {
    Chunk chunk;
    chunk.begin = pos;
    chunk.first_line = line;
    for (size_t n = 0; n < kChunkLines && pos < bytes; ++n, ++line) {
      const void* nl = std::memchr(batch->body.data() + pos, '\n', bytes - pos);
      pos = nl ? static_cast<size_t>(static_cast<const char*>(nl) - batch->body.data()) + 1 : bytes;
    }
    chunk.end = pos;
    batch->chunks.push_back(std::move(chunk));
    if (bytes == 0) break;
  }
  batch->chunks_left = batch->chunks.size();
  Batch* raw = batch.get();
  lock.lock();
  for (Chunk& c : raw->chunks) scan_queue_.emplace_back(raw, &c);
  scanning_batches_.push_back(std::move(batch));
  lock.unlock();
  scan_cv_.notify_all();
  return Status::Ok();
}

void IngestPipeline::ScanLoop(int index) {
  Worker* worker = workers_[static_cast<size_t>(index)].get();
  std::unique_lock lock(mu_);
  while (true) {
    scan_cv_.wait(lock, [&] { return stopping_ || !scan_queue_.empty(); });
    if (scan_queue_.empty()) return;  // stopping and drained
    auto [batch, chunk] = scan_queue_.front();
    scan_queue_.pop_front();
    ++scanning_;
    if (chunk == &batch->chunks.front()) batch->scan_started = std::chrono::steady_clock::now();
    lock.unlock();
    ScanChunk(batch, chunk, worker);
    lock.lock();
    --scanning_;
    if (--batch->chunks_left > 0) continue;
    // The last chunk of the batch: join the outputs in line order.
    auto it = std::find_if(scanning_batches_.begin(), scanning_batches_.end(),
                           [batch = batch](const std::unique_ptr<Batch>& b) { return b.get() == batch; });
    std::unique_ptr<Batch> owned = std::move(*it);
    scanning_batches_.erase(it);
    lock.unlock();
    IngestOutcome& out = owned->outcome;
    out.pack = owned->chunks.front().pack;
    size_t docs = 0;
    for (const Chunk& c : owned->chunks) docs += c.docs.size();
    owned->docs.reserve(docs);
    owned->results.reserve(docs);
    for (Chunk& c : owned->chunks) {
      out.lines += c.lines;
      for (auto& d : c.docs) owned->docs.push_back(std::move(d));
      for (auto& r : c.results) owned->results.push_back(std::move(r));
      for (auto& e : c.errors) out.errors.push_back(std::move(e));
    }
    owned->chunks.clear();
    std::string().swap(owned->body);  // the documents own their text now
    if (metrics_) {
      metrics_->scan_seconds.Observe(SecondsSince(owned->scan_started));
      if (!out.errors.empty()) {
        metrics_->errors[static_cast<size_t>(ErrorKind::kBadLine)].fetch_add(out.errors.size(),
                                                                             std::memory_order_relaxed);
      }
    }
    if (owned->docs.empty()) {
      Finish(std::move(owned));
    } else {
      Commit(std::move(owned));
    }
    lock.lock();
  }
}

void IngestPipeline::ScanChunk(Batch* batch, Chunk* chunk, Worker* worker) {
  std::shared_ptr<const scanner::Scanner> scan = rules_->Current();
  chunk->pack = scan ? scan->rules().pack_label() : std::string();
  if (scan && !worker->context) worker->context = scan->NewContext();
  std::string_view body(batch->body.data() + chunk->begin, chunk->end - chunk->begin);
  uint64_t number = chunk->first_line;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    size_t end = nl == std::string_view::npos ? body.size() : nl;
    std::string_view line = body.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;
    uint64_t this_line = number++;
    if (scanner::IsBlankLine(line)) continue;
    ++chunk->lines;
    if (line.size() > options_.max_line_bytes) {
      chunk->errors.push_back({this_line, fmt::format("line is {} bytes; the limit is {}", line.size(),
                                                      options_.max_line_bytes)});
      continue;
    }
    scanner::Document doc;
    if (Status s = worker->parser.Parse(line, &doc, /*padded=*/true); !s.ok()) {
      chunk->errors.push_back({this_line, s.message()});
      continue;
    }
    if (!scan) {
      chunk->errors.push_back({this_line, "no rule pack is loaded"});
      continue;
    }
    scanner::ScanResult result;
    if (Status s = scan->Scan(doc, worker->context.get(), &result); !s.ok()) {
      chunk->errors.push_back({this_line, "scan failed: " + s.message()});
      continue;
    }
    if (!result.truncated.empty() && metrics_) {
      metrics_->documents_truncated.fetch_add(1, std::memory_order_relaxed);
    }
    result.id = doc.id;
    chunk->docs.push_back(std::move(doc));
    chunk->results.push_back(std::move(result));
  }
}

void IngestPipeline::Commit(std::unique_ptr<Batch> batch) {
  {
    std::lock_guard lock(mu_);
    ++committing_;
  }
  batch->ads.reserve(batch->docs.size());
  for (size_t i = 0; i < batch->docs.size(); ++i) batch->ads.push_back({&batch->docs[i], &batch->results[i]});
  batch->commit_started = std::chrono::steady_clock::now();
  std::span<const storage::ScannedAd> ads = batch->ads;
  // The store calls back exactly once (on this thread for invalid input,
  // else on its own thread once the batch is durable); the batch lives
  // until then.
  Batch* raw = batch.release();
  store_->PutScannedAsync(ads, [this, raw](const Status& s, const storage::PutStats& stats) {
    std::unique_ptr<Batch> owned(raw);
    if (metrics_) metrics_->commit_seconds.Observe(SecondsSince(owned->commit_started));
    IngestOutcome& out = owned->outcome;
    out.status = s;
    if (s.ok()) {
      out.new_ads = stats.new_ads;
      out.new_versions = stats.new_versions;
      out.duplicates = stats.duplicates;
      out.flagged = stats.flagged;
      out.accepted = stats.ads;
    } else {
      spdlog::error("ingest commit failed ({} documents): {}", owned->ads.size(), s.ToString());
    }
    {
      std::lock_guard lock(mu_);
      --committing_;
    }
    Finish(std::move(owned));
  });
}

void IngestPipeline::Finish(std::unique_ptr<Batch> batch) {
  IngestOutcome& out = batch->outcome;
  if (metrics_) {
    if (out.status.ok()) {
      metrics_->documents_ingested.fetch_add(out.accepted, std::memory_order_relaxed);
      metrics_->bytes_ingested.fetch_add(batch->body_bytes, std::memory_order_relaxed);
      metrics_->documents_new.fetch_add(out.new_ads + out.new_versions, std::memory_order_relaxed);
      metrics_->documents_duplicate.fetch_add(out.duplicates, std::memory_order_relaxed);
      metrics_->documents_flagged.fetch_add(out.flagged, std::memory_order_relaxed);
      metrics_->batches_committed.fetch_add(1, std::memory_order_relaxed);
    } else {
      metrics_->CountError(ErrorKind::kStore);
    }
    metrics_->ack_seconds.Observe(SecondsSince(batch->submitted));
  }
  size_t bytes = batch->body_bytes;
  IngestCallback done = std::move(batch->done);
  IngestOutcome outcome = std::move(batch->outcome);
  batch.reset();
  if (done) done(std::move(outcome));
  // Notified under the lock: this may run on the store's thread, and once
  // the lock is released Shutdown may return and the pipeline be destroyed.
  std::lock_guard lock(mu_);
  --in_flight_batches_;
  in_flight_bytes_ -= bytes;
  idle_cv_.notify_all();
}

void IngestPipeline::Shutdown() {
  std::unique_lock lock(mu_);
  closed_ = true;
  idle_cv_.wait(lock, [&] { return in_flight_batches_ == 0; });
  if (threads_.empty()) return;
  stopping_ = true;
  lock.unlock();
  scan_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

size_t IngestPipeline::scan_queue_batches() const {
  std::lock_guard lock(mu_);
  return scanning_batches_.size();
}

size_t IngestPipeline::commit_queue_batches() const {
  std::lock_guard lock(mu_);
  return committing_;
}

size_t IngestPipeline::queued_bytes() const {
  std::lock_guard lock(mu_);
  return in_flight_bytes_;
}

}  // namespace vigil::daemon
