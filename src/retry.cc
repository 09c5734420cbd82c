#include "retry.h"

#include <algorithm>
#include <string>

#include "civil_time.h"

namespace electrolite {

HttpClass ClassifyHttpStatus(int status) {
  if (status >= 200 && status < 300) return HttpClass::kSuccess;
  if (status == 304) return HttpClass::kNotModified;
  if (status == 429 || status >= 500) return HttpClass::kRetry;
  if (status == 401 || status == 403) return HttpClass::kAuth;
  if (status >= 400) return HttpClass::kClientError;
  return HttpClass::kUnexpected;
}

int64_t RetryAfterMs(const Headers& headers, int64_t now_ms) {
  const std::string* v = nullptr;
  for (const auto& h : headers) {
    if (h.first == "retry-after") v = &h.second;
  }
  if (v == nullptr || v->empty()) return 0;
  int64_t ms = -1;
  bool digits = std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && v->size() < 12) {
    ms = std::stoll(*v) * 1000;
  } else {
    int64_t at = ParseHttpDateMs(*v);
    if (at >= 0) ms = at - now_ms;
  }
  if (ms < 0) return 0;
  return std::min<int64_t>(ms, 3600 * 1000);
}

int64_t CapUnreachableWaitMs(int64_t wait_ms, Env& env) {
  if (wait_ms <= kUnreachableProbeMaxMs) return wait_ms;
  return kUnreachableProbeMaxMs / 2 +
         static_cast<int64_t>(env.RandomUnit() * static_cast<double>(kUnreachableProbeMaxMs / 2));
}

int64_t Backoff::Next(Env& env, const BackoffOptions& opts, int64_t floor_ms) {
  if (delay_ms_ <= 0) delay_ms_ = opts.initial_ms;
  int64_t jitter = static_cast<int64_t>(env.RandomUnit() * static_cast<double>(delay_ms_));
  int64_t wait = std::max(floor_ms, std::min(opts.max_ms, jitter));
  delay_ms_ = std::min<int64_t>(
      opts.max_ms, static_cast<int64_t>(static_cast<double>(delay_ms_) * opts.multiplier));
  attempts_++;
  return wait;
}

int64_t EqualJitterWaitMs(Env& env, const BackoffOptions& opts, int n, int64_t floor_ms) {
  int64_t delay = std::max<int64_t>(1, opts.initial_ms);
  for (int i = 1; i < n && delay < opts.max_ms; i++) {
    delay = static_cast<int64_t>(static_cast<double>(delay) * std::max(2.0, opts.multiplier));
  }
  delay = std::min(delay, opts.max_ms);
  int64_t jitter = static_cast<int64_t>(env.RandomUnit() * static_cast<double>(delay / 2));
  return std::max(floor_ms, delay - delay / 2 + jitter);
}

}  // namespace electrolite
