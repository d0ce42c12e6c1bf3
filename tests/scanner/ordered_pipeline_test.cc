#include "scanner/ordered_pipeline.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace vigil::scanner {
namespace {

struct Numbered {
  int number = -1;
  int squared = -1;
  std::thread::id filled_on, worked_on;
};

TEST_CASE("RunPulled delivers every filled batch once, in fill order, with a bounded number in flight",
          "[pipeline]") {
  for (int workers : {0, 1, 2, 4}) {
    for (size_t max_in_flight : {size_t{1}, size_t{3}, size_t{16}}) {
      INFO("workers " << workers << ", max in flight " << max_in_flight);
      constexpr int kBatches = 200;
      int next = 0;
      std::atomic<int> in_flight{0}, most_in_flight{0};
      std::vector<int> delivered;
      bool same_thread = true;
      const auto fill = [&](Numbered& b) {
        if (next == kBatches) return false;
        b.number = next++;
        b.filled_on = std::this_thread::get_id();
        const int now = ++in_flight;
        int most = most_in_flight.load();
        while (now > most && !most_in_flight.compare_exchange_weak(most, now)) {
        }
        return true;
      };
      // Catch's assertions are not for worker threads: counted, checked after.
      std::atomic<int> bad_worker_index{0}, not_worked{0};
      const auto work = [&](Numbered& b, int worker) {
        if (worker < 0 || worker >= std::max(1, workers)) ++bad_worker_index;
        b.worked_on = std::this_thread::get_id();
        if (b.number % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));  // out of order
        b.squared = b.number * b.number;
      };
      const auto deliver = [&](Numbered& b) {
        delivered.push_back(b.number);
        if (b.squared != b.number * b.number) ++not_worked;
        if (b.filled_on != b.worked_on) same_thread = false;
        --in_flight;
        return Status::Ok();
      };
      REQUIRE(RunPulled<Numbered>(workers, max_in_flight, fill, work, deliver).ok());
      REQUIRE(delivered.size() == kBatches);
      for (int i = 0; i < kBatches; ++i) CHECK(delivered[i] == i);
      CHECK(most_in_flight.load() <= static_cast<int>(std::max<size_t>(max_in_flight, 1)));
      CHECK(same_thread);  // a batch is worked on by the thread that filled it
      CHECK(bad_worker_index.load() == 0);
      CHECK(not_worked.load() == 0);
    }
  }
}

TEST_CASE("RunPulled stops filling after a delivery error and returns it", "[pipeline]") {
  for (int workers : {0, 2}) {
    INFO("workers " << workers);
    std::atomic<int> filled{0};
    std::vector<int> delivered;
    const auto fill = [&](Numbered& b) {
      b.number = filled++;
      return true;  // endless: only the error ends the run
    };
    const auto work = [](Numbered& b, int) { b.squared = b.number * b.number; };
    const auto deliver = [&](Numbered& b) {
      delivered.push_back(b.number);
      return b.number == 10 ? Status::Corruption("batch 10") : Status::Ok();
    };
    const Status s = RunPulled<Numbered>(workers, 4, fill, work, deliver);
    CHECK(s.IsCorruption());
    CHECK(s.message() == "batch 10");
    REQUIRE(delivered.size() == 11);  // nothing after the failed one
    CHECK(delivered.back() == 10);
    CHECK(filled.load() <= 10 + 1 + 4 + workers);  // a bounded overrun
  }
}

TEST_CASE("OrderedPipeline delivers pushed batches in push order and returns the first delivery error",
          "[pipeline]") {
  for (int workers : {0, 1, 3}) {
    INFO("workers " << workers);
    std::vector<int> delivered;
    std::atomic<int> not_worked{0};  // counted on the workers, checked after
    OrderedPipeline<Numbered> pipeline(
        workers, 4,
        [](Numbered& b, int) {
          if (b.number % 5 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));  // out of order
          b.squared = b.number * b.number;
        },
        [&](Numbered& b) {
          if (b.squared != b.number * b.number) ++not_worked;
          delivered.push_back(b.number);
          return b.number == 150 ? Status::Corruption("batch 150") : Status::Ok();
        });
    Status pushed;
    int n = 0;
    for (; n < 200 && pushed.ok(); ++n) {
      auto b = std::make_unique<Numbered>();
      b->number = n;
      pushed = pipeline.Push(std::move(b));
    }
    const Status finished = pipeline.Finish();
    CHECK(finished.IsCorruption());
    CHECK(not_worked.load() == 0);
    REQUIRE(delivered.size() == 151);  // nothing after the failed one
    for (int i = 0; i <= 150; ++i) CHECK(delivered[i] == i);
    CHECK(n < 200);  // pushing stopped at the error
  }
}

}  // namespace
}  // namespace vigil::scanner
