// LiveRules: the scanner vigild uses right now, and its hot reload.
//
// Holds a std::shared_ptr<const scanner::Scanner>; readers take a snapshot
// (Current) per batch and keep scanning with it while a reload builds the
// next one. Reload compiles the pack (tools/rule_loading.h, with the
// on-disk cache) on a background thread and swaps the pointer when the
// pack is good; a broken pack is refused with its diagnostics and the old
// scanner stays. Reload requests that arrive while a compile runs are
// served by the next compile (each sees the pack as it is on disk then).
//
// Thread-safety: every method may be called from many threads at once.
// Reload callbacks run on the reload thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "rules/status.h"
#include "scanner/scanner.h"
#include "tools/rule_loading.h"

namespace vigil::daemon {

struct ReloadOutcome {
  Status status;            // OK when the new pack is live
  std::string pack;         // the live pack's "name@version" afterwards
  std::string diagnostics;  // the refused pack's problems, for a person
};

class LiveRules {
 public:
  LiveRules(std::string pack_path, tools::RuleLoadOptions load_options, scanner::Scanner::Options scan_options);
  ~LiveRules();  // waits for a running compile
  LiveRules(const LiveRules&) = delete;
  LiveRules& operator=(const LiveRules&) = delete;

  // Loads the pack synchronously (startup). On failure *diagnostics holds
  // the pack's problems.
  Status LoadInitial(std::string* diagnostics);

  // The live scanner; never null after a successful LoadInitial.
  std::shared_ptr<const scanner::Scanner> Current() const;
  std::string PackLabel() const;
  const std::string& pack_path() const { return pack_path_; }

  // Starts (or joins) a background compile; `done` runs when it is over.
  void Reload(std::function<void(const ReloadOutcome&)> done);

 private:
  Result<std::shared_ptr<const scanner::Scanner>> Build(std::string* diagnostics) const;
  void ReloadLoop();

  const std::string pack_path_;
  const tools::RuleLoadOptions load_options_;
  const scanner::Scanner::Options scan_options_;

  mutable std::mutex mu_;
  std::shared_ptr<const scanner::Scanner> current_;

  std::mutex reload_mu_;
  std::condition_variable reload_cv_;
  std::deque<std::function<void(const ReloadOutcome&)>> waiting_;
  bool stopping_ = false;
  std::thread reload_thread_;
};

}  // namespace vigil::daemon
