#include "scanner/result_json.h"

#include <fmt/format.h>

#include "scanner/utf8.h"

namespace vigil::scanner {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendScore(double score, std::string* out) {
  // Scores are rounded to 4 decimals by the scanner; print them briefly.
  fmt::format_to(std::back_inserter(*out), "{}", score);
}

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out->push_back(buf[--n]);
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
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(s.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
    ++i;
  }
  out->push_back('"');
}

void AppendHitJson(const Hit& hit, const ResultJsonOptions& options, std::string* out) {
  out->append("{\"rule\":");
  AppendJsonString(hit.rule, out);
  out->append(",\"category\":");
  AppendJsonString(hit.category, out);
  out->append(",\"start\":");
  AppendUint(hit.start, out);
  out->append(",\"end\":");
  AppendUint(hit.end, out);
  out->append(",\"match\":");
  AppendJsonString(hit.match, out);
  if (options.include_details) {
    out->append(",\"normalized\":");
    AppendJsonString(hit.normalized, out);
    out->append(",\"evidence\":");
    AppendJsonString(hit.evidence, out);
    out->append(",\"weight\":");
    AppendScore(hit.weight, out);
  }
  if (!hit.suppressed_reason.empty()) {
    out->append(",\"reason\":");
    AppendJsonString(hit.suppressed_reason, out);
  }
  out->push_back('}');
}

void AppendEntityJson(const Entity& e, std::string* out) {
  out->append("{\"type\":\"");
  out->append(EntityTypeName(e.type));
  out->append("\",\"value\":");
  AppendJsonString(e.value, out);
  out->append(",\"obfuscated\":");
  out->append(e.obfuscated ? "true" : "false");
  out->append(",\"start\":");
  AppendUint(e.start, out);
  out->append(",\"end\":");
  AppendUint(e.end, out);
  if (!e.platform.empty()) {
    out->append(",\"platform\":");
    AppendJsonString(e.platform, out);
  }
  if (!e.unit.empty()) {
    out->append(",\"unit\":");
    AppendJsonString(e.unit, out);
  }
  if (!e.duration.empty()) {
    out->append(",\"duration\":");
    AppendJsonString(e.duration, out);
  }
  out->push_back('}');
}

void AppendResultJson(const ScanResult& r, const ResultJsonOptions& options, std::string* out) {
  out->append("{\"id\":");
  AppendJsonString(r.id, out);
  out->append(",\"score\":");
  AppendScore(r.score, out);
  out->append(",\"flagged\":");
  out->append(r.flagged ? "true" : "false");
  out->append(",\"categories\":[");
  for (size_t i = 0; i < r.categories.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(r.categories[i], out);
  }
  out->append("],\"hits\":[");
  for (size_t i = 0; i < r.hits.size(); ++i) {
    if (i) out->push_back(',');
    AppendHitJson(r.hits[i], options, out);
  }
  out->append("],\"entities\":[");
  for (size_t i = 0; i < r.entities.size(); ++i) {
    if (i) out->push_back(',');
    AppendEntityJson(r.entities[i], out);
  }
  out->append("],\"pack\":");
  AppendJsonString(r.pack_version, out);
  if (!r.truncated.empty()) {
    out->append(",\"truncated\":[");
    for (size_t i = 0; i < r.truncated.size(); ++i) {
      if (i) out->push_back(',');
      AppendJsonString(r.truncated[i], out);
    }
    out->push_back(']');
  }
  if (options.include_suppressed) {
    out->append(",\"suppressed\":[");
    for (size_t i = 0; i < r.suppressed.size(); ++i) {
      if (i) out->push_back(',');
      AppendHitJson(r.suppressed[i], options, out);
    }
    out->push_back(']');
  }
  out->push_back('}');
}

}  // namespace vigil::scanner
