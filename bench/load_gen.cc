// load_gen: sustained-ingest benchmark of vigild over loopback, with a
// same-run baseline (`vigil ingest` of the same ads).
//
//   load_gen --vigild build/bin/vigild [--vigil build/bin/vigil] [--ads 200000]
//            [--batch 500] [--connections 8] [--seconds 20] [--half-seconds 8]
//            [--half-rate ADS_PER_S] [--in-process-baseline] [--vigild-arg ARG]...
//
// 1. Generates the corpus (bench/corpus.h; unique ids) and encodes every
//    request (header and NDJSON body) once, before any timing, so the
//    senders only write bytes and read replies.
// 2. Starts vigild on a temporary data directory and a free loopback port
//    with an ingest token made for it, then POSTs batches over N keep-alive
//    connections as fast as acknowledgements come back (full load): ads/s
//    and ack latency p50/p99 (send to durable reply).
// 3. Half load: the same at half the measured rate (paced sends): p50/p99;
//    --half-rate N paces it at N ads/s instead (e.g. 15000: half of the
//    30,000 ads/s the daemon issue asks for).
// 4. For each phase, the CPU time spent: vigild per thread name (from
//    /proc/PID/task: vigil-scan, vigil-stage, vigil-write, rocksdb, ...)
//    in microseconds per ad, load_gen itself, and the rest of the machine
//    (/proc/stat), so a run on a loaded machine says so.
// 5. SIGTERM to vigild (drain, exit 0), then the baseline: `vigil ingest`
//    (the sibling of --vigild unless --vigil is given) of the same ads, on
//    a fresh store, with its own rate and its CPU per ad; or, with
//    --in-process-baseline or no vigil binary, the same work in this
//    process (parse, scan on one thread per core, PutScanned per batch).
// Prints every figure and the ratio daemon / baseline. Bounded in count
// and time; stops by itself.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/corpus.h"
#include "scanner/document_parser.h"
#include "scanner/scanner.h"
#include "scanner/utf8.h"
#include "storage/store.h"
#include "tools/live_rules.h"
#include "tools/rule_loading.h"
#include "tools/token_store.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Flags {
  std::string vigild;
  std::string vigil;
  bool in_process_baseline = false;
  std::vector<std::string> vigild_args;  // --vigild-arg, passed on (e.g. --threads 1)
  std::string rules;
  size_t ads = 200000;
  size_t batch = 500;
  int connections = 8;
  double seconds = 20;
  double half_seconds = 8;
  double half_rate = 0;  // ads/s; 0: half the measured full-load rate
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// One blocking keep-alive HTTP/1.1 connection.
class Connection {
 public:
  bool Open(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Sends one pre-encoded request and reads the reply; returns the status
  // (0: I/O error). The reply body goes to *body when given.
  int Post(const std::string& request, std::string* body = nullptr) {
    if (!WriteAll(request)) return 0;
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore()) return 0;
    }
    if (buffer_.size() < 12) return 0;
    int status = std::atoi(buffer_.c_str() + 9);
    size_t length = 0;
    constexpr std::string_view kLength = "content-length:";
    for (size_t p = buffer_.find("\r\n"); p < header_end; p = buffer_.find("\r\n", p + 2)) {
      std::string_view line(buffer_.data() + p + 2, header_end - (p + 2));
      if (line.size() > kLength.size() &&
          std::equal(kLength.begin(), kLength.end(), line.begin(),
                     [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
        length = std::strtoul(line.data() + kLength.size(), nullptr, 10);
        break;
      }
    }
    while (buffer_.size() < header_end + 4 + length) {
      if (!ReadMore()) return 0;
    }
    if (body) body->assign(buffer_, header_end + 4, length);
    buffer_.erase(0, header_end + 4 + length);
    return status;
  }

 private:
  bool WriteAll(const std::string& s) {
    size_t done = 0;
    while (done < s.size()) {
      ssize_t n = ::send(fd_, s.data() + done, s.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }
  bool ReadMore() {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buffer_;
};

struct PhaseResult {
  size_t ads = 0;
  size_t batches = 0;
  size_t refused = 0;  // 503s (retried)
  size_t failed = 0;
  double seconds = 0;
  std::vector<double> latencies;
  double rate() const { return seconds > 0 ? static_cast<double>(ads) / seconds : 0; }
};

// Sends requests[0..] over `connections` connections until all are sent
// or `max_seconds` pass. `batches_per_second` > 0 paces each connection.
PhaseResult RunPhase(uint16_t port, const std::vector<std::string>& requests, const std::vector<size_t>& counts,
                     int connections, double max_seconds, double batches_per_second) {
  PhaseResult result;
  std::atomic<size_t> next{0};
  std::mutex mu;
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(max_seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      Connection conn;
      if (!conn.Open(port)) {
        std::lock_guard lock(mu);
        ++result.failed;
        return;
      }
      double interval = batches_per_second > 0 ? connections / batches_per_second : 0;
      auto next_send = start + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(interval * c / connections));
      PhaseResult local;
      while (Clock::now() < deadline) {
        size_t i = next.fetch_add(1);
        if (i >= requests.size()) break;
        if (interval > 0) {
          std::this_thread::sleep_until(next_send);
          next_send += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
        }
        while (true) {
          auto sent = Clock::now();
          int status = conn.Post(requests[i]);
          if (status == 503) {
            ++local.refused;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
          }
          if (status != 200) {
            ++local.failed;
            if (status == 0) goto done;
            break;
          }
          local.latencies.push_back(Seconds(Clock::now() - sent));
          local.ads += counts[i];
          ++local.batches;
          break;
        }
      }
    done:
      std::lock_guard lock(mu);
      result.ads += local.ads;
      result.batches += local.batches;
      result.refused += local.refused;
      result.failed += local.failed;
      result.latencies.insert(result.latencies.end(), local.latencies.begin(), local.latencies.end());
    });
  }
  for (auto& t : threads) t.join();
  result.seconds = Seconds(Clock::now() - start);
  return result;
}

// Sums and counts of vigild's latency histograms (GET /metrics), to split
// the ack latency into its stages.
struct StageSample {
  std::map<std::string, double> values;  // "vigil_scan_seconds_sum" -> value, ...
};

StageSample SampleStages(uint16_t port, const std::string& admin_token) {
  StageSample s;
  Connection conn;
  std::string body;
  if (!conn.Open(port) ||
      conn.Post(fmt::format("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n",
                            admin_token),
                &body) != 200) {
    return s;
  }
  std::istringstream in(body);
  std::string name;
  double value;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    if (line.empty() || line[0] == '#' || !(fields >> name >> value)) continue;
    if (name.find("_seconds_sum") != std::string::npos || name.find("_seconds_count") != std::string::npos) {
      s.values[name] = value;
    }
  }
  return s;
}

