#include "rules/literal_set.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "rules/ascii_masks.h"
#include "rules/little_endian.h"

namespace vigil::rules {

namespace {

// Stands for `\b` inside an expanded string; literals are printable ASCII,
// so it cannot be confused with one.
constexpr char kBoundary = '\x01';

constexpr std::array<uint8_t, 256> MakeLowerTable() {
  std::array<uint8_t, 256> t{};
  for (int i = 0; i < 256; ++i) t[i] = static_cast<uint8_t>(i >= 'A' && i <= 'Z' ? i + 32 : i);
  return t;
}
constexpr std::array<uint8_t, 256> kLower = MakeLowerTable();

constexpr std::array<bool, 256> MakeWordTable() {
  std::array<bool, 256> t{};
  for (int i = 0; i < 256; ++i) {
    t[i] = (i >= '0' && i <= '9') || (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z') || i == '_';
  }
  return t;
}
constexpr std::array<bool, 256> kWord = MakeWordTable();

bool IsWordAt(std::string_view text, size_t i) {
  return i < text.size() && kWord[static_cast<uint8_t>(text[i])];
}

// RE2's and Hyperscan's ASCII \b between text[i-1] and text[i].
bool IsBoundary(std::string_view text, size_t i) {
  return (i > 0 && IsWordAt(text, i - 1)) != IsWordAt(text, i);
}

// Do the boundary conditions of some string accepted at a node (bit mask
// of LiteralSet::Node::accept) hold for a match [start, end)?
bool AcceptsAt(uint8_t accept, std::string_view text, size_t start, size_t end) {
  for (int bit = 0; bit < 4; ++bit) {
    if (!(accept & (1u << bit))) continue;
    if ((bit & 1) && !IsBoundary(text, start)) continue;
    if ((bit & 2) && !IsBoundary(text, end)) continue;
    return true;
  }
  return false;
}

// Expands the supported regex subset to the strings it matches.
class Expander {
 public:
  explicit Expander(std::string_view regex) : re_(regex) {}

  bool Run(std::vector<std::string>* out) {
    if (!ParseAlternation(out) || pos_ != re_.size()) return false;
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return true;
  }

 private:
  bool AtEnd() const { return pos_ >= re_.size(); }
  char Peek() const { return re_[pos_]; }

  static bool Literal(char c) { return c >= 0x20 && c <= 0x7e; }
  static char Lower(char c) { return static_cast<char>(kLower[static_cast<uint8_t>(c)]); }

  // alternation := sequence ('|' sequence)*
  bool ParseAlternation(std::vector<std::string>* out) {
    out->clear();
    for (;;) {
      std::vector<std::string> seq;
      if (!ParseSequence(&seq)) return false;
      out->insert(out->end(), seq.begin(), seq.end());
      if (out->size() > LiteralSet::kMaxStrings) return false;
      if (AtEnd() || Peek() != '|') return true;
      ++pos_;
    }
  }

  // sequence := (atom '?'?)*, up to ')' or '|' or the end.
  bool ParseSequence(std::vector<std::string>* out) {
    out->assign(1, std::string());
    while (!AtEnd() && Peek() != '|' && Peek() != ')') {
      std::vector<std::string> atom;
      if (!ParseAtom(&atom)) return false;
      if (!AtEnd() && Peek() == '?') {
        ++pos_;
        if (!AtEnd() && (Peek() == '?' || Peek() == '+')) return false;  // lazy/possessive: not ours
        atom.emplace_back();
      }
      if (!AtEnd() && (Peek() == '*' || Peek() == '+' || Peek() == '{')) return false;
      if (out->size() * atom.size() > LiteralSet::kMaxStrings) return false;
      std::vector<std::string> product;
      product.reserve(out->size() * atom.size());
      for (const std::string& head : *out) {
        for (const std::string& tail : atom) product.push_back(head + tail);
      }
      out->swap(product);
    }
    return true;
  }

  bool ParseAtom(std::vector<std::string>* out) {
    out->clear();
    char c = Peek();
    if (c == '(') {
      ++pos_;
      if (re_.substr(pos_, 2) == "?:") {
        pos_ += 2;
      } else if (!AtEnd() && Peek() == '?') {
        return false;  // flags, named groups
      }
      if (!ParseAlternation(out)) return false;
      if (AtEnd() || Peek() != ')') return false;
      ++pos_;
      return true;
    }
    if (c == '[') return ParseClass(out);
    if (c == '\\') {
      if (pos_ + 1 >= re_.size()) return false;
      char e = re_[pos_ + 1];
      pos_ += 2;
      if (e == 'b') {
        out->push_back(std::string(1, kBoundary));
        return true;
      }
      if (e == 'd') {
        for (char d = '0'; d <= '9'; ++d) out->push_back(std::string(1, d));
        return true;
      }
      if (Literal(e) && !(e >= '0' && e <= '9') && !(e >= 'a' && e <= 'z') && !(e >= 'A' && e <= 'Z')) {
        out->push_back(std::string(1, e));
        return true;
      }
      return false;  // \x{..}, \w, \s, \n, backreferences, ...
    }
    if (static_cast<uint8_t>(c) >= 0x80) return ParseSymbol(out);
    if (c == ')' || c == '|' || c == '?' || c == '*' || c == '+' || c == '{' || c == '}' || c == ']' || c == '.' ||
        c == '^' || c == '$' || !Literal(c)) {
      return false;
    }
    ++pos_;
    out->push_back(std::string(1, Lower(c)));
    return true;
  }

  // One UTF-8 encoded character outside a class, as a single atom (so that
  // a `?` after it applies to all its bytes, as in RE2), when it is a symbol
  // of the blocks emoji and pictographs live in (IsCaselessSymbol): those
  // have no case, so RE2's caseless match is the exact bytes.
  bool ParseSymbol(std::vector<std::string>* out) {
    const auto* s = reinterpret_cast<const uint8_t*>(re_.data());
    const uint8_t lead = s[pos_];
    const size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    if (len == 0 || lead > 0xF4 || pos_ + len > re_.size()) return false;
    uint32_t cp = lead & (0x7F >> len);
    for (size_t i = 1; i < len; ++i) {
      if ((s[pos_ + i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[pos_ + i] & 0x3F);
    }
    const uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[len] || !IsCaselessSymbol(cp)) return false;  // overlong, or not ours
    out->push_back(std::string(re_.substr(pos_, len)));
    pos_ += len;
    return true;
  }

  // Arrows, technical symbols, geometric shapes, miscellaneous symbols,
  // dingbats, and the emoji and pictograph blocks: no character there has
  // a case mapping or a case-folding partner.
  static bool IsCaselessSymbol(uint32_t cp) {
    return (cp >= 0x2190 && cp <= 0x21FF) || (cp >= 0x2300 && cp <= 0x23FF) || (cp >= 0x25A0 && cp <= 0x27BF) ||
           (cp >= 0x2B00 && cp <= 0x2BFF) || (cp >= 0x1F300 && cp <= 0x1FAFF);
  }

  // '[' item+ ']' with items a character, an escaped punctuation character,
  // `\d`, or a range a-b; no negation.
  bool ParseClass(std::vector<std::string>* out) {
    ++pos_;  // '['
    if (AtEnd() || Peek() == '^' || Peek() == ']') return false;
    std::array<bool, 128> set{};
    auto item = [&](char* c) -> int {  // 1: a character in *c, 2: \d, 0: unsupported
      if (AtEnd()) return 0;
      char x = Peek();
      if (x == '\\') {
        if (pos_ + 1 >= re_.size()) return 0;
        char e = re_[pos_ + 1];
        pos_ += 2;
        if (e == 'd') return 2;
        if (Literal(e) && !(e >= '0' && e <= '9') && !(e >= 'a' && e <= 'z') && !(e >= 'A' && e <= 'Z')) {
          *c = e;
          return 1;
        }
        return 0;
      }
      if (!Literal(x) || x == '[') return 0;
      ++pos_;
      *c = x;
      return 1;
    };
    while (!AtEnd() && Peek() != ']') {
      char lo = 0;
      int kind = item(&lo);
      if (kind == 0) return false;
      if (kind == 2) {
        for (char d = '0'; d <= '9'; ++d) set[static_cast<uint8_t>(d)] = true;
        continue;
      }
      char hi = lo;
      if (pos_ + 1 < re_.size() && Peek() == '-' && re_[pos_ + 1] != ']') {
        ++pos_;
        if (item(&hi) != 1 || hi < lo) return false;
      }
      for (int x = lo; x <= hi; ++x) set[static_cast<uint8_t>(Lower(static_cast<char>(x)))] = true;
    }
    if (AtEnd()) return false;
    ++pos_;  // ']'
    for (int x = 0; x < 128; ++x) {
      if (set[x]) out->push_back(std::string(1, static_cast<char>(x)));
    }
    return !out->empty();
  }

  std::string_view re_;
  size_t pos_ = 0;
};

}  // namespace

uint32_t LiteralSet::Trie::BuildChild(uint32_t node, uint8_t byte) const {
  for (const auto& [b, child] : nodes[node].next) {
    if (b == byte) return child;
    if (b > byte) break;
  }
  return 0;  // the root is never a child
}

void LiteralSet::Trie::Add(const std::string& s, uint8_t accept_bit, bool reversed) {
  if (nodes.empty()) nodes.emplace_back();
  uint32_t node = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const uint8_t byte = static_cast<uint8_t>(reversed ? s[s.size() - 1 - i] : s[i]);
    uint32_t child = BuildChild(node, byte);
    if (child == 0) {
      child = static_cast<uint32_t>(nodes.size());
      nodes.emplace_back();
      auto& next = nodes[node].next;
      next.insert(std::upper_bound(next.begin(), next.end(), std::make_pair(byte, uint32_t{0}),
                                   [](const auto& a, const auto& b) { return a.first < b.first; }),
                  {byte, child});
    }
    node = child;
  }
  nodes[node].accept |= accept_bit;
}

void LiteralSet::Trie::Finish() {
  // Nodes with this many children get a direct table (the root always).
  constexpr size_t kDenseFrom = 16;
  // Direct tables cover ASCII bytes only: a node with a child on a byte of
  // a UTF-8 sequence keeps a list.
  const auto dense = [&](uint32_t n) {
    const auto& next = nodes[n].next;
    return (n == 0 || next.size() >= kDenseFrom) && (next.empty() || next.back().first < 128);
  };
  const auto size_of = [&](uint32_t n) -> uint32_t {
    const uint32_t count = static_cast<uint32_t>(nodes[n].next.size());
    return 1 + (dense(n) ? 128 : (count + 3) / 4 + count);
  };
  // Depth-first pre-order offsets (children in byte order), then the words.
  std::vector<uint32_t> offset(nodes.size());
  std::vector<uint32_t> order;
  order.reserve(nodes.size());
  std::vector<uint32_t> stack = {0};
  uint32_t total = 0;
  while (!stack.empty()) {
    const uint32_t n = stack.back();
    stack.pop_back();
    offset[n] = total;
    total += size_of(n);
    order.push_back(n);
    const auto& next = nodes[n].next;
    for (auto it = next.rbegin(); it != next.rend(); ++it) stack.push_back(it->second);
  }
  words.assign(total, 0);
  for (uint32_t n : order) {
    const Node& node = nodes[n];
    const uint32_t at = offset[n];
    const uint32_t count = static_cast<uint32_t>(node.next.size());
    words[at] = node.accept | (count << 8) | (dense(n) ? kDense : 0);
    if (dense(n)) {
      for (const auto& [b, child] : node.next) words[at + 1 + b] = offset[child];  // pattern bytes are ASCII
      continue;
    }
    auto* bytes = reinterpret_cast<uint8_t*>(&words[at + 1]);
    const uint32_t kids = at + 1 + (count + 3) / 4;
    for (uint32_t i = 0; i < count; ++i) {
      bytes[i] = node.next[i].first;
      words[kids + i] = offset[node.next[i].second];
    }
  }
  nodes.clear();
  nodes.shrink_to_fit();
}

std::unique_ptr<LiteralSet> LiteralSet::FromPattern(std::string_view regex) {
  std::vector<std::string> strings;
  if (!Expander(regex).Run(&strings) || strings.empty()) return nullptr;
  std::unique_ptr<LiteralSet> set(new LiteralSet());
  for (std::string& s : strings) {
    // \b only at the ends (repeated ones collapse); one inside is a
    // condition between two bytes this matcher does not track.
    int condition = 0;
    size_t b = 0, e = s.size();
    while (b < e && s[b] == kBoundary) {
      condition |= 1;
      ++b;
    }
    while (e > b && s[e - 1] == kBoundary) {
      condition |= 2;
      --e;
    }
    std::string body = s.substr(b, e - b);
    if (body.empty() || body.find(kBoundary) != std::string::npos) return nullptr;
    const uint8_t bit = static_cast<uint8_t>(1u << condition);
    set->forward_.Add(body, bit, /*reversed=*/false);
    set->reverse_.Add(body, bit, /*reversed=*/true);
    if (set->forward_.nodes.size() > kMaxNodes) return nullptr;
  }
  set->all_need_start_boundary_ = true;
  for (const Node& n : set->forward_.nodes) {
    if (n.accept & 0b0101) set->all_need_start_boundary_ = false;  // a string without \b at its start
  }
  set->all_start_at_word_start_ = set->all_need_start_boundary_;
  for (const auto& [byte, child] : set->forward_.nodes[0].next) {
    if (!kWord[byte]) set->all_start_at_word_start_ = false;
    set->first_bytes_[byte >> 6] |= uint64_t{1} << (byte & 63);
  }
  set->forward_.Finish();
  set->reverse_.Finish();
  return set;
}

namespace {

void PutWords(std::string* out, const std::vector<uint32_t>& words) {
  PutLittleEndian<uint32_t>(out, static_cast<uint32_t>(words.size()));
  for (uint32_t w : words) PutLittleEndian<uint32_t>(out, w);
}

bool GetWords(std::string_view* in, std::vector<uint32_t>* words) {
  uint32_t n = 0;
  if (!GetLittleEndian<uint32_t>(in, &n) || n == 0 || n > in->size() / 4) return false;
  words->resize(n);
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(words->data(), in->data(), size_t{n} * 4);
    in->remove_prefix(size_t{n} * 4);
  } else {
    for (uint32_t& w : *words) GetLittleEndian<uint32_t>(in, &w);
  }
  return true;
}

}  // namespace

bool LiteralSet::Trie::Valid() const {
  // Every node reachable from the root (offset 0): header, then a dense
  // table of 128 children or the child bytes and offsets, all inside
  // `words`; no other header bits. Offsets may repeat (visited once).
  std::vector<bool> seen(words.size(), false);
  std::vector<uint32_t> todo = {0};
  while (!todo.empty()) {
    const uint32_t at = todo.back();
    todo.pop_back();
    if (at >= words.size()) return false;
    if (seen[at]) continue;
    seen[at] = true;
    const uint32_t header = words[at];
    if (header >> 17) return false;
    const uint32_t count = (header >> 8) & 0xFF;
    const bool is_dense = header & kDense;
    const uint64_t size = 1 + (is_dense ? 128 : (count + 3) / 4 + count);
    if (at + size > words.size()) return false;
    if (is_dense) {
      for (uint32_t b = 0; b < 128; ++b) {
        if (const uint32_t child = words[at + 1 + b]; child != 0) todo.push_back(child);
      }
    } else {
      const uint32_t kids = at + 1 + (count + 3) / 4;
      for (uint32_t i = 0; i < count; ++i) {
        if (const uint32_t child = words[kids + i]; child != 0) todo.push_back(child);
      }
    }
  }
  return true;
}

void LiteralSet::AppendTo(std::string* out) const {
  out->push_back(static_cast<char>((all_need_start_boundary_ ? 1 : 0) | (all_start_at_word_start_ ? 2 : 0)));
  for (uint64_t bits : first_bytes_) PutLittleEndian<uint64_t>(out, bits);
  PutWords(out, forward_.words);
  PutWords(out, reverse_.words);
}

std::unique_ptr<LiteralSet> LiteralSet::Parse(std::string_view* in) {
  if (in->empty()) return nullptr;
  const auto flags = static_cast<uint8_t>((*in)[0]);
  if (flags > 3) return nullptr;
  in->remove_prefix(1);
  std::unique_ptr<LiteralSet> set(new LiteralSet());
  set->all_need_start_boundary_ = flags & 1;
  set->all_start_at_word_start_ = flags & 2;
  for (uint64_t& bits : set->first_bytes_) {
    if (!GetLittleEndian<uint64_t>(in, &bits)) return nullptr;
  }
  if (!GetWords(in, &set->forward_.words) || !GetWords(in, &set->reverse_.words)) return nullptr;
  if (!set->forward_.Valid() || !set->reverse_.Valid()) return nullptr;
  return set;
}

int64_t LiteralSet::LeftmostStartEndingAt(std::string_view text, size_t end) const {
  if (end > text.size()) return -1;
  int64_t best = -1;
  uint32_t node = 0;
  size_t pos = end;
  for (;;) {
    const uint8_t accept = reverse_.Accept(node);
    if (accept && AcceptsAt(accept, text, pos, end)) best = static_cast<int64_t>(pos);
    if (pos == 0) break;
    node = reverse_.Child(node, kLower[static_cast<uint8_t>(text[pos - 1])]);
    if (node == 0) break;
    --pos;
  }
  return best;
}

bool LiteralSet::MatchesAt(std::string_view text, size_t start, size_t hi) const {
  uint32_t node = 0;
  for (size_t pos = start; pos < hi;) {
    node = forward_.Child(node, kLower[static_cast<uint8_t>(text[pos])]);
    if (node == 0) return false;
    ++pos;
    const uint8_t accept = forward_.Accept(node);
    if (accept && AcceptsAt(accept, text, start, pos)) return true;
  }
  return false;
}

bool LiteralSet::MatchesWithin(std::string_view text, size_t lo, size_t hi, const uint64_t* word_starts) const {
  hi = std::min(hi, text.size());
  if (lo >= hi) return false;
  if (word_starts != nullptr && all_start_at_word_start_) {
    for (size_t w = lo / 64; w * 64 < hi; ++w) {
      uint64_t bits = word_starts[w];
      if (w == lo / 64) bits &= ~uint64_t{0} << (lo % 64);
      while (bits != 0) {
        const size_t start = w * 64 + static_cast<size_t>(__builtin_ctzll(bits));
        if (start >= hi) return false;
        if (StartsWithFirstByte(text, start) && MatchesAt(text, start, hi)) return true;
        bits &= bits - 1;
      }
    }
    return false;
  }
  for (size_t start = lo; start < hi; ++start) {
    if (!StartsWithFirstByte(text, start)) continue;  // no trie walk where no string starts
    if (all_need_start_boundary_ && !IsBoundary(text, start)) continue;
    if (MatchesAt(text, start, hi)) return true;
  }
  return false;
}

namespace {

// Bit i set iff p[i] is an ASCII word byte (letter, digit, '_'), for 16
// bytes.
inline uint64_t WordMask16(const char* p) {
  const __m128i v = Load16(p);
  const AsciiClasses16 c = ClassifyAscii16(v);
  return Mask16(_mm_or_si128(_mm_or_si128(c.letter, c.digit), _mm_cmpeq_epi8(v, _mm_set1_epi8('_'))));
}

}  // namespace

void LiteralSet::ComputeWordStarts(std::string_view text, std::vector<uint64_t>* bits) {
  bits->assign(text.size() / 64 + 1, 0);
  uint64_t previous_top = 0;  // was the byte before this block a word byte?
  size_t i = 0;
  for (; i + 64 <= text.size(); i += 64) {
    const char* p = text.data() + i;
    const uint64_t word =
        WordMask16(p) | WordMask16(p + 16) << 16 | WordMask16(p + 32) << 32 | WordMask16(p + 48) << 48;
    (*bits)[i / 64] = word & ~((word << 1) | previous_top);
    previous_top = word >> 63;
  }
  bool previous_word = previous_top != 0;
  for (; i < text.size(); ++i) {
    const bool word = kWord[static_cast<uint8_t>(text[i])];
    if (word && !previous_word) (*bits)[i / 64] |= uint64_t{1} << (i % 64);
    previous_word = word;
  }
}

}  // namespace vigil::rules
