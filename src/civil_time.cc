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

}  // namespace electrolite
