// ResultSink: where scan results go (ripgrep's Sink). The storage layer
// implements it for ingest; `vigil scan` writes JSON Lines. The scanner
// never includes storage.
//
// Thread-safety: each implementation states its own contract; the scanner's
// pipelines call Accept from one thread, in input order.
#pragma once

#include "rules/status.h"
#include "scanner/document.h"
#include "scanner/scan_result.h"

namespace vigil::scanner {

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Takes one scanned document. A non-OK status stops the pipeline.
  virtual Status Accept(const Document& doc, const ScanResult& result) = 0;
  // Called once after the last document; makes everything accepted durable.
  virtual Status Finish() { return Status::Ok(); }
};

}  // namespace vigil::scanner
