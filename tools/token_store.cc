#include "tools/token_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rules/sha256.h"

namespace vigil::daemon {
namespace {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

std::string Hex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

Status RandomHex(size_t bytes, std::string* out) {
  std::vector<unsigned char> buf(bytes);
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(fmt::format("/dev/urandom: {}", std::strerror(errno)));
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::read(fd, buf.data() + got, bytes - got);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      ::close(fd);
      return Status::IOError("/dev/urandom: short read");
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  *out = Hex(buf.data(), buf.size());
  return Status::Ok();
}

std::string HashToken(std::string_view salt, std::string_view token) {
  rules::Sha256 h;
  h.Update(salt);
  h.Update(token);
  return h.HexDigest();
}

json ToJson(const TokenRecord& r) {
  return json{{"id", r.id},       {"user", r.user},       {"role", RoleName(r.role)}, {"salt", r.salt},
              {"hash", r.hash},   {"created", r.created}, {"revoked", r.revoked}};
}

Result<std::vector<TokenRecord>> ReadRecords(const std::string& path) {
  std::vector<TokenRecord> out;
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT || !fs::exists(path)) return out;
    return Status::IOError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    auto bad = [&](const char* what) {
      return Status::Corruption(fmt::format("{}:{}: {}", path, number, what));
    };
    if (!j.is_object()) return bad("not a JSON object");
    TokenRecord r;
    auto str = [&](const char* key, std::string* v) {
      auto it = j.find(key);
      if (it == j.end() || !it->is_string()) return false;
      *v = it->get<std::string>();
      return true;
    };
    std::string role;
    if (!str("id", &r.id) || !str("user", &r.user) || !str("role", &role) || !str("salt", &r.salt) ||
        !str("hash", &r.hash)) {
      return bad("missing id, user, role, salt or hash");
    }
    std::optional<Role> parsed = ParseRole(role);
    if (!parsed) return bad("unknown role");
    r.role = *parsed;
    if (auto it = j.find("created"); it != j.end() && it->is_number_integer()) r.created = it->get<int64_t>();
    if (auto it = j.find("revoked"); it != j.end() && it->is_number_integer()) r.revoked = it->get<int64_t>();
    out.push_back(std::move(r));
  }
  return out;
}

// Holds an exclusive flock on DIR/tokens.lock for its lifetime.
class FileLock {
 public:
  Status Acquire(const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError(fmt::format("{}: cannot create: {}", dir, ec.message()));
    std::string path = dir + "/tokens.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) return Status::IOError(fmt::format("{}: {}", path, std::strerror(errno)));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return Status::IOError(fmt::format("{}: flock: {}", path, std::strerror(errno)));
    }
    return Status::Ok();
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }

 private:
  int fd_ = -1;
};

Status WriteRecords(const std::string& dir, const std::string& path, const std::vector<TokenRecord>& records) {
  std::string text;
  for (const TokenRecord& r : records) {
    text += ToJson(r).dump();
    text += '\n';
  }
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError(fmt::format("{}: {}", tmp, std::strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::IOError(fmt::format("{}: write: {}", tmp, std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return Status::IOError(fmt::format("{}: fsync failed", tmp));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::IOError(fmt::format("{}: rename: {}", path, std::strerror(errno)));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kIngest: return "ingest";
    case Role::kInvestigator: return "investigator";
    case Role::kAdmin: return "admin";
  }
  return "?";
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "ingest") return Role::kIngest;
  if (name == "investigator") return Role::kInvestigator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

bool RoleAllows(Role have, Role need) { return have == Role::kAdmin || have == need; }

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

TokenStore::TokenStore(std::string data_dir) : dir_(std::move(data_dir)), path_(dir_ + "/" + kFileName) {}

Result<std::string> TokenStore::Create(std::string_view user, Role role, TokenRecord* record) {
  if (user.empty() || user.size() > 128) return Status::InvalidArgument("user: give a name of 1 to 128 characters");
  for (char c : user) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::InvalidArgument("user: control characters are not allowed");
    }
  }
  FileLock lock;
  if (Status s = lock.Acquire(dir_); !s.ok()) return s;
  Result<std::vector<TokenRecord>> records = ReadRecords(path_);
  if (!records.ok()) return records.status();
  std::string secret, salt, id;
  if (Status s = RandomHex(32, &secret); !s.ok()) return s;
  if (Status s = RandomHex(16, &salt); !s.ok()) return s;
  if (Status s = RandomHex(6, &id); !s.ok()) return s;
  std::string token = "vgl_" + secret;
  TokenRecord r;
  r.id = id;
  r.user = std::string(user);
  r.role = role;
  r.salt = salt;
  r.hash = HashToken(salt, token);
  r.created = static_cast<int64_t>(std::time(nullptr));
  records->push_back(r);
  if (Status s = WriteRecords(dir_, path_, *records); !s.ok()) return s;
  if (record) *record = r;
  return token;
}

Result<std::vector<TokenRecord>> TokenStore::List() const { return ReadRecords(path_); }

Result<int> TokenStore::Revoke(std::string_view id_or_user) {
  FileLock lock;
  if (Status s = lock.Acquire(dir_); !s.ok()) return s;
  Result<std::vector<TokenRecord>> records = ReadRecords(path_);
  if (!records.ok()) return records.status();
  int n = 0;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  for (TokenRecord& r : *records) {
    if (r.revoked == 0 && (r.id == id_or_user || r.user == id_or_user)) {
      r.revoked = now;
      ++n;
    }
  }
  if (n == 0) return Status::NotFound(fmt::format("no valid token with id or user '{}'", id_or_user));
  if (Status s = WriteRecords(dir_, path_, *records); !s.ok()) return s;
  return n;
}

TokenAuth::TokenAuth(std::string data_dir) : store_(std::move(data_dir)) {}

TokenAuth::FileStamp TokenAuth::Stat() const {
  struct stat st;
  FileStamp f;
  if (::stat(store_.path().c_str(), &st) == 0) {
    f.inode = st.st_ino;
    f.size = st.st_size;
    f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  return f;
}

void TokenAuth::ReloadLocked() {
  FileStamp stamp = Stat();
  if (loaded_ && stamp == stamp_) return;
  Result<std::vector<TokenRecord>> records = store_.List();
  if (!records.ok()) return;  // keep what we had; a damaged file is not a reason to lock everyone out
  valid_.clear();
  for (TokenRecord& r : *records) {
    if (r.revoked == 0) valid_.push_back(std::move(r));
  }
  stamp_ = stamp;
  loaded_ = true;
}

std::optional<Principal> TokenAuth::Authenticate(std::string_view token) {
  std::lock_guard lock(mu_);
  ReloadLocked();
  if (token.size() < 4 || token.size() > 256) return std::nullopt;
  for (const TokenRecord& r : valid_) {
    if (ConstantTimeEquals(HashToken(r.salt, token), r.hash)) return Principal{r.user, r.role, r.id};
  }
  return std::nullopt;
}

size_t TokenAuth::valid_tokens() {
  std::lock_guard lock(mu_);
  ReloadLocked();
  return valid_.size();
}

}  // namespace vigil::daemon
