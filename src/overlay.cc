#include "overlay.h"

#include <sqlite3.h>

#include "outbox.h"
#include "store.h"

namespace electrolite {

namespace {

using json = Json;

std::string PkWhere(const WriteTable& t, int first_param) {
  std::string w;
  int i = first_param;
  for (const std::string& k : t.primary_key) {
    if (!w.empty()) w += " AND ";
    w += QuoteIdent(k) + " = ?" + std::to_string(i++);
  }
  return w;
}

void BindKey(const WriteTable& t, Stmt* st, const json& key, int first_param) {
  int i = first_param;
  for (const std::string& k : t.primary_key) {
    auto it = key.find(k);
    BindJson(st, i++, it == key.end() ? json() : *it);
  }
}

}  // namespace

void BindJson(Stmt* st, int index, const json& v) {
  if (v.is_null()) {
    st->BindNull(index);
  } else if (v.is_boolean()) {
    st->BindInt64(index, v.get<bool>() ? 1 : 0);
  } else if (v.is_number_integer()) {
    st->BindInt64(index, v.get<int64_t>());
  } else if (v.is_number()) {
    st->BindDouble(index, v.get<double>());
  } else if (v.is_string()) {
    st->BindText(index, v.get_ref<const std::string&>());
  } else {
    st->BindText(index, Dump(v));
  }
}

json ColumnJson(const Stmt& st, int col) {
  switch (st.ColumnType(col)) {
    case SQLITE_NULL: return json();
    case SQLITE_INTEGER: return json(st.ColumnInt64(col));
    case SQLITE_FLOAT: return json(st.ColumnDouble(col));
    default: return json(std::string(st.ColumnText(col)));
  }
}

Result<std::optional<json>> Overlay::ReadRow(const WriteTable& t, const std::string& relation,
                                             const json& key) {
  std::string cols;
  for (const WriteColumn& c : t.columns) {
    if (!cols.empty()) cols += ", ";
    cols += QuoteIdent(c.name);
  }
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached("SELECT " + cols + " FROM " +
                                                QuoteIdent(relation) + " WHERE " +
                                                PkWhere(t, 1) + " LIMIT 1"));
  BindKey(t, st, key, 1);
  Result<bool> r = st->Step();
  if (!r.ok() || !r.value()) {
    st->Reset();
    if (!r.ok()) return r.status();
    return std::optional<json>();
  }
  json row = json::object();
  for (size_t i = 0; i < t.columns.size(); ++i) row[t.columns[i].name] = ColumnJson(*st, i);
  st->Reset();
  return std::optional<json>(std::move(row));
}

Result<std::optional<json>> Overlay::ReadMerged(const WriteTable& t, const json& key) {
  return ReadRow(t, t.name, key);
}

Result<std::optional<json>> Overlay::ReadSynced(const WriteTable& t, const json& key) {
  return ReadRow(t, t.SyncedName(), key);
}

Result<std::optional<OverlayRow>> Overlay::Read(const WriteTable& t, const json& key) {
  std::string cols = "\"_el_op\", \"_el_write_id\", \"_el_yield\"";
  for (const WriteColumn& c : t.columns) {
    cols += ", " + QuoteIdent(c.name) + ", " + QuoteIdent("_el_c_" + c.name);
  }
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached("SELECT " + cols + " FROM " +
                                                QuoteIdent(t.OverlayName()) + " WHERE " +
                                                PkWhere(t, 1)));
  BindKey(t, st, key, 1);
  Result<bool> r = st->Step();
  if (!r.ok() || !r.value()) {
    st->Reset();
    if (!r.ok()) return r.status();
    return std::optional<OverlayRow>();
  }
  OverlayRow o;
  o.op = std::string(st->ColumnText(0));
  o.write_id = std::string(st->ColumnText(1));
  o.yield = st->ColumnInt64(2) != 0;
  o.values = json::object();
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (st->ColumnInt64(4 + 2 * i) != 0) o.values[t.columns[i].name] = ColumnJson(*st, 3 + 2 * i);
  }
  st->Reset();
  return std::optional<OverlayRow>(std::move(o));
}

