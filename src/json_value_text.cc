// JsonValue text: parse() over JsonTokenizer, and dump().
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "json_tokenizer.h"
#include "json_value.h"

namespace electrolite {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i] (a byte >= 0x80),
// or minus the length of its longest ill-formed prefix (>= 1), after which
// decoding resumes (Unicode Table 3-7: no overlongs, surrogates or code
// points above U+10FFFF).
int Utf8Length(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  unsigned char lo = 0x80, hi = 0xBF;
  int n;
  if (c < 0xC2) {
    return -1;
  } else if (c < 0xE0) {
    n = 2;
  } else if (c < 0xF0) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c < 0xF5) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k < n; ++k) {
    if (i + k >= s.size()) return -k;
    const unsigned char b = static_cast<unsigned char>(s[i + k]);
    if (b < lo || b > hi) return -k;
    lo = 0x80;
    hi = 0xBF;
  }
  return n;
}

bool ValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const int n = Utf8Length(s, i);
    if (n < 0) return false;
    i += static_cast<size_t>(n);
  }
  return true;
}

// A number literal the tokenizer validated: unsigned when non-negative and
// integral, signed when negative and integral, else (or when out of both
// ranges) a double; false when the double overflows.
bool ParseNumber(std::string_view s, JsonValue* out) {
  const bool negative = s[0] == '-';
  if (s.find_first_of(".eE") == std::string_view::npos) {
    uint64_t m = 0;
    bool fits = true;
    for (size_t i = negative ? 1 : 0; i < s.size(); ++i) {
      const unsigned d = static_cast<unsigned>(s[i] - '0');
      if (m > (UINT64_MAX - d) / 10) {
        fits = false;
        break;
      }
      m = m * 10 + d;
    }
    if (fits && !negative) {
      *out = JsonValue(m);
      return true;
    }
    if (fits && m <= (uint64_t{1} << 63)) {
      *out = JsonValue(static_cast<int64_t>(0 - m));
      return true;
    }
  }
  char local[64];
  std::string heap;
  const char* text = local;
  if (s.size() < sizeof local) {
    std::memcpy(local, s.data(), s.size());
    local[s.size()] = '\0';
  } else {
    heap.assign(s);
    text = heap.c_str();
  }
  const double d = std::strtod(text, nullptr);
  if (!std::isfinite(d)) return false;
  *out = JsonValue(d);
  return true;
}

// Sorts a parsed object's members by key, keeping the last of equal keys (as
// a std::map assigned in document order would). A bottom-up merge sort: stable,
// O(n log n), and much smaller code than std::stable_sort.
void Canonicalize(JsonValue::Object* members) {
  const size_t n = members->size();
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; ++i) sorted = (*members)[i - 1].key < (*members)[i].key;
  if (sorted) return;
  JsonValue::Object scratch(n);
  JsonValue::Object* src = members;
  JsonValue::Object* dst = &scratch;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      const size_t mid = std::min(lo + width, n), hi = std::min(lo + 2 * width, n);
      size_t i = lo, j = mid, k = lo;
      while (i < mid || j < hi) {
        const bool right = i == mid || (j < hi && (*src)[j].key < (*src)[i].key);
        (*dst)[k++] = std::move((*src)[right ? j++ : i++]);
      }
    }
    std::swap(src, dst);
  }
  if (src != members) members->swap(scratch);
  size_t out = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i + 1 < n && (*members)[i + 1].key == (*members)[i].key) continue;
    if (out != i) (*members)[out] = std::move((*members)[i]);
    ++out;
  }
  members->resize(out);
}

void AppendUnsigned(std::string* out, uint64_t v) {
  char buf[20];
  size_t n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out->push_back(buf[--n]);
}

// The shortest digits (at most 17, no trailing zeros) that read back as `x`
// (finite, > 0), and the exponent e with x ~= digits * 10^e.
int ShortestDigits(double x, char* digits, int* exponent) {
  char buf[40];
  // A normal double's shortest round trip has at most 15 digits iff its
  // 15-digit rounding reads back (their spacing is wider than its ulp); a
  // subnormal's may be shorter than that rounding, so start from 1.
  for (int precision = x < 2.2250738585072014e-308 ? 1 : 15;; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*e", precision - 1, x);
    if (precision == 17 || std::strtod(buf, nullptr) == x) break;
  }
  // buf: d[.ddd]e[+-]XX
  int len = 0;
  const char* p = buf;
  for (; *p != 'e'; ++p) {
    if (*p != '.') digits[len++] = *p;
  }
  const int e10 = std::atoi(p + 1);
  while (len > 1 && digits[len - 1] == '0') --len;
  *exponent = e10 - (len - 1);
  return len;
}

// nlohmann/json's layout of a double (its dtoa's format_buffer): fixed
// notation for decimal exponents -4 < n <= 15 with at least one digit after
// the point ("1.0", "0.001"), else d.ddde+XX.
void AppendDouble(std::string* out, double x) {
  if (!std::isfinite(x)) {
    out->append("null");
    return;
  }
  if (std::signbit(x)) {
    out->push_back('-');
    x = -x;
  }
  if (x == 0) {
    out->append("0.0");
    return;
  }
  char d[20];
  int e = 0;
  const int k = ShortestDigits(x, d, &e);
  const int n = k + e;  // position of the decimal point
  if (k <= n && n <= 15) {
    out->append(d, k);
    out->append(static_cast<size_t>(n - k), '0');
    out->append(".0");
  } else if (0 < n && n <= 15) {
    out->append(d, n);
    out->push_back('.');
    out->append(d + n, k - n);
  } else if (-4 < n && n <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-n), '0');
    out->append(d, k);
  } else {
    out->push_back(d[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(d + 1, k - 1);
    }
    int x10 = n - 1;
    out->append(x10 < 0 ? "e-" : "e+");
    if (x10 < 0) x10 = -x10;
    if (x10 < 10) out->push_back('0');
    AppendUnsigned(out, static_cast<uint64_t>(x10));
  }
}

