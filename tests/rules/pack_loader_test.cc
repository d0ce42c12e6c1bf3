#include "rules/pack_loader.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "rules/sha256.h"

namespace {

using vigil::rules::Diagnostic;
using vigil::rules::Diagnostics;
using vigil::rules::Evidence;
using vigil::rules::LoadPack;
using vigil::rules::LoadPackFromFiles;
using vigil::rules::MatchOn;
using vigil::rules::Pack;
using vigil::rules::PackFile;
using vigil::rules::RuleStatus;
using vigil::rules::Severity;

namespace fs = std::filesystem;

const char kHeader[] = R"(name: test
version: 1.2.3
description: A test pack
threshold: 0.6
categories:
  - id: youth
    title: Youth language
    color: "#c0392b"
  - id: recruitment
    title: Recruitment
    combination_only: true
)";

const char kRules[] = R"(rules:
  - id: youth.barely_legal
    title: "Barely legal"
    description: >
      Phrase used to suggest a provider is at or below the age of consent.
    category: youth
    weight: 0.45
    evidence: supported
    status: stable
    author: test team
    date: 2026-11-28
    references:
      - "Some report, 2022"
    match_on: raw
    patterns:
      - 'barely\s?legal'
      - 'just legal'
    unless:
      window: 25
      patterns:
        - 'law firm'
    requires:
      rules: [youth.teen]
      categories: [recruitment]
      min: 2
    examples:
      - "barely legal and ready"
      - "call 702-555-0147"
    negative_examples:
      - "legal services"
      - "barely made it"
)";

// Loads pack.yaml + rules.yaml from strings; returns the diagnostics.
Diagnostics Load(const std::string& header, const std::string& rules, Pack* pack) {
  Diagnostics diags;
  std::vector<PackFile> files = {{"pack.yaml", header}};
  if (!rules.empty()) files.push_back({"rules.yaml", rules});
  LoadPackFromFiles("p", files, pack, &diags);
  return diags;
}

bool HasCode(const Diagnostics& diags, const std::string& code) {
  for (const Diagnostic& d : diags.items) {
    if (d.code == code) return true;
  }
  return false;
}

const Diagnostic* First(const Diagnostics& diags, const std::string& code) {
  for (const Diagnostic& d : diags.items) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

// A fresh folder under the system temp dir, removed at scope end.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("vigil_loader_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  void Write(const std::string& relative, const std::string& bytes) const {
    fs::path p = path / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << bytes;
  }
};

}  // namespace

TEST_CASE("a well-formed pack loads every field with locations", "[pack_loader]") {
  Pack pack;
  Diagnostics diags = Load(kHeader, kRules, &pack);
  INFO(diags.ToString());
  REQUIRE(diags.items.empty());
  CHECK(pack.name == "test");
  CHECK(pack.version == "1.2.3");
  CHECK(pack.threshold == Approx(0.6));
  REQUIRE(pack.categories.size() == 2);
  CHECK(pack.categories[0].color == "#c0392b");
  CHECK_FALSE(pack.categories[0].combination_only);
  CHECK(pack.categories[1].combination_only);
  CHECK(pack.categories[1].location.line == 9);
  REQUIRE(pack.rules.size() == 1);
  const auto& r = pack.rules[0];
  CHECK(r.id == "youth.barely_legal");
  CHECK(r.location.file == "p/rules.yaml");
  CHECK(r.location.line == 2);
  CHECK(r.location.column == 5);
  CHECK(r.description.find("age of consent") != std::string::npos);
  CHECK(r.weight == Approx(0.45));
  CHECK(r.evidence == Evidence::kSupported);
  CHECK(r.status == RuleStatus::kStable);
  CHECK(r.match_on == MatchOn::kRaw);
  CHECK(r.date == "2026-11-28");
  REQUIRE(r.patterns.size() == 2);
  CHECK(r.patterns[0].regex == "barely\\s?legal");
  CHECK(r.patterns[0].location.line == 16);
  CHECK(r.patterns[0].location.column == 9);
  REQUIRE(r.unless.patterns.size() == 1);
  CHECK(r.unless.window == 25);
  CHECK(r.unless.patterns[0].location.line == 21);
  REQUIRE(r.has_requirement);
  CHECK(r.requirement.rules == std::vector<std::string>{"youth.teen"});
  CHECK(r.requirement.categories == std::vector<std::string>{"recruitment"});
  CHECK(r.requirement.min == 2);
  CHECK(r.requirement.location.line == 23);
  REQUIRE(r.examples.size() == 2);
  CHECK(r.examples[1].text == "call 702-555-0147");
  CHECK(r.examples[1].location.line == 28);
  CHECK(r.negative_examples.size() == 2);
  CHECK(r.field_locations.at("weight").line == 7);
  CHECK(r.field_locations.at("weight").column == 13);
  CHECK(r.field_locations.at("unless.window").line == 19);
  CHECK(pack.content_hash.size() == 64);
}

