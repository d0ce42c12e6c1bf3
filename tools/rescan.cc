// Rescanner (tools/rescan.h). The workers walk the store and scan
// (scanner::RunPulled); each batch carries the ads it walked (the
// checkpoint position is the last ad walked, selected or not), the new scan
// results of the selected ones, and what the report needs of before and
// after: sums per rule and category for the ads whose findings did not
// change (SameCounts), a per-ad summary for the others (AdOutcome). The
// delivering thread merges them into the report. The report is part
// of the checkpoint, so a resumed run reports on the whole rescan. Writes
// go through a CommitWindow (tools/commit_window.h), shared with
// `vigil ingest`.
#include "tools/rescan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "scanner/ordered_pipeline.h"
#include "scanner/result_json.h"
#include "tools/commit_window.h"
#include "tools/threads.h"

namespace vigil::tools {

namespace {

using Json = nlohmann::json;
// Hits per rule or category name, sorted by name. The names point into
// the hits of the batch's stored findings and new results, which outlive
// the outcome (a batch is merged into the report before it is freed).
using Counts = std::vector<std::pair<std::string_view, uint32_t>>;

// One ad's before and after, computed by a worker; its strings point into
// the batch's ads.
struct AdOutcome {
  std::string_view id;
  Counts rules_before, rules_after, categories_before, categories_after;
  bool flagged_before = false, flagged_after = false;
  double score_before = 0.0, score_after = 0.0;
  std::string_view pack_before;
  bool changed = false;
  bool written = false;  // the findings differ beyond the pack label: replaced
};

// The report's share of a batch's ads whose findings the new pack
// reproduces (most of a rescan's ads). Their before and after are the
// same, so the batch sums their hits per rule and category by index in the
// pack, and delivery adds the sums once per batch instead of merging each
// ad's counts by name (they add no examples and no score changes).
struct SameCounts {
  struct Row {
    uint64_t hits = 0, ads = 0, flagged = 0;
    size_t last_ad = 0;  // 1 + the batch position of the last ad counted here
  };
  std::vector<Row> rules, categories;  // by index in the pack
  uint64_t ads = 0, flagged = 0;
  std::vector<std::pair<std::string_view, uint64_t>> packs;  // the stored findings' pack labels
};

// Rule and category ids -> their index in the pack (SameCounts).
struct PackIndex {
  std::unordered_map<std::string_view, uint32_t> rules, categories;
};

struct RescanBatch {
  std::vector<storage::StoredAd> ads;  // walked and selected, with their stored findings and lead
  uint64_t examined = 0;               // ads walked for this batch
  std::string last_id;
  // New results of the ads not counted in `same` (a deque: the outcomes'
  // views and the updates' pointers stay valid). The others are scanned
  // into the worker's reused result.
  std::deque<scanner::ScanResult> results;
  std::deque<scanner::ScanResult> before;         // decoded stored findings of the ads whose findings differ
  std::vector<storage::FindingsUpdate> updates;   // each points at one of `results`...
  std::vector<scanner::ScanResult*> updated;      // ...this one (moved out at delivery)
  SameCounts same;                                // the ads whose findings did not change
  std::vector<AdOutcome> outcomes;                // the others
  uint64_t bytes = 0;
  uint64_t relabelled = 0;  // updates that only record the extraction (RescanReport::relabelled)
  Status error;
};

// What a batch hands the store until its commit: the updates and the
// results they point at (freed by the store's writer thread once the
// commit is reported). The rest of the batch (the stored ads, the results
// that did not change, the decoded findings before) is freed at delivery,
// on the delivering worker: less memory held by the commit window, and
// most of the frees off the writer.
struct PendingWrite {
  std::vector<scanner::ScanResult> results;
  std::vector<storage::FindingsUpdate> updates;  // updates[i].result == &results[i]
  uint64_t bytes = 0;
  uint64_t examined = 0;
};

struct WorkerState {
  std::unique_ptr<scanner::ScanContext> context;
  // The latest result. Most ads' findings do not change, and their result
  // is only counted: scanning each into this one, warm in cache and with
  // its vectors' capacity kept (as `vigil scan` does), instead of a fresh
  // result per ad, raised a one-thread dry run from 86-93k to 96-99k ads/s.
  scanner::ScanResult result;
  std::string encoded;                                  // the latest result, encoded
  std::vector<scanner::Entity> entities;               // the latest ad's stored entities, when reused
  std::vector<std::pair<uint32_t, uint32_t>> indexes;  // (rule, category) of each hit
};

// Counts an ad whose findings did not change into `same` (its position in
// the batch is `pos`). False, counting nothing, when a hit names a rule or
// category the pack does not list: the caller then merges it by name.
bool AddSame(const scanner::ScanResult& result, size_t pos, std::string_view stored_pack, const PackIndex& index,
             std::vector<std::pair<uint32_t, uint32_t>>* indexes, SameCounts* same) {
  indexes->clear();
  for (const scanner::Hit& h : result.hits) {
    const auto rule = index.rules.find(h.rule);
    const auto category = index.categories.find(h.category);
    if (rule == index.rules.end() || category == index.categories.end()) return false;
    indexes->emplace_back(rule->second, category->second);
  }
  const auto count = [&](SameCounts::Row& row) {
    ++row.hits;
    if (row.last_ad == pos) return;
    row.last_ad = pos;
    ++row.ads;
    row.flagged += result.flagged;
  };
  for (const auto& [rule, category] : *indexes) {
    count(same->rules[rule]);
    count(same->categories[category]);
  }
  ++same->ads;
  same->flagged += result.flagged;
  auto pack = std::find_if(same->packs.begin(), same->packs.end(), [&](const auto& p) { return p.first == stored_pack; });
  if (pack == same->packs.end()) {
    same->packs.emplace_back(stored_pack, 1);
  } else {
    ++pack->second;
  }
  return true;
}

// An ad has a handful of hits: a sorted vector beats a map.
Counts CountBy(const std::vector<scanner::Hit>& hits, bool by_category) {
  Counts counts;
  for (const scanner::Hit& h : hits) {
    const std::string_view name = by_category ? h.category : h.rule;
    auto it = std::lower_bound(counts.begin(), counts.end(), name,
                               [](const auto& entry, std::string_view n) { return entry.first < n; });
    if (it != counts.end() && it->first == name) {
      ++it->second;
    } else {
      counts.emplace(it, name, 1);
    }
  }
  return counts;
}

bool SameHits(const scanner::ScanResult& a, const scanner::ScanResult& b) {
  if (a.hits.size() != b.hits.size()) return false;
  for (size_t i = 0; i < a.hits.size(); ++i) {
    const scanner::Hit& x = a.hits[i];
    const scanner::Hit& y = b.hits[i];
    if (x.rule != y.rule || x.start != y.start || x.end != y.end || x.weight != y.weight) return false;
  }
  return true;
}

void AddExample(std::vector<std::string>* examples, std::string_view id, size_t max) {
  if (examples->size() < max) examples->emplace_back(id);
}

RescanDelta& DeltaOf(std::string_view name, DeltaMap* deltas) {
  auto found = deltas->find(name);
  if (found == deltas->end()) found = deltas->emplace(std::string(name), RescanDelta{}).first;
  return found->second;
}

// Adds one ad's counts to the deltas of every rule (or category) it had
// before or has after.
void MergeCounts(const Counts& before, const Counts& after, bool flagged_before, bool flagged_after,
                 std::string_view id, size_t max_examples, DeltaMap* deltas) {
  size_t i = 0, j = 0;
  while (i < before.size() || j < after.size()) {
    std::string_view name;
    uint32_t b = 0, a = 0;
    if (j >= after.size() || (i < before.size() && before[i].first < after[j].first)) {
      name = before[i].first;
      b = before[i++].second;
    } else if (i >= before.size() || after[j].first < before[i].first) {
      name = after[j].first;
      a = after[j++].second;
    } else {
      name = before[i].first;
      b = before[i++].second;
      a = after[j++].second;
    }
    RescanDelta& d = DeltaOf(name, deltas);
    d.hits_before += b;
    d.hits_after += a;
    d.ads_before += b > 0;
    d.ads_after += a > 0;
    d.flagged_before += b > 0 && flagged_before;
    d.flagged_after += a > 0 && flagged_after;
    if (a > b) AddExample(&d.gained, id, max_examples);
    if (a < b) AddExample(&d.lost, id, max_examples);
  }
}

void KeepLargest(std::vector<ScoreChange>* changes, size_t keep) {
  auto larger = [](const ScoreChange& x, const ScoreChange& y) {
    double dx = std::fabs(x.after - x.before), dy = std::fabs(y.after - y.before);
    if (dx != dy) return dx > dy;
    return x.ad_id < y.ad_id;
  };
  std::sort(changes->begin(), changes->end(), larger);
  if (changes->size() > keep) changes->resize(keep);
}

void AddPackBefore(std::string_view label, uint64_t n, RescanReport* r) {
  auto pack = r->packs_before.find(label);
  if (pack == r->packs_before.end()) pack = r->packs_before.emplace(std::string(label), 0).first;
  pack->second += n;
}

// What MergeOutcome would add for each ad counted in `same`.
void MergeSame(const SameCounts& same, const rules::CompiledRuleSet& pack, RescanReport* r) {
  r->rescanned += same.ads;
  r->flagged_before += same.flagged;
  r->flagged_after += same.flagged;
  for (const auto& [label, n] : same.packs) AddPackBefore(label, n, r);
  const auto add = [](const SameCounts::Row& row, RescanDelta& d) {
    d.hits_before += row.hits;
    d.hits_after += row.hits;
    d.ads_before += row.ads;
    d.ads_after += row.ads;
    d.flagged_before += row.flagged;
    d.flagged_after += row.flagged;
  };
  for (size_t i = 0; i < same.rules.size(); ++i) {
    if (same.rules[i].ads > 0) add(same.rules[i], DeltaOf(pack.rules()[i].id, &r->rules));
  }
  for (size_t i = 0; i < same.categories.size(); ++i) {
    if (same.categories[i].ads > 0) add(same.categories[i], DeltaOf(pack.categories()[i].id, &r->categories));
  }
}

void MergeOutcome(const AdOutcome& o, const RescanOptions& options, RescanReport* r) {
  ++r->rescanned;
  r->written += o.written;
  AddPackBefore(o.pack_before, 1, r);
  r->changed += o.changed;
  r->flagged_before += o.flagged_before;
  r->flagged_after += o.flagged_after;
  if (o.flagged_after && !o.flagged_before) {
    ++r->newly_flagged;
    AddExample(&r->newly_flagged_examples, o.id, options.max_examples);
  }
  if (o.flagged_before && !o.flagged_after) {
    ++r->no_longer_flagged;
    AddExample(&r->no_longer_flagged_examples, o.id, options.max_examples);
  }
  MergeCounts(o.rules_before, o.rules_after, o.flagged_before, o.flagged_after, o.id, options.max_examples,
              &r->rules);
  MergeCounts(o.categories_before, o.categories_after, o.flagged_before, o.flagged_after, o.id,
              options.max_examples, &r->categories);
  if (o.score_after != o.score_before) {
    r->largest_changes.push_back(ScoreChange{std::string(o.id), o.score_before, o.score_after});
    if (r->largest_changes.size() > 4 * options.top_score_changes + 16) {
      KeepLargest(&r->largest_changes, options.top_score_changes);
    }
  }
}

void DeltasFromJson(const Json& j, DeltaMap* deltas) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    RescanDelta& d = (*deltas)[it.key()];
    const Json& v = it.value();
    d.hits_before = v.at("hits_before").get<uint64_t>();
    d.hits_after = v.at("hits_after").get<uint64_t>();
    d.ads_before = v.at("ads_before").get<uint64_t>();
    d.ads_after = v.at("ads_after").get<uint64_t>();
    d.flagged_before = v.at("flagged_before").get<uint64_t>();
    d.flagged_after = v.at("flagged_after").get<uint64_t>();
    d.gained = v.at("gained_examples").get<std::vector<std::string>>();
    d.lost = v.at("lost_examples").get<std::vector<std::string>>();
  }
}

