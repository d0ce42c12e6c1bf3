#include "tools/metrics.h"

#include <catch2/catch.hpp>

using vigil::daemon::ErrorKind;
using vigil::daemon::Histogram;
using vigil::daemon::Metrics;

TEST_CASE("histogram buckets are cumulative in the exposition", "[metrics]") {
  Histogram h;
  h.Observe(0.0001);
  h.Observe(0.003);
  h.Observe(0.003);
  h.Observe(42);
  std::string out;
  h.Render("x_seconds", "help", &out);
  CHECK(out.find("# TYPE x_seconds histogram\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"0.0005\"} 1\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"0.0025\"} 1\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"0.005\"} 3\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"10\"} 3\n") != std::string::npos);
  CHECK(out.find("x_seconds_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
  CHECK(out.find("x_seconds_count 4\n") != std::string::npos);
  CHECK(h.ApproximateQuantile(0.5) == Approx(0.005));
  CHECK(h.ApproximateQuantile(1.0) == Approx(1e9));
}

TEST_CASE("the exposition lists counters, errors by kind and queue gauges", "[metrics]") {
  Metrics m;
  m.documents_ingested += 5;
  m.CountError(ErrorKind::kQueueFull);
  m.scan_queue_batches = [] { return uint64_t{7}; };
  std::string text = m.RenderPrometheus();
  CHECK(text.find("vigil_documents_ingested_total 5\n") != std::string::npos);
  CHECK(text.find("vigil_errors_total{kind=\"queue_full\"} 1\n") != std::string::npos);
  CHECK(text.find("vigil_errors_total{kind=\"timeout\"} 0\n") != std::string::npos);
  CHECK(text.find("vigil_scan_queue_batches 7\n") != std::string::npos);
  CHECK(text.find("vigil_commit_queue_batches 0\n") != std::string::npos);
  CHECK(text.find("vigil_commit_seconds_count 0\n") != std::string::npos);
}
