// RuleSetCache: compiled rule sets on disk, keyed by pack content hash,
// Hyperscan version and CPU features (rules::EngineFingerprint), so that a
// daemon restart or a CLI run does not pay Hyperscan's compile time again.
//
// A stale, corrupt, truncated or foreign cache file is detected (magic,
// checksum, fingerprint, pack hash), reported in the outcome, and rebuilt —
// never trusted. Files are written to a temporary name and renamed, so a
// crash mid-write leaves no half file under the real name.
//
// Thread-safety: const methods may be called from many threads and
// processes; concurrent writers of the same key in different processes
// race benignly (last rename wins, both files are complete); within one
// process, writers of one key must take turns (the temporary file is named
// by process id; vigild reloads one at a time).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "rules/compiled_rule_set.h"
#include "rules/compiler.h"
#include "rules/diagnostic.h"
#include "rules/rule.h"
#include "rules/status.h"

namespace vigil::rules {

struct CacheOutcome {
  enum class Kind { kHit, kMiss, kRebuilt, kDisabled };
  Kind kind = Kind::kMiss;
  std::string path;    // the cache file used or written
  std::string reason;  // for kRebuilt: why the old file was not trusted
};

class RuleSetCache {
 public:
  // `directory` is created on first write. An empty directory disables the
  // cache (every call compiles).
  explicit RuleSetCache(std::string directory);

  // The default cache folder: $VIGIL_CACHE_DIR, else $XDG_CACHE_HOME/vigil,
  // else $HOME/.cache/vigil, else "" (disabled).
  static std::string DefaultDirectory();

  // Returns the compiled form of `pack`, from the cache when a valid entry
  // exists, otherwise by compiling (and then storing it). Compile problems
  // go to *diags as with rules::Compile. A cache that cannot be written is
  // not an error (outcome says so in `reason`).
  Result<std::shared_ptr<const CompiledRuleSet>> GetOrCompile(const Pack& pack, const CompileOptions& options,
                                                              Diagnostics* diags, CacheOutcome* outcome) const;

  // The cached compiled form of `pack`, or null (outcome says why: a miss,
  // an entry not trusted, or the cache disabled). Never compiles.
  std::shared_ptr<const CompiledRuleSet> Find(const Pack& pack, CacheOutcome* outcome) const;
  // After Find returned null: compiles `pack` and stores it where Find
  // looked (unless the cache is disabled), adding to *outcome.
  Result<std::shared_ptr<const CompiledRuleSet>> CompileAndStore(const Pack& pack, const CompileOptions& options,
                                                                 Diagnostics* diags, CacheOutcome* outcome) const;

  // The file a pack's compiled form is cached in.
  std::string PathFor(const Pack& pack) const;

  // The start-up fast path. A program that loaded a pack and had nothing
  // to report (no lint or compile diagnostic at all) marks its cache entry
  // clean for itself (MarkClean); the next start of the same program finds
  // the entry from the pack's file bytes alone (FindClean, with the
  // content hash from ReadPackFiles), without parsing or linting the YAML
  // again: that was ~40% of a start-up's instructions. `program` is
  // ProgramIdentity(): a rebuilt or different binary, whose lint may say
  // more, takes the full path once and marks the entry again. A pack with
  // warnings always takes the full path, so its warnings are printed on
  // every load. Null when there is no such mark or the entry is not
  // trusted (as Find).
  std::shared_ptr<const CompiledRuleSet> FindClean(const std::string& content_hash, const std::string& program) const;
  // Best effort: a mark that cannot be written only costs the fast path.
  void MarkClean(const Pack& pack, const std::string& program) const;
  // This program's identity: the device, inode, size and modification
  // time of /proc/self/exe and the GNU build ids of the executable and of
  // every loaded library, hashed; "" when /proc/self/exe cannot be read
  // (no fast path).
  static std::string ProgramIdentity();

  // After a new entry is stored, older entries of the same pack name for
  // the same engines beyond the kKeptVersionsPerPack last written or used
  // (Find and FindClean set an entry's write time on a hit) are removed,
  // with their clean marks: each edit of a pack makes a new entry of
  // several MB, and the version a daemon runs must survive an analyst's
  // edits. Another process reading a removed entry falls back to
  // compiling. The same prune removes the entries of any pack and engine
  // (an older vigil's format, another machine sharing the folder) not
  // written or used for kStaleAfter, the clean marks whose entry is gone,
  // and temporary files a write left behind over an hour ago.
  static constexpr size_t kKeptVersionsPerPack = 8;
  static constexpr std::chrono::hours kStaleAfter{24 * 30};

 private:
  void Prune(const Pack& pack) const;

  std::string directory_;
};

// Reads a whole file; kNotFound when it does not exist.
Result<std::string> ReadFileToString(const std::string& path);
// Writes atomically: a temporary file in the same folder, fsync, rename.
Status WriteFileAtomically(const std::string& path, const std::string& bytes);

}  // namespace vigil::rules
