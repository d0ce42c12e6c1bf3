// The store commands of the `vigil` CLI (docs/cli.md): `ingest` (scan JSON
// Lines and store the results durably), `leads list|show|review`,
// `entities show` and `export` (a case bundle with provenance).
//
// Reads open the store read-only (a RocksDB secondary instance), so they
// work while vigild holds the directory. Writes (ingest, review, export,
// which is audit-logged) need the writer's lock; when vigild holds it they
// say which API call to use instead and exit 2.
//
// ingest is the scan pipeline of `vigil scan` (reader -> parse and scan
// workers -> ordered delivery) with the store as the destination: every
// batch of lines becomes one PutScannedAsync request (the store commits
// queued requests together, one synced write per group), so an ad is
// durable once its batch's commit is reported and a malformed line never
// touches the store.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rules/pack_loader.h"
#include "scanner/document_parser.h"
#include "scanner/line_reader.h"
#include "scanner/ordered_pipeline.h"
#include "scanner/scanner.h"
#include "storage/export_json.h"
#include "storage/store.h"
#include "tools/commands.h"
#include "tools/commit_window.h"
#include "tools/progress.h"
#include "tools/rescan.h"
#include "tools/rule_loading.h"
#include "tools/store_cli_support.h"
#include "tools/threads.h"