// Mean time per batch of each stage between two samples.
void PrintStages(const StageSample& a, const StageSample& b) {
  auto mean = [&](const std::string& stage) {
    auto delta = [&](const std::string& key) {
      auto ia = a.values.find(key), ib = b.values.find(key);
      return (ib == b.values.end() ? 0 : ib->second) - (ia == a.values.end() ? 0 : ia->second);
    };
    double n = delta("vigil_" + stage + "_seconds_count");
    return n > 0 ? 1e3 * delta("vigil_" + stage + "_seconds_sum") / n : 0.0;
  };
  std::printf("  stages (vigild's histograms, mean per batch): submit->durable %.1f ms = parse+scan %.1f ms + "
              "commit %.1f ms + queues %.1f ms\n",
              mean("ack"), mean("scan"), mean("commit"), std::max(0.0, mean("ack") - mean("scan") - mean("commit")));
}

// CPU time (seconds) of vigild's threads by name, of this process, and of
// the whole machine (busy and total, from /proc/stat), at one moment.
struct CpuSample {
  std::map<std::string, double> vigild_by_thread;
  double vigild = 0;
  double self = 0;
  double machine_busy = 0;
  double machine_total = 0;
};

CpuSample SampleCpu(pid_t pid) {
  CpuSample s;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
    std::ifstream in(entry.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t open = text.find('('), close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string name = text.substr(open + 1, close - open - 1);
    if (name.rfind("rocksdb:", 0) == 0) name = "rocksdb";  // flush and compaction threads
    std::istringstream rest(text.substr(close + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; rest >> field; ++i) {  // field 3 is the state; 14 utime, 15 stime
      if (i == 14) utime = std::stod(field);
      if (i == 15) {
        stime = std::stod(field);
        break;
      }
    }
    s.vigild_by_thread[name] += (utime + stime) / tick;
    s.vigild += (utime + stime) / tick;
  }
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  s.self = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  stat >> cpu;
  double v[8] = {};
  for (double& x : v) stat >> x;  // user nice system idle iowait irq softirq steal
  s.machine_total = (v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]) / tick;
  s.machine_busy = s.machine_total - (v[3] + v[4]) / tick;
  return s;
}