// Shortest round-trip form, with ".0" on integral values (nlohmann's
// form); scores are in [0, 1], so no exponent arises in practice.
void AppendDouble(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  const size_t at = out->size();
  fmt::format_to(std::back_inserter(*out), "{}", v);
  if (out->find_first_of(".e", at) == std::string::npos) out->append(".0");
}

void AppendStrings(const std::vector<std::string>& v, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out->push_back(',');
    scanner::AppendJsonString(v[i], out);
  }
  out->push_back(']');
}

void AppendDeltas(const DeltaMap& deltas, std::string* out) {
  out->push_back('{');
  for (auto it = deltas.begin(); it != deltas.end(); ++it) {
    if (it != deltas.begin()) out->push_back(',');
    const RescanDelta& d = it->second;
    scanner::AppendJsonString(it->first, out);
    fmt::format_to(std::back_inserter(*out),
                   R"(:{{"ads_after":{},"ads_before":{},"flagged_after":{},"flagged_before":{},"gained_examples":)",
                   d.ads_after, d.ads_before, d.flagged_after, d.flagged_before);
    AppendStrings(d.gained, out);
    fmt::format_to(std::back_inserter(*out), R"(,"hits_after":{},"hits_before":{},"lost_examples":)", d.hits_after,
                   d.hits_before);
    AppendStrings(d.lost, out);
    out->push_back('}');
  }
  out->push_back('}');
}

