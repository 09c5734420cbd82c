// TimerTable: every deadline the engine keeps, one entry per component (the
// upload pacer, the shape loop, retention, prefetch grace periods). The
// engine's next deadline (Engine::PollTimeout) is the minimum over the table,
// and a timeout (Engine::HandleTimeout) visits every entry in the order it
// was added, each acting on what is due for it.
#ifndef ELECTROLITE_SRC_TIMERS_H_
#define ELECTROLITE_SRC_TIMERS_H_

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace electrolite {

// The earlier of two deadlines, where -1 means none.
inline int64_t EarlierDeadline(int64_t a, int64_t b) {
  if (a < 0) return b;
  if (b < 0) return a;
  return a < b ? a : b;
}

class TimerTable {
 public:
  // Absolute ms of the entry's next deadline; -1 = none.
  using Deadline = std::function<int64_t()>;
  // Called with the time of every timeout; acts on whatever is due.
  using OnTimeout = std::function<void(int64_t now_ms)>;

  void Add(Deadline deadline, OnTimeout on_timeout) {
    timers_.push_back({std::move(deadline), std::move(on_timeout)});
  }
  // The minimum over the entries' deadlines; -1 = none.
  int64_t Next() const {
    int64_t best = -1;
    for (const Timer& t : timers_) best = EarlierDeadline(best, t.deadline());
    return best;
  }
  void Fire(int64_t now_ms) {
    for (Timer& t : timers_) t.on_timeout(now_ms);
  }

 private:
  struct Timer {
    Deadline deadline;
    OnTimeout on_timeout;
  };
  std::vector<Timer> timers_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_TIMERS_H_
