#include "tools/metrics.h"

#include <cmath>

#include <fmt/format.h>

namespace vigil::daemon {

void Histogram::Observe(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e6)), std::memory_order_relaxed);
}

void Histogram::Render(std::string_view name, std::string_view help, std::string* out) const {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    fmt::format_to(std::back_inserter(*out), "{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], cumulative);
  }
  cumulative += buckets_[kBounds.size()].load(std::memory_order_relaxed);
  fmt::format_to(std::back_inserter(*out), "{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  fmt::format_to(std::back_inserter(*out), "{}_sum {}\n{}_count {}\n", name,
                 static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6, name,
                 count_.load(std::memory_order_relaxed));
}

double Histogram::ApproximateQuantile(double q) const {
  uint64_t total = count();
  if (total == 0) return 0;
  uint64_t want = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (cumulative >= want) return kBounds[i];
  }
  return 1e9;
}

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kBadLine: return "bad_line";
    case ErrorKind::kBadRequest: return "bad_request";
    case ErrorKind::kUnauthorized: return "unauthorized";
    case ErrorKind::kForbidden: return "forbidden";
    case ErrorKind::kTooLarge: return "too_large";
    case ErrorKind::kQueueFull: return "queue_full";
    case ErrorKind::kStore: return "store";
    case ErrorKind::kReloadFailed: return "reload_failed";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kCount: break;
  }
  return "other";
}

std::string Metrics::RenderPrometheus() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, const std::atomic<uint64_t>& v) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name,
                   v.load(std::memory_order_relaxed));
  };
  auto gauge = [&](const char* name, const char* help, const std::function<uint64_t()>& f) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name,
                   f ? f() : 0);
  };
  counter("vigil_documents_ingested_total", "Ingested documents (stored or duplicate).", documents_ingested);
  counter("vigil_bytes_ingested_total", "Ingest request body bytes.", bytes_ingested);
  counter("vigil_documents_new_total", "Ingested documents that were new ads or new versions.", documents_new);
  counter("vigil_documents_duplicate_total", "Ingested documents identical to the stored version.",
          documents_duplicate);
  counter("vigil_documents_flagged_total", "Stored documents the scanner flagged.", documents_flagged);
  counter("vigil_documents_truncated_total",
          "Scanned documents that reached a per-document limit (size, hits, matches, time); see findings.truncated.",
          documents_truncated);
  counter("vigil_batches_committed_total", "Ingest batches made durable.", batches_committed);
  counter("vigil_http_requests_total", "HTTP requests handled.", http_requests);
  counter("vigil_rule_reloads_total", "Successful rule pack reloads.", rule_reloads);
  out += "# HELP vigil_errors_total Errors by kind.\n# TYPE vigil_errors_total counter\n";
  for (size_t i = 0; i < errors.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "vigil_errors_total{{kind=\"{}\"}} {}\n",
                   ErrorKindName(static_cast<ErrorKind>(i)), errors[i].load(std::memory_order_relaxed));
  }
  gauge("vigil_scan_queue_batches", "Batches waiting for or in a scan worker.", scan_queue_batches);
  gauge("vigil_commit_queue_batches", "Scanned batches waiting for or in a commit.", commit_queue_batches);
  gauge("vigil_queued_bytes", "Ingest bytes held by the pipeline.", queued_bytes);
  scan_seconds.Render("vigil_scan_seconds", "Parse and scan time per batch.", &out);
  commit_seconds.Render("vigil_commit_seconds", "Durable commit time per batch.", &out);
  ack_seconds.Render("vigil_ack_seconds", "Submit to durable acknowledgement per batch.", &out);
  return out;
}

}  // namespace vigil::daemon
