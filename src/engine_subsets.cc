// On-demand sync (subset.h): the app's subset commands, their requests (a
// POST to the shape's URL, with the shape's handle and offset, the token and
// the shape retry rule), and their responses applied in one transaction
// together with the rows they hold. A stream response of the shape that
// arrives while a subset is in flight is held and applied after the subset's
// rows, so the snapshot-visibility rule (subset_stream.h) sees every later
// change after the snapshot it filters against.
#include <algorithm>

#include "engine_impl.h"
#include "json.h"
#include "message_decoder.h"
#include "row_tags.h"

namespace electrolite {

namespace {

constexpr int64_t kSubsetTimeoutMs = 30000;

// Subset rows (a JSON array of insert messages): upserted into the table,
// their row ids collected.
// With a signed-in user (EngineOptions::user_id), rows naming another user in the owner
// column are not applied, as on the stream (response_applier.h), and counted.
class SubsetRowSink : public MessageSink {
 public:
  SubsetRowSink(Shape* shape, std::vector<std::string>* rows, const EngineOptions& options)
      : shape_(shape), rows_(rows), options_(options) {}
  int64_t foreign() const { return foreign_; }
  Status OnMessage(const ShapeMessage& m, int64_t index) override {
    if (m.kind != ShapeMessage::Kind::kChange) return Status::Ok();
    if (!options_.user_id.empty()) {
      for (const ColumnText& c : m.value) {
        if (c.name == options_.user_column && (c.is_null || c.text != options_.user_id)) {
          foreign_++;
          return Status::Ok();
        }
      }
    }
    ShapeMessage upsert = m;
    upsert.op = Operation::kInsert;  // the row as the snapshot read it
    Status s = shape_->table()->Apply(upsert, shape_->columns(), /*stage=*/false);
    if (!s.ok()) return s.WithContext("subset row " + std::to_string(index));
    std::string row;
    bool safe = true;
    EL_RETURN_IF_ERROR(RowIdOf(*shape_->table(), upsert, shape_->columns(), &row, &safe));
    rows_->push_back(std::move(row));
    return Status::Ok();
  }

