// store_bench: durable ingest throughput of the store with every index,
// through the real ingest path (StoreSink into the store's stage/write
// pipeline), against a same-run ceiling: RocksDB batched puts of the same
// record bytes (no indexes, same batch size, sync), then lead-list latency
// on the store just built.
//
//   store_bench [--ads N] [--batch B] [--dir DIR] [--queries Q] [--keep]
//
// Synthetic ads: ~600 bytes of invented text, 3 hits, a phone (pool of N/3
// numbers in 555-01xx style, so numbers recur: ~3 ads each), an email or
// handle on a third each, 50 cities (a number stays in its home city but for
// one posting in ten), posting dates over a year.
//
// Wall-clock rates depend on whatever else the machine runs; the bench also
// reports CPU seconds per thread (from /proc) and the rate those imply on
// two otherwise idle cores. Generating ads is not counted as store CPU.
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "storage/keys.h"
#include "storage/store.h"
#include "storage/store_sink.h"

namespace {

using Clock = std::chrono::steady_clock;
using vigil::scanner::Document;
using vigil::scanner::Entity;
using vigil::scanner::EntityType;
using vigil::scanner::Hit;
using vigil::scanner::ScanResult;
namespace st = vigil::storage;

constexpr const char* kWords[] = {
    "sweet", "new", "in", "town", "visiting", "only", "this", "week", "call", "text", "me", "for",
    "a", "good", "time", "upscale", "discreet", "private", "incall", "outcall", "available", "now",
    "ask", "about", "specials", "friendly", "relaxing", "massage", "generous", "gentlemen", "no",
    "rush", "clean", "safe", "fun", "petite", "young", "fresh", "sexy", "hotel", "downtown"};
constexpr const char* kCategories[] = {"youth", "movement", "control", "pricing", "third_party", "obscured_contact"};

struct Generator {
  explicit Generator(uint64_t n) : rng(12345), phones(std::max<uint64_t>(n / 3, 10)) {}

  void Make(uint64_t i, Document* d, ScanResult* r) {
    *d = Document{};
    *r = ScanResult{};
    d->id = fmt::format("ad-{:010d}", i);
    // A number mostly advertises in its home city; one posting in ten is
    // somewhere else (travel), so some numbers reach 3 cities in 30 days.
    const uint64_t phone = rng() % phones;
    const int city = rng() % 10 == 0 ? static_cast<int>(rng() % 50) : static_cast<int>(phone % 50);
    d->city = fmt::format("City{:02d}", city);
    d->posted_at = vigil::storage::FormatIsoTime(1767225600 + static_cast<int64_t>(rng() % (365 * 86400)));
    d->fetched_at = d->posted_at;
    d->url = fmt::format("https://ads.example.test/{}/{}", d->city, i);
    d->source = "example";
    d->metadata_json = R"({"title":"invented"})";
    std::string& text = d->text;
    while (text.size() < 560) {
      text += kWords[rng() % std::size(kWords)];
      text += ' ';
    }
    r->id = d->id;
    r->pack_version = "core@1.0.0";
    for (int h = 0; h < 3; ++h) {
      Hit hit;
      const char* category = kCategories[rng() % std::size(kCategories)];
      hit.rule = fmt::format("{}.rule{}", category, rng() % 8);
      hit.category = category;
      hit.start = static_cast<uint32_t>(rng() % 500);
      hit.end = hit.start + 5;
      hit.match = text.substr(hit.start, 5);
      hit.normalized = hit.match;
      hit.weight = 0.3;
      hit.evidence = "supported";
      r->hits.push_back(hit);
      r->categories.push_back(category);
    }
    std::sort(r->categories.begin(), r->categories.end());
    r->categories.erase(std::unique(r->categories.begin(), r->categories.end()), r->categories.end());
    r->score = (rng() % 1000) / 1000.0;
    r->flagged = r->score >= 0.5;
    const auto add = [&](EntityType type, std::string value) {
      Entity e;
      e.type = type;
      e.start = static_cast<uint32_t>(text.size());
      text += value;
      e.end = static_cast<uint32_t>(text.size());
      text += ' ';
      e.value = std::move(value);
      r->entities.push_back(std::move(e));
    };
    add(EntityType::kPhone, fmt::format("+1{:03d}555{:04d}", 200 + phone / 100 % 800, 100 + phone % 100));
    if (rng() % 3 == 0) add(EntityType::kEmail, fmt::format("user{}@example.test", rng() % (phones * 2)));
    if (rng() % 3 == 0) add(EntityType::kHandle, fmt::format("snap:user_{}", rng() % (phones * 2)));
  }

