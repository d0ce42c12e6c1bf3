// The GNU build ids of the objects loaded in this process (the executable
// and its shared libraries): they change whenever an object's code does,
// so caches and stored results can say which code made them.
//
// Thread-safe (dl_iterate_phdr holds the loader's lock).
#pragma once

#include <functional>
#include <string_view>

namespace vigil::rules {

// Calls fn(object, id) for each loaded object that carries a build id, in
// load order: `object` is its path as the loader has it ("" for the
// executable), `id` the raw id bytes.
void ForEachLoadedBuildId(const std::function<void(std::string_view object, std::string_view id)>& fn);

}  // namespace vigil::rules