// The report as JSON, written directly rather than built as an nlohmann
// tree and dumped: every batch's checkpoint carries it, and the tree and
// its dump cost ~1.5 M instructions per checkpoint (callgrind), ~2% of a
// one-rule rescan. Keys in sorted order, as nlohmann's objects give them,
// so the text is the same as before but for the escapes of control
// characters (\u0008 for \b) and of invalid UTF-8 (\ufffd rather than the
// character itself); ReportFromJson reads it back.
void AppendReport(const RescanReport& r, std::string* out) {
  const auto to = [out] { return std::back_inserter(*out); };
  out->append(R"({"categories":)");
  AppendDeltas(r.categories, out);
  fmt::format_to(to(),
                 R"(,"changed":{},"complete":{},"dry_run":{},"examined":{},"flagged_after":{},"flagged_before":{},)"
                 R"("largest_score_changes":[)",
                 r.changed, r.complete, r.dry_run, r.examined, r.flagged_after, r.flagged_before);
  for (size_t i = 0; i < r.largest_changes.size(); ++i) {
    const ScoreChange& c = r.largest_changes[i];
    out->append(i ? R"(,{"ad_id":)" : R"({"ad_id":)");
    scanner::AppendJsonString(c.ad_id, out);
    out->append(R"(,"after":)");
    AppendDouble(c.after, out);
    out->append(R"(,"before":)");
    AppendDouble(c.before, out);
    out->push_back('}');
  }
  out->append(R"(],"last_id":)");
  scanner::AppendJsonString(r.last_id, out);
  fmt::format_to(to(), R"(,"newly_flagged":{},"newly_flagged_examples":)", r.newly_flagged);
  AppendStrings(r.newly_flagged_examples, out);
  fmt::format_to(to(), R"(,"no_longer_flagged":{},"no_longer_flagged_examples":)", r.no_longer_flagged);
  AppendStrings(r.no_longer_flagged_examples, out);
  out->append(R"(,"pack":)");
  scanner::AppendJsonString(r.pack, out);
  out->append(R"(,"pack_hash":)");
  scanner::AppendJsonString(r.pack_hash, out);
  out->append(R"(,"packs_before":{)");
  for (auto it = r.packs_before.begin(); it != r.packs_before.end(); ++it) {
    if (it != r.packs_before.begin()) out->push_back(',');
    scanner::AppendJsonString(it->first, out);
    fmt::format_to(to(), ":{}", it->second);
  }
  fmt::format_to(to(), R"(}},"relabelled":{},"rescanned":{},"resumed":{},"rules":)", r.relabelled, r.rescanned,
                 r.resumed);
  AppendDeltas(r.rules, out);
  fmt::format_to(to(), R"(,"written":{}}})", r.written);
}

