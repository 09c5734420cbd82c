// The engine's retention, prefetching, snapshot, sign-out, security and
// metrics glue. The logic lives in retention.h, prefetch.h and
// snapshot_export.h; this file wires it to the engine's timer, shapes and
// events.
#include <algorithm>
#include <set>

#include "engine_impl.h"
#include "json.h"
#include "reserved_names.h"
#include "response_applier.h"
#include "snapshot_export.h"
#include "table_decl.h"

namespace electrolite {

namespace {

constexpr int64_t kSyncWindowMs = 60000;

bool IsPrefetchShape(const std::string& id) { return id.find(kPrefetchIdMarker) != std::string::npos; }

// A key argument: a JSON string or number, or an object with one field.
Result<std::string> KeyValue(std::string_view key_json) {
  Json j = Json::parse(key_json);
  if (j.is_discarded()) j = Json(std::string(key_json));  // a bare id
  if (j.is_object() && j.size() == 1) j = j.begin().value();
  if (j.is_string() && !j.get<std::string>().empty()) return j.get<std::string>();
  if (j.is_number_integer()) return std::to_string(j.get<int64_t>());
  return Status::InvalidArgument("key: expected the parent row's primary key (a string or integer)");
}

}  // namespace

Result<std::vector<TableDecl>> DeclaredTables(const EngineOptions& options) {
  std::vector<TableDecl> decls;
  if (!options.schema_sql.empty()) {
    Result<std::vector<TableDecl>> parsed = ParseCreateTables(options.schema_sql);
    if (!parsed.ok()) return parsed.status();
    decls = std::move(parsed).value();
  }
  EL_RETURN_IF_ERROR(ApplyPoliciesJson(options.policies_json, &decls));
  EL_RETURN_IF_ERROR(ApplyTablesJson(options.tables_json, &decls));
  for (const TableDecl& d : decls) EL_RETURN_IF_ERROR(CheckDeclaration(d));
  return decls;
}

Result<uint64_t> DeclaredFingerprint(const EngineOptions& options) {
  EL_ASSIGN_OR_RETURN(std::vector<TableDecl> decls, DeclaredTables(options));
  return SchemaFingerprint(decls);
}

Status ApplyExcludedColumns(const TableDecl& decl, ShapeDef* def) {
  Json p = Json::parse(decl.policy_json);
  if (p.is_discarded() || !p.is_object()) return Status::Ok();
  auto ex = p.find("exclude");
  if (ex == p.end() || ex->is_null()) return Status::Ok();
  std::string where = "policies." + decl.name + ".exclude";
  if (!ex->is_array()) return Status::InvalidArgument(where + " must be a list of column names");
  std::set<std::string> excluded;
  for (const Json& c : *ex) {
    if (!c.is_string()) return Status::InvalidArgument(where + " must be a list of column names");
    std::string name = c.get<std::string>();
    const ColumnDecl* col = decl.FindColumn(name);
    if (col != nullptr && col->pk_index >= 0) {
      return Status::InvalidArgument(where + ": primary key column " + name + " cannot be excluded");
    }
    excluded.insert(name);
  }
  if (excluded.empty()) return Status::Ok();
  for (const std::string& c : def->columns) {
    if (excluded.count(c) > 0) {
      return Status::InvalidArgument("column " + c + " of " + decl.name + " is excluded from sync");
    }
  }
  if (def->columns.empty()) {
    for (const ColumnDecl& c : decl.columns) {
      if (excluded.count(c.name) == 0) def->columns.push_back(c.name);
    }
  }
  return Status::Ok();
}

Status Engine::Impl::InitExtras() {
  opened_ms = options.now_ms;
  std::vector<TableDecl> decls;
  for (const auto& kv : tables) decls.push_back(kv.second->decl());
  EL_ASSIGN_OR_RETURN(std::vector<RetentionRule> rules, RetentionRulesFromDecls(decls));
  RetentionOptions ro;
  ro.interval_ms = options.retention_interval_ms;
  ro.batch_size = options.retention_batch;
  retention = std::make_unique<Retention>(store.get(), std::move(rules), ro);
  EL_RETURN_IF_ERROR(retention->Init(options.now_ms));
  RefreshRetentionTables();
  EL_ASSIGN_OR_RETURN(std::vector<PrefetchRule> prules, PrefetchRulesFromDecls(decls));
  prefetcher = std::make_unique<Prefetcher>(std::move(prules), options.prefetch_grace_ms);
  // Prefetch shapes of an earlier session: released unless acquired again.
  for (const auto& s : shapes) {
    const ShapeDef& d = s->def();
    if (!IsPrefetchShape(d.id) || d.params.size() != 1) continue;
    for (const PrefetchRule& r : prefetcher->rules()) {
      if (r.child == d.table && d.id == Prefetcher::ShapeId(r.child, r.fk, d.params[0])) {
        prefetcher->Adopt(r.parent, d.params[0], options.now_ms);
      }
    }
  }
  return Status::Ok();
}

void Engine::Impl::RefreshRetentionTables() {
  if (retention == nullptr || retention->empty()) return;
  // Only a table that became materialized (columns learnt from the server) is new here.
  size_t materialized = 0;
  for (const auto& kv : tables) materialized += kv.second->materialized() ? 1 : 0;
  if (materialized == retention_tables_seen) return;
  retention_tables_seen = materialized;
  for (const auto& kv : tables) {
    const SyncedTable& t = *kv.second;
    if (!t.materialized()) continue;
    Json p = Json::parse(t.decl().policy_json);
    std::string column;
    if (p.is_object()) {
      auto r = p.find("retention");
      column = r != p.end() ? JsonStr(*r, "column") : std::string();
      if (column.empty()) column = JsonStr(p, "expires_column");
    }
    if (column.empty()) continue;
    const ColumnDecl* c = t.decl().FindColumn(column);
    if (c == nullptr) continue;
    bool integer = c->cls == TypeClass::kInteger;
    retention->SetTableInfo(kv.first, t.decl().primary_key, integer);
  }
}

void Engine::Impl::ExtrasOnApplied(Shape* shape, int64_t now_ms, int64_t ms,
                                   const ResponseApplier& applier) {
  if (connected_since_ms < 0) connected_since_ms = now_ms;
  syncs_total++;
  sync_times.push_back(now_ms);
  while (!sync_times.empty() && sync_times.front() <= now_ms - kSyncWindowMs) sync_times.pop_front();
  last_sync_duration_ms = ms;
  last_sync_at_ms = now_ms;
  if (applier.rows() > 0 && retention != nullptr) {
    RefreshRetentionTables();
    retention->NoteApplied(shape->def().table, now_ms);
  }
  if (applier.foreign_rows() > 0) {
    foreign_rows_dropped += applier.foreign_rows();
    foreign_by_table[shape->def().table] += applier.foreign_rows();
    std::string ev = "{\"type\":\"security\",\"table\":";
    AppendJsonString(&ev, shape->def().table);
    ev += ",\"shapeId\":";
    AppendJsonString(&ev, shape->def().id);
    ev += ",\"dropped\":" + std::to_string(applier.foreign_rows()) +
          ",\"reason\":\"rows whose " + options.user_column + " is not the signed-in user\"}";
    Emit(std::move(ev));
    Log("warn", "shape " + shape->def().id + ": dropped " + std::to_string(applier.foreign_rows()) +
                    " rows of another user");
  }
}

void Engine::Impl::ExtrasOnDisconnected() { connected_since_ms = -1; }

void Engine::Impl::RetentionOnTimeout(int64_t now_ms) {
  if (retention == nullptr || retention->NextDeadline() < 0 || now_ms < retention->NextDeadline()) {
    return;
  }
  std::set<std::string> changed;
  RefreshRetentionTables();
  int64_t before = retention->rows_pruned();
  Status s = retention->Run(now_ms, &changed);
  if (!s.ok()) EmitError(s, std::string());
  if (retention->rows_pruned() > before) {
    Log("info", "retention: pruned " + std::to_string(retention->rows_pruned() - before) +
                    " rows locally");
  }
  EmitTablesChanged(changed);
}

void Engine::Impl::PrefetchOnTimeout(int64_t now_ms) {
  if (prefetcher == nullptr) return;
  std::set<std::string> changed;
  for (const auto& parent : prefetcher->TakeExpired(now_ms)) {
    for (const Prefetcher::Child& c : prefetcher->ChildrenOf(parent.first, parent.second)) {
      Status s = DropPrefetchShape(c, &changed);
      if (!s.ok()) EmitError(s, c.def.id);
    }
  }
  EmitTablesChanged(changed);
}

// Unsubscribes a released child shape and drops its rows unless another
// (non-prefetch) shape syncs the child table, or a local write holds them.
Status Engine::Impl::DropPrefetchShape(const Prefetcher::Child& c, std::set<std::string>* changed) {
  auto it = std::find_if(shapes.begin(), shapes.end(),
                         [&](const auto& s) { return s->def().id == c.def.id; });
  if (it == shapes.end()) return Status::Ok();
  SyncedTable* table = (*it)->table();
  bool covered = std::any_of(shapes.begin(), shapes.end(), [&](const auto& s) {
    return s->def().table == c.def.table && !IsPrefetchShape(s->def().id);
  });
  Txn txn(store.get());
  EL_RETURN_IF_ERROR(txn.Begin());
  int64_t dropped = 0;
  if (!covered && table->materialized()) {
    std::string sql = "DELETE FROM " + QuoteIdent(table->synced_name()) + " WHERE " +
                      QuoteIdent(c.fk) + " = ?1";
    EL_ASSIGN_OR_RETURN(bool overlay, store->TableExists(c.def.table + "__overlay"));
    if (overlay) {
      std::string match;
      for (const std::string& k : table->decl().primary_key) {
        if (!match.empty()) match += " AND ";
        match += "o." + QuoteIdent(k) + " = " + QuoteIdent(table->synced_name()) + "." + QuoteIdent(k);
      }
      sql += " AND NOT EXISTS (SELECT 1 FROM " + QuoteIdent(c.def.table + "__overlay") +
             " AS o WHERE " + match + ")";
    }
    EL_ASSIGN_OR_RETURN(Stmt del, store->Prepare(sql));
    del.BindText(1, c.value);
    EL_RETURN_IF_ERROR(del.Run());
    dropped = store->Changes();
  }
  EL_ASSIGN_OR_RETURN(Stmt* rm, store->Cached("DELETE FROM _el_shapes WHERE id = ?1"));
  rm->BindText(1, c.def.id);
  EL_RETURN_IF_ERROR(rm->Run());
  EL_RETURN_IF_ERROR(txn.Commit());
  shapes.erase(it);
  if (dropped > 0) changed->insert(c.def.table);
  prefetch_rows_dropped += dropped;
  Log("info", "prefetch: released " + c.def.id + ", dropped " + std::to_string(dropped) + " rows");
  MaybeEmitStatus();
  return Status::Ok();
}

std::string Engine::Impl::ExtrasMetricsJson(int64_t now_ms) const {
  std::string out;
  auto field = [&](const char* name, int64_t v) {
    out += ",\"";
    out += name;
    out += "\":" + std::to_string(v);
  };
  int64_t recent = 0;
  for (int64_t t : sync_times) recent += t > now_ms - kSyncWindowMs ? 1 : 0;
  int64_t pending = 0;
  if (writes != nullptr) {
    Result<int64_t> n = writes->PendingCount();
    if (n.ok()) pending = n.value();
  }
  field("pendingChanges", pending);
  field("uptimeMs", now_ms - opened_ms);
  field("connectionUptimeMs", connected_since_ms >= 0 ? now_ms - connected_since_ms : 0);
  field("syncs", syncs_total);
  field("syncsPerMinute", recent);
  field("lastSyncDurationMs", last_sync_duration_ms);
  out += ",\"lastSyncAt\":" + (last_sync_at_ms >= 0 ? std::to_string(last_sync_at_ms) : "null");
  if (retention != nullptr) {
    out += ",\"retention\":{\"rowsPruned\":" + std::to_string(retention->rows_pruned()) +
           ",\"runs\":" + std::to_string(retention->runs()) + ",\"byTable\":{";
    bool first = true;
    for (const auto& kv : retention->pruned_by_table()) {
      if (!first) out += ',';
      first = false;
      AppendJsonString(&out, kv.first);
      out += ":" + std::to_string(kv.second);
    }
    out += "}}";
  }
  if (prefetcher != nullptr) {
    out += ",\"prefetch\":{\"active\":" + std::to_string(prefetcher->active()) +
           ",\"acquired\":" + std::to_string(prefetcher->acquired_total()) +
           ",\"released\":" + std::to_string(prefetcher->released_total()) +
           ",\"rowsDropped\":" + std::to_string(prefetch_rows_dropped) + "}";
  }
  out += ",\"security\":{\"foreignRowsDropped\":" + std::to_string(foreign_rows_dropped) +
         ",\"byTable\":{";
  bool first = true;
  for (const auto& kv : foreign_by_table) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(&out, kv.first);
    out += ":" + std::to_string(kv.second);
  }
  return out + "}}";
}

