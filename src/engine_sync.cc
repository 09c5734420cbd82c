// The shape request loop: requests out, responses in, state transitions
// (shape.h), each response applied in one SQLite transaction together with
// the shape's new handle/offset/cursor/schema.
#include <algorithm>

#include "engine_impl.h"
#include "json.h"
#include "message_decoder.h"
#include "reserved_names.h"
#include "response_applier.h"

namespace electrolite {

namespace {

constexpr int64_t kNonLiveTimeoutMs = 30000;
// Reconnecting. While the server cannot be reached, one shape (the first waiting) probes it
// with a non-live request (answered at once, not held like a long-poll),
// with the backoff capped at kProbeMaxMs (past the cap: between half of it and all of it);
// the others send nothing. The first answer of any
// kind resumes every shape waiting out a network error within kResumeSpreadMs (spread so N
// shapes do not arrive at once) and sends a waiting upload. So a client puts about one shape
// request per 1-2 s (and one upload per <= 2 s) on a server that is down, and sync resumes
// within kProbeMaxMs + kResumeSpreadMs of the server's return.
constexpr int64_t kProbeMaxMs = 2000;
constexpr int64_t kResumeSpreadMs = 500;
constexpr int kMaxConsecutiveFailures = 50;

std::string Excerpt(std::string_view body) {
  std::string s(body.substr(0, 200));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return s;
}

std::string XipJson(const std::vector<std::string>& xip) {
  std::string out = "[";
  for (size_t i = 0; i < xip.size(); i++) {
    if (i > 0) out += ',';
    AppendJsonString(&out, xip[i]);
  }
  return out + "]";
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

}  // namespace

void Engine::Impl::RetryOrFail(int64_t now_ms, Shape* shape, const Status& s) {
  EmitError(s, shape->def().id);
  if (shape->retries() + 1 >= kMaxConsecutiveFailures) {
    Fail(shape, s.WithContext("giving up after " + std::to_string(kMaxConsecutiveFailures) +
                              " failed attempts"));
  } else {
    Backoff(now_ms, shape, 0);
  }
}

void Engine::Impl::OnBadRequest(int64_t now_ms, Shape* shape, const Headers& headers,
                                std::string_view body) {
  Status err = Status::InvalidArgument("HTTP 400: " + Excerpt(body));
  bool sent_state = shape->request_offset != "-1";
  bool client = BlamesClientState(body, sent_state);
  if (!client && shape->client_state_errors() == 0) {
    Fail(shape, err);  // the shape's definition: terminal until the app changes it
    return;
  }
  // The server refused what the client sent back (e.g. an offset out of
  // bounds after the server lost its log, or one a bad response planted):
  // start the shape over from -1, as on a 409, without expiring its handle
  // (the server did not rotate it), and wait so this never loops hot.
  if (client && sent_state) {
    shape->state().handle.clear();
    Status s = MustRefetch(shape, std::string());
    if (!s.ok()) EmitError(s, shape->def().id);
  }
  int64_t wait =
      shape->NextClientStateBackoffMs(*env, options.backoff, RetryAfterMs(headers, now_ms));
  if (shape->client_state_errors() > 1) {
    // It came back after a re-fetch: shown in status while it keeps retrying.
    shape->error = err.WithContext("after re-fetching the shape");
    EmitError(shape->error, shape->def().id);
  }
  shape->phase = Shape::Phase::kWaiting;
  shape->wait_until_ms = now_ms + wait;
  shape->connected = false;
  ExtrasOnDisconnected();
  Log("warn", "shape " + shape->def().id + ": " + err.message() + "; re-fetching in " +
                  std::to_string(wait) + " ms");
}

void Engine::Impl::Fail(Shape* shape, const Status& s) {
  shape->phase = Shape::Phase::kError;
  shape->error = s;
  EmitError(s, shape->def().id);
}

void Engine::Impl::Backoff(int64_t now_ms, Shape* shape, int64_t retry_after_ms) {
  int64_t wait = shape->NextBackoffMs(*env, options.backoff, retry_after_ms);
  shape->phase = Shape::Phase::kWaiting;
  shape->wait_until_ms = now_ms + wait;
  shape->connected = false;
  ExtrasOnDisconnected();
  Log("info", "shape " + shape->def().id + ": retry " + std::to_string(shape->retries()) +
                  " in " + std::to_string(wait) + " ms");
}

Status Engine::Impl::MustRefetch(Shape* shape, const std::string& new_handle) {
  ShapeState saved = shape->state();
  shape->MarkMustRefetch(new_handle, *env);
  Txn txn(store.get());
  Status s = txn.Begin();
  if (s.ok()) s = shape->table()->ClearStage();
  if (s.ok()) s = shape->Save(*store);
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) {
    shape->state() = saved;
    shape->RefreshColumns();
    return s;
  }
  Log("info", "shape " + shape->def().id + ": must-refetch, new handle '" + new_handle + "'");
  return Status::Ok();
}

Status Engine::Impl::OnResponse(int64_t now_ms, int64_t request_id, int status,
                                const Headers& headers, std::string_view body) {
  Shape* shape = nullptr;
  for (auto& s : shapes) {
    if (s->phase == Shape::Phase::kInFlight && s->request_id == request_id) shape = s.get();
  }
  if (shape == nullptr) {
    return Status::NotFound("no request in flight with id " + std::to_string(request_id));
  }
  responses++;
  bytes_received += static_cast<int64_t>(body.size());
  shape->phase = Shape::Phase::kReady;
  shape->request_id = -1;
  shape->attempted = true;
  Status result;
  if (status == 200 || status == 204 || status == 304) {
    result = OnSuccess(now_ms, shape, status, headers, body);
  } else if (status == 409) {
    shape->connected = true;
    const std::string* h = FindHeader(headers, proto::kHandle);
    if (h == nullptr) Log("warn", "409 without electric-handle: a proxy may strip headers");
    if (h != nullptr && !IsValidHandle(*h)) {
      Log("warn", "409 with a malformed electric-handle, ignored");
      h = nullptr;
    }
    result = MustRefetch(shape, h != nullptr ? *h : std::string());
    if (!result.ok()) {
      EmitError(result, shape->def().id);
      Backoff(now_ms, shape, 0);
    }
  } else if (status == 401 || status == 403) {
    shape->connected = true;
    shape->phase = Shape::Phase::kAuth;
    shape->error = Status::Auth("HTTP " + std::to_string(status) + ": " + Excerpt(body));
    EmitError(shape->error, shape->def().id);
  } else if (status == 429 || status >= 500) {
    Log("warn", "shape " + shape->def().id + ": HTTP " + std::to_string(status));
    Backoff(now_ms, shape, RetryAfterMs(headers, now_ms));
  } else if (status == 400) {
    OnBadRequest(now_ms, shape, headers, body);
  } else if (status >= 400) {
    Code code = status == 404 ? Code::kNotFound : Code::kProtocol;
    Fail(shape, Status(code, "HTTP " + std::to_string(status) + ": " + Excerpt(body)));
  } else {
    Fail(shape, Status::Protocol("unexpected HTTP status " + std::to_string(status)));
  }
  MaybeEmitStatus();
  return result;
}

Status Engine::Impl::OnSuccess(int64_t now_ms, Shape* shape, int status, const Headers& headers,
                               std::string_view body) {
  shape->connected = true;
  bool live = shape->request_live;
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
    Status s = Status::Protocol(m);
    Fail(shape, s);  // fatal, never retried (protocol notes §2.2)
    return s;
  }
  // Nothing of a response whose offset, handle or cursor is malformed is
  // applied or kept; the same request is retried after a backoff.
  Status bad = CheckStateHeaders(headers);
  if (!bad.ok()) {
    RetryOrFail(now_ms, shape, bad);
    return bad;
  }
  ShapeState& st = shape->state();
  if (!st.expired_handle.empty() && *handle == st.expired_handle) {
    // A cached response of the shape we were told to drop (§4.4).
    shape->stale_retries++;
    if (shape->stale_retries > proto::kMaxStaleRetries) {
      Log("warn", "shape " + shape->def().id + ": stale responses persist, self-healing");
      st.expired_handle.clear();
      shape->stale_retries = 0;
    }
    uint64_t r = env->RandomU64();
    shape->cache_buster = std::to_string(r % 1000000000000ULL);
    Log("warn", "shape " + shape->def().id + ": discarded a stale cached response");
    return Status::Ok();
  }
  Status s = ApplyBody(now_ms, shape, status, headers, body, live);
  if (!s.ok()) RetryOrFail(now_ms, shape, s);
  return s;
}

