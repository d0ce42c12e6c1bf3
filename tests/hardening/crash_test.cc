// Crash test (issue 8): vigild is killed with SIGKILL at random moments
// while two clients post ads, 20 times. After every kill the store is
// opened directly and must hold every ad whose POST /v1/ads was answered
// 200 (acknowledged = durable), and Store::CheckConsistency must find no
// dangling index entry. Some batches re-post acknowledged ids with new
// text, so that index updates (not only inserts) are cut too.
//
// Usage: crash_test VIGILD_BINARY [ROUNDS]. Prints the counts; exits 0
// when nothing acknowledged was lost and the store was consistent after
// every restart.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/store.h"
#include "tools/token_store.h"

namespace {

namespace fs = std::filesystem;
using vigil::daemon::Role;
using vigil::daemon::TokenStore;

constexpr int kBatchAds = 20;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One HTTP/1.1 request on a fresh connection; returns the status code and
// fills *body, or -1 when the connection failed (the daemon was killed).
int HttpPost(uint16_t port, const std::string& path, const std::string& token, const std::string& payload,
             std::string* body) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token +
                        "\r\nContent-Type: application/x-ndjson\r\nConnection: close\r\nContent-Length: " +
                        std::to_string(payload.size()) + "\r\n\r\n" + payload;
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return -1;
    }
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buf[4096];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (response.compare(0, 9, "HTTP/1.1 ") != 0 || response.size() < 12) return -1;
  const size_t header_end = response.find("\r\n\r\n");
  if (header_end == std::string::npos) return -1;
  *body = response.substr(header_end + 4);
  return std::stoi(response.substr(9, 3));
}

struct Daemon {
  pid_t pid = -1;
  uint16_t port = 0;
};

