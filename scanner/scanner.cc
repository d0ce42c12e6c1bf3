// Scanner: the per-document pipeline.
//
//   original text ──normalise──▶ normalised text + offset map
//        │                            │
//        │ raw rules                  │ normalised rules
//        ▼                            ▼
//   Hyperscan: every (pattern, end offset)
//        │
//   back from each end: the pattern's literal trie (finite phrase
//   patterns) or RE2 `(?:p)\z`: confirms it, finds the start
//        │
//   `unless` windows (trie or RE2 on the bytes around each hit)
//        │
//   phone + entity extractors on the original text; a phone that needed
//   decoding fires `obscured_contact.phone_decoded`
//        │
//   `requires` combinations, then score = noisy-or over categories of the
//   strongest counted hit per category (docs/scoring.md)
//
// Offsets of normalised-text hits are mapped back to original bytes.
#include "scanner/scanner.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "rules/compiled_rule_set_impl.h"
#include "scanner/entity_extractor.h"
#include "scanner/extractor_fingerprint.h"
#include "scanner/normalize.h"
#include "scanner/phone_extractor.h"
#include "scanner/utf8.h"

namespace vigil::scanner {

// A hit before `requires` is decided: plain offsets only, so that sorting
// and dropping overlaps move a few words; the Hit (with its strings) is
// built only for what is kept.
struct Candidate {
  int rule = -1;
  int pattern = -1;           // global pattern id, or -1: fired by a decoded phone
  uint32_t start = 0;         // original byte offsets
  uint32_t end = 0;
  uint32_t text_begin = 0;    // the match in the text the pattern ran on
  uint32_t text_end = 0;
  int entity = -1;            // for phone hits: index into ScanResult::entities
};

struct ScanContext::State {
  hs_scratch_t* scratch = nullptr;
  const rules::CompiledRuleSetImpl* prepared_for = nullptr;
  NormalizedText normalized;
  std::string raw_clean;          // original text with invalid UTF-8 bytes replaced
  // (global pattern id, end offset) as Hyperscan reported them, for the
  // normalised text then the raw text.
  std::vector<std::pair<uint32_t, uint32_t>> ends;
  std::vector<Candidate> candidates;
  std::vector<uint8_t> fired;           // per rule: some candidate hit
  std::vector<uint32_t> covered_until;  // per rule: end of its last kept hit
  std::vector<double> category_weight;  // per category: strongest counted hit, -1 none
  std::vector<uint64_t> word_starts;    // LiteralSet::ComputeWordStarts of the normalised text

  ~State() {
    if (scratch) hs_free_scratch(scratch);
  }
};

ScanContext::ScanContext() : state_(std::make_unique<State>()) {}
ScanContext::~ScanContext() = default;

struct Scanner::Impl {
  Normalizer normalizer;
  PhoneExtractor phones;
  EntityExtractor entities;

  explicit Impl(const Options& options) : phones(PhoneExtractor::Options{options.phone_region}) {}
};

namespace {

// The per-document time budget (Options::max_scan_micros). Reading the
// clock costs little next to a stage, so it is read between stages and
// every kCheckEvery matches or confirmations.
class ScanBudget {
 public:
  static constexpr size_t kCheckEvery = 4096;
  explicit ScanBudget(uint64_t micros)
      : unlimited_(micros == 0),
        deadline_(std::chrono::steady_clock::now() + std::chrono::microseconds(unlimited_ ? 0 : micros)) {}
  // True once the budget is spent (and from then on).
  bool Spent() {
    if (!unlimited_ && !spent_ && std::chrono::steady_clock::now() >= deadline_) spent_ = true;
    return spent_;
  }
  bool spent() const { return spent_; }

