// The objects loaded in this process (the executable and its shared
// libraries) with their GNU build ids, which change whenever an object's
// code does, and the libraries each one asks for: so that caches and
// stored results can say which code made them.
//
// Thread-safe (dl_iterate_phdr holds the loader's lock).
#pragma once

#include <string>
#include <vector>

namespace vigil::rules {

struct LoadedObject {
  std::string path;                 // as the loader has it; "" for the executable
  std::string build_id;             // the raw id bytes; empty when the object has none
  std::vector<std::string> needed;  // its DT_NEEDED sonames ("libicuuc.so.72")
};

// In load order.
std::vector<LoadedObject> LoadedObjects();

// The file name of a path ("libicuuc.so.72" for "/usr/lib/.../libicuuc.so.72").
std::string BaseName(const std::string& path);

}  // namespace vigil::rules
