// Matching internals of a CompiledRuleSet: Hyperscan databases and RE2
// programs. Only rules/ and scanner/*.cc include this header.
//
// Layout: every pattern of the pack (rule patterns and `unless` patterns)
// gets a global pattern index. Rule patterns of `normalized` rules go into
// `normalized_db`, those of `raw` rules into `raw_db` (`unless` patterns
// only run in RE2, in the window around a hit); both are block
// mode databases without start-of-match tracking: Hyperscan reports every
// (pattern, end offset). RE2 then confirms each end and recovers its start
// by matching `(?:pattern)\z` on the text up to that end (a reverse DFA
// walk over the match only, Nosey Parker's trick); one hit is kept per
// (rule, start), the longest.
//
// Immutable after construction; safe for concurrent readers.
#pragma once

#include <hs/hs.h>
#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rules/literal_set.h"

namespace vigil::rules {

struct PatternProgram {
  uint32_t rule = 0;            // index into CompiledRuleSet::rules()
  uint32_t index_in_rule = 0;   // which pattern (or unless pattern) of the rule
  bool is_unless = false;
  bool raw = false;             // runs on the original text, not the normalised one
  // The pattern itself, for patterns without a literal set (the scanner
  // tries non-literal `unless` windows with it); null when `literal` is set.
  std::unique_ptr<RE2> re2;
  // `(?:pattern)\z`, for rule patterns without a literal set: given an
  // end offset Hyperscan reported, RE2 runs its reverse DFA back from that
  // end to the leftmost start, costing the match's length rather than the
  // text's.
  std::unique_ptr<RE2> re2_at_end;
  // The pattern as a finite set of strings when it is one (most phrase
  // rules are), for normalised-text rules only: the scanner then confirms
  // ends and tries `unless` windows with it instead of RE2.
  std::unique_ptr<LiteralSet> literal;
};

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};
using HsDatabasePtr = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;

struct CompiledRuleSetImpl {
  std::vector<PatternProgram> patterns;  // indexed by global pattern id
  HsDatabasePtr normalized_db;           // null when there are no such patterns
  HsDatabasePtr raw_db;
  // For each rule, the global ids of its unless patterns.
  std::vector<std::vector<uint32_t>> unless_of_rule;
  // For each rule whose unless patterns are all literal sets, their union
  // (one walk over a hit's window instead of one per pattern); else null.
  std::vector<std::unique_ptr<LiteralSet>> unless_union_of_rule;
  // For each rule, the index of its category in CompiledRuleSet::categories(),
  // or -1 when the pack does not declare it.
  std::vector<int> rule_category;
  // Rule index of the rule the scanner fires for a phone that needed
  // decoding (`obscured_contact.phone_decoded`), or -1 when the pack has none.
  int phone_decoded_rule = -1;
};

}  // namespace vigil::rules