  std::mt19937_64 rng;
  uint64_t phones;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU seconds of the calling thread.
double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// CPU seconds of the whole process (all threads, RocksDB's background
// flushes and compactions included).
double ProcessCpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

// CPU seconds per thread name, from /proc/self/task/*/{comm,stat}.
std::map<std::string, double> ThreadCpuByName() {
  std::map<std::string, double> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm"), stat(entry.path() / "stat");
    std::string name, line;
    std::getline(comm, name);
    std::getline(stat, line);
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(line.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) {
        stime = std::atof(field.c_str());
        break;
      }
    }
    out[name.rfind("rocksdb", 0) == 0 ? "rocksdb (flush, compaction)" : name] += (utime + stime) / tick;
  }
  return out;
}

// Wall-clock rates depend on what else runs on the machine; CPU seconds do
// not. The foreground thread is one core; flushes and compactions run on
// the other: on 2 otherwise idle cores throughput is bounded by
// max(foreground CPU, all CPU / 2).
void PrintCpu(const char* name, uint64_t n, double fg_cpu, double all_cpu) {
  const double bound = std::max(fg_cpu, all_cpu / 2);
  fmt::print("{:<14}: CPU {:.2f} s foreground ({:.1f} us/ad), {:.2f} s with background work -> "
             "{:.0f} ads/s CPU-bound on 2 idle cores\n",
             name, fg_cpu, fg_cpu / n * 1e6, all_cpu, n / bound);
}

