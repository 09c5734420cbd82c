#include "value_order.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <optional>

#include "civil_time.h"  // ParseTimestampMicros

namespace electrolite {

namespace {

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// The text a value stands for: strings as they are, anything else as JSON.
std::string TextOf(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

// An exact decimal: value = sign * 0.digits * 10^exp, digits without leading
// or trailing zeros. rank orders the classes: -inf, negative, zero, positive,
// +inf, NaN (Postgres sorts numeric NaN above everything).
struct Decimal {
  int rank = 0;  // -2, -1, 0, 1, 2, 3
  std::string digits;
  int64_t exp = 0;
};

std::optional<Decimal> ParseDecimal(std::string_view s) {
  s = Trim(s);
  Decimal d;
  const std::string low = Lower(std::string(s));
  if (low == "nan") return Decimal{3, "", 0};
  if (low == "infinity" || low == "+infinity" || low == "inf") return Decimal{2, "", 0};
  if (low == "-infinity" || low == "-inf") return Decimal{-2, "", 0};
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  std::string all;
  int64_t point = -1;
  bool any = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      all.push_back(c);
      any = true;
    } else if (c == '.' && point < 0) {
      point = static_cast<int64_t>(all.size());
    } else {
      break;
    }
  }
  if (!any) return std::nullopt;
  if (point < 0) point = static_cast<int64_t>(all.size());
  int64_t e = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    bool edigit = false;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (e < 100000000) e = e * 10 + (s[i] - '0');
      edigit = true;
    }
    if (!edigit) return std::nullopt;
    if (eneg) e = -e;
  }
  if (i != s.size()) return std::nullopt;
  size_t lead = 0;
  while (lead < all.size() && all[lead] == '0') ++lead;
  if (lead == all.size()) return Decimal{0, "", 0};
  size_t end = all.size();
  while (end > lead && all[end - 1] == '0') --end;
  d.digits = all.substr(lead, end - lead);
  d.exp = point - static_cast<int64_t>(lead) + e;
  d.rank = neg ? -1 : 1;
  return d;
}

std::optional<Decimal> DecimalOf(const Json& v) {
  if (v.is_number()) return ParseDecimal(v.dump());
  if (v.is_string()) return ParseDecimal(v.get_ref<const std::string&>());
  return std::nullopt;
}

int CompareDecimal(const Decimal& a, const Decimal& b) {
  if (a.rank != b.rank) return Cmp(a.rank, b.rank);
  if (a.rank != 1 && a.rank != -1) return 0;
  int c = a.exp != b.exp ? Cmp(a.exp, b.exp) : Cmp(a.digits, b.digits);
  return a.rank < 0 ? -c : c;
}

std::optional<double> DoubleOf(const Json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string low = Lower(std::string(Trim(v.get_ref<const std::string&>())));
  if (low == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (low == "infinity" || low == "+infinity" || low == "inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (low == "-infinity" || low == "-inf") return -std::numeric_limits<double>::infinity();
  if (!ParseDecimal(low)) return std::nullopt;
  return std::strtod(low.c_str(), nullptr);
}

int CompareDouble(double a, double b) {
  const bool an = std::isnan(a), bn = std::isnan(b);
  if (an || bn) return an == bn ? 0 : (an ? 1 : -1);
  return Cmp(a, b);
}

std::optional<bool> BoolOf(const Json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) {
    const double d = v.get<double>();
    if (d == 0) return false;
    if (d == 1) return true;
    return std::nullopt;
  }
  if (!v.is_string()) return std::nullopt;
  const std::string s = Lower(std::string(Trim(v.get_ref<const std::string&>())));
  if (s == "t" || s == "true" || s == "y" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "f" || s == "false" || s == "n" || s == "no" || s == "off" || s == "0") return false;
  return std::nullopt;
}

std::optional<int64_t> InstantOf(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string s = Lower(std::string(Trim(v.get_ref<const std::string&>())));
  if (s == "infinity" || s == "+infinity") return std::numeric_limits<int64_t>::max();
  if (s == "-infinity") return std::numeric_limits<int64_t>::min();
  return ParseTimestampMicros(v.get_ref<const std::string&>());
}

// A JSON column's document: JSON text parsed, a structured value as it is.
Json DocumentOf(const Json& v) {
  if (v.is_string()) {
    Json parsed = Json::parse(v.get_ref<const std::string&>());
    if (!parsed.is_discarded()) return parsed;
  }
  return v;
}

std::string UuidOf(const Json& v) {
  std::string out;
  for (char c : Lower(TextOf(v))) {
    if (c != '-' && c != '{' && c != '}') out.push_back(c);
  }
  return out;
}

std::string_view StripTrailingSpaces(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool IsOneOf(std::string_view t, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names) {
    if (t == n) return true;
  }
  return false;
}

}  // namespace

int CompareTyped(std::string_view t, const Json& a, const Json& b) {
  const bool an = a.is_null(), bn = b.is_null();
  if (an || bn) return an == bn ? 0 : (an ? -1 : 1);
  const bool array = t.size() > 2 && t.substr(t.size() - 2) == "[]";
  if (!array) {
    if (IsOneOf(t, {"int2", "int4", "int8", "oid", "xid", "numeric"})) {
      auto da = DecimalOf(a), db = DecimalOf(b);
      if (da && db) return CompareDecimal(*da, *db);
    } else if (IsOneOf(t, {"float4", "float8"})) {
      auto da = DoubleOf(a), db = DoubleOf(b);
      if (da && db) return CompareDouble(*da, *db);
    } else if (t == "bool") {
      auto ba = BoolOf(a), bb = BoolOf(b);
      if (ba && bb) return Cmp(*ba, *bb);
    } else if (IsOneOf(t, {"timestamptz", "timestamp", "date"})) {
      auto ia = InstantOf(a), ib = InstantOf(b);
      if (ia && ib) return Cmp(*ia, *ib);
    } else if (IsOneOf(t, {"json", "jsonb"})) {
      const Json da = DocumentOf(a), db = DocumentOf(b);
      if (da == db) return 0;
      return Cmp(da.dump(), db.dump());
    } else if (t == "uuid") {
      return Cmp(UuidOf(a), UuidOf(b));
    } else if (t == "bpchar") {
      const std::string sa = TextOf(a), sb = TextOf(b);
      return Cmp(StripTrailingSpaces(sa), StripTrailingSpaces(sb));
    }
  }
  return Cmp(TextOf(a), TextOf(b));
}

int CompareColumn(const ColumnTypes& types, std::string_view column, const Json& a,
                  const Json& b) {
  auto it = types.find(column);
  return CompareTyped(it == types.end() ? std::string_view() : std::string_view(it->second), a, b);
}

}  // namespace electrolite
