#include "civil_time.h"

#include <cstdio>

namespace electrolite {

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

std::string IsoFromMs(int64_t ms) {
  const int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  const int64_t rem = ms - days * 86400000;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  if (y >= 0 && y <= 9999) {
    // Every local write stamps one or two of these: digits by hand, not snprintf.
    char out[24];
    auto put = [&out](int at, int64_t v, int width) {
      for (int i = width - 1; i >= 0; --i, v /= 10) out[at + i] = static_cast<char>('0' + v % 10);
    };
    put(0, y, 4);
    out[4] = '-';
    put(5, m, 2);
    out[7] = '-';
    put(8, d, 2);
    out[10] = 'T';
    put(11, rem / 3600000, 2);
    out[13] = ':';
    put(14, rem / 60000 % 60, 2);
    out[16] = ':';
    put(17, rem / 1000 % 60, 2);
    out[19] = '.';
    put(20, rem % 1000, 3);
    out[23] = 'Z';
    return std::string(out, sizeof out);
  }
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600000),
                static_cast<long long>(rem / 60000 % 60), static_cast<long long>(rem / 1000 % 60),
                static_cast<long long>(rem % 1000));
  return buf;
}

int64_t ParseHttpDateMs(std::string_view s) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 29 || s[3] != ',') return -1;
  auto num = [&](size_t pos, size_t n) -> int {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
      char c = s[pos + i];
      if (c < '0' || c > '9') return -1;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  int day = num(5, 2), year = num(12, 4), hh = num(17, 2), mm = num(20, 2), ss = num(23, 2);
  int mon = -1;
  for (int i = 0; i < 12; i++) {
    if (s.substr(8, 3) == kMonths[i]) mon = i + 1;
  }
  if (day < 1 || year < 0 || hh < 0 || mm < 0 || ss < 0 || mon < 0) return -1;
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  return (days * 86400 + hh * 3600 + mm * 60 + ss) * 1000;
}

namespace {

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

}  // namespace

std::optional<int64_t> ParseTimestampMicros(std::string_view s) {
  // YYYY-MM-DD
  int year, month, day;
  if (s.size() < 10 || !ParseDigits(s, 0, 4, &year) || s[4] != '-' ||
      !ParseDigits(s, 5, 2, &month) || s[7] != '-' || !ParseDigits(s, 8, 2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return std::nullopt;
  int64_t micros = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400LL * 1000000LL;
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

}  // namespace electrolite
