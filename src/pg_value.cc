#include "pg_value.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "civil_time.h"

namespace electrolite {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int Digits(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (pos + i >= s.size() || !IsDigit(s[pos + i])) return -1;
    v = v * 10 + (s[pos + i] - '0');
  }
  return v;
}

int DaysInMonth(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) return 29;
  return kDays[month - 1];
}

// The two decimal digits at p as a number; -1 if they are not both digits.
inline int Two(const char* p) {
  unsigned a = static_cast<unsigned char>(p[0]) - '0', b = static_cast<unsigned char>(p[1]) - '0';
  return a <= 9 && b <= 9 ? static_cast<int>(a * 10 + b) : -1;
}

char* Put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

// "YYYY-MM-DDTHH:MM:SS" at p (0 <= y <= 9999, `rem` seconds into the day).
char* WriteDateTime(char* p, int64_t y, unsigned m, unsigned dd, int64_t rem) {
  *p++ = static_cast<char>('0' + y / 1000);
  *p++ = static_cast<char>('0' + (y / 100) % 10);
  p = Put2(p, static_cast<unsigned>(y % 100));
  *p++ = '-';
  p = Put2(p, m);
  *p++ = '-';
  p = Put2(p, dd);
  *p++ = 'T';
  p = Put2(p, static_cast<unsigned>(rem / 3600));
  *p++ = ':';
  p = Put2(p, static_cast<unsigned>((rem / 60) % 60));
  *p++ = ':';
  return Put2(p, static_cast<unsigned>(rem % 60));
}

// "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]" -> ISO-8601. With a zone the
// instant is shifted to UTC and written with 'Z'. Returns false if the text is
// not in that form (e.g. "infinity", BC dates): the caller keeps it verbatim.
bool NormalizeTimestamp(std::string_view s, bool with_zone, std::string* out) {
  if (s.size() < 19) return false;
  const char* t = s.data();
  int hi = Two(t), lo = Two(t + 2);
  int year = hi < 0 || lo < 0 ? -1 : hi * 100 + lo;
  int mon = Two(t + 5), day = Two(t + 8), hh = Two(t + 11), mm = Two(t + 14), ss = Two(t + 17);
  if (year < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || hh < 0 || hh > 24 ||
      mm < 0 || mm > 59 || ss < 0 || ss > 60 || t[4] != '-' || t[7] != '-' ||
      (t[10] != ' ' && t[10] != 'T') || t[13] != ':' || t[16] != ':') {
    return false;
  }
  size_t pos = 19;
  std::string_view frac;
  if (pos < s.size() && s[pos] == '.') {
    size_t start = pos;
    pos++;
    while (pos < s.size() && IsDigit(s[pos])) pos++;
    if (pos == start + 1) return false;
    frac = s.substr(start, pos - start);
  }
  int offset_sec = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z') {
      pos++;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int sign = s[pos] == '-' ? -1 : 1;
      pos++;
      int oh = Digits(s, pos, 2);
      if (oh < 0) return false;
      pos += 2;
      int om = 0, os = 0;
      if (pos < s.size() && s[pos] == ':') {
        om = Digits(s, pos + 1, 2);
        if (om < 0) return false;
        pos += 3;
        if (pos < s.size() && s[pos] == ':') {
          os = Digits(s, pos + 1, 2);
          if (os < 0) return false;
          pos += 3;
        }
      }
      offset_sec = sign * (oh * 3600 + om * 60 + os);
    } else {
      return false;
    }
  }
  if (pos != s.size()) return false;  // e.g. " BC"
  // Written into a local buffer and assigned once (no per-character appends).
  char buf[64];
  char* p = buf;
  if (offset_sec == 0 && hh < 24 && ss < 60 && day <= DaysInMonth(year, mon)) {
    // Already a valid UTC (or zone-less) time: the text's own date and time,
    // with 'T' between them, is what the calendar round trip below would give.
    std::memcpy(buf, s.data(), 19);
    buf[10] = 'T';
    p = buf + 19;
  } else {
    int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
    int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset_sec;
    int64_t d = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - d * 86400;
    int64_t y;
    unsigned m, dd;
    CivilFromDays(d, &y, &m, &dd);
    if (y < 0 || y > 9999) return false;
    p = WriteDateTime(p, y, m, dd, rem);
  }
  if (frac.size() < sizeof buf - 20) {
    if (!frac.empty()) std::memcpy(p, frac.data(), frac.size());  // data() may be null when empty
    p += frac.size();
    if (with_zone) *p++ = 'Z';
    out->assign(buf, static_cast<size_t>(p - buf));
  } else {
    out->assign(buf, static_cast<size_t>(p - buf));
    out->append(frac.data(), frac.size());
    if (with_zone) out->push_back('Z');
  }
  return true;
}