int Usage() {
  fmt::print(stderr, "usage: store_bench [--ads N] [--batch B] [--dir DIR] [--queries Q] [--keep]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = 200000;
  size_t batch_size = 512;
  int queries = 200;
  bool keep = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--ads" && has_value) {
      n = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--batch" && has_value) {
      batch_size = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--dir" && has_value) {
      dir = argv[++i];
    } else if (a == "--queries" && has_value) {
      queries = std::atoi(argv[++i]);
    } else if (a == "--keep") {
      keep = true;
    } else {
      return Usage();
    }
  }
  if (n == 0 || batch_size == 0 || queries <= 0) return Usage();
  namespace fs = std::filesystem;
  if (dir.empty()) dir = (fs::temp_directory_path() / fmt::format("vigil-store-bench-{}", getpid())).string();
  const std::string store_dir = dir + "/store";
  const std::string raw_dir = dir + "/raw";
  std::error_code ec;
  fs::remove_all(store_dir, ec);
  fs::remove_all(raw_dir, ec);
  fs::create_directories(dir, ec);
  fmt::print("store_bench: {} ads, batches of {}, synced, in {}\n", n, batch_size, dir);

  // ---- vigil store, every index ----
  auto opened = st::Store::Open(store_dir, st::OpenOptions{});
  if (!opened.ok()) {
    fmt::print(stderr, "store_bench: {}\n", opened.status().ToString());
    return 1;
  }
  std::unique_ptr<st::Store> store = std::move(opened).value();
  std::vector<Document> docs(batch_size);
  std::vector<ScanResult> results(batch_size);
  Generator gen(n);
  uint64_t bytes = 0;
  // The ingest path: StoreSink (batches of --batch, up to 16 in flight) into the
  // store's stage/write pipeline; this thread generates ads meanwhile.
  const auto cpu_before = ThreadCpuByName();
  const double main_cpu_before = ThreadCpu();
  const auto store_wall = Clock::now();
  double gen_cpu = 0;
  st::PutStats stats;
  {
    st::StoreSink sink(store.get(), batch_size);
    Document doc;
    ScanResult result;
    for (uint64_t i = 0; i < n; ++i) {
      const double g = ThreadCpu();
      gen.Make(i, &doc, &result);
      gen_cpu += ThreadCpu() - g;
      bytes += doc.text.size();
      if (vigil::Status s = sink.Accept(doc, result); !s.ok()) {
        fmt::print(stderr, "store_bench: {}\n", s.ToString());
        return 1;
      }
    }
    if (vigil::Status s = sink.Finish(); !s.ok()) {
      fmt::print(stderr, "store_bench: {}\n", s.ToString());
      return 1;
    }
    stats = sink.stats();
  }
  const double store_seconds = Seconds(Clock::now() - store_wall);
  const double store_rate = n / store_seconds;
  auto cpu_after = ThreadCpuByName();
  fmt::print("vigil store   : {:>9.0f} ads/s  ({:.2f} s wall through StoreSink, {:.0f} B text/ad; {} new, {} flagged)\n",
             store_rate, store_seconds, double(bytes) / n, stats.new_ads, stats.flagged);
  double busiest = 0, all_cpu = 0;
  std::string per_thread;
  for (const auto& [name, after] : cpu_after) {
    const auto before = cpu_before.find(name);
    double used = after - (before == cpu_before.end() ? 0.0 : before->second);
    if (name == "store_bench") used = ThreadCpu() - main_cpu_before - gen_cpu;  // the sink, not the generator
    if (used < 0.005) continue;
    per_thread += fmt::format("{} {:.2f} s ({:.1f} us/ad); ", name, used, used / n * 1e6);
    all_cpu += used;
    if (name != "rocksdb (flush, compaction)") busiest = std::max(busiest, used);
  }
  fmt::print("  CPU by thread: {}generating ads {:.2f} s (not counted)\n", per_thread, gen_cpu);
  fmt::print("  store CPU {:.1f} us/ad -> {:.0f} ads/s CPU-bound on 2 idle cores (max of busiest thread, all / 2)\n",
             all_cpu / n * 1e6, n / std::max(busiest, all_cpu / 2));
  const double store_bound = std::max(busiest, all_cpu / 2);

  // ---- lead lists on the store just built ----
  const auto time_query = [&](const char* name, const st::LeadQuery& q) {
    std::vector<double> ms;
    size_t got = 0;
    for (int i = 0; i < queries; ++i) {
      const auto t = Clock::now();
      auto page = store->ListLeads(q);
      ms.push_back(Seconds(Clock::now() - t) * 1000);
      if (!page.ok()) {
        fmt::print(stderr, "store_bench: {}\n", page.status().ToString());
        std::exit(1);
      }
      got = page->leads.size();
    }
    std::sort(ms.begin(), ms.end());
    fmt::print("  {:<44} {:>3} leads  min {:6.2f} ms  median {:6.2f} ms  p99 {:6.2f} ms\n", name, got, ms.front(),
               ms[ms.size() / 2], ms[ms.size() * 99 / 100]);
  };
  fmt::print("ListLeads on {} ads ({} runs each; min/median/p99):\n", n, queries);
  st::LeadQuery top;
  top.limit = 100;
  time_query("top 100 by score", top);
  st::LeadQuery youth = top;
  youth.category = "youth";
  youth.status = st::ReviewStatus::kNew;
  youth.since = 1767225600 + 358 * 86400;  // the last week of the generated year
  time_query("top 100 open youth leads of the last week", youth);
  st::LeadQuery recent = top;
  recent.order = st::LeadOrder::kTime;
  recent.flagged_only = true;
  time_query("newest 100 flagged", recent);
  if (store->Flush().ok()) time_query("top 100 by score (after flush)", top);
  store.reset();

  // ---- ceiling: RocksDB batched puts of the same record bytes ----
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.compression = rocksdb::kLZ4Compression;
    options.write_buffer_size = 64 << 20;
    options.max_background_jobs = 2;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, raw_dir, &raw);
    if (!s.ok()) {
      fmt::print(stderr, "store_bench: raw open: {}\n", s.ToString());
      return 1;
    }
    std::unique_ptr<rocksdb::DB> db(raw);
    Generator gen2(n);
    Clock::duration raw_time{};
    rocksdb::WriteOptions wo;
    wo.sync = true;
    st::AdRecord ad;
    double raw_fg_cpu = 0, raw_gen_cpu = 0;
    const double raw_cpu_start = ProcessCpu();
    for (uint64_t done = 0; done < n;) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(batch_size, n - done));
      rocksdb::WriteBatch batch;
      const double g = ThreadCpu();
      for (size_t j = 0; j < k; ++j) {
        gen2.Make(done + j, &docs[j], &results[j]);
        ad.doc = docs[j];
        ad.content_hash = std::string(64, '0');
        batch.Put(docs[j].id, st::keys::EncodeAdRecord(ad) + st::keys::EncodeFindings(results[j]));
      }
      raw_gen_cpu += ThreadCpu() - g;
      const auto t = Clock::now();
      const double c = ThreadCpu();
      s = db->Write(wo, &batch);
      raw_fg_cpu += ThreadCpu() - c;
      raw_time += Clock::now() - t;
      if (!s.ok()) {
        fmt::print(stderr, "store_bench: raw write: {}\n", s.ToString());
        return 1;
      }
      done += k;
    }
    const double raw_rate = n / Seconds(raw_time);
    fmt::print("raw RocksDB   : {:>9.0f} ads/s  ({:.2f} s in DB::Write; same bytes per ad, no indexes)\n", raw_rate,
               Seconds(raw_time));
    db.reset();  // waits for background work, counted below
    const double raw_all_cpu = ProcessCpu() - raw_cpu_start - raw_gen_cpu;
    PrintCpu("raw RocksDB", n, raw_fg_cpu, raw_all_cpu);
    fmt::print("ratio store/raw: {:.2f} (wall), {:.2f} (CPU-bound)\n", store_rate / raw_rate,
               std::max(raw_fg_cpu, raw_all_cpu / 2) / store_bound);
  }
  if (!keep) fs::remove_all(dir, ec);
  return 0;
}
