#include "conflict_policy.h"

#include <cmath>
#include <cstdlib>

namespace electrolite {

namespace {

using json = Json;

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// A finite number from a JSON number or a numeric string ("5", "-1.5e3").
std::optional<double> AsNumber(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 64) return std::nullopt;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  bool digit = false, dot = false, exp = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !dot && !exp) {
      dot = true;
    } else if ((c == 'e' || c == 'E') && digit && !exp) {
      exp = true;
      digit = false;
      if (i + 1 < s.size() && (s[i + 1] == '-' || s[i + 1] == '+')) ++i;
    } else {
      return std::nullopt;
    }
  }
  if (!digit) return std::nullopt;
  const double d = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

// Exact int64 when both sides are integers (int8 beyond 2^53 stays exact).
std::optional<int64_t> AsInt(const json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 20) return std::nullopt;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return std::nullopt;
  }
  char* end = nullptr;
  const long long r = std::strtoll(s.c_str(), &end, 10);
  return static_cast<int64_t>(r);
}

std::optional<bool> AsBool(const json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s == "t" || s == "true") return true;
  if (s == "f" || s == "false") return false;
  return std::nullopt;
}

template <typename T>
int Cmp(T a, T b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

int CompareMutationIds(const Contender& local, const Contender& remote) {
  // R5: a server row with no known writer wins the tie.
  if (remote.mutation_id.empty()) return -1;
  return Cmp(local.mutation_id, remote.mutation_id);
}

const json& Field(const json& row, const std::string& column) {
  static const json kNull;
  if (!row.is_object()) return kNull;
  auto it = row.find(column);
  return it == row.end() ? kNull : *it;
}

}  // namespace

const char* PolicyName(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kLastWriteWins: return "last-write-wins";
    case PolicyKind::kServerWins: return "server-wins";
    case PolicyKind::kImportance: return "importance";
    case PolicyKind::kCustom: return "custom";
  }
  return "server-wins";
}

Result<TablePolicy> TablePolicy::FromJson(const json& entry) {
  TablePolicy p;
  if (!entry.is_object()) return Status::InvalidArgument("policy entry must be an object");
  auto it = entry.find("policy");
  if (it != entry.end()) {
    if (!it->is_string()) return Status::InvalidArgument("policy must be a string");
    const std::string& name = it->get_ref<const std::string&>();
    if (name == "last-write-wins") {
      p.kind = PolicyKind::kLastWriteWins;
    } else if (name == "server-wins") {
      p.kind = PolicyKind::kServerWins;
    } else if (name == "importance") {
      p.kind = PolicyKind::kImportance;
    } else if (name == "custom") {
      p.kind = PolicyKind::kCustom;
    } else {
      return Status::InvalidArgument("unknown conflict policy \"" + name + "\"");
    }
  }
  it = entry.find("writable");
  if (it != entry.end()) {
    if (!it->is_boolean()) return Status::InvalidArgument("writable must be a boolean");
    p.writable = it->get<bool>();
  }
  it = entry.find("timestamp");
  if (it != entry.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty()) {
      return Status::InvalidArgument("timestamp must be a column name");
    }
    p.timestamp_column = it->get<std::string>();
  }
  it = entry.find("order");
  if (it != entry.end()) {
    if (!it->is_array()) return Status::InvalidArgument("order must be an array of columns");
    for (const json& c : *it) {
      if (!c.is_string()) return Status::InvalidArgument("order must be an array of columns");
      p.order.push_back(c.get<std::string>());
    }
  }
  if (p.kind == PolicyKind::kImportance && p.order.empty()) {
    p.order = {"importance", "last_accessed_at", "updated_at"};
  }
  return p;
}

