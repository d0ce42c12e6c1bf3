// OrderedPipeline: runs work on batches on N threads and delivers the
// finished batches in the order they were pushed (reader -> scan workers ->
// ordered writer), with a bound on batches in flight so memory stays
// bounded whatever the input size.
//
// Thread-safety: Push and Finish are called from one producer thread.
// `work` runs concurrently on the worker threads (with the worker's index,
// for per-thread state); `deliver` runs on one thread at a time, in order.
// With zero workers everything runs inline on the producer thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "rules/status.h"

namespace vigil::scanner {

template <typename Batch>
class OrderedPipeline {
 public:
  using WorkFn = std::function<void(Batch& batch, int worker)>;
  using DeliverFn = std::function<Status(Batch& batch)>;

  OrderedPipeline(int workers, size_t max_in_flight, WorkFn work, DeliverFn deliver)
      : max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight), work_(std::move(work)), deliver_(std::move(deliver)) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this, i] { WorkerLoop(i); });
  }

  ~OrderedPipeline() { Finish(); }

  // Queues a batch; blocks while max_in_flight batches are unfinished.
  // Returns the first delivery error, after which batches are dropped.
  Status Push(std::unique_ptr<Batch> batch) {
    if (threads_.empty()) {
      if (!failure_.ok()) return failure_;
      work_(*batch, 0);
      failure_ = deliver_(*batch);
      return failure_;
    }
    std::unique_lock<std::mutex> lock(mu_);
    space_cv_.wait(lock, [&] { return in_flight_ < max_in_flight_ || !failure_.ok(); });
    if (!failure_.ok()) return failure_;
    ++in_flight_;
    todo_.emplace_back(next_seq_++, std::move(batch));
    work_cv_.notify_one();
    return Status::Ok();
  }

  // Waits until every pushed batch is delivered and stops the workers.
  // Returns the first delivery error, if any. Idempotent.
  Status Finish() {
    if (!threads_.empty()) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        space_cv_.wait(lock, [&] { return in_flight_ == 0; });
        closing_ = true;
      }
      work_cv_.notify_all();
      for (std::thread& t : threads_) t.join();
      threads_.clear();
    }
    std::lock_guard<std::mutex> lock(mu_);
    return failure_;
  }

 private:
  void WorkerLoop(int worker) {
    for (;;) {
      std::pair<uint64_t, std::unique_ptr<Batch>> item;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return closing_ || !todo_.empty(); });
        if (todo_.empty()) return;
        item = std::move(todo_.front());
        todo_.pop_front();
      }
      if (failure_ok()) work_(*item.second, worker);
      std::unique_lock<std::mutex> lock(mu_);
      done_.emplace(item.first, std::move(item.second));
      if (delivering_) continue;
      delivering_ = true;
      while (!done_.empty() && done_.begin()->first == next_deliver_) {
        std::unique_ptr<Batch> ready = std::move(done_.begin()->second);
        done_.erase(done_.begin());
        bool deliver = failure_.ok();
        lock.unlock();
        Status s = deliver ? deliver_(*ready) : Status::Ok();
        ready.reset();
        lock.lock();
        if (!s.ok() && failure_.ok()) failure_ = s;
        ++next_deliver_;
        --in_flight_;
        space_cv_.notify_all();
      }
      delivering_ = false;
    }
  }

  bool failure_ok() {
    std::lock_guard<std::mutex> lock(mu_);
    return failure_.ok();
  }

  const size_t max_in_flight_;
  WorkFn work_;
  DeliverFn deliver_;
  std::vector<std::thread> threads_;

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable space_cv_;
  std::deque<std::pair<uint64_t, std::unique_ptr<Batch>>> todo_;
  std::map<uint64_t, std::unique_ptr<Batch>> done_;
  uint64_t next_seq_ = 0;
  uint64_t next_deliver_ = 0;
  size_t in_flight_ = 0;
  bool closing_ = false;
  bool delivering_ = false;
  Status failure_;
};

}  // namespace vigil::scanner
