// Retry: the one place that decides whether an HTTP answer is retried and how
// long to wait first, for shape requests (shape.cc) and uploads (upload.cc).
//
// The rule is Electric's fetch layer (protocol notes §4.2, STYLE.md #12):
// network errors, 5xx and 429 are retried with full-jitter exponential backoff
// and `Retry-After` as a floor; every other 4xx is terminal for the request as
// sent (a 408 included: Electric never retries it, and neither do we); 401/403
// are about credentials. What a terminal answer means is the caller's: a
// shape stops, an upload rejects or fails the mutations the answer names.
#ifndef ELECTROLITE_SRC_RETRY_H_
#define ELECTROLITE_SRC_RETRY_H_

#include <cstdint>

#include "engine.h"
#include "env.h"

namespace electrolite {

enum class HttpClass {
  kSuccess,      // 2xx
  kNotModified,  // 304 (a revalidated cached response)
  kRetry,        // 429 and 5xx: back off, then the same request again
  kAuth,         // 401, 403
  kClientError,  // any other 4xx: not retried
  kUnexpected,   // 1xx, 3xx other than 304, anything else
};

HttpClass ClassifyHttpStatus(int status);

// Retry-After in ms: delta-seconds or an IMF-fixdate HTTP-date (relative to
// now_ms, Unix ms), clamped to [0, 1 h]; 0 when absent or unparseable.
int64_t RetryAfterMs(const Headers& headers, int64_t now_ms);

// While the server cannot be reached, one request at a time probes it at least
// this often (engine_sync.cc "Reconnecting").
inline constexpr int64_t kUnreachableProbeMaxMs = 2000;

// A shape's wait after a network error, bounded by kUnreachableProbeMaxMs:
// past the cap it is spread over the cap's second half, so clients restarted
// together do not arrive in step. (An upload's is only capped: upload.cc.)
int64_t CapUnreachableWaitMs(int64_t wait_ms, Env& env);

// Full-jitter exponential backoff: each Next() waits
// max(floor, min(max, random(0, delay))), then delay = min(max, delay * multiplier),
// starting from `initial_ms`; Reset() after a success.
class Backoff {
 public:
  int64_t Next(Env& env, const BackoffOptions& opts, int64_t floor_ms);
  void Reset() {
    delay_ms_ = 0;
    attempts_ = 0;
  }
  // Next() calls since the last Reset().
  int attempts() const { return attempts_; }

 private:
  int64_t delay_ms_ = 0;
  int attempts_ = 0;
};

// Equal-jitter exponential wait for the `n`th (>= 1) repeat of an error that
// must never loop hot but also never give up: delay = initial * max(2, multiplier)^(n-1)
// capped at max, wait = max(floor, delay/2 + random(delay/2)).
int64_t EqualJitterWaitMs(Env& env, const BackoffOptions& opts, int n, int64_t floor_ms);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_RETRY_H_
