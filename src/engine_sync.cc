// The shape request loop: requests out, responses in, each turned into a
// step by the shape's state machine (shape.h) and carried out here: a
// response applied in one SQLite transaction together with the shape's new
// handle/offset/cursor/schema, a re-fetch persisted, errors and logs emitted.
#include <algorithm>

#include "engine_components.h"
#include "engine_impl.h"
#include "json.h"
#include "message_decoder.h"
#include "reserved_names.h"
#include "response_applier.h"
#include "subset_stream.h"

namespace electrolite {

namespace {

constexpr int64_t kNonLiveTimeoutMs = 30000;
// Reconnecting. While the server cannot be reached, one shape (the first waiting) probes it
// with a non-live request (answered at once, not held like a long-poll),
// with the backoff capped at kUnreachableProbeMaxMs (retry.h); the others send nothing.
// The first answer of any kind resumes every shape waiting out a network error within
// kResumeSpreadMs (spread so N shapes do not arrive at once) and sends a waiting upload.
// So a client puts about one shape request per 1-2 s (and one upload per <= 2 s) on a
// server that is down, and sync resumes within kUnreachableProbeMaxMs + kResumeSpreadMs of
// the server's return.
constexpr int64_t kResumeSpreadMs = 500;

std::string XipJson(const std::vector<std::string>& xip) {
  std::string out = "[";
  for (size_t i = 0; i < xip.size(); i++) {
    if (i > 0) out += ',';
    AppendJsonString(&out, xip[i]);
  }
  return out + "]";
}

}  // namespace

Status Engine::Impl::Carry(int64_t now_ms, Shape* shape, const ShapeStep& step) {
  for (const ShapeStep::Note& n : step.notes) Log(n.level, n.message);
  for (const Status& e : step.errors) EmitError(e, shape->def().id);
  if (step.disconnected) metrics_->OnDisconnected();
  if (step.action != ShapeStep::Action::kRefetch) return Status::Ok();
  Status s = Refetch(shape, step.new_handle, step.forget);
  if (!s.ok()) {
    EmitError(s, shape->def().id);
    (void)Carry(now_ms, shape, shape->RefetchFailed(now_ms));
  }
  return s;
}

Status Engine::Impl::Refetch(Shape* shape, const std::string& new_handle,
                             ShapeStep::Forget forget) {
  EL_RETURN_IF_ERROR(shape->StartOver(*store_, new_handle, forget));
  ShapeRestarted(shape->def().id);
  Log("info", "shape " + shape->def().id + ": must-refetch, new handle '" + new_handle + "'");
  return Status::Ok();
}

Status Engine::Impl::OnResponse(int64_t now_ms, int64_t request_id, int status,
                                const Headers& headers, std::string_view body) {
  if (Subset* subset = SubsetOfRequest(request_id)) {
    return OnSubsetResponse(now_ms, subset, status, headers, body);
  }
  Shape* shape = nullptr;
  for (auto& s : shapes_) {
    if (s->InFlight(request_id)) shape = s.get();
  }
  if (shape == nullptr) {
    return Status::NotFound("no request in flight with id " + std::to_string(request_id));
  }
  if (SubsetInFlight(shape->def().id)) {
    HoldResponse(request_id, shape->def().id, status, headers, body);
    return Status::Ok();
  }
  metrics_->OnResponse(body.size());
  ShapeStep step = shape->OnResponse(now_ms, status, headers, body);
  Status result;
  if (step.action == ShapeStep::Action::kApply) {
    result = ApplyBody(now_ms, shape, status, headers, body);
    if (!result.ok()) (void)Carry(now_ms, shape, shape->ApplyFailed(now_ms, result));
  } else {
    // A 200 that was refused (missing or malformed headers) says why; a
    // refused status is an event, not a failed call.
    const bool ok_status = status == 200 || status == 204 || status == 304;
    if (ok_status && !step.errors.empty()) result = step.errors.front();
    Status carried = Carry(now_ms, shape, step);
    if (status == 409) result = carried;
  }
  MaybeEmitStatus();
  return result;
}

Status Engine::Impl::ApplyBody(int64_t now_ms, Shape* shape, int status, const Headers& headers,
                               std::string_view body) {
  const bool live = shape->request_live();
  SyncedTable* table = shape->table();
  ShapeState next = shape->state();
  next.handle = *FindHeader(headers, proto::kHandle);
  next.offset = *FindHeader(headers, proto::kOffset);
  if (const std::string* c = FindHeader(headers, proto::kCursor)) next.cursor = *c;
  const std::string* schema = status == 200 ? FindHeader(headers, proto::kSchema) : nullptr;
  TableDecl decl_before = table->decl();
  bool materialized_before = table->materialized();
  bool ddl = false;

  Txn txn(store_.get());
  EL_RETURN_IF_ERROR(txn.Begin());
  auto undo = [&](const Status& s) {
    txn.Rollback();
    table->RolledBack();
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
    Status ms = table->MergeServerColumns(cols.value(), view_builder_, &changed);
    ddl = changed;
    if (!ms.ok()) return undo(ms);
    next.schema_json = *schema;
  }
  shape->RefreshColumns(next.schema_json);
  if (next.refetching) {
    Status es = table->EnsureStage();
    if (!es.ok()) return undo(es);
  }
  bool sole = true;  // no other shape feeds this table
  for (auto& other : shapes_) {
    if (other.get() != shape && other->def().table == shape->def().table) sole = false;
  }
  ResponseApplier applier(store_.get(), shape, next.refetching);
  applier.SetShared(!sole);
  if (!options_.user_id.empty()) applier.SetUserFilter(&options_.user_column, &options_.user_id);
  // A changes_only shape has no initial snapshot to load in bulk: its rows come from subsets.
  Status bulk = applier.BeginBulkLoad(sole && !shape->def().changes_only(), status == 200 && !live);
  if (!bulk.ok()) return undo(bulk);
  std::unique_ptr<SubsetStreamGate> gate;
  if (shape->def().changes_only()) {
    gate = std::make_unique<SubsetStreamGate>(subset_book_.get(), &subsets_, shape);
    applier.SetChangeFilter(gate.get());
  }
  MessageDecoder decoder(&applier);
  Status s = status == 200 ? decoder.Feed(body) : Status::Ok();
  if (s.ok()) s = decoder.Finish();
  if (!s.ok()) return undo(s);
  if (applier.must_refetch()) {
    (void)undo(Status::Ok());
    return Refetch(shape, std::string(), ShapeStep::Forget::kNothing);
  }
  bool up_to_date = applier.up_to_date() || status == 204;
  if (gate != nullptr) {
    s = gate->SeenLsn(applier.global_last_seen_lsn());
    if (!s.ok()) return undo(s);
  }
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
    // A changes_only shape's snapshot is empty: the rows its subsets hold stay.
    s = table->SwapStage(/*replace_all=*/sole && !shape->def().changes_only());
    if (!s.ok()) return undo(s);
    next.refetching = false;
    swapped = true;
  }
  s = shape->Save(*store_, next);
  // Txids are matched and the overlay reconciled in this same transaction,
  // after the rows and the shape's new state (refetching flag included).
  if (s.ok()) s = txids_->OnApplied(*shape, applier, last_now_ms_);
  if (s.ok()) s = txn.Commit();
  if (!s.ok()) return undo(s);

