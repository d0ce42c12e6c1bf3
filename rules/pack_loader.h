// PackLoader: reads a rule pack folder (pack.yaml plus rule files) into the
// data model of rules/rule.h, reporting every structural problem as a
// Diagnostic with file:line:col instead of stopping at the first.
//
// What the loader checks: the files can be read and are valid YAML (V001,
// V002, V003), size limits (V004, V005), that every mapping has only known
// fields (V100) with required ones present (V101), values of the right type
// (V102), known enum values (V107) and no key written twice (V113). Meaning
// (duplicate ids, ranges, references, regex syntax) is checked by LintPack
// in rules/lint.h. See docs/rules.md for the codes.
//
// The functions are reentrant: they touch only their arguments and may run
// on several threads at once for different packs. They never throw.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "rules/diagnostic.h"
#include "rules/rule.h"

namespace vigil::rules {

inline constexpr size_t kMaxPackFileBytes = 16u << 20;  // per file (V004)
inline constexpr size_t kMaxPackRules = 10000;          // per pack (V005)
// Bytes of text (patterns, examples, titles...) the model may hold; stops
// YAML aliases from multiplying a small file into a huge pack (V005).
inline constexpr size_t kMaxPackModelBytes = 64u << 20;

// One file of a pack held in memory: path relative to the pack folder
// ("pack.yaml", "youth/rules.yaml") and its bytes.
struct PackFile {
  std::string relative_path;
  std::string bytes;
};

// Loads the pack in folder `dir`: `dir/pack.yaml` first, then every other
// `*.yaml` / `*.yml` below `dir` (sub-folders included, names starting with
// '.' skipped) in sorted relative-path order. File paths in locations are
// `dir` joined with the relative path, as given. Replaces *pack (directory,
// content_hash set even when there are errors) and appends to *diags.
// Returns true when no error was added (warnings allowed).
bool LoadPack(const std::string& dir, Pack* pack, Diagnostics* diags);

// As LoadPack, from files already in memory (tests, tools that embed packs).
// `dir` only names the files in locations; the files are taken in
// pack.yaml-first, sorted order whatever order they are given in.
bool LoadPackFromFiles(const std::string& dir, std::vector<PackFile> files, Pack* pack,
                       Diagnostics* diags);

// The files LoadPack would parse, in the order it hashes them, and their
// content hash (PackContentHash), without parsing them: what a start-up
// needs to find the pack's compiled form in the cache. False, with no
// files, when `dir` is not a folder or a file cannot be listed or read or
// is too large (LoadPack reports why).
bool ReadPackFiles(const std::string& dir, std::vector<PackFile>* files, std::string* content_hash);
// LoadPackFromFiles for what ReadPackFiles gave (files in order, their
// content hash), without hashing the files again.
bool LoadReadPackFiles(const std::string& dir, std::vector<PackFile> files, std::string content_hash, Pack* pack,
                       Diagnostics* diags);

// The content hash LoadPack stores in Pack::content_hash: SHA-256 over each
// file's relative path, length and bytes, in the order given. Changes when
// any byte, name or the set of files changes.
std::string PackContentHash(const std::vector<PackFile>& files);

}  // namespace vigil::rules
