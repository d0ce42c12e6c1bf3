#include "tools/live_rules.h"

#include <spdlog/spdlog.h>

namespace vigil::daemon {

LiveRules::LiveRules(std::string pack_path, tools::RuleLoadOptions load_options,
                     scanner::Scanner::Options scan_options)
    : pack_path_(std::move(pack_path)), load_options_(std::move(load_options)), scan_options_(std::move(scan_options)) {
  reload_thread_ = std::thread([this] { ReloadLoop(); });
}

LiveRules::~LiveRules() {
  {
    std::lock_guard lock(reload_mu_);
    stopping_ = true;
  }
  reload_cv_.notify_all();
  reload_thread_.join();
}

Result<std::shared_ptr<const scanner::Scanner>> LiveRules::Build(std::string* diagnostics) const {
  return tools::LoadScanner(pack_path_, load_options_, scan_options_, diagnostics);
}

Status LiveRules::LoadInitial(std::string* diagnostics) {
  Result<std::shared_ptr<const scanner::Scanner>> built = Build(diagnostics);
  if (!built.ok()) return built.status();
  std::lock_guard lock(mu_);
  current_ = *built;
  return Status::Ok();
}

std::shared_ptr<const scanner::Scanner> LiveRules::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::string LiveRules::PackLabel() const {
  std::shared_ptr<const scanner::Scanner> s = Current();
  return s ? s->rules().pack_label() : std::string();
}

void LiveRules::Reload(std::function<void(const ReloadOutcome&)> done) {
  {
    std::lock_guard lock(reload_mu_);
    waiting_.push_back(std::move(done));
  }
  reload_cv_.notify_all();
}

void LiveRules::ReloadLoop() {
  std::unique_lock lock(reload_mu_);
  while (true) {
    reload_cv_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
    if (waiting_.empty() && stopping_) return;
    std::deque<std::function<void(const ReloadOutcome&)>> batch;
    batch.swap(waiting_);
    lock.unlock();
    ReloadOutcome outcome;
    Result<std::shared_ptr<const scanner::Scanner>> built = Build(&outcome.diagnostics);
    if (built.ok()) {
      std::string old_label = PackLabel();
      {
        std::lock_guard current_lock(mu_);
        current_ = *built;
      }
      spdlog::info("rules reloaded: {} -> {} ({})", old_label, (*built)->rules().pack_label(), pack_path_);
    } else {
      outcome.status = built.status();
      spdlog::warn("rules reload refused, keeping {}: {}", PackLabel(), built.status().message());
    }
    outcome.pack = PackLabel();
    for (auto& done : batch) {
      if (done) done(outcome);
    }
    lock.lock();
  }
}

}  // namespace vigil::daemon