// ---------------------------------------------------------------- Engine

std::string Engine::Prefetch(std::string_view table, std::string_view key_json, int64_t now_ms) {
  Impl& m = *impl_;
  std::string parent(table);
  if (m.FindTable(parent) == nullptr) return Status::NotFound("table " + parent + " is not declared").ToJson();
  if (m.prefetcher == nullptr || !m.prefetcher->HasRules(parent)) {
    return Status::InvalidArgument("table " + parent + " declares no prefetch_children").ToJson();
  }
  Result<std::string> value = KeyValue(key_json);
  if (!value.ok()) return value.status().ToJson();
  std::string ids = "[", covered = "[";
  for (Prefetcher::Child& c : m.prefetcher->ChildrenOf(parent, *value)) {
    bool whole = std::any_of(m.shapes.begin(), m.shapes.end(), [&](const auto& s) {
      return s->def().table == c.def.table && s->def().where.empty() && !IsPrefetchShape(s->def().id);
    });
    std::string* list = whole ? &covered : &ids;
    if (list->size() > 1) *list += ',';
    AppendJsonString(list, whole ? c.def.table : c.def.id);
    if (whole || m.FindShape(c.def.id) != nullptr) continue;
    Result<Shape*> added = m.AddShape(c.def, /*persist=*/true);
    if (!added.ok()) return added.status().ToJson();
  }
  m.prefetcher->Acquire(parent, *value);
  m.Log("debug", "prefetch: " + parent + " " + *value + " -> " + ids + "]");
  m.MaybeEmitStatus();
  return "{\"ok\":true,\"shapeIds\":" + ids + "],\"covered\":" + covered + "]}";
}

