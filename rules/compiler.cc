// Compiles packs into CompiledRuleSets and serialises them.
//
// Every pattern (rule patterns, then `unless` patterns, rule by rule) gets a
// global id. Hyperscan sees the rule patterns in at most two block-mode
// databases (normalised text, raw text) and reports every end offset; RE2
// recovers each start from its end (`(?:p)\z`), and tries `unless`
// patterns only in the window around a hit. The serialised form stores
// rule metadata as JSON, the Hyperscan databases as Hyperscan serialises
// them and the phrase patterns' literal sets as packed tries, so loading a
// cached set costs RE2 compiles for the few patterns without a literal set
// and a check of the tries (milliseconds), not a Hyperscan compile
// (seconds).
#include "rules/compiler.h"

#include <chrono>
#include <cstring>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rules/compiled_rule_set_impl.h"
#include "rules/little_endian.h"
#include "rules/pattern_syntax.h"

namespace vigil::rules {

// Builds CompiledRuleSets; a friend of CompiledRuleSet.
class RuleSetBuilder {
 public:
  static std::unique_ptr<CompiledRuleSet> NewEmpty() {
    auto set = std::unique_ptr<CompiledRuleSet>(new CompiledRuleSet());
    set->impl_ = std::make_unique<CompiledRuleSetImpl>();
    return set;
  }
  static void SetHeader(CompiledRuleSet* set, std::string name, std::string version, std::string hash,
                        double threshold) {
    set->pack_name_ = std::move(name);
    set->pack_version_ = std::move(version);
    set->pack_hash_ = std::move(hash);
    set->threshold_ = threshold;
  }
  static std::vector<RuleInfo>& Rules(CompiledRuleSet* set) { return set->rules_; }
  static std::vector<CategoryInfo>& Categories(CompiledRuleSet* set) { return set->categories_; }
  static CompiledRuleSetImpl& Impl(CompiledRuleSet* set) { return *set->impl_; }
};

CompiledRuleSet::CompiledRuleSet() = default;
CompiledRuleSet::~CompiledRuleSet() = default;

int CompiledRuleSet::FindRule(const std::string& id) const {
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (rules_[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

int CompiledRuleSet::FindCategory(const std::string& id) const {
  for (size_t i = 0; i < categories_.size(); ++i) {
    if (categories_[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

namespace {

constexpr char kMagic[8] = {'V', 'I', 'G', 'I', 'L', 'R', 'S', '1'};
// Part of the engine fingerprint, so it names the cache file: bump it
// whenever the compiled form changes (database contents, flags, layout),
// or a cache filled by an older vigil is served as if current. 2: phrase
// patterns go to Hyperscan without their `\b` (HyperscanExpression); this
// bump also retired entries compiled before block databases reported every
// match (they dropped later matches of a pattern in an ad). 3: patterns
// with emoji and other caseless symbols get literal sets, so those with a
// `\b` lose it in Hyperscan too. 4: the literal sets are stored (their
// tries are no longer rebuilt from the patterns on load, so a change to the
// expansion or the trie packing needs a bump too); word-wise checksum.
constexpr uint32_t kFormatVersion = 4;

// The file's checksum, against damage (not forgery): FNV-1a's idea over
// 8-byte words, with a shift to spread high bits down. FNV-1a byte by byte
// over a 4.5 MB entry was 24 M instructions of every start-up.
uint64_t Checksum64(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull ^ bytes.size();
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w = 0;
    for (int k = 0; k < 8; ++k) w |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i + k])) << (8 * k);
    h = (h ^ w) * 1099511628211ull;
    h ^= h >> 29;
  }
  for (; i < bytes.size(); ++i) h = (h ^ static_cast<unsigned char>(bytes[i])) * 1099511628211ull;
  return h;
}

void PutBlob(std::string* out, std::string_view blob) {
  PutLittleEndian<uint64_t>(out, blob.size());
  out->append(blob);
}

bool GetBlob(std::string_view* in, std::string_view* blob) {
  uint64_t n = 0;
  if (!GetLittleEndian<uint64_t>(in, &n) || n > in->size()) return false;
  *blob = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

// The literal sets of a compiled set, in the order BuildPatternPrograms
// makes them: per rule, its patterns' (rule patterns, then unless
// patterns, as in `patterns`), then its unless union. Each is a byte, 1
// when there is a set, then the set (LiteralSet::AppendTo).
std::string LiteralSetsBlob(const CompiledRuleSetImpl& impl) {
  std::string out;
  const auto put = [&](const LiteralSet* set) {
    out.push_back(set ? 1 : 0);
    if (set) set->AppendTo(&out);
  };
  size_t next = 0;
  for (size_t r = 0; r < impl.unless_union_of_rule.size(); ++r) {
    for (; next < impl.patterns.size() && impl.patterns[next].rule == r; ++next) put(impl.patterns[next].literal.get());
    put(impl.unless_union_of_rule[r].get());
  }
  return out;
}

// One literal set from LiteralSetsBlob's bytes: false when they are
// malformed; *set stays null for "no set".
bool NextLiteralSet(std::string_view* in, std::unique_ptr<LiteralSet>* set) {
  set->reset();
  if (in->empty() || static_cast<uint8_t>((*in)[0]) > 1) return false;
  const bool present = (*in)[0] == 1;
  in->remove_prefix(1);
  if (!present) return true;
  *set = LiteralSet::Parse(in);
  return *set != nullptr;
}

// Assigns global pattern ids, builds RE2 programs and fills the unless index.
// Errors from RE2 go to *diags (located when `pack` is given).
// `literals`: a set loaded from the cache (no pack) takes its literal sets
// from LiteralSetsBlob's bytes instead of building them from the patterns;
// false (with *literals_ok false) when those bytes are malformed.
bool BuildPatternPrograms(CompiledRuleSet* set, const Pack* pack, Diagnostics* diags,
                          std::string_view* literals = nullptr, bool* literals_ok = nullptr) {
  CompiledRuleSetImpl& impl = RuleSetBuilder::Impl(set);
  const std::vector<RuleInfo>& rules = RuleSetBuilder::Rules(set);
  impl.patterns.clear();
  impl.unless_of_rule.assign(rules.size(), {});
  impl.unless_union_of_rule.clear();
  bool ok = true;
  const RE2::Options re2_options = Re2OptionsForPatterns();
  for (uint32_t r = 0; r < rules.size(); ++r) {
    const RuleInfo& rule = rules[r];
    const Rule* source = pack ? pack->FindRule(rule.id) : nullptr;
    auto add = [&](const std::string& regex, uint32_t index, bool is_unless) {
      PatternProgram program;
      program.rule = r;
      program.index_in_rule = index;
      program.is_unless = is_unless;
      program.raw = rule.match_on == MatchOn::kRaw;
      // A set loaded from the cache (its literal sets in `literals`) was
      // checked by RE2 when it was compiled: a pattern its literal set
      // confirms needs no RE2 program (building them was a third of a
      // cached start-up's instructions).
      if (literals) {
        if (!NextLiteralSet(literals, &program.literal) || (program.literal && program.raw)) *literals_ok = false;
      }
      if (!program.literal) {
        auto re2 = std::make_unique<RE2>(regex, re2_options);
        if (!re2->ok()) {
          Diagnostic d;
          d.code = "V201";
          d.rule_id = rule.id;
          d.message = fmt::format("RE2 rejects pattern '{}': {}", regex, re2->error());
          d.help = "use the syntax both Hyperscan and RE2 accept (no backreferences or lookaround)";
          if (source) {
            const auto& list = is_unless ? source->unless.patterns : source->patterns;
            if (index < list.size()) d.location = list[index].location;
          }
          diags->Add(std::move(d));
          ok = false;
        } else {
          if (!program.raw && pack) program.literal = LiteralSet::FromPattern(regex);
          if (!program.literal) program.re2 = std::move(re2);
        }
      }
      // Ends of a literal set's matches are confirmed by its trie: RE2's
      // reverse program is built only for the others.
      if (!is_unless && program.re2 && !program.literal) {
        program.re2_at_end = std::make_unique<RE2>("(?:" + regex + ")\\z", re2_options);
      }
      if (is_unless) impl.unless_of_rule[r].push_back(static_cast<uint32_t>(impl.patterns.size()));
      impl.patterns.push_back(std::move(program));
    };
    for (uint32_t i = 0; i < rule.patterns.size(); ++i) add(rule.patterns[i], i, false);
    for (uint32_t i = 0; i < rule.unless_patterns.size(); ++i) add(rule.unless_patterns[i], i, true);
    bool all_literal = !impl.unless_of_rule[r].empty();
    std::string alternation;
    for (uint32_t id : impl.unless_of_rule[r]) {
      all_literal &= impl.patterns[id].literal != nullptr;
      alternation += (alternation.empty() ? "(?:" : "|(?:") + rule.unless_patterns[impl.patterns[id].index_in_rule] + ")";
    }
    if (literals) {
      std::unique_ptr<LiteralSet> from_cache;
      if (!NextLiteralSet(literals, &from_cache) || (from_cache && !all_literal)) *literals_ok = false;
      impl.unless_union_of_rule.push_back(std::move(from_cache));
    } else {
      impl.unless_union_of_rule.push_back(all_literal ? LiteralSet::FromPattern(alternation) : nullptr);
    }
  }
  impl.phone_decoded_rule = set->FindRule(kPhoneDecodedRuleId);
  impl.rule_category.clear();
  for (const RuleInfo& rule : rules) impl.rule_category.push_back(set->FindCategory(rule.category));
  return ok;
}

// What Hyperscan is given for a pattern. A phrase pattern (one with a
// LiteralSet) goes without its `\b` assertions: the trie that confirms
// every end checks them anyway, and on the core pack Hyperscan runs about
// a quarter faster without them (bench/RESULTS.md). It then reports a few
// more ends, which the trie drops.
std::string HyperscanExpression(const PatternProgram& p, const std::string& regex) {
  if (!p.literal) return regex;
  std::string out;
  out.reserve(regex.size());
  for (size_t i = 0; i < regex.size(); ++i) {
    if (regex[i] == '\\' && i + 1 < regex.size()) {
      if (regex[i + 1] != 'b') out += regex.substr(i, 2);
      ++i;
      continue;
    }
    out += regex[i];
  }
  return out;
}

// Compiles the Hyperscan database of the raw or the normalised patterns.
Status CompileDatabase(const CompiledRuleSet& set, bool raw, HsDatabasePtr* out, const Pack* pack,
                       Diagnostics* diags) {
  const CompiledRuleSetImpl& impl = set.impl();
  std::vector<std::string> owned;  // the expressions, kept alive for hs_compile_multi
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  for (uint32_t id = 0; id < impl.patterns.size(); ++id) {
    const PatternProgram& p = impl.patterns[id];
    // `unless` patterns stay out of Hyperscan: they are only ever tried by
    // RE2 in the small window around a hit, and long context word lists
    // would multiply the database's compile time.
    if (p.raw != raw || p.is_unless) continue;
    const RuleInfo& rule = set.rules()[p.rule];
    const std::string& regex = p.is_unless ? rule.unless_patterns[p.index_in_rule] : rule.patterns[p.index_in_rule];
    owned.push_back(HyperscanExpression(p, regex));
    flags.push_back(PatternFlagsForHyperscan());
    ids.push_back(id);
  }
  std::vector<const char*> expressions;
  for (const std::string& e : owned) expressions.push_back(e.c_str());
  out->reset();
  if (expressions.empty()) return Status::Ok();
  hs_database_t* db = nullptr;
  hs_compile_error_t* error = nullptr;
  hs_error_t rc = hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                                   static_cast<unsigned>(expressions.size()), HS_MODE_BLOCK, nullptr, &db, &error);
  if (rc != HS_SUCCESS) {
    Diagnostic d;
    d.code = "V200";
    std::string message = error ? error->message : "unknown error";
    int expression = error ? error->expression : -1;
    if (expression >= 0 && static_cast<size_t>(expression) < ids.size()) {
      const PatternProgram& p = impl.patterns[ids[expression]];
      const RuleInfo& rule = set.rules()[p.rule];
      d.rule_id = rule.id;
      d.message = fmt::format("Hyperscan rejects pattern '{}': {}", rule.patterns[p.index_in_rule], message);
      d.help = "use the syntax both Hyperscan and RE2 accept (no backreferences or lookaround)";
      if (const Rule* source = pack ? pack->FindRule(rule.id) : nullptr) {
        const auto& list = p.is_unless ? source->unless.patterns : source->patterns;
        if (p.index_in_rule < list.size()) d.location = list[p.index_in_rule].location;
      }
    } else {
      d.code = "V400";
      d.message = fmt::format("Hyperscan cannot compile the pack's {} patterns: {}", raw ? "raw" : "normalized",
                              message);
      d.help = "split very large alternations into separate patterns, or remove explosive repeats";
    }
    if (diags) diags->Add(std::move(d));
    hs_free_compile_error(error);
    return Status::InvalidArgument(message);
  }
  out->reset(db);
  return Status::Ok();
}

std::vector<uint32_t> ResolveRequirement(const Rule& rule, const Pack& pack) {
  std::set<uint32_t> members;
  for (size_t i = 0; i < pack.rules.size(); ++i) {
    const Rule& other = pack.rules[i];
    if (other.id == rule.id) continue;
    bool listed = false;
    for (const auto& id : rule.requirement.rules) listed |= id == other.id;
    for (const auto& c : rule.requirement.categories) listed |= c == other.category;
    if (listed) members.insert(static_cast<uint32_t>(i));
  }
  return {members.begin(), members.end()};
}

nlohmann::json MetadataToJson(const CompiledRuleSet& set) {
  nlohmann::json j;
  j["name"] = set.pack_name();
  j["version"] = set.pack_version();
  j["hash"] = set.pack_hash();
  j["threshold"] = set.threshold();
  auto& categories = j["categories"] = nlohmann::json::array();
  for (const CategoryInfo& c : set.categories()) {
    categories.push_back({{"id", c.id}, {"title", c.title}, {"description", c.description}, {"color", c.color}});
  }
  auto& rules = j["rules"] = nlohmann::json::array();
  for (const RuleInfo& r : set.rules()) {
    rules.push_back({{"id", r.id},
                     {"title", r.title},
                     {"description", r.description},
                     {"category", r.category},
                     {"weight", r.weight},
                     {"evidence", static_cast<int>(r.evidence)},
                     {"status", static_cast<int>(r.status)},
                     {"match_on", static_cast<int>(r.match_on)},
                     {"references", r.references},
                     {"patterns", r.patterns},
                     {"unless_patterns", r.unless_patterns},
                     {"unless_window", r.unless_window},
                     {"has_requirement", r.has_requirement},
                     {"requirement_rules", r.requirement_rules},
                     {"requirement_min", r.requirement_min}});
  }
  return j;
}

bool MetadataFromJson(const nlohmann::json& j, CompiledRuleSet* set) {
  try {
    RuleSetBuilder::SetHeader(set, j.at("name").get<std::string>(), j.at("version").get<std::string>(),
                              j.at("hash").get<std::string>(), j.at("threshold").get<double>());
    for (const auto& c : j.at("categories")) {
      RuleSetBuilder::Categories(set).push_back({c.at("id").get<std::string>(), c.at("title").get<std::string>(),
                                                 c.at("description").get<std::string>(),
                                                 c.at("color").get<std::string>()});
    }
    auto& rules = RuleSetBuilder::Rules(set);
    for (const auto& r : j.at("rules")) {
      RuleInfo info;
      info.id = r.at("id").get<std::string>();
      info.title = r.at("title").get<std::string>();
      info.description = r.at("description").get<std::string>();
      info.category = r.at("category").get<std::string>();
      info.weight = r.at("weight").get<double>();
      int evidence = r.at("evidence").get<int>();
      int status = r.at("status").get<int>();
      int match_on = r.at("match_on").get<int>();
      if (evidence < 0 || evidence > 2 || status < 0 || status > 3 || match_on < 0 || match_on > 1) return false;
      info.evidence = static_cast<Evidence>(evidence);
      info.status = static_cast<RuleStatus>(status);
      info.match_on = static_cast<MatchOn>(match_on);
      info.references = r.at("references").get<std::vector<std::string>>();
      info.patterns = r.at("patterns").get<std::vector<std::string>>();
      info.unless_patterns = r.at("unless_patterns").get<std::vector<std::string>>();
      info.unless_window = r.at("unless_window").get<int>();
      info.has_requirement = r.at("has_requirement").get<bool>();
      info.requirement_rules = r.at("requirement_rules").get<std::vector<uint32_t>>();
      info.requirement_min = r.at("requirement_min").get<int>();
      rules.push_back(std::move(info));
    }
    for (const RuleInfo& r : rules) {
      for (uint32_t idx : r.requirement_rules) {
        if (idx >= rules.size()) return false;
      }
    }
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

Status SerializeDatabase(const hs_database_t* db, std::string* out) {
  out->clear();
  if (db == nullptr) return Status::Ok();
  char* bytes = nullptr;
  size_t length = 0;
  if (hs_serialize_database(db, &bytes, &length) != HS_SUCCESS) {
    return Status::Internal("hs_serialize_database failed");
  }
  out->assign(bytes, length);
  free(bytes);
  return Status::Ok();
}

Status DeserializeDatabase(std::string_view blob, HsDatabasePtr* out) {
  out->reset();
  if (blob.empty()) return Status::Ok();
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(blob.data(), blob.size(), &db) != HS_SUCCESS) {
    return Status::Corruption("a Hyperscan database in the compiled rule set is damaged or foreign");
  }
  out->reset(db);
  return Status::Ok();
}

}  // namespace

std::string EngineFingerprint() {
  hs_platform_info_t platform{};
  hs_populate_platform(&platform);
  return fmt::format("hs-{};features={};tune={};format={}", hs_version(),
                     static_cast<unsigned long long>(platform.cpu_features), platform.tune, kFormatVersion);
}

Result<std::shared_ptr<const CompiledRuleSet>> Compile(const Pack& pack, const CompileOptions& options,
                                                       Diagnostics* diags) {
  std::unique_ptr<CompiledRuleSet> set = RuleSetBuilder::NewEmpty();
  RuleSetBuilder::SetHeader(set.get(), pack.name, pack.version, pack.content_hash, pack.threshold);
  for (const Category& c : pack.categories) {
    RuleSetBuilder::Categories(set.get()).push_back({c.id, c.title, c.description, c.color});
  }
  // Deprecated rules are dropped; requirement indexes refer to the kept ones.
  Pack kept;
  for (const Rule& rule : pack.rules) {
    if (rule.status != RuleStatus::kDeprecated) kept.rules.push_back(rule);
  }
  auto& rules = RuleSetBuilder::Rules(set.get());
  for (const Rule& rule : kept.rules) {
    RuleInfo info;
    info.id = rule.id;
    info.title = rule.title;
    info.description = rule.description;
    info.category = rule.category;
    info.weight = rule.weight;
    info.evidence = rule.evidence;
    info.status = rule.status;
    info.match_on = rule.match_on;
    info.references = rule.references;
    for (const Pattern& p : rule.patterns) info.patterns.push_back(p.regex);
    for (const Pattern& p : rule.unless.patterns) info.unless_patterns.push_back(p.regex);
    info.unless_window = rule.unless.window;
    info.has_requirement = rule.has_requirement;
    if (rule.has_requirement) {
      info.requirement_rules = ResolveRequirement(rule, kept);
      info.requirement_min = rule.requirement.min;
    }
    rules.push_back(std::move(info));
  }

  if (!BuildPatternPrograms(set.get(), &pack, diags)) {
    return Status::InvalidArgument("a pattern was rejected by RE2");
  }
  auto started = std::chrono::steady_clock::now();
  CompiledRuleSetImpl& impl = RuleSetBuilder::Impl(set.get());
  Status s = CompileDatabase(*set, /*raw=*/false, &impl.normalized_db, &pack, diags);
  if (s.ok()) s = CompileDatabase(*set, /*raw=*/true, &impl.raw_db, &pack, diags);
  if (!s.ok()) return s;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  size_t bytes = 0;
  for (const hs_database_t* db : {impl.normalized_db.get(), impl.raw_db.get()}) {
    size_t n = 0;
    if (db && hs_database_size(db, &n) == HS_SUCCESS) bytes += n;
  }
  if (bytes > options.max_database_bytes) {
    Diagnostic d;
    d.code = "V400";
    d.location.file = pack.directory;
    d.message = fmt::format("the pack compiles to {} MiB of Hyperscan databases, over the limit of {} MiB",
                            bytes >> 20, options.max_database_bytes >> 20);
    d.help = "remove or narrow the largest patterns (long bounded repeats, wide alternations)";
    diags->Add(std::move(d));
    return Status::InvalidArgument("compiled pack too large");
  }
  if (seconds > options.max_compile_seconds) {
    Diagnostic d;
    d.severity = Severity::kWarning;
    d.code = "V401";
    d.location.file = pack.directory;
    d.message = fmt::format("the pack took {:.1f} s to compile (limit {:.0f} s)", seconds, options.max_compile_seconds);
    d.help = "narrow bounded repeats and large character classes; compiled sets are cached, but reloads wait";
    diags->Add(std::move(d));
  }
  return std::shared_ptr<const CompiledRuleSet>(std::move(set));
}

Result<std::string> SerializeRuleSet(const CompiledRuleSet& set) {
  std::string normalized_blob, raw_blob;
  Status s = SerializeDatabase(set.impl().normalized_db.get(), &normalized_blob);
  if (s.ok()) s = SerializeDatabase(set.impl().raw_db.get(), &raw_blob);
  if (!s.ok()) return s;
  std::string out(kMagic, sizeof(kMagic));
  PutLittleEndian<uint64_t>(&out, kFormatVersion);
  PutBlob(&out, EngineFingerprint());
  PutBlob(&out, MetadataToJson(set).dump());
  PutBlob(&out, normalized_blob);
  PutBlob(&out, raw_blob);
  PutBlob(&out, LiteralSetsBlob(set.impl()));
  PutLittleEndian<uint64_t>(&out, Checksum64(out));
  return out;
}

Result<std::shared_ptr<const CompiledRuleSet>> DeserializeRuleSet(std::string_view bytes) {
  if (bytes.size() < sizeof(kMagic) + 16 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("not a vigil compiled rule set (bad magic)");
  }
  // The format first: another format may checksum differently, and its
  // files are old, not damaged.
  std::string_view in = bytes.substr(sizeof(kMagic));
  uint64_t version = 0;
  GetLittleEndian<uint64_t>(&in, &version);
  if (version != kFormatVersion) {
    return Status::InvalidArgument(fmt::format("compiled rule set has format {}, this vigil reads {}", version,
                                               kFormatVersion));
  }
  std::string_view body = bytes.substr(0, bytes.size() - 8);
  std::string_view tail = bytes.substr(bytes.size() - 8);
  uint64_t checksum = 0;
  GetLittleEndian<uint64_t>(&tail, &checksum);
  if (checksum != Checksum64(body)) return Status::Corruption("compiled rule set checksum mismatch (damaged file)");
  in = body.substr(sizeof(kMagic) + 8);
  std::string_view fingerprint, metadata, normalized_blob, raw_blob, literals_blob;
  if (!GetBlob(&in, &fingerprint) || !GetBlob(&in, &metadata) || !GetBlob(&in, &normalized_blob) ||
      !GetBlob(&in, &raw_blob) || !GetBlob(&in, &literals_blob) || !in.empty()) {
    return Status::Corruption("compiled rule set is truncated or malformed");
  }
  if (fingerprint != EngineFingerprint()) {
    return Status::InvalidArgument(fmt::format("compiled rule set was built for '{}', this machine is '{}'",
                                               fingerprint, EngineFingerprint()));
  }
  nlohmann::json j = nlohmann::json::parse(metadata, nullptr, /*allow_exceptions=*/false);
  std::unique_ptr<CompiledRuleSet> set = RuleSetBuilder::NewEmpty();
  if (j.is_discarded() || !MetadataFromJson(j, set.get())) {
    return Status::Corruption("compiled rule set metadata is malformed");
  }
  Diagnostics diags;
  bool literals_ok = true;
  const bool built = BuildPatternPrograms(set.get(), nullptr, &diags, &literals_blob, &literals_ok);
  if (!literals_ok || !literals_blob.empty()) return Status::Corruption("compiled rule set literal sets are malformed");
  if (!built) return Status::Corruption("compiled rule set holds a pattern RE2 rejects");
  CompiledRuleSetImpl& impl = RuleSetBuilder::Impl(set.get());
  Status s = DeserializeDatabase(normalized_blob, &impl.normalized_db);
  if (s.ok()) s = DeserializeDatabase(raw_blob, &impl.raw_db);
  if (!s.ok()) return s;
  return std::shared_ptr<const CompiledRuleSet>(std::move(set));
}

}  // namespace vigil::rules
