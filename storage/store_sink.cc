#include "storage/store_sink.h"

#include <utility>

namespace vigil::storage {

StoreSink::StoreSink(Store* store, size_t batch_size)
    : store_(store), batch_size_(batch_size == 0 ? kDefaultBatchSize : batch_size) {}

StoreSink::~StoreSink() { (void)WaitInFlight(0); }

void StoreSink::set_on_commit(std::function<void(std::span<const std::string>)> on_commit) {
  on_commit_ = std::move(on_commit);
}

Status StoreSink::Accept(const scanner::Document& doc, const scanner::ScanResult& result) {
  {
    std::lock_guard lock(mu_);
    if (!failed_.ok()) return failed_;
    ++accepted_;
  }
  if (!current_) {
    current_ = std::make_unique<Batch>();
    current_->docs.reserve(batch_size_);
    current_->results.reserve(batch_size_);
  }
  current_->docs.push_back(doc);
  current_->results.push_back(result);
  if (current_->docs.size() >= batch_size_) return Submit();
  return Status::Ok();
}

Status StoreSink::Finish() {
  if (current_ && !current_->docs.empty()) {
    if (Status s = Submit(); !s.ok()) return s;
  }
  return WaitInFlight(0);
}

Status StoreSink::Submit() {
  if (Status s = WaitInFlight(kMaxBatchesInFlight - 1); !s.ok()) return s;
  std::unique_ptr<Batch> batch = std::move(current_);
  batch->refs.reserve(batch->docs.size());
  for (size_t i = 0; i < batch->docs.size(); ++i) batch->refs.push_back({&batch->docs[i], &batch->results[i]});
  Batch* raw = batch.get();
  {
    std::lock_guard lock(mu_);
    in_flight_.push_back(std::move(batch));
  }
  store_->PutScannedAsync(raw->refs, [this, raw](const Status& s, const PutStats& stats) {
    if (s.ok() && on_commit_) {
      std::vector<std::string> ids;
      ids.reserve(raw->docs.size());
      for (const auto& d : raw->docs) ids.push_back(d.id);
      on_commit_(ids);
    }
    std::lock_guard lock(mu_);
    if (s.ok()) {
      stats_.Add(stats);
      committed_ += raw->docs.size();
    } else if (failed_.ok()) {
      failed_ = s;
    }
    raw->done = true;
    cv_.notify_all();  // under the lock: the sink may be waiting to be destroyed
  });
  std::lock_guard lock(mu_);
  return failed_;
}

Status StoreSink::WaitInFlight(size_t max) {
  std::unique_lock lock(mu_);
  for (;;) {
    while (!in_flight_.empty() && in_flight_.front()->done) in_flight_.pop_front();
    if (in_flight_.size() <= max) break;
    cv_.wait(lock);
  }
  return failed_;
}

PutStats StoreSink::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

size_t StoreSink::committed() const {
  std::lock_guard lock(mu_);
  return committed_;
}

size_t StoreSink::pending() const {
  std::lock_guard lock(mu_);
  return accepted_ - committed_;
}

}  // namespace vigil::storage
