// Shape: one Electric shape subscription (table + where/params/columns/
// replica) and its client state machine (protocol notes §1.5, §4):
//
//   offset -1 --200 [rows, snapshot-end]--> 0_k --200 [..., up-to-date]-->
//   live long-poll with cursor --200--> live ...
//   any --409 / must-refetch--> -1 (new handle, cache-buster, rows staged
//   and swapped in at the next up-to-date)
//   network error / 5xx / 429, a response with a malformed offset, handle or
//   cursor, or one that cannot be applied --> waiting (full-jitter backoff,
//   Retry-After floor), then the same request again
//   400 refusing the client's own offset/handle --> -1 without the handle
//   (re-fetch as on a 409) after a backoff of its own; shown as an error in
//   status if it repeats before a request past -1 succeeds, never terminal
//   401/403 --> auth (until SetToken); other 4xx (a 400 for the shape's
//   definition; a 408 too: retry.h), missing headers, fast loop --> error.
//
// Shape::OnResponse and Shape::Prepare make these transitions and return a
// ShapeStep: what the engine (engine_sync.cc) must do with the store and its
// events (apply, re-fetch, report), never a phase of its own.
//
// The persisted part (handle, offset, cursor, schema, ...) lives in
// `_el_shapes` and is written in the same transaction as the rows.
//
// Re-fetch staging: after a 409/must-refetch, snapshot and catch-up rows go to
// `T__stage` (committed per response, so a restart resumes mid-snapshot);
// the response carrying `up-to-date` swaps them into `T__synced` in its own
// transaction. When the shape is the only one on its table, rows absent from
// the new snapshot are deleted; with several shapes on one table the swap only
// upserts (rows another shape owns are never dropped; rows that left this
// shape linger until a delete arrives).
#ifndef ELECTROLITE_SRC_SHAPE_H_
#define ELECTROLITE_SRC_SHAPE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine.h"
#include "env.h"
#include "retry.h"
#include "shape_def.h"
#include "status.h"
#include "store.h"
#include "synced_tables.h"
#include "table_decl.h"

namespace electrolite {

struct ShapeState {  // persisted in _el_shapes
  std::string handle;
  std::string offset = "-1";
  std::string cursor;
  std::string schema_json;
  bool up_to_date = false;
  bool refetching = false;
  std::string expired_handle;
  int64_t last_synced_at = -1;
  std::string snapshot_xmin, snapshot_xmax, snapshot_xip_json;
  std::string last_lsn;
};

// What the engine does next for a shape: the outcome of one of the shape's
// transitions (Shape::Prepare, OnResponse, ...). The shape has already taken
// its new phase and deadline; the step names the work that needs the store or
// the engine's event queue.
struct ShapeStep {
  enum class Action {
    kNone,     // nothing to do now (in flight, waiting, stopped)
    kSend,     // Prepare: send BuildUrl(live) now, then Sent()
    kApply,    // OnResponse: apply the body in one transaction, then Applied() or ApplyFailed()
    kRefetch,  // start over from -1 (StartOver(store, new_handle, forget)); RefetchFailed() if that fails
    kWait,     // backing off: nothing is sent before Deadline()
    kFail,     // stopped with `error` until the app changes the shape
    kAuth,     // stopped with `error` until a new token (TokenChanged)
    kDiscard,  // a stale cached response: dropped, the request goes again
  };
  // What a re-fetch forgets besides the offset.
  enum class Forget {
    kNothing,  // a 409: the old handle is remembered as expired
    kHandle,   // the server refused the handle we sent back: dropped, not expired
    kAll,      // a fast retry loop: the handle and the expired handle both go
  };
  struct Note {
    const char* level;
    std::string message;
  };

  Action action = Action::kNone;
  std::vector<Status> errors;  // reported as error events, in order
  std::string new_handle;  // kRefetch
  Forget forget = Forget::kNothing;
  bool disconnected = false;  // the shape lost its connection (a backoff began)
  std::vector<Note> notes;    // debug log lines
};

// One shape subscription and its client state machine (the transitions in
// the comment at the top of this file). Every change of phase happens in a
// method of this class; the engine carries out the steps they return.
class Shape {
 public:
  enum class Phase { kReady, kInFlight, kWaiting, kAuth, kError };

  // `env` must outlive the shape.
  Shape(ShapeDef def, SyncedTable* table, Env* env, BackoffOptions backoff)
      : def_(std::move(def)), table_(table), env_(env), backoff_opts_(backoff) {}

  const ShapeDef& def() const { return def_; }
  SyncedTable* table() const { return table_; }
  const ShapeState& state() const { return state_; }

  // ---- requests ----
  // The shape's turn to send at `now_ms` (a waiting shape whose deadline has
  // passed becomes ready). kSend: send BuildUrl(live) and call Sent(); kRefetch
  // (a fast retry loop): start over first, then ask again; kWait/kFail: not now.
  ShapeStep Prepare(int64_t now_ms, bool live);
  bool WantsLive() const { return state_.up_to_date && state_.offset != "-1"; }
  // Builds the request URL like the official client: sorted params, log=full,
  // quoted columns, params[N], cursor only when live.
  std::string BuildUrl(const std::string& base_url, bool live) const;
  void Sent(int64_t request_id, int64_t now_ms, int64_t timeout_ms, bool live);
  bool InFlight(int64_t request_id) const {
    return phase_ == Phase::kInFlight && request_id_ == request_id;
  }

