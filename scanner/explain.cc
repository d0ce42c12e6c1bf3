#include "scanner/explain.h"

namespace vigil::scanner {

std::vector<TextChange> DescribeNormalization(std::string_view original, const NormalizedText& n, uint32_t start,
                                              uint32_t end) {
  std::vector<TextChange> changes;
  const std::string& t = n.text;
  size_t i = 0;
  while (i < t.size()) {
    if (t[i] == ' ') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < t.size() && t[j] != ' ') ++j;
    uint32_t ob = n.src_begin[i], oe = n.src_end[j - 1];
    if (oe > ob && ob < end && oe > start && oe <= original.size()) {
      std::string_view word(t.data() + i, j - i);
      std::string_view source = original.substr(ob, oe - ob);
      bool same = source.size() == word.size();
      for (size_t k = 0; same && k < word.size(); ++k) {
        char c = source[k];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        same = c == word[k];
      }
      if (!same) changes.push_back({ob, oe, std::string(source), std::string(word)});
    }
    i = j;
  }
  return changes;
}

std::vector<TextChange> DescribeNormalization(std::string_view original, const NormalizedText& normalized) {
  return DescribeNormalization(original, normalized, 0, static_cast<uint32_t>(original.size()));
}

}  // namespace vigil::scanner
