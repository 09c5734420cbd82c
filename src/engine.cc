// Engine lifecycle, the app-facing API, events and status. The request loop
// is in engine_sync.cc.
#include "engine.h"

#include <algorithm>

#include "engine_components.h"
#include "engine_impl.h"
#include "engine_test_seams.h"
#include "json.h"
#include "local_query.h"
#include "reserved_names.h"
#include "row_tags.h"
#include "schema_image.h"
#include "snapshot_export.h"
#include "table_decl.h"

namespace electrolite {

namespace {

uint64_t SeedFrom(const EngineOptions& o) {
  uint64_t h = 1469598103934665603ULL ^ static_cast<uint64_t>(o.now_ms);
  for (unsigned char c : o.client_id + o.path) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

Status DropColumnIfExists(Store& store, const std::string& table, const std::string& column) {
  EL_ASSIGN_OR_RETURN(Stmt info,
                      store.Prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2"));
  info.BindText(1, table);
  info.BindText(2, column);
  EL_ASSIGN_OR_RETURN(bool has, info.Step());
  info.Reset();
  if (!has) return Status::Ok();
  return store.Exec("ALTER TABLE " + QuoteIdent(table) + " DROP COLUMN " + QuoteIdent(column));
}

// A declaration stored by an earlier build may hold a column a server named
// like the engine's bookkeeping (reserved_names.h), which breaks the table's
// local writes. It is repaired on open: the reserved columns leave the
// declaration, T__synced, T__stage and the overlay's change flags (the view
// goes first: SQLite refuses to drop a column a view names; Materialize
// rebuilds it), or, when one is in the primary key, the synced copies are
// dropped whole and the declaration forgotten (*stored left without
// columns). Either way the caller re-fetches the table's shapes.
Status RepairReservedColumns(Store& store, TableDecl* stored, bool* repaired) {
  *repaired = false;
  bool in_pk = false;
  std::vector<std::string> bad;
  for (const ColumnDecl& c : stored->columns) {
    if (!IsReservedColumnName(c.name)) continue;
    bad.push_back(c.name);
    if (c.pk_index >= 0) in_pk = true;
  }
  for (const std::string& k : stored->primary_key) in_pk |= IsReservedColumnName(k);
  if (bad.empty() && !in_pk) return Status::Ok();
  *repaired = true;
  const std::string& t = stored->name;
  EL_RETURN_IF_ERROR(store.Exec("DROP VIEW IF EXISTS " + QuoteIdent(t)));
  // The write path rebuilds the view and overlay only when its recorded DDL differs.
  EL_RETURN_IF_ERROR(store.RecordSchema("ddl:" + t, ""));
  if (in_pk) {
    for (const char* suffix : {"__synced", "__stage", "__overlay"}) {
      EL_RETURN_IF_ERROR(store.Exec("DROP TABLE IF EXISTS " + QuoteIdent(t + suffix)));
    }
    EL_ASSIGN_OR_RETURN(Stmt del, store.Prepare("DELETE FROM _el_tables WHERE name = ?1"));
    del.BindText(1, t);
    EL_RETURN_IF_ERROR(del.Run());
    stored->columns.clear();
    stored->primary_key.clear();
    return Status::Ok();
  }
  for (const std::string& name : bad) {
    EL_RETURN_IF_ERROR(DropColumnIfExists(store, t + "__synced", name));
    EL_RETURN_IF_ERROR(DropColumnIfExists(store, t + "__stage", name));
    EL_RETURN_IF_ERROR(DropColumnIfExists(store, t + "__overlay", OverlayChangedColumn(name)));
  }
  auto reserved = [](const ColumnDecl& c) { return IsReservedColumnName(c.name); };
  stored->columns.erase(
      std::remove_if(stored->columns.begin(), stored->columns.end(), reserved),
      stored->columns.end());
  EL_ASSIGN_OR_RETURN(
      Stmt put, store.Prepare("INSERT OR REPLACE INTO _el_tables (name, decl) VALUES (?1, ?2)"));
  put.BindText(1, t);
  put.BindText(2, TableDeclToJson(*stored));
  return put.Run();
}

}  // namespace

// ---------------------------------------------------------------- Impl

Status Engine::Impl::Init(std::vector<TableDecl> decls) {
  metrics_ = std::make_unique<SyncMetrics>(options_.now_ms);
  // One transaction: a new database's schema commits once (one WAL sync, not
  // one per statement), and a reopen that changes nothing writes nothing.
  Txn txn(store_.get());
  EL_RETURN_IF_ERROR(txn.Begin());
  EL_RETURN_IF_ERROR(CreateBookkeeping(*store_));
  EL_RETURN_IF_ERROR(InitWrites(decls));
  schema_fingerprint_ = SchemaFingerprint(decls);  // of the declarations, before stored columns
  // What a schema image of this database would have to record (schema_image.h).
  const std::string declared = FingerprintText(schema_fingerprint_);
  EL_ASSIGN_OR_RETURN(bool same_declared, store_->SchemaRecorded(kDeclaredKey, declared));
  if (!same_declared) EL_RETURN_IF_ERROR(store_->RecordSchema(kDeclaredKey, declared));
  // Columns learnt from the server in earlier sessions are kept.
  std::map<std::string, TableDecl> stored;
  {
    EL_ASSIGN_OR_RETURN(Stmt stmt, store_->Prepare("SELECT decl FROM _el_tables"));
    for (;;) {
      EL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      Result<TableDecl> d = TableDeclFromJson(stmt.ColumnText(0));
      if (!d.ok()) return d.status();
      stored[d->name] = std::move(d).value();
    }
  }
  std::set<std::string> repaired;  // their shapes start over
  for (auto it = stored.begin(); it != stored.end();) {
    bool r = false;
    EL_RETURN_IF_ERROR(RepairReservedColumns(*store_, &it->second, &r));
    if (r) {
      repaired.insert(it->first);
      Log("warn", "table " + it->first + ": dropped server columns with reserved names;"
                  " re-fetching its shapes");
    }
    it = r && it->second.columns.empty() ? stored.erase(it) : std::next(it);
  }
  for (TableDecl& d : decls) {
    auto it = stored.find(d.name);
    const TableDecl* saved = it != stored.end() ? &it->second : nullptr;
    if (saved != nullptr) {
      if (d.columns.empty()) {
        d.columns = it->second.columns;
        d.primary_key = it->second.primary_key;
      } else {
        for (const ColumnDecl& c : it->second.columns) {
          if (d.FindColumn(c.name) == nullptr) {
            ColumnDecl extra = c;
            extra.pk_index = -1;
            d.columns.push_back(extra);
          }
        }
      }
    }
    auto table = std::make_unique<SyncedTable>(store_.get(), d);
    EL_RETURN_IF_ERROR(table->Materialize(view_builder_, saved).WithContext("table " + d.name));
    tables_[d.name] = std::move(table);
  }
  // Resume persisted shapes.
  {
    EL_ASSIGN_OR_RETURN(Stmt stmt, store_->Prepare("SELECT id, definition FROM _el_shapes ORDER BY rowid"));
    std::vector<std::pair<std::string, std::string>> rows;
    for (;;) {
      EL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      rows.emplace_back(std::string(stmt.ColumnText(0)), std::string(stmt.ColumnText(1)));
    }
    for (auto& r : rows) {
      Result<ShapeDef> def = ShapeDef::FromJson(r.second);
      if (!def.ok()) return Status::Corruption("stored shape " + r.first + ": " + def.status().message());
      def->id = r.first;
      if (FindTable(def->table) == nullptr) continue;  // table no longer declared
      EL_ASSIGN_OR_RETURN(Shape * shape, AddShape(std::move(def).value(), /*persist=*/false));
      EL_RETURN_IF_ERROR(shape->Load(*store_));
      // A repaired table, or an offset/handle no server should have given
      // (an earlier build kept them unchecked): start over from -1.
      const ShapeState& st = shape->state();
      if (repaired.count(shape->def().table) > 0 || !IsValidOffset(st.offset) ||
          (!st.handle.empty() && !IsValidHandle(st.handle)) || !IsValidCursor(st.cursor)) {
        shape->Reset();
        EL_RETURN_IF_ERROR(shape->table()->ClearStage());
        EL_RETURN_IF_ERROR(shape->Save(*store_));
      }
    }
  }
  if (options_.auto_subscribe) {
    for (auto& kv : tables_) {
      bool has = std::any_of(shapes_.begin(), shapes_.end(),
                             [&](const auto& s) { return s->def().table == kv.first; });
      if (has) continue;
      ShapeDef def;
      def.table = kv.first;
      def.id = def.DefaultId();
      EL_ASSIGN_OR_RETURN(Shape * shape, AddShape(std::move(def), /*persist=*/true));
      (void)shape;
    }
  }
  EL_RETURN_IF_ERROR(InitSubsets());
  EL_RETURN_IF_ERROR(StartUploads());
  EL_ASSIGN_OR_RETURN(retention_, RetentionComponent::Create(this));
  EL_ASSIGN_OR_RETURN(prefetch_, PrefetchComponent::Create(this));
  components_ = {retention_.get(), prefetch_.get()};
  InitTimers();
  EL_RETURN_IF_ERROR(txn.Commit());
  MaybeEmitStatus();
  return Status::Ok();
}

void Engine::Impl::InitTimers() {
  // Uploads first: local writes are what the user is waiting on.
  timers_.Add([this] { return online_ ? uploader_->NextDeadline() : -1; },
             [this](int64_t now_ms) {
               uploader_->HandleTimeout(now_ms);
               FlushWrites(true);
             });
  timers_.Add([this] { return ShapesDeadline(); }, [this](int64_t now_ms) { ShapesOnTimeout(now_ms); });
  timers_.Add([this] { return SubsetsDeadline(); }, [this](int64_t now_ms) { SubsetsOnTimeout(now_ms); });
  for (EngineComponent* c : components_) {
    timers_.Add([c] { return c->Deadline(); }, [c](int64_t now_ms) { c->OnTimeout(now_ms); });
  }
}

SyncedTable* Engine::Impl::FindTable(const std::string& name) {
  auto it = tables_.find(name);
  return it == tables_.end() ? nullptr : it->second.get();
}

Shape* Engine::Impl::FindShape(const std::string& id) {
  for (auto& s : shapes_) {
    if (s->def().id == id) return s.get();
  }
  return nullptr;
}

Result<Shape*> Engine::Impl::AddShape(ShapeDef def, bool persist) {
  SyncedTable* table = FindTable(def.table);
  if (table == nullptr) return Status::NotFound("table " + def.table + " is not declared");
  EL_RETURN_IF_ERROR(ApplyExcludedColumns(table->decl(), &def));
  for (const std::string& c : def.columns) {
    if (table->materialized() && table->ColumnIndex(c) < 0) {
      return Status::InvalidArgument("shape column " + c + " is not a column of " + def.table);
    }
  }
  auto shape = std::make_unique<Shape>(std::move(def), table, env_, options_.backoff);
  shape->RefreshColumns();
  if (persist) EL_RETURN_IF_ERROR(shape->Save(*store_));
  Shape* p = shape.get();
  shapes_.push_back(std::move(shape));
  return p;
}

void Engine::Impl::RemoveShape(const Shape* shape) {
  shapes_.erase(std::remove_if(shapes_.begin(), shapes_.end(),
                               [&](const auto& s) { return s.get() == shape; }),
                shapes_.end());
}

void Engine::Impl::EmitTablesChanged(const ChangeSet& changes) {
  if (changes.empty()) return;
  if (store_->InTransaction()) txn_changes_.Merge(changes);
  Emit(changes.EventJson());
}

void Engine::Impl::EmitTablesChanged(const std::set<std::string>& changed) {
  ChangeSet unknown;
  for (const std::string& t : changed) unknown.AddUnknown(t);
  EmitTablesChanged(unknown);
}

void Engine::Impl::EmitError(const Status& s, const std::string& shape_id) {
  metrics_->OnError();
  std::string ev = "{\"type\":\"error\",\"code\":\"";
  ev += s.code_name();
  ev += "\",\"message\":";
  AppendJsonString(&ev, s.message());
  if (!shape_id.empty()) {
    ev += ",\"shapeId\":";
    AppendJsonString(&ev, shape_id);
  }
  Emit(ev + "}");
  Log("error", s.ToString());
}

void Engine::Impl::Log(const char* level, const std::string& message) {
  if (!options_.debug) return;
  std::string ev = "{\"type\":\"log\",\"level\":\"";
  ev += level;
  ev += "\",\"message\":";
  AppendJsonString(&ev, message);
  Emit(ev + "}");
}

// ---------------------------------------------------------------- Engine

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Open(std::string_view options_json, Env* env) {
  Result<EngineOptions> o = EngineOptions::FromJson(options_json);
  if (!o.ok()) return o.status();
  return Open(o.value(), env);
}

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options, Env* env) {
  auto impl = std::make_unique<Impl>();
  impl->options_ = options;
  impl->last_now_ms_ = options.now_ms;
  if (env == nullptr) {
    impl->owned_env_ = std::make_unique<SeededEnv>(SeedFrom(options));
    env = impl->owned_env_.get();
  }
  impl->env_ = env;
  Result<std::unique_ptr<Store>> store = Store::Open(options.path, options.vfs);
  if (!store.ok()) return store.status();
  impl->store_ = std::move(store).value();
  impl->query_cache_ = std::make_unique<StatementCache>(impl->store_.get());
  if (!options.synchronous.empty()) EL_RETURN_IF_ERROR(impl->store_->ApplyDurability(options.synchronous));
  Result<std::vector<TableDecl>> decls = DeclaredTables(options);
  if (!decls.ok()) return decls.status();
  if (!options.import_snapshot.empty()) {  // Electrolite.open({ import })
    Status imported = ImportSnapshot(*impl->store_, options.import_snapshot, SchemaFingerprint(*decls));
    if (!imported.ok()) return imported.WithContext("import");
    impl->options_.import_snapshot.clear();
  } else if (!options.schema_image.empty()) {  // a new database: pages instead of DDL
    Result<bool> applied = ApplySchemaImage(*impl->store_, options.schema_image, SchemaFingerprint(*decls));
    if (!applied.ok()) return applied.status();
  }
  impl->options_.schema_image.clear();
  Status s = impl->Init(std::move(decls).value());
  if (!s.ok()) return s;
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Status Engine::HandleResponse(int64_t now_ms, int64_t request_id, int status,
                              const Headers& headers, std::string_view body) {
  impl_->Now(now_ms);
  impl_->OnServerAnswered(now_ms);
  if (impl_->uploader_->Owns(request_id)) {
    Status s = impl_->uploader_->HandleResponse(now_ms, request_id, status, headers, body);
    impl_->FlushWrites(true);  // its own transaction dropped what it rolled back
    return s;
  }
  Status s = impl_->OnResponse(now_ms, request_id, status, headers, body);
  impl_->FlushWrites(s.ok());
  return s;
}

Status Engine::HandleResponse(int64_t now_ms, int64_t request_id, int status,
                              std::string_view headers_json, std::string_view body) {
  Json j = Json::parse(headers_json);
  if (j.is_discarded() || !(j.is_object() || j.is_null())) {
    return Status::InvalidArgument("headers must be a JSON object");
  }
  Headers headers;
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      std::string name = it.key();
      for (char& c : name) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      if (it.value().is_string()) headers.emplace_back(name, it.value().get<std::string>());
      else if (!it.value().is_null()) headers.emplace_back(name, it.value().dump());
    }
  }
  return HandleResponse(now_ms, request_id, status, headers, body);
}

void Engine::HandleNetworkError(int64_t now_ms, int64_t request_id, std::string_view message) {
  impl_->Now(now_ms);
  if (impl_->uploader_->Owns(request_id)) {
    impl_->uploader_->HandleNetworkError(now_ms, request_id, message);
    impl_->unreachable_ = true;
    impl_->FlushWrites(true);
    return;
  }
  if (Subset* subset = impl_->SubsetOfRequest(request_id)) {
    impl_->OnSubsetNetworkError(now_ms, subset, std::string(message));
    return;
  }
  for (auto& s : impl_->shapes_) {
    if (s->InFlight(request_id)) {
      impl_->OnNetworkError(now_ms, s.get(), std::string(message));
      return;
    }
  }
}

void Engine::HandleTimeout(int64_t now_ms) {
  impl_->Now(now_ms);
  impl_->timers_.Fire(now_ms);
  impl_->MaybeEmitStatus();
}

void Engine::SyncNow(int64_t now_ms) {
  impl_->Now(now_ms);
  impl_->uploader_->SyncNow();
  for (auto& s : impl_->shapes_) s->RetryNow(now_ms);
  impl_->MaybeEmitStatus();  // a lifted upload stop no longer shows as an auth error
}

void Engine::SetOnline(bool online, int64_t now_ms) {
  impl_->Now(now_ms);
  impl_->online_ = online;
  impl_->uploader_->SetOnline(online, now_ms);
  if (online) {
    // Coming back online retries at once instead of waiting out the backoff.
    for (auto& s : impl_->shapes_) s->RetryNow(now_ms);
  }
  impl_->MaybeEmitStatus();
}

void Engine::SetToken(std::string_view token, int64_t now_ms) {
  impl_->Now(now_ms);
  impl_->token_ = std::string(token);
  impl_->uploader_->SetToken(token);
  for (auto& s : impl_->shapes_) s->TokenChanged();
  impl_->MaybeEmitStatus();
}

std::optional<Request> Engine::PollRequest(int64_t now_ms) {
  impl_->Now(now_ms);
  if (impl_->online_) {
    // Uploads first: local writes are what the user is waiting on.
    Result<std::optional<Request>> up = impl_->uploader_->Poll(now_ms, impl_->next_request_id_);
    if (!up.ok()) {
      impl_->EmitError(up.status(), std::string());
    } else if (up.value()) {
      impl_->next_request_id_++;
      impl_->Log("debug", "POST " + up.value()->url);
      return up.value();
    }
  }
  return impl_->NextRequest(now_ms);
}

std::string Engine::PollRequestJson(int64_t now_ms) {
  std::optional<Request> r = PollRequest(now_ms);
  return r ? r->ToJson() : std::string();
}

std::string Engine::RequestBody(int64_t request_id) {
  const std::string* body = impl_->uploader_->Body(request_id);
  if (body == nullptr) {
    const Subset* subset = impl_->SubsetOfRequest(request_id);
    return subset != nullptr ? subset->body : std::string();
  }
  return *body;
}

int64_t Engine::PollTimeout() const { return impl_->timers_.Next(); }

std::string Engine::PollEvent() {
  if (impl_->events_.empty()) return std::string();
  std::string ev = std::move(impl_->events_.front());
  impl_->events_.pop_front();
  return ev;
}

std::string Engine::Subscribe(std::string_view shape_json, int64_t now_ms) {
  Result<ShapeDef> def = ShapeDef::FromJson(shape_json);
  if (!def.ok()) return def.status().ToJson();
  if (def->id.empty()) def->id = def->DefaultId();
  Shape* existing = impl_->FindShape(def->id);
  if (existing != nullptr) {
    if (existing->def().ToJson() != def->ToJson()) {
      return Status::Conflict("shape id " + def->id + " is already used by another definition").ToJson();
    }
  } else {
    Status held = impl_->RecordSoleFeeder(def->table);
    if (!held.ok()) return held.ToJson();
    std::string id = def->id;
    Result<Shape*> added = impl_->AddShape(std::move(def).value(), /*persist=*/true);
    if (!added.ok()) return added.status().ToJson();
  }
  std::string id_json;
  AppendJsonString(&id_json, existing != nullptr ? existing->def().id : impl_->shapes_.back()->def().id);
  impl_->MaybeEmitStatus();
  return OkWith("shapeId", id_json);
}

std::string Engine::Unsubscribe(std::string_view shape_id) {
  auto& shapes = impl_->shapes_;
  auto it = std::find_if(shapes.begin(), shapes.end(),
                         [&](const auto& s) { return s->def().id == shape_id; });
  if (it == shapes.end()) return Status::NotFound("no shape " + std::string(shape_id)).ToJson();
  Result<Stmt*> del = impl_->store_->Cached("DELETE FROM _el_shapes WHERE id = ?1");
  if (!del.ok()) return del.status().ToJson();
  del.value()->BindText(1, shape_id);
  // One transaction: the shape, its membership and the rows only it held go together.
  Txn txn(impl_->store_.get());
  Status s = txn.Begin();
  if (s.ok()) s = del.value()->Run();
  bool rows_left = false;
  if (s.ok()) s = impl_->ShapeLeaves(it->get(), &rows_left);
  if (s.ok() && txn.active()) s = txn.Commit();
  if (!s.ok()) {
    if (txn.active()) txn.Rollback();
    (*it)->table()->RolledBack();
    return s.ToJson();
  }
  if (rows_left) impl_->EmitTablesChanged(std::set<std::string>{(*it)->def().table});
  shapes.erase(it);  // a late response for its request is ignored
  impl_->MaybeEmitStatus();
  return Status::Ok().ToJson();
}

std::string Engine::StatusJson() const { return impl_->BuildStatusJson(); }

std::string Engine::Query(std::string_view sql, std::string_view params_json) {
  Result<QueryOutcome> q = RunStatement(*impl_->store_, sql, params_json, impl_->query_cache_.get());
  if (!q.ok()) return q.status().ToJson();
  return QueryResultJson(q.value());
}

// Exec and the write API are in engine_write.cc.

Result<std::string> Engine::Export() {
  if (impl_->store_->InTransaction()) {
    return Status::Conflict("cannot export inside a transaction");
  }
  return ExportSnapshot(*impl_->store_, impl_->schema_fingerprint_);
}

std::string Engine::Clear() {
  Impl& m = *impl_;
  m.shapes_.clear();  // nothing is requested any more; late responses are ignored
  m.subsets_.clear();
  m.held_responses_.clear();
  m.store_->ClearCache();
  m.query_cache_->Clear();
  Status s = ClearDatabase(*m.store_);
  if (!s.ok()) return s.ToJson();
  m.MaybeEmitStatus();
  return Status::Ok().ToJson();
}

Store& EngineTestSeams::store(Engine& engine) { return *engine.impl_->store_; }

}  // namespace electrolite
