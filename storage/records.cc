#include "storage/records.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <unordered_map>

#include "rules/sha256.h"
#include "scanner/utf8.h"

namespace vigil::storage {
namespace {

void HashField(rules::Sha256* hash, std::string_view field) {
  char length[8];
  uint64_t n = field.size();
  for (int i = 7; i >= 0; --i) {
    length[i] = static_cast<char>(n & 0xff);
    n >>= 8;
  }
  hash->Update(std::string_view(length, sizeof(length)));
  hash->Update(field);
}

bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` digits at *pos.
bool ReadDigits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

}  // namespace

const char* ReviewStatusName(ReviewStatus status) {
  switch (status) {
    case ReviewStatus::kNew: return "new";
    case ReviewStatus::kInReview: return "in_review";
    case ReviewStatus::kEscalated: return "escalated";
    case ReviewStatus::kDismissed: return "dismissed";
    case ReviewStatus::kNeedsInfo: return "needs_info";
  }
  return "new";
}

std::optional<ReviewStatus> ParseReviewStatus(std::string_view name) {
  for (int i = 0; i < kReviewStatusCount; ++i) {
    const auto s = static_cast<ReviewStatus>(i);
    if (name == ReviewStatusName(s)) return s;
  }
  return std::nullopt;
}

double NetworkBoostedScore(double base_score, double boost) {
  return 1.0 - (1.0 - base_score) * (1.0 - boost);
}

std::string ContentHash(const scanner::Document& doc) {
  rules::Sha256 hash;
  HashField(&hash, doc.text);
  HashField(&hash, doc.url);
  HashField(&hash, doc.source);
  HashField(&hash, doc.city);
  HashField(&hash, doc.posted_at);
  return hash.HexDigest();
}

std::optional<int64_t> ParseIsoTime(std::string_view s) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!ReadDigits(s, &pos, 4, &year) || pos >= s.size() || s[pos++] != '-' ||
      !ReadDigits(s, &pos, 2, &month) || pos >= s.size() || s[pos++] != '-' ||
      !ReadDigits(s, &pos, 2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  int64_t seconds = DaysFromCivil(year, month, day) * 86400;
  if (pos == s.size()) return seconds;
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
  ++pos;
  int hour = 0, minute = 0, second = 0;
  if (!ReadDigits(s, &pos, 2, &hour) || pos >= s.size() || s[pos++] != ':' ||
      !ReadDigits(s, &pos, 2, &minute)) {
    return std::nullopt;
  }
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!ReadDigits(s, &pos, 2, &second)) return std::nullopt;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      const size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      if (pos == start) return std::nullopt;  // fractions are accepted and dropped
    }
  }
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;  // 60: leap second
  seconds += hour * 3600 + minute * 60 + second;
  if (pos == s.size()) return seconds;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size() ? std::optional<int64_t>(seconds) : std::nullopt;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  const int sign = s[pos++] == '+' ? 1 : -1;
  int offset_hours = 0, offset_minutes = 0;
  if (!ReadDigits(s, &pos, 2, &offset_hours)) return std::nullopt;
  if (pos < s.size()) {
    if (s[pos] == ':') ++pos;
    if (!ReadDigits(s, &pos, 2, &offset_minutes)) return std::nullopt;
  }
  if (pos != s.size() || offset_hours > 23 || offset_minutes > 59) return std::nullopt;
  return seconds - sign * (offset_hours * 3600 + offset_minutes * 60);
}

std::string FormatIsoTime(int64_t t) {
  int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  int64_t rem = t - days * 86400;
  // civil_from_days (Howard Hinnant).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char buf[40];
  snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02d:%02d:%02dZ", static_cast<long long>(y), m, d,
           static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  return buf;
}

int64_t LeadTime(const scanner::Document& doc, int64_t ingested_at_ms) {
  if (auto t = ParseIsoTime(doc.posted_at)) return *t;
  if (auto t = ParseIsoTime(doc.fetched_at)) return *t;
  return ingested_at_ms >= 0 ? ingested_at_ms / 1000 : -((-ingested_at_ms + 999) / 1000);
}

std::string MakeSnippet(std::string_view text, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(text.size(), max_bytes));
  bool pending_space = false;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (IsSpace(c)) {
      pending_space = !out.empty();
      ++i;
      continue;
    }
    if (c < 0x80) {
      // A run of ASCII that is not white space, appended at once.
      size_t end = i + 1;
      while (end < text.size()) {
        const auto d = static_cast<unsigned char>(text[end]);
        if (d >= 0x80 || IsSpace(d)) break;
        ++end;
      }
      const size_t room = max_bytes - std::min(max_bytes, out.size() + (pending_space ? 1 : 0));
      if (room == 0) break;
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.append(text.substr(i, std::min(end - i, room)));
      if (end - i > room) break;
      i = end;
      continue;
    }
    const size_t n = scanner::Utf8SequenceLength(text, i);
    const std::string_view piece = n == 0 ? kReplacement : text.substr(i, n);
    if (out.size() + (pending_space ? 1 : 0) + piece.size() > max_bytes) break;
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::string FindingId(std::string_view rule, std::string_view content_hash,
                      std::string_view normalized_match, uint32_t ordinal) {
  rules::Sha256 hash;
  HashField(&hash, rule);
  HashField(&hash, content_hash);
  HashField(&hash, normalized_match);
  HashField(&hash, std::to_string(ordinal));
  return hash.HexDigest().substr(0, 24);
}

std::vector<std::string> FindingIds(const scanner::ScanResult& result,
                                    std::string_view content_hash) {
  std::vector<std::string> ids;
  ids.reserve(result.hits.size());
  std::map<std::pair<std::string_view, std::string_view>, uint32_t> seen;
  for (const scanner::Hit& hit : result.hits) {
    const std::string_view match = hit.normalized.empty() ? hit.match : hit.normalized;
    const uint32_t ordinal = seen[{hit.rule, match}]++;
    ids.push_back(FindingId(hit.rule, content_hash, match, ordinal));
  }
  return ids;
}

std::vector<std::string> EffectiveCategories(const LeadRecord& lead) {
  std::vector<std::string> out = lead.categories;
  if (lead.network) out.emplace_back(kNetworkCategory);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool IsIndexedEntity(scanner::EntityType type) {
  return type == scanner::EntityType::kPhone || type == scanner::EntityType::kEmail ||
         type == scanner::EntityType::kHandle;
}

std::vector<EntityRef> IndexedEntities(const scanner::ScanResult& result) {
  std::vector<EntityRef> out;
  for (const scanner::Entity& e : result.entities) {
    if (!IsIndexedEntity(e.type) || e.value.empty()) continue;
    EntityRef ref{e.type, e.value};
    if (std::find(out.begin(), out.end(), ref) == out.end()) out.push_back(std::move(ref));
  }
  return out;
}

std::string NormalizeCity(std::string_view city) {
  size_t b = 0, e = city.size();
  while (b < e && IsSpace(static_cast<unsigned char>(city[b]))) ++b;
  while (e > b && IsSpace(static_cast<unsigned char>(city[e - 1]))) --e;
  std::string out(city.substr(b, e - b));
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::optional<int64_t> FindNetworkWindow(std::vector<Posting> postings,
                                         const NetworkSignalOptions& options) {
  std::sort(postings.begin(), postings.end(),
            [](const Posting& a, const Posting& b) { return a.time < b.time; });
  const int64_t window = static_cast<int64_t>(options.window_days) * 86400;
  std::unordered_map<std::string, int> in_window;  // normalised city → postings in window
  std::vector<std::string> cities;
  cities.reserve(postings.size());
  for (const Posting& p : postings) cities.push_back(NormalizeCity(p.city));
  size_t left = 0;
  for (size_t right = 0; right < postings.size(); ++right) {
    while (postings[right].time - postings[left].time > window) {
      if (!cities[left].empty() && --in_window[cities[left]] == 0) in_window.erase(cities[left]);
      ++left;
    }
    if (!cities[right].empty()) ++in_window[cities[right]];
    if (in_window.size() >= static_cast<size_t>(options.min_cities)) return postings[right].time;
  }
  return std::nullopt;
}

}  // namespace vigil::storage