// A rescan checkpoint: {"done", "pack_hash", "report", "selection",
// "started_at_ms"} (ResumeFromCheckpoint reads it).
std::string CheckpointJson(bool done, const RescanReport& r, const std::string& selection, int64_t started_at_ms) {
  std::string out;
  out.reserve(16384);
  out.append(done ? "{\"done\":true,\"pack_hash\":" : "{\"done\":false,\"pack_hash\":");
  scanner::AppendJsonString(r.pack_hash, &out);
  out.append(",\"report\":");
  AppendReport(r, &out);
  out.append(",\"selection\":");
  out.append(selection);
  out.append(",\"started_at_ms\":");
  fmt::format_to(std::back_inserter(out), "{}", started_at_ms);
  out.push_back('}');
  return out;
}

Status ReportFromJson(const Json& j, RescanReport* r) {
  try {
    r->pack = j.at("pack").get<std::string>();
    r->pack_hash = j.at("pack_hash").get<std::string>();
    r->packs_before = j.at("packs_before").get<std::map<std::string, uint64_t, std::less<>>>();
    r->examined = j.at("examined").get<uint64_t>();
    r->rescanned = j.at("rescanned").get<uint64_t>();
    r->changed = j.at("changed").get<uint64_t>();
    r->written = j.value("written", uint64_t{0});  // absent in checkpoints of earlier builds
    r->relabelled = j.value("relabelled", uint64_t{0});  // likewise
    r->flagged_before = j.at("flagged_before").get<uint64_t>();
    r->flagged_after = j.at("flagged_after").get<uint64_t>();
    r->newly_flagged = j.at("newly_flagged").get<uint64_t>();
    r->no_longer_flagged = j.at("no_longer_flagged").get<uint64_t>();
    r->newly_flagged_examples = j.at("newly_flagged_examples").get<std::vector<std::string>>();
    r->no_longer_flagged_examples = j.at("no_longer_flagged_examples").get<std::vector<std::string>>();
    DeltasFromJson(j.at("rules"), &r->rules);
    DeltasFromJson(j.at("categories"), &r->categories);
    for (const Json& c : j.at("largest_score_changes")) {
      r->largest_changes.push_back(ScoreChange{c.at("ad_id").get<std::string>(), c.at("before").get<double>(),
                                               c.at("after").get<double>()});
    }
    r->last_id = j.at("last_id").get<std::string>();
  } catch (const Json::exception& e) {
    return Status::Corruption(fmt::format("the rescan checkpoint does not decode: {}", e.what()));
  }
  return Status::Ok();
}

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// What a checkpoint must match to be resumed: the pack and the selection.
Json Selection(const RescanOptions& o) {
  return Json{{"since", o.since ? Json(*o.since) : Json(nullptr)}, {"category", o.category}};
}

std::string DescribeSelection(const Json& s) {
  std::string out;
  if (!s.at("since").is_null()) out += fmt::format(" --since {}", storage::FormatIsoTime(s.at("since").get<int64_t>()));
  if (!s.at("category").get<std::string>().empty()) out += " --category " + s.at("category").get<std::string>();
  return out.empty() ? " (all ads)" : out;
}