TEST_CASE("defaults apply when optional fields are absent", "[pack_loader]") {
  Pack pack;
  Diagnostics diags = Load(kHeader, R"(rules:
  - id: youth.teen
    title: Teen
    description: d
    category: youth
    weight: 0.2
    evidence: lore
    patterns: [teen]
)", &pack);
  INFO(diags.ToString());
  REQUIRE(diags.items.empty());
  REQUIRE(pack.rules.size() == 1);
  CHECK(pack.rules[0].status == RuleStatus::kExperimental);
  CHECK(pack.rules[0].match_on == MatchOn::kNormalized);
  CHECK(pack.rules[0].unless.patterns.empty());
  CHECK(pack.rules[0].unless.window == 40);
  CHECK_FALSE(pack.rules[0].has_requirement);
}

TEST_CASE("YAML syntax errors become V001 at the parser's mark", "[pack_loader]") {
  Pack pack;
  Diagnostics diags = Load(kHeader, "rules:\n  - id: a.b\n    title: [unclosed\n", &pack);
  const Diagnostic* d = First(diags, "V001");
  REQUIRE(d != nullptr);
  CHECK(d->location.file == "p/rules.yaml");
  CHECK(d->location.line >= 3);
  CHECK(d->message.rfind("YAML syntax error: ", 0) == 0);
  CHECK_FALSE(d->help.empty());
}

// yaml-cpp 0.7's LoadAll loops forever, allocating, on these (found by
// fuzz_rule_pack: it took the fuzzer past 2.5 GB); the loader must refuse
// them at the stray character instead.
TEST_CASE("a stray flow character at the top level is a V001, not a runaway parse", "[pack_loader]") {
  struct Case {
    const char* text;
    int line, column;
  };
  for (const Case& c : {Case{"\n,\n", 2, 1}, Case{",", 1, 1}, Case{"# note\n\n  ,\n", 3, 3},
                        Case{"rules: []\n...\n,\n", 3, 1}}) {
    Pack pack;
    Diagnostics diags = Load(kHeader, c.text, &pack);
    INFO(c.text << "\n" << diags.ToString());
    const Diagnostic* d = First(diags, "V001");
    REQUIRE(d != nullptr);
    CHECK(d->location.file == "p/rules.yaml");
    CHECK(d->location.line == c.line);
    CHECK(d->location.column == c.column);
    CHECK(d->message == "YAML syntax error: `,` cannot start a value here");
  }
  // The header goes through the same parse.
  Pack pack;
  Diagnostics diags;
  LoadPackFromFiles("p", {{"pack.yaml", std::string(kHeader) + ",\n"}}, &pack, &diags);
  INFO(diags.ToString());
  CHECK(HasCode(diags, "V001"));
}

TEST_CASE("unknown fields get V100 with a did-you-mean", "[pack_loader]") {
  Pack pack;
  Diagnostics diags = Load(kHeader, R"(rules:
  - id: youth.teen
    title: Teen
    description: d
    categroy: youth
    weight: 0.2
    evidence: lore
    patterns: [teen]
)", &pack);
  const Diagnostic* d = First(diags, "V100");
  REQUIRE(d != nullptr);
  CHECK(d->rule_id == "youth.teen");
  CHECK(d->message.find("did you mean `category`?") != std::string::npos);
  CHECK(d->help.find("`negative_examples`") != std::string::npos);
  CHECK(d->location.line == 5);
  CHECK(d->location.column == 5);
  CHECK(HasCode(diags, "V101"));  // category itself is now missing
}

TEST_CASE("missing, mistyped and unknown-enum fields", "[pack_loader]") {
  Pack pack;
  Diagnostics diags = Load(kHeader, R"(rules:
  - id: youth.teen
    title: Teen
    category: youth
    weight: high
    evidence: strong
    status: stabel
    match_on: raw
    patterns: teen
    unless: ['law firm']
    requires:
      min: two
)", &pack);
  INFO(diags.ToString());
  CHECK(First(diags, "V101")->message == "missing required field `description` in a rule");
  const Diagnostic* weight = First(diags, "V102");
  REQUIRE(weight != nullptr);
  CHECK(weight->message == "`weight` must be a number, found 'high'");
  CHECK(weight->location.line == 5);
  int v107 = 0, v102 = 0;
  for (const Diagnostic& d : diags.items) {
    v107 += d.code == "V107";
    v102 += d.code == "V102";
  }
  CHECK(v107 == 2);  // evidence, status
  CHECK(v102 == 4);  // weight, patterns, unless, requires.min
  CHECK(diags.ToString().find("did you mean `stable`?") != std::string::npos);
}

