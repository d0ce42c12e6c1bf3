// TokenStore and TokenAuth: bearer tokens for vigild, kept in a small file
// in the data directory (DIR/tokens.jsonl), not in RocksDB, so that
// `vigil tokens` works while vigild holds the store's lock.
//
// One JSON record per line: {"id","user","role","salt","hash","created",
// "revoked"}; `hash` is hex SHA-256 over salt + token. A token is 32 random
// bytes from /dev/urandom printed as "vgl_" + 64 hex digits; it is shown
// once and never stored. Writers take an flock on DIR/tokens.lock, write a
// temporary file, fsync it and rename it over the old one, so readers see
// the old or the new file, never half of one.
//
// Thread-safety: TokenStore's functions are safe from many threads and
// processes (the file lock serialises writers). TokenAuth may be called
// from many threads at once. It stats the file on every call (a
// microsecond) and re-reads it when its inode, size or mtime changed, so a
// running vigild honours new and revoked tokens at the next request.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/status.h"

namespace vigil::daemon {

enum class Role { kIngest, kInvestigator, kAdmin };
const char* RoleName(Role role);  // "ingest", "investigator", "admin"
std::optional<Role> ParseRole(std::string_view name);
// Whether `have` may do what `need` may: admin may everything; the other
// roles only their own.
bool RoleAllows(Role have, Role need);

struct TokenRecord {
  std::string id;    // 12 hex digits, shown by `tokens list`, used to revoke
  std::string user;
  Role role = Role::kInvestigator;
  std::string salt;  // 32 hex digits
  std::string hash;  // hex SHA-256(salt + token)
  int64_t created = 0;  // Unix seconds
  int64_t revoked = 0;  // Unix seconds; 0 while valid
};

// Who a request acts as.
struct Principal {
  std::string user;
  Role role = Role::kInvestigator;
  std::string token_id;
};

class TokenStore {
 public:
  static constexpr const char* kFileName = "tokens.jsonl";

  explicit TokenStore(std::string data_dir);

  const std::string& path() const { return path_; }

  // Creates a token for `user` with `role`; returns the token text (the
  // only time it exists) and fills *record. Creates the data directory
  // when missing. InvalidArgument for an empty user or one with control
  // characters; IOError when the file cannot be written.
  Result<std::string> Create(std::string_view user, Role role, TokenRecord* record);
  // All records, revoked ones included, oldest first. A missing file is an
  // empty list; a damaged line is Corruption naming file:line.
  Result<std::vector<TokenRecord>> List() const;
  // Marks every valid token whose id or user is `id_or_user` revoked;
  // returns how many. NotFound when none matched.
  Result<int> Revoke(std::string_view id_or_user);

 private:
  std::string dir_;
  std::string path_;
};

class TokenAuth {
 public:
  explicit TokenAuth(std::string data_dir);

  // The principal of `token` (without "Bearer "), or nullopt when it is
  // unknown or revoked.
  std::optional<Principal> Authenticate(std::string_view token);

  // Number of valid tokens as of the last read (for logs).
  size_t valid_tokens();

 private:
  struct FileStamp {
    uint64_t inode = 0;
    int64_t size = -1;
    int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };
  FileStamp Stat() const;
  void ReloadLocked();

  TokenStore store_;
  std::mutex mu_;
  std::vector<TokenRecord> valid_;
  FileStamp stamp_;
  bool loaded_ = false;
};

// Constant-time comparison of two strings of equal length (false when the
// lengths differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace vigil::daemon
