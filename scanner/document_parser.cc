#include "scanner/document_parser.h"

#include <simdjson.h>

#include <string>
#include <vector>

#include <fmt/format.h>

namespace vigil::scanner {

struct DocumentParser::Impl {
  Limits limits;
  // The DOM parser dispatches to the best SIMD kernel at run time (the
  // on-demand API would pick one at compile time: the slow fallback for a
  // generic x86-64 build).
  simdjson::dom::parser parser;
  std::string padded;  // copy of a line with room for simdjson's padding
};

DocumentParser::DocumentParser() : DocumentParser(Limits{}) {}
DocumentParser::DocumentParser(Limits limits) : impl_(std::make_unique<Impl>()) {
  impl_->limits = limits;
}
DocumentParser::~DocumentParser() = default;

bool IsBlankLine(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

namespace {

constexpr std::string_view kKnown[] = {"id", "text", "url", "source", "city", "posted_at", "fetched_at"};

void AppendEscapedKey(std::string_view key, std::string* out) {
  out->push_back('"');
  for (char c : key) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out->append(fmt::format("\\u{:04x}", static_cast<unsigned char>(c)));
      continue;
    }
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace

Status DocumentParser::Parse(std::string_view line, Document* doc, bool padded) {
  *doc = Document{};
  if (line.size() > impl_->limits.max_line_bytes) {
    return Status::InvalidArgument(
        fmt::format("record is {} bytes, over the limit of {} bytes", line.size(), impl_->limits.max_line_bytes));
  }
  const char* data = line.data();
  if (!padded) {
    impl_->padded.assign(line.data(), line.size());
    impl_->padded.append(simdjson::SIMDJSON_PADDING, ' ');
    data = impl_->padded.data();
  }
  simdjson::dom::element root;
  if (auto e = impl_->parser.parse(data, line.size(), /*realloc_if_needed=*/false).get(root)) {
    return Status::InvalidArgument(fmt::format("invalid JSON: {}", simdjson::error_message(e)));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) {
    return Status::InvalidArgument("a record must be a JSON object with \"id\" and \"text\"");
  }
  bool have_id = false, have_text = false;
  std::string metadata;
  std::vector<std::string_view> other_keys;
  uint32_t seen = 0;  // known keys already taken, to refuse duplicates
  for (simdjson::dom::key_value_pair field : object) {
    std::string_view key = field.key;
    simdjson::dom::element value = field.value;
    int known = -1;
    for (int i = 0; i < 7; ++i) {
      if (key == kKnown[i]) known = i;
    }
    if (known < 0) {
      for (std::string_view other : other_keys) {
        if (other == key) return Status::InvalidArgument(fmt::format("duplicate key \"{}\"", key));
      }
      other_keys.push_back(key);
      metadata.append(metadata.empty() ? "{" : ",");
      AppendEscapedKey(key, &metadata);
      metadata.push_back(':');
      metadata.append(simdjson::minify(value));
      continue;
    }
    if (seen & (1u << known)) return Status::InvalidArgument(fmt::format("duplicate key \"{}\"", key));
    seen |= 1u << known;
    if (known == 0) {
      if (value.is_string()) {
        doc->id.assign(std::string_view(value.get_string().value_unsafe()));
      } else if (value.is_int64()) {
        doc->id = std::to_string(value.get_int64().value_unsafe());
      } else if (value.is_uint64()) {
        doc->id = std::to_string(value.get_uint64().value_unsafe());
      } else {
        return Status::InvalidArgument("\"id\" must be a string or an integer");
      }
      if (doc->id.empty()) return Status::InvalidArgument("\"id\" is empty");
      if (doc->id.size() > impl_->limits.max_id_bytes) {
        return Status::InvalidArgument(fmt::format("\"id\" is longer than {} bytes", impl_->limits.max_id_bytes));
      }
      have_id = true;
      continue;
    }
    if (!value.is_string()) return Status::InvalidArgument(fmt::format("\"{}\" must be a string", key));
    std::string* target[] = {nullptr, &doc->text, &doc->url, &doc->source, &doc->city, &doc->posted_at,
                             &doc->fetched_at};
    target[known]->assign(std::string_view(value.get_string().value_unsafe()));
    if (known == 1) have_text = true;
  }
  if (!have_id) return Status::InvalidArgument("missing \"id\"");
  if (!have_text) return Status::InvalidArgument("missing \"text\"");
  if (!metadata.empty()) metadata.push_back('}');
  doc->metadata_json = std::move(metadata);
  return Status::Ok();
}

}  // namespace vigil::scanner
