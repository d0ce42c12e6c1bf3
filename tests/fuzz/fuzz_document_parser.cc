// Fuzzes the NDJSON record parser (DocumentParser::Parse) with both the
// copying and the padded path. A record either parses into a document with
// a non-empty id and valid UTF-8 text, or is refused with a message; the
// two paths must agree.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scanner/document_parser.h"
#include "scanner/utf8.h"

namespace {

void Require(bool condition, const char* what) {
  if (!condition) {
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::scanner;
  static DocumentParser parser;
  static DocumentParser padded_parser;
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  Document doc;
  vigil::Status s = parser.Parse(line, &doc);
  if (s.ok()) {
    Require(!doc.id.empty(), "a parsed document has an id");
    Require(IsValidUtf8(doc.text), "parsed text is valid UTF-8");
    Require(IsValidUtf8(doc.id), "parsed id is valid UTF-8");
  } else {
    Require(!s.message().empty(), "a refusal says why");
  }

  // The same bytes followed by 64 readable bytes, parsed in place.
  std::string padded(line);
  padded.append(64, ' ');
  Document doc2;
  vigil::Status s2 = padded_parser.Parse(std::string_view(padded.data(), line.size()), &doc2, true);
  Require(s.ok() == s2.ok(), "padded and copying parses agree");
  if (s.ok()) {
    Require(doc.id == doc2.id && doc.text == doc2.text && doc.metadata_json == doc2.metadata_json,
            "padded and copying parses give the same document");
  }
  IsBlankLine(line);
  return 0;
}
