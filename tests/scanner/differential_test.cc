// Differential tests: the full scan path (Hyperscan occurrence pass + RE2
// spans) against a plain RE2-only reference that tries every pattern of
// every rule on every document. They must find the same (rule, span) set,
// over the generated corpus and over every example of the core pack.
#include <catch2/catch.hpp>

#include <re2/re2.h>

#include <algorithm>
#include <iterator>
#include <fstream>
#include <set>
#include <tuple>

#include "bench/corpus.h"
#include "rules/compiled_rule_set_impl.h"
#include "rules/build_ids.h"
#include "rules/compiler.h"
#include "rules/pack_loader.h"
#include "rules/pattern_syntax.h"
#include "scanner/normalize.h"
#include "scanner/result_json.h"
#include "scanner/scanner.h"
#include "scanner/utf8.h"

namespace {

using Span = std::tuple<std::string, uint32_t, uint32_t>;  // rule, original start, end

// The scanner keeps, per rule, the leftmost-longest non-overlapping hits
// over all the rule's patterns; read the reference's spans the same way.
std::set<Span> NonOverlappingPerRule(const std::set<Span>& spans) {
  std::vector<Span> sorted(spans.begin(), spans.end());
  std::sort(sorted.begin(), sorted.end(), [](const Span& a, const Span& b) {
    if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) < std::get<0>(b);
    if (std::get<1>(a) != std::get<1>(b)) return std::get<1>(a) < std::get<1>(b);
    return std::get<2>(a) > std::get<2>(b);
  });
  std::set<Span> out;
  std::string rule;
  uint32_t covered_until = 0;
  for (const Span& s : sorted) {
    if (std::get<0>(s) != rule) {
      rule = std::get<0>(s);
      covered_until = 0;
    }
    if (std::get<1>(s) < covered_until) continue;
    covered_until = std::get<2>(s);
    out.insert(s);
  }
  return out;
}

// Every span every pattern of every rule matches, found by RE2 alone.
std::set<Span> ReferenceSpans(const vigil::rules::CompiledRuleSet& set,
                              const std::vector<std::unique_ptr<RE2>>& programs,
                              const std::vector<std::pair<size_t, bool>>& program_rule, const std::string& text) {
  vigil::scanner::Normalizer normalizer;
  vigil::scanner::NormalizedText normalized;
  normalizer.Normalize(text, &normalized);
  std::string raw;
  vigil::scanner::ReplaceInvalidUtf8Bytes(text, &raw);
  std::set<Span> spans;
  for (size_t i = 0; i < programs.size(); ++i) {
    const auto& [rule_index, is_raw] = program_rule[i];
    const std::string& subject = is_raw ? raw : normalized.text;
    re2::StringPiece input(subject);
    re2::StringPiece m;
    size_t pos = 0;
    while (pos <= subject.size() && programs[i]->Match(input, pos, subject.size(), RE2::UNANCHORED, &m, 1)) {
      size_t b = static_cast<size_t>(m.data() - subject.data());
      size_t e = b + m.size();
      pos = m.empty() ? e + 1 : e;
      if (m.empty()) continue;
      uint32_t ob = static_cast<uint32_t>(b), oe = static_cast<uint32_t>(e);
      if (!is_raw) normalized.ToOriginal(ob, oe, &ob, &oe);
      spans.emplace(set.rules()[rule_index].id, ob, oe);
    }
  }
  return NonOverlappingPerRule(spans);
}

std::set<Span> ScannerSpans(const vigil::scanner::ScanResult& r) {
  std::set<Span> spans;
  for (const auto* list : {&r.hits, &r.suppressed}) {
    for (const auto& h : *list) {
      if (h.pattern_index >= 0) spans.emplace(h.rule, h.start, h.end);
    }
  }
  return NonOverlappingPerRule(spans);
}

struct Harness {
  vigil::rules::Pack pack;
  std::shared_ptr<const vigil::rules::CompiledRuleSet> set;
  std::shared_ptr<const vigil::scanner::Scanner> scanner;
  std::unique_ptr<vigil::scanner::ScanContext> context;
  std::vector<std::unique_ptr<RE2>> programs;
  std::vector<std::pair<size_t, bool>> program_rule;

  Harness() {
    vigil::rules::Diagnostics diags;
    bool ok = vigil::rules::LoadPack(std::string(VIGIL_SOURCE_DIR) + "/rules/packs/core", &pack, &diags);
    INFO(diags.ToString());
    REQUIRE(ok);
    auto compiled = vigil::rules::Compile(pack, {}, &diags);
    INFO(diags.ToString());
    REQUIRE(compiled.ok());
    set = *compiled;
    auto created = vigil::scanner::Scanner::Create(set, {});
    REQUIRE(created.ok());
    scanner = *created;
    context = scanner->NewContext();
    for (size_t r = 0; r < set->rules().size(); ++r) {
      const auto& rule = set->rules()[r];
      for (const std::string& p : rule.patterns) {
        RE2::Options options = vigil::rules::Re2OptionsForPatterns();
        options.set_longest_match(true);  // leftmost-longest, as the scanner reports
        programs.push_back(std::make_unique<RE2>(p, options));
        REQUIRE(programs.back()->ok());
        program_rule.emplace_back(r, rule.match_on == vigil::rules::MatchOn::kRaw);
      }
    }
  }

