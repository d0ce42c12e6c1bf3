#include "scanner/result_json.h"

#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "scanner/utf8.h"

namespace vigil::scanner {

using namespace std::string_view_literals;

namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendUintDigits(uint64_t v, std::string* out) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out->push_back(buf[--n]);
}

void AppendScore(double score, std::string* out) {
  // Scores are rounded to 4 decimals by the scanner, and weights are
  // written with a few decimals: such a value is exactly k / 10000 for an
  // integer k, and then its shortest round-trip form (what fmt's "{}"
  // prints) is k / 10000 in decimal without trailing zeros, since any
  // other decimal of at most 4 places is at least 1e-4 away. Printed here
  // without fmt's general machinery; anything else goes to fmt.
  if (score >= 0.0 && score <= 100000.0) {
    const double scaled = std::nearbyint(score * 10000.0);
    const uint64_t k = static_cast<uint64_t>(scaled);
    if (static_cast<double>(k) / 10000.0 == score) {
      AppendUintDigits(k / 10000, out);
      uint64_t frac = k % 10000;
      if (frac != 0) {
        char digits[5] = {'.', static_cast<char>('0' + frac / 1000), static_cast<char>('0' + frac / 100 % 10),
                          static_cast<char>('0' + frac / 10 % 10), static_cast<char>('0' + frac % 10)};
        size_t n = 5;
        while (digits[n - 1] == '0') --n;
        out->append(digits, n);
      }
      return;
    }
  }
  fmt::format_to(std::back_inserter(*out), "{}", score);
}


}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // Copy the longest run of bytes that need no escaping.
    size_t run = i;
    while (run < n) {
      unsigned char c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out->append(s.data() + i, run - i);
    i = run;
    if (i >= n) break;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t len = Utf8SequenceLength(s, i);
      if (len == 0) {
        out->append("\\ufffd"sv);
        ++i;
      } else {
        out->append(s.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""sv); break;
      case '\\': out->append("\\\\"sv); break;
      case '\n': out->append("\\n"sv); break;
      case '\r': out->append("\\r"sv); break;
      case '\t': out->append("\\t"sv); break;
      default:
        out->append("\\u00"sv);
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
    ++i;
  }
  out->push_back('"');
}

void AppendHitJson(const Hit& hit, const ResultJsonOptions& options, std::string* out) {
  out->append("{\"rule\":"sv);
  AppendJsonString(hit.rule, out);
  out->append(",\"category\":"sv);
  AppendJsonString(hit.category, out);
  out->append(",\"start\":"sv);
  AppendUintDigits(hit.start, out);
  out->append(",\"end\":"sv);
  AppendUintDigits(hit.end, out);
  out->append(",\"match\":"sv);
  AppendJsonString(hit.match, out);
  if (options.include_details) {
    out->append(",\"normalized\":"sv);
    AppendJsonString(hit.normalized, out);
    out->append(",\"evidence\":"sv);
    AppendJsonString(hit.evidence, out);
    out->append(",\"weight\":"sv);
    AppendScore(hit.weight, out);
  }
  if (!hit.suppressed_reason.empty()) {
    out->append(",\"reason\":"sv);
    AppendJsonString(hit.suppressed_reason, out);
  }
  out->push_back('}');
}

void AppendEntityJson(const Entity& e, std::string* out) {
  out->append("{\"type\":\""sv);
  out->append(EntityTypeName(e.type));
  out->append("\",\"value\":"sv);
  AppendJsonString(e.value, out);
  out->append(",\"obfuscated\":"sv);
  out->append(e.obfuscated ? "true"sv : "false"sv);
  out->append(",\"start\":"sv);
  AppendUintDigits(e.start, out);
  out->append(",\"end\":"sv);
  AppendUintDigits(e.end, out);
  if (!e.platform.empty()) {
    out->append(",\"platform\":"sv);
    AppendJsonString(e.platform, out);
  }
  if (!e.unit.empty()) {
    out->append(",\"unit\":"sv);
    AppendJsonString(e.unit, out);
  }
  if (!e.duration.empty()) {
    out->append(",\"duration\":"sv);
    AppendJsonString(e.duration, out);
  }
  out->push_back('}');
}

void AppendResultJson(const ScanResult& r, const ResultJsonOptions& options, std::string* out) {
  out->append("{\"id\":"sv);
  AppendJsonString(r.id, out);
  out->append(",\"score\":"sv);
  AppendScore(r.score, out);
  out->append(",\"flagged\":"sv);
  out->append(r.flagged ? "true"sv : "false"sv);
  out->append(",\"categories\":["sv);
  for (size_t i = 0; i < r.categories.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(r.categories[i], out);
  }
  out->append("],\"hits\":["sv);
  for (size_t i = 0; i < r.hits.size(); ++i) {
    if (i) out->push_back(',');
    AppendHitJson(r.hits[i], options, out);
  }
  out->append("],\"entities\":["sv);
  for (size_t i = 0; i < r.entities.size(); ++i) {
    if (i) out->push_back(',');
    AppendEntityJson(r.entities[i], out);
  }
  out->append("],\"pack\":"sv);
  AppendJsonString(r.pack_version, out);
  if (!r.truncated.empty()) {
    out->append(",\"truncated\":["sv);
    for (size_t i = 0; i < r.truncated.size(); ++i) {
      if (i) out->push_back(',');
      AppendJsonString(r.truncated[i], out);
    }
    out->push_back(']');
  }
  if (options.include_suppressed) {
    out->append(",\"suppressed\":["sv);
    for (size_t i = 0; i < r.suppressed.size(); ++i) {
      if (i) out->push_back(',');
      AppendHitJson(r.suppressed[i], options, out);
    }
    out->push_back(']');
  }
  out->push_back('}');
}

}  // namespace vigil::scanner
