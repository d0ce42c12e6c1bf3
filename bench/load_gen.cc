// load_gen: sustained-ingest benchmark of vigild over loopback, with a
// same-run, same-process baseline.
//
//   load_gen --vigild build/bin/vigild [--ads 200000] [--batch 500]
//            [--connections 8] [--seconds 20] [--half-seconds 8]
//
// 1. Generates the corpus (bench/corpus.h; unique ids) into request bodies.
// 2. Starts vigild on a temporary data directory and a free loopback port
//    with an ingest token made for it, then POSTs batches over N keep-alive
//    connections as fast as acknowledgements come back (full load): ads/s
//    and ack latency p50/p99 (send to durable reply).
// 3. Half load: the same at half the measured rate (paced sends): p50/p99.
// 4. SIGTERM to vigild (drain, exit 0), then the baseline: the same ads
//    parsed, scanned on one thread per core and stored with
//    Store::PutScanned (synced) in the same batches, in this process.
// Prints every figure and the ratio daemon / baseline. Bounded in count
// and time; stops by itself.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
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
  std::string rules;
  size_t ads = 200000;
  size_t batch = 500;
  int connections = 8;
  double seconds = 20;
  double half_seconds = 8;
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
  // Sends one request and reads the reply; returns the status (0: I/O error).
  int Post(const std::string& head, const std::string& body, std::string* reply) {
    if (!WriteAll(head) || !WriteAll(body)) return 0;
    buffer_.clear();
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore()) return 0;
    }
    int status = std::atoi(buffer_.c_str() + 9);
    size_t length = 0;
    std::string lower = buffer_.substr(0, header_end);
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    if (size_t p = lower.find("content-length:"); p != std::string::npos) length = std::stoul(lower.substr(p + 15));
    while (buffer_.size() < header_end + 4 + length) {
      if (!ReadMore()) return 0;
    }
    *reply = buffer_.substr(header_end + 4, length);
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

// Sends bodies[first..] over `connections` connections until all are sent
// or `max_seconds` pass. `batches_per_second` > 0 paces each connection.
PhaseResult RunPhase(uint16_t port, const std::string& token, const std::vector<std::string>& bodies,
                     const std::vector<size_t>& counts, int connections, double max_seconds,
                     double batches_per_second) {
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
      std::string reply;
      while (Clock::now() < deadline) {
        size_t i = next.fetch_add(1);
        if (i >= bodies.size()) break;
        if (interval > 0) {
          std::this_thread::sleep_until(next_send);
          next_send += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
        }
        std::string head = fmt::format(
            "POST /v1/ads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
            "Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\r\n",
            token, bodies[i].size());
        while (true) {
          auto sent = Clock::now();
          int status = conn.Post(head, bodies[i], &reply);
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

void Print(const char* name, const PhaseResult& r) {
  std::printf("%-22s %8zu ads in %6.2f s = %8.0f ads/s; ack p50 %6.1f ms, p99 %6.1f ms; %zu batches, %zu 503s, %zu failed\n",
              name, r.ads, r.seconds, r.rate(), Percentile(r.latencies, 0.5) * 1e3,
              Percentile(r.latencies, 0.99) * 1e3, r.batches, r.refused, r.failed);
}

// The same work in this process: parse, scan on one thread per core, store
// each batch with a synced PutScanned (concurrent callers group-commit).
double Baseline(const std::string& dir, const std::string& pack, const std::vector<std::string>& bodies,
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
    else if (a == "--rules") f.rules = value();
    else if (a == "--ads") f.ads = std::stoul(value());
    else if (a == "--batch") f.batch = std::stoul(value());
    else if (a == "--connections") f.connections = std::stoi(value());
    else if (a == "--seconds") f.seconds = std::stod(value());
    else if (a == "--half-seconds") f.half_seconds = std::stod(value());
    else {
      std::fprintf(stderr,
                   "usage: load_gen --vigild PATH [--rules PACK] [--ads N] [--batch N] [--connections N] "
                   "[--seconds S] [--half-seconds S]\n");
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
  if (!token.ok()) {
    std::fprintf(stderr, "load_gen: %s\n", token.status().message().c_str());
    return 1;
  }

  // Start vigild and read its port from the first line of its stdout.
  int out[2];
  if (::pipe(out) != 0) return 1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    std::string log = tmp + "/vigild.log";
    std::freopen(log.c_str(), "w", stderr);
    ::execl(f.vigild.c_str(), f.vigild.c_str(), "--data", data.c_str(), "--listen", "127.0.0.1:0", "--rules",
            pack.c_str(), "--log-level", "warn", static_cast<char*>(nullptr));
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

  PhaseResult full = RunPhase(port, *token, bodies, counts, f.connections, f.seconds, 0);
  Print("vigild full load", full);
  size_t used = full.batches;
  PhaseResult half;
  if (used < bodies.size()) {
    std::vector<std::string> rest(bodies.begin() + static_cast<long>(used), bodies.end());
    std::vector<size_t> rest_counts(counts.begin() + static_cast<long>(used), counts.end());
    double target = full.rate() / 2 / static_cast<double>(f.batch);
    half = RunPhase(port, *token, rest, rest_counts, f.connections, f.half_seconds, target);
    Print("vigild half load", half);
    std::printf("%-22s %8.0f ads/s offered\n", "  (half-load target)", target * static_cast<double>(f.batch));
  } else {
    std::printf("half load skipped: every batch was used at full load (raise --ads)\n");
  }

  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::printf("vigild exit after SIGTERM: %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);

  double base = Baseline(tmp + "/baseline", pack, bodies, used);
  if (base > 0) std::printf("ratio vigild / baseline: %.2f\n", full.rate() / base);
  std::error_code ec;
  fs::remove_all(tmp, ec);
  return 0;
}
