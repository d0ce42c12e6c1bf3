// SHA-256 (FIPS 180-4), for content hashes that key caches: a pack's
// content_hash, compiled rule-set cache entries. Not for secrets (no
// constant-time guarantees needed or given).
//
// A Sha256 object is a running hash: Update() any number of times, then
// HexDigest() once. Thread-compatible: one object per thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::rules {

class Sha256 {
 public:
  Sha256();
  void Update(std::string_view bytes);
  // Finishes the hash and returns 64 lower-case hex digits. Call once; the
  // object must not be updated afterwards.
  std::string HexDigest();

 private:
  // Compresses `blocks` 64-byte blocks into state_ (SHA-NI when the CPU has
  // it, else portable code).
  void Blocks(const uint8_t* p, size_t blocks);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// One-shot convenience: Sha256Hex("abc") == "ba7816bf...".
std::string Sha256Hex(std::string_view bytes);

namespace internal {
// The two compression functions, exposed so tests can compare them on
// random input. Sha256ShaNiAvailable(): whether this CPU runs the second.
void Sha256BlocksPortable(uint32_t state[8], const uint8_t* p, size_t blocks);
void Sha256BlocksShaNi(uint32_t state[8], const uint8_t* p, size_t blocks);
bool Sha256ShaNiAvailable();
}  // namespace internal

}  // namespace vigil::rules