// A JSON string literal of `s`; each ill-formed UTF-8 sequence becomes U+FFFD.
void AppendString(std::string* out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0, i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out->append(s.data() + run, i - run);
    if (c >= 0x80) {
      const int n = Utf8Length(s, i);
      if (n > 0) {
        out->append(s.data() + i, static_cast<size_t>(n));
        i += static_cast<size_t>(n);
      } else {
        out->append("\xEF\xBF\xBD");
        i += static_cast<size_t>(-n);
      }
      run = i;
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 15]);
    }
    run = ++i;
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

}  // namespace

// Builds the document from the tokenizer's tokens.
class JsonValue::Builder : public JsonHandler {
 public:
  explicit Builder(JsonValue* root) : root_(root) {}

  Status OnToken(JsonToken token, std::string_view text) override {
    switch (token) {
      case JsonToken::kKey:
        if (!ValidUtf8(text)) return Invalid();
        key_.assign(text);
        return Status::Ok();
      case JsonToken::kBeginObject:
        open_.push_back(&(*Slot() = JsonValue::object()));
        return Status::Ok();
      case JsonToken::kBeginArray:
        open_.push_back(&(*Slot() = JsonValue::array()));
        return Status::Ok();
      case JsonToken::kEndObject:
        Canonicalize(&open_.back()->object_);
        open_.pop_back();
        return Status::Ok();
      case JsonToken::kEndArray:
        open_.pop_back();
        return Status::Ok();
      case JsonToken::kString:
        if (!ValidUtf8(text)) return Invalid();
        *Slot() = JsonValue(text);
        return Status::Ok();
      case JsonToken::kNumber:
        return ParseNumber(text, Slot()) ? Status::Ok() : Invalid();
      case JsonToken::kTrue:
        *Slot() = JsonValue(true);
        return Status::Ok();
      case JsonToken::kFalse:
        *Slot() = JsonValue(false);
        return Status::Ok();
      case JsonToken::kNull:
        Slot();
        return Status::Ok();
    }
    return Invalid();
  }

 private:
  static Status Invalid() { return Status::InvalidArgument("invalid JSON"); }

  // Where the next value goes: the root, a new element of the open array or
  // a new member (under the last key) of the open object.
  JsonValue* Slot() {
    if (open_.empty()) return root_;
    JsonValue* top = open_.back();
    if (top->is_array()) return &top->array_.emplace_back();
    top->object_.push_back(Member{std::move(key_), JsonValue()});
    return &top->object_.back().value;
  }

  JsonValue* root_;
  std::vector<JsonValue*> open_;  // each is the last value in its parent
  std::string key_;
};

JsonValue JsonValue::parse(std::string_view text) {
  // As in nlohmann/json (whose inputs could be C strings), a NUL byte ends
  // the input; inside a string literal that leaves the literal unterminated.
  text = text.substr(0, text.find('\0'));
  if (text.size() >= 3 && std::memcmp(text.data(), "\xEF\xBB\xBF", 3) == 0) text.remove_prefix(3);
  JsonValue root;
  Builder builder(&root);
  JsonTokenizer::Options options;
  options.max_depth = kMaxDepth;
  options.strict_surrogates = true;
  JsonTokenizer tokenizer(&builder, options);
  Status s = tokenizer.Feed(text);
  if (s.ok()) s = tokenizer.Finish(/*allow_empty=*/false);
  if (!s.ok()) {
    JsonValue discarded;
    discarded.type_ = Type::kDiscarded;
    return discarded;
  }
  return root;
}

std::string JsonValue::dump() const {
  std::string out;
  DumpTo(&out);
  return out;
}

void JsonValue::DumpTo(std::string* out) const {
  switch (type_) {
    case Type::kNull: out->append("null"); return;
    case Type::kBool: out->append(bool_ ? "true" : "false"); return;
    case Type::kInteger:
      if (int_ < 0) {
        out->push_back('-');
        AppendUnsigned(out, 0 - static_cast<uint64_t>(int_));
      } else {
        AppendUnsigned(out, static_cast<uint64_t>(int_));
      }
      return;
    case Type::kUnsigned: AppendUnsigned(out, uint_); return;
    case Type::kFloat: AppendDouble(out, double_); return;
    case Type::kString: AppendString(out, string_); return;
    case Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < array_.size(); ++i) {
        if (i > 0) out->push_back(',');
        array_[i].DumpTo(out);
      }
      out->push_back(']');
      return;
    case Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < object_.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendString(out, object_[i].key);
        out->push_back(':');
        object_[i].value.DumpTo(out);
      }
      out->push_back('}');
      return;
    case Type::kDiscarded: out->append("<discarded>"); return;
  }
}

}  // namespace electrolite
