// Fixed-width unsigned integers as little-endian bytes, whatever the host:
// the byte order of the compiled-rule cache files (rules/compiler.cc) and
// of the literal sets inside them (rules/literal_set.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace vigil::rules {

template <typename T>
void PutLittleEndian(std::string* out, T v) {
  static_assert(std::is_unsigned_v<T>);
  for (size_t i = 0; i < sizeof(T); ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// False, consuming nothing, when fewer than sizeof(T) bytes are left.
template <typename T>
bool GetLittleEndian(std::string_view* in, T* v) {
  static_assert(std::is_unsigned_v<T>);
  if (in->size() < sizeof(T)) return false;
  *v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) *v |= static_cast<T>(static_cast<unsigned char>((*in)[i])) << (8 * i);
  in->remove_prefix(sizeof(T));
  return true;
}

}  // namespace vigil::rules
