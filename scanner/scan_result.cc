#include "scanner/scan_result.h"

namespace vigil::scanner {

const char* EntityTypeName(EntityType t) {
  switch (t) {
    case EntityType::kPhone: return "phone";
    case EntityType::kEmail: return "email";
    case EntityType::kUrl: return "url";
    case EntityType::kHandle: return "handle";
    case EntityType::kPrice: return "price";
    case EntityType::kAge: return "age";
  }
  return "phone";
}

}  // namespace vigil::scanner