Status Engine::Impl::ApplyBody(int64_t now_ms, Shape* shape, int status, const Headers& headers,
                               std::string_view body, bool live) {
  SyncedTable* table = shape->table();
  ShapeState next = shape->state();
  next.handle = *FindHeader(headers, proto::kHandle);
  next.offset = *FindHeader(headers, proto::kOffset);
  if (const std::string* c = FindHeader(headers, proto::kCursor)) next.cursor = *c;
  const std::string* schema = status == 200 ? FindHeader(headers, proto::kSchema) : nullptr;
  TableDecl decl_before = table->decl();
  bool materialized_before = table->materialized();
  bool ddl = false;

  Txn txn(store.get());
  EL_RETURN_IF_ERROR(txn.Begin());
  auto undo = [&](const Status& s) {
    txn.Rollback();
    if (ddl) table->Restore(decl_before, materialized_before);
    shape->RefreshColumns();
    return s;
  };
  if (schema != nullptr) {
    Result<std::vector<ColumnDecl>> cols = ParseSchemaHeader(*schema);
    if (!cols.ok()) return undo(cols.status());
    Status reserved = CheckServerColumns(shape->def().table, cols.value());
    if (!reserved.ok()) return undo(reserved);
    bool changed = false;
    Status ms = table->MergeServerColumns(cols.value(), view_builder, &changed);
    ddl = changed;
    if (!ms.ok()) return undo(ms);
    next.schema_json = *schema;
  }
  shape->RefreshColumns(next.schema_json);
  if (next.refetching) {
    Status es = table->EnsureStage();
    if (!es.ok()) return undo(es);
  }
  ResponseApplier applier(shape, next.refetching);
  if (!options.user_id.empty()) applier.SetUserFilter(&options.user_column, &options.user_id);
  MessageDecoder decoder(&applier);
  Status s = status == 200 ? decoder.Feed(body) : Status::Ok();
  if (s.ok()) s = decoder.Finish();
  if (!s.ok()) return undo(s);
  if (applier.must_refetch()) {
    (void)undo(Status::Ok());
    return MustRefetch(shape, std::string());
  }
  bool up_to_date = applier.up_to_date() || status == 204;
  if (up_to_date) {
    next.up_to_date = true;
    next.last_synced_at = now_ms;
  }
  if (applier.snapshot_end()) {
    next.snapshot_xmin = applier.xmin();
    next.snapshot_xmax = applier.xmax();
    next.snapshot_xip_json = XipJson(applier.xip());
  }
  if (!applier.last_lsn().empty()) next.last_lsn = applier.last_lsn();
  bool swapped = false;
  if (up_to_date && next.refetching) {
    bool sole = true;
    for (auto& other : shapes) {
      if (other.get() != shape && other->def().table == shape->def().table) sole = false;
    }
    s = table->SwapStage(/*replace_all=*/sole);
    if (!s.ok()) return undo(s);
    next.refetching = false;
    swapped = true;
  }
  if (!applier.txids().empty()) {
    Result<Stmt*> ins =
        store->Cached("INSERT OR IGNORE INTO _el_txids (shape_id, txid) VALUES (?1, ?2)");
    if (!ins.ok()) return undo(ins.status());
    for (int64_t t : applier.txids()) {
      ins.value()->BindText(1, shape->def().id);
      ins.value()->BindInt64(2, t);
      s = ins.value()->Run();
      if (!s.ok()) return undo(s);
    }
  }
  s = shape->Save(*store, next);
  // The write path matches txids and reconciles its overlay in this same
  // transaction, after the rows and the shape's new state (refetching flag
  // included) are written.
  if (s.ok() && observer != nullptr) {
    if (applier.snapshot_end()) {
      s = observer->OnSnapshotEnd(*store, shape->def().id, applier.xmin(), applier.xmax(),
                                  applier.xip());
    }
    if (s.ok()) s = observer->OnTxidsApplied(*store, shape->def().id, applier.txids());
  }
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) return undo(s);

  // Committed: adopt the new state.
  bool advanced = next.offset != shape->state().offset;
  shape->state() = std::move(next);
  shape->ResetBackoff();
  shape->stale_retries = 0;
  shape->cache_buster.clear();
  // The server took the offset and handle this request sent back; until then
  // a repeated 400's error stays in status through the re-fetch.
  if (shape->request_offset != "-1") shape->ResetClientStateErrors();
  if (shape->client_state_errors() == 0) shape->error = Status::Ok();
  if (advanced || up_to_date) shape->ResetFastLoop();
  rows_applied += applier.rows();
  int64_t ms = now_ms - shape->request_sent_ms;
  apply_ms_total += ms;
  ExtrasOnApplied(shape, now_ms, ms, applier);
  ChangeSet changes;
  if (swapped || ddl) {
    changes.AddUnknown(shape->def().table);
  } else {
    applier.keys().AddTo(&changes, shape->def().table, table->decl().primary_key);
  }
  EmitTablesChanged(changes);
  std::string ev = "{\"type\":\"sync\",\"shapeId\":";
  AppendJsonString(&ev, shape->def().id);
  ev += ",\"table\":";
  AppendJsonString(&ev, shape->def().table);
  ev += ",\"rows\":" + std::to_string(applier.rows()) + ",\"bytes\":" +
        std::to_string(body.size()) + ",\"ms\":" + std::to_string(ms) + "}";
  Emit(std::move(ev));
  Log("debug", "shape " + shape->def().id + ": applied " + std::to_string(applier.rows()) +
                   " rows, offset " + shape->state().offset + (live ? " (live)" : ""));
  return Status::Ok();
}

