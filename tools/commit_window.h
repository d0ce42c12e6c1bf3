// CommitWindow: the hand-off from a scan pipeline's ordered delivery to the
// store's asynchronous writes (Store::PutScannedAsync for `vigil ingest`,
// Store::ReplaceFindingsAsync for rescans). The store groups whatever is
// queued into one synced batch (group commit) and stages the next group
// while the previous one is written, so the delivering thread never waits
// for a sync; the window bounds the writes in flight (memory, and how much
// work one failure discards) and keeps the first failure.
//
// Use: Begin() before each write (waits for room; returns an earlier
// failure instead, after which nothing more should be written), End() from
// the write's completion callback, Wait() at the end.
//
// Thread-safety: Begin, Wait and WithLock from the delivering thread; End
// from the store's completion callbacks (one store thread). Bookkeeping
// shared by both sides goes through WithLock / End's `on_done`, which run
// under the window's lock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

#include "rules/status.h"

namespace vigil::tools {

class CommitWindow {
 public:
  explicit CommitWindow(size_t max_in_flight) : max_in_flight_(max_in_flight < 1 ? 1 : max_in_flight) {}
  ~CommitWindow() { Wait(); }
  CommitWindow(const CommitWindow&) = delete;
  CommitWindow& operator=(const CommitWindow&) = delete;

  // Reserves room for one write: waits while max_in_flight are unfinished.
  // Returns the first failure of an earlier write instead (nothing is
  // reserved then).
  Status Begin() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ < max_in_flight_ || !failure_.ok(); });
    if (!failure_.ok()) return failure_;
    ++in_flight_;
    return Status::Ok();
  }

  // Ends a write begun with Begin, with its outcome; runs `on_done` under
  // the lock first (the caller's bookkeeping of a finished write).
  template <typename F>
  void End(const Status& outcome, F&& on_done) {
    // Notified under the lock: once in_flight_ reaches 0 the owner may
    // return from Wait() and destroy this window, so the condition
    // variable must not be touched after the lock is released (TSan found
    // the broadcast racing the destructor in a rescan during live ingest).
    std::lock_guard lock(mu_);
    on_done();
    if (!outcome.ok() && failure_.ok()) failure_ = outcome;
    --in_flight_;
    cv_.notify_all();
  }
  void End(const Status& outcome) {
    End(outcome, [] {});
  }

  // Runs `f` under the window's lock.
  template <typename F>
  void WithLock(F&& f) {
    std::lock_guard lock(mu_);
    f();
  }

  // Waits until no write is in flight; returns the first failure.
  Status Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
    return failure_;
  }

 private:
  const size_t max_in_flight_;
  std::mutex mu_;
  std::condition_variable cv_;
  size_t in_flight_ = 0;
  Status failure_;
};

}  // namespace vigil::tools
