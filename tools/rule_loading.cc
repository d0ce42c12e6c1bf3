#include "tools/rule_loading.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "rules/compiler.h"
#include "rules/lint.h"
#include "rules/pack_loader.h"
#include "rules/rule_set_cache.h"

namespace vigil::tools {

namespace fs = std::filesystem;

std::string DefaultPackPath() {
  if (const char* env = std::getenv("VIGIL_DEFAULT_PACK"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& candidate : {exe.parent_path() / "../../rules/packs/core",
                                      exe.parent_path() / "../share/vigil/packs/core"}) {
      if (fs::exists(candidate / "pack.yaml", ec)) return fs::weakly_canonical(candidate, ec).string();
    }
  }
  return "rules/packs/core";
}

namespace {

// LintPack as loading a pack for scanning runs it: the pack is compiled
// next (or found compiled in the cache), so a database per pattern here
// would only cost startup time.
bool LintForScanning(const rules::Pack& pack, rules::Diagnostics* diags, bool check_engines) {
  rules::LintOptions lint;
  lint.compile_each_pattern = false;
  lint.check_engines = check_engines;
  rules::LintPack(pack, diags, lint);
  return !diags->HasErrors();
}

}  // namespace

bool LoadAndLintPack(const std::string& dir, rules::Pack* pack, rules::Diagnostics* diags, bool check_engines) {
  return rules::LoadPack(dir, pack, diags) && LintForScanning(*pack, diags, check_engines);
}

Result<std::shared_ptr<const rules::CompiledRuleSet>> LoadRuleSet(const std::string& path,
                                                                  const RuleLoadOptions& options,
                                                                  std::string* diagnostics) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Status::NotFound(fmt::format("{}: no such pack folder or compiled file", path));
  if (fs::is_regular_file(path, ec)) {
    Result<std::string> bytes = rules::ReadFileToString(path);
    if (!bytes.ok()) return bytes.status();
    Result<std::shared_ptr<const rules::CompiledRuleSet>> set = rules::DeserializeRuleSet(*bytes);
    if (!set.ok()) {
      return Status::InvalidArgument(fmt::format("{}: {} (recompile it with `vigil rules compile`)", path,
                                                 set.status().message()));
    }
    return set;
  }
  std::string cache_dir = options.cache_dir == "<default>" ? rules::RuleSetCache::DefaultDirectory()
                                                           : options.cache_dir;
  rules::RuleSetCache cache(cache_dir);
  const std::string program = rules::RuleSetCache::ProgramIdentity();
  // A pack this program loaded before with nothing to report: found from
  // its bytes alone (RuleSetCache::FindClean). Otherwise the same bytes
  // are parsed (a pack whose files cannot all be read goes through
  // LoadPack, which says why).
  std::vector<rules::PackFile> files;
  std::string content_hash;
  const bool read = rules::ReadPackFiles(path, &files, &content_hash);
  if (read) {
    if (std::shared_ptr<const rules::CompiledRuleSet> clean = cache.FindClean(content_hash, program)) {
      if (diagnostics) diagnostics->clear();
      return clean;
    }
  }
  rules::Pack pack;
  rules::Diagnostics diags;
  const auto lint_failed = [&] {
    if (diagnostics) *diagnostics = diags.ToString();
    return Status::InvalidArgument(fmt::format("{}: the pack has {} error(s); run `vigil rules lint {}`", path,
                                               diags.ErrorCount(), path));
  };
  // Lint without the engine checks first; they run only when the compiled
  // form is not in the cache (see rules::LintOptions::check_engines): they
  // were ~80% of a start-up's lint.
  const bool loaded = read ? rules::LoadReadPackFiles(path, std::move(files), std::move(content_hash), &pack, &diags) &&
                                 LintForScanning(pack, &diags, /*check_engines=*/false)
                           : LoadAndLintPack(path, &pack, &diags, /*check_engines=*/false);
  if (!loaded) return lint_failed();
  rules::CacheOutcome outcome;
  if (std::shared_ptr<const rules::CompiledRuleSet> cached = cache.Find(pack, &outcome)) {
    if (diagnostics) *diagnostics = diags.ToString();
    if (diags.items.empty()) cache.MarkClean(pack, program);
    return cached;
  }
  rules::LintOptions engines;
  engines.compile_each_pattern = false;  // the pack compile reports the same problems
  rules::LintPackEngines(pack, &diags, engines);
  if (diags.HasErrors()) return lint_failed();
  Result<std::shared_ptr<const rules::CompiledRuleSet>> set =
      cache.CompileAndStore(pack, rules::CompileOptions{}, &diags, &outcome);
  if (diagnostics) *diagnostics = diags.ToString();
  if (!set.ok()) {
    return Status::InvalidArgument(fmt::format("{}: the pack does not compile: {}", path, set.status().message()));
  }
  if (diags.items.empty() && outcome.kind != rules::CacheOutcome::Kind::kDisabled) cache.MarkClean(pack, program);
  return set;
}

Result<std::shared_ptr<const scanner::Scanner>> LoadScanner(const std::string& path, const RuleLoadOptions& options,
                                                            const scanner::Scanner::Options& scan_options,
                                                            std::string* diagnostics) {
  Result<std::shared_ptr<const rules::CompiledRuleSet>> set = LoadRuleSet(path, options, diagnostics);
  if (!set.ok()) return set.status();
  return scanner::Scanner::Create(*set, scan_options);
}

std::shared_ptr<const scanner::Scanner> LoadScannerOrReport(const char* command, const std::string& path,
                                                           const std::string& cache_dir, const std::string& region) {
  std::string diagnostics;
  scanner::Scanner::Options scan_options;
  scan_options.phone_region = region;
  Result<std::shared_ptr<const scanner::Scanner>> created =
      LoadScanner(path.empty() ? DefaultPackPath() : path, RuleLoadOptions{cache_dir}, scan_options, &diagnostics);
  if (!diagnostics.empty()) std::fputs(diagnostics.c_str(), stderr);
  if (!created.ok()) {
    std::fprintf(stderr, "vigil %s: %s\n", command, created.status().message().c_str());
    return nullptr;
  }
  return *created;
}

}  // namespace vigil::tools
