// The one retry rule (retry.h), the timer table (timers.h) and the civil-time
// arithmetic (civil_time.h).
#include <gtest/gtest.h>

#include <ctime>

#include "civil_time.h"
#include "retry.h"
#include "timers.h"

namespace electrolite {
namespace {

class SequenceEnv : public Env {
 public:
  uint64_t RandomU64() override { return state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL; }
  uint64_t state_ = 7;
};

TEST(RetryTest, StatusClassesFollowElectricsFetchLayer) {
  EXPECT_EQ(ClassifyHttpStatus(200), HttpClass::kSuccess);
  EXPECT_EQ(ClassifyHttpStatus(204), HttpClass::kSuccess);
  EXPECT_EQ(ClassifyHttpStatus(304), HttpClass::kNotModified);
  EXPECT_EQ(ClassifyHttpStatus(429), HttpClass::kRetry);
  for (int s : {500, 502, 503, 504, 599}) EXPECT_EQ(ClassifyHttpStatus(s), HttpClass::kRetry) << s;
  EXPECT_EQ(ClassifyHttpStatus(401), HttpClass::kAuth);
  EXPECT_EQ(ClassifyHttpStatus(403), HttpClass::kAuth);
  // 4xx other than 429 is never retried: a 408 included.
  for (int s : {400, 404, 408, 409, 413, 422}) {
    EXPECT_EQ(ClassifyHttpStatus(s), HttpClass::kClientError) << s;
  }
  EXPECT_EQ(ClassifyHttpStatus(101), HttpClass::kUnexpected);
  EXPECT_EQ(ClassifyHttpStatus(302), HttpClass::kUnexpected);
}

TEST(RetryTest, RetryAfterTakesSecondsOrAnHttpDateClampedToAnHour) {
  const int64_t now = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(RetryAfterMs({}, now), 0);
  EXPECT_EQ(RetryAfterMs({{"retry-after", "5"}}, now), 5000);
  EXPECT_EQ(RetryAfterMs({{"retry-after", "Sun, 06 Nov 1994 08:49:47 GMT"}}, now), 10000);
  EXPECT_EQ(RetryAfterMs({{"retry-after", "Sun, 06 Nov 1994 08:49:27 GMT"}}, now), 0);  // past
  EXPECT_EQ(RetryAfterMs({{"retry-after", "99999"}}, now), 3600 * 1000);
  EXPECT_EQ(RetryAfterMs({{"retry-after", "soon"}}, now), 0);
  EXPECT_EQ(RetryAfterMs({{"retry-after", "-3"}}, now), 0);
}

TEST(RetryTest, BackoffIsFullJitterExponentialCappedWithAFloor) {
  SequenceEnv env;
  BackoffOptions opts;  // 1 s, x2, 32 s
  Backoff b;
  int64_t cap = opts.initial_ms;
  int64_t total = 0;
  for (int i = 0; i < 12; i++) {
    int64_t w = b.Next(env, opts, 0);
    EXPECT_GE(w, 0);
    EXPECT_LE(w, cap) << i;
    total += w;
    cap = std::min<int64_t>(cap * 2, opts.max_ms);
  }
  EXPECT_GT(total, 0);  // jittered, not all zero
  EXPECT_EQ(b.attempts(), 12);
  EXPECT_EQ(b.Next(env, opts, 40000), 40000);  // Retry-After above the cap is the wait
  b.Reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_LE(b.Next(env, opts, 0), opts.initial_ms);
}

TEST(RetryTest, UnreachableWaitsAreCappedAndSpread) {
  SequenceEnv env;
  EXPECT_EQ(CapUnreachableWaitMs(500, env), 500);
  EXPECT_EQ(CapUnreachableWaitMs(kUnreachableProbeMaxMs, env), kUnreachableProbeMaxMs);
  for (int i = 0; i < 50; i++) {
    int64_t w = CapUnreachableWaitMs(30000, env);
    EXPECT_GE(w, kUnreachableProbeMaxMs / 2);
    EXPECT_LE(w, kUnreachableProbeMaxMs);
  }
}

TEST(RetryTest, EqualJitterGrowsWithTheCountAndNeverDropsBelowHalf) {
  SequenceEnv env;
  BackoffOptions opts;
  for (int n = 1; n <= 8; n++) {
    int64_t delay = std::min<int64_t>(opts.max_ms, opts.initial_ms << (n - 1));
    int64_t w = EqualJitterWaitMs(env, opts, n, 0);
    EXPECT_GE(w, delay - delay / 2) << n;
    EXPECT_LE(w, delay) << n;
  }
  EXPECT_EQ(EqualJitterWaitMs(env, opts, 1, 7000), 7000);
}

TEST(TimerTableTest, NextIsTheEarliestDeadlineAndTimeoutsVisitEveryEntryInOrder) {
  TimerTable timers;
  EXPECT_EQ(timers.Next(), -1);
  int64_t a = -1, b = 500, c = 200;
  std::vector<std::string> fired;
  timers.Add([&] { return a; }, [&](int64_t) { fired.push_back("a"); });
  timers.Add([&] { return b; }, [&](int64_t) { fired.push_back("b"); });
  timers.Add([&] { return c; }, [&](int64_t) { fired.push_back("c"); });
  EXPECT_EQ(timers.Next(), 200);
  c = -1;
  EXPECT_EQ(timers.Next(), 500);
  a = 100;
  EXPECT_EQ(timers.Next(), 100);
  timers.Fire(100);
  EXPECT_EQ(fired, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(EarlierDeadline(-1, -1), -1);
  EXPECT_EQ(EarlierDeadline(-1, 3), 3);
  EXPECT_EQ(EarlierDeadline(4, 3), 3);
}

TEST(CivilTimeTest, DaysRoundTripAndAgreeWithGmtime) {
  for (int64_t days = -800000; days <= 800000; days += 997) {
    int64_t y = 0;
    unsigned m = 0, d = 0;
    CivilFromDays(days, &y, &m, &d);
    ASSERT_EQ(DaysFromCivil(y, m, d), days) << days;
  }
  for (int64_t secs = 0; secs < 4102444800; secs += 86400 * 37 + 3601) {
    time_t t = static_cast<time_t>(secs);
    struct tm tm;
    gmtime_r(&t, &tm);
    ASSERT_EQ(DaysFromCivil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday), secs / 86400) << secs;
  }
  EXPECT_EQ(ParseHttpDateMs("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777000);
  EXPECT_EQ(ParseHttpDateMs("Sunday, 06-Nov-94 08:49:37 GMT"), -1);  // only IMF-fixdate
  EXPECT_EQ(IsoFromMs(784111777123), "1994-11-06T08:49:37.123Z");
}

}  // namespace
}  // namespace electrolite
