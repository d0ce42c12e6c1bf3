#include "scanner/document_parser.h"

#include <catch2/catch.hpp>

using vigil::scanner::Document;
using vigil::scanner::DocumentParser;

TEST_CASE("records keep known fields and pass others through as metadata", "[parser]") {
  DocumentParser parser;
  Document doc;
  REQUIRE(parser
              .Parse(R"({"id":"a1","text":"hi there","city":"Reno","url":"https://x.example/1","price":{"v":[1,2]},"n":3})",
                     &doc)
              .ok());
  CHECK(doc.id == "a1");
  CHECK(doc.text == "hi there");
  CHECK(doc.city == "Reno");
  CHECK(doc.url == "https://x.example/1");
  CHECK(doc.metadata_json == R"({"price":{"v":[1,2]},"n":3})");
}

TEST_CASE("integer ids are accepted as their decimal text", "[parser]") {
  DocumentParser parser;
  Document doc;
  REQUIRE(parser.Parse(R"({"id":42,"text":"x"})", &doc).ok());
  CHECK(doc.id == "42");
}

TEST_CASE("bad records get a precise error", "[parser]") {
  DocumentParser parser;
  Document doc;
  struct Case {
    const char* line;
    const char* expected;
  } cases[] = {
      {R"({"id":"a","text":"x")", "invalid JSON"},
      {R"([1,2])", "must be a JSON object"},
      {R"({"text":"x"})", "missing \"id\""},
      {R"({"id":"a"})", "missing \"text\""},
      {R"({"id":1.5,"text":"x"})", "\"id\" must be a string or an integer"},
      {R"({"id":null,"text":"x"})", "\"id\" must be a string or an integer"},
      {R"({"id":"a","text":5})", "\"text\" must be a string"},
      {R"({"id":"a","text":"x","text":"y"})", "duplicate key \"text\""},
      {R"({"id":"a","text":"x","k":1,"k":2})", "duplicate key \"k\""},
      {R"({"id":"","text":"x"})", "\"id\" is empty"},
      {"{\"id\":\"a\",\"text\":\"\xff\"}", "invalid JSON"},
      {R"({"id":"a","text":"x"} trailing)", "invalid JSON"},
  };
  for (const Case& c : cases) {
    INFO(c.line);
    vigil::Status s = parser.Parse(c.line, &doc);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find(c.expected) != std::string::npos);
  }
}

TEST_CASE("deeply nested metadata is refused, not a crash", "[parser]") {
  DocumentParser parser;
  Document doc;
  std::string line = "{\"id\":\"a\",\"text\":\"x\",\"deep\":";
  for (int i = 0; i < 5000; ++i) line += "[";
  for (int i = 0; i < 5000; ++i) line += "]";
  line += "}";
  vigil::Status s = parser.Parse(line, &doc);
  CHECK_FALSE(s.ok());
}

TEST_CASE("oversized records are refused before parsing", "[parser]") {
  DocumentParser parser(DocumentParser::Limits{100, 16});
  Document doc;
  std::string line = "{\"id\":\"a\",\"text\":\"" + std::string(200, 'x') + "\"}";
  vigil::Status s = parser.Parse(line, &doc);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("over the limit") != std::string::npos);
  s = parser.Parse(R"({"id":"aaaaaaaaaaaaaaaaaaaaaaaaa","text":"x"})", &doc);
  CHECK(s.message().find("longer than 16") != std::string::npos);
}

TEST_CASE("blank lines are recognised", "[parser]") {
  CHECK(vigil::scanner::IsBlankLine(""));
  CHECK(vigil::scanner::IsBlankLine(" \t\r"));
  CHECK_FALSE(vigil::scanner::IsBlankLine(" {}"));
}
