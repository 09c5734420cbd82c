// Subsets: their definition and their bookkeeping tables (subset.h).
#include "subset.h"

#include "shape_def.h"
#include "table_decl.h"

namespace electrolite {

const char kSubsetSchema[] =
    "CREATE TABLE IF NOT EXISTS _el_subsets (id TEXT PRIMARY KEY, shape_id TEXT NOT NULL,"
    " tbl TEXT NOT NULL, definition TEXT NOT NULL, loaded INTEGER NOT NULL DEFAULT 0,"
    " snapshot_active INTEGER NOT NULL DEFAULT 0, xmin TEXT, xmax TEXT, xip TEXT,"
    " database_lsn TEXT, rows INTEGER NOT NULL DEFAULT 0, reload INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS _el_subset_rows (subset_id TEXT NOT NULL, tbl TEXT NOT NULL,"
    " row TEXT NOT NULL, PRIMARY KEY (subset_id, row)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS _el_subset_rows_by_row ON _el_subset_rows (tbl, row);";

namespace {

Result<int64_t> NonNegative(const Json& j, const char* key, int64_t min) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return int64_t{-1};
  if (!it->is_number_integer() || it->get<int64_t>() < min) {
    return Status::InvalidArgument(std::string("subset.") + key + " must be an integer of at least " +
                                   std::to_string(min));
  }
  return it->get<int64_t>();
}

}  // namespace

Result<SubsetDef> SubsetDef::FromJson(const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("subset must be a JSON object");
  SubsetDef d;
  d.where = JsonStr(j, "where");
  d.order_by = JsonStr(j, "orderBy", JsonStr(j, "order_by"));
  EL_ASSIGN_OR_RETURN(d.limit, NonNegative(j, "limit", 1));
  EL_ASSIGN_OR_RETURN(d.offset, NonNegative(j, "offset", 0));
  auto p = j.find("params");
  if (p != j.end() && !p->is_null()) {
    auto text = [](const Json& v, std::string* out) {
      if (v.is_string()) *out = v.get<std::string>();
      else if (v.is_number() || v.is_boolean()) *out = v.dump();
      else return false;
      return true;
    };
    if (p->is_array()) {
      for (const Json& v : *p) {
        std::string s;
        if (!text(v, &s)) return Status::InvalidArgument("subset.params entries must be strings");
        d.params.push_back(std::move(s));
      }
    } else if (p->is_object()) {
      for (size_t i = 1; i <= p->size(); i++) {
        auto it = p->find(std::to_string(i));
        std::string s;
        if (it == p->end() || !text(*it, &s)) {
          return Status::InvalidArgument("subset.params must be numbered 1..n without gaps");
        }
        d.params.push_back(std::move(s));
      }
    } else {
      return Status::InvalidArgument("subset.params must be an array");
    }
  }
  if ((d.limit >= 0 || d.offset >= 0) && d.order_by.empty()) {
    return Status::InvalidArgument("subset.orderBy is required with limit or offset");
  }
  return d;
}

std::string SubsetDef::ToJson() const {
  Json j = Json::object();
  if (!where.empty()) j["where"] = where;
  if (!params.empty()) j["params"] = params;
  if (!order_by.empty()) j["orderBy"] = order_by;
  if (limit >= 0) j["limit"] = limit;
  if (offset >= 0) j["offset"] = offset;
  return j.dump();
}

std::string SubsetDef::BodyJson() const {
  Json j = Json::object();
  if (!where.empty()) j["where"] = where;
  if (!params.empty()) {
    Json p = Json::object();
    for (size_t i = 0; i < params.size(); i++) p[std::to_string(i + 1)] = params[i];
    j["params"] = p;
  }
  if (!order_by.empty()) j["order_by"] = order_by;
  if (limit >= 0) j["limit"] = limit;
  if (offset >= 0) j["offset"] = offset;
  return j.dump();
}

std::string SubsetDef::DefaultId(const std::string& shape_id) const {
  return shape_id + "~" + HashHex(shape_id + '\n' + ToJson(), 16);
}