// Continues an unfinished rescan from its checkpoint (`saved`) when it had
// the same pack and selection: *report and *started_at_ms become its. A
// finished one is left alone (this run starts afresh); one of another pack
// or selection, or one that does not decode, is refused (--restart
// discards it: the caller does not call this then).
Status ResumeFromCheckpoint(const std::string& saved, const Json& selection, RescanReport* report,
                            int64_t* started_at_ms) {
  constexpr const char* kUndecodable =
      "the rescan checkpoint in this store does not decode; pass --restart to discard it and rescan from the start";
  try {
    const Json j = Json::parse(saved, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("done") || !j.contains("report")) {
      return Status::Corruption(kUndecodable);
    }
    if (j.at("done").get<bool>()) return Status::Ok();
    const std::string hash = j.value("pack_hash", "");
    const Json& saved_selection = j.contains("selection") ? j.at("selection") : Json(nullptr);
    if (hash != report->pack_hash || saved_selection != selection) {
      const Json& r = j.at("report");
      return Status::InvalidArgument(fmt::format(
          "an unfinished rescan with pack {} (hash {}){} stopped after ad \"{}\" ({} ads examined); finish it "
          "with the same pack and selection, or pass --restart to discard it and rescan from the start with {}",
          r.value("pack", "?"), hash.substr(0, 12),
          saved_selection.is_object() ? DescribeSelection(saved_selection) : std::string(), r.value("last_id", ""),
          r.value("examined", 0), report->pack));
    }
    RescanReport resumed;
    if (Status s = ReportFromJson(j.at("report"), &resumed); !s.ok()) return s;
    // Checkpoints of earlier builds have no start; 0 makes the record of
    // this rescan claim no ad (LastRescan::Read).
    const Json start = j.value("started_at_ms", Json());
    *started_at_ms = start.is_number_integer() ? start.get<int64_t>() : 0;
    resumed.dry_run = false;
    resumed.complete = false;
    resumed.resumed = true;
    *report = std::move(resumed);
    return Status::Ok();
  } catch (const Json::exception& e) {
    return Status::Corruption(fmt::format("{} ({})", kUndecodable, e.what()));
  }
}

// The last completed rescan's record, if it is still `record_before` (no
// rescan started or completed since the caller read its ads), decoded.
Result<LastRescan> LastRescanIfUnchanged(const storage::Store& store, const Result<std::string>& record_before) {
  if (!record_before.ok()) return record_before.status();
  Result<std::string> now = store.GetCheckpoint(kLastRescanCheckpoint);
  if (!now.ok()) return now.status();
  // A rescan that started or completed since may have replaced the
  // findings the caller read.
  if (*now != *record_before) return Status::NotFound("a rescan started or completed meanwhile");
  return DecodeLastRescan(*now);
}

}  // namespace

bool LastRescan::Cites(const storage::AdRecord& ad, std::string_view label) const {
  return pack != label && Read(ad);
}

bool LastRescan::Read(const storage::AdRecord& ad) const {
  if (!category.empty()) return false;
  if (since && ad.time < *since) return false;
  return ad.ingested_at_ms < started_at_ms;
}

