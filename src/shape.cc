// The shape's state machine (shape.h): every transition of its phase, its
// waits and its request, and its persisted state in `_el_shapes`.
#include "shape.h"

#include <algorithm>
#include <cstdint>

#include "json.h"
#include "row_tags.h"

namespace electrolite {

namespace {

// A response that cannot be applied this many times in a row stops the shape.
constexpr int kMaxConsecutiveFailures = 50;

std::string Excerpt(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

// A 400 lists the request fields it refused (protocol notes §2.1, §2.1a):
// {"errors":{"offset":["out of bounds for this shape"]}}. The offset,
// handle, cursor and live flag are the client's own state; the rest (where,
// columns, table, params, ...) is the shape's definition, the app's to fix.
// A body that names no field blames the client's state when the request sent
// any (an offset past -1).
bool BlamesClientState(std::string_view body, bool sent_state) {
  static const char* const kStateFields[] = {"offset", "handle", "cursor", "live", "live_sse",
                                             "experimental_live_sse", "expired_handle"};
  Json j = Json::parse(body);
  if (j.is_discarded() || !j.is_object()) return sent_state;
  auto errors = j.find("errors");
  if (errors == j.end() || !errors->is_object() || errors->empty()) return sent_state;
  for (auto it = errors->begin(); it != errors->end(); ++it) {
    for (const char* f : kStateFields) {
      if (it.key() == f) return true;
    }
  }
  return false;
}

// The headers a 200 brings that the engine keeps and sends back.
Status CheckStateHeaders(const Headers& headers) {
  const std::string* offset = FindHeader(headers, proto::kOffset);
  if (offset != nullptr && !IsValidOffset(*offset)) {
    return Status::Protocol("malformed electric-offset header \"" + Excerpt(*offset) + "\"");
  }
  const std::string* handle = FindHeader(headers, proto::kHandle);
  if (handle != nullptr && !IsValidHandle(*handle)) {
    return Status::Protocol("malformed electric-handle header \"" + Excerpt(*handle) + "\"");
  }
  const std::string* cursor = FindHeader(headers, proto::kCursor);
  if (cursor != nullptr && !IsValidCursor(*cursor)) {
    return Status::Protocol("malformed electric-cursor header \"" + Excerpt(*cursor) + "\"");
  }
  return Status::Ok();
}

ShapeStep With(ShapeStep step, const Status& first_error) {
  step.errors.insert(step.errors.begin(), first_error);
  return step;
}

}  // namespace

// ---------------------------------------------------------------- requests

ShapeStep Shape::Prepare(int64_t now_ms, bool live) {
  ShapeStep step;
  if (phase_ == Phase::kWaiting && wait_until_ms_ <= now_ms) phase_ = Phase::kReady;
  if (phase_ != Phase::kReady) return step;
  if (!live && RecordNonLiveRequest(state_.offset, now_ms)) {
    const int n = fast_loop_detections_;
    if (n >= proto::kFastLoopMaxDetections) {
      return Fail(Status::Protocol("stuck in a fast retry loop at offset " + state_.offset));
    }
    if (n == 1) {
      step.action = ShapeStep::Action::kRefetch;
      step.forget = ShapeStep::Forget::kAll;
      step.notes.push_back({"warn", Log("fast retry loop detected, clearing client-side caches")});
      return step;
    }
    const int64_t cap = std::min<int64_t>(5000, 100LL << n);
    const int64_t wait = static_cast<int64_t>(env_->RandomUnit() * static_cast<double>(cap));
    step.notes.push_back({"warn", Log("fast retry loop, waiting " + std::to_string(wait) + " ms")});
    if (wait > 0) {
      Wait(now_ms, wait);
      step.action = ShapeStep::Action::kWait;
      return step;
    }
  }
  step.action = ShapeStep::Action::kSend;
  return step;
}

std::string Shape::BuildUrl(const std::string& base_url, bool live) const {
  std::vector<std::pair<std::string, std::string>> q = {{"offset", state_.offset}};
  if (!state_.handle.empty()) q.emplace_back("handle", state_.handle);
  if (live) {
    q.emplace_back("live", "true");
    q.emplace_back("cursor", state_.cursor);
  }
  if (!cache_buster_.empty()) q.emplace_back("cache-buster", cache_buster_);
  if (state_.offset == "-1" && !state_.expired_handle.empty()) {
    q.emplace_back("expired_handle", state_.expired_handle);
  }
  return def_.Url(base_url, q);
}

void Shape::Sent(int64_t request_id, int64_t now_ms, int64_t timeout_ms, bool live) {
  phase_ = Phase::kInFlight;
  network_wait_ = false;
  request_id_ = request_id;
  request_sent_ms_ = now_ms;
  request_deadline_ms_ = now_ms + timeout_ms;
  request_live_ = live;
  request_offset_ = state_.offset;
}

// ---------------------------------------------------------------- answers

ShapeStep Shape::OnResponse(int64_t now_ms, int status, const Headers& headers,
                            std::string_view body) {
  phase_ = Phase::kReady;
  request_id_ = -1;
  attempted_ = true;
  if (status == 200 || status == 204 || status == 304) return OnSuccess(now_ms, status, headers);
  if (status == 409) {
    connected_ = true;
    ShapeStep step;
    step.action = ShapeStep::Action::kRefetch;
    const std::string* h = FindHeader(headers, proto::kHandle);
    if (h == nullptr) step.notes.push_back({"warn", "409 without electric-handle: a proxy may strip headers"});
    if (h != nullptr && !IsValidHandle(*h)) {
      step.notes.push_back({"warn", "409 with a malformed electric-handle, ignored"});
      h = nullptr;
    }
    if (h != nullptr) step.new_handle = *h;
    return step;
  }
  if (status == 400) return OnBadRequest(now_ms, headers, body);
  switch (ClassifyHttpStatus(status)) {
    case HttpClass::kAuth: {
      connected_ = true;
      phase_ = Phase::kAuth;
      error_ = Status::Auth("HTTP " + std::to_string(status) + ": " + Excerpt(body));
      ShapeStep step;
      step.action = ShapeStep::Action::kAuth;
      step.errors.push_back(error_);
      return step;
    }
    case HttpClass::kRetry: {
      ShapeStep step = BackOff(now_ms, RetryAfterMs(headers, now_ms));
      step.notes.insert(step.notes.begin(), {"warn", Log("HTTP " + std::to_string(status))});
      return step;
    }
    case HttpClass::kClientError: {
      // Not retried (a 408 included): the request as sent will not succeed.
      Code code = status == 404 ? Code::kNotFound : Code::kProtocol;
      return Fail(Status(code, "HTTP " + std::to_string(status) + ": " + Excerpt(body)));
    }
    default:
      return Fail(Status::Protocol("unexpected HTTP status " + std::to_string(status)));
  }
}

ShapeStep Shape::OnSuccess(int64_t now_ms, int status, const Headers& headers) {
  connected_ = true;
  const bool live = request_live_;
  const std::string* handle = FindHeader(headers, proto::kHandle);
  std::vector<const char*> missing;
  if (FindHeader(headers, proto::kOffset) == nullptr) missing.push_back(proto::kOffset);
  if (handle == nullptr) missing.push_back(proto::kHandle);
  if (live && FindHeader(headers, proto::kCursor) == nullptr) missing.push_back(proto::kCursor);
  if (!live && status == 200 && FindHeader(headers, proto::kSchema) == nullptr) {
    missing.push_back(proto::kSchema);
  }
  if (!missing.empty()) {
    std::string m = "missing required headers: ";
    for (size_t i = 0; i < missing.size(); i++) m += (i > 0 ? ", " : "") + std::string(missing[i]);
    return Fail(Status::Protocol(m));  // fatal, never retried (protocol notes §2.2)
  }
  // Nothing of a response whose offset, handle or cursor is malformed is
  // applied or kept; the same request is retried after a backoff.
  Status bad = CheckStateHeaders(headers);
  if (!bad.ok()) return ApplyFailed(now_ms, bad);
  ShapeStep step;
  if (!state_.expired_handle.empty() && *handle == state_.expired_handle) {
    // A cached response of the shape we were told to drop (§4.4).
    stale_retries_++;
    if (stale_retries_ > proto::kMaxStaleRetries) {
      step.notes.push_back({"warn", Log("stale responses persist, self-healing")});
      state_.expired_handle.clear();
      stale_retries_ = 0;
    }
    uint64_t r = env_->RandomU64();
    cache_buster_ = std::to_string(r % 1000000000000ULL);
    step.notes.push_back({"warn", Log("discarded a stale cached response")});
    step.action = ShapeStep::Action::kDiscard;
    return step;
  }
  step.action = ShapeStep::Action::kApply;
  return step;
}

ShapeStep Shape::OnBadRequest(int64_t now_ms, const Headers& headers, std::string_view body) {
  Status err = Status::InvalidArgument("HTTP 400: " + Excerpt(body));
  const bool sent_state = request_offset_ != "-1";
  const bool client = BlamesClientState(body, sent_state);
  if (!client && client_state_errors_ == 0) {
    return Fail(err);  // the shape's definition: terminal until the app changes it
  }
  // The server refused what the client sent back (e.g. an offset out of
  // bounds after the server lost its log, or one a bad response planted):
  // start the shape over from -1, as on a 409, without expiring its handle
  // (the server did not rotate it), and wait so this never loops hot.
  ShapeStep step;
  step.action = ShapeStep::Action::kWait;
  if (client && sent_state) {
    step.action = ShapeStep::Action::kRefetch;
    step.forget = ShapeStep::Forget::kHandle;
  }
  client_state_errors_++;
  const int64_t wait =
      EqualJitterWaitMs(*env_, backoff_opts_, client_state_errors_, RetryAfterMs(headers, now_ms));
  if (client_state_errors_ > 1) {
    // It came back after a re-fetch: shown in status while it keeps retrying.
    error_ = err.WithContext("after re-fetching the shape");
    step.errors.push_back(error_);
  }
  Wait(now_ms, wait);
  connected_ = false;
  step.disconnected = true;
  step.notes.push_back(
      {"warn", Log(err.message() + "; re-fetching in " + std::to_string(wait) + " ms")});
  return step;
}

void Shape::Applied(ShapeState next, bool up_to_date) {
  const bool advanced = next.offset != state_.offset;
  state_ = std::move(next);
  backoff_.Reset();
  stale_retries_ = 0;
  cache_buster_.clear();
  // The server took the offset and handle this request sent back; until then
  // a repeated 400's error stays in status through the re-fetch.
  if (request_offset_ != "-1") client_state_errors_ = 0;
  if (client_state_errors_ == 0) error_ = Status::Ok();
  if (advanced || up_to_date) ResetFastLoop();
}

ShapeStep Shape::ApplyFailed(int64_t now_ms, const Status& s) {
  if (backoff_.attempts() + 1 >= kMaxConsecutiveFailures) {
    return With(Fail(s.WithContext("giving up after " + std::to_string(kMaxConsecutiveFailures) +
                                   " failed attempts")),
                s);
  }
  return With(BackOff(now_ms, 0), s);
}

ShapeStep Shape::NetworkError(int64_t now_ms) {
  phase_ = Phase::kReady;
  request_id_ = -1;
  attempted_ = true;
  ShapeStep step = BackOff(now_ms, 0);
  network_wait_ = true;
  wait_until_ms_ = now_ms + CapUnreachableWaitMs(wait_until_ms_ - now_ms, *env_);
  return step;
}

void Shape::ServerAnswered(int64_t now_ms, int64_t max_spread_ms) {
  if (phase_ != Phase::kWaiting || !network_wait_) return;
  network_wait_ = false;
  backoff_.Reset();
  const int64_t spread = static_cast<int64_t>(env_->RandomUnit() * static_cast<double>(max_spread_ms));
  wait_until_ms_ = std::min(wait_until_ms_, now_ms + spread);
}

ShapeStep Shape::Fail(Status s) {
  phase_ = Phase::kError;
  error_ = std::move(s);
  ShapeStep step;
  step.action = ShapeStep::Action::kFail;
  step.errors.push_back(error_);
  return step;
}

ShapeStep Shape::BackOff(int64_t now_ms, int64_t retry_after_ms) {
  const int64_t wait = backoff_.Next(*env_, backoff_opts_, retry_after_ms);
  Wait(now_ms, wait);
  connected_ = false;
  ShapeStep step;
  step.action = ShapeStep::Action::kWait;
  step.disconnected = true;
  step.notes.push_back({"info", Log("retry " + std::to_string(backoff_.attempts()) + " in " +
                                    std::to_string(wait) + " ms")});
  return step;
}

void Shape::Wait(int64_t now_ms, int64_t wait_ms) {
  phase_ = Phase::kWaiting;
  wait_until_ms_ = now_ms + wait_ms;
}

// ---------------------------------------------------------------- starting over

Status Shape::StartOver(Store& store, const std::string& new_handle, ShapeStep::Forget forget) {
  ShapeState saved = state_;
  MarkMustRefetch(new_handle, forget);
  Txn txn(&store);
  Status s = txn.Begin();
  if (s.ok()) s = table_->ClearStage();
  if (s.ok()) s = RowTags::ClearShape(store, def_.id);  // the new snapshot states them anew
  if (s.ok()) s = Save(store);
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) {
    state_ = std::move(saved);
    RefreshColumns();
  }
  return s;
}

void Shape::Reset() { MarkMustRefetch(std::string(), ShapeStep::Forget::kAll); }

ShapeStep Shape::RefetchFailed(int64_t now_ms) {
  if (phase_ == Phase::kReady) return BackOff(now_ms, 0);
  ShapeStep step;
  step.action = ShapeStep::Action::kWait;
  return step;
}

void Shape::MarkMustRefetch(const std::string& new_handle, ShapeStep::Forget forget) {
  if (forget == ShapeStep::Forget::kAll) state_.expired_handle.clear();
  if (forget != ShapeStep::Forget::kNothing) state_.handle.clear();
  // A 409 that names the handle we already hold does not expire it.
  if (!state_.handle.empty() && state_.handle != new_handle) state_.expired_handle = state_.handle;
  state_.handle = new_handle;
  state_.offset = "-1";
  state_.cursor.clear();
  state_.schema_json.clear();
  state_.up_to_date = false;
  state_.refetching = true;
  // Like the official client: Date.now()-random; we have no clock, so random.
  uint64_t r = env_->RandomU64();
  static const char kHex[] = "0123456789abcdef";
  cache_buster_.clear();
  for (int i = 0; i < 12; i++) cache_buster_ += kHex[(r >> (i * 4)) & 15];
  stale_retries_ = 0;
  RefreshColumns();
}

bool Shape::RecordNonLiveRequest(const std::string& offset, int64_t now_ms) {
  if (offset != fast_loop_offset_) {
    fast_loop_offset_ = offset;
    fast_loop_times_.clear();
  }
  fast_loop_times_.push_back(now_ms);
  fast_loop_times_.erase(
      std::remove_if(fast_loop_times_.begin(), fast_loop_times_.end(),
                     [&](int64_t t) { return t < now_ms - proto::kFastLoopWindowMs; }),
      fast_loop_times_.end());
  if (static_cast<int>(fast_loop_times_.size()) < proto::kFastLoopRequests) return false;
  fast_loop_times_.clear();
  fast_loop_detections_++;
  return true;
}

// ---------------------------------------------------------------- the app and the host

void Shape::RetryNow(int64_t now_ms) {
  if (phase_ == Phase::kWaiting) wait_until_ms_ = now_ms;
}

void Shape::TokenChanged() {
  if (phase_ != Phase::kAuth) return;
  phase_ = Phase::kReady;  // resumes from the same offset
  error_ = Status::Ok();
}

int64_t Shape::Deadline() const {
  if (phase_ == Phase::kWaiting) return wait_until_ms_;
  if (phase_ == Phase::kInFlight) return request_deadline_ms_;
  return -1;
}

bool Shape::ShowsError() const {
  return phase_ == Phase::kError || phase_ == Phase::kAuth ||
         (client_state_errors_ > 1 && !error_.ok());
}

// ---------------------------------------------------------------- columns and persistence

void Shape::RefreshColumns() { RefreshColumns(state_.schema_json); }

void Shape::RefreshColumns(const std::string& schema_json) {
  const TableDecl& decl = table_->decl();
  columns_.assign(decl.columns.size(), ShapeColumn());
  for (size_t i = 0; i < decl.columns.size(); i++) {
    columns_[i].cls = decl.columns[i].cls;
    columns_[i].dims = decl.columns[i].dims;
  }
  if (schema_json.empty()) return;
  Result<std::vector<ColumnDecl>> cols = ParseSchemaHeader(schema_json);
  if (!cols.ok()) return;
  for (const ColumnDecl& c : cols.value()) {
    int idx = table_->ColumnIndex(c.name);
    if (idx < 0) continue;
    columns_[idx].cls = c.cls;
    columns_[idx].dims = c.dims;
    columns_[idx].not_null = c.not_null;
  }
}

Status Shape::Save(Store& store, const ShapeState& state) const {
  EL_ASSIGN_OR_RETURN(
      Stmt * stmt,
      store.Cached("INSERT INTO _el_shapes (id, table_name, definition, handle, \"offset\", cursor,"
                   " schema, up_to_date, refetching, expired_handle, last_synced_at, snapshot_xmin,"
                   " snapshot_xmax, snapshot_xip, last_lsn) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                   " ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT (id) DO UPDATE SET"
                   " table_name = excluded.table_name, definition = excluded.definition,"
                   " handle = excluded.handle, \"offset\" = excluded.\"offset\","
                   " cursor = excluded.cursor, schema = excluded.schema,"
                   " up_to_date = excluded.up_to_date, refetching = excluded.refetching,"
                   " expired_handle = excluded.expired_handle,"
                   " last_synced_at = excluded.last_synced_at,"
                   " snapshot_xmin = excluded.snapshot_xmin, snapshot_xmax = excluded.snapshot_xmax,"
                   " snapshot_xip = excluded.snapshot_xip, last_lsn = excluded.last_lsn"));
  const ShapeState& s = state;
  std::string def = def_.ToJson();
  stmt->BindText(1, def_.id);
  stmt->BindText(2, def_.table);
  stmt->BindText(3, def);
  stmt->BindText(4, s.handle);
  stmt->BindText(5, s.offset);
  stmt->BindText(6, s.cursor);
  stmt->BindText(7, s.schema_json);
  stmt->BindInt64(8, s.up_to_date ? 1 : 0);
  stmt->BindInt64(9, s.refetching ? 1 : 0);
  stmt->BindText(10, s.expired_handle);
  if (s.last_synced_at >= 0) stmt->BindInt64(11, s.last_synced_at);
  else stmt->BindNull(11);
  stmt->BindText(12, s.snapshot_xmin);
  stmt->BindText(13, s.snapshot_xmax);
  stmt->BindText(14, s.snapshot_xip_json);
  stmt->BindText(15, s.last_lsn);
  return stmt->Run();
}

Status Shape::Load(Store& store) {
  // Cached: a reopen loads every persisted shape with it (one prepare, not one each).
  EL_ASSIGN_OR_RETURN(
      Stmt * cached, store.Cached("SELECT handle, \"offset\", cursor, schema, up_to_date, refetching,"
                                  " expired_handle, last_synced_at, snapshot_xmin, snapshot_xmax,"
                                  " snapshot_xip, last_lsn FROM _el_shapes WHERE id = ?1"));
  Stmt& stmt = *cached;
  stmt.BindText(1, def_.id);
  Result<bool> found = stmt.Step();
  if (!found.ok() || !found.value()) {
    stmt.Reset();
    if (!found.ok()) return found.status();
    return Status::NotFound("shape " + def_.id);
  }
  state_.handle = std::string(stmt.ColumnText(0));
  state_.offset = std::string(stmt.ColumnText(1));
  state_.cursor = std::string(stmt.ColumnText(2));
  state_.schema_json = std::string(stmt.ColumnText(3));
  state_.up_to_date = stmt.ColumnInt64(4) != 0;
  state_.refetching = stmt.ColumnInt64(5) != 0;
  state_.expired_handle = std::string(stmt.ColumnText(6));
  state_.last_synced_at = stmt.ColumnIsNull(7) ? -1 : stmt.ColumnInt64(7);
  state_.snapshot_xmin = std::string(stmt.ColumnText(8));
  state_.snapshot_xmax = std::string(stmt.ColumnText(9));
  state_.snapshot_xip_json = std::string(stmt.ColumnText(10));
  state_.last_lsn = std::string(stmt.ColumnText(11));
  stmt.Reset();
  state_.up_to_date = false;  // a resumed shape catches up with a non-live request first
  if (state_.offset.empty()) state_.offset = "-1";
  RefreshColumns();
  return Status::Ok();
}

}  // namespace electrolite
