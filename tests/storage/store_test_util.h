// Helpers for store tests: temporary store directories and hand-made
// scanned ads (invented text; phones only in 555-0100..555-0199).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "scanner/document.h"
#include "scanner/scan_result.h"
#include "storage/store.h"

namespace vigil::storage::testing {

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "vigil-store-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) pattern.clear();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline constexpr int64_t kTestClockMs = 1767225600000;  // 2026-01-01T00:00:00Z

inline OpenOptions TestOptions() {
  OpenOptions o;
  o.clock_ms = [] { return kTestClockMs; };
  o.block_cache_bytes = size_t{8} << 20;
  return o;
}

struct TestAd {
  std::string id;
  std::string text = "Sweet new girl in town, first time here.";
  std::string city = "Reno";
  std::string posted_at = "2026-01-01T12:00:00Z";
  std::string fetched_at = "2026-01-02T00:00:00Z";
  std::string url;
  double score = 0.6;
  bool flagged = true;
  std::vector<std::string> categories = {"youth"};
  std::vector<std::string> phones;   // E.164, e.g. "+17025550147"
  std::vector<std::string> emails;
  std::vector<std::string> handles;  // "snap:name"
  std::string pack = "core@1.0.0";
};

// A document and a scan result consistent with it: one hit per category
// on the text's first word, one entity per phone/email/handle on its own
// appended span.
inline std::pair<scanner::Document, scanner::ScanResult> MakeAd(const TestAd& t) {
  scanner::Document d;
  d.id = t.id;
  d.text = t.text;
  d.city = t.city;
  d.posted_at = t.posted_at;
  d.fetched_at = t.fetched_at;
  d.url = t.url.empty() ? "https://ads.example.test/" + t.id : t.url;
  d.source = "example";
  d.metadata_json = R"({"title":"invented"})";
  scanner::ScanResult r;
  r.id = t.id;
  r.score = t.score;
  r.flagged = t.flagged;
  r.categories = t.categories;
  r.pack_version = t.pack;
  const uint32_t first_word = static_cast<uint32_t>(std::min<size_t>(d.text.find(' '), d.text.size()));
  for (const std::string& c : t.categories) {
    scanner::Hit h;
    h.rule = c + ".rule";
    h.category = c;
    h.start = 0;
    h.end = first_word;
    h.match = d.text.substr(0, first_word);
    h.normalized = h.match;
    h.weight = 0.4;
    h.evidence = "supported";
    r.hits.push_back(h);
  }
  const auto add = [&](scanner::EntityType type, const std::string& value) {
    d.text += " contact ";
    scanner::Entity e;
    e.type = type;
    e.value = value;
    e.start = static_cast<uint32_t>(d.text.size());
    d.text += value;
    e.end = static_cast<uint32_t>(d.text.size());
    r.entities.push_back(e);
  };
  for (const auto& p : t.phones) add(scanner::EntityType::kPhone, p);
  for (const auto& e : t.emails) add(scanner::EntityType::kEmail, e);
  for (const auto& h : t.handles) add(scanner::EntityType::kHandle, h);
  return {std::move(d), std::move(r)};
}

inline std::vector<std::pair<scanner::Document, scanner::ScanResult>> MakeAds(const std::vector<TestAd>& ads) {
  std::vector<std::pair<scanner::Document, scanner::ScanResult>> out;
  for (const auto& a : ads) out.push_back(MakeAd(a));
  return out;
}

}  // namespace vigil::storage::testing
