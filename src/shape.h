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
//   definition), missing headers, fast loop --> error.
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
#include "status.h"
#include "store.h"
#include "synced_tables.h"
#include "table_decl.h"

namespace electrolite {

// Electric protocol strings (one place, STYLE.md #8).
namespace proto {
inline constexpr char kHandle[] = "electric-handle";
inline constexpr char kOffset[] = "electric-offset";
inline constexpr char kSchema[] = "electric-schema";
inline constexpr char kCursor[] = "electric-cursor";
inline constexpr char kUpToDateHeader[] = "electric-up-to-date";
inline constexpr char kRetryAfter[] = "retry-after";
inline constexpr char kUpToDate[] = "up-to-date";
inline constexpr char kMustRefetch[] = "must-refetch";
inline constexpr char kSnapshotEnd[] = "snapshot-end";
inline constexpr int64_t kFastLoopWindowMs = 500;
inline constexpr int kFastLoopRequests = 5;
inline constexpr int kFastLoopMaxDetections = 5;
inline constexpr int kMaxStaleRetries = 3;
}  // namespace proto

struct ShapeDef {
  std::string id;
  std::string table;
  std::string where;
  std::vector<std::string> params;
  std::vector<std::string> columns;
  std::string replica = "default";

  static Result<ShapeDef> FromJson(std::string_view json);
  std::string ToJson() const;  // without id
  // Stable id: the table name for a whole-table shape, else table#<hash>.
  std::string DefaultId() const;
};

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

class Shape {
 public:
  enum class Phase { kReady, kInFlight, kWaiting, kAuth, kError };

  Shape(ShapeDef def, SyncedTable* table) : def_(std::move(def)), table_(table) {}

  const ShapeDef& def() const { return def_; }
  SyncedTable* table() const { return table_; }
  ShapeState& state() { return state_; }
  const ShapeState& state() const { return state_; }

  // Builds the request URL like the official client: sorted params, log=full,
  // quoted columns, params[N], cursor only when live.
  std::string BuildUrl(const std::string& base_url, bool live) const;
  bool WantsLive() const { return state_.up_to_date && state_.offset != "-1"; }

  // Column conversions for a schema header (the shape's own by default).
  void RefreshColumns();
  void RefreshColumns(const std::string& schema_json);
  const std::vector<ShapeColumn>& columns() const { return columns_; }

  // 409 / must-refetch: back to -1 with `new_handle` (may be empty) and a
  // fresh cache-buster; the old handle is remembered as expired.
  void MarkMustRefetch(const std::string& new_handle, Env& env);

  // Full-jitter backoff: max(retry_after, min(max, random(0, delay))).
  int64_t NextBackoffMs(Env& env, const BackoffOptions& opts, int64_t retry_after_ms);
  void ResetBackoff() { backoff_delay_ms_ = 0; retries_ = 0; }
  int retries() const { return retries_; }

  // A 400 that refused the client's own state (its offset or handle):
  // counts it and returns the wait before the next request, exponential in
  // the count with equal jitter (delay/2 + random(delay/2)) and Retry-After as
  // a floor. Unlike NextBackoffMs it is not reset by the re-fetch's own
  // responses, only by ResetClientStateErrors (a request past -1 succeeded).
  int64_t NextClientStateBackoffMs(Env& env, const BackoffOptions& opts, int64_t retry_after_ms);
  int client_state_errors() const { return client_state_errors_; }
  void ResetClientStateErrors() { client_state_errors_ = 0; }

  // Records a non-live request at `offset`; returns true when a fast retry
  // loop is detected (>= 5 such requests within 500 ms).
  bool RecordNonLiveRequest(const std::string& offset, int64_t now_ms);
  int fast_loop_detections() const { return fast_loop_detections_; }
  void ResetFastLoop() { fast_loop_detections_ = 0; fast_loop_times_.clear(); }

  Status Save(Store& store) const { return Save(store, state_); }
  // Writes `state` (a candidate next state) for this shape.
  Status Save(Store& store, const ShapeState& state) const;
  Status Load(Store& store);

  // Runtime state (not persisted).
  Phase phase = Phase::kReady;
  int64_t request_id = -1;
  int64_t request_sent_ms = 0;
  int64_t request_deadline_ms = -1;
  bool request_live = false;
  std::string request_offset;  // the offset the request in flight sent
  int64_t wait_until_ms = -1;
  bool network_wait = false;  // kWaiting after a network error (resumes when the server answers)
  std::string cache_buster;
  int stale_retries = 0;
  bool stale_healed = false;
  bool connected = false;
  bool attempted = false;
  Status error;

 private:
  ShapeDef def_;
  SyncedTable* table_;
  ShapeState state_;
  std::vector<ShapeColumn> columns_;
  int64_t backoff_delay_ms_ = 0;
  int retries_ = 0;
  int client_state_errors_ = 0;
  std::string fast_loop_offset_;
  std::vector<int64_t> fast_loop_times_;
  int fast_loop_detections_ = 0;
};

// Response header values, checked before anything of a response is applied
// (protocol notes §1.3, §1.4, §3.2), since each is persisted and sent back:
//  * an offset is `-1`, `<tx>_<op>` or `<tx>_inf`: decimal digits, tx within
//    uint64 and op within int64 (`now` is a request value only);
//  * a handle is 1-256 bytes of printable ASCII without spaces;
//  * a cursor is at most 64 bytes of printable ASCII without spaces (empty
//    is what the official client sends before the first one).
bool IsValidOffset(std::string_view offset);
bool IsValidHandle(std::string_view handle);
bool IsValidCursor(std::string_view cursor);

// application/x-www-form-urlencoded (as URLSearchParams writes it).
std::string FormEncode(std::string_view s);
// Looks up a lower-cased header; nullptr when absent.
const std::string* FindHeader(const Headers& headers, std::string_view name);
// Retry-After in ms: delta-seconds or an IMF-fixdate HTTP-date (relative to
// now_ms, Unix ms), clamped to [0, 1 h]; 0 when absent or unparseable.
int64_t RetryAfterMs(const Headers& headers, int64_t now_ms);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_SHAPE_H_
