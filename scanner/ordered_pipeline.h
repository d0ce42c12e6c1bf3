// OrderedPipeline: runs work on batches on N threads and delivers the
// finished batches in the order they were pushed (reader -> scan workers ->
// ordered writer), with a bound on batches in flight so memory stays
// bounded whatever the input size.
//
// Thread-safety: Push and Finish are called from one producer thread.
// (RunPulled, below: the workers fill the batches themselves.)
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

namespace internal {

// Delivers finished batches in sequence order, one at a time, on whichever
// thread finishes the batch that is next (OrderedPipeline, RunPulled). Its
// state is guarded by the caller's mutex.
template <typename Batch>
class InOrderDelivery {
 public:
  // With `lock` held: records batch `seq` as finished. Unless another
  // thread is delivering, then delivers every finished batch that is next
  // in order, the lock released around each `deliver` (not called once
  // *failure is set, which the first error does); `after` runs, locked,
  // after each.
  template <typename Deliver, typename After>
  void Finished(std::unique_lock<std::mutex>& lock, uint64_t seq, std::unique_ptr<Batch> batch, Status* failure,
                const Deliver& deliver, const After& after) {
    done_.emplace(seq, std::move(batch));
    if (delivering_) return;
    delivering_ = true;
    while (!done_.empty() && done_.begin()->first == next_) {
      std::unique_ptr<Batch> ready = std::move(done_.begin()->second);
      done_.erase(done_.begin());
      const bool deliver_it = failure->ok();
      lock.unlock();
      Status s = deliver_it ? deliver(*ready) : Status::Ok();
      ready.reset();
      lock.lock();
      if (!s.ok() && failure->ok()) *failure = s;
      ++next_;
      after();
    }
    delivering_ = false;
  }

  // The sequence number of the next batch to deliver.
  uint64_t next() const { return next_; }

 private:
  std::map<uint64_t, std::unique_ptr<Batch>> done_;
  uint64_t next_ = 0;
  bool delivering_ = false;
};

}  // namespace internal

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
      delivery_.Finished(lock, item.first, std::move(item.second), &failure_, deliver_, [this] {
        --in_flight_;
        space_cv_.notify_all();
      });
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
  internal::InOrderDelivery<Batch> delivery_;
  uint64_t next_seq_ = 0;
  size_t in_flight_ = 0;
  bool closing_ = false;
  Status failure_;
};

// Runs batches that the worker threads fill themselves, instead of a
// producer thread pushing them: each worker takes the source lock, has
// `fill` fill the next batch, lets go and works on it. A batch is then read
// and worked on by one thread, warm in its cache, and the reading is spread
// over the workers. Delivery is in fill order, one batch at a time; at most
// `max_in_flight` filled batches wait to be delivered. `fill` returns false
// when there is nothing more (the batch it was given is dropped) and runs
// on one thread at a time, in order. With zero workers everything runs on
// the calling thread. Returns the first delivery error; after one, no
// further batch is delivered, and none is filled or worked on but those
// already under way (they are dropped).
template <typename Batch>
Status RunPulled(int workers, size_t max_in_flight, const std::function<bool(Batch&)>& fill,
                 const std::function<void(Batch&, int)>& work, const std::function<Status(Batch&)>& deliver) {
  if (workers <= 0) {
    for (;;) {
      Batch batch;
      if (!fill(batch)) return Status::Ok();
      work(batch, 0);
      if (Status s = deliver(batch); !s.ok()) return s;
    }
  }
  if (max_in_flight < 1) max_in_flight = 1;
  std::mutex source_mu;  // fill, one at a time
  bool exhausted = false;
  uint64_t next_seq = 0;
  std::mutex mu;  // the rest
  std::condition_variable space_cv;
  internal::InOrderDelivery<Batch> delivery;
  Status failure;
  const auto loop = [&](int worker) {
    for (;;) {
      auto batch = std::make_unique<Batch>();
      uint64_t seq;
      {
        std::lock_guard<std::mutex> source(source_mu);
        if (exhausted) return;
        {
          std::unique_lock<std::mutex> lock(mu);
          space_cv.wait(lock, [&] { return next_seq - delivery.next() < max_in_flight || !failure.ok(); });
          if (!failure.ok()) {
            exhausted = true;
            return;
          }
        }
        if (!fill(*batch)) {
          exhausted = true;
          return;
        }
        seq = next_seq++;
      }
      bool ok;
      {
        std::lock_guard<std::mutex> lock(mu);
        ok = failure.ok();
      }
      if (ok) work(*batch, worker);
      std::unique_lock<std::mutex> lock(mu);
      delivery.Finished(lock, seq, std::move(batch), &failure, deliver, [&] { space_cv.notify_all(); });
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) threads.emplace_back(loop, i);
  for (std::thread& t : threads) t.join();
  return failure;
}

}  // namespace vigil::scanner