  void Check(const std::string& id, const std::string& text) {
    vigil::scanner::Document doc;
    doc.id = id;
    doc.text = text;
    vigil::scanner::ScanResult result;
    REQUIRE(scanner->Scan(doc, context.get(), &result).ok());
    std::set<Span> expected = ReferenceSpans(*set, programs, program_rule, text);
    std::set<Span> actual = ScannerSpans(result);
    if (expected != actual) {
      std::string diff;
      for (const Span& s : expected) {
        if (!actual.count(s)) diff += "  only RE2: " + std::get<0>(s) + " @" + std::to_string(std::get<1>(s)) + "\n";
      }
      for (const Span& s : actual) {
        if (!expected.count(s)) diff += "  only scanner: " + std::get<0>(s) + " @" + std::to_string(std::get<1>(s)) + "\n";
      }
      FAIL("document " << id << " disagrees:\n" << diff << "text: " << text);
    }
  }
};

}  // namespace

TEST_CASE("full scan path agrees with RE2 alone over the generated corpus", "[differential][slow]") {
  Harness h;
  vigil::bench::CorpusGenerator gen(20261128);
  for (int i = 0; i < 3000; ++i) {
    vigil::bench::GeneratedAd ad = gen.Next();
    h.Check(ad.id, ad.text);
  }
}

TEST_CASE("full scan path agrees with RE2 alone on every example of the core pack", "[differential]") {
  Harness h;
  size_t checked = 0;
  for (const auto& rule : h.pack.rules) {
    for (const auto* list : {&rule.examples, &rule.negative_examples}) {
      for (const auto& example : *list) {
        h.Check(rule.id, example.text);
        ++checked;
      }
    }
  }
  CHECK(checked >= 320);  // 80 rules x (2 examples + 2 negatives) at least
}

TEST_CASE("entities given with this scanner's fingerprint scan to what extraction gives", "[differential]") {
  Harness h;
  const std::string& fingerprint = h.scanner->extractor_fingerprint();
  REQUIRE(fingerprint.size() == 35);  // "x1-" and 32 hex digits: libphonenumber has a build id here
  CHECK(fingerprint.starts_with("x1-"));
  // Equal options, equal fingerprints; another region or text limit extracts differently.
  const auto fingerprint_of = [&](const std::string& region, size_t max_text_bytes) {
    vigil::scanner::Scanner::Options options;
    options.phone_region = region;
    options.max_text_bytes = max_text_bytes;
    auto other = vigil::scanner::Scanner::Create(h.set, options);
    REQUIRE(other.ok());
    return (*other)->extractor_fingerprint();
  };
  const vigil::scanner::Scanner::Options defaults;
  CHECK(fingerprint_of(defaults.phone_region, defaults.max_text_bytes) == fingerprint);
  CHECK(fingerprint_of("GB", defaults.max_text_bytes) != fingerprint);
  CHECK(fingerprint_of(defaults.phone_region, 4096) != fingerprint);

  vigil::scanner::ResultJsonOptions all;
  all.include_suppressed = true;
  const auto json = [&](const vigil::scanner::ScanResult& r) {
    std::string out;
    vigil::scanner::AppendResultJson(r, all, &out);
    return out;
  };
  vigil::bench::CorpusGenerator gen(20261129);
  size_t with_entities = 0;
  vigil::scanner::ScanResult extracted, given;
  for (int i = 0; i < 1500; ++i) {
    vigil::bench::GeneratedAd ad = gen.Next();
    vigil::scanner::Document doc;
    doc.id = ad.id;
    doc.text = ad.text;
    REQUIRE(h.scanner->Scan(doc, h.context.get(), &extracted).ok());
    CHECK(extracted.entities_by == fingerprint);
    REQUIRE(h.scanner->ScanWithEntities(doc, extracted.entities, h.context.get(), &given).ok());
    CHECK(given.entities_by == fingerprint);
    INFO(doc.text);
    CHECK(json(given) == json(extracted));
    with_entities += !extracted.entities.empty();
  }
  CHECK(with_entities > 1000);

  // The entities given are the ones used, as given.
  vigil::scanner::Document doc;
  doc.id = "obscured";
  doc.text = "call seven zero two five five five zero one four seven now";
  REQUIRE(h.scanner->Scan(doc, h.context.get(), &extracted).ok());
  REQUIRE(extracted.entities.size() == 1);
  std::vector<vigil::scanner::Entity> planted = extracted.entities;
  planted[0].value = "+17025550199";
  REQUIRE(h.scanner->ScanWithEntities(doc, planted, h.context.get(), &given).ok());
  REQUIRE(given.entities.size() == 1);
  CHECK(given.entities[0].value == "+17025550199");
  REQUIRE(h.scanner->ScanWithEntities(doc, {}, h.context.get(), &given).ok());
  CHECK(given.entities.empty());
  // Entities that do not fit the text are not this text's: extracted instead.
  planted[0].end = static_cast<uint32_t>(doc.text.size() + 1);
  REQUIRE(h.scanner->ScanWithEntities(doc, planted, h.context.get(), &given).ok());
  CHECK(json(given) == json(extracted));
  planted[0].end = planted[0].start - 1;
  REQUIRE(h.scanner->ScanWithEntities(doc, planted, h.context.get(), &given).ok());
  CHECK(json(given) == json(extracted));

  // A scan whose time budget is spent before extraction has no entities,
  // given or not, and records no extraction.
  vigil::scanner::Scanner::Options hurried;
  hurried.max_scan_micros = 1;
  auto quick = vigil::scanner::Scanner::Create(h.set, hurried);
  REQUIRE(quick.ok());
  doc.text = std::string(20000, 'a') + " call 702-555-0147";
  for (const bool with_entities : {false, true}) {
    const vigil::Status s = with_entities
                                         ? (*quick)->ScanWithEntities(doc, extracted.entities, h.context.get(), &given)
                                         : (*quick)->Scan(doc, h.context.get(), &given);
    REQUIRE(s.ok());
    CHECK(given.entities.empty());
    CHECK(given.entities_by.empty());
    CHECK_FALSE(given.truncated.empty());
  }
}

