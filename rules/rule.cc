#include "rules/rule.h"

namespace vigil::rules {

const char* EvidenceName(Evidence e) {
  switch (e) {
    case Evidence::kSupported: return "supported";
    case Evidence::kContested: return "contested";
    case Evidence::kLore: return "lore";
  }
  return "lore";
}

const char* RuleStatusName(RuleStatus s) {
  switch (s) {
    case RuleStatus::kExperimental: return "experimental";
    case RuleStatus::kTest: return "test";
    case RuleStatus::kStable: return "stable";
    case RuleStatus::kDeprecated: return "deprecated";
  }
  return "experimental";
}

const char* MatchOnName(MatchOn m) { return m == MatchOn::kRaw ? "raw" : "normalized"; }

const Category* Pack::FindCategory(const std::string& id) const {
  for (const Category& c : categories) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const Rule* Pack::FindRule(const std::string& id) const {
  for (const Rule& r : rules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

}  // namespace vigil::rules
