#include "overlay.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>

#include "outbox.h"
#include "reserved_names.h"
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

// BindJson, but text is not copied: `v` must outlive the statement's run
// (Stmt::Reset clears the binding).
void BindJsonInPlace(Stmt* st, int index, const json& v) {
  if (v.is_string()) {
    st->BindText(index, v.get_ref<const std::string&>(), /*transient=*/false);
  } else {
    BindJson(st, index, v);
  }
}

// REQUIRES: `key` outlives the statement's run.
void BindKey(const WriteTable& t, Stmt* st, const json& key, int first_param) {
  int i = first_param;
  for (const std::string& k : t.primary_key) {
    auto it = key.find(k);
    if (it == key.end()) {
      st->BindNull(i++);
    } else {
      BindJsonInPlace(st, i++, *it);
    }
  }
}

// Folds one outbox entry onto (op, values), in outbox order.
void FoldEntry(const OutboxEntry& e, std::string* op, json* values) {
  if (e.op == "insert") {
    *op = "insert";
    *values = e.value;
  } else if (e.op == "update") {
    if (op->empty()) *op = "update";
    if (*op == "delete") return;  // an update cannot follow a local delete
    for (auto it = e.value.begin(); it != e.value.end(); ++it) (*values)[it.key()] = it.value();
  } else {
    *op = "delete";
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

const Overlay::TableSql& Overlay::Sql(const WriteTable& t) {
  if (last_sql_ != nullptr && last_sql_->table == &t) return *last_sql_;
  auto it = sql_.find(t.name);
  if (it != sql_.end()) {
    TableSql& c = it->second;
    bool same = c.primary_key == t.primary_key && c.columns.size() == t.columns.size();
    for (size_t i = 0; same && i < t.columns.size(); ++i) same = c.columns[i] == t.columns[i].name;
    if (same) {
      c.table = &t;
      last_sql_ = &c;
      return c;
    }
    sql_.erase(it);
  }
  TableSql q;
  q.primary_key = t.primary_key;
  std::string cols, overlay_cols, upsert_cols, params;
  int n = 0;
  for (const WriteColumn& c : t.columns) {
    q.columns.push_back(c.name);
    if (!cols.empty()) cols += ", ";
    cols += QuoteIdent(c.name);
    overlay_cols += ", " + QuoteIdent(c.name) + ", " + QuoteIdent(OverlayChangedColumn(c.name));
    upsert_cols += QuoteIdent(c.name) + ", " + QuoteIdent(OverlayChangedColumn(c.name)) + ", ";
    params += "?" + std::to_string(n + 1) + ", ?" + std::to_string(n + 2) + ", ";
    n += 2;
  }
  for (size_t i = 0; i < t.columns.size(); ++i) q.by_name.push_back(i);
  std::sort(q.by_name.begin(), q.by_name.end(),
            [&](size_t a, size_t b) { return t.columns[a].name < t.columns[b].name; });
  q.empty_row = json::object();
  for (size_t i : q.by_name) q.empty_row[t.columns[i].name] = json();
  q.pk_where = PkWhere(t, 1);
  const std::string overlay = QuoteIdent(t.OverlayName());
  q.select_merged = "SELECT " + cols + " FROM " + QuoteIdent(t.name) + " WHERE " + q.pk_where +
                    " LIMIT 1";
  q.select_synced = "SELECT " + cols + " FROM " + QuoteIdent(t.SyncedName()) + " WHERE " +
                    q.pk_where + " LIMIT 1";
  q.select_overlay = "SELECT \"_el_op\", \"_el_write_id\", \"_el_yield\"" + overlay_cols +
                     " FROM " + overlay + " WHERE " + q.pk_where;
  q.upsert = "INSERT OR REPLACE INTO " + overlay + " (" + upsert_cols +
             "\"_el_op\", \"_el_write_id\", \"_el_yield\", \"_el_seen\") VALUES (" + params +
             "?" + std::to_string(n + 1) + ", ?" + std::to_string(n + 2) + ", ?" +
             std::to_string(n + 3) + ", ?" + std::to_string(n + 4) + ")";
  q.remove = "DELETE FROM " + overlay + " WHERE " + q.pk_where;
  q.table = &t;
  last_sql_ = &sql_.insert_or_assign(t.name, std::move(q)).first->second;
  return *last_sql_;
}

void Overlay::ForgetTable(std::string_view name) {
  last_sql_ = nullptr;
  auto it = sql_.find(name);
  if (it != sql_.end()) sql_.erase(it);
}

Result<std::optional<json>> Overlay::ReadRow(const WriteTable& t, const std::string& select,
                                             const json& key) {
  const TableSql& sql = Sql(t);
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(select));
  BindKey(t, st, key, 1);
  Result<bool> r = st->Step();
  if (!r.ok() || !r.value()) {
    st->Reset();
    if (!r.ok()) return r.status();
    return std::optional<json>();
  }
  json row = sql.empty_row;  // one copy, then no member is inserted
  for (size_t i : sql.by_name) row[t.columns[i].name] = ColumnJson(*st, static_cast<int>(i));
  st->Reset();
  return std::optional<json>(std::move(row));
}

Result<std::optional<json>> Overlay::ReadMerged(const WriteTable& t, const json& key) {
  return ReadRow(t, Sql(t).select_merged, key);
}

Result<std::optional<json>> Overlay::ReadSynced(const WriteTable& t, const json& key) {
  return ReadRow(t, Sql(t).select_synced, key);
}

Result<std::optional<OverlayRow>> Overlay::Read(const WriteTable& t, const json& key) {
  const TableSql& sql = Sql(t);
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(sql.select_overlay));
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
  size_t flagged = 0;
  for (size_t i = 0; i < t.columns.size(); ++i) flagged += st->ColumnInt64(4 + 2 * i) != 0;
  // Every column flagged (a local insert): fill a copy of the empty row.
  o.values = flagged == t.columns.size() ? sql.empty_row : json::object();
  for (size_t i : sql.by_name) {
    if (st->ColumnInt64(4 + 2 * i) != 0) o.values[t.columns[i].name] = ColumnJson(*st, 3 + 2 * i);
  }
  st->Reset();
  return std::optional<OverlayRow>(std::move(o));
}

