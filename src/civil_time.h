// Civil (proleptic Gregorian, UTC) dates and times: the one implementation of
// the day arithmetic (H. Hinnant's days_from_civil / civil_from_days) that
// timestamps, Retry-After dates, retention cut-offs and Postgres values use.
#ifndef ELECTROLITE_SRC_CIVIL_TIME_H_
#define ELECTROLITE_SRC_CIVIL_TIME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace electrolite {

// Days since 1970-01-01 of year `y`, month `m` (1-12), day `d` (1-31).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
// The inverse: the civil date `days` after 1970-01-01 (negative: before).
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);

// Unix ms -> "YYYY-MM-DDTHH:MM:SS.mmmZ" (years outside 0-9999 written with
// as many digits as they need).
std::string IsoFromMs(int64_t ms);

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate) -> Unix ms, or -1.
int64_t ParseHttpDateMs(std::string_view s);

// Microseconds since the Unix epoch for an ISO-8601 / Postgres timestamptz
// text ("2024-01-02 03:04:05.123+00", "2024-01-02T03:04:05Z", "2024-01-02").
// Text without an offset is UTC. nullopt when `s` is not a timestamp.
std::optional<int64_t> ParseTimestampMicros(std::string_view s);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_CIVIL_TIME_H_
