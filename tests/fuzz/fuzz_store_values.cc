// Fuzzes the store's value decoders (storage/keys.h) on arbitrary bytes, as
// a damaged table file or a bug elsewhere could hand them. The first byte
// picks the decoder; the rest is the value. Decoders must refuse or accept
// without crashing or reading past the input, and what one accepts must
// survive a round trip: encoding it and decoding that gives the same
// encoding again. The findings decoders must agree with each other (the
// partial ones accept what the full one does, and see the same pack label
// and extraction).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "storage/keys.h"

namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
  }
}

// decode(in) accepted -> encode, decode again, encode again: the same bytes.
template <typename Record, typename Decode, typename Encode>
void RoundTrip(std::string_view in, Decode decode, Encode encode, const char* what) {
  Record first;
  if (!decode(in, &first)) return;
  const std::string once = encode(first);
  Record second;
  Require(decode(once, &second), what);
  Require(encode(second) == once, what);
}

void Findings(std::string_view in) {
  using namespace vigil::storage::keys;
  vigil::scanner::ScanResult r;
  const bool whole = DecodeFindings(in, &r);
  std::string_view by, pack;
  std::vector<vigil::scanner::Entity> entities;
  std::vector<vigil::storage::EntityRef> indexed;
  const bool extraction = DecodeFindingsExtraction(in, &by, &entities);
  const bool labels = FindingsPackVersion(in, &pack);
  const bool refs = DecodeFindingsEntities(in, &indexed);
  if (!whole) return;
  Require(extraction && labels && refs, "a partial findings decoder refused what DecodeFindings accepted");
  Require(by == r.entities_by, "entities_by differs between decoders");
  Require(pack == r.pack_version, "the pack label differs between decoders");
  Require(entities.size() == r.entities.size(), "the entity count differs between decoders");
  for (size_t i = 0; i < entities.size(); ++i) {
    const vigil::scanner::Entity& a = entities[i];
    const vigil::scanner::Entity& b = r.entities[i];
    Require(a.type == b.type && a.value == b.value && a.start == b.start && a.end == b.end &&
                a.obfuscated == b.obfuscated && a.platform == b.platform && a.unit == b.unit &&
                a.duration == b.duration,
            "an entity differs between decoders");
  }
  Require(indexed == vigil::storage::IndexedEntities(r), "the indexed entities differ between decoders");
  Require(SameFindingsButPackVersion(in, in), "findings differ from themselves");
  // (Not SameFindingsButPackVersion(in, once): an accepted value may hold
  // an overlong varint, which re-encodes shorter. A rescan then finds it
  // changed and rewrites it, which is harmless.)
  RoundTrip<vigil::scanner::ScanResult>(in, DecodeFindings,
                                        [](const vigil::scanner::ScanResult& x) { return EncodeFindings(x); },
                                        "findings round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::storage;
  using namespace vigil::storage::keys;
  if (size == 0) return 0;
  const uint8_t selector = data[0];
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (selector % 10) {
    case 0:
      Findings(in);
      break;
    case 1: {
      RoundTrip<AdRecord>(in, DecodeAdRecord, [](const AdRecord& a) { return EncodeAdRecord(a); }, "ad round trip");
      AdRecord whole, scan;
      uint32_t version = 0;
      std::string hash;
      int64_t time = 0;
      size_t text_size = 0;
      const bool summary = DecodeAdSummary(in, &version, &hash, &time, &text_size);
      const bool for_scan = DecodeAdRecordForScan(in, &scan);
      if (DecodeAdRecord(in, &whole)) {
        Require(summary && for_scan, "a partial ad decoder refused what DecodeAdRecord accepted");
        Require(version == whole.version && hash == whole.content_hash && time == whole.time &&
                    text_size == whole.doc.text.size() && scan.doc.text == whole.doc.text &&
                    scan.version == whole.version,
                "ad decoders disagree");
      }
      break;
    }
    case 2:
      RoundTrip<LeadRecord>(in, DecodeLead, EncodeLead, "lead round trip");
      break;
    case 3: {
      LeadIndexValue v;
      (void)DecodeLeadIndexValue(in, &v);
      break;
    }
    case 4:
      RoundTrip<EntityStats>(in, DecodeEntityStats, EncodeEntityStats, "entity statistics round trip");
      break;
    case 5:
      RoundTrip<ReviewRecord>(in, DecodeReview, EncodeReview, "review round trip");
      break;
    case 6:
      RoundTrip<ReviewHistoryEntry>(in, DecodeHistoryEntry, EncodeHistoryEntry, "history round trip");
      break;
    case 7:
      RoundTrip<AuditEvent>(in, DecodeAuditEvent, EncodeAuditEvent, "audit event round trip");
      break;
    case 8:
      RoundTrip<StatusCounts>(in, DecodeStatusCounts, EncodeStatusCounts, "status counts round trip");
      break;
    case 9: {
      RoundTrip<NetworkSignalOptions>(in, DecodeNetworkSignal, EncodeNetworkSignal, "network signal round trip");
      uint32_t schema = 0;
      (void)DecodeSchemaVersion(in, &schema);
      // The key parsers, on the same bytes.
      std::string a, b;
      uint32_t v32 = 0;
      uint64_t v64 = 0;
      int64_t t = 0;
      vigil::scanner::EntityType type;
      Cf cf;
      (void)ParseAdVersionKey(in, &a, &v32);
      (void)ParsePostingKey(in, &type, &a, &t, &b);
      (void)ParseEntityStatsKey(in, &type, &a);
      (void)ParseReviewHistoryKey(in, &a, &v64);
      (void)DecodeCursor(in, &cf, &a);
      double score = 0.0;
      for (Cf index : {Cf::kLeadsByTime, Cf::kLeadsByStatus, Cf::kLeadsByCategory, Cf::kLeadsByScore}) {
        (void)ParseLeadIndexKey(index, in, &a, &score, &t);
      }
      break;
    }
  }
  return 0;
}