 private:
  bool unlimited_;
  bool spent_ = false;
  std::chrono::steady_clock::time_point deadline_;
};

// Every raw match end, up to a limit (Hyperscan stops when it is reached)
// or until the time budget is spent.
struct MatchCollector {
  std::vector<std::pair<uint32_t, uint32_t>>* ends;
  size_t limit;
  ScanBudget* budget;
  bool overflow = false;
};

int OnMatch(unsigned int id, unsigned long long /*from*/, unsigned long long to, unsigned int /*flags*/,
            void* context) {
  auto* c = static_cast<MatchCollector*>(context);
  if (c->ends->size() >= c->limit) {
    c->overflow = true;
    return 1;  // stop this scan: the limit is reported, never silent
  }
  c->ends->emplace_back(id, static_cast<uint32_t>(to));
  if (c->ends->size() % ScanBudget::kCheckEvery == 0 && c->budget->Spent()) return 1;  // reported by Scan
  return 0;
}

Status RunDatabase(const hs_database_t* db, std::string_view text, hs_scratch_t* scratch, MatchCollector* collector) {
  if (db == nullptr || text.empty()) return Status::Ok();
  hs_error_t rc = hs_scan(db, text.data(), static_cast<unsigned>(text.size()), 0, scratch, OnMatch, collector);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) return Status::Internal(fmt::format("hs_scan failed with code {}", rc));
  return Status::Ok();
}

// Does any `unless` pattern of `rule` match within `window` bytes of
// [begin, end) in `text`? RE2 looks only at the window (with the text
// around it as context for \b).
const rules::PatternProgram* FindUnlessContext(const rules::CompiledRuleSetImpl& impl, uint32_t rule,
                                               int window, std::string_view text, size_t begin, size_t end,
                                               const uint64_t* word_starts) {
  const size_t lo = begin > static_cast<size_t>(window) ? begin - window : 0;
  const size_t hi = std::min(text.size(), end + static_cast<size_t>(window));
  // One walk over the window for all the rule's literal unless patterns;
  // only when it finds something is the pattern that matched looked up.
  if (const rules::LiteralSet* all = impl.unless_union_of_rule[rule].get(); all && !all->MatchesWithin(text, lo, hi, word_starts)) {
    return nullptr;
  }
  for (uint32_t id : impl.unless_of_rule[rule]) {
    const rules::PatternProgram& p = impl.patterns[id];
    const bool found = p.literal ? p.literal->MatchesWithin(text, lo, hi, word_starts)
                                 : p.re2->Match(re2::StringPiece(text.data(), text.size()), lo, hi, RE2::UNANCHORED,
                                                nullptr, 0);
    if (found) return &p;
  }
  return nullptr;
}

}  // namespace

Scanner::Scanner(std::shared_ptr<const rules::CompiledRuleSet> rules, Options options)
    : rules_(std::move(rules)),
      options_(std::move(options)),
      extractor_fingerprint_(internal::ExtractorFingerprint(options_.phone_region, options_.max_text_bytes)),
      impl_(std::make_unique<Impl>(options_)) {}

Scanner::~Scanner() = default;

Result<std::shared_ptr<const Scanner>> Scanner::Create(std::shared_ptr<const rules::CompiledRuleSet> rules,
                                                       Options options) {
  if (!rules) return Status::InvalidArgument("no compiled rule set");
  if (options.max_hits == 0) return Status::InvalidArgument("max_hits must be at least 1");
  return std::shared_ptr<const Scanner>(new Scanner(std::move(rules), std::move(options)));
}

std::unique_ptr<ScanContext> Scanner::NewContext() const {
  return std::unique_ptr<ScanContext>(new ScanContext());
}

Status Scanner::Scan(const Document& doc, ScanContext* context, ScanResult* out) const {
  return ScanImpl(doc, nullptr, context, out);
}

Status Scanner::ScanWithEntities(const Document& doc, const std::vector<Entity>& entities, ScanContext* context,
                                 ScanResult* out) const {
  return ScanImpl(doc, &entities, context, out);
}