Result<LastRescan> DecodeLastRescan(std::string_view record) {
  const Json j = Json::parse(record, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::NotFound("the last rescan's record is not a JSON object");
  try {
    if (j.value("running", false)) {
      return Status::NotFound(fmt::format("a rescan with {} has not completed", j.value("pack", "?")));
    }
    LastRescan last;
    last.pack = j.at("pack").get<std::string>();
    last.started_at_ms = j.at("started_at_ms").get<int64_t>();
    last.finished_at_ms = j.at("finished_at_ms").get<int64_t>();
    const Json& selection = j.at("selection");
    if (!selection.at("since").is_null()) last.since = selection.at("since").get<int64_t>();
    last.category = selection.at("category").get<std::string>();
    return last;
  } catch (const Json::exception& e) {
    return Status::NotFound(fmt::format("the last rescan's record does not decode: {}", e.what()));
  }
}

Result<std::string> ReadLastRescanRecord(const storage::Store& store) {
  return store.GetCheckpoint(kLastRescanCheckpoint);
}

Result<LastRescan> LastRescanThatRead(const storage::Store& store, const Result<std::string>& record_before,
                                      const storage::AdRecord& ad, std::string_view label) {
  Result<LastRescan> last = LastRescanIfUnchanged(store, record_before);
  if (last.ok() && !last->Cites(ad, label)) return Status::NotFound("the last rescan did not read this ad");
  return last;
}

void CiteLastRescan(const storage::Store& store, const Result<std::string>& record_before,
                    std::vector<storage::ExportRecord>* records) {
  Result<LastRescan> last = LastRescanIfUnchanged(store, record_before);
  if (!last.ok()) return;
  for (storage::ExportRecord& r : *records) {
    if (last->Cites(r.ad, r.findings.pack_version)) {
      r.unchanged_by = storage::ExportRecord::Citation{last->pack, last->finished_at_ms};
    }
  }
}

std::string RescanReport::ToJson() const {
  std::string out;
  out.reserve(16384);
  AppendReport(*this, &out);
  return out;
}

std::string RescanReport::ToText(size_t max_rules) const {
  std::string out;
  std::string before;
  for (const auto& [pack_label, n] : packs_before) before += fmt::format("{}{} ({} ads)", before.empty() ? "" : ", ",
                                                                         pack_label.empty() ? "-" : pack_label, n);
  out += fmt::format("rescan with {}{}{}{}\n", pack, dry_run ? " (dry run: nothing written)" : "",
                     complete ? "" : " (incomplete: run the same command to resume)", resumed ? " (resumed)" : "");
  out += fmt::format("  ads examined {}, rescanned {}, changed {}, findings {} {}; scanned before by {}\n", examined,
                     rescanned, changed, dry_run ? "to replace" : "replaced", written, before.empty() ? "-" : before);
  if (relabelled > 0) {
    out += fmt::format("  findings of {} more ads rewritten unchanged, to record this vigil's entity extraction "
                       "(later rescans reuse it)\n",
                       relabelled);
  }
  out += fmt::format("  flagged: {} before, {} after; newly flagged {}, no longer flagged {}\n", flagged_before,
                     flagged_after, newly_flagged, no_longer_flagged);
  if (!newly_flagged_examples.empty()) {
    out += "    newly flagged, e.g.:";
    for (const std::string& id : newly_flagged_examples) out += " " + id;
    out += "\n";
  }
  if (!no_longer_flagged_examples.empty()) {
    out += "    no longer flagged, e.g.:";
    for (const std::string& id : no_longer_flagged_examples) out += " " + id;
    out += "\n";
  }
  auto table = [&](const char* title, const DeltaMap& deltas) {
    std::vector<std::pair<std::string, const RescanDelta*>> rows;
    for (const auto& [name, d] : deltas) rows.emplace_back(name, &d);
    // Largest changes first, then by name.
    std::stable_sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
      auto change = [](const RescanDelta* d) {
        return std::llabs(static_cast<long long>(d->hits_after) - static_cast<long long>(d->hits_before));
      };
      return change(x.second) > change(y.second);
    });
    out += fmt::format("  {:<34} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8}  examples\n", title, "hits bef", "hits aft",
                       "ads bef", "ads aft", "flg bef", "flg aft");
    size_t shown = 0;
    for (const auto& [name, d] : rows) {
      if (shown++ == max_rules) {
        out += fmt::format("  ... {} more (see --report)\n", rows.size() - max_rules);
        break;
      }
      std::string examples;
      if (!d->gained.empty()) examples += " +" + d->gained.front();
      if (!d->lost.empty()) examples += " -" + d->lost.front();
      out += fmt::format("  {:<34} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {}\n", name, d->hits_before, d->hits_after,
                         d->ads_before, d->ads_after, d->flagged_before, d->flagged_after, examples);
    }
  };
  table("rule", rules);
  table("category", categories);
  if (!largest_changes.empty()) {
    out += "  largest score changes:\n";
    for (const ScoreChange& c : largest_changes) {
      out += fmt::format("    {:<24} {:.3f} -> {:.3f} ({:+.3f})\n", c.ad_id, c.before, c.after, c.after - c.before);
    }
  }
  return out;
}

Rescanner::Rescanner(storage::Store* store, std::shared_ptr<const scanner::Scanner> scanner, RescanOptions options)
    : store_(store), scanner_(std::move(scanner)), options_(std::move(options)) {}