// ---------------------------------------------------------------- the response body

namespace {

size_t SkipSpace(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
  return i;
}

// The end (one past) of the string starting at s[i] == '"', or npos.
size_t StringEnd(std::string_view s, size_t i) {
  for (i++; i < s.size(); i++) {
    if (s[i] == '\\') i++;
    else if (s[i] == '"') return i + 1;
  }
  return std::string_view::npos;
}

// The end (one past) of the JSON value starting at s[i], or npos.
size_t ValueEnd(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') return StringEnd(s, i);
  if (s[i] != '{' && s[i] != '[') {
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n') i++;
    return i;
  }
  int depth = 0;
  for (; i < s.size(); i++) {
    const char c = s[i];
    if (c == '"') {
      i = StringEnd(s, i);
      if (i == std::string_view::npos) return i;
      i--;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

Status SplitSubsetBody(std::string_view body, std::string_view* metadata, std::string_view* data) {
  const Status bad = Status::Protocol("a subset response must be a JSON object {metadata, data}");
  *metadata = *data = std::string_view();
  size_t i = SkipSpace(body, 0);
  if (i >= body.size() || body[i] != '{') return bad;
  i = SkipSpace(body, i + 1);
  while (i < body.size() && body[i] != '}') {
    if (body[i] != '"') return bad;
    const size_t key_end = StringEnd(body, i);
    if (key_end == std::string_view::npos) return bad;
    const std::string_view key = body.substr(i + 1, key_end - i - 2);
    i = SkipSpace(body, key_end);
    if (i >= body.size() || body[i] != ':') return bad;
    i = SkipSpace(body, i + 1);
    const size_t end = ValueEnd(body, i);
    if (end == std::string_view::npos || end <= i) return bad;
    if (key == "metadata") *metadata = body.substr(i, end - i);
    else if (key == "data") *data = body.substr(i, end - i);
    i = SkipSpace(body, end);
    if (i < body.size() && body[i] == ',') i = SkipSpace(body, i + 1);
  }
  if (i >= body.size() || SkipSpace(body, i + 1) != body.size()) return bad;  // unclosed, or trailing bytes
  if (metadata->empty() || data->empty() || data->front() != '[') {
    return Status::Protocol("a subset response without metadata or data");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- bookkeeping

Status SubsetBook::Load(std::vector<std::unique_ptr<Subset>>* out) {
  EL_ASSIGN_OR_RETURN(Stmt st, store_->Prepare(
                                   "SELECT id, shape_id, tbl, definition, loaded, snapshot_active,"
                                   " xmin, xmax, xip, database_lsn, rows, reload FROM _el_subsets ORDER BY rowid"));
  for (;;) {
    EL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    auto s = std::make_unique<Subset>();
    s->id = std::string(st.ColumnText(0));
    s->shape_id = std::string(st.ColumnText(1));
    s->table = std::string(st.ColumnText(2));
    Result<SubsetDef> def = SubsetDef::FromJson(Json::parse(st.ColumnText(3)));
    if (!def.ok()) return Status::Corruption("stored subset " + s->id + ": " + def.status().message());
    s->def = std::move(def).value();
    s->loaded = st.ColumnInt64(4) != 0;
    s->needs_request = !s->loaded || st.ColumnInt64(11) != 0;
    s->snapshot_active = st.ColumnInt64(5) != 0;
    if (s->snapshot_active) {
      Result<SnapshotVisibility> v = SnapshotVisibility::Parse(st.ColumnText(6), st.ColumnText(7),
                                                               st.ColumnText(8), st.ColumnText(9));
      if (v.ok()) s->snapshot = std::move(v).value();
      else s->snapshot_active = false;
    }
    s->rows = st.ColumnInt64(10);
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

Status SubsetBook::Save(const Subset& s) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
                                     "INSERT INTO _el_subsets (id, shape_id, tbl, definition,"
                                     " loaded, snapshot_active, xmin, xmax, xip, database_lsn, rows, reload)"
                                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                                     " ON CONFLICT (id) DO UPDATE SET loaded = ?5, snapshot_active = ?6,"
                                     " xmin = ?7, xmax = ?8, xip = ?9, database_lsn = ?10, rows = ?11,"
                                     " reload = ?12"));
  st->BindText(1, s.id);
  st->BindText(2, s.shape_id);
  st->BindText(3, s.table);
  st->BindText(4, s.def.ToJson());
  st->BindInt64(5, s.loaded ? 1 : 0);
  st->BindInt64(6, s.snapshot_active ? 1 : 0);
  if (s.snapshot_active) {
    st->BindText(7, std::to_string(s.snapshot.xmin));
    st->BindText(8, std::to_string(s.snapshot.xmax));
    st->BindText(9, s.snapshot.XipJson());
    st->BindText(10, std::to_string(s.snapshot.database_lsn));
  }
  st->BindInt64(11, s.rows);
  st->BindInt64(12, s.loaded && s.needs_request ? 1 : 0);
  return st->Run();
}

Status SubsetBook::Erase(const std::string& id) {
  for (const char* sql : {"DELETE FROM _el_subsets WHERE id = ?1",
                          "DELETE FROM _el_subset_rows WHERE subset_id = ?1"}) {
    EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(sql));
    st->BindText(1, id);
    EL_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

namespace {

constexpr char kGoneSchema[] =
    "CREATE TEMP TABLE IF NOT EXISTS _el_subset_gone (row TEXT PRIMARY KEY) WITHOUT ROWID";

}  // namespace

Status SubsetBook::ReplaceRows(const Subset& s, const std::vector<std::string>& rows,
                               SyncedTable* table, int64_t* released) {
  *released = 0;
  // The new list goes to a temp table first: the rows it held before and no
  // longer does are a set difference, and the new ones go in with one
  // INSERT … SELECT (fewer instructions than one INSERT a row, measured).
  EL_RETURN_IF_ERROR(store_->Exec(std::string(kGoneSchema) +
                                  ";CREATE TEMP TABLE IF NOT EXISTS _el_subset_new (row TEXT PRIMARY KEY) WITHOUT ROWID;"
                                  "DELETE FROM _el_subset_new"));
  {
    EL_ASSIGN_OR_RETURN(Stmt * ins, store_->Cached("INSERT OR IGNORE INTO _el_subset_new (row) VALUES (?1)"));
    for (const std::string& r : rows) {
      ins->BindText(1, r);
      EL_RETURN_IF_ERROR(ins->Run());
    }
  }
  struct Step {
    const char* sql;
    bool names_table;
  };
  for (const Step& step : {Step{"INSERT OR IGNORE INTO _el_subset_gone (row) SELECT row FROM _el_subset_rows"
                                " WHERE subset_id = ?1 AND row NOT IN (SELECT row FROM _el_subset_new)", false},
                           Step{"DELETE FROM _el_subset_rows WHERE subset_id = ?1", false},
                           Step{"INSERT INTO _el_subset_rows (subset_id, tbl, row)"
                                " SELECT ?1, ?2, row FROM _el_subset_new", true}}) {
    EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(step.sql));
    st->BindText(1, s.id);
    if (step.names_table) st->BindText(2, s.table);
    EL_RETURN_IF_ERROR(st->Run());
  }
  EL_RETURN_IF_ERROR(store_->Exec("DELETE FROM _el_subset_new"));
  return SweepGone(table, released);
}

Status SubsetBook::Release(const std::string& id, SyncedTable* table, int64_t* released) {
  *released = 0;
  // Its rows go straight from its own list (no copy): those no other subset holds.
  EL_RETURN_IF_ERROR(Sweep(table, "_el_subset_rows g WHERE g.subset_id = ?2 AND NOT EXISTS"
                                  " (SELECT 1 FROM _el_subset_rows o WHERE o.tbl = ?1 AND o.row = g.row"
                                  " AND o.subset_id <> ?2)",
                           &id, released));
  return Erase(id);
}

Status SubsetBook::SweepGone(SyncedTable* table, int64_t* released) {
  EL_RETURN_IF_ERROR(Sweep(table, "_el_subset_gone g WHERE NOT EXISTS"
                                  " (SELECT 1 FROM _el_subset_rows o WHERE o.tbl = ?1 AND o.row = g.row)",
                           nullptr, released));
  return store_->Exec("DELETE FROM _el_subset_gone");
}

Status SubsetBook::Sweep(SyncedTable* table, const char* candidates, const std::string* subset_id,
                         int64_t* released) {
  if (table != nullptr && table->materialized()) {
    EL_RETURN_IF_ERROR(table->EnsureIndexed());
    const TableDecl& d = table->decl();
    const std::vector<int>& pk = table->pk_columns();
    std::string keys, extracted, overlay_match;
    for (size_t k = 0; k < pk.size(); k++) {
      const std::string col = QuoteIdent(d.columns[pk[k]].name);
      const std::string value = "json_extract(g.row, '$[" + std::to_string(k) + "]')";
      if (k > 0) {
        keys += ", ";
        extracted += ", ";
        overlay_match += " AND ";
      }
      keys += col;
      extracted += value;
      overlay_match += "v." + col + " = " + value;
    }
    std::string sql = "DELETE FROM " + QuoteIdent(table->synced_name()) + " WHERE (" + keys +
                      ") IN (SELECT " + extracted + " FROM " + candidates;
    // A row a shape of the table holds (plain or subquery membership, row_tags.h) stays.
    sql += " AND NOT EXISTS (SELECT 1 FROM _el_tags t WHERE t.tbl = ?1 AND t.row = g.row)";
    EL_ASSIGN_OR_RETURN(bool overlay, store_->TableExists(d.name + "__overlay"));
    if (overlay) {  // a pending local write still needs its base row
      sql += " AND NOT EXISTS (SELECT 1 FROM " + QuoteIdent(d.name + "__overlay") + " v WHERE " +
             overlay_match + ")";
    }
    sql += ")";
    EL_ASSIGN_OR_RETURN(Stmt * del, store_->Cached(sql));
    del->BindText(1, d.name);
    if (subset_id != nullptr) del->BindText(2, *subset_id);
    Status s = del->Run();
    if (!s.ok()) return s.WithContext("release from " + d.name);
    *released = store_->Changes();
  }
  return Status::Ok();
}

Result<std::vector<std::string>> SubsetBook::Holders(const std::string& table, const std::string& row) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
                                     "SELECT subset_id FROM _el_subset_rows WHERE tbl = ?1 AND row = ?2"));
  st->BindText(1, table);
  st->BindText(2, row);
  std::vector<std::string> ids;
  for (;;) {
    EL_ASSIGN_OR_RETURN(bool r, st->Step());
    if (!r) break;
    ids.emplace_back(st->ColumnText(0));
  }
  st->Reset();
  return ids;
}

Result<bool> SubsetBook::Has(const SyncedTable& table, const std::string& suffix,
                             const std::string& row) {
  const TableDecl& d = table.decl();
  std::string sql = "SELECT 1 FROM " + QuoteIdent(d.name + suffix) + " WHERE ";
  for (size_t k = 0; k < table.pk_columns().size(); k++) {
    if (k > 0) sql += " AND ";
    sql += QuoteIdent(d.columns[table.pk_columns()[k]].name) + " = json_extract(?1, '$[" +
           std::to_string(k) + "]')";
  }
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(sql));
  st->BindText(1, row);
  EL_ASSIGN_OR_RETURN(bool found, st->Step());
  st->Reset();
  return found;
}

Result<bool> SubsetBook::SyncedHas(const SyncedTable& table, const std::string& row) {
  if (!table.materialized()) return false;
  return Has(table, "__synced", row);
}

}  // namespace electrolite
