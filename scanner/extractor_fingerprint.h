// The extractor fingerprint (Scanner::extractor_fingerprint): everything
// entity extraction's output depends on besides the text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vigil::scanner::internal {

// "x1-" and 32 hex digits of a SHA-256 over the extractors' sources (a
// hash taken at build time, scanner/CMakeLists.txt), the names and build
// ids of the loaded libphonenumber and of every library it loads, the
// phone region and the text limit. Empty when any of those libraries has
// no build id or is not loaded: then no extraction can vouch for another.
std::string ExtractorFingerprint(std::string_view phone_region, size_t max_text_bytes);

}  // namespace vigil::scanner::internal