Result<RescanReport> Rescanner::Run(const ProgressFn& progress, const std::atomic<bool>* stop) {
  if (options_.batch_size < 1 || options_.batch_size > 8192) {
    return Status::InvalidArgument("the rescan batch size must be 1..8192");
  }
  if (!options_.dry_run && store_->read_only()) {
    return Status::InvalidArgument("a rescan that writes needs the store open for writing (use a dry run to read)");
  }
  const rules::CompiledRuleSet& pack = scanner_->rules();
  RescanReport report;
  report.pack = pack.pack_label();
  report.pack_hash = pack.pack_hash();
  report.dry_run = options_.dry_run;
  const Json selection = Selection(options_);
  const std::string selection_json = Dump(selection);
  // On the store's clock, which stamps ingested_at_ms; a resumed rescan
  // keeps its first start.
  int64_t started_at_ms = store_->NowMs();

  // Resume from a checkpoint of the same pack and selection.
  if (!options_.dry_run) {
    Result<std::string> saved = store_->GetCheckpoint(kRescanCheckpoint);
    if (!saved.ok() && !saved.status().IsNotFound()) return saved.status();
    if (saved.ok() && !options_.restart) {
      if (Status s = ResumeFromCheckpoint(*saved, selection, &report, &started_at_ms); !s.ok()) return s;
    }
  }

  // Until this rescan completes, no earlier one is cited: the findings it
  // replaces meanwhile are not what an earlier pack found.
  if (!options_.dry_run) {
    const Json running{{"running", true}, {"pack", report.pack}, {"started_at_ms", started_at_ms}};
    if (Status s = store_->PutCheckpoint(kLastRescanCheckpoint, Dump(running)); !s.ok()) return s;
  }

  uint64_t total = 0;
  if (Result<storage::StatusCounts> counts = store_->CountByStatus(); counts.ok()) {
    for (const storage::StatusCount& c : counts->by_status) total += c.total;
  }

  const int threads = ThreadsOrCores(options_.threads);
  const int workers = threads == 1 ? 0 : threads;
  std::vector<WorkerState> states(std::max(1, workers));
  for (WorkerState& w : states) w.context = scanner_->NewContext();
  const scanner::Scanner& scan = *scanner_;
  const std::string category = options_.category;
  PackIndex index;
  for (size_t i = 0; i < pack.rules().size(); ++i) index.rules.emplace(pack.rules()[i].id, i);
  for (size_t i = 0; i < pack.categories().size(); ++i) index.categories.emplace(pack.categories()[i].id, i);

  auto work = [&](RescanBatch& batch, int worker) {
    WorkerState& w = states[worker];
    batch.same.rules.resize(pack.rules().size());
    batch.same.categories.resize(pack.categories().size());
    for (size_t i = 0; i < batch.ads.size(); ++i) {
      const storage::StoredAd& stored = batch.ads[i];
      const std::string& id = stored.ad.doc.id;
      // Entities stored by an extraction with this scanner's fingerprint
      // are what extracting them again would give: taken as they are, they
      // save about a quarter of each scan (bench/RESULTS.md).
      const bool reused = stored.EntitiesExtractedBy(scan.extractor_fingerprint(), &w.entities);
      const Status scanned = reused ? scan.ScanWithEntities(stored.ad.doc, w.entities, w.context.get(), &w.result)
                                    : scan.Scan(stored.ad.doc, w.context.get(), &w.result);
      if (!scanned.ok()) {
        batch.error = Status::Internal(fmt::format("scanning ad \"{}\": {}", id, scanned.message()));
        return;
      }
      batch.bytes += stored.ad.doc.text.size();
      // Findings whose stored extraction is not recorded as this one's are
      // rewritten (once) even when nothing else differs, so that the next
      // rescan can reuse their entities.
      const bool relabel = !reused && !w.result.entities_by.empty() && !options_.dry_run;
      const auto queue_relabel = [&](scanner::ScanResult& result) {
        ++batch.relabelled;
        batch.updates.push_back({id, &result, stored.ad.version, std::move(w.encoded), stored.ad.doc.text.size()});
        batch.updated.push_back(&result);
      };
      // Findings equal to the stored ones but for the pack label are left
      // as they are: nothing to write, nothing to decode (rescan.h). The
      // stored findings' score and verdict are the lead's base score and
      // verdict.
      std::string_view stored_pack;
      const storage::FindingsChange change = storage::CompareStoredFindings(stored, w.result, &w.encoded, &stored_pack);
      if (change != storage::FindingsChange::kChanged &&
          AddSame(w.result, i + 1, stored_pack, index, &w.indexes, &batch.same)) {
        if (relabel) queue_relabel(batch.results.emplace_back(std::move(w.result)));
        continue;
      }
      scanner::ScanResult& result = batch.results.emplace_back(std::move(w.result));
      AdOutcome& o = batch.outcomes.emplace_back();
      o.id = id;
      o.rules_after = CountBy(result.hits, false);
      o.categories_after = CountBy(result.hits, true);
      o.flagged_after = result.flagged;
      o.score_after = result.score;
      if (change != storage::FindingsChange::kChanged) {
        o.pack_before = stored_pack;
        o.rules_before = o.rules_after;
        o.categories_before = o.categories_after;
        o.flagged_before = o.flagged_after;
        o.score_before = o.score_after;
        if (relabel) queue_relabel(result);
        continue;
      }
      scanner::ScanResult& before = batch.before.emplace_back();  // a deque: the outcome's views stay valid
      if (Status s = stored.DecodeFindings(&before); !s.ok()) {
        batch.error = s;
        return;
      }
      o.rules_before = CountBy(before.hits, false);
      o.categories_before = CountBy(before.hits, true);
      o.flagged_before = before.flagged;
      o.score_before = before.score;
      o.pack_before = before.pack_version;
      o.changed = o.flagged_before != o.flagged_after || o.score_before != o.score_after || !SameHits(before, result);
      o.written = true;
      // The version scanned (a newer one ingested meanwhile is left alone)
      // and its text size: the store takes the ad as walked when its lead
      // still holds that version.
      batch.updates.push_back({id, &result, stored.ad.version, std::move(w.encoded), stored.ad.doc.text.size()});
      batch.updated.push_back(&result);
    }
  };

  const auto start = std::chrono::steady_clock::now();
  RescanProgress p;
  p.total = total;
  p.examined = report.examined;
  p.rescanned = report.rescanned;
  p.resumed = report.resumed;
  // Delivery (in id order) merges each batch into the report and hands its
  // new findings to the store without waiting (ReplaceFindingsAsync), with
  // a checkpoint (the position and the report so far) in the same atomic
  // batch. The store groups queued requests into one synced write and
  // stages the next group while one is written, so scan workers never
  // wait for a sync. Progress is reported once a batch is durable.
  constexpr size_t kMaxInFlight = 32;
  CommitWindow window(kMaxInFlight);
  const auto report_progress = [&](uint64_t bytes, uint64_t batch_examined, uint64_t examined, uint64_t rescanned) {
    p.bytes += bytes;
    p.run_ads += batch_examined;
    p.examined = examined;
    p.rescanned = rescanned;
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress) progress(p);
  };
  auto deliver = [&](RescanBatch& batch) -> Status {
    if (!batch.error.ok()) return batch.error;
    MergeSame(batch.same, pack, &report);
    for (const AdOutcome& o : batch.outcomes) MergeOutcome(o, options_, &report);
    report.examined += batch.examined;
    report.relabelled += batch.relabelled;
    report.last_id = batch.last_id;
    KeepLargest(&report.largest_changes, options_.top_score_changes);
    const uint64_t examined = report.examined, rescanned = report.rescanned;
    if (options_.dry_run) {
      report_progress(batch.bytes, batch.examined, examined, rescanned);
      return Status::Ok();
    }
    storage::CheckpointWrite checkpoint{kRescanCheckpoint,
                                        CheckpointJson(/*done=*/false, report, selection_json, started_at_ms)};
    if (Status s = window.Begin(); !s.ok()) return s;
    auto owned = std::make_shared<PendingWrite>();
    owned->bytes = batch.bytes;
    owned->examined = batch.examined;
    owned->updates = std::move(batch.updates);
    owned->results.reserve(owned->updates.size());  // no reallocation: the pointers below stay valid
    for (size_t i = 0; i < owned->updates.size(); ++i) {
      owned->results.push_back(std::move(*batch.updated[i]));
      owned->updates[i].result = &owned->results.back();
    }
    store_->ReplaceFindingsAsync(owned->updates, std::move(checkpoint),
                                 [&window, &report_progress, owned, examined, rescanned](
                                     const Status& s, const storage::ReplaceStats&) {
                                   window.End(s, [&] {
                                     if (s.ok()) report_progress(owned->bytes, owned->examined, examined, rescanned);
                                   });
                                 });
    return Status::Ok();
  };

  // The workers walk the store themselves, a batch at a time under the
  // walk's lock (scanner::RunPulled): each batch is decoded and scanned on
  // one core, warm in its cache, instead of crossing from a walking thread.
  // The leads are read only to select by category.
  std::unique_ptr<storage::Store::AdWalk> walk =
      store_->WalkStoredAds(report.last_id, !category.empty(), storage::Store::AdFields::kScan);
  bool stopped = false;
  const size_t max_walk = options_.batch_size * 8;  // checkpoint now and then through unselected stretches
  const auto fill = [&](RescanBatch& batch) {
    if (stopped) return false;
    batch.ads.reserve(options_.batch_size);
    size_t selected_ads = 0;
    while (selected_ads < options_.batch_size && batch.examined < max_walk) {
      // Decoded in place: the slot past the selected ads is reused for an
      // ad that is not selected.
      if (batch.ads.size() == selected_ads) batch.ads.emplace_back();
      storage::StoredAd& stored = batch.ads.back();
      if (!walk->Next(&stored)) break;  // the end, or an error (walk->status())
      // A stop leaves this ad, and the rest, to the resumed run; one that
      // comes once every ad was taken does not make the rescan incomplete.
      if (stop && stop->load(std::memory_order_relaxed)) {
        stopped = true;
        break;
      }
      ++batch.examined;
      batch.last_id = stored.ad.doc.id;
      bool selected = !options_.since || stored.ad.time >= *options_.since;
      if (selected && !category.empty()) {
        const std::vector<std::string> cats = storage::EffectiveCategories(stored.lead);
        selected = std::binary_search(cats.begin(), cats.end(), category);
      }
      if (selected) ++selected_ads;
    }
    batch.ads.resize(selected_ads);
    return batch.examined > 0;
  };
  const Status pipeline_status = scanner::RunPulled<RescanBatch>(
      workers, static_cast<size_t>(std::max(1, workers)) * 3 + 1, fill, work, deliver);
  const Status walk_status = walk->status();
  walk.reset();  // its snapshot
  if (Status w = window.Wait(); !w.ok()) return w;
  if (!pipeline_status.ok()) return pipeline_status;
  if (!walk_status.ok()) return walk_status;
  report.complete = !stopped;
  if (report.complete && !options_.dry_run) {
    const std::string cp = CheckpointJson(/*done=*/true, report, selection_json, started_at_ms);
    if (Status s = store_->PutCheckpoint(kRescanCheckpoint, cp); !s.ok()) return s;
    Json last{{"pack", report.pack},
              {"pack_hash", report.pack_hash},
              {"selection", selection},
              {"started_at_ms", started_at_ms},
              {"finished_at_ms", store_->NowMs()}};
    if (Status s = store_->PutCheckpoint(kLastRescanCheckpoint, Dump(last)); !s.ok()) return s;
  }
  return report;
}

}  // namespace vigil::tools