TEST_CASE("header problems are reported against pack.yaml", "[pack_loader]") {
  Pack pack;
  Diagnostics diags = Load("name: x\nthreshold: lots\ncategories: youth\nrules_dir: r\n", "", &pack);
  INFO(diags.ToString());
  CHECK(First(diags, "V101")->message == "missing required field `version` in pack.yaml");
  CHECK(First(diags, "V100")->location.file == "p/pack.yaml");
  int v102 = 0;
  for (const Diagnostic& d : diags.items) v102 += d.code == "V102";
  CHECK(v102 == 2);
}

TEST_CASE("duplicate keys in a mapping are V113", "[pack_loader]") {
  Pack pack;
  Diagnostics diags = Load(kHeader, R"(rules:
  - id: youth.teen
    title: Teen
    title: Teen again
    description: d
    category: youth
    weight: 0.2
    evidence: lore
    patterns: [teen]
)", &pack);
  const Diagnostic* d = First(diags, "V113");
  REQUIRE(d != nullptr);
  CHECK(d->location.line == 4);
  CHECK(d->message.find("first at line 3") != std::string::npos);
}

TEST_CASE("missing pack.yaml is V003", "[pack_loader]") {
  Pack pack;
  Diagnostics diags;
  CHECK_FALSE(LoadPackFromFiles("p", {{"rules.yaml", "rules: []\n"}}, &pack, &diags));
  CHECK(HasCode(diags, "V003"));
}

TEST_CASE("too many rules is V005, reported once", "[pack_loader]") {
  std::string rules = "rules:\n";
  for (size_t i = 0; i <= vigil::rules::kMaxPackRules; ++i) {
    rules += "  - {id: r" + std::to_string(i) +
             ", title: t, description: d, category: youth, weight: 0.1, evidence: lore, "
             "patterns: [x]}\n";
  }
  Pack pack;
  Diagnostics diags;
  CHECK_FALSE(LoadPackFromFiles(
      "p", {{"pack.yaml", kHeader}, {"a.yaml", rules}, {"b.yaml", rules}}, &pack, &diags));
  CHECK(diags.items.size() == 1);
  CHECK(diags.items[0].code == "V005");
  CHECK(pack.rules.size() == vigil::rules::kMaxPackRules);
}

TEST_CASE("YAML alias bombs hit the model budget instead of memory", "[pack_loader]") {
  // A 200 KB pattern list re-used by 5000 rules would be 1 GB in memory.
  Pack pack;
  Diagnostics diags;
  std::string big = "[";
  for (int i = 0; i < 2000; ++i) big += std::string(i ? "," : "") + "'" + std::string(100, 'x') + "'";
  big += "]";
  std::string doc = "x: &p " + big + "\nrules:\n";
  for (int i = 0; i < 5000; ++i) {
    doc += "  - {id: r" + std::to_string(i) +
           ", title: t, description: d, category: youth, weight: 0.1, evidence: lore, "
           "patterns: *p}\n";
  }
  LoadPackFromFiles("p", {{"pack.yaml", kHeader}, {"a.yaml", doc}}, &pack, &diags);
  CHECK(HasCode(diags, "V005"));
  CHECK(pack.rules.size() < 5000);
}

TEST_CASE("the content hash changes with any byte, name or file", "[pack_loader]") {
  std::vector<PackFile> files = {{"pack.yaml", kHeader}, {"rules.yaml", kRules}};
  std::string base = vigil::rules::PackContentHash(files);
  auto changed = files;
  changed[1].bytes.back() = ' ';
  CHECK(vigil::rules::PackContentHash(changed) != base);
  changed = files;
  changed[1].relative_path = "rules2.yaml";
  CHECK(vigil::rules::PackContentHash(changed) != base);
  changed = files;
  // Moving a byte from one file's end to the next file's name must not collide.
  changed.push_back({"x.yaml", ""});
  CHECK(vigil::rules::PackContentHash(changed) != base);
  CHECK(vigil::rules::PackContentHash(files) == base);
}

