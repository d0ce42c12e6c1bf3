// `vigil scan`: JSON Lines (or plain lines) in, one result object per
// document out, in input order. Reader -> scan workers -> ordered writer
// (scanner/ordered_pipeline.h); malformed lines are reported on stderr with
// their file and line and the scan goes on (exit 1 at the end).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "scanner/document_parser.h"
#include "scanner/line_reader.h"
#include "scanner/ordered_pipeline.h"
#include "scanner/result_json.h"
#include "scanner/scanner.h"
#include "tools/commands.h"
#include "tools/progress.h"
#include "tools/rule_loading.h"
#include "tools/threads.h"

namespace vigil::tools {

namespace {

struct ScanFlags {
  std::string rules;
  int threads = 0;
  bool flagged_only = false;
  bool text = false;
  bool explain = false;
  bool progress = true;
  std::string region = "US";
  std::string cache_dir = "<default>";
  std::vector<std::string> files;
};

struct ScanBatch {
  scanner::LineBatch input;
  std::string output;
  std::string errors;
  uint64_t documents = 0;
  uint64_t failed = 0;
  uint64_t flagged = 0;
};

struct WorkerState {
  scanner::DocumentParser parser;
  std::unique_ptr<scanner::ScanContext> context;
  scanner::Document doc;
  scanner::ScanResult result;
};

int RunScan(const ScanFlags& flags) {
  std::shared_ptr<const scanner::Scanner> created =
      LoadScannerOrReport("scan", flags.rules, flags.cache_dir, flags.region);
  if (!created) return 2;
  const scanner::Scanner& scan = *created;

  const int threads = ThreadsOrCores(flags.threads);
  // One thread scans inline; more get a worker each (the reader and the
  // ordered writer share the calling thread).
  const int workers = threads == 1 ? 0 : threads;
  std::vector<WorkerState> states(std::max(1, workers));
  for (WorkerState& s : states) s.context = scan.NewContext();

  scanner::ResultJsonOptions json_options;
  json_options.include_suppressed = flags.explain;
  const bool text_mode = flags.text;
  const bool flagged_only = flags.flagged_only;

  auto work = [&](ScanBatch& batch, int worker) {
    WorkerState& w = states[worker];
    const scanner::LineBatch& in = batch.input;
    for (const scanner::LineBatch::Line& line : in.lines) {
      if (line.oversized) {
        ++batch.failed;
        batch.errors += fmt::format("vigil scan: {}:{}: line is {} bytes, over the limit; skipped\n", in.source,
                                    line.number, line.oversized);
        continue;
      }
      std::string_view bytes(in.buffer.data() + line.offset, line.length);
      if (text_mode) {
        w.doc = scanner::Document{};
        w.doc.id = std::to_string(line.number);
        w.doc.text.assign(bytes);
      } else {
        if (scanner::IsBlankLine(bytes)) continue;
        Status s = w.parser.Parse(bytes, &w.doc, /*padded=*/true);
        if (!s.ok()) {
          ++batch.failed;
          batch.errors += fmt::format("vigil scan: {}:{}: {}\n", in.source, line.number, s.message());
          continue;
        }
      }
      Status s = scan.Scan(w.doc, w.context.get(), &w.result);
      if (!s.ok()) {
        ++batch.failed;
        batch.errors += fmt::format("vigil scan: {}:{}: scan failed: {}\n", in.source, line.number, s.message());
        continue;
      }
      ++batch.documents;
      if (w.result.flagged) ++batch.flagged;
      if (flagged_only && !w.result.flagged) continue;
      scanner::AppendResultJson(w.result, json_options, &batch.output);
      batch.output.push_back('\n');
    }
  };

  uint64_t total_bytes = 0;
  for (const std::string& f : flags.files) {
    if (f != "-") {
      std::error_code ec;
      total_bytes += std::filesystem::file_size(f, ec);
    }
  }
  Progress progress("scan", flags.progress && isatty(STDERR_FILENO), total_bytes);
  uint64_t failed = 0;
  auto deliver = [&](ScanBatch& batch) -> Status {
    if (!batch.output.empty() && std::fwrite(batch.output.data(), 1, batch.output.size(), stdout) != batch.output.size()) {
      return Status::IOError("writing to standard output failed");
    }
    if (!batch.errors.empty()) {
      progress.Clear();
      std::fputs(batch.errors.c_str(), stderr);
    }
    failed += batch.failed;
    progress.Add(batch.documents, batch.input.bytes, batch.flagged);
    return Status::Ok();
  };

  int exit_code = 0;
  {
    scanner::OrderedPipeline<ScanBatch> pipeline(workers, static_cast<size_t>(workers) * 4 + 2, work, deliver);
    constexpr size_t kMaxLine = 32u << 20;
    for (const std::string& file : flags.files) {
      Result<std::unique_ptr<scanner::LineBatchReader>> reader = scanner::LineBatchReader::Open(file, kMaxLine);
      if (!reader.ok()) {
        progress.Clear();
        std::fprintf(stderr, "vigil scan: %s\n", reader.status().message().c_str());
        exit_code = 2;
        continue;
      }
      for (;;) {
        auto batch = std::make_unique<ScanBatch>();
        Result<bool> more = (*reader)->Next(&batch->input, 512, 512u << 10);
        if (!more.ok()) {
          progress.Clear();
          std::fprintf(stderr, "vigil scan: %s\n", more.status().message().c_str());
          exit_code = 2;
          break;
        }
        if (!*more) break;
        Status s = pipeline.Push(std::move(batch));
        if (!s.ok()) {
          std::fprintf(stderr, "vigil scan: %s\n", s.message().c_str());
          return 2;
        }
      }
    }
    Status s = pipeline.Finish();
    if (!s.ok()) {
      std::fprintf(stderr, "vigil scan: %s\n", s.message().c_str());
      return 2;
    }
  }
  std::fflush(stdout);
  progress.Finish();
  if (exit_code == 0 && failed > 0) exit_code = 1;
  return exit_code;
}

}  // namespace

void AddScanCommand(CLI::App* app, int* exit_code) {
  auto flags = std::make_shared<ScanFlags>();
  CLI::App* cmd = app->add_subcommand("scan", "Scan ads (JSON Lines or plain lines) and print one result per ad");
  cmd->add_option("--rules", flags->rules, "Pack folder or compiled rule set (default: the core pack)");
  cmd->add_option("--threads", flags->threads, "Scan threads (default: all cores)")->check(CLI::Range(1, 256));
  cmd->add_flag("--flagged-only", flags->flagged_only, "Print only flagged ads");
  cmd->add_flag("--text", flags->text, "Each input line is one ad's text (id = line number)");
  cmd->add_flag("--explain", flags->explain, "Also print suppressed hits and why they did not count");
  cmd->add_option("--region", flags->region, "Default region for phone numbers (ISO 3166, default US)");
  cmd->add_option("--cache-dir", flags->cache_dir, "Compiled rule cache folder (\"\" disables)");
  cmd->add_flag("!--no-progress", flags->progress, "No progress line on a terminal");
  cmd->add_option("FILE", flags->files, "Input files; - or none reads standard input");
  cmd->callback([flags, exit_code] {
    if (flags->files.empty()) flags->files.push_back("-");
    *exit_code = RunScan(*flags);
  });
}

}  // namespace vigil::tools