// Postgres array literal -> JSON array text. Elements keep their class:
// numbers and booleans become JSON numbers/booleans, NULL becomes null,
// everything else a JSON string.
bool ArrayToJson(TypeClass cls, std::string_view s, std::string* out) {
  out->clear();
  size_t i = 0;
  // Optional dimension decoration "[1:2]={...}".
  if (!s.empty() && s[0] == '[') {
    size_t eq = s.find('=');
    if (eq == std::string_view::npos) return false;
    i = eq + 1;
  }
  int depth = 0;
  std::string elem;
  bool expect_elem = true;
  while (i < s.size()) {
    char c = s[i];
    if (c == '{') {
      if (!expect_elem) return false;
      out->push_back('[');
      depth++;
      i++;
      continue;
    }
    if (c == '}') {
      if (depth == 0) return false;
      out->push_back(']');
      depth--;
      i++;
      expect_elem = false;
      if (depth == 0) break;
      continue;
    }
    if (c == ',') {
      if (expect_elem) return false;
      out->push_back(',');
      expect_elem = true;
      i++;
      continue;
    }
    if (!expect_elem || depth == 0) return false;
    elem.clear();
    bool quoted = false;
    if (c == '"') {
      quoted = true;
      i++;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) i++;
        elem.push_back(s[i]);
        i++;
      }
      if (i >= s.size()) return false;
      i++;
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '}') elem.push_back(s[i++]);
    }
    if (!quoted && elem == "NULL") {
      out->append("null");
    } else if (!quoted && cls == TypeClass::kBool) {
      if (elem == "t" || elem == "true") out->append("true");
      else if (elem == "f" || elem == "false") out->append("false");
      else return false;
    } else if (!quoted && cls == TypeClass::kInteger) {
      int64_t v;
      if (!ParseInt64(elem, &v)) return false;
      out->append(elem);
    } else if (!quoted && cls == TypeClass::kReal) {
      char* endp = nullptr;
      double d = std::strtod(elem.c_str(), &endp);
      if (endp == elem.c_str() || *endp != '\0') return false;
      if (std::isfinite(d)) out->append(elem);
      else AppendJsonString(out, elem);  // Infinity/NaN as strings
    } else {
      AppendJsonString(out, elem);
    }
    expect_elem = false;
  }
  return depth == 0 && i == s.size() && !out->empty();
}

}  // namespace

std::string CanonicalPgType(std::string_view written) {
  std::string t = Lower(written);
  // Drop a type modifier "(...)".
  size_t paren = t.find('(');
  if (paren != std::string::npos) {
    size_t close = t.find(')', paren);
    t.erase(paren, close == std::string::npos ? std::string::npos : close - paren + 1);
  }
  while (!t.empty() && t.back() == ' ') t.pop_back();
  if (t == "integer" || t == "int" || t == "serial" || t == "serial4") return "int4";
  if (t == "bigint" || t == "bigserial" || t == "serial8") return "int8";
  if (t == "smallint" || t == "smallserial" || t == "serial2") return "int2";
  if (t == "boolean") return "bool";
  if (t == "real") return "float4";
  if (t == "double precision" || t == "float") return "float8";
  if (t == "decimal") return "numeric";
  if (t == "timestamp with time zone") return "timestamptz";
  if (t == "timestamp without time zone") return "timestamp";
  if (t == "time with time zone") return "timetz";
  if (t == "time without time zone") return "time";
  if (t == "character varying") return "varchar";
  if (t == "character" || t == "char") return "bpchar";
  return t;
}