std::string Engine::Release(std::string_view table, std::string_view key_json, int64_t now_ms) {
  Impl& m = *impl_;
  Result<std::string> value = KeyValue(key_json);
  if (!value.ok()) return value.status().ToJson();
  if (m.prefetcher == nullptr) return Status::NotFound("nothing is prefetched").ToJson();
  return m.prefetcher->Release(std::string(table), *value, now_ms).ToJson();
}

Result<std::string> Engine::Export() {
  if (impl_->store->InTransaction()) {
    return Status::Conflict("cannot export inside a transaction");
  }
  return ExportSnapshot(*impl_->store, impl_->schema_fingerprint);
}

std::string Engine::Clear() {
  Impl& m = *impl_;
  m.shapes.clear();  // nothing is requested any more; late responses are ignored
  m.store->ClearCache();
  m.query_cache->Clear();
  std::vector<std::pair<std::string, std::string>> objects;
  {
    Result<Stmt> stmt = m.store->Prepare(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE "
        "'sqlite\\_%' ESCAPE '\\'");
    if (!stmt.ok()) return stmt.status().ToJson();
    for (;;) {
      Result<bool> row = stmt->Step();
      if (!row.ok()) return row.status().ToJson();
      if (!row.value()) break;
      objects.emplace_back(std::string(stmt->ColumnText(0)), std::string(stmt->ColumnText(1)));
    }
  }
  for (const auto& o : objects) {
    Status s = m.store->Exec("DROP " + std::string(o.first == "view" ? "VIEW" : "TABLE") +
                             " IF EXISTS " + QuoteIdent(o.second));
    if (!s.ok()) return s.ToJson();
  }
  Status s = m.store->Exec("VACUUM");
  if (!s.ok()) return s.ToJson();
  m.cleared = true;
  m.MaybeEmitStatus();
  return Status::Ok().ToJson();
}

}  // namespace electrolite
