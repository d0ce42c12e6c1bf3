// Matching internals of a CompiledRuleSet: Hyperscan databases and RE2
// programs. Only rules/ and scanner/*.cc include this header.
//
// Layout: every pattern of the pack (rule patterns and `unless` patterns)
// gets a global pattern index. Rule patterns of `normalized` rules go into
// `normalized_db`, those of `raw` rules into `raw_db` (`unless` patterns
// only run in RE2, in the window around a hit); both are block
// mode databases compiled with HS_FLAG_SINGLEMATCH (Hyperscan answers
// "which patterns occur", cheaply) and no start-of-match tracking. RE2 then
// confirms each reported pattern and recovers every span with a forward
// scan of the document (leftmost-first, non-overlapping), so one RE2 pass
// runs per pattern that occurs, not per raw match end.
//
// Immutable after construction; safe for concurrent readers.
#pragma once

#include <hs/hs.h>
#include <re2/re2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vigil::rules {

struct PatternProgram {
  uint32_t rule = 0;            // index into CompiledRuleSet::rules()
  uint32_t index_in_rule = 0;   // which pattern (or unless pattern) of the rule
  bool is_unless = false;
  bool raw = false;             // runs on the original text, not the normalised one
  std::unique_ptr<RE2> re2;
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
  // For each rule, the index of its category in CompiledRuleSet::categories(),
  // or -1 when the pack does not declare it.
  std::vector<int> rule_category;
  // Rule index of the rule the scanner fires for a phone that needed
  // decoding (`obscured_contact.phone_decoded`), or -1 when the pack has none.
  int phone_decoded_rule = -1;
};

}  // namespace vigil::rules