TEST_CASE("the fingerprint covers libphonenumber and the libraries it loads", "[differential]") {
  const std::vector<vigil::rules::LoadedObject> objects = vigil::rules::LoadedObjects();
  const auto find = [&](std::string_view prefix) -> const vigil::rules::LoadedObject* {
    for (const auto& o : objects) {
      if (vigil::rules::BaseName(o.path).starts_with(prefix)) return &o;
    }
    return nullptr;
  };
  const vigil::rules::LoadedObject* phonenumber = find("libphonenumber.so");
  REQUIRE(phonenumber != nullptr);
  CHECK_FALSE(phonenumber->build_id.empty());
  // What it asks for is read from its dynamic section, and is loaded.
  bool icu = false;
  for (const std::string& soname : phonenumber->needed) {
    icu = icu || soname.starts_with("libicuuc.so");
    CHECK(find(soname) != nullptr);
  }
  CHECK(icu);
}

TEST_CASE("every project file the extractors include is hashed into the fingerprint", "[differential]") {
  // The list in scanner/CMakeLists.txt is kept by hand; a file the
  // extractors reach but the hash leaves out would let rescans reuse
  // entities that changed code no longer finds.
  const std::string root = VIGIL_SOURCE_DIR;
  const auto read = [&](const std::string& relative) {
    std::ifstream in(root + "/" + relative);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string cmake = read("scanner/CMakeLists.txt");
  const size_t from = cmake.find("set(VIGIL_EXTRACTOR_SOURCES");
  REQUIRE(from != std::string::npos);
  const std::string block = cmake.substr(from, cmake.find(')', from) - from);
  std::set<std::string> hashed;
  for (const auto& [dir, prefix] : {std::pair<std::string, std::string>{"${CMAKE_CURRENT_SOURCE_DIR}/", "scanner/"},
                                    {"${PROJECT_SOURCE_DIR}/", ""}}) {
    for (size_t at = block.find(dir); at != std::string::npos; at = block.find(dir, at + 1)) {
      const size_t begin = at + dir.size();
      const size_t end = block.find_first_of(" \n", begin);
      hashed.insert(prefix + block.substr(begin, end - begin));
    }
  }
  CHECK(hashed.count("scanner/phone_extractor.cc"));
  std::vector<std::string> todo = {"scanner/phone_extractor.cc", "scanner/entity_extractor.cc"};
  std::set<std::string> seen;
  while (!todo.empty()) {
    const std::string file = todo.back();
    todo.pop_back();
    if (!seen.insert(file).second) continue;
    const std::string text = read(file);
    REQUIRE_FALSE(text.empty());
    INFO(file << " is reached from the extractors");
    CHECK(hashed.count(file) == 1);
    for (size_t at = text.find("#include \""); at != std::string::npos; at = text.find("#include \"", at + 1)) {
      const size_t begin = at + 10;
      const std::string included = text.substr(begin, text.find('"', begin) - begin);
      todo.push_back(included);
      // A header's implementation is part of what it does.
      const std::string source = included.substr(0, included.rfind('.')) + ".cc";
      if (included.ends_with(".h") && !read(source).empty()) todo.push_back(source);
    }
  }
  CHECK(seen.size() >= 6);
}