  // ---- answers ----
  // An HTTP answer to the request in flight: the shape's new phase and what
  // the engine must do with the response.
  ShapeStep OnResponse(int64_t now_ms, int status, const Headers& headers, std::string_view body);
  // kApply succeeded: `next` (what the transaction wrote) becomes the state.
  void Applied(ShapeState next, bool up_to_date);
  // kApply failed (already reported): the same request again after a
  // backoff, or kFail after too many failures in a row.
  ShapeStep ApplyFailed(int64_t now_ms, const Status& s);
  // The request failed to reach the server (or timed out): a backoff capped
  // so the server is probed at least every kUnreachableProbeMaxMs.
  ShapeStep NetworkError(int64_t now_ms);
  // True when the request in flight passed its deadline at `now_ms`.
  bool TimedOut(int64_t now_ms) const {
    return phase_ == Phase::kInFlight && request_deadline_ms_ >= 0 && now_ms >= request_deadline_ms_;
  }
  // The server answered another request: a wait after a network error ends
  // within `spread_ms` (0 <= spread_ms); a 5xx or Retry-After wait is kept.
  void ServerAnswered(int64_t now_ms, int64_t spread_ms);

  // ---- starting over ----
  // 409 / must-refetch: back to -1 with `new_handle` (may be empty) and a
  // fresh cache-buster, persisted with T__stage cleared in one transaction
  // (state unchanged on failure); with Forget::kNothing the old handle is
  // remembered as expired.
  Status StartOver(Store& store, const std::string& new_handle, ShapeStep::Forget forget);
  // Back to -1 in memory only (the caller persists): a resumed shape whose
  // stored state cannot be trusted.
  void Reset();
  // StartOver failed (already reported): a shape that was about to send
  // waits a backoff first.
  ShapeStep RefetchFailed(int64_t now_ms);

  // ---- the app and the host ----
  // SyncNow / back online: a waiting shape asks at once.
  void RetryNow(int64_t now_ms);
  // A new token: a shape stopped on auth resumes from the same offset.
  void TokenChanged();

  // ---- what status shows ----
  Phase phase() const { return phase_; }
  // Absolute ms of the shape's own deadline (its wait, or its request's
  // timeout); -1 = none.
  int64_t Deadline() const;
  bool connected() const { return connected_; }
  bool attempted() const { return attempted_; }
  const Status& error() const { return error_; }
  // Stopped (error, auth), or retrying a 400 that came back after a re-fetch.
  bool ShowsError() const;
  int64_t request_sent_ms() const { return request_sent_ms_; }
  bool request_live() const { return request_live_; }
  int retries() const { return backoff_.attempts(); }

  // Column conversions for a schema header (the shape's own by default).
  void RefreshColumns();
  void RefreshColumns(const std::string& schema_json);
  const std::vector<ShapeColumn>& columns() const { return columns_; }

  Status Save(Store& store) const { return Save(store, state_); }
  // Writes `state` (a candidate next state) for this shape.
  Status Save(Store& store, const ShapeState& state) const;
  // The persisted state, not up to date: a resumed shape catches up non-live first.
  Status Load(Store& store);

 private:
  ShapeStep OnSuccess(int64_t now_ms, int status, const Headers& headers);
  ShapeStep OnBadRequest(int64_t now_ms, const Headers& headers, std::string_view body);
  ShapeStep Fail(Status s);
  // Waits a full-jitter backoff with `retry_after_ms` as a floor.
  ShapeStep BackOff(int64_t now_ms, int64_t retry_after_ms);
  void Wait(int64_t now_ms, int64_t wait_ms);
  // Back to -1 in memory: `new_handle`, a fresh cache-buster.
  void MarkMustRefetch(const std::string& new_handle, ShapeStep::Forget forget);
  // Records a non-live request at `offset`; returns true when a fast retry
  // loop is detected (>= 5 such requests within 500 ms).
  bool RecordNonLiveRequest(const std::string& offset, int64_t now_ms);
  void ResetFastLoop() {
    fast_loop_detections_ = 0;
    fast_loop_times_.clear();
  }
  std::string Log(const std::string& message) const { return "shape " + def_.id + ": " + message; }

  ShapeDef def_;
  SyncedTable* table_;
  Env* env_;
  BackoffOptions backoff_opts_;
  ShapeState state_;
  std::vector<ShapeColumn> columns_;

  // The phase and its deadline.
  Phase phase_ = Phase::kReady;
  int64_t wait_until_ms_ = -1;  // kWaiting
  bool network_wait_ = false;   // kWaiting after a network error (resumes when the server answers)
  Status error_;                // kError, kAuth, or a repeating client-state 400
  // The request in flight (kInFlight).
  int64_t request_id_ = -1;
  int64_t request_sent_ms_ = 0;
  int64_t request_deadline_ms_ = -1;
  bool request_live_ = false;
  std::string request_offset_;  // the offset it sent
  // Connection, as status shows it.
  bool connected_ = false;
  bool attempted_ = false;
  // Retry bookkeeping.
  Backoff backoff_;
  // A 400 that refused the client's own state (its offset or handle): a wait
  // exponential in the count, not reset by the re-fetch's own responses, only
  // once a request past -1 succeeds.
  int client_state_errors_ = 0;
  std::string cache_buster_;
  int stale_retries_ = 0;
  std::string fast_loop_offset_;
  std::vector<int64_t> fast_loop_times_;
  int fast_loop_detections_ = 0;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_SHAPE_H_