// Starts vigild and waits for its "listening on" line.
bool StartDaemon(const std::string& vigild, const std::string& config, const std::string& out_path,
                 const std::string& log_path, Daemon* d) {
  fs::remove(out_path);
  std::fflush(stdout);  // the child must not write our buffered lines again
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (!std::freopen(out_path.c_str(), "w", stdout) || !std::freopen(log_path.c_str(), "a", stderr)) _exit(127);
    ::execl(vigild.c_str(), vigild.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  d->pid = pid;
  const std::string marker = "vigild listening on http://127.0.0.1:";
  for (int i = 0; i < 3000; ++i) {  // polled, up to several minutes under sanitizers
    const std::string out = ReadFile(out_path);
    const size_t at = out.find(marker);
    if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
      d->port = static_cast<uint16_t>(std::stoi(out.substr(at + marker.size())));
      return true;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: crash_test VIGILD_BINARY [ROUNDS]\n");
    return 2;
  }
  const std::string vigild = argv[1];
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 20;

  std::string tmpl = (fs::temp_directory_path() / "vigil_crash_XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) return 2;
  const std::string dir = tmpl;
  const std::string pack = dir + "/pack", data = dir + "/data", config = dir + "/vigild.yaml";
  fs::create_directories(pack);
  WriteFile(pack + "/pack.yaml",
            "name: crash\nversion: 0.1.0\ndescription: crash test\nthreshold: 0.5\ncategories:\n"
            "  - {id: youth, title: Youth, description: youth language}\n");
  WriteFile(pack + "/rules.yaml",
            "rules:\n  - id: youth.fresh\n    title: Fresh\n    description: test rule\n    category: youth\n"
            "    weight: 0.6\n    evidence: supported\n    patterns: ['\\bfresh\\b']\n");
  WriteFile(config, "listen: 127.0.0.1:0\ndata: " + data + "\nrules: " + pack +
                        "\nrules_cache: \"\"\nthreads: 2\nlog_level: warn\n");
  auto token = TokenStore(data).Create("crawler", Role::kIngest, nullptr);
  if (!token.ok()) {
    std::fprintf(stderr, "token: %s\n", token.status().message().c_str());
    return 2;
  }

  std::mt19937 rng(20260806);
  std::set<std::string> acked;  // every id ever acknowledged
  std::mutex acked_mu;
  uint64_t batches_acked = 0, batches_cut = 0, missing = 0, problems = 0, store_errors = 0;
  int kills = 0;

  for (int round = 0; round < rounds; ++round) {
    Daemon d;
    if (!StartDaemon(vigild, config, dir + "/vigild.out", dir + "/vigild.log", &d)) {
      std::fprintf(stderr, "round %d: vigild did not start; log:\n%s\n", round, ReadFile(dir + "/vigild.log").c_str());
      return 1;
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 2; ++t) {
      clients.emplace_back([&, t] {
        std::mt19937 client_rng(static_cast<uint32_t>(round * 16 + t));
        for (int b = 0; !stop.load(); ++b) {
          std::vector<std::string> ids;
          {
            std::lock_guard lock(acked_mu);
            // Every third batch re-posts acknowledged ids with new text.
            if (b % 3 == 2 && acked.size() >= kBatchAds) {
              auto it = acked.begin();
              std::advance(it, client_rng() % (acked.size() - kBatchAds + 1));
              for (int i = 0; i < kBatchAds; ++i) ids.push_back(*it++);
            }
          }
          for (int i = static_cast<int>(ids.size()); i < kBatchAds; ++i) {
            ids.push_back("r" + std::to_string(round) + "-c" + std::to_string(t) + "-b" + std::to_string(b) + "-" +
                          std::to_string(i));
          }
          std::string body;
          for (size_t i = 0; i < ids.size(); ++i) {
            body += "{\"id\":\"" + ids[i] + "\",\"text\":\"so fresh, round " + std::to_string(round) + " batch " +
                    std::to_string(b) + ", call 702-555-01" + std::to_string(10 + (i % 90)) +
                    "\",\"city\":\"Reno\"}\n";
          }
          std::string answer;
          const int status = HttpPost(d.port, "/v1/ads", *token, body, &answer);
          std::lock_guard lock(acked_mu);
          if (status == 200 && answer.find("\"accepted\":" + std::to_string(kBatchAds)) != std::string::npos) {
            ++batches_acked;
            acked.insert(ids.begin(), ids.end());
          } else {
            ++batches_cut;
            if (status > 0 && status != 503) {
              std::fprintf(stderr, "round %d: unexpected answer %d: %s\n", round, status, answer.c_str());
            }
          }
        }
      });
    }
    // A random moment under load.
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 470));
    ::kill(d.pid, SIGKILL);
    stop = true;
    int status = 0;
    ::waitpid(d.pid, &status, 0);
    ++kills;
    for (std::thread& c : clients) c.join();

    // The store opens, holds every acknowledged ad, and no index dangles.
    auto store = vigil::storage::Store::Open(data, vigil::storage::OpenOptions{});
    if (!store.ok()) {
      std::fprintf(stderr, "round %d: store does not open: %s\n", round, store.status().message().c_str());
      ++store_errors;
      break;
    }
    for (const std::string& id : acked) {
      if (!(*store)->GetAd(id).ok()) {
        if (missing < 10) std::fprintf(stderr, "round %d: acknowledged ad %s is missing\n", round, id.c_str());
        ++missing;
      }
    }
    vigil::storage::ConsistencyReport report;
    if (!(*store)->CheckConsistency(&report).ok()) {
      ++store_errors;
    } else if (!report.ok()) {
      problems += report.problem_count;
      for (const std::string& p : report.problems) std::fprintf(stderr, "round %d: %s\n", round, p.c_str());
    }
    std::printf("round %2d: killed after %zu acknowledged ads in total; store has %llu ads, %llu lead entries, "
                "%llu postings; %llu problems\n",
                round, acked.size(), static_cast<unsigned long long>(report.ads),
                static_cast<unsigned long long>(report.lead_index_entries),
                static_cast<unsigned long long>(report.postings),
                static_cast<unsigned long long>(report.problem_count));
  }

  std::printf("crash test: %d SIGKILLs, %llu batches acknowledged, %llu cut by the kill or refused (503), %zu acknowledged ads, "
              "%llu missing, %llu consistency problems, %llu store errors\n",
              kills, static_cast<unsigned long long>(batches_acked), static_cast<unsigned long long>(batches_cut),
              acked.size(), static_cast<unsigned long long>(missing), static_cast<unsigned long long>(problems),
              static_cast<unsigned long long>(store_errors));
  const bool ok = kills == rounds && missing == 0 && problems == 0 && store_errors == 0 && !acked.empty();
  if (ok) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  } else {
    std::fprintf(stderr, "crash test FAILED; data kept in %s\n", dir.c_str());
  }
  return ok ? 0 : 1;
}
