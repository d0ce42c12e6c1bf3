#include "scanner/extractor_fingerprint.h"

#include <map>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "extractor_sources.h"  // generated: internal::kExtractorSourceHash
#include "rules/build_ids.h"
#include "rules/sha256.h"

namespace vigil::scanner::internal {

namespace {

// libphonenumber and every library it loads, directly or not (ICU,
// protobuf, abseil, the C++ runtime), by name and build id; "" when any of
// them has no build id or is not found among the loaded objects (then
// nothing could tell an upgraded one). The same in every program that
// links the scanner, whatever else each one loads.
std::string LibraryIds() {
  const std::vector<rules::LoadedObject> objects = rules::LoadedObjects();
  std::map<std::string, const rules::LoadedObject*> by_name;
  for (const rules::LoadedObject& o : objects) by_name.emplace(rules::BaseName(o.path), &o);
  std::vector<const rules::LoadedObject*> todo;
  for (const rules::LoadedObject& o : objects) {
    if (rules::BaseName(o.path).starts_with("libphonenumber.so")) todo.push_back(&o);
  }
  if (todo.size() != 1) return "";
  std::map<std::string, std::string> closure;  // name -> build id, sorted
  while (!todo.empty()) {
    const rules::LoadedObject* o = todo.back();
    todo.pop_back();
    if (o->build_id.empty()) return "";
    if (!closure.emplace(rules::BaseName(o->path), o->build_id).second) continue;
    for (const std::string& soname : o->needed) {
      auto it = by_name.find(soname);
      if (it == by_name.end()) return "";
      todo.push_back(it->second);
    }
  }
  std::string out;
  for (const auto& [name, id] : closure) {
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
