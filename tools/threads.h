// How many worker threads a tool runs: what was asked for, else one per core.
#pragma once

#include <algorithm>
#include <thread>

namespace vigil::tools {

inline int ThreadsOrCores(int requested) {
  return requested > 0 ? requested : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace vigil::tools