void Engine::Impl::OnNetworkError(int64_t now_ms, Shape* shape, const std::string& message) {
  shape->phase = Shape::Phase::kReady;
  shape->request_id = -1;
  shape->attempted = true;
  unreachable = true;
  Log("warn", "shape " + shape->def().id + ": network error: " + message);
  Backoff(now_ms, shape, 0);
  shape->network_wait = true;
  if (shape->wait_until_ms > now_ms + kProbeMaxMs) {
    // Past the cap: spread over its second half, so restarted clients do not arrive in step.
    shape->wait_until_ms = now_ms + kProbeMaxMs / 2 +
        static_cast<int64_t>(env->RandomUnit() * static_cast<double>(kProbeMaxMs / 2));
  }
  MaybeEmitStatus();
}

void Engine::Impl::OnServerAnswered(int64_t now_ms) {
  if (!unreachable) return;
  unreachable = false;
  Log("info", "server answered again: resuming");
  for (auto& s : shapes) {
    if (s->phase != Shape::Phase::kWaiting || !s->network_wait) continue;
    s->network_wait = false;
    s->ResetBackoff();
    int64_t spread = static_cast<int64_t>(env->RandomUnit() * static_cast<double>(kResumeSpreadMs));
    s->wait_until_ms = std::min(s->wait_until_ms, now_ms + spread);
  }
  uploader->ServerReachable();
}

