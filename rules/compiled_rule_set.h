// CompiledRuleSet: an immutable, ready-to-scan form of a Pack.
//
// Built by rules::Compile (rules/compiler.h) or loaded from the on-disk
// cache; never modified afterwards. Share it as
// std::shared_ptr<const CompiledRuleSet>; every const method may be called
// from many threads. Matching state (Hyperscan scratch) lives in the
// scanner's per-thread context, not here.
//
// The Hyperscan databases and RE2 programs are behind a pimpl so that this
// header does not include hs.h or re2/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "rules/rule.h"

namespace vigil::rules {

struct CompiledRuleSetImpl;  // defined in rules/compiled_rule_set_impl.h

// What the scanner and the tools need to know about one rule at scan and
// explain time (the YAML-only fields, examples and locations, are dropped).
struct RuleInfo {
  std::string id;
  std::string title;
  std::string description;
  std::string category;
  double weight = 0.0;
  Evidence evidence = Evidence::kLore;
  RuleStatus status = RuleStatus::kExperimental;
  MatchOn match_on = MatchOn::kNormalized;
  std::vector<std::string> references;
  std::vector<std::string> patterns;
  std::vector<std::string> unless_patterns;
  int unless_window = 40;
  bool has_requirement = false;
  std::vector<uint32_t> requirement_rules;  // indexes into rules()
  int requirement_min = 1;
};

struct CategoryInfo {
  std::string id;
  std::string title;
  std::string description;
  std::string color;
};

class CompiledRuleSet {
 public:
  ~CompiledRuleSet();
  CompiledRuleSet(const CompiledRuleSet&) = delete;
  CompiledRuleSet& operator=(const CompiledRuleSet&) = delete;

  const std::string& pack_name() const { return pack_name_; }
  const std::string& pack_version() const { return pack_version_; }
  // "name@version", recorded with every finding.
  std::string pack_label() const { return pack_name_ + "@" + pack_version_; }
  const std::string& pack_hash() const { return pack_hash_; }
  double threshold() const { return threshold_; }
  const std::vector<RuleInfo>& rules() const { return rules_; }
  const std::vector<CategoryInfo>& categories() const { return categories_; }
  // Index into rules()/categories(), or -1.
  int FindRule(const std::string& id) const;
  int FindCategory(const std::string& id) const;

  // Matching internals, for the scanner only.
  const CompiledRuleSetImpl& impl() const { return *impl_; }

 private:
  friend class RuleSetBuilder;
  CompiledRuleSet();

  std::string pack_name_;
  std::string pack_version_;
  std::string pack_hash_;
  double threshold_ = 0.5;
  std::vector<RuleInfo> rules_;
  std::vector<CategoryInfo> categories_;
  std::unique_ptr<CompiledRuleSetImpl> impl_;
};

}  // namespace vigil::rules
