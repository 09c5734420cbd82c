// Prefetching on the engine (engine_components.h): child shapes subscribed for
// a parent row, released after a grace period with their rows.
#include <algorithm>

#include "engine_components.h"
#include "engine_impl.h"
#include "json.h"

namespace electrolite {

namespace {

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

Result<std::unique_ptr<PrefetchComponent>> PrefetchComponent::Create(Engine::Impl* engine) {
  std::vector<TableDecl> decls;
  for (const auto& kv : engine->tables()) decls.push_back(kv.second->decl());
  EL_ASSIGN_OR_RETURN(std::vector<PrefetchRule> rules, PrefetchRulesFromDecls(decls));
  auto prefetcher = std::make_unique<Prefetcher>(std::move(rules), engine->options().prefetch_grace_ms);
  // Prefetch shapes of an earlier session: released unless acquired again.
  for (const auto& s : engine->shapes()) {
    const ShapeDef& d = s->def();
    if (!IsPrefetchShape(d.id) || d.params.size() != 1) continue;
    for (const PrefetchRule& r : prefetcher->rules()) {
      if (r.child == d.table && d.id == Prefetcher::ShapeId(r.child, r.fk, d.params[0])) {
        prefetcher->Adopt(r.parent, d.params[0], engine->options().now_ms);
      }
    }
  }
  return std::unique_ptr<PrefetchComponent>(new PrefetchComponent(engine, std::move(prefetcher)));
}

std::string PrefetchComponent::Prefetch(std::string_view table, std::string_view key_json) {
  Engine::Impl& m = *engine_;
  std::string parent(table);
  if (m.FindTable(parent) == nullptr) return Status::NotFound("table " + parent + " is not declared").ToJson();
  if (!prefetcher_->HasRules(parent)) {
    return Status::InvalidArgument("table " + parent + " declares no prefetch_children").ToJson();
  }
  Result<std::string> value = KeyValue(key_json);
  if (!value.ok()) return value.status().ToJson();
  std::string ids = "[", covered = "[";
  for (Prefetcher::Child& c : prefetcher_->ChildrenOf(parent, *value)) {
    bool whole = std::any_of(m.shapes().begin(), m.shapes().end(), [&](const auto& s) {
      return s->def().table == c.def.table && s->def().where.empty() && !IsPrefetchShape(s->def().id);
    });
    std::string* list = whole ? &covered : &ids;
    if (list->size() > 1) *list += ',';
    AppendJsonString(list, whole ? c.def.table : c.def.id);
    if (whole || m.FindShape(c.def.id) != nullptr) continue;
    Result<Shape*> added = m.AddShape(c.def, /*persist=*/true);
    if (!added.ok()) return added.status().ToJson();
  }
  prefetcher_->Acquire(parent, *value);
  m.Log("debug", "prefetch: " + parent + " " + *value + " -> " + ids + "]");
  m.MaybeEmitStatus();
  return "{\"ok\":true,\"shapeIds\":" + ids + "],\"covered\":" + covered + "]}";
}

std::string PrefetchComponent::Release(std::string_view table, std::string_view key_json,
                                       int64_t now_ms) {
  Result<std::string> value = KeyValue(key_json);
  if (!value.ok()) return value.status().ToJson();
  return prefetcher_->Release(std::string(table), *value, now_ms).ToJson();
}

void PrefetchComponent::OnTimeout(int64_t now_ms) {
  std::set<std::string> changed;
  for (const auto& parent : prefetcher_->TakeExpired(now_ms)) {
    for (const Prefetcher::Child& c : prefetcher_->ChildrenOf(parent.first, parent.second)) {
      Status s = DropShape(c, &changed);
      if (!s.ok()) engine_->EmitError(s, c.def.id);
    }
  }
  engine_->EmitTablesChanged(changed);
}

Status PrefetchComponent::DropShape(const Prefetcher::Child& c, std::set<std::string>* changed) {
  Engine::Impl& m = *engine_;
  auto it = std::find_if(m.shapes().begin(), m.shapes().end(),
                         [&](const auto& s) { return s->def().id == c.def.id; });
  if (it == m.shapes().end()) return Status::Ok();
  SyncedTable* table = (*it)->table();
  bool covered = std::any_of(m.shapes().begin(), m.shapes().end(), [&](const auto& s) {
    return s->def().table == c.def.table && !IsPrefetchShape(s->def().id);
  });
  Store& store = m.store();
  Txn txn(&store);
  EL_RETURN_IF_ERROR(txn.Begin());
  int64_t dropped = 0;
  if (!covered && table->materialized()) {
    std::string sql = "DELETE FROM " + QuoteIdent(table->synced_name()) + " WHERE " +
                      QuoteIdent(c.fk) + " = ?1";
    EL_ASSIGN_OR_RETURN(bool overlay, store.TableExists(c.def.table + "__overlay"));
    if (overlay) {
      std::string match;
      for (const std::string& k : table->decl().primary_key) {
        if (!match.empty()) match += " AND ";
        match += "o." + QuoteIdent(k) + " = " + QuoteIdent(table->synced_name()) + "." + QuoteIdent(k);
      }
      sql += " AND NOT EXISTS (SELECT 1 FROM " + QuoteIdent(c.def.table + "__overlay") +
             " AS o WHERE " + match + ")";
    }
    EL_ASSIGN_OR_RETURN(Stmt del, store.Prepare(sql));
    del.BindText(1, c.value);
    EL_RETURN_IF_ERROR(del.Run());
    dropped = store.Changes();
  }
  EL_ASSIGN_OR_RETURN(Stmt* rm, store.Cached("DELETE FROM _el_shapes WHERE id = ?1"));
  rm->BindText(1, c.def.id);
  EL_RETURN_IF_ERROR(rm->Run());
  EL_RETURN_IF_ERROR(txn.Commit());
  m.RemoveShape(it->get());
  if (dropped > 0) changed->insert(c.def.table);
  rows_dropped_ += dropped;
  m.Log("info", "prefetch: released " + c.def.id + ", dropped " + std::to_string(dropped) + " rows");
  m.MaybeEmitStatus();
  return Status::Ok();
}

void PrefetchComponent::AppendMetrics(std::string* out) const {
  *out += ",\"prefetch\":{\"active\":" + std::to_string(prefetcher_->active()) +
          ",\"acquired\":" + std::to_string(prefetcher_->acquired_total()) +
          ",\"released\":" + std::to_string(prefetcher_->released_total()) +
          ",\"rowsDropped\":" + std::to_string(rows_dropped_) + "}";
}

// ---------------------------------------------------------------- Engine

std::string Engine::Prefetch(std::string_view table, std::string_view key_json, int64_t now_ms) {
  return impl_->prefetch_->Prefetch(table, key_json);
}

std::string Engine::Release(std::string_view table, std::string_view key_json, int64_t now_ms) {
  return impl_->prefetch_->Release(table, key_json, now_ms);
}

}  // namespace electrolite
