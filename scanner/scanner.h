// Scanner: turns one Document into a ScanResult using a compiled rule set.
//
// Pipeline per document: normalise (with an offset map), run the rule set's
// Hyperscan databases, confirm each hit and recover its span with RE2,
// apply `unless` contexts and `requires` combinations, extract entities
// (phones, emails, URLs, handles, prices, ages), score.
//
// Thread-safety: a Scanner is immutable after construction; Scan may be
// called from many threads at once, each with its own ScanContext. Hot
// reload builds a new Scanner and swaps a std::shared_ptr<const Scanner>.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rules/compiled_rule_set.h"
#include "rules/status.h"
#include "scanner/document.h"
#include "scanner/scan_result.h"

namespace vigil::scanner {

class ScanContext;

class Scanner {
 public:
  struct Options {
    std::string phone_region = "US";  // default region for phone numbers
    size_t max_hits = 1000;           // per document; overflow is reported in ScanResult::truncated
    size_t max_text_bytes = 1 << 20;  // longer texts are scanned up to this size and reported as truncated
    // Per-document scan time budget in microseconds; 0: none. Checked
    // between stages and every few thousand matches; when it is spent the
    // remaining stages are skipped, the result keeps what was found so far
    // and ScanResult::truncated says which stage stopped ("time: ...").
    uint64_t max_scan_micros = 5'000'000;
  };

  static Result<std::shared_ptr<const Scanner>> Create(
      std::shared_ptr<const rules::CompiledRuleSet> rules, Options options);

  ~Scanner();

  // A fresh per-thread context (Hyperscan scratch, reusable buffers).
  std::unique_ptr<ScanContext> NewContext() const;

  // Scans `doc` into *out (cleared first). Errors only on internal failure
  // of a matching engine; bad text never fails (it is normalised).
  Status Scan(const Document& doc, ScanContext* context, ScanResult* out) const;

  // Scan, with the document's entities given instead of extracted (they
  // are most of the cost of a scan after matching). `entities` must be an
  // extraction of this same text whose fingerprint equals
  // extractor_fingerprint(): a stored result's entities when its
  // entities_by does (a rescan). The result is then what Scan gives (the
  // time budget included). Entities whose spans do not fit the text are
  // ignored and extracted afresh.
  Status ScanWithEntities(const Document& doc, const std::vector<Entity>& entities, ScanContext* context,
                          ScanResult* out) const;

  // Names what entity extraction yields for a given text: a hash of this
  // build's extractor code, the loaded libphonenumber and every library it
  // depends on (ICU, protobuf, abseil, the C++ runtime), the phone region
  // and max_text_bytes. Equal fingerprints extract equal
  // entities from equal texts. Each result carries it in entities_by. Empty
  // when it cannot be established (no build id): nothing is then reused.
  const std::string& extractor_fingerprint() const { return extractor_fingerprint_; }

  const rules::CompiledRuleSet& rules() const { return *rules_; }
  std::shared_ptr<const rules::CompiledRuleSet> shared_rules() const { return rules_; }

 private:
  struct Impl;
  Scanner(std::shared_ptr<const rules::CompiledRuleSet> rules, Options options);
  // `known`: the entities, or null to extract them.
  Status ScanImpl(const Document& doc, const std::vector<Entity>* known, ScanContext* context, ScanResult* out) const;

  std::shared_ptr<const rules::CompiledRuleSet> rules_;
  Options options_;
  std::string extractor_fingerprint_;
  std::unique_ptr<Impl> impl_;
};

// Per-thread scratch for Scanner::Scan. Not thread-safe: one per thread.
// May be reused across Scanners (it re-prepares itself when the rule set
// changes).
class ScanContext {
 public:
  ~ScanContext();
  ScanContext(const ScanContext&) = delete;
  ScanContext& operator=(const ScanContext&) = delete;

 private:
  friend class Scanner;
  struct State;
  ScanContext();
  std::unique_ptr<State> state_;
};

}  // namespace vigil::scanner
