#include "rules/rule_set_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "rules/build_ids.h"

namespace vigil::rules {

namespace {

std::string SafeFileComponent(const std::string& s) {
  std::string out;
  for (char c : s) out.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_');
  return out.empty() ? "pack" : out;
}

// A used entry counts as new for Prune (best effort: a read-only cache
// folder only loses that).
void Touch(const std::string& path) {
  std::error_code ec;
  std::filesystem::last_write_time(path, std::filesystem::file_time_type::clock::now(), ec);
}

uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// This machine's engines (EngineFingerprint), as cache file names carry it.
std::string EngineTag() { return fmt::format("{:016x}", Fnv1a64(EngineFingerprint())); }

// The clean mark of a content hash for a program: a small file holding
// the name of the entry (PathFor) that program loaded with nothing to say.
std::string CleanMarkPath(const std::string& directory, const std::string& content_hash, const std::string& program) {
  return fmt::format("{}/{}-{}-{}.clean", directory, content_hash.substr(0, 32), EngineTag(), program);
}

}  // namespace

Result<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::IOError(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": read failed");
  return ss.str();
}

Status WriteFileAtomically(const std::string& path, const std::string& bytes) {
  std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError(fmt::format("{}: {}", tmp, std::strerror(errno)));
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Status::IOError(fmt::format("{}: {}", tmp, std::strerror(errno)));
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError(fmt::format("{}: {}", tmp, std::strerror(errno)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Status::IOError(fmt::format("{}: {}", path, std::strerror(errno)));
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

RuleSetCache::RuleSetCache(std::string directory) : directory_(std::move(directory)) {}

std::string RuleSetCache::DefaultDirectory() {
  if (const char* d = std::getenv("VIGIL_CACHE_DIR")) return d;
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return std::string(d) + "/vigil";
  if (const char* d = std::getenv("HOME"); d && *d) return std::string(d) + "/.cache/vigil";
  return "";
}

std::string RuleSetCache::PathFor(const Pack& pack) const {
  // The engine fingerprint is part of the file name as well as checked
  // inside, so machines sharing a cache folder keep separate entries.
  return fmt::format("{}/{}-{}-{}.vrs", directory_, SafeFileComponent(pack.name),
                     pack.content_hash.substr(0, 32), EngineTag());
}

std::shared_ptr<const CompiledRuleSet> RuleSetCache::Find(const Pack& pack, CacheOutcome* outcome) const {
  *outcome = CacheOutcome{};
  if (directory_.empty()) {
    outcome->kind = CacheOutcome::Kind::kDisabled;
    return nullptr;
  }
  const std::string path = PathFor(pack);
  outcome->path = path;
  Result<std::string> bytes = ReadFileToString(path);
  if (!bytes.ok()) {
    outcome->kind = CacheOutcome::Kind::kMiss;
    return nullptr;
  }
  Result<std::shared_ptr<const CompiledRuleSet>> cached = DeserializeRuleSet(*bytes);
  if (cached.ok() && (*cached)->pack_hash() == pack.content_hash && (*cached)->pack_name() == pack.name) {
    outcome->kind = CacheOutcome::Kind::kHit;
    Touch(path);
    return *cached;
  }
  outcome->kind = CacheOutcome::Kind::kRebuilt;
  outcome->reason = cached.ok() ? "cache entry belongs to another pack version" : cached.status().message();
  return nullptr;
}

std::string RuleSetCache::ProgramIdentity() {
  struct stat st {};
  if (::stat("/proc/self/exe", &st) != 0) return "";
  std::string id = fmt::format("{}:{}:{}:{}.{}:", static_cast<unsigned long long>(st.st_dev),
                               static_cast<unsigned long long>(st.st_ino), static_cast<long long>(st.st_size),
                               static_cast<long long>(st.st_mtim.tv_sec), static_cast<long>(st.st_mtim.tv_nsec));
  // The build ids change with any rebuild that changes the code, even one
  // that keeps the file's size and time, and with an upgraded library
  // (yaml-cpp parses the packs, RE2 and Hyperscan check them).
  for (const LoadedObject& o : LoadedObjects()) id.append(o.build_id);
  return fmt::format("{:016x}", Fnv1a64(id));
}

std::shared_ptr<const CompiledRuleSet> RuleSetCache::FindClean(const std::string& content_hash,
                                                               const std::string& program) const {
  if (directory_.empty() || program.empty() || content_hash.size() < 32) return nullptr;
  Result<std::string> entry = ReadFileToString(CleanMarkPath(directory_, content_hash, program));
  if (!entry.ok() || entry->empty() || entry->find('/') != std::string::npos) return nullptr;
  Result<std::string> bytes = ReadFileToString(directory_ + "/" + *entry);
  if (!bytes.ok()) return nullptr;
  Result<std::shared_ptr<const CompiledRuleSet>> cached = DeserializeRuleSet(*bytes);
  if (!cached.ok() || (*cached)->pack_hash() != content_hash) return nullptr;
  Touch(directory_ + "/" + *entry);
  return *cached;
}

void RuleSetCache::MarkClean(const Pack& pack, const std::string& program) const {
  if (directory_.empty() || program.empty() || pack.content_hash.size() < 32) return;
  const std::string entry = std::filesystem::path(PathFor(pack)).filename().string();
  (void)WriteFileAtomically(CleanMarkPath(directory_, pack.content_hash, program), entry);
}

Result<std::shared_ptr<const CompiledRuleSet>> RuleSetCache::GetOrCompile(const Pack& pack,
                                                                          const CompileOptions& options,
                                                                          Diagnostics* diags,
                                                                          CacheOutcome* outcome) const {
  CacheOutcome local;
  if (!outcome) outcome = &local;
  if (std::shared_ptr<const CompiledRuleSet> cached = Find(pack, outcome)) return cached;
  return CompileAndStore(pack, options, diags, outcome);
}

Result<std::shared_ptr<const CompiledRuleSet>> RuleSetCache::CompileAndStore(const Pack& pack,
                                                                             const CompileOptions& options,
                                                                             Diagnostics* diags,
                                                                             CacheOutcome* outcome) const {
  if (outcome->kind == CacheOutcome::Kind::kDisabled) return Compile(pack, options, diags);
  Result<std::shared_ptr<const CompiledRuleSet>> compiled = Compile(pack, options, diags);
  if (!compiled.ok()) return compiled;
  Result<std::string> serialized = SerializeRuleSet(**compiled);
  if (serialized.ok()) {
    std::error_code ec;
    std::filesystem::create_directories(directory_, ec);
    Status s = WriteFileAtomically(outcome->path, *serialized);
    if (!s.ok()) {
      if (!outcome->reason.empty()) outcome->reason += "; ";
      outcome->reason += "cache not written: " + s.message();
    } else {
      Prune(pack);
    }
  }
  return compiled;
}

void RuleSetCache::Prune(const Pack& pack) const {
  // One listing of the cache's files: entries (NAME-HASH-TAG.vrs), clean
  // marks (HASH-TAG-PROGRAM.clean) and the temporary files of writes
  // (PATH.tmp.PID).
  const std::string tag = EngineTag();
  const std::string prefix = SafeFileComponent(pack.name) + "-";
  const std::string suffix = "-" + tag + ".vrs";
  constexpr size_t kHashTag = 32 + 1 + 16;  // "HASH-TAG" in entry and mark names
  struct File {
    std::filesystem::file_time_type written;
    std::string name;
    bool removed = false;
  };
  std::vector<File> files;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.ends_with(".vrs") && !name.ends_with(".clean") && name.find(".vrs.tmp.") == std::string::npos) continue;
    std::error_code time_ec;
    const auto written = it->last_write_time(time_ec);
    if (!time_ec) files.push_back({written, std::move(name)});
  }
  const auto remove = [&](File& f) {
    std::error_code remove_ec;
    f.removed = std::filesystem::remove(directory_ + "/" + f.name, remove_ec);
  };
  const std::string just_written = std::filesystem::path(PathFor(pack)).filename().string();
  // This pack name's entries for this engine beyond the newest kept.
  std::vector<File*> mine;
  for (File& f : files) {
    if (f.name.size() == prefix.size() + 32 + suffix.size() && f.name.starts_with(prefix) &&
        f.name.ends_with(suffix)) {
      mine.push_back(&f);
    }
  }
  if (mine.size() > kKeptVersionsPerPack) {
    std::sort(mine.begin(), mine.end(), [](const File* a, const File* b) { return a->written > b->written; });
    for (size_t i = kKeptVersionsPerPack; i < mine.size(); ++i) {
      if (mine[i]->name != just_written) remove(*mine[i]);
    }
  }
  // Entries of any pack and engine (other machines sharing the folder,
  // formats an older vigil wrote) unused for kStaleAfter, and temporary
  // files a write left behind (a crash) for an hour.
  const auto now = std::filesystem::file_time_type::clock::now();
  std::set<std::string> live;  // "HASH-TAG" of the entries that stay
  for (File& f : files) {
    if (f.removed || f.name.ends_with(".clean")) continue;
    if (!f.name.ends_with(".vrs")) {
      if (now - f.written > std::chrono::hours(1)) remove(f);
    } else if (f.name != just_written && now - f.written > kStaleAfter) {
      remove(f);
    } else if (f.name.size() >= kHashTag + 4) {
      live.insert(f.name.substr(f.name.size() - 4 - kHashTag, kHashTag));
    }
  }
  // Clean marks whose entry is gone (pruned here or by another process).
  for (File& f : files) {
    if (f.name.ends_with(".clean") && !live.count(f.name.substr(0, kHashTag))) remove(f);
  }
}

}  // namespace vigil::rules
