// Compiler: turns a loaded Pack into an immutable CompiledRuleSet, and
// moves compiled sets to and from bytes (the `vigil rules compile` output
// and the on-disk cache, rules/rule_set_cache.h).
//
// Thread-safety: free functions with no shared state; call from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "rules/compiled_rule_set.h"
#include "rules/diagnostic.h"
#include "rules/rule.h"
#include "rules/status.h"

namespace vigil::rules {

// The rule the scanner fires, with the phone's span, whenever a phone number
// needed decoding (an obscured contact). A pack opts in by defining it.
inline constexpr const char* kPhoneDecodedRuleId = "obscured_contact.phone_decoded";

struct CompileOptions {
  // Packs whose Hyperscan compile takes longer get a V401 warning.
  double max_compile_seconds = 30.0;
  // Packs whose databases are larger are refused with V400.
  size_t max_database_bytes = 256u << 20;
};

// Compiles `pack` (which should be lint-clean). Compile problems (an engine
// rejecting a pattern, a database too large) are added to *diags as errors
// and the result is a non-OK status; slowness is a warning. Deprecated
// rules are left out.
Result<std::shared_ptr<const CompiledRuleSet>> Compile(const Pack& pack, const CompileOptions& options,
                                                       Diagnostics* diags);

// A stable binary form: magic, format version, the cache key, rule metadata
// and the serialized Hyperscan databases, with a checksum over all of it.
Result<std::string> SerializeRuleSet(const CompiledRuleSet& set);

// Inverse of SerializeRuleSet. Refuses (kCorruption) foreign, truncated or
// damaged bytes and (kInvalidArgument) sets built for another Hyperscan
// version or CPU; never trusts what it cannot verify.
Result<std::shared_ptr<const CompiledRuleSet>> DeserializeRuleSet(std::string_view bytes);

// Identifies the matching engine and CPU a compiled set is valid for:
// "hs-5.4.0;features=4;tune=0;format=1". Part of every cache key.
std::string EngineFingerprint();

}  // namespace vigil::rules
