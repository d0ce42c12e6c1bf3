// Metrics: the daemon's counters, gauges and latency histograms, rendered
// in the Prometheus text exposition format for GET /metrics.
//
// A fixed set of metrics known at compile time (no registry, no labels
// beyond the few listed in docs/operations.md), so updates are single
// relaxed atomic adds on the hot path.
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace vigil::daemon {

// A histogram with fixed bucket upper bounds in seconds.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  void Observe(double seconds);
  // Appends the _bucket, _sum and _count lines of `name`.
  void Render(std::string_view name, std::string_view help, std::string* out) const;
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  // The upper bound of the bucket holding quantile q (0..1); +inf as 1e9.
  double ApproximateQuantile(double q) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

// Kinds of errors counted in vigil_errors_total{kind}.
enum class ErrorKind {
  kBadLine,        // an ingest line was refused (JSON, UTF-8, fields)
  kBadRequest,     // 400 of any other kind
  kUnauthorized,   // 401
  kForbidden,      // 403
  kTooLarge,       // 413/431
  kQueueFull,      // 503 on ingest
  kStore,          // a store error (500)
  kReloadFailed,   // a refused rule pack
  kTimeout,        // a read timed out
  kCount
};
const char* ErrorKindName(ErrorKind kind);

struct Metrics {
  std::atomic<uint64_t> documents_ingested{0};  // lines stored or duplicate
  std::atomic<uint64_t> bytes_ingested{0};      // request body bytes of ingest
  std::atomic<uint64_t> documents_new{0};
  std::atomic<uint64_t> documents_duplicate{0};
  std::atomic<uint64_t> documents_flagged{0};
  std::atomic<uint64_t> documents_truncated{0};  // scans that reached a per-document limit
  std::atomic<uint64_t> batches_committed{0};
  std::atomic<uint64_t> http_requests{0};
  std::atomic<uint64_t> rule_reloads{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(ErrorKind::kCount)> errors{};

  Histogram scan_seconds;    // one batch, parse + scan
  Histogram commit_seconds;  // one PutScanned call (includes the group commit wait)
  Histogram ack_seconds;     // submit -> durable, per batch

  // Queue depths, read at render time.
  std::function<uint64_t()> scan_queue_batches;
  std::function<uint64_t()> commit_queue_batches;
  std::function<uint64_t()> queued_bytes;

  void CountError(ErrorKind kind) { errors[static_cast<size_t>(kind)].fetch_add(1, std::memory_order_relaxed); }

  // The whole exposition text.
  std::string RenderPrometheus() const;
};

}  // namespace vigil::daemon
