#include "rules/status.h"

namespace vigil {

std::string Status::ToString() const {
  const char* prefix = "OK";
  switch (code_) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: prefix = "Invalid argument: "; break;
    case Code::kNotFound: prefix = "Not found: "; break;
    case Code::kIOError: prefix = "IO error: "; break;
    case Code::kCorruption: prefix = "Corruption: "; break;
    case Code::kBusy: prefix = "Busy: "; break;
    case Code::kUnavailable: prefix = "Unavailable: "; break;
    case Code::kConflict: prefix = "Conflict: "; break;
    case Code::kInternal: prefix = "Internal error: "; break;
  }
  return std::string(prefix) + message_;
}

}  // namespace vigil