TypeClass ClassifyPgType(std::string_view t) {
  if (t == "int2" || t == "int4" || t == "int8" || t == "oid" || t == "xid") {
    return TypeClass::kInteger;
  }
  if (t == "float4" || t == "float8") return TypeClass::kReal;
  if (t == "bool") return TypeClass::kBool;
  if (t == "timestamptz") return TypeClass::kTimestampTz;
  if (t == "timestamp") return TypeClass::kTimestamp;
  if (t == "date") return TypeClass::kDate;
  if (t == "json" || t == "jsonb") return TypeClass::kJson;
  return TypeClass::kText;
}

const char* SqliteTypeFor(TypeClass cls, int dims) {
  if (dims > 0) return "TEXT";
  switch (cls) {
    case TypeClass::kInteger:
    case TypeClass::kBool: return "INTEGER";
    case TypeClass::kReal: return "REAL";
    default: return "TEXT";
  }
}

bool ParseInt64(std::string_view s, int64_t* out) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    neg = s[i] == '-';
    i++;
  }
  if (i >= s.size()) return false;
  uint64_t v = 0;
  const uint64_t limit = neg ? 9223372036854775808ULL : 9223372036854775807ULL;
  for (; i < s.size(); i++) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (limit - digit) / 10) return false;
    v = v * 10 + digit;
  }
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

Status ConvertPgValue(TypeClass cls, int dims, std::string_view text, std::string* scratch,
                      SqlValue* out) {
  if (dims > 0) {
    if (!ArrayToJson(cls, text, scratch)) {
      return Status::Protocol("invalid array literal '" + std::string(text.substr(0, 64)) + "'");
    }
    out->kind = 3;
    out->text = *scratch;
    return Status::Ok();
  }
  switch (cls) {
    case TypeClass::kInteger:
      if (!ParseInt64(text, &out->i)) {
        return Status::Protocol("invalid integer '" + std::string(text.substr(0, 64)) + "'");
      }
      out->kind = 1;
      return Status::Ok();
    case TypeClass::kBool:
      if (text == "t" || text == "true") {
        out->i = 1;
      } else if (text == "f" || text == "false") {
        out->i = 0;
      } else {
        return Status::Protocol("invalid boolean '" + std::string(text.substr(0, 64)) + "'");
      }
      out->kind = 1;
      return Status::Ok();
    case TypeClass::kReal: {
      scratch->assign(text.data(), text.size());
      char* endp = nullptr;
      double d = std::strtod(scratch->c_str(), &endp);
      if (text.empty() || *endp != '\0') {
        return Status::Protocol("invalid float '" + std::string(text.substr(0, 64)) + "'");
      }
      if (std::isnan(d)) {  // SQLite turns NaN into NULL: keep it as text
        out->kind = 3;
        out->text = text;
        return Status::Ok();
      }
      out->kind = 2;
      out->d = d;
      return Status::Ok();
    }
    case TypeClass::kTimestampTz:
    case TypeClass::kTimestamp:
      if (NormalizeTimestamp(text, cls == TypeClass::kTimestampTz, scratch)) {
        out->kind = 3;
        out->text = *scratch;
        return Status::Ok();
      }
      out->kind = 3;
      out->text = text;
      return Status::Ok();
    default:
      out->kind = 3;
      out->text = text;
      return Status::Ok();
  }
}

}  // namespace electrolite