namespace vigil::tools {

namespace {

using storage::Store;

std::string Iso(int64_t unix_seconds) { return unix_seconds == 0 ? "-" : storage::FormatIsoTime(unix_seconds); }
std::string IsoMs(int64_t ms) { return ms == 0 ? "-" : storage::FormatIsoTime(ms / 1000); }

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::string Dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// ---------------------------------------------------------------- ingest

struct IngestFlags {
  std::string data = storage::kDefaultStoreDir;
  std::string rules;
  std::string cache_dir = "<default>";
  std::string region = "US";
  int threads = 0;
  size_t batch = 512;
  bool progress = true;
  std::vector<std::string> files;
};

struct IngestBatch {
  scanner::LineBatch input;
  std::vector<scanner::Document> docs;
  std::vector<scanner::ScanResult> results;
  std::vector<storage::ScannedAd> refs;  // docs[i] with results[i], for the store
  std::string errors;
  uint64_t failed = 0;
};

struct IngestWorker {
  scanner::DocumentParser parser;
  std::unique_ptr<scanner::ScanContext> context;
};

int RunIngest(const IngestFlags& flags) {
  std::shared_ptr<const scanner::Scanner> created =
      LoadScannerOrReport("ingest", flags.rules, flags.cache_dir, flags.region);
  if (!created) return 2;
  const scanner::Scanner& scan = *created;

  int exit_code = 0;
  std::unique_ptr<Store> store = OpenStoreForWriting(flags.data, /*create=*/true, "ingest", "POST /v1/ads", &exit_code);
  if (!store) return exit_code;

  const int threads = ThreadsOrCores(flags.threads);
  const int workers = threads == 1 ? 0 : threads;
  std::vector<IngestWorker> states(std::max(1, workers));
  for (IngestWorker& w : states) w.context = scan.NewContext();

  auto work = [&](IngestBatch& batch, int worker) {
    IngestWorker& w = states[worker];
    const scanner::LineBatch& in = batch.input;
    batch.docs.reserve(in.lines.size());
    batch.results.reserve(in.lines.size());
    for (const scanner::LineBatch::Line& line : in.lines) {
      if (line.oversized) {
        ++batch.failed;
        batch.errors += fmt::format("vigil ingest: {}:{}: line is {} bytes, over the limit; skipped\n", in.source,
                                    line.number, line.oversized);
        continue;
      }
      std::string_view bytes(in.buffer.data() + line.offset, line.length);
      if (scanner::IsBlankLine(bytes)) continue;
      scanner::Document& doc = batch.docs.emplace_back();
      Status s = w.parser.Parse(bytes, &doc, /*padded=*/true);
      if (s.ok() && doc.id.size() > storage::kMaxAdIdBytes) {
        s = Status::InvalidArgument(fmt::format("\"id\" is longer than {} bytes", storage::kMaxAdIdBytes));
      }
      if (s.ok()) s = scan.Scan(doc, w.context.get(), &batch.results.emplace_back());
      if (!s.ok()) {
        if (batch.results.size() == batch.docs.size()) batch.results.pop_back();
        batch.docs.pop_back();
        ++batch.failed;
        batch.errors += fmt::format("vigil ingest: {}:{}: {}\n", in.source, line.number, s.message());
      }
    }
  };

  uint64_t total_bytes = 0;
  for (const std::string& f : flags.files) {
    std::error_code ec;
    if (f != "-") total_bytes += std::filesystem::file_size(f, ec);
  }
  Progress progress("ingest", flags.progress && isatty(STDERR_FILENO), total_bytes);
  storage::PutStats stats;
  uint64_t failed = 0;

  // The ordered delivery hands each scanned batch to the store without
  // waiting (PutScannedAsync): the store groups what is queued into one
  // synced batch and stages the next group while one is written, so scan
  // workers never wait for a sync. An ad is durable once its batch's
  // callback reports OK; the window bounds the batches in flight.
  constexpr size_t kMaxInFlight = 24;
  CommitWindow window(kMaxInFlight);
  auto deliver = [&](IngestBatch& batch) -> Status {
    if (!batch.errors.empty() || batch.failed > 0) {
      window.WithLock([&] {
        if (!batch.errors.empty()) {
          progress.Clear();
          std::fputs(batch.errors.c_str(), stderr);
        }
        failed += batch.failed;
      });
    }
    if (Status s = window.Begin(); !s.ok()) return s;
    auto owned = std::make_shared<IngestBatch>(std::move(batch));
    if (owned->docs.empty()) {
      window.End(Status::Ok(), [&] { progress.Add(0, owned->input.bytes, 0); });
      return Status::Ok();
    }
    owned->refs.reserve(owned->docs.size());
    for (size_t i = 0; i < owned->docs.size(); ++i) owned->refs.push_back({&owned->docs[i], &owned->results[i]});
    store->PutScannedAsync(owned->refs, [&window, &stats, &progress, owned](const Status& s,
                                                                             const storage::PutStats& put) {
      Status outcome = s;
      if (!s.ok()) {
        const scanner::LineBatch& in = owned->input;
        outcome = Status::IOError(fmt::format("{} (the ads of {}:{}-{} were not stored; everything before them is)",
                                              s.ToString(), in.source, in.lines.empty() ? 0 : in.lines.front().number,
                                              in.lines.empty() ? 0 : in.lines.back().number));
      }
      window.End(outcome, [&] {
        if (!s.ok()) return;
        stats.Add(put);
        progress.Add(owned->docs.size(), owned->input.bytes, put.flagged);
      });
    });
    return Status::Ok();
  };

  {
    scanner::OrderedPipeline<IngestBatch> pipeline(workers, static_cast<size_t>(std::max(1, workers)) * 4 + 2, work,
                                                   deliver);
    constexpr size_t kMaxLine = 32u << 20;
    for (const std::string& file : flags.files) {
      Result<std::unique_ptr<scanner::LineBatchReader>> reader = scanner::LineBatchReader::Open(file, kMaxLine);
      if (!reader.ok()) {
        window.WithLock([&] {
          progress.Clear();
          std::fprintf(stderr, "vigil ingest: %s\n", reader.status().message().c_str());
        });
        exit_code = 2;
        continue;
      }
      for (;;) {
        auto batch = std::make_unique<IngestBatch>();
        Result<bool> more = (*reader)->Next(&batch->input, flags.batch, 1u << 20);
        if (!more.ok()) {
          window.WithLock([&] {
            progress.Clear();
            std::fprintf(stderr, "vigil ingest: %s\n", more.status().message().c_str());
          });
          exit_code = 2;
          break;
        }
        if (!*more) break;
        if (Status s = pipeline.Push(std::move(batch)); !s.ok()) break;  // reported below
      }
    }
    Status s = pipeline.Finish();
    if (Status w = window.Wait(); !w.ok()) s = w;
    if (!s.ok()) {
      progress.Clear();
      std::fprintf(stderr, "vigil ingest: storing failed: %s\n", s.message().c_str());
      exit_code = 2;
    }
  }
  progress.Finish();
  const double seconds = std::max(progress.seconds(), 1e-9);
  std::fprintf(stderr,
               "vigil ingest: %llu ads in %.2f s (%.0f ads/s) into %s: %llu new, %llu new versions, %llu duplicates, "
               "%llu flagged; %llu lines failed%s\n",
               static_cast<unsigned long long>(stats.ads), seconds, stats.ads / seconds, flags.data.c_str(),
               static_cast<unsigned long long>(stats.new_ads), static_cast<unsigned long long>(stats.new_versions),
               static_cast<unsigned long long>(stats.duplicates), static_cast<unsigned long long>(stats.flagged),
               static_cast<unsigned long long>(failed), failed ? " (listed above with their line numbers)" : "");
  FlushBeforeExit(store.get(), "ingest");
  if (exit_code == 0 && failed > 0) exit_code = 1;
  return exit_code;
}

// ---------------------------------------------------------------- leads list

struct LeadsFlags {
  std::string data = storage::kDefaultStoreDir;
  std::string status;
  std::string category;
  std::string city;
  std::string text;
  double min_score = 0.0;
  std::string since;
  std::string until;
  size_t limit = 50;
  bool by_time = false;
  bool flagged_only = false;
  bool json = false;
  // show / review
  std::string id;
  std::string rules;
  std::string color = "auto";
  std::string note;
  std::string user;
  std::string assignee;
  bool assignee_given = false;
  int64_t expected_version = -1;
};

bool ParseStatusFlag(const std::string& text, std::optional<storage::ReviewStatus>* out, const char* command) {
  if (text.empty()) return true;
  *out = storage::ParseReviewStatus(text);
  if (!*out) {
    std::fprintf(stderr, "vigil %s: unknown status \"%s\": use new, in_review, escalated, dismissed or needs_info\n",
                 command, text.c_str());
    return false;
  }
  return true;
}

nlohmann::json LeadJson(const storage::LeadSummary& l) {
  return nlohmann::json{{"id", l.ad_id},
                        {"score", l.score},
                        {"base_score", l.base_score},
                        {"flagged", l.flagged},
                        {"network", l.network},
                        {"categories", l.categories},
                        {"status", storage::ReviewStatusName(l.status)},
                        {"time", Iso(l.time)},
                        {"posted_at", l.posted_at},
                        {"city", l.city},
                        {"pack_version", l.pack_version},
                        {"snippet", l.snippet}};
}

int RunLeadsList(const LeadsFlags& f) {
  storage::LeadQuery q;
  if (!ParseStatusFlag(f.status, &q.status, "leads list")) return 2;
  q.category = f.category;
  q.city = f.city;
  q.text = f.text;
  q.min_score = f.min_score;
  q.flagged_only = f.flagged_only;
  q.order = f.by_time ? storage::LeadOrder::kTime : storage::LeadOrder::kScore;
  if (!f.since.empty()) {
    q.since = ParseTimeArgument(f.since);
    if (!q.since) {
      std::fprintf(stderr, "vigil leads list: --since \"%s\": give an ISO 8601 date or an age such as 7d or 12h\n",
                   f.since.c_str());
      return 2;
    }
  }
  if (!f.until.empty()) {
    q.until = ParseTimeArgument(f.until);
    if (!q.until) {
      std::fprintf(stderr, "vigil leads list: --until \"%s\": give an ISO 8601 date or an age such as 7d or 12h\n",
                   f.until.c_str());
      return 2;
    }
  }
  std::unique_ptr<Store> store = OpenStoreForReading(f.data, "leads list");
  if (!store) return 2;
  size_t remaining = f.limit;
  size_t shown = 0;
  if (!f.json) {
    std::printf("%-6s %-4s %-10s %-20s %-14s %-28s %-16s %s\n", "SCORE", "FLAG", "STATUS", "TIME", "CITY",
                "CATEGORIES", "ID", "SNIPPET");
  }
  while (remaining > 0) {
    q.limit = std::min<size_t>(remaining, 10000);
    Result<storage::LeadPage> page = store->ListLeads(q);
    if (!page.ok()) {
      std::fprintf(stderr, "vigil leads list: %s\n", page.status().message().c_str());
      return 2;
    }
    for (const storage::LeadSummary& l : page->leads) {
      if (f.json) {
        std::printf("%s\n", Dump(LeadJson(l)).c_str());
      } else {
        std::string flag = std::string(l.flagged ? "F" : "-") + (l.network ? "N" : "-");
        std::string snippet = l.snippet.substr(0, 60);
        while (!snippet.empty() && (static_cast<unsigned char>(snippet.back()) & 0xC0) == 0x80) snippet.pop_back();
        if (!snippet.empty() && static_cast<unsigned char>(snippet.back()) >= 0xC0) snippet.pop_back();
        std::printf("%-6.3f %-4s %-10s %-20s %-14.14s %-28.28s %-16s %s\n", l.score, flag.c_str(),
                    storage::ReviewStatusName(l.status), Iso(l.time).c_str(), l.city.c_str(),
                    Join(l.categories, ",").c_str(), l.ad_id.c_str(), snippet.c_str());
      }
      ++shown;
    }
    remaining -= std::min(remaining, page->leads.size());
    if (page->next_cursor.empty() || page->leads.empty()) break;
    q.cursor = page->next_cursor;
  }
  if (!f.json && shown == 0) std::printf("(no leads match)\n");
  return 0;
}

// ---------------------------------------------------------------- leads show

// The ad's text with each counted hit marked. Overlapping hits: the first
// (by start) is marked, the ones inside it are listed below the text only.
std::string MarkedText(const std::string& text, const std::vector<scanner::Hit>& hits, bool color) {
  std::string out;
  size_t pos = 0;
  for (const scanner::Hit& h : hits) {
    if (h.start < pos || h.end > text.size() || h.start > h.end) continue;
    out.append(text, pos, h.start - pos);
    std::string_view match(text.data() + h.start, h.end - h.start);
    if (color) {
      out += fmt::format("\033[1;31m{}\033[0m\033[2m[{}]\033[0m", match, h.rule);
    } else {
      out += fmt::format("[[{}: {}]]", h.rule, match);
    }
    pos = h.end;
  }
  out.append(text, std::min(pos, text.size()), std::string::npos);
  return out;
}

int RunLeadsShow(const LeadsFlags& f) {
  std::unique_ptr<Store> store = OpenStoreForReading(f.data, "leads show");
  if (!store) return 2;
  const Result<std::string> rescan_record = ReadLastRescanRecord(*store);
  Result<storage::AdDetail> ad = store->GetAd(f.id);
  if (!ad.ok()) {
    std::fprintf(stderr, "vigil leads show: %s\n", ad.status().message().c_str());
    return ad.status().IsNotFound() ? 1 : 2;
  }
  // Rule titles come from the pack's YAML (the default pack unless --rules;
  // no compile); the stored findings carry ids, weights and evidence.
  std::map<std::string, std::string> titles;
  {
    rules::Pack pack;
    rules::Diagnostics diags;
    if (rules::LoadPack(f.rules.empty() ? DefaultPackPath() : f.rules, &pack, &diags)) {
      for (const rules::Rule& r : pack.rules) titles[r.id] = r.title;
    }
  }
  const bool color = f.color == "always" || (f.color == "auto" && isatty(STDOUT_FILENO));
  const storage::AdRecord& rec = ad->ad;
  const storage::LeadRecord& lead = ad->lead;
  std::printf("ad %s (version %u of %u)\n", rec.doc.id.c_str(), rec.version, ad->version_count);
  std::printf("  url:          %s\n", rec.doc.url.empty() ? "-" : rec.doc.url.c_str());
  std::printf("  source:       %s\n", rec.doc.source.empty() ? "-" : rec.doc.source.c_str());
  std::printf("  city:         %s\n", rec.doc.city.empty() ? "-" : rec.doc.city.c_str());
  std::printf("  posted at:    %s\n", rec.doc.posted_at.empty() ? "-" : rec.doc.posted_at.c_str());
  std::printf("  fetched at:   %s\n", rec.doc.fetched_at.empty() ? "-" : rec.doc.fetched_at.c_str());
  std::printf("  ingested at:  %s\n", IsoMs(rec.ingested_at_ms).c_str());
  std::printf("  content hash: %s\n", rec.content_hash.c_str());
  std::printf("  score:        %.3f%s (scanner %.3f)%s\n", lead.score, lead.flagged ? " FLAGGED" : "",
              lead.base_score, lead.network ? ", network phone" : "");
  std::printf("  categories:   %s\n", Join(storage::EffectiveCategories(lead), ", ").c_str());
  std::string pack = lead.pack_version;
  if (Result<LastRescan> last = LastRescanThatRead(*store, rescan_record, rec, pack); last.ok()) {
    pack += fmt::format(" ({} found the same in the rescan finished {})", last->pack,
                        storage::FormatIsoTime(last->finished_at_ms / 1000));
  }
  std::printf("  pack:         %s\n", pack.c_str());
  std::printf("  review:       %s (version %llu%s%s)\n", storage::ReviewStatusName(ad->review.status),
              static_cast<unsigned long long>(ad->review.version),
              ad->review.assignee.empty() ? "" : ", assigned to ", ad->review.assignee.c_str());
  std::printf("\n%s\n\n", MarkedText(rec.doc.text, ad->findings.hits, color).c_str());
  std::printf("hits (%zu):\n", ad->findings.hits.size());
  for (size_t i = 0; i < ad->findings.hits.size(); ++i) {
    const scanner::Hit& h = ad->findings.hits[i];
    auto title = titles.find(h.rule);
    std::printf("  %-28s %-42s weight %.2f, %-9s [%u,%u) \"%s\"  id %s\n", h.rule.c_str(),
                title == titles.end() ? "" : title->second.c_str(), h.weight, h.evidence.c_str(), h.start, h.end,
                h.match.c_str(), i < ad->finding_ids.size() ? ad->finding_ids[i].c_str() : "-");
  }
  std::printf("entities (%zu):\n", ad->findings.entities.size());
  for (const scanner::Entity& e : ad->findings.entities) {
    std::string links;
    if (storage::IsIndexedEntity(e.type)) {
      Result<storage::EntityDetail> ent = store->GetEntity(e.type, e.value, 0);
      if (ent.ok()) {
        links = fmt::format("in {} ads, {} cities{}", ent->stats.ads, ent->stats.cities.size(),
                            ent->stats.network ? ", network" : "");
      }
    }
    std::printf("  %-7s %-32s %s%s\n", scanner::EntityTypeName(e.type), e.value.c_str(),
                e.obfuscated ? "(obscured) " : "", links.c_str());
  }
  if (!ad->history.empty()) {
    std::printf("review history:\n");
    for (const storage::ReviewHistoryEntry& h : ad->history) {
      std::printf("  v%llu %s %s: %s -> %s%s%s\n", static_cast<unsigned long long>(h.version),
                  IsoMs(h.at_ms).c_str(), h.user.c_str(), storage::ReviewStatusName(h.from_status),
                  storage::ReviewStatusName(h.to_status), h.note.empty() ? "" : ": ", h.note.c_str());
    }
  }
  return 0;
}

// ---------------------------------------------------------------- leads review

int RunLeadsReview(const LeadsFlags& f) {
  storage::ReviewAction action;
  if (!ParseStatusFlag(f.status, &action.status, "leads review")) return 2;
  if (f.assignee_given) action.assignee = f.assignee;
  action.note = f.note;
  action.user = f.user;
  if (f.expected_version >= 0) action.expected_version = static_cast<uint64_t>(f.expected_version);
  if (!action.status && !action.assignee && action.note.empty()) {
    std::fprintf(stderr, "vigil leads review: give --status, --assign or --note\n");
    return 2;
  }
  int exit_code = 0;
  std::unique_ptr<Store> store = OpenStoreForWriting(f.data, /*create=*/false, "leads review",
                                                     fmt::format("POST /v1/leads/{}/review", f.id), &exit_code);
  if (!store) return exit_code;
  Result<storage::ReviewRecord> review = store->Review(f.id, action);
  if (!review.ok()) {
    std::fprintf(stderr, "vigil leads review: %s\n", review.status().message().c_str());
    return review.status().IsConflict() || review.status().IsNotFound() ? 1 : 2;
  }
  std::printf("%s: %s (review version %llu, by %s)\n", f.id.c_str(), storage::ReviewStatusName(review->status),
              static_cast<unsigned long long>(review->version), review->updated_by.c_str());
  return 0;
}

// ---------------------------------------------------------------- entities show

struct EntityFlags {
  std::string data = storage::kDefaultStoreDir;
  std::string type;
  std::string value;
  size_t limit = 100;
  bool json = false;
};

std::optional<scanner::EntityType> ParseIndexedType(std::string_view name) {
  if (name == "phone") return scanner::EntityType::kPhone;
  if (name == "email") return scanner::EntityType::kEmail;
  if (name == "handle") return scanner::EntityType::kHandle;
  return std::nullopt;
}

// Canonical form of a value typed by a person: phones to E.164 (ten digits
// get +1), emails lower-cased; handles as given ("platform:handle").
std::string CanonicalEntityValue(scanner::EntityType type, std::string value) {
  if (type == scanner::EntityType::kPhone) {
    std::string digits;
    for (char c : value) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    if (!value.empty() && value.front() == '+') return "+" + digits;
    if (digits.size() == 10) return "+1" + digits;
    if (digits.size() == 11 && digits.front() == '1') return "+" + digits;
    return "+" + digits;
  }
  if (type == scanner::EntityType::kEmail) {
    for (char& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return value;
}

int RunEntitiesShow(const EntityFlags& f) {
  std::optional<scanner::EntityType> type = ParseIndexedType(f.type);
  if (!type) {
    std::fprintf(stderr, "vigil entities show: entity type \"%s\": use phone, email or handle\n", f.type.c_str());
    return 2;
  }
  const std::string value = CanonicalEntityValue(*type, f.value);
  std::unique_ptr<Store> store = OpenStoreForReading(f.data, "entities show");
  if (!store) return 2;
  Result<storage::EntityDetail> ent = store->GetEntity(*type, value, f.limit);
  if (!ent.ok()) {
    std::fprintf(stderr, "vigil entities show: %s\n",
                 ent.status().IsNotFound() ? fmt::format("no current ad carries {} {}", f.type, value).c_str()
                                           : ent.status().message().c_str());
    return ent.status().IsNotFound() ? 1 : 2;
  }
  const storage::EntityStats& st = ent->stats;
  if (f.json) {
    nlohmann::json postings = nlohmann::json::array();
    for (const storage::Posting& p : ent->postings) {
      postings.push_back({{"ad_id", p.ad_id}, {"time", Iso(p.time)}, {"city", p.city}});
    }
    nlohmann::json j{{"type", f.type},
                     {"value", value},
                     {"ads", st.ads},
                     {"first_seen", Iso(st.first_seen)},
                     {"last_seen", Iso(st.last_seen)},
                     {"cities", st.cities},
                     {"cities_truncated", st.cities_truncated},
                     {"network", st.network},
                     {"network_since", st.network ? Iso(st.network_since) : ""},
                     {"postings", postings}};
    std::printf("%s\n", Dump(j).c_str());
    return 0;
  }
  std::printf("%s %s\n", f.type.c_str(), value.c_str());
  std::printf("  ads:        %llu\n", static_cast<unsigned long long>(st.ads));
  std::printf("  first seen: %s\n  last seen:  %s\n", Iso(st.first_seen).c_str(), Iso(st.last_seen).c_str());
  std::printf("  cities (%zu%s): %s\n", st.cities.size(), st.cities_truncated ? "+" : "", Join(st.cities, ", ").c_str());
  if (st.network) {
    std::printf("  network:    yes, since %s (%d+ cities within %d days)\n", Iso(st.network_since).c_str(),
                store->network_signal().min_cities, store->network_signal().window_days);
  } else {
    std::printf("  network:    no\n");
  }
  std::printf("timeline (newest first%s):\n",
              ent->postings.size() < st.ads ? fmt::format(", {} of {}", ent->postings.size(), st.ads).c_str() : "");
  for (const storage::Posting& p : ent->postings) {
    std::string detail;
    if (Result<storage::AdDetail> ad = store->GetAd(p.ad_id); ad.ok()) {
      detail = fmt::format("{:.3f}{} {}", ad->lead.score, ad->lead.flagged ? " F" : "  ",
                           storage::ReviewStatusName(ad->review.status));
    }
    std::printf("  %-20s %-16s %-24s %s\n", Iso(p.time).c_str(), p.city.empty() ? "-" : p.city.c_str(),
                p.ad_id.c_str(), detail.c_str());
  }
  return 0;
}

// ---------------------------------------------------------------- export

struct ExportFlags {
  std::string data = storage::kDefaultStoreDir;
  std::string status;
  std::string entity;
  std::vector<std::string> ads;
  std::string format = "jsonl";
  std::string user;
  std::string purpose;
  std::string output;
  size_t max_records = 10000;
  bool no_text = false;
};

std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// One row per hit (an ad without hits gets one row with empty hit fields);
// every row repeats the ad's provenance.
void AppendCsv(const storage::ExportRecord& r, const std::string& export_id, std::string* out) {
  const scanner::Document& d = r.ad.doc;
  std::vector<std::string> ad_fields = {d.id,
                                        std::to_string(r.ad.version),
                                        d.url,
                                        d.source,
                                        d.city,
                                        d.posted_at,
                                        d.fetched_at,
                                        IsoMs(r.ad.ingested_at_ms),
                                        r.ad.content_hash,
                                        r.lead.pack_version,
                                        fmt::format("{:.4f}", r.lead.score),
                                        r.lead.flagged ? "true" : "false",
                                        storage::ReviewStatusName(r.review.status)};
  auto row = [&](const scanner::Hit* h, const std::string& finding_id) {
    for (const std::string& f : ad_fields) *out += CsvField(f) + ",";
    if (h) {
      *out += fmt::format("{},{},{},{},{},{:.2f},{},", CsvField(h->rule), finding_id, CsvField(h->category), h->start,
                          h->end, h->weight, CsvField(h->evidence));
      *out += CsvField(h->match);
    } else {
      *out += ",,,,,,,";
    }
    *out += "," + export_id + ",";
    *out += r.unchanged_by ? CsvField(r.unchanged_by->pack) + "," + IsoMs(r.unchanged_by->finished_at_ms) : ",";
    *out += "\n";
  };
  if (r.findings.hits.empty()) row(nullptr, "");
  for (size_t i = 0; i < r.findings.hits.size(); ++i) {
    row(&r.findings.hits[i], i < r.finding_ids.size() ? r.finding_ids[i] : "");
  }
}

// `vigil store check` and `vigil store compact`.
struct StoreFlags {
  std::string data = storage::kDefaultStoreDir;
  bool json = false;
};

// `vigil store check`: Store::CheckConsistency on a read-only view (it
// works while vigild writes). Exit 0: consistent; 1: problems found; 2:
// the check could not run.
int RunStoreCheck(const StoreFlags& f) {
  std::unique_ptr<Store> store = OpenStoreForReading(f.data, "store check");
  if (!store) return 2;
  storage::ConsistencyReport report;
  if (Status s = store->CheckConsistency(&report); !s.ok()) {
    std::fprintf(stderr, "vigil store check: %s\n", s.message().c_str());
    return 2;
  }
  if (f.json) {
    nlohmann::json j{{"ok", report.ok()},
                     {"ads", report.ads},
                     {"ad_versions", report.ad_versions},
                     {"leads", report.leads},
                     {"lead_index_entries", report.lead_index_entries},
                     {"postings", report.postings},
                     {"entities", report.entities},
                     {"reviews", report.reviews},
                     {"review_history", report.review_history},
                     {"audit_events", report.audit_events},
                     {"problem_count", report.problem_count},
                     {"problems", report.problems}};
    std::printf("%s\n", Dump(j).c_str());
    return report.ok() ? 0 : 1;
  }
  std::printf("store %s\n", f.data.c_str());
  std::printf("  ads %llu (older versions %llu), leads %llu, lead index entries %llu\n",
              static_cast<unsigned long long>(report.ads), static_cast<unsigned long long>(report.ad_versions),
              static_cast<unsigned long long>(report.leads),
              static_cast<unsigned long long>(report.lead_index_entries));
  std::printf("  postings %llu, entities %llu, reviews %llu (history %llu), audit events %llu\n",
              static_cast<unsigned long long>(report.postings), static_cast<unsigned long long>(report.entities),
              static_cast<unsigned long long>(report.reviews), static_cast<unsigned long long>(report.review_history),
              static_cast<unsigned long long>(report.audit_events));
  if (report.ok()) {
    std::printf("consistent: every index entry, posting, version and review points at what points back\n");
    return 0;
  }
  std::printf("%llu problem(s)%s:\n", static_cast<unsigned long long>(report.problem_count),
              report.problems.size() < report.problem_count
                  ? fmt::format(", the first {} listed", report.problems.size()).c_str()
                  : "");
  for (const std::string& p : report.problems) std::printf("  %s\n", p.c_str());
  return 1;
}

// `vigil store compact`: Store::Compact. Exit 0 when done, 2 when the
// store cannot be opened for writing or the compaction failed.
int RunStoreCompact(const StoreFlags& f) {
  int exit_code = 0;
  std::unique_ptr<Store> store =
      OpenStoreForWriting(f.data, /*create=*/false, "store compact", /*api_hint=*/"", &exit_code);
  if (!store) return exit_code;
  const auto start = std::chrono::steady_clock::now();
  storage::CompactStats stats;
  if (Status s = store->Compact(&stats); !s.ok()) {
    std::fprintf(stderr, "vigil store compact: %s\n", s.message().c_str());
    return 2;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (f.json) {
    nlohmann::json j{{"bytes_before", stats.bytes_before}, {"bytes_after", stats.bytes_after}, {"seconds", seconds}};
    std::printf("%s\n", Dump(j).c_str());
  } else {
    std::printf("store %s compacted in %.2f s: table files %.1f MB -> %.1f MB\n", f.data.c_str(), seconds,
                static_cast<double>(stats.bytes_before) / 1e6, static_cast<double>(stats.bytes_after) / 1e6);
  }
  return 0;
}

int RunExport(const ExportFlags& f) {
  if (f.format != "jsonl" && f.format != "csv") {
    std::fprintf(stderr, "vigil export: --format must be jsonl or csv\n");
    return 2;
  }
  storage::ExportQuery q;
  if (!ParseStatusFlag(f.status, &q.status, "export")) return 2;
  if (!f.entity.empty()) {
    size_t colon = f.entity.find(':');
    std::optional<scanner::EntityType> type =
        colon == std::string::npos ? std::nullopt : ParseIndexedType(f.entity.substr(0, colon));
    if (!type) {
      std::fprintf(stderr, "vigil export: --entity \"%s\": write TYPE:VALUE with TYPE phone, email or handle "
                   "(phone:+17025550147)\n", f.entity.c_str());
      return 2;
    }
    q.entity = storage::EntityKey{*type, CanonicalEntityValue(*type, f.entity.substr(colon + 1))};
  }
  q.ad_ids = f.ads;
  q.purpose = f.purpose;
  q.max_records = f.max_records;
  if (!q.status && !q.entity && q.ad_ids.empty()) {
    std::fprintf(stderr, "vigil export: say what to export: --status, --entity or --ad\n");
    return 2;
  }
  int exit_code = 0;
  std::unique_ptr<Store> store =
      OpenStoreForWriting(f.data, /*create=*/false, "export", "GET /v1/export", &exit_code);
  if (!store) return exit_code;
  const Result<std::string> rescan_record = ReadLastRescanRecord(*store);
  Result<storage::ExportResult> result = store->Export(q, f.user);
  if (!result.ok()) {
    std::fprintf(stderr, "vigil export: %s\n", result.status().message().c_str());
    return result.status().IsInvalidArgument() || result.status().IsNotFound() ? 1 : 2;
  }
  CiteLastRescan(*store, rescan_record, &result->records);
  const std::string export_id = std::to_string(result->audit_seq);
  std::string out;
  if (f.format == "csv") {
    out = "ad_id,version,url,source,city,posted_at,fetched_at,ingested_at,content_hash,pack_version,score,flagged,"
          "status,rule_id,finding_id,category,start,end,weight,evidence,match,export_audit_seq,unchanged_by_pack,"
          "unchanged_by_finished_at\n";
    for (const storage::ExportRecord& r : result->records) AppendCsv(r, export_id, &out);
  } else {
    for (const storage::ExportRecord& r : result->records) {
      out += storage::ExportRecordToJson(r, !f.no_text);
      out.push_back('\n');
    }
  }
  FILE* file = stdout;
  if (!f.output.empty() && f.output != "-") {
    file = std::fopen(f.output.c_str(), "wb");
    if (!file) {
      std::fprintf(stderr, "vigil export: cannot write %s: %s (the export is recorded as audit event %s)\n",
                   f.output.c_str(), std::strerror(errno), export_id.c_str());
      return 2;
    }
  }
  bool ok = std::fwrite(out.data(), 1, out.size(), file) == out.size();
  ok = (file == stdout ? std::fflush(file) : std::fclose(file)) == 0 && ok;
  if (!ok) {
    std::fprintf(stderr, "vigil export: writing %s failed\n", f.output.empty() ? "standard output" : f.output.c_str());
    return 2;
  }
  std::fprintf(stderr, "vigil export: %zu ads exported by %s (audit event %s)\n", result->records.size(),
               f.user.c_str(), export_id.c_str());
  return 0;
}

}  // namespace

void AddStoreCommands(CLI::App* app, int* exit_code) {
  {
    auto f = std::make_shared<IngestFlags>();
    CLI::App* cmd = app->add_subcommand("ingest", "Scan ads (JSON Lines) and store them with their findings");
    cmd->add_option("--data", f->data, "Store directory (default ./var/vigil)");
    cmd->add_option("--rules", f->rules, "Pack folder or compiled rule set (default: the core pack)");
    cmd->add_option("--threads", f->threads, "Scan threads (default: all cores)")->check(CLI::Range(1, 256));
    cmd->add_option("--batch", f->batch, "Ads per durable commit (default 512)")->check(CLI::Range(1, 8192));
    cmd->add_option("--region", f->region, "Default region for phone numbers (default US)");
    cmd->add_option("--cache-dir", f->cache_dir, "Compiled rule cache folder (\"\" disables)");
    cmd->add_flag("!--no-progress", f->progress, "No progress line on a terminal");
    cmd->add_option("FILE", f->files, "JSON Lines files; - or none reads standard input");
    cmd->callback([f, exit_code] {
      if (f->files.empty()) f->files.push_back("-");
      *exit_code = RunIngest(*f);
    });
  }
  {
    CLI::App* leads = app->add_subcommand("leads", "List, show and review leads");
    leads->require_subcommand(1);
    auto f = std::make_shared<LeadsFlags>();
    CLI::App* list = leads->add_subcommand("list", "List leads, highest score first (or newest with --by-time)");
    list->add_option("--data", f->data, "Store directory (default ./var/vigil)");
    list->add_option("--status", f->status, "new, in_review, escalated, dismissed or needs_info");
    list->add_option("--category", f->category, "Category id (e.g. youth, network)");
    list->add_option("--city", f->city, "City");
    list->add_option("--text", f->text, "Text contains (slower)");
    list->add_option("--min-score", f->min_score, "Lowest score")->check(CLI::Range(0.0, 1.0));
    list->add_option("--since", f->since, "Ads from this time: ISO 8601 or an age (7d, 12h)");
    list->add_option("--until", f->until, "Ads before this time");
    list->add_option("--limit", f->limit, "At most this many (default 50)")->check(CLI::Range(1, 1000000));
    list->add_flag("--by-time", f->by_time, "Newest first instead of highest score first");
    list->add_flag("--flagged", f->flagged_only, "Only ads the pack flagged");
    list->add_flag("--json", f->json, "One JSON object per lead");
    list->callback([f, exit_code] { *exit_code = RunLeadsList(*f); });

    auto s = std::make_shared<LeadsFlags>();
    CLI::App* show = leads->add_subcommand("show", "Show an ad with its hits marked, entities and review history");
    show->add_option("--data", s->data, "Store directory (default ./var/vigil)");
    show->add_option("--rules", s->rules, "Pack folder for rule titles (default: the core pack)");
    show->add_option("--color", s->color, "auto, always or never")->check(CLI::IsMember({"auto", "always", "never"}));
    show->add_option("ID", s->id, "Ad id")->required();
    show->callback([s, exit_code] { *exit_code = RunLeadsShow(*s); });

    auto r = std::make_shared<LeadsFlags>();
    CLI::App* review = leads->add_subcommand("review", "Review a lead (audit-logged)");
    review->add_option("--data", r->data, "Store directory (default ./var/vigil)");
    review->add_option("--status", r->status, "new, in_review, escalated, dismissed or needs_info");
    review->add_option("--note", r->note, "Note kept in the review history");
    review->add_option("--assign", r->assignee, "Assign to this user (\"\" unassigns)")
        ->each([r](const std::string&) { r->assignee_given = true; });
    review->add_option("--expected-version", r->expected_version,
                       "Fail with a conflict unless the review is still at this version");
    review->add_option("--user", r->user, "Who reviews (recorded)")->required();
    review->add_option("ID", r->id, "Ad id")->required();
    review->callback([r, exit_code] { *exit_code = RunLeadsReview(*r); });
  }
  {
    CLI::App* entities = app->add_subcommand("entities", "Look at phones, emails and handles across ads");
    entities->require_subcommand(1);
    auto f = std::make_shared<EntityFlags>();
    CLI::App* show = entities->add_subcommand("show", "Ads, cities and timeline of an entity");
    show->add_option("--data", f->data, "Store directory (default ./var/vigil)");
    show->add_option("--limit", f->limit, "Timeline entries (default 100)")->check(CLI::Range(0, 100000));
    show->add_flag("--json", f->json, "One JSON object");
    show->add_option("TYPE", f->type, "phone, email or handle")->required();
    show->add_option("VALUE", f->value, "+17025550147, name@example.org, snap:name")->required();
    show->callback([f, exit_code] { *exit_code = RunEntitiesShow(*f); });
  }
  {
    CLI::App* store = app->add_subcommand("store", "Look after the store itself");
    store->require_subcommand(1);
    auto f = std::make_shared<StoreFlags>();
    CLI::App* check = store->add_subcommand(
        "check", "Check that every index entry, posting, version and review points at what points back");
    check->add_option("--data", f->data, "Store directory (default ./var/vigil)");
    check->add_flag("--json", f->json, "One JSON object");
    check->callback([f, exit_code] { *exit_code = RunStoreCheck(*f); });
    auto c = std::make_shared<StoreFlags>();
    CLI::App* compact = store->add_subcommand(
        "compact", "Compact the store's files now (after a bulk import, or to reclaim space after a rescan)");
    compact->add_option("--data", c->data, "Store directory (default ./var/vigil)");
    compact->add_flag("--json", c->json, "One JSON object");
    compact->callback([c, exit_code] { *exit_code = RunStoreCompact(*c); });
  }
  {
    auto f = std::make_shared<ExportFlags>();
    CLI::App* cmd = app->add_subcommand("export", "Export a case bundle with provenance (audit-logged)");
    cmd->add_option("--data", f->data, "Store directory (default ./var/vigil)");
    cmd->add_option("--status", f->status, "Ads with this review status");
    cmd->add_option("--entity", f->entity, "Ads carrying TYPE:VALUE (phone:+17025550147)");
    cmd->add_option("--ad", f->ads, "These ad ids (repeatable)");
    cmd->add_option("--format", f->format, "jsonl or csv (default jsonl)")->check(CLI::IsMember({"jsonl", "csv"}));
    cmd->add_option("--user", f->user, "Who exports (recorded)")->required();
    cmd->add_option("--purpose", f->purpose, "Why (recorded)");
    cmd->add_option("-o,--output", f->output, "Write here instead of standard output");
    cmd->add_option("--max", f->max_records, "Refuse exports larger than this (default 10000)")
        ->check(CLI::Range(1, 10000000));
    cmd->add_flag("--no-text", f->no_text, "Leave ad texts out of JSON Lines (spans and matches stay)");
    cmd->callback([f, exit_code] { *exit_code = RunExport(*f); });
  }
}

}  // namespace vigil::tools