// CPU spent between two samples, per ad, with the load of the machine.
void PrintCpu(const CpuSample& a, const CpuSample& b, size_t ads, double seconds) {
  if (ads == 0 || seconds <= 0) return;
  const double per_ad = 1e6 / static_cast<double>(ads);
  const double cores = static_cast<double>(std::max(1u, std::thread::hardware_concurrency()));
  const double vigild = b.vigild - a.vigild, self = b.self - a.self;
  const double busy = b.machine_busy - a.machine_busy, total = b.machine_total - a.machine_total;
  const double others = std::max(0.0, busy - vigild - self);
  std::string threads;
  std::vector<std::pair<double, std::string>> by;
  for (const auto& [name, t] : b.vigild_by_thread) {
    auto it = a.vigild_by_thread.find(name);
    double d = t - (it == a.vigild_by_thread.end() ? 0 : it->second);
    if (d > 0) by.emplace_back(d, name);
  }
  std::sort(by.rbegin(), by.rend());
  for (const auto& [d, name] : by) threads += fmt::format("{}{} {:.1f}", threads.empty() ? "" : ", ", name, d * per_ad);
  std::printf("  cpu: vigild %.2f s = %.1f us/ad (%s); load_gen %.2f s = %.1f us/ad, %.1f%% of the busy CPU;\n"
              "       machine %.0f%% busy of %.0f cores, other processes %.2f s (%.0f%% of one core)\n",
              vigild, vigild * per_ad, threads.c_str(), self, self * per_ad, busy > 0 ? 100 * self / busy : 0,
              total > 0 ? 100 * busy / total : 0, cores, others, 100 * others / seconds);
  // What the same CPU per ad would give with every core to vigild and
  // load_gen (a derived figure, not a measurement).
  if (vigild + self > 0) {
    std::printf("       cpu-bound ceiling with all %.0f cores idle but for this run: %.0f ads/s\n", cores,
                cores / ((vigild + self) / static_cast<double>(ads)));
  }
}

void Print(const char* name, const PhaseResult& r) {
  std::printf("%-22s %8zu ads in %6.2f s = %8.0f ads/s; ack p50 %6.1f ms, p99 %6.1f ms; %zu batches, %zu 503s, %zu failed\n",
              name, r.ads, r.seconds, r.rate(), Percentile(r.latencies, 0.5) * 1e3,
              Percentile(r.latencies, 0.99) * 1e3, r.batches, r.refused, r.failed);
}

// The same work in this process: parse, scan on one thread per core, store
// each batch with a synced PutScanned (concurrent callers group-commit).
double InProcessBaseline(const std::string& dir, const std::string& pack, const std::vector<std::string_view>& bodies,
                         size_t max_batches) {
  auto store = vigil::storage::Store::Open(dir, {});
  if (!store.ok()) {
    std::fprintf(stderr, "load_gen: %s\n", store.status().message().c_str());
    return 0;
  }
  vigil::daemon::LiveRules rules(pack, vigil::tools::RuleLoadOptions{}, {});
  std::string diagnostics;
  if (!rules.LoadInitial(&diagnostics).ok()) return 0;
  std::shared_ptr<const vigil::scanner::Scanner> scan = rules.Current();
  std::atomic<size_t> next{0}, ads{0};
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  size_t n = std::min(max_batches, bodies.size());
  auto start = Clock::now();
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      vigil::scanner::DocumentParser parser;
      auto context = scan->NewContext();
      for (size_t i; (i = next.fetch_add(1)) < n;) {
        std::vector<std::pair<vigil::scanner::Document, vigil::scanner::ScanResult>> batch;
        std::string_view body = bodies[i];
        for (size_t pos = 0; pos < body.size();) {
          size_t nl = body.find('\n', pos);
          if (nl == std::string_view::npos) nl = body.size();
          vigil::scanner::Document doc;
          vigil::scanner::ScanResult result;
          if (parser.Parse(body.substr(pos, nl - pos), &doc).ok() && scan->Scan(doc, context.get(), &result).ok()) {
            result.id = doc.id;
            batch.emplace_back(std::move(doc), std::move(result));
          }
          pos = nl + 1;
        }
        vigil::storage::PutStats stats;
        if ((*store)->PutScanned(batch, &stats).ok()) ads += stats.ads;
      }
    });
  }
  for (auto& w : workers) w.join();
  double seconds = Seconds(Clock::now() - start);
  double rate = static_cast<double>(ads.load()) / seconds;
  std::printf("%-22s %8zu ads in %6.2f s = %8.0f ads/s (%u scan threads, PutScanned sync per batch)\n",
              "baseline in-process", ads.load(), seconds, rate, threads);
  return rate;
}