TEST_CASE("SHA-256 matches the FIPS 180-4 test vectors", "[sha256]") {
  using vigil::rules::Sha256Hex;
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  vigil::rules::Sha256 chunked;
  std::string million(1000000, 'a');
  for (size_t i = 0; i < million.size(); i += 7777) chunked.Update(std::string_view(million).substr(i, 7777));
  CHECK(chunked.HexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256's SHA-NI compression equals the portable one", "[sha256]") {
  namespace internal = vigil::rules::internal;
  if (!internal::Sha256ShaNiAvailable()) {
    WARN("this CPU has no SHA extensions: only the portable compression was tested");
    return;
  }
  std::mt19937_64 rng(20261128);
  std::vector<uint8_t> data(64 * 37);
  for (int round = 0; round < 200; ++round) {
    for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
    uint32_t portable[8], shani[8];
    for (int i = 0; i < 8; ++i) portable[i] = shani[i] = static_cast<uint32_t>(rng());
    const size_t blocks = 1 + rng() % 37;
    internal::Sha256BlocksPortable(portable, data.data(), blocks);
    internal::Sha256BlocksShaNi(shani, data.data(), blocks);
    INFO("round " << round << ", " << blocks << " blocks");
    REQUIRE(std::equal(portable, portable + 8, shani));
  }
}

TEST_CASE("LoadPack reads a folder recursively in sorted order", "[pack_loader]") {
  TempDir dir;
  dir.Write("pack.yaml", kHeader);
  dir.Write("b/rules.yml", "rules:\n  - {id: b.one, title: t, description: d, category: youth, "
                           "weight: 0.1, evidence: lore, patterns: [b]}\n");
  dir.Write("a.yaml", "rules:\n  - {id: a.one, title: t, description: d, category: youth, "
                      "weight: 0.1, evidence: lore, patterns: [a]}\n");
  dir.Write(".hidden/c.yaml", "not: [valid");
  dir.Write("notes.txt", "ignored");
  Pack pack;
  Diagnostics diags;
  bool ok = LoadPack(dir.path.string(), &pack, &diags);
  INFO(diags.ToString());
  CHECK(ok);
  REQUIRE(pack.rules.size() == 2);
  CHECK(pack.rules[0].id == "a.one");
  CHECK(pack.rules[1].id == "b.one");
  CHECK(pack.rules[1].location.file == (dir.path / "b/rules.yml").generic_string());
  CHECK(pack.directory == dir.path.string());

  std::string hash = pack.content_hash;
  dir.Write("a.yaml", "rules:\n  - {id: a.one, title: t, description: d, category: youth, "
                      "weight: 0.2, evidence: lore, patterns: [a]}\n");
  Diagnostics again;
  REQUIRE(LoadPack(dir.path.string(), &pack, &again));
  CHECK(pack.content_hash != hash);
}

TEST_CASE("LoadPack reports missing folders and files as V002/V003", "[pack_loader]") {
  TempDir dir;
  Pack pack;
  Diagnostics diags;
  CHECK_FALSE(LoadPack((dir.path / "nope").string(), &pack, &diags));
  REQUIRE(diags.items.size() == 1);
  CHECK(diags.items[0].code == "V002");

  Diagnostics empty;
  CHECK_FALSE(LoadPack(dir.path.string(), &pack, &empty));
  CHECK(HasCode(empty, "V003"));

  dir.Write("pack.yaml", kHeader);
  Diagnostics file;
  CHECK_FALSE(LoadPack((dir.path / "pack.yaml").string(), &pack, &file));
  CHECK(file.items[0].code == "V002");
  CHECK(file.items[0].help.find(dir.path.string()) != std::string::npos);
}

TEST_CASE("files over 16 MiB are refused with V004", "[pack_loader]") {
  TempDir dir;
  dir.Write("pack.yaml", kHeader);
  dir.Write("big.yaml", "# " + std::string(vigil::rules::kMaxPackFileBytes, 'x'));
  Pack pack;
  Diagnostics diags;
  CHECK_FALSE(LoadPack(dir.path.string(), &pack, &diags));
  CHECK(HasCode(diags, "V004"));
}

TEST_CASE("hostile bytes never crash the loader", "[pack_loader]") {
  const char* inputs[] = {
      "\xff\xfe\x00garbage",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
      "rules: !!binary aGVsbG8=",
      "rules:\n  - id: &a x\n    title: *a\n    patterns: *a\n",
      "rules:\n  - ? [complex, key]\n    : value\n",
      "rules:\n\t- id: tab\n",
      "rules: {id: x}",
      "---\n---\n---\n",
      "rules:\n  - id: x\n    weight: 1e999999\n    patterns: [~]\n",
  };
  for (const char* input : inputs) {
    Pack pack;
    Diagnostics diags;
    std::vector<PackFile> files = {{"pack.yaml", kHeader}, {"r.yaml", input}};
    LoadPackFromFiles("p", files, &pack, &diags);
    files = {{"pack.yaml", input}};
    LoadPackFromFiles("p", files, &pack, &diags);
    CHECK(diags.HasErrors());
  }
  std::string deep(100000, '[');
  Pack pack;
  Diagnostics diags;
  LoadPackFromFiles("p", {{"pack.yaml", deep}}, &pack, &diags);
  CHECK(HasCode(diags, "V001"));
}
