#include "tools/ingest_pipeline.h"

#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "scanner/normalize.h"
#include "tests/tools/daemon_fixture.h"

namespace {
using vigil::daemon::IngestOutcome;
using vigil::daemon::IngestPipeline;
using vigil::daemon::testing::DaemonFixture;

std::string Ads(int first, int n) {
  std::string out;
  for (int i = first; i < first + n; ++i) {
    out += "{\"id\":\"p" + std::to_string(i) + "\",\"text\":\"" + (i % 2 ? "so fresh" : "sofa") +
           ", call 702-555-01" + std::to_string(10 + i % 90) + "\"}\n";
  }
  return out;
}
}  // namespace

TEST_CASE("every submitted batch is acknowledged once, after it is stored", "[pipeline]") {
  IngestPipeline::Options options;
  options.scan_workers = 2;
  options.committers = 3;
  DaemonFixture f(options);
  std::atomic<int> acked{0};
  std::atomic<uint64_t> accepted{0}, flagged{0};
  std::atomic<bool> all_present{true};
  constexpr int kBatches = 20;
  for (int b = 0; b < kBatches; ++b) {
    while (true) {
      auto s = f.pipeline->Submit(Ads(b * 50, 50), 1, [&, b](IngestOutcome out) {
        REQUIRE(out.status.ok());
        accepted += out.accepted;
        flagged += out.flagged;
        // Durable before the callback: the batch's last ad is readable now.
        if (!f.store->GetAd("p" + std::to_string(b * 50 + 49)).ok()) all_present = false;
        ++acked;
      });
      if (s.ok()) break;
      REQUIRE(s.IsUnavailable());
      std::this_thread::yield();
    }
  }
  f.pipeline->Shutdown();  // drains
  CHECK(acked.load() == kBatches);
  CHECK(accepted.load() == kBatches * 50);
  CHECK(flagged.load() == kBatches * 25);
  CHECK(all_present.load());
  CHECK(f.metrics.batches_committed.load() == kBatches);
  CHECK(f.pipeline->Submit(Ads(0, 1), 1, [](IngestOutcome) {}).IsUnavailable());
}

TEST_CASE("line numbers count from the given first line and include blank lines", "[pipeline]") {
  DaemonFixture f;
  std::promise<IngestOutcome> p;
  REQUIRE(f.pipeline->Submit(Ads(0, 1) + "\n{\"id\":\"x\"}\r\n" + Ads(1, 1), 100,
                             [&](IngestOutcome out) { p.set_value(std::move(out)); })
              .ok());
  IngestOutcome out = p.get_future().get();
  CHECK(out.lines == 3);
  CHECK(out.accepted == 2);
  REQUIRE(out.errors.size() == 1);
  CHECK(out.errors[0].line == 102);
  CHECK(out.pack == "test@0.1.0");
}

TEST_CASE("the byte bound refuses a batch that would overflow it", "[pipeline]") {
  IngestPipeline::Options options;
  options.max_bytes = 64;
  DaemonFixture f(options);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> done;
  REQUIRE(f.pipeline->Submit(Ads(0, 1), 1, [&](IngestOutcome) {
    released.wait();
    done.set_value();
  }).ok());
  CHECK(f.pipeline->Submit(Ads(1, 1), 1, [](IngestOutcome) {}).IsUnavailable());
  release.set_value();
  done.get_future().wait();
}

// Callbacks run on the store's commit thread, which no pipeline thread
// joins: Shutdown must not return (and let the pipeline be destroyed)
// while a callback is still touching it. ASan/TSan builds check the rest.
TEST_CASE("a pipeline can be destroyed as soon as Shutdown returns", "[pipeline]") {
  DaemonFixture f;
  f.api.reset();
  f.pipeline.reset();
  std::atomic<int> acked{0};
  for (int round = 0; round < 20; ++round) {
    auto pipeline = std::make_unique<IngestPipeline>(f.store.get(), f.rules.get(), &f.metrics, IngestPipeline::Options{});
    for (int b = 0; b < 3; ++b) {
      REQUIRE(pipeline->Submit(Ads(round * 30 + b * 10, 10), 1, [&](IngestOutcome out) {
        CHECK(out.status.ok());
        CHECK(out.accepted == 10);
        ++acked;
      }).ok());
    }
    pipeline->Shutdown();
    CHECK(pipeline->commit_queue_batches() == 0);
    CHECK(pipeline->queued_bytes() == 0);
    pipeline.reset();
  }
  CHECK(acked.load() == 60);
  CHECK(f.store->GetAd("p599").ok());
  // The fixture's destructor shuts down its own pipeline: give it one.
  f.pipeline = std::make_unique<IngestPipeline>(f.store.get(), f.rules.get(), &f.metrics, IngestPipeline::Options{});
}

// The normaliser's code-point table is built a page at a time by whichever
// scan first reads one of its code points (scanner/normalize.cc): here
// four threads race for every page of planes 0 and 1 at once. Run under
// ThreadSanitizer by `make test-tsan` (tools_tests).
TEST_CASE("normalisers on several threads build the code-point pages once and read them alike", "[pipeline]") {
  std::string text;
  for (uint32_t cp = 0x80 + 7; cp < 0x20000; cp += 512) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    // UTF-8 of cp, then a space.
    if (cp < 0x800) {
      text += static_cast<char>(0xC0 | (cp >> 6));
    } else if (cp < 0x10000) {
      text += static_cast<char>(0xE0 | (cp >> 12));
      text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    } else {
      text += static_cast<char>(0xF0 | (cp >> 18));
      text += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    }
    text += static_cast<char>(0x80 | (cp & 0x3F));
    text += ' ';
  }
  const vigil::scanner::Normalizer normalizer;
  std::vector<vigil::scanner::NormalizedText> out(4);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < out.size(); ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < static_cast<int>(out.size())) std::this_thread::yield();
      normalizer.Normalize(text, &out[t]);
    });
  }
  for (std::thread& t : threads) t.join();
  for (size_t t = 1; t < out.size(); ++t) {
    CHECK(out[t].text == out[0].text);
    CHECK(out[t].src_begin == out[0].src_begin);
    CHECK(out[t].src_end == out[0].src_end);
  }
  CHECK_FALSE(out[0].text.empty());
}