Status Scanner::ScanImpl(const Document& doc, const std::vector<Entity>* known, ScanContext* context,
                         ScanResult* out) const {
  const rules::CompiledRuleSet& set = *rules_;
  const rules::CompiledRuleSetImpl& impl = set.impl();
  ScanContext::State& st = *context->state_;

  out->id = doc.id;
  out->score = 0.0;
  out->flagged = false;
  out->categories.clear();
  out->hits.clear();
  out->entities.clear();
  out->suppressed.clear();
  out->truncated.clear();
  out->pack_version = set.pack_label();
  out->entities_by.clear();
  ScanBudget budget(options_.max_scan_micros);
  // Records, once, where the budget ran out; the later stages are skipped.
  bool time_reported = false;
  auto out_of_time = [&](std::string_view where) {
    if (time_reported) return;
    time_reported = true;
    out->truncated.push_back(fmt::format("time: the scan budget of {} us was spent {}; later stages skipped",
                                         options_.max_scan_micros, where));
  };

  // Prepare the scratch for this rule set (grows it on a hot reload).
  if (st.prepared_for != &impl) {
    for (const hs_database_t* db : {impl.normalized_db.get(), impl.raw_db.get()}) {
      if (db && hs_alloc_scratch(db, &st.scratch) != HS_SUCCESS) {
        return Status::Internal("hs_alloc_scratch failed");
      }
    }
    st.prepared_for = &impl;
  }

  std::string_view original = doc.text;
  if (original.size() > options_.max_text_bytes) {
    original = original.substr(0, Utf8BoundaryAtOrBefore(original, options_.max_text_bytes));
    out->truncated.push_back(fmt::format("text: scanned the first {} of {} bytes", original.size(), doc.text.size()));
  }

  impl_->normalizer.Normalize(original, &st.normalized);
  const std::string_view normalized = st.normalized.text;
  std::string_view raw = original;
  if (impl.raw_db) {
    if (!IsValidUtf8(original)) {
      ReplaceInvalidUtf8Bytes(original, &st.raw_clean);
      raw = st.raw_clean;
    }
  }

  st.ends.clear();
  // Raw ends are bounded well above any real ad's needs; each kept end
  // costs a few words of memory.
  MatchCollector collector{&st.ends, 64 * options_.max_hits, &budget};
  size_t normalized_ends = 0;
  if (budget.Spent()) {
    out_of_time("before matching");
  } else {
    Status s = RunDatabase(impl.normalized_db.get(), normalized, st.scratch, &collector);
    normalized_ends = st.ends.size();
    if (s.ok() && !collector.overflow && !budget.spent()) {
      s = RunDatabase(impl.raw_db.get(), raw, st.scratch, &collector);
    }
    if (!s.ok()) return s;
    if (collector.overflow) {
      out->truncated.push_back(fmt::format("matches: Hyperscan stopped after {} raw matches", st.ends.size()));
    }
    if (budget.spent()) out_of_time(fmt::format("while matching ({} raw matches kept)", st.ends.size()));
  }

  // The Hit of a candidate, with its strings.
  auto MakeHit = [&](const Candidate& c, std::string_view original_text, std::string_view normalized_text,
                     std::string_view raw_text, const std::vector<Entity>& entities) {
    const rules::RuleInfo& rule = set.rules()[c.rule];
    Hit hit;
    hit.rule = rule.id;
    hit.category = rule.category;
    hit.weight = rule.weight;
    hit.evidence = rules::EvidenceName(rule.evidence);
    hit.start = c.start;
    hit.end = c.end;
    hit.match.assign(original_text.substr(c.start, c.end - c.start));
    if (c.pattern >= 0) {
      const rules::PatternProgram& p = impl.patterns[c.pattern];
      hit.pattern_index = static_cast<int>(p.index_in_rule);
      const std::string_view text = p.raw ? raw_text : normalized_text;
      hit.normalized.assign(text.substr(c.text_begin, c.text_end - c.text_begin));
    } else {
      hit.pattern_index = -1;  // fired by the phone extractor, not a pattern
      hit.normalized = entities[c.entity].value;
    }
    return hit;
  };

  // Confirm every end (literal trie or RE2) and recover its start. Ends of one pattern
  // are handled in order so that repeated ends of a long match cost little.
  std::vector<Candidate>& candidates = st.candidates;
  candidates.clear();
  std::sort(st.ends.begin(), st.ends.begin() + normalized_ends);
  std::sort(st.ends.begin() + normalized_ends, st.ends.end());
  bool hit_limit = false;
  bool word_starts_ready = false;
  size_t unconfirmed = 0;
  for (size_t i = 0; i < st.ends.size(); ++i) {
    if (i % ScanBudget::kCheckEvery == ScanBudget::kCheckEvery - 1 && budget.Spent()) {
      out_of_time(fmt::format("while confirming ({} of {} match ends unchecked)", st.ends.size() - i, st.ends.size()));
      break;
    }
    const auto [id, end] = st.ends[i];
    if (id >= impl.patterns.size()) continue;
    const rules::PatternProgram& p = impl.patterns[id];
    if (p.is_unless || (!p.literal && !p.re2_at_end)) continue;
    const rules::RuleInfo& rule = set.rules()[p.rule];
    const std::string_view text = p.raw ? raw : normalized;
    if (end > text.size()) continue;
    size_t begin = 0;
    if (p.literal) {
      // Hyperscan ran this pattern without its \b (rules/compiler.cc,
      // HyperscanExpression), so an end the trie refuses is expected.
      const int64_t start = p.literal->LeftmostStartEndingAt(text, end);
      if (start < 0 || static_cast<size_t>(start) == end) continue;
      begin = static_cast<size_t>(start);
    } else {
      re2::StringPiece m;
      if (!p.re2_at_end->Match(re2::StringPiece(text.data(), end), 0, end, RE2::UNANCHORED, &m, 1) || m.empty()) {
        ++unconfirmed;
        continue;
      }
      begin = static_cast<size_t>(m.data() - text.data());
    }
    if (candidates.size() + out->suppressed.size() >= options_.max_hits) {
      hit_limit = true;
      break;
    }
    Candidate c;
    c.rule = static_cast<int>(p.rule);
    c.pattern = static_cast<int>(id);
    c.text_begin = static_cast<uint32_t>(begin);
    c.text_end = end;
    if (p.raw) {
      c.start = c.text_begin;
      c.end = c.text_end;
    } else {
      st.normalized.ToOriginal(c.text_begin, c.text_end, &c.start, &c.end);
    }
    // Word starts of the normalised text, computed once per ad when some
    // hit has unless patterns to try (literal sets only run there).
    const uint64_t* word_starts = nullptr;
    if (!p.raw && !impl.unless_of_rule[p.rule].empty()) {
      if (!word_starts_ready) {
        rules::LiteralSet::ComputeWordStarts(normalized, &st.word_starts);
        word_starts_ready = true;
      }
      word_starts = st.word_starts.data();
    }
    if (const rules::PatternProgram* context_pattern =
            FindUnlessContext(impl, p.rule, rule.unless_window, text, begin, end, word_starts)) {
      Hit hit = MakeHit(c, original, normalized, raw, out->entities);
      hit.suppressed_reason = "unless: '" + rule.unless_patterns[context_pattern->index_in_rule] + "' nearby";
      out->suppressed.push_back(std::move(hit));
    } else {
      candidates.push_back(c);
    }
  }
  if (unconfirmed > 0) {
    out->truncated.push_back(fmt::format("confirm: RE2 did not confirm {} Hyperscan match ends", unconfirmed));
  }
  if (hit_limit) out->truncated.push_back(fmt::format("hits: stopped at the limit of {}", options_.max_hits));

  // Entities, read from the original text, or given (the same, by their
  // fingerprint). Given entities that do not fit the text are not these
  // (a damaged record): they are extracted instead.
  const auto fits = [&](const std::vector<Entity>& entities) {
    return std::all_of(entities.begin(), entities.end(),
                       [&](const Entity& e) { return e.start <= e.end && e.end <= original.size(); });
  };
  if (budget.Spent()) {
    out_of_time("before entity extraction");
  } else if (known && fits(*known)) {
    out->entities = *known;
    out->entities_by = extractor_fingerprint_;
  } else {
    impl_->phones.Extract(original, &out->entities);
    impl_->entities.Extract(original, &out->entities);
    out->entities_by = extractor_fingerprint_;
  }
  std::stable_sort(out->entities.begin(), out->entities.end(),
                   [](const Entity& a, const Entity& b) { return a.start < b.start; });
  if (impl.phone_decoded_rule >= 0) {
    for (size_t i = 0; i < out->entities.size(); ++i) {
      const Entity& e = out->entities[i];
      if (e.type != EntityType::kPhone || !e.obfuscated) continue;
      Candidate c;
      c.rule = impl.phone_decoded_rule;
      c.start = e.start;
      c.end = e.end;
      c.entity = static_cast<int>(i);
      candidates.push_back(c);
    }
  }

  // One rule, one hit per stretch of text: leftmost first, the longest at
  // each start, and later hits of the same rule that overlap a kept one are
  // dropped (RE2's leftmost-longest, non-overlapping reading).
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.start != b.start) return a.start < b.start;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.end > b.end;
  });
  const size_t rule_count = set.rules().size();
  std::vector<uint32_t>& covered_until = st.covered_until;
  covered_until.assign(rule_count, 0);
  size_t kept = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (c.start < covered_until[c.rule]) continue;
    covered_until[c.rule] = c.end;
    candidates[kept++] = c;
  }
  candidates.resize(kept);

  // `requires`: a rule counts only when enough of its partner rules fire
  // on their own (their own requirements are not consulted, so cycles are
  // harmless).
  std::vector<uint8_t>& fired = st.fired;
  fired.assign(rule_count, 0);
  for (const Candidate& c : candidates) fired[c.rule] = 1;
  std::vector<double>& category_weight = st.category_weight;
  category_weight.assign(set.categories().size(), -1.0);
  for (const Candidate& c : candidates) {
    const rules::RuleInfo& rule = set.rules()[c.rule];
    if (rule.has_requirement) {
      int partners = 0;
      for (uint32_t partner : rule.requirement_rules) partners += fired[partner];
      if (partners < rule.requirement_min) {
        Hit hit = MakeHit(c, original, normalized, raw, out->entities);
        hit.suppressed_reason =
            fmt::format("requires: {} of its partner rules to fire, {} did", rule.requirement_min, partners);
        out->suppressed.push_back(std::move(hit));
        continue;
      }
    }
    int category = impl.rule_category[c.rule];
    if (category >= 0) category_weight[category] = std::max(category_weight[category], rule.weight);
    out->hits.push_back(MakeHit(c, original, normalized, raw, out->entities));
  }

  double not_trafficking = 1.0;
  for (size_t c = 0; c < category_weight.size(); ++c) {
    if (category_weight[c] < 0) continue;
    not_trafficking *= 1.0 - category_weight[c];
    out->categories.push_back(set.categories()[c].id);
  }
  std::sort(out->categories.begin(), out->categories.end());
  // Rounded to 4 decimals so that equal evidence gives byte-identical output.
  out->score = std::round((1.0 - not_trafficking) * 10000.0) / 10000.0;
  out->flagged = out->score + 1e-9 >= set.threshold();
  std::sort(out->suppressed.begin(), out->suppressed.end(), [](const Hit& a, const Hit& b) {
    if (a.start != b.start) return a.start < b.start;
    if (a.rule != b.rule) return a.rule < b.rule;
    return a.end > b.end;
  });
  out->suppressed.erase(std::unique(out->suppressed.begin(), out->suppressed.end(),
                                    [](const Hit& a, const Hit& b) { return a.rule == b.rule && a.start == b.start; }),
                        out->suppressed.end());
  return Status::Ok();
}

}  // namespace vigil::scanner
