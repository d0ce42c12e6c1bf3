#include "storage/keys.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace vigil::storage::keys {
namespace {

// Format byte at the start of every value; bump per type when its layout
// changes and keep decoding the old one.
constexpr uint8_t kFormatV1 = 1;
// Findings since schema 3: the extractor fingerprint (entities_by) follows
// the pack version.
constexpr uint8_t kFindingsV2 = 2;

// ---- value writer / reader ----

class Writer {
 public:
  explicit Writer(size_t reserve = 64) { out_.reserve(reserve); }
  // Writes into `reuse`'s memory (its contents are dropped).
  Writer(std::string&& reuse, size_t reserve) : out_(std::move(reuse)) {
    out_.clear();
    out_.reserve(reserve);
  }
  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Bool(bool b) { Byte(b ? 1 : 0); }
  // Built in a local buffer and appended once: a push_back per byte
  // checked the capacity per byte (encoding findings is on every rescanned
  // ad's path).
  void Varint(uint64_t v) {
    char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }
  void Signed(int64_t v) { Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Double(double d) {
    const uint64_t bits = std::bit_cast<uint64_t>(d);
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
    out_.append(buf, 8);
  }
  void String(std::string_view s) {
    Varint(s.size());
    out_.append(s);
  }
  void Strings(const std::vector<std::string>& v) {
    Varint(v.size());
    for (const auto& s : v) String(s);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Byte(uint8_t* b) {
    if (in_.empty()) return false;
    *b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool Bool(bool* b) {
    uint8_t v;
    if (!Byte(&v) || v > 1) return false;
    *b = v == 1;
    return true;
  }
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (in_.empty()) return false;
      const auto c = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      result |= static_cast<uint64_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  template <typename T>
  bool Unsigned(T* v) {
    uint64_t x;
    if (!Varint(&x) || x > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
    *v = static_cast<T>(x);
    return true;
  }
  bool Signed(int64_t* v) {
    uint64_t x;
    if (!Varint(&x)) return false;
    *v = static_cast<int64_t>((x >> 1) ^ (~(x & 1) + 1));
    return true;
  }
  bool Int(int* v) {
    int64_t x;
    if (!Signed(&x) || x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max()) return false;
    *v = static_cast<int>(x);
    return true;
  }
  bool Double(double* d) {
    if (in_.size() < 8) return false;
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(8);
    *d = std::bit_cast<double>(bits);
    return true;
  }
  bool StringView(std::string_view* s) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size()) return false;
    *s = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool String(std::string* s) {
    std::string_view v;
    if (!StringView(&v)) return false;
    s->assign(v);
    return true;
  }
  // A count of items that each take at least one byte: bounded by what is left.
  bool Count(uint64_t* n) { return Varint(n) && *n <= in_.size(); }
  bool Strings(std::vector<std::string>* v) {
    uint64_t n;
    if (!Count(&n)) return false;
    v->resize(n);
    for (auto& s : *v) {
      if (!String(&s)) return false;
    }
    return true;
  }
  bool Format() {
    uint8_t f;
    return Byte(&f) && f == kFormatV1;
  }
  // A findings value's format: *v2 tells whether it has entities_by.
  bool FindingsFormat(bool* v2) {
    uint8_t f;
    if (!Byte(&f) || (f != kFormatV1 && f != kFindingsV2)) return false;
    *v2 = f == kFindingsV2;
    return true;
  }
  bool done() const { return in_.empty(); }
  std::string_view rest() const { return in_; }

 private:
  std::string_view in_;
};

void WriteHit(Writer* w, const scanner::Hit& h) {
  w->String(h.rule);
  w->String(h.category);
  w->Varint(h.start);
  w->Varint(h.end);
  w->String(h.match);
  w->String(h.normalized);
  w->Signed(h.pattern_index);
  w->Double(h.weight);
  w->String(h.evidence);
  w->String(h.suppressed_reason);
}

bool ReadHit(Reader* r, scanner::Hit* h) {
  return r->String(&h->rule) && r->String(&h->category) && r->Unsigned(&h->start) &&
         r->Unsigned(&h->end) && r->String(&h->match) && r->String(&h->normalized) &&
         r->Int(&h->pattern_index) && r->Double(&h->weight) && r->String(&h->evidence) &&
         r->String(&h->suppressed_reason);
}

void WriteHits(Writer* w, const std::vector<scanner::Hit>& hits) {
  w->Varint(hits.size());
  for (const auto& h : hits) WriteHit(w, h);
}

bool ReadHits(Reader* r, std::vector<scanner::Hit>* hits) {
  uint64_t n;
  if (!r->Count(&n)) return false;
  hits->resize(n);
  for (auto& h : *hits) {
    if (!ReadHit(r, &h)) return false;
  }
  return true;
}

bool ReadEntityType(Reader* r, scanner::EntityType* type) {
  uint8_t t;
  if (!r->Byte(&t) || t > static_cast<uint8_t>(scanner::EntityType::kAge)) return false;
  *type = static_cast<scanner::EntityType>(t);
  return true;
}

bool ReadStatus(Reader* r, ReviewStatus* status) {
  uint8_t s;
  if (!r->Byte(&s) || s >= kReviewStatusCount) return false;
  *status = static_cast<ReviewStatus>(s);
  return true;
}

bool ValidEntityTypeByte(uint8_t t) { return t <= static_cast<uint8_t>(scanner::EntityType::kAge); }

}  // namespace

const char* CfName(Cf cf) {
  switch (cf) {
    case Cf::kMeta: return "meta";
    case Cf::kAds: return "ads";
    case Cf::kAdVersions: return "ad_versions";
    case Cf::kFindings: return "findings";
    case Cf::kLeads: return "leads";
    case Cf::kLeadsByScore: return "leads_by_score";
    case Cf::kLeadsByTime: return "leads_by_time";
    case Cf::kLeadsByCategory: return "leads_by_category";
    case Cf::kLeadsByStatus: return "leads_by_status";
    case Cf::kEntities: return "entities";
    case Cf::kEntityStats: return "entity_stats";
    case Cf::kReviews: return "reviews";
    case Cf::kReviewHistory: return "review_history";
    case Cf::kAudit: return "audit";
    case Cf::kCheckpoints: return "checkpoints";
    case Cf::kTokens: return "tokens";
    case Cf::kCount: break;
  }
  return "?";
}

// ---- primitives ----

void PutBigEndian32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutBigEndian64(std::string* out, uint64_t v) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((v >> (8 * (7 - i))) & 0xff);
  out->append(bytes, 8);
}

uint32_t GetBigEndian32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t OrderedDouble(double v) {
  if (v == 0.0) v = 0.0;  // -0.0 and 0.0 are one score
  const uint64_t bits = std::bit_cast<uint64_t>(v);
  return (bits & (1ull << 63)) ? ~bits : bits | (1ull << 63);
}

double DoubleFromOrdered(uint64_t v) {
  const uint64_t bits = (v & (1ull << 63)) ? v & ~(1ull << 63) : ~v;
  return std::bit_cast<double>(bits);
}

uint64_t OrderedTime(int64_t t) { return static_cast<uint64_t>(t) ^ (1ull << 63); }
int64_t TimeFromOrdered(uint64_t v) { return static_cast<int64_t>(v ^ (1ull << 63)); }

void PutEscaped(std::string* out, std::string_view s) {
  if (std::memchr(s.data(), '\0', s.size()) == nullptr) {
    out->append(s);  // the usual case: nothing to escape
  } else {
    for (char c : s) {
      out->push_back(c);
      if (c == '\0') out->push_back('\xff');
    }
  }
  out->push_back('\0');
  out->push_back('\x01');
}

bool GetEscaped(std::string_view* in, std::string* out) {
  out->clear();
  size_t i = 0;
  while (i < in->size()) {
    const char c = (*in)[i];
    if (c != '\0') {
      out->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= in->size()) return false;
    const char next = (*in)[i + 1];
    if (next == '\xff') {
      out->push_back('\0');
      i += 2;
    } else if (next == '\x01') {
      in->remove_prefix(i + 2);
      return true;
    } else {
      return false;
    }
  }
  return false;
}

// ---- keys ----

std::string AdVersionPrefix(std::string_view ad_id) {
  std::string k;
  k.reserve(ad_id.size() + 6);
  PutEscaped(&k, ad_id);
  return k;
}

std::string AdVersionKey(std::string_view ad_id, uint32_t version) {
  std::string k = AdVersionPrefix(ad_id);
  PutBigEndian32(&k, version);
  return k;
}

bool ParseAdVersionKey(std::string_view key, std::string* ad_id, uint32_t* version) {
  if (!GetEscaped(&key, ad_id) || key.size() != 4) return false;
  *version = GetBigEndian32(key.data());
  return true;
}

std::string LeadScoreKey(double score, std::string_view ad_id) {
  std::string k;
  k.reserve(8 + ad_id.size());
  PutBigEndian64(&k, ~OrderedDouble(score));
  k.append(ad_id);
  return k;
}

std::string LeadTimeSeek(int64_t t) {
  std::string k;
  PutBigEndian64(&k, ~OrderedTime(t));
  return k;
}

std::string LeadTimeKey(int64_t time, std::string_view ad_id) {
  std::string k;
  k.reserve(8 + ad_id.size());
  PutBigEndian64(&k, ~OrderedTime(time));
  k.append(ad_id);
  return k;
}

std::string LeadCategoryPrefix(std::string_view category) {
  std::string k;
  PutEscaped(&k, category);
  return k;
}

std::string LeadCategoryKey(std::string_view category, double score, std::string_view ad_id) {
  std::string k;
  k.reserve(category.size() + 2 + 8 + ad_id.size());
  PutEscaped(&k, category);
  PutBigEndian64(&k, ~OrderedDouble(score));
  k.append(ad_id);
  return k;
}

std::string LeadStatusPrefix(ReviewStatus status) {
  return std::string(1, static_cast<char>(status));
}

std::string LeadStatusKey(ReviewStatus status, double score, std::string_view ad_id) {
  std::string k;
  k.reserve(1 + 8 + ad_id.size());
  k.push_back(static_cast<char>(status));
  PutBigEndian64(&k, ~OrderedDouble(score));
  k.append(ad_id);
  return k;
}

bool ParseLeadIndexKey(Cf cf, std::string_view key, std::string* ad_id, double* score,
                       int64_t* time) {
  switch (cf) {
    case Cf::kLeadsByScore:
      break;
    case Cf::kLeadsByTime:
      if (key.size() < 8) return false;
      if (time) *time = TimeFromOrdered(~GetBigEndian64(key.data()));
      ad_id->assign(key.substr(8));
      return true;
    case Cf::kLeadsByCategory: {
      std::string category;
      if (!GetEscaped(&key, &category)) return false;
      break;
    }
    case Cf::kLeadsByStatus:
      if (key.empty() || static_cast<uint8_t>(key[0]) >= kReviewStatusCount) return false;
      key.remove_prefix(1);
      break;
    default:
      return false;
  }
  if (key.size() < 8) return false;
  if (score) *score = DoubleFromOrdered(~GetBigEndian64(key.data()));
  ad_id->assign(key.substr(8));
  return true;
}

std::vector<IndexEntry> LeadIndexEntries(std::string_view ad_id, const LeadRecord& lead) {
  std::vector<IndexEntry> out;
  out.reserve(2 + lead.categories.size() + 1);
  out.push_back({Cf::kLeadsByTime, LeadTimeKey(lead.time, ad_id)});
  out.push_back({Cf::kLeadsByStatus, LeadStatusKey(lead.status, lead.score, ad_id)});
  ForEachEffectiveCategory(lead, [&](std::string_view category) {
    out.push_back({Cf::kLeadsByCategory, LeadCategoryKey(category, lead.score, ad_id)});
  });
  return out;
}

std::string PostingPrefix(scanner::EntityType type, std::string_view value) {
  std::string k;
  k.reserve(value.size() + 3 + 8 + 16);
  k.push_back(static_cast<char>(type));
  PutEscaped(&k, value);
  return k;
}

std::string PostingSeek(scanner::EntityType type, std::string_view value, int64_t t) {
  std::string k = PostingPrefix(type, value);
  PutBigEndian64(&k, OrderedTime(t));
  return k;
}

std::string PostingKey(scanner::EntityType type, std::string_view value, int64_t time,
                       std::string_view ad_id) {
  std::string k = PostingSeek(type, value, time);
  k.append(ad_id);
  return k;
}

bool ParsePostingKey(std::string_view key, scanner::EntityType* type, std::string* value,
                     int64_t* time, std::string* ad_id) {
  if (key.empty() || !ValidEntityTypeByte(static_cast<uint8_t>(key[0]))) return false;
  *type = static_cast<scanner::EntityType>(key[0]);
  key.remove_prefix(1);
  if (!GetEscaped(&key, value) || key.size() < 8) return false;
  *time = TimeFromOrdered(GetBigEndian64(key.data()));
  ad_id->assign(key.substr(8));
  return true;
}

std::string EntityStatsKey(scanner::EntityType type, std::string_view value) {
  std::string k;
  k.reserve(value.size() + 1);
  k.push_back(static_cast<char>(type));
  k.append(value);
  return k;
}

bool ParseEntityStatsKey(std::string_view key, scanner::EntityType* type, std::string* value) {
  if (key.empty() || !ValidEntityTypeByte(static_cast<uint8_t>(key[0]))) return false;
  *type = static_cast<scanner::EntityType>(key[0]);
  value->assign(key.substr(1));
  return true;
}

std::string ReviewHistoryPrefix(std::string_view ad_id) {
  std::string k;
  PutEscaped(&k, ad_id);
  return k;
}

std::string ReviewHistoryKey(std::string_view ad_id, uint64_t version) {
  std::string k = ReviewHistoryPrefix(ad_id);
  PutBigEndian64(&k, version);
  return k;
}

bool ParseReviewHistoryKey(std::string_view key, std::string* ad_id, uint64_t* version) {
  if (!GetEscaped(&key, ad_id) || key.size() != 8) return false;
  *version = GetBigEndian64(key.data());
  return true;
}

std::string AuditKey(uint64_t seq) {
  std::string k;
  PutBigEndian64(&k, seq);
  return k;
}

std::string EncodeCursor(Cf cf, std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 + 2 * key.size());
  const auto put = [&](uint8_t b) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  };
  put(static_cast<uint8_t>(cf));
  for (char c : key) put(static_cast<uint8_t>(c));
  return out;
}

