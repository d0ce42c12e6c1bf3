#include "scanner/extractor_fingerprint.h"

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "extractor_sources.h"  // generated: internal::kExtractorSourceHash
#include "rules/build_ids.h"
#include "rules/sha256.h"

namespace vigil::scanner::internal {

namespace {

// The libraries extraction calls into (phone parsing and its metadata,
// Unicode properties), by build id; "" when libphonenumber has none.
std::string LibraryIds() {
  std::vector<std::pair<std::string, std::string>> ids;
  rules::ForEachLoadedBuildId([&](std::string_view object, std::string_view id) {
    const std::string_view name = object.substr(object.rfind('/') + 1);
    for (std::string_view lib : {"libphonenumber", "libicu", "libprotobuf"}) {
      if (name.starts_with(lib)) ids.emplace_back(std::string(name), std::string(id));
    }
  });
  std::sort(ids.begin(), ids.end());
  const bool phonenumber = std::any_of(ids.begin(), ids.end(), [](const auto& x) {
    return x.first.starts_with("libphonenumber");
  });
  if (!phonenumber) return "";
  std::string out;
  for (const auto& [name, id] : ids) {
    out += name;
    out += '=';
    for (unsigned char c : id) out += fmt::format("{:02x}", c);
    out += ';';
  }
  return out;
}

}  // namespace

std::string ExtractorFingerprint(std::string_view phone_region, size_t max_text_bytes) {
  static std::once_flag once;
  static std::string libraries;
  std::call_once(once, [] { libraries = LibraryIds(); });
  if (libraries.empty()) return "";
  rules::Sha256 h;
  h.Update(kExtractorSourceHash);
  h.Update(";");
  h.Update(libraries);
  h.Update(fmt::format("region={};max_text_bytes={}", phone_region, max_text_bytes));
  return "x1-" + h.HexDigest().substr(0, 32);
}

}  // namespace vigil::scanner::internal