 private:
  Shape* shape_;
  std::vector<std::string>* rows_;
  const EngineOptions& options_;
  int64_t foreign_ = 0;
};

}  // namespace

Status Engine::Impl::InitSubsets() {
  EL_RETURN_IF_ERROR(store_->ExecSchema("schema:subsets", kSubsetSchema));
  subset_book_ = std::make_unique<SubsetBook>(store_.get());
  return subset_book_->Load(&subsets_);
}

std::string Engine::Impl::SubsetEvent(const Subset& s, const char* state,
                                      const std::string& extra) const {
  std::string ev = "{\"type\":\"subset\",\"subsetId\":";
  AppendJsonString(&ev, s.id);
  ev += ",\"shapeId\":";
  AppendJsonString(&ev, s.shape_id);
  ev += ",\"table\":";
  AppendJsonString(&ev, s.table);
  ev += ",\"state\":\"" + std::string(state) + "\",\"rows\":" + std::to_string(s.rows) + extra + "}";
  return ev;
}

// ---------------------------------------------------------------- requests

std::optional<Request> Engine::Impl::NextSubsetRequest(int64_t now_ms) {
  if (!online_ || unreachable_) return std::nullopt;
  for (auto& owned : subsets_) {
    Subset* s = owned.get();
    if (!s->needs_request || s->failed || s->request_id >= 0) continue;
    if (s->wait_until_ms > now_ms) continue;
    Shape* shape = FindShape(s->shape_id);
    // The stream's position comes first: a snapshot taken after it leaves
    // every later change to the stream.
    if (shape == nullptr || shape->state().offset == "-1" || shape->state().refetching ||
        shape->state().handle.empty()) {
      continue;
    }
    Request req;
    req.id = next_request_id_++;
    req.method = "POST";
    req.url = shape->BuildUrl(options_.base_url, /*live=*/false);
    req.headers.emplace_back("content-type", "application/json");
    if (!token_.empty()) req.headers.emplace_back("authorization", "Bearer " + token_);
    req.has_body = true;
    req.timeout_ms = kSubsetTimeoutMs;
    req.kind = "subset";
    req.shape_id = s->shape_id;
    s->request_id = req.id;
    s->request_deadline_ms = now_ms + kSubsetTimeoutMs;
    s->wait_until_ms = -1;
    s->body = s->def.BodyJson();
    Log("debug", "POST " + req.url + " subset " + s->id);
    return req;
  }
  return std::nullopt;
}

Subset* Engine::Impl::SubsetOfRequest(int64_t request_id) {
  if (request_id < 0) return nullptr;
  for (auto& s : subsets_) {
    if (s->request_id == request_id) return s.get();
  }
  return nullptr;
}

bool Engine::Impl::SubsetInFlight(const std::string& shape_id) const {
  return std::any_of(subsets_.begin(), subsets_.end(), [&](const auto& s) {
    return s->request_id >= 0 && s->shape_id == shape_id;
  });
}

void Engine::Impl::HoldResponse(int64_t request_id, const std::string& shape_id, int status,
                                const Headers& headers, std::string_view body) {
  held_responses_[shape_id] = HeldResponse{request_id, status, headers, std::string(body)};
  Log("debug", "shape " + shape_id + ": response held until its subset's rows are applied");
}

void Engine::Impl::ReplayHeld(int64_t now_ms, const std::string& shape_id) {
  if (SubsetInFlight(shape_id)) return;
  auto it = held_responses_.find(shape_id);
  if (it == held_responses_.end()) return;
  HeldResponse held = std::move(it->second);
  held_responses_.erase(it);
  Status s = OnResponse(now_ms, held.request_id, held.status, held.headers, held.body);
  if (!s.ok() && s.code() != Code::kNotFound) Log("warn", "shape " + shape_id + ": " + s.message());
}

int64_t Engine::Impl::SubsetsDeadline() const {
  if (!online_) return -1;
  int64_t best = -1;
  for (const auto& s : subsets_) {
    best = EarlierDeadline(best, s->request_id >= 0 ? s->request_deadline_ms : s->wait_until_ms);
  }
  return best;
}

void Engine::Impl::SubsetsOnTimeout(int64_t now_ms) {
  for (auto& s : subsets_) {
    if (s->request_id >= 0 && now_ms >= s->request_deadline_ms) {
      OnSubsetNetworkError(now_ms, s.get(), "subset request timed out");
    } else if (s->request_id < 0 && s->wait_until_ms >= 0 && now_ms >= s->wait_until_ms) {
      s->wait_until_ms = -1;  // its turn: NextSubsetRequest sends it
    }
  }
}

void Engine::Impl::OnSubsetNetworkError(int64_t now_ms, Subset* s, const std::string& message) {
  const std::string shape_id = s->shape_id;
  s->request_id = -1;
  s->wait_until_ms = now_ms + s->backoff.Next(*env_, options_.backoff, 0);
  Log("warn", "subset " + s->id + ": " + message + "; retrying at " + std::to_string(s->wait_until_ms));
  ReplayHeld(now_ms, shape_id);
}

// ---------------------------------------------------------------- responses

Status Engine::Impl::OnSubsetResponse(int64_t now_ms, Subset* s, int status, const Headers& headers,
                                      std::string_view body) {
  const std::string shape_id = s->shape_id;
  s->request_id = -1;
  metrics_->OnResponse(body.size());
  Shape* shape = FindShape(shape_id);
  Status result;
  if (status == 200 && shape != nullptr) {
    result = [&]() -> Status {
      std::string_view meta_text, data_text;
      EL_RETURN_IF_ERROR(SplitSubsetBody(body, &meta_text, &data_text));
      Json meta_doc = Json::parse(meta_text);
      if (meta_doc.is_discarded() || !meta_doc.is_object()) {
        return Status::Protocol("a subset response whose metadata is not an object");
      }
      const Json* meta = &meta_doc;
      auto xip = meta->find("xip_list");
      EL_ASSIGN_OR_RETURN(
          SnapshotVisibility vis,
          SnapshotVisibility::Parse(JsonStr(*meta, "xmin"), JsonStr(*meta, "xmax"),
                                    xip != meta->end() ? xip->dump() : std::string("[]"),
                                    JsonStr(*meta, "database_lsn")));
      shape->RefreshColumns();
      Txn txn(store_.get());
      EL_RETURN_IF_ERROR(txn.Begin());
      std::vector<std::string> rows;
      int64_t released = 0;
      SubsetRowSink sink(shape, &rows, options_);
      MessageDecoder decoder(&sink);
      Status st = decoder.Feed(data_text);
      if (st.ok()) st = decoder.Finish();
      Subset next = *s;
      next.loaded = true;
      next.needs_request = false;
      next.snapshot_active = true;
      next.snapshot = vis;
      next.rows = static_cast<int64_t>(rows.size());
      // In key order the row lists' inserts land next to each other.
      if (st.ok()) std::sort(rows.begin(), rows.end());
      if (st.ok()) st = subset_book_->ReplaceRows(next, rows, shape->table(), &released);
      if (st.ok()) st = subset_book_->Save(next);
      if (st.ok()) st = txn.Commit();
      if (!st.ok()) {
        txn.Rollback();
        return st;
      }
      s->loaded = true;
      s->needs_request = false;
      s->snapshot_active = true;
      s->snapshot = vis;
      s->rows = next.rows;
      s->backoff.Reset();
      if (sink.foreign() > 0) ReportForeignRows(*shape, sink.foreign());
      ChangeSet changes;
      changes.AddUnknown(s->table);
      EmitTablesChanged(changes);
      Emit(SubsetEvent(*s, "loaded", std::string()));
      Log("debug", "subset " + s->id + ": " + std::to_string(rows.size()) + " rows, " +
                       std::to_string(released) + " released");
      return Status::Ok();
    }();
    if (!result.ok()) {
      EmitError(result.WithContext("subset " + s->id), shape_id);
      s->wait_until_ms = now_ms + s->backoff.Next(*env_, options_.backoff, 0);
    }
  } else if (shape != nullptr) {
    const HttpClass cls = ClassifyHttpStatus(status);
    if (status == 409 || cls == HttpClass::kRetry || cls == HttpClass::kAuth) {
      // 409: the shape's handle is gone; its stream learns that too and
      // starts over, after which every subset of it loads again.
      s->wait_until_ms = now_ms + s->backoff.Next(*env_, options_.backoff, RetryAfterMs(headers, now_ms));
      Log("warn", "subset " + s->id + ": HTTP " + std::to_string(status) + ", retrying");
    } else {
      s->failed = true;
      std::string excerpt(body.substr(0, 200));
      // The app's request was refused (a bad where, ...): the app hears it from its subset,
      // not as a sync error in the status.
      Status err = Status(status == 400 ? Code::kInvalidArgument : Code::kProtocol,
                          "subset " + s->id + ": HTTP " + std::to_string(status) + ": " + excerpt);
      Log("warn", err.message());
      std::string extra = ",\"message\":";
      AppendJsonString(&extra, err.message());
      Emit(SubsetEvent(*s, "error", extra));
      result = err;
    }
  }
  ReplayHeld(now_ms, shape_id);
  MaybeEmitStatus();
  return result;
}

// ---------------------------------------------------------------- the shape's lifecycle

void Engine::Impl::ShapeRestarted(const std::string& shape_id) {
  for (auto& s : subsets_) {
    if (s->shape_id != shape_id) continue;
    s->needs_request = true;
    s->request_id = -1;  // a late answer to the old handle is ignored
    s->snapshot_active = false;
    s->failed = false;
    Status st = subset_book_->Save(*s);
    if (!st.ok()) EmitError(st, shape_id);
  }
  held_responses_.erase(shape_id);
}

Status Engine::Impl::ForgetSubsets(const std::string& shape_id) {
  for (auto it = subsets_.begin(); it != subsets_.end();) {
    if ((*it)->shape_id != shape_id) {
      ++it;
      continue;
    }
    EL_RETURN_IF_ERROR(subset_book_->Erase((*it)->id));
    it = subsets_.erase(it);
  }
  held_responses_.erase(shape_id);
  return Status::Ok();
}

// ---------------------------------------------------------------- the app's commands

std::string Engine::LoadSubset(std::string_view shape_id, std::string_view subset_json,
                               int64_t now_ms) {
  Impl& m = *impl_;
  m.Now(now_ms);
  Shape* shape = m.FindShape(std::string(shape_id));
  if (shape == nullptr) return Status::NotFound("no shape " + std::string(shape_id)).ToJson();
  if (!shape->def().changes_only()) {
    return Status::InvalidArgument("subsets need a shape with log \"changes_only\"; shape " +
                                   std::string(shape_id) + " syncs the whole shape")
        .ToJson();
  }
  Json j = Json::parse(subset_json);
  Result<SubsetDef> def = SubsetDef::FromJson(j);
  if (!def.ok()) return def.status().ToJson();
  std::string id = JsonStr(j, "id");
  if (id.empty()) id = def->DefaultId(shape->def().id);
  std::string id_json;
  AppendJsonString(&id_json, id);
  for (auto& s : m.subsets_) {
    if (s->id != id) continue;
    if (s->shape_id != shape->def().id || s->def.ToJson() != def->ToJson()) {
      return Status::Conflict("subset id " + id + " is already used by another definition").ToJson();
    }
    s->holds++;
    if (s->failed) {  // asked again: try again
      s->failed = false;
      s->needs_request = true;
      s->backoff.Reset();
    } else if (s->loaded && !s->needs_request) {
      m.Emit(m.SubsetEvent(*s, "loaded", std::string()));  // already there: say so again
    }
    return OkWith("subsetId", id_json);
  }
  auto s = std::make_unique<Subset>();
  s->id = id;
  s->shape_id = shape->def().id;
  s->table = shape->def().table;
  s->def = std::move(def).value();
  s->holds = 1;
  Status st = m.subset_book_->Save(*s);
  if (!st.ok()) return st.ToJson();
  m.subsets_.push_back(std::move(s));
  return OkWith("subsetId", id_json);
}

std::string Engine::ReleaseSubset(std::string_view subset_id) {
  Impl& m = *impl_;
  auto it = std::find_if(m.subsets_.begin(), m.subsets_.end(),
                         [&](const auto& s) { return s->id == subset_id; });
  if (it == m.subsets_.end()) return Status::NotFound("no subset " + std::string(subset_id)).ToJson();
  Subset* s = it->get();
  if (m.store_->InTransaction()) {
    // An app transaction's rollback would bring back rows the engine no longer counts.
    return Status::Conflict("cannot release a subset inside a transaction").ToJson();
  }
  if (s->holds > 1) {  // someone else still holds it
    s->holds--;
    return OkWith("removed", "0");
  }
  SyncedTable* table = m.FindTable(s->table);
  int64_t removed = 0;
  Txn txn(m.store_.get());
  Status st = txn.Begin();
  if (st.ok()) st = m.subset_book_->Release(s->id, table, &removed);
  if (st.ok()) st = txn.Commit();
  if (!st.ok()) {
    txn.Rollback();
    if (table != nullptr) table->RolledBack();
    return st.ToJson();
  }
  const std::string shape_id = s->shape_id, table_name = s->table;
  const bool in_flight = s->request_id >= 0;
  m.subsets_.erase(it);
  if (removed > 0) {
    ChangeSet changes;
    changes.AddUnknown(table_name);
    m.EmitTablesChanged(changes);
  }
  if (in_flight) m.ReplayHeld(m.last_now_ms_, shape_id);
  m.MaybeEmitStatus();
  return OkWith("removed", std::to_string(removed));
}

std::string Engine::SubsetsJson() const {
  std::string out = "{\"ok\":true,\"subsets\":[";
  bool first = true;
  for (const auto& s : impl_->subsets_) {
    if (!first) out += ',';
    first = false;
    Json j = Json::parse(s->def.ToJson());
    j["id"] = s->id;
    j["shapeId"] = s->shape_id;
    j["table"] = s->table;
    j["state"] = s->failed ? "error" : (s->loaded && !s->needs_request) ? "loaded" : "loading";
    j["rows"] = s->rows;
    out += j.dump();
  }
  return out + "]}";
}

}  // namespace electrolite