bool DecodeCursor(std::string_view cursor, Cf* cf, std::string* key) {
  if (cursor.size() < 2 || cursor.size() % 2 != 0) return false;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string bytes;
  for (size_t i = 0; i < cursor.size(); i += 2) {
    const int hi = nibble(cursor[i]), lo = nibble(cursor[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes.push_back(static_cast<char>(hi << 4 | lo));
  }
  const auto c = static_cast<Cf>(bytes[0]);
  if (c != Cf::kLeadsByScore && c != Cf::kLeadsByTime && c != Cf::kLeadsByCategory &&
      c != Cf::kLeadsByStatus) {
    return false;
  }
  *cf = c;
  key->assign(bytes, 1);
  return true;
}

// ---- values ----

std::string EncodeAdRecord(const scanner::Document& d, std::string_view content_hash, uint32_t version,
                           int64_t time, int64_t ingested_at_ms) {
  Writer w(64 + d.text.size() + d.url.size() + d.metadata_json.size() + content_hash.size());
  w.Byte(kFormatV1);
  w.Varint(version);
  w.String(content_hash);
  w.Signed(time);
  w.Signed(ingested_at_ms);
  w.String(d.text);
  w.String(d.url);
  w.String(d.source);
  w.String(d.city);
  w.String(d.posted_at);
  w.String(d.fetched_at);
  w.String(d.metadata_json);
  return w.Take();
}

bool DecodeAdSummary(std::string_view in, uint32_t* version, std::string* content_hash, int64_t* time,
                     size_t* text_size) {
  Reader r(in);
  int64_t ingested_at_ms;
  std::string_view text;
  if (!(r.Format() && r.Unsigned(version) && r.String(content_hash) && r.Signed(time) && r.Signed(&ingested_at_ms) &&
        r.StringView(&text))) {
    return false;
  }
  *text_size = text.size();
  return true;
}

std::string EncodeAdRecord(const AdRecord& ad) {
  return EncodeAdRecord(ad.doc, ad.content_hash, ad.version, ad.time, ad.ingested_at_ms);
}

bool DecodeAdRecordForScan(std::string_view in, AdRecord* ad) {
  Reader r(in);
  std::string_view skipped;
  scanner::Document& d = ad->doc;
  ad->content_hash.clear();
  d.url.clear();
  d.source.clear();
  d.city.clear();
  d.posted_at.clear();
  d.fetched_at.clear();
  d.metadata_json.clear();
  return r.Format() && r.Unsigned(&ad->version) && r.StringView(&skipped) && r.Signed(&ad->time) &&
         r.Signed(&ad->ingested_at_ms) && r.String(&d.text) && r.StringView(&skipped) && r.StringView(&skipped) &&
         r.StringView(&skipped) && r.StringView(&skipped) && r.StringView(&skipped) && r.StringView(&skipped) &&
         r.done();
}

bool DecodeAdRecord(std::string_view in, AdRecord* ad) {
  Reader r(in);
  scanner::Document& d = ad->doc;
  return r.Format() && r.Unsigned(&ad->version) && r.String(&ad->content_hash) &&
         r.Signed(&ad->time) && r.Signed(&ad->ingested_at_ms) && r.String(&d.text) &&
         r.String(&d.url) && r.String(&d.source) && r.String(&d.city) && r.String(&d.posted_at) &&
         r.String(&d.fetched_at) && r.String(&d.metadata_json) && r.done();
}

// Layout: format, score, flagged, categories, pack_version, entities_by
// (format 2 only), entities, hits, suppressed, truncated. Entities come
// early so DecodeFindingsEntities can stop there.
std::string EncodeFindings(const scanner::ScanResult& result) {
  std::string out;
  EncodeFindings(result, &out);
  return out;
}

void EncodeFindings(const scanner::ScanResult& result, std::string* out) {
  Writer w(std::move(*out), 128 + 96 * result.hits.size() + 48 * result.entities.size());
  w.Byte(kFindingsV2);
  w.Double(result.score);
  w.Bool(result.flagged);
  w.Strings(result.categories);
  w.String(result.pack_version);
  w.String(result.entities_by);
  w.Varint(result.entities.size());
  for (const scanner::Entity& e : result.entities) {
    w.Byte(static_cast<uint8_t>(e.type));
    w.String(e.value);
    w.Varint(e.start);
    w.Varint(e.end);
    w.Bool(e.obfuscated);
    w.String(e.platform);
    w.String(e.unit);
    w.String(e.duration);
  }
  WriteHits(&w, result.hits);
  WriteHits(&w, result.suppressed);
  w.Strings(result.truncated);
  *out = w.Take();
}

namespace {

bool ReadEntity(Reader* r, scanner::Entity* e) {
  return ReadEntityType(r, &e->type) && r->String(&e->value) && r->Unsigned(&e->start) &&
         r->Unsigned(&e->end) && r->Bool(&e->obfuscated) && r->String(&e->platform) &&
         r->String(&e->unit) && r->String(&e->duration);
}

bool ReadFindingsHead(Reader* r, scanner::ScanResult* result) {
  bool v2 = false;
  if (!(r->FindingsFormat(&v2) && r->Double(&result->score) && r->Bool(&result->flagged) &&
        r->Strings(&result->categories) && r->String(&result->pack_version))) {
    return false;
  }
  if (!v2) {
    result->entities_by.clear();
    return true;
  }
  return r->String(&result->entities_by);
}

// Skips a findings value's head up to its entity count, without copying
// strings; `entities_by` (optional) is set to a view into the input.
bool SkipFindingsHead(Reader* r, std::string_view* entities_by = nullptr) {
  bool v2 = false;
  double score;
  bool flagged;
  uint64_t categories;
  if (!(r->FindingsFormat(&v2) && r->Double(&score) && r->Bool(&flagged) && r->Count(&categories))) return false;
  std::string_view skipped;
  for (uint64_t i = 0; i <= categories; ++i) {  // the categories and the pack version
    if (!r->StringView(&skipped)) return false;
  }
  std::string_view by;
  if (v2 && !r->StringView(&by)) return false;
  if (entities_by) *entities_by = by;
  return true;
}

}  // namespace

bool DecodeFindings(std::string_view in, scanner::ScanResult* result) {
  Reader r(in);
  if (!ReadFindingsHead(&r, result)) return false;
  uint64_t n;
  if (!r.Count(&n)) return false;
  result->entities.resize(n);
  for (auto& e : result->entities) {
    if (!ReadEntity(&r, &e)) return false;
  }
  return ReadHits(&r, &result->hits) && ReadHits(&r, &result->suppressed) &&
         r.Strings(&result->truncated) && r.done();
}

namespace {

// Splits an encoded findings value around its labels: the bytes between
// the format byte and the pack version, the pack version, the bytes after
// the labels (the pack version and, in format 2, entities_by). Values of
// either format that differ only in their labels have equal `before` and
// `after`.
bool SplitAtPackVersion(std::string_view in, std::string_view* before, std::string_view* pack,
                        std::string_view* after) {
  Reader r(in);
  bool v2 = false;
  double score;
  bool flagged;
  uint64_t categories;
  if (!(r.FindingsFormat(&v2) && r.Double(&score) && r.Bool(&flagged) && r.Count(&categories))) return false;
  std::string_view category;
  for (uint64_t i = 0; i < categories; ++i) {
    if (!r.StringView(&category)) return false;
  }
  *before = in.substr(1, in.size() - r.rest().size() - 1);
  if (!r.StringView(pack)) return false;
  std::string_view entities_by;
  if (v2 && !r.StringView(&entities_by)) return false;
  *after = r.rest();
  return true;
}

}  // namespace

bool SameFindingsButPackVersion(std::string_view a, std::string_view b, std::string_view* b_pack) {
  std::string_view a_before, a_pack, a_after, b_before, b_label, b_after;
  if (!SplitAtPackVersion(a, &a_before, &a_pack, &a_after) || !SplitAtPackVersion(b, &b_before, &b_label, &b_after) ||
      a_before != b_before || a_after != b_after) {
    return false;
  }
  if (b_pack) *b_pack = b_label;
  return true;
}

bool FindingsPackVersion(std::string_view in, std::string_view* pack) {
  std::string_view before, after;
  return SplitAtPackVersion(in, &before, pack, &after);
}

bool DecodeFindingsEntities(std::string_view in, std::vector<EntityRef>* entities) {
  Reader r(in);
  if (!SkipFindingsHead(&r)) return false;
  uint64_t n;
  if (!r.Count(&n)) return false;
  entities->clear();
  scanner::Entity e;
  for (uint64_t i = 0; i < n; ++i) {
    if (!ReadEntity(&r, &e)) return false;
    if (!IsIndexedEntity(e.type) || e.value.empty()) continue;
    EntityRef ref{e.type, e.value};
    if (std::find(entities->begin(), entities->end(), ref) == entities->end()) {
      entities->push_back(std::move(ref));
    }
  }
  return true;
}

bool DecodeFindingsExtraction(std::string_view in, std::string_view* entities_by,
                              std::vector<scanner::Entity>* entities) {
  Reader r(in);
  if (!SkipFindingsHead(&r, entities_by)) return false;
  if (!entities) return true;
  uint64_t n;
  if (!r.Count(&n)) return false;
  entities->resize(n);
  for (scanner::Entity& e : *entities) {
    if (!ReadEntity(&r, &e)) return false;
  }
  return true;
}

std::string EncodeLead(const LeadRecord& lead) {
  Writer w(96 + lead.snippet.size());
  w.Byte(kFormatV1);
  w.Double(lead.base_score);
  w.Double(lead.score);
  w.Bool(lead.flagged);
  w.Bool(lead.network);
  w.Byte(static_cast<uint8_t>(lead.status));
  w.Signed(lead.time);
  w.Varint(lead.version);
  w.Strings(lead.categories);
  w.String(lead.city);
  w.String(lead.posted_at);
  w.String(lead.pack_version);
  w.String(lead.snippet);
  return w.Take();
}

bool DecodeLead(std::string_view in, LeadRecord* lead) {
  Reader r(in);
  return r.Format() && r.Double(&lead->base_score) && r.Double(&lead->score) &&
         r.Bool(&lead->flagged) && r.Bool(&lead->network) && ReadStatus(&r, &lead->status) &&
         r.Signed(&lead->time) && r.Unsigned(&lead->version) && r.Strings(&lead->categories) &&
         r.String(&lead->city) && r.String(&lead->posted_at) && r.String(&lead->pack_version) &&
         r.String(&lead->snippet) && r.done();
}

std::string EncodeLeadIndexValue(const LeadRecord& lead) {
  Writer w(48 + lead.city.size() + 16 * lead.categories.size());
  w.Byte(kFormatV1);
  w.Double(lead.score);
  w.Signed(lead.time);
  w.Byte(static_cast<uint8_t>((lead.flagged ? 1 : 0) | (lead.network ? 2 : 0)));
  w.Byte(static_cast<uint8_t>(lead.status));
  w.String(lead.city);
  size_t count = 0;
  ForEachEffectiveCategory(lead, [&](std::string_view) { ++count; });
  w.Varint(count);
  ForEachEffectiveCategory(lead, [&](std::string_view category) { w.String(category); });
  return w.Take();
}

bool DecodeLeadIndexValue(std::string_view in, LeadIndexValue* v) {
  Reader r(in);
  uint8_t flags;
  if (!r.Format() || !r.Double(&v->score) || !r.Signed(&v->time) || !r.Byte(&flags) || flags > 3 ||
      !ReadStatus(&r, &v->status) || !r.String(&v->city) || !r.Strings(&v->categories) ||
      !r.done()) {
    return false;
  }
  v->flagged = flags & 1;
  v->network = flags & 2;
  return true;
}

std::string EncodeEntityStats(const EntityStats& s) {
  Writer w(32 + 12 * s.cities.size());
  w.Byte(kFormatV1);
  w.Varint(s.ads);
  w.Signed(s.first_seen);
  w.Signed(s.last_seen);
  w.Strings(s.cities);
  w.Bool(s.cities_truncated);
  w.Bool(s.network);
  w.Signed(s.network_since);
  return w.Take();
}

bool DecodeEntityStats(std::string_view in, EntityStats* s) {
  Reader r(in);
  return r.Format() && r.Varint(&s->ads) && r.Signed(&s->first_seen) && r.Signed(&s->last_seen) &&
         r.Strings(&s->cities) && r.Bool(&s->cities_truncated) && r.Bool(&s->network) &&
         r.Signed(&s->network_since) && r.done();
}

std::string EncodeReview(const ReviewRecord& review) {
  Writer w;
  w.Byte(kFormatV1);
  w.Byte(static_cast<uint8_t>(review.status));
  w.String(review.assignee);
  w.Varint(review.version);
  w.Signed(review.updated_at_ms);
  w.String(review.updated_by);
  return w.Take();
}

bool DecodeReview(std::string_view in, ReviewRecord* review) {
  Reader r(in);
  return r.Format() && ReadStatus(&r, &review->status) && r.String(&review->assignee) &&
         r.Varint(&review->version) && r.Signed(&review->updated_at_ms) &&
         r.String(&review->updated_by) && r.done();
}

std::string EncodeHistoryEntry(const ReviewHistoryEntry& e) {
  Writer w(64 + e.note.size());
  w.Byte(kFormatV1);
  w.Varint(e.version);
  w.Signed(e.at_ms);
  w.String(e.user);
  w.Byte(static_cast<uint8_t>(e.from_status));
  w.Byte(static_cast<uint8_t>(e.to_status));
  w.String(e.from_assignee);
  w.String(e.to_assignee);
  w.String(e.note);
  return w.Take();
}

bool DecodeHistoryEntry(std::string_view in, ReviewHistoryEntry* e) {
  Reader r(in);
  return r.Format() && r.Varint(&e->version) && r.Signed(&e->at_ms) && r.String(&e->user) &&
         ReadStatus(&r, &e->from_status) && ReadStatus(&r, &e->to_status) &&
         r.String(&e->from_assignee) && r.String(&e->to_assignee) && r.String(&e->note) && r.done();
}

std::string EncodeAuditEvent(const AuditEvent& e) {
  Writer w(48 + e.detail.size());
  w.Byte(kFormatV1);
  w.Varint(e.seq);
  w.Signed(e.at_ms);
  w.String(e.user);
  w.String(e.action);
  w.String(e.target);
  w.String(e.detail);
  return w.Take();
}

bool DecodeAuditEvent(std::string_view in, AuditEvent* e) {
  Reader r(in);
  return r.Format() && r.Varint(&e->seq) && r.Signed(&e->at_ms) && r.String(&e->user) &&
         r.String(&e->action) && r.String(&e->target) && r.String(&e->detail) && r.done();
}

std::string EncodeStatusCounts(const StatusCounts& counts) {
  Writer w;
  w.Byte(kFormatV1);
  w.Varint(kReviewStatusCount);
  for (const StatusCount& c : counts.by_status) {
    w.Varint(c.total);
    w.Varint(c.flagged);
  }
  return w.Take();
}

bool DecodeStatusCounts(std::string_view in, StatusCounts* counts) {
  Reader r(in);
  uint64_t n;
  if (!r.Format() || !r.Varint(&n) || n != kReviewStatusCount) return false;
  for (StatusCount& c : counts->by_status) {
    if (!r.Varint(&c.total) || !r.Varint(&c.flagged)) return false;
  }
  return r.done();
}

std::string EncodeNetworkSignal(const NetworkSignalOptions& o) {
  Writer w;
  w.Byte(kFormatV1);
  w.Signed(o.min_cities);
  w.Signed(o.window_days);
  w.Double(o.boost);
  return w.Take();
}

bool DecodeNetworkSignal(std::string_view in, NetworkSignalOptions* o) {
  Reader r(in);
  return r.Format() && r.Int(&o->min_cities) && r.Int(&o->window_days) && r.Double(&o->boost) &&
         r.done();
}

std::string EncodeSchemaVersion(uint32_t version) {
  std::string out;
  PutBigEndian32(&out, version);
  return out;
}

bool DecodeSchemaVersion(std::string_view in, uint32_t* version) {
  if (in.size() != 4) return false;
  *version = GetBigEndian32(in.data());
  return true;
}

}  // namespace vigil::storage::keys