// `vigil ingest --data DIR --rules PACK --batch B FILE` (threads: all
// cores; B: the request size, so both sides get the same batches) on the
// same ads; returns its own ads/s figure
// (pipeline start to last durable commit) and prints it with the wall time
// and CPU per ad of the whole process (rule loading included).
double VigilIngestBaseline(const std::string& vigil, const std::string& tmp, const std::string& pack,
                           const std::vector<std::string_view>& bodies, size_t max_batches, size_t batch) {
  std::string input = tmp + "/corpus.ndjson", log = tmp + "/ingest.log", dir = tmp + "/ingest";
  size_t n = std::min(max_batches, bodies.size());
  {
    std::ofstream out(input, std::ios::binary);
    for (size_t i = 0; i < n; ++i) out.write(bodies[i].data(), static_cast<std::streamsize>(bodies[i].size()));
    if (!out) {
      std::fprintf(stderr, "load_gen: cannot write %s\n", input.c_str());
      return 0;
    }
  }
  auto start = Clock::now();
  std::fflush(nullptr);  // the child must not repeat what is buffered
  pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    std::freopen("/dev/null", "w", stdout);
    std::string batch_text = std::to_string(batch);
    ::execl(vigil.c_str(), vigil.c_str(), "ingest", "--data", dir.c_str(), "--rules", pack.c_str(), "--batch",
            batch_text.c_str(), input.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  double wall = Seconds(Clock::now() - start);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t summary = text.rfind("vigil ingest: ");
  unsigned long long ads = 0;
  double seconds = 0, rate = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || summary == std::string::npos ||
      std::sscanf(text.c_str() + summary, "vigil ingest: %llu ads in %lf s (%lf ads/s)", &ads, &seconds, &rate) != 3) {
    std::fprintf(stderr, "load_gen: %s ingest failed (exit %d):\n%s\n", vigil.c_str(),
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1, text.c_str());
    return 0;
  }
  double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  std::printf("%-22s %8llu ads in %6.2f s = %8.0f ads/s (its own timer; %.2f s wall with startup);\n"
              "  cpu: vigil ingest %.2f s = %.1f us/ad (whole process, rule loading included)\n",
              "baseline vigil ingest", ads, seconds, rate, wall, cpu, ads ? cpu * 1e6 / static_cast<double>(ads) : 0);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "load_gen: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--vigild") f.vigild = value();
    else if (a == "--vigil") f.vigil = value();
    else if (a == "--in-process-baseline") f.in_process_baseline = true;
    else if (a == "--vigild-arg") f.vigild_args.push_back(value());
    else if (a == "--rules") f.rules = value();
    else if (a == "--ads") f.ads = std::stoul(value());
    else if (a == "--batch") f.batch = std::stoul(value());
    else if (a == "--connections") f.connections = std::stoi(value());
    else if (a == "--seconds") f.seconds = std::stod(value());
    else if (a == "--half-seconds") f.half_seconds = std::stod(value());
    else if (a == "--half-rate") f.half_rate = std::stod(value());
    else {
      std::fprintf(stderr,
                   "usage: load_gen --vigild PATH [--vigil PATH] [--rules PACK] [--ads N] [--batch N] [--connections N] "
                   "[--seconds S] [--half-seconds S] [--half-rate ADS_PER_S] [--in-process-baseline] "
                   "[--vigild-arg ARG]...\n");
      return 2;
    }
  }
  if (f.vigild.empty() || f.batch == 0 || f.connections < 1) {
    std::fprintf(stderr, "load_gen: --vigild PATH is required\n");
    return 2;
  }
  std::string pack = f.rules.empty() ? vigil::tools::DefaultPackPath() : f.rules;

  // Corpus: unique ids, whole batches; invalid UTF-8 lines left out so
  // every line is stored (the generator plants a few on purpose).
  vigil::bench::CorpusGenerator gen(42);
  std::vector<std::string> bodies;
  std::vector<size_t> counts;
  std::string body;
  size_t in_body = 0, bytes = 0;
  for (size_t i = 0; i < f.ads;) {
    std::string line = vigil::bench::CorpusGenerator::ToJsonLine(gen.Next());
    if (!vigil::scanner::IsValidUtf8(line)) continue;
    ++i;
    body += line;
    body += '\n';
    if (++in_body == f.batch || i == f.ads) {
      bytes += body.size();
      bodies.push_back(std::move(body));
      counts.push_back(in_body);
      body.clear();
      in_body = 0;
    }
  }
  std::printf("corpus: %zu ads in %zu batches of %zu, %.1f MB\n", f.ads, bodies.size(), f.batch, bytes / 1e6);

  char tmpl[] = "/tmp/vigil_load_gen.XXXXXX";
  std::string tmp = ::mkdtemp(tmpl);
  std::string data = tmp + "/data";
  auto token = vigil::daemon::TokenStore(data).Create("load_gen", vigil::daemon::Role::kIngest, nullptr);
  auto admin = vigil::daemon::TokenStore(data).Create("load_gen-metrics", vigil::daemon::Role::kAdmin, nullptr);
  if (!token.ok() || !admin.ok()) {
    std::fprintf(stderr, "load_gen: %s\n", (token.ok() ? admin.status() : token.status()).message().c_str());
    return 1;
  }
  // Every request encoded once (header + body); the baselines read the
  // bodies in place.
  std::vector<std::string> requests;
  std::vector<std::string_view> body_views;
  requests.reserve(bodies.size());
  for (std::string& b : bodies) {
    std::string r = fmt::format(
        "POST /v1/ads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
        "Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
        *token, b.size());
    size_t head = r.size();
    r += b;
    std::string().swap(b);
    requests.push_back(std::move(r));
    body_views.emplace_back(requests.back().data() + head, requests.back().size() - head);
  }
  bodies.clear();
  std::string vigil = f.vigil;
  if (vigil.empty() && !f.in_process_baseline) {
    fs::path sibling = fs::path(f.vigild).parent_path() / "vigil";
    if (fs::exists(sibling)) vigil = sibling.string();
  }

  // Start vigild and read its port from the first line of its stdout.
  int out[2];
  if (::pipe(out) != 0) return 1;
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    std::string log = tmp + "/vigild.log";
    std::freopen(log.c_str(), "w", stderr);
    std::vector<std::string> args = {f.vigild, "--data", data, "--listen", "127.0.0.1:0", "--rules", pack,
                                     "--log-level", "warn"};
    args.insert(args.end(), f.vigild_args.begin(), f.vigild_args.end());
    std::vector<char*> argv_child;
    for (std::string& a : args) argv_child.push_back(a.data());
    argv_child.push_back(nullptr);
    ::execv(f.vigild.c_str(), argv_child.data());
    std::_Exit(127);
  }
  ::close(out[1]);
  std::string first;
  char ch;
  while (::read(out[0], &ch, 1) == 1 && ch != '\n') first += ch;
  size_t colon = first.rfind(':');
  if (first.find("listening on") == std::string::npos || colon == std::string::npos) {
    std::fprintf(stderr, "load_gen: vigild did not start (see %s/vigild.log)\n", tmp.c_str());
    ::kill(pid, SIGKILL);
    return 1;
  }
  uint16_t port = static_cast<uint16_t>(std::stoi(first.substr(colon + 1)));
  std::printf("vigild pid %d on 127.0.0.1:%u, %d connections\n", pid, port, f.connections);

  StageSample stages_before = SampleStages(port, *admin);
  CpuSample before = SampleCpu(pid);
  PhaseResult full = RunPhase(port, requests, counts, f.connections, f.seconds, 0);
  CpuSample after = SampleCpu(pid);
  StageSample stages_after = SampleStages(port, *admin);
  Print("vigild full load", full);
  PrintCpu(before, after, full.ads, full.seconds);
  PrintStages(stages_before, stages_after);
  size_t used = full.batches;
  PhaseResult half;
  if (used < requests.size()) {
    std::vector<std::string> rest(requests.begin() + static_cast<long>(used), requests.end());
    std::vector<size_t> rest_counts(counts.begin() + static_cast<long>(used), counts.end());
    double target = (f.half_rate > 0 ? f.half_rate : full.rate() / 2) / static_cast<double>(f.batch);
    stages_before = SampleStages(port, *admin);
    before = SampleCpu(pid);
    half = RunPhase(port, rest, rest_counts, f.connections, f.half_seconds, target);
    after = SampleCpu(pid);
    stages_after = SampleStages(port, *admin);
    Print("vigild half load", half);
    std::printf("%-22s %8.0f ads/s offered\n", "  (half-load target)", target * static_cast<double>(f.batch));
    PrintCpu(before, after, half.ads, half.seconds);
    PrintStages(stages_before, stages_after);
  } else {
    std::printf("half load skipped: every batch was used at full load (raise --ads)\n");
  }

  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::printf("vigild exit after SIGTERM: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  double base = vigil.empty() ? InProcessBaseline(tmp + "/baseline", pack, body_views, used)
                              : VigilIngestBaseline(vigil, tmp, pack, body_views, used, f.batch);
  if (base > 0) std::printf("ratio vigild / baseline: %.2f\n", full.rate() / base);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return 0;
}
