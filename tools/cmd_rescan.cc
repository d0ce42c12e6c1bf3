// `vigil rescan --rules PACK`: rescans the stored ads with a new pack
// (tools/rescan.h) and replaces their findings; review states stay. Ctrl-C
// stops after the batches in flight are committed and checkpointed; the
// same command resumes. A progress line on a terminal, or --json progress
// lines on stdout for scripts; the report as text (stdout) and with
// --report FILE as JSON. --dry-run writes nothing (and reads through a
// read-only open, so it works while vigild runs).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "scanner/scanner.h"
#include "storage/store.h"
#include "tools/commands.h"
#include "tools/rescan.h"
#include "tools/rule_loading.h"
#include "tools/store_cli_support.h"

namespace vigil::tools {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void OnInterrupt(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process (the checkpoint still holds)
  std::signal(SIGTERM, SIG_DFL);
}

struct RescanFlags {
  std::string data = storage::kDefaultStoreDir;
  std::string rules;
  std::string cache_dir = "<default>";
  std::string region = "US";
  std::string since;
  std::string category;
  std::string report;
  int threads = 0;
  size_t batch = 1024;
  bool dry_run = false;
  bool json = false;
  bool restart = false;
  bool progress = true;
};

int RunRescan(const RescanFlags& flags) {
  RescanOptions options;
  options.threads = flags.threads;
  options.dry_run = flags.dry_run;
  options.category = flags.category;
  options.batch_size = flags.batch;
  options.restart = flags.restart;
  if (!flags.since.empty()) {
    options.since = ParseTimeArgument(flags.since);
    if (!options.since) {
      std::fprintf(stderr, "vigil rescan: --since \"%s\": give an ISO 8601 date or an age such as 30d\n",
                   flags.since.c_str());
      return 2;
    }
  }
  // --rules is required, so the default pack never stands in for it.
  std::shared_ptr<const scanner::Scanner> scan = LoadScannerOrReport("rescan", flags.rules, flags.cache_dir, flags.region);
  if (!scan) return 2;

  std::unique_ptr<storage::Store> store;
  if (flags.dry_run) {
    store = OpenStoreForReading(flags.data, "rescan");
    if (!store) return 2;
  } else {
    int code = 0;
    store = OpenStoreForWriting(flags.data, /*create=*/false, "rescan",
                                "ask vigild instead: POST /v1/rescans (admin); --dry-run reads while it runs", &code);
    if (!store) return code;
  }

  const bool bar = !flags.json && flags.progress && isatty(STDERR_FILENO);
  auto last = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  bool drawn = false;
  auto on_progress = [&](const RescanProgress& p) {
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::milliseconds(250)) return;
    last = now;
    const double s = std::max(p.seconds, 1e-6);
    const double rate = p.run_ads / s;
    const double eta = rate > 0 && p.total > p.examined ? (p.total - p.examined) / rate : 0.0;
    if (flags.json) {
      std::printf("{\"event\":\"progress\",\"examined\":%llu,\"total\":%llu,\"rescanned\":%llu,\"ads_per_s\":%.0f,"
                  "\"mb_per_s\":%.2f,\"eta_s\":%.1f,\"resumed\":%s}\n",
                  static_cast<unsigned long long>(p.examined), static_cast<unsigned long long>(p.total),
                  static_cast<unsigned long long>(p.rescanned), rate, p.bytes / s / 1e6, eta,
                  p.resumed ? "true" : "false");
      std::fflush(stdout);
    } else if (bar) {
      std::fprintf(stderr, "\r\033[Krescan: %llu/%llu ads (%.0f%%), %.0f ads/s, %.1f MB/s, ETA %.0f s",
                   static_cast<unsigned long long>(p.examined), static_cast<unsigned long long>(p.total),
                   p.total ? 100.0 * p.examined / p.total : 100.0, rate, p.bytes / s / 1e6, eta);
      std::fflush(stderr);
      drawn = true;
    }
  };

  g_stop.store(false);
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  Rescanner rescanner(store.get(), scan, options);
  const auto start = std::chrono::steady_clock::now();
  Result<RescanReport> report = rescanner.Run(on_progress, &g_stop);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (drawn) std::fputs("\r\033[K", stderr);
  FlushBeforeExit(store.get(), "rescan");
  if (!report.ok()) {
    std::fprintf(stderr, "vigil rescan: %s\n", report.status().message().c_str());
    return 2;
  }
  if (!flags.report.empty()) {
    FILE* f = std::fopen(flags.report.c_str(), "wb");
    const std::string json = report->ToJson() + "\n";
    if (!f || std::fwrite(json.data(), 1, json.size(), f) != json.size() || std::fclose(f) != 0) {
      std::fprintf(stderr, "vigil rescan: cannot write the report to %s\n", flags.report.c_str());
      return 2;
    }
  }
  if (flags.json) {
    std::printf("{\"event\":\"%s\",\"seconds\":%.3f,\"report\":%s}\n", report->complete ? "done" : "stopped", seconds,
                report->ToJson().c_str());
  } else {
    std::fputs(report->ToText().c_str(), stdout);
  }
  std::fflush(stdout);
  if (!report->complete) {
    std::fprintf(stderr, "vigil rescan: stopped after ad \"%s\"; run the same command to resume\n",
                 report->last_id.c_str());
    return 1;
  }
  std::fprintf(stderr, "vigil rescan: %llu ads rescanned in %.2f s (%.0f ads/s)%s\n",
               static_cast<unsigned long long>(report->rescanned), seconds, report->rescanned / std::max(seconds, 1e-9),
               flags.dry_run ? "; dry run, nothing written" : "");
  return 0;
}

}  // namespace

void AddRescanCommand(CLI::App* app, int* exit_code) {
  auto f = std::make_shared<RescanFlags>();
  CLI::App* cmd = app->add_subcommand("rescan", "Rescan stored ads with a new rule pack (resumable)");
  cmd->add_option("--data", f->data, "Store directory (default ./var/vigil)");
  cmd->add_option("--rules", f->rules, "Pack folder or compiled rule set")->required();
  cmd->add_flag("--dry-run", f->dry_run, "Compute the report, write nothing");
  cmd->add_option("--threads", f->threads, "Scan threads (default: all cores)")->check(CLI::Range(1, 256));
  cmd->add_option("--since", f->since, "Only ads from this time: ISO 8601 or an age (30d)");
  cmd->add_option("--category", f->category, "Only ads whose lead has this category");
  cmd->add_option("--report", f->report, "Also write the report as JSON to this file");
  cmd->add_option("--batch", f->batch, "Ads per commit and checkpoint (default 1024)")->check(CLI::Range(1, 8192));
  cmd->add_flag("--json", f->json, "JSON progress lines and the report on stdout");
  cmd->add_flag("--restart", f->restart, "Discard an unfinished rescan's checkpoint and start over");
  cmd->add_option("--region", f->region, "Default region for phone numbers (default US)");
  cmd->add_option("--cache-dir", f->cache_dir, "Compiled rule cache folder (\"\" disables)");
  cmd->add_flag("!--no-progress", f->progress, "No progress line on a terminal");
  cmd->callback([f, exit_code] { *exit_code = RunRescan(*f); });
}

}  // namespace vigil::tools