std::optional<json> RowState::Merged(const WriteTable& t) const {
  if (synced) {
    // The synced row, unless a local delete hides it; flagged columns from
    // the overlay unless it yields (the primary key is always the synced one).
    if (overlay && !overlay->yield && overlay->op == "delete") return std::nullopt;
    json row = *synced;
    if (overlay && !overlay->yield) {
      for (auto it = overlay->values.begin(); it != overlay->values.end(); ++it) {
        if (!t.IsPrimaryKey(it.key())) row[it.key()] = it.value();
      }
    }
    return row;
  }
  // A local insert without a synced row: the overlay row as it is. Its
  // unflagged columns are null (Write binds null to every column it does
  // not flag in an insert; ALTER TABLE ADD COLUMN adds null, flag 0).
  if (!overlay || overlay->op != "insert") return std::nullopt;
  json row = overlay->values;
  for (const WriteColumn& c : t.columns) {
    if (row.find(c.name) == row.end()) row[c.name] = json();
  }
  return row;
}

Result<RowState> Overlay::Load(const WriteTable& t, const json& key) {
  RowState state;
  EL_ASSIGN_OR_RETURN(state.synced, ReadSynced(t, key));
  EL_ASSIGN_OR_RETURN(state.overlay, Read(t, key));
  return state;
}

Result<bool> Overlay::CanFold(const WriteTable& t, std::string_view key_text,
                              const RowState& state) {
  // The overlay row names the newest entry it folded; none without entries.
  EL_ASSIGN_OR_RETURN(std::optional<std::string> last, outbox_->LastIdForKey(t.name, key_text));
  if (!state.overlay) return !last.has_value();
  return last.has_value() && *last == state.overlay->write_id;
}

namespace {

// Whether `v` reads back from the outbox's JSON text as itself (Rebuild
// folds what the outbox holds): not so for non-finite doubles (null) and
// invalid UTF-8 (replaced).
bool RoundTrips(const json& v) {
  if (v.is_number_float()) return std::isfinite(v.get<double>());
  if (!v.is_string()) return true;
  for (char c : v.get_ref<const std::string&>()) {
    if (static_cast<unsigned char>(c) >= 0x80) return json::parse(Dump(v)) == v;
  }
  return true;
}

}  // namespace

Status Overlay::FoldLocal(const WriteTable& t, RowState state, const OutboxEntry& e,
                          bool can_fold) {
  for (auto it = e.value.begin(); can_fold && it != e.value.end(); ++it) {
    can_fold = RoundTrips(it.value());
  }
  if (!can_fold) return Rebuild(t, e.key, /*local_write=*/true);
  // The fold so far, as Rebuild left it: op and the flagged values.
  std::string op = state.overlay ? state.overlay->op : std::string();
  json values = state.overlay ? std::move(state.overlay->values) : json::object();
  FoldEntry(e, &op, &values);
  for (auto it = e.key.begin(); it != e.key.end(); ++it) values[it.key()] = it.value();
  return Write(t, op, values, e.id, /*yield=*/false, state.synced);
}

Status Overlay::Rebuild(const WriteTable& t, const json& key, bool local_write) {
  EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> entries, outbox_->ForKey(t.name, key));
  if (entries.empty()) {
    EL_ASSIGN_OR_RETURN(Stmt * del, store_->Cached(Sql(t).remove));
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
  for (const OutboxEntry& e : entries) FoldEntry(e, &op, &values);
  for (auto it = key.begin(); it != key.end(); ++it) values[it.key()] = it.value();
  // The synced row this overlay row was last reconciled with.
  EL_ASSIGN_OR_RETURN(std::optional<json> synced, ReadSynced(t, key));
  return Write(t, op, values, entries.back().id, yield, synced);
}

Status Overlay::Write(const WriteTable& t, const std::string& op,
                      const json& values, const std::string& write_id, bool yield,
                      const std::optional<json>& synced) {
  const TableSql& sql = Sql(t);
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(sql.upsert));
  const bool insert = op == "insert";
  // Columns in name order against `values` (kept in name order): one pass.
  auto it = values.begin();
  for (size_t c : sql.by_name) {
    const std::string& name = t.columns[c].name;
    while (it != values.end() && std::string_view(it.key()) < name) ++it;
    const bool present = it != values.end() && it.key() == name;
    const int param = static_cast<int>(2 * c + 1);
    if (present) {
      BindJsonInPlace(st, param, it.value());
    } else {
      st->BindNull(param);
    }
    const bool changed = present && !t.IsPrimaryKey(name);
    st->BindInt64(param + 1, changed || (insert && present) ? 1 : 0);
  }
  int i = static_cast<int>(2 * t.columns.size());
  const std::string seen = synced ? Dump(*synced) : "null";
  st->BindText(++i, op, /*transient=*/false);
  st->BindText(++i, write_id, /*transient=*/false);
  st->BindInt64(++i, yield ? 1 : 0);
  st->BindText(++i, seen, /*transient=*/false);
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