Status Overlay::Rebuild(const WriteTable& t, const json& key, bool local_write) {
  EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> entries, outbox_->ForKey(t.name, key));
  if (entries.empty()) {
    EL_ASSIGN_OR_RETURN(Stmt * del, store_->Cached("DELETE FROM " +
                                                   QuoteIdent(t.OverlayName()) + " WHERE " +
                                                   PkWhere(t, 1)));
    BindKey(t, del, key, 1);
    Status s = del->Run();
    del->Reset();
    return s;
  }
  bool yield = false;
  if (!local_write) {
    EL_ASSIGN_OR_RETURN(std::optional<OverlayRow> old, Read(t, key));
    yield = old && old->yield;
  }
  // Fold the row's mutations in outbox order.
  std::string op;
  json values = json::object();
  for (const OutboxEntry& e : entries) {
    if (e.op == "insert") {
      op = "insert";
      values = e.value;
    } else if (e.op == "update") {
      if (op.empty()) op = "update";
      if (op == "delete") continue;  // an update cannot follow a local delete
      for (auto it = e.value.begin(); it != e.value.end(); ++it) values[it.key()] = it.value();
    } else {
      op = "delete";
    }
  }
  for (auto it = key.begin(); it != key.end(); ++it) values[it.key()] = it.value();
  // The synced row this overlay row was last reconciled with.
  EL_ASSIGN_OR_RETURN(std::optional<json> synced, ReadSynced(t, key));
  const std::string seen = synced ? Dump(*synced) : "null";
  std::string cols, params;
  int n = 0;
  for (const WriteColumn& c : t.columns) {
    cols += QuoteIdent(c.name) + ", " + QuoteIdent("_el_c_" + c.name) + ", ";
    params += "?" + std::to_string(n + 1) + ", ?" + std::to_string(n + 2) + ", ";
    n += 2;
  }
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "INSERT OR REPLACE INTO " + QuoteIdent(t.OverlayName()) + " (" + cols +
      "\"_el_op\", \"_el_write_id\", \"_el_yield\", \"_el_seen\") VALUES (" + params + "?" +
      std::to_string(n + 1) + ", ?" + std::to_string(n + 2) + ", ?" + std::to_string(n + 3) +
      ", ?" + std::to_string(n + 4) + ")"));
  int i = 0;
  for (const WriteColumn& c : t.columns) {
    auto it = values.find(c.name);
    const bool changed = it != values.end() && !t.IsPrimaryKey(c.name);
    BindJson(st, ++i, it == values.end() ? json() : *it);
    st->BindInt64(++i, changed || (op == "insert" && it != values.end()) ? 1 : 0);
  }
  st->BindText(++i, op);
  st->BindText(++i, entries.back().id);
  st->BindInt64(++i, yield ? 1 : 0);
  st->BindText(++i, seen);
  Status s = st->Run();
  st->Reset();
  return s;
}

Result<std::vector<json>> Overlay::TakeDirty(const WriteTable& t) {
  std::string cols;
  for (const std::string& k : t.primary_key) {
    if (!cols.empty()) cols += ", ";
    cols += QuoteIdent(k);
  }
  // Overlay rows are the app's pending edits: few, so each is compared with
  // its synced row instead of tracking every synced write.
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached("SELECT " + cols + ", \"_el_seen\" FROM " +
                                                QuoteIdent(t.OverlayName())));
  std::vector<std::pair<json, std::string>> rows;
  for (;;) {
    Result<bool> r = st->Step();
    if (!r.ok()) {
      st->Reset();
      return r.status();
    }
    if (!r.value()) break;
    json key = json::object();
    for (size_t i = 0; i < t.primary_key.size(); ++i) key[t.primary_key[i]] = ColumnJson(*st, i);
    const size_t seen_col = t.primary_key.size();
    rows.emplace_back(std::move(key),
                      st->ColumnIsNull(seen_col) ? "" : std::string(st->ColumnText(seen_col)));
  }
  st->Reset();
  std::vector<json> dirty;
  for (auto& [key, seen] : rows) {
    EL_ASSIGN_OR_RETURN(std::optional<json> synced, ReadSynced(t, key));
    const std::string now = synced ? Dump(*synced) : "null";
    if (now == seen) continue;
    EL_ASSIGN_OR_RETURN(Stmt * up, store_->Cached("UPDATE " + QuoteIdent(t.OverlayName()) +
                                                  " SET \"_el_seen\" = ?1 WHERE " +
                                                  PkWhere(t, 2)));
    up->BindText(1, now);
    BindKey(t, up, key, 2);
    Status s = up->Run();
    up->Reset();
    EL_RETURN_IF_ERROR(s);
    dirty.push_back(std::move(key));
  }
  return dirty;
}

Status Overlay::SetYield(const WriteTable& t, const json& key, bool yield) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached("UPDATE " + QuoteIdent(t.OverlayName()) +
                                                " SET \"_el_yield\" = ?1 WHERE " +
                                                PkWhere(t, 2)));
  st->BindInt64(1, yield ? 1 : 0);
  BindKey(t, st, key, 2);
  Status s = st->Run();
  st->Reset();
  return s;
}

}  // namespace electrolite
