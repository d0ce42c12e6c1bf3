// The regex dialect of rule patterns, in one place: the Hyperscan flags and
// RE2 options with which the linter checks patterns and the compiler and
// scanner compile them. A pattern is valid only if both engines accept it
// with these settings and it cannot match the empty string.
//
// Everything here is stateless and may be called from many threads.
#pragma once

#include <re2/re2.h>

#include <string>

#include "rules/status.h"

namespace vigil::rules {

// Hyperscan flags for every rule pattern: HS_FLAG_CASELESS | HS_FLAG_UTF8
// (no HS_FLAG_UCP: \w, \s and classes stay ASCII), compiled in block mode.
unsigned int PatternFlagsForHyperscan();

// RE2 options for every rule pattern: UTF-8, case-insensitive, 64 MiB
// max_mem, errors returned rather than logged.
RE2::Options Re2OptionsForPatterns();

// Checks `regex` as the compiler will compile it. Returns OK when both
// engines accept it and it cannot match the empty string; otherwise
// InvalidArgument, with *hs_error / *re2_error set to each engine's own
// message (empty when that engine accepted it) and *matches_empty true when
// the pattern can match an empty buffer. Out-parameters must be non-null.
// With `full_compile` false, Hyperscan only analyses the expression
// (syntax, empty matches) without building a database: ~40x cheaper, and
// what remains (a pattern too large for a database) is reported by the
// pack compile anyway.
Status CheckPattern(const std::string& regex, std::string* hs_error, std::string* re2_error,
                    bool* matches_empty, bool full_compile = true);

}  // namespace vigil::rules