std::optional<int64_t> ParseTimestampMicros(std::string_view s) {
  // YYYY-MM-DD
  int year, month, day;
  if (s.size() < 10 || !ParseDigits(s, 0, 4, &year) || s[4] != '-' ||
      !ParseDigits(s, 5, 2, &month) || s[7] != '-' || !ParseDigits(s, 8, 2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  int64_t micros = DaysFromCivil(year, month, day) * 86400LL * 1000000LL;
  size_t pos = 10;
  if (pos == s.size()) return micros;
  if (s[pos] != ' ' && s[pos] != 'T' && s[pos] != 't') return std::nullopt;
  ++pos;
  int hh, mm, ss = 0;
  if (!ParseDigits(s, pos, 2, &hh) || pos + 2 >= s.size() || s[pos + 2] != ':' ||
      !ParseDigits(s, pos + 3, 2, &mm)) {
    return std::nullopt;
  }
  pos += 5;
  if (pos < s.size() && s[pos] == ':') {
    if (!ParseDigits(s, pos + 1, 2, &ss)) return std::nullopt;
    pos += 3;
  }
  if (hh > 24 || mm > 59 || ss > 60) return std::nullopt;
  micros += ((hh * 60LL + mm) * 60LL + ss) * 1000000LL;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t frac = 0, scale = 100000;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) frac += (s[pos] - '0') * scale;
      scale /= 10;
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    micros += frac;
  }
  if (pos == s.size()) return micros;
  if (s[pos] == 'Z' || s[pos] == 'z') return pos + 1 == s.size() ? std::optional(micros)
                                                                 : std::nullopt;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  const int sign = s[pos] == '-' ? -1 : 1;
  int oh, om = 0, os = 0;
  if (!ParseDigits(s, pos + 1, 2, &oh)) return std::nullopt;
  pos += 3;
  if (pos < s.size()) {
    if (s[pos] == ':') ++pos;
    if (!ParseDigits(s, pos, 2, &om)) return std::nullopt;
    pos += 2;
    if (pos < s.size()) {
      if (s[pos] != ':' || !ParseDigits(s, pos + 1, 2, &os)) return std::nullopt;
      pos += 3;
    }
  }
  if (pos != s.size()) return std::nullopt;
  // Local time = UTC + offset, so UTC = local - offset.
  micros -= sign * ((oh * 60LL + om) * 60LL + os) * 1000000LL;
  return micros;
}

int CompareValues(const json& a, const json& b) {
  const bool an = a.is_null(), bn = b.is_null();
  if (an || bn) return an == bn ? 0 : (an ? -1 : 1);
  if (auto ia = AsInt(a), ib = AsInt(b); ia && ib) return Cmp(*ia, *ib);
  if (auto da = AsNumber(a), db = AsNumber(b); da && db) return Cmp(*da, *db);
  if (auto ba = AsBool(a), bb = AsBool(b); ba && bb) return Cmp(*ba, *bb);
  if (a.is_string() && b.is_string()) {
    const std::string& sa = a.get_ref<const std::string&>();
    const std::string& sb = b.get_ref<const std::string&>();
    if (sa == sb) return 0;
    auto ta = ParseTimestampMicros(sa), tb = ParseTimestampMicros(sb);
    if (ta && tb) return Cmp(*ta, *tb);
    // json/jsonb text: {"a": 1} (Postgres) equals {"a":1} (local).
    if (!sa.empty() && !sb.empty() && (sa[0] == '{' || sa[0] == '[') && sa[0] == sb[0]) {
      json ja = json::parse(sa), jb = json::parse(sb);
      if (!ja.is_discarded() && !jb.is_discarded()) {
        if (ja == jb) return 0;
        return Cmp(ja.dump(), jb.dump());
      }
    }
    return Cmp<std::string_view>(sa, sb);
  }
  // Mixed or structured values (json columns): compare their canonical text.
  return Cmp(a.dump(), b.dump());
}

bool BaseMatches(const json& base, const json* server_row) {
  if (!base.is_object() || base.empty()) return true;
  if (server_row == nullptr || !server_row->is_object()) return false;
  for (auto it = base.begin(); it != base.end(); ++it) {
    if (CompareValues(it.value(), Field(*server_row, it.key())) != 0) return false;
  }
  return true;
}

Winner Decide(const TablePolicy& policy, const Contender& local, const Contender& remote,
              bool custom_resolvable) {
  const json& l = *local.row;
  const json& r = *remote.row;
  switch (policy.kind) {
    case PolicyKind::kServerWins:
      return Winner::kRemote;
    case PolicyKind::kCustom:
      return custom_resolvable ? Winner::kResolver : Winner::kRemote;
    case PolicyKind::kLastWriteWins: {
      const int c = CompareValues(Field(l, policy.timestamp_column),
                                  Field(r, policy.timestamp_column));
      if (c != 0) return c > 0 ? Winner::kLocal : Winner::kRemote;
      return CompareMutationIds(local, remote) > 0 ? Winner::kLocal : Winner::kRemote;
    }
    case PolicyKind::kImportance: {
      for (const std::string& column : policy.order) {
        const int c = CompareValues(Field(l, column), Field(r, column));
        if (c != 0) return c > 0 ? Winner::kLocal : Winner::kRemote;
      }
      return CompareMutationIds(local, remote) > 0 ? Winner::kLocal : Winner::kRemote;
    }
  }
  return Winner::kRemote;
}

}  // namespace electrolite