  // Committed: adopt the new state.
  shape->Applied(std::move(next), up_to_date);
  int64_t ms = now_ms - shape->request_sent_ms();
  metrics_->OnApplied(now_ms, ms, applier.rows());
  for (EngineComponent* c : components_) c->OnApplied(*shape, now_ms, applier);
  if (applier.foreign_rows() > 0) ReportForeignRows(*shape, applier.foreign_rows());
  if (int64_t dup = table->TakeDuplicateKeys(); dup > 0) {
    // A malformed snapshot: what upserting its rows one by one would keep.
    Status d = Status::Protocol("the snapshot of shape " + shape->def().id + " held " +
                                std::to_string(dup) + " rows whose key an earlier row of it had;"
                                " the last row of each key was kept");
    Log("warn", d.message());
    EmitError(d, shape->def().id);
  }
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

void Engine::Impl::ReportForeignRows(const Shape& shape, int64_t rows) {
  metrics_->OnForeignRows(shape.def().table, rows);
  std::string ev = "{\"type\":\"security\",\"table\":";
  AppendJsonString(&ev, shape.def().table);
  ev += ",\"shapeId\":";
  AppendJsonString(&ev, shape.def().id);
  ev += ",\"dropped\":" + std::to_string(rows) + ",\"reason\":\"rows whose " +
        options_.user_column + " is not the signed-in user\"}";
  Emit(std::move(ev));
  Log("warn", "shape " + shape.def().id + ": dropped " + std::to_string(rows) +
                  " rows of another user");
}

void Engine::Impl::OnNetworkError(int64_t now_ms, Shape* shape, const std::string& message) {
  unreachable_ = true;
  Log("warn", "shape " + shape->def().id + ": network error: " + message);
  (void)Carry(now_ms, shape, shape->NetworkError(now_ms));
  MaybeEmitStatus();
}

void Engine::Impl::OnServerAnswered(int64_t now_ms) {
  if (!unreachable_) return;
  unreachable_ = false;
  Log("info", "server answered again: resuming");
  for (auto& s : shapes_) s->ServerAnswered(now_ms, kResumeSpreadMs);
  uploader_->ServerReachable();
}

Shape* Engine::Impl::Probe() const {
  if (!unreachable_) return nullptr;
  Shape* probe = nullptr;
  for (auto& s : shapes_) {
    const Shape::Phase p = s->phase();
    if (p == Shape::Phase::kInFlight) return s.get();  // a request is out: it is the probe
    if (probe == nullptr && (p == Shape::Phase::kWaiting || p == Shape::Phase::kReady)) {
      probe = s.get();
    }
  }
  return probe;
}

std::optional<Request> Engine::Impl::NextRequest(int64_t now_ms) {
  if (!online_) return std::nullopt;
  // Subsets first: the app waits on them for what it shows.
  if (std::optional<Request> subset = NextSubsetRequest(now_ms)) {
    MaybeEmitStatus();
    return subset;
  }
  Shape* probe = Probe();
  for (auto& owned : shapes_) {
    Shape* shape = owned.get();
    if (probe != nullptr && shape != probe) continue;
    // A probe asks without `live`: a reachable server answers it at once, not after a long-poll.
    const bool live = shape->WantsLive() && probe == nullptr;
    ShapeStep step = shape->Prepare(now_ms, live);
    if (step.action == ShapeStep::Action::kNone) continue;
    Status carried = Carry(now_ms, shape, step);
    if (step.action == ShapeStep::Action::kFail) MaybeEmitStatus();
    const bool send = step.action == ShapeStep::Action::kSend ||
                      (step.action == ShapeStep::Action::kRefetch && carried.ok());
    if (!send) continue;
    Request req;
    req.id = next_request_id_++;
    req.url = shape->BuildUrl(options_.base_url, live);
    if (!token_.empty()) req.headers.emplace_back("authorization", "Bearer " + token_);
    req.live = live;
    req.timeout_ms = live ? options_.live_timeout_ms : kNonLiveTimeoutMs;
    req.kind = "shape";
    req.shape_id = shape->def().id;
    shape->Sent(req.id, now_ms, req.timeout_ms, live);
    Log("debug", "GET " + req.url);
    MaybeEmitStatus();
    return req;
  }
  return std::nullopt;
}

void Engine::Impl::ShapesOnTimeout(int64_t now_ms) {
  for (auto& s : shapes_) {
    if (s->TimedOut(now_ms)) {
      OnNetworkError(now_ms, s.get(), "request timed out after " +
                                          std::to_string(now_ms - s->request_sent_ms()) + " ms");
    }
  }
}

int64_t Engine::Impl::ShapesDeadline() const {
  int64_t best = -1;
  const Shape* probe = Probe();
  for (const auto& s : shapes_) {
    if (probe != nullptr && s.get() != probe) continue;  // only the probe's timer runs
    best = EarlierDeadline(best, s->Deadline());
  }
  return best;
}

// The plain shape that alone feeds `table` (besides `except`), or null.
Shape* Engine::Impl::SolePlainFeeder(const std::string& table, const Shape* except) {
  Shape* feeder = nullptr;
  for (auto& s : shapes_) {
    if (s.get() == except || s->def().table != table) continue;
    if (feeder != nullptr) return nullptr;
    feeder = s.get();
  }
  if (feeder == nullptr || feeder->def().changes_only() || MayHaveSubquery(feeder->def().where)) {
    return nullptr;
  }
  return feeder;
}

// A second shape joins a table one plain shape fed alone: the rows already
// there are that shape's (from now on it records its rows itself).
Status Engine::Impl::RecordSoleFeeder(const std::string& table) {
  Shape* feeder = SolePlainFeeder(table, nullptr);
  if (feeder == nullptr) return Status::Ok();
  return RowTags::BackfillPlain(*store_, *feeder->table(), feeder->def().id);
}

// Unsubscribe, in the caller's transaction: the rows only `shape` held
// leave, its membership and subsets are forgotten, and a plain shape left
// alone on the table records nothing again (until another joins).
Status Engine::Impl::ShapeLeaves(Shape* shape, bool* rows_left) {
  std::vector<std::string> left;
  EL_RETURN_IF_ERROR(RowTags::DropShape(*store_, shape->table(), shape->def().id, &left));
  *rows_left = !left.empty();
  EL_RETURN_IF_ERROR(ForgetSubsets(shape->def().id));
  Shape* alone = SolePlainFeeder(shape->def().table, shape);
  if (alone == nullptr) return Status::Ok();
  return RowTags::ClearShape(*store_, alone->def().id);
}

}  // namespace electrolite