Shape* Engine::Impl::Probe() const {
  if (!unreachable) return nullptr;
  Shape* probe = nullptr;
  for (auto& s : shapes) {
    if (s->phase == Shape::Phase::kInFlight) return s.get();  // a request is out: it is the probe
    if (probe == nullptr && (s->phase == Shape::Phase::kWaiting || s->phase == Shape::Phase::kReady)) {
      probe = s.get();
    }
  }
  return probe;
}

std::optional<Request> Engine::Impl::NextRequest(int64_t now_ms) {
  if (!online) return std::nullopt;
  Shape* probe = Probe();
  for (auto& owned : shapes) {
    Shape* shape = owned.get();
    if (probe != nullptr && shape != probe) continue;
    if (shape->phase == Shape::Phase::kWaiting && shape->wait_until_ms <= now_ms) {
      shape->phase = Shape::Phase::kReady;
    }
    if (shape->phase != Shape::Phase::kReady) continue;
    // A probe asks without `live`: a reachable server answers it at once, not after a long-poll.
    bool live = shape->WantsLive() && probe == nullptr;
    if (!live && shape->RecordNonLiveRequest(shape->state().offset, now_ms)) {
      int n = shape->fast_loop_detections();
      if (n >= proto::kFastLoopMaxDetections) {
        Fail(shape, Status::Protocol("stuck in a fast retry loop at offset " +
                                     shape->state().offset));
        MaybeEmitStatus();
        continue;
      }
      if (n == 1) {
        Log("warn", "shape " + shape->def().id +
                        ": fast retry loop detected, clearing client-side caches");
        shape->state().expired_handle.clear();
        shape->state().handle.clear();  // nothing is remembered as expired
        Status s = MustRefetch(shape, std::string());
        if (!s.ok()) {
          EmitError(s, shape->def().id);
          Backoff(now_ms, shape, 0);
          continue;
        }
      } else {
        int64_t cap = std::min<int64_t>(5000, 100LL << n);
        int64_t wait = static_cast<int64_t>(env->RandomUnit() * static_cast<double>(cap));
        shape->phase = Shape::Phase::kWaiting;
        shape->wait_until_ms = now_ms + wait;
        Log("warn", "shape " + shape->def().id + ": fast retry loop, waiting " +
                        std::to_string(wait) + " ms");
        if (wait > 0) continue;
        shape->phase = Shape::Phase::kReady;
      }
    }
    Request req;
    req.id = next_request_id++;
    req.url = shape->BuildUrl(options.base_url, live);
    if (!token.empty()) req.headers.emplace_back("authorization", "Bearer " + token);
    req.live = live;
    req.timeout_ms = live ? options.live_timeout_ms : kNonLiveTimeoutMs;
    req.kind = "shape";
    req.shape_id = shape->def().id;
    shape->phase = Shape::Phase::kInFlight;
    shape->network_wait = false;
    shape->request_id = req.id;
    shape->request_sent_ms = now_ms;
    shape->request_deadline_ms = now_ms + req.timeout_ms;
    shape->request_live = live;
    shape->request_offset = shape->state().offset;
    Log("debug", "GET " + req.url);
    MaybeEmitStatus();
    return req;
  }
  return std::nullopt;
}

void Engine::Impl::OnTimeout(int64_t now_ms) {
  for (auto& s : shapes) {
    if (s->phase == Shape::Phase::kInFlight && s->request_deadline_ms >= 0 &&
        now_ms >= s->request_deadline_ms) {
      OnNetworkError(now_ms, s.get(), "request timed out after " +
                                          std::to_string(now_ms - s->request_sent_ms) + " ms");
    }
  }
  ExtrasOnTimeout(now_ms);
  MaybeEmitStatus();
}

int64_t Engine::Impl::NextDeadline() const {
  int64_t best = -1;
  const Shape* probe = Probe();
  for (const auto& s : shapes) {
    if (probe != nullptr && s.get() != probe) continue;  // only the probe's timer runs
    int64_t t = -1;
    if (s->phase == Shape::Phase::kWaiting) t = s->wait_until_ms;
    if (s->phase == Shape::Phase::kInFlight) t = s->request_deadline_ms;
    if (t >= 0 && (best < 0 || t < best)) best = t;
  }
  int64_t extras = ExtrasDeadline();  // retention batches, prefetch grace periods
  if (extras >= 0 && (best < 0 || extras < best)) best = extras;
  return best;
}

}  // namespace electrolite
