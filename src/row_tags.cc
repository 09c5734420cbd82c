#include "row_tags.h"

#include <cstdio>
#include <set>

#include "json.h"
#include "pg_value.h"

namespace electrolite {

const char kRowTagsSchema[] =
    "CREATE TABLE IF NOT EXISTS _el_tags (shape_id TEXT NOT NULL, row TEXT NOT NULL,"
    " tag TEXT NOT NULL, tbl TEXT NOT NULL, PRIMARY KEY (shape_id, row, tag)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS _el_tags_by_tag ON _el_tags (shape_id, tag);"
    "CREATE INDEX IF NOT EXISTS _el_tags_by_row ON _el_tags (tbl, row);"
    "CREATE TABLE IF NOT EXISTS _el_tag_conditions (shape_id TEXT NOT NULL, row TEXT NOT NULL,"
    " active TEXT NOT NULL, PRIMARY KEY (shape_id, row)) WITHOUT ROWID;";

std::string_view TagPosition(std::string_view tag, int64_t pos) {
  for (int64_t i = 0; i < pos; i++) {
    size_t slash = tag.find('/');
    if (slash == std::string_view::npos) return std::string_view();
    tag.remove_prefix(slash + 1);
  }
  return tag.substr(0, tag.find('/'));
}

Status RowIdOf(const SyncedTable& table, const ShapeMessage& m,
               const std::vector<ShapeColumn>& cols, std::string* id, bool* safe) {
  const TableDecl& d = table.decl();
  *safe = true;
  id->assign("[");
  std::string scratch;
  for (size_t k = 0; k < table.pk_columns().size(); k++) {
    const int idx = table.pk_columns()[k];
    const ColumnText* c = nullptr;
    for (const ColumnText& v : m.value) {
      if (v.name == d.columns[idx].name) c = &v;
    }
    if (c == nullptr || c->is_null) {
      return Status::Protocol("change message without primary key column \"" +
                              d.columns[idx].name + "\"");
    }
    SqlValue v;
    EL_RETURN_IF_ERROR(ConvertPgValue(cols[idx].cls, cols[idx].dims, c->text, &scratch, &v));
    if (k > 0) id->push_back(',');
    if (v.kind == 1) {
      constexpr int64_t kSafe = 9007199254740991LL;
      if (v.i > kSafe || v.i < -kSafe) *safe = false;
      id->append(std::to_string(v.i));
    } else if (v.kind == 2) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.d);
      id->append(buf);
    } else {
      AppendJsonString(id, v.text);
    }
  }
  id->push_back(']');
  return Status::Ok();
}

RowTags::RowTags(Store* store, std::string shape_id, std::string table)
    : store_(store), shape_id_(std::move(shape_id)), table_(std::move(table)) {
  Result<Stmt*> st = store_->Cached("SELECT 1 FROM _el_tag_conditions WHERE shape_id = ?1 LIMIT 1");
  if (!st.ok()) return;  // assume there may be: correct, only slower
  st.value()->BindText(1, shape_id_);
  Result<bool> r = st.value()->Step();
  st.value()->Reset();
  conditions_stored_ = !r.ok() || r.value();
}

Status RowTags::ClearShape(Store& store, const std::string& shape_id) {
  for (const char* sql : {"DELETE FROM _el_tags WHERE shape_id = ?1",
                          "DELETE FROM _el_tag_conditions WHERE shape_id = ?1"}) {
    EL_ASSIGN_OR_RETURN(Stmt * st, store.Cached(sql));
    st->BindText(1, shape_id);
    EL_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Status RowTags::Forget(const std::string& row) {
  for (const char* sql : {"DELETE FROM _el_tags WHERE shape_id = ?1 AND row = ?2",
                          "DELETE FROM _el_tag_conditions WHERE shape_id = ?1 AND row = ?2"}) {
    EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(sql));
    st->BindText(1, shape_id_);
    st->BindText(2, row);
    EL_RETURN_IF_ERROR(st->Run());
  }
  return Status::Ok();
}

Status RowTags::AddTag(const std::string& row, std::string_view tag) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "INSERT OR IGNORE INTO _el_tags (shape_id, row, tag, tbl) VALUES (?1, ?2, ?3, ?4)"));
  st->BindText(1, shape_id_);
  st->BindText(2, row);
  st->BindText(3, tag);
  st->BindText(4, table_);
  return st->Run();
}

Status RowTags::RemoveTag(const std::string& row, std::string_view tag) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "DELETE FROM _el_tags WHERE shape_id = ?1 AND row = ?2 AND tag = ?3"));
  st->BindText(1, shape_id_);
  st->BindText(2, row);
  st->BindText(3, tag);
  return st->Run();
}

Result<std::string> RowTags::Conditions(const std::string& row) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "SELECT active FROM _el_tag_conditions WHERE shape_id = ?1 AND row = ?2"));
  st->BindText(1, shape_id_);
  st->BindText(2, row);
  std::string out;
  Result<bool> r = st->Step();
  if (r.ok() && r.value()) out = std::string(st->ColumnText(0));
  st->Reset();
  if (!r.ok()) return r.status();
  return out;
}

// All active is stored as nothing.
Status RowTags::SaveConditions(const std::string& row, std::string_view active) {
  if (active.find('0') == std::string_view::npos) {
    EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
        "DELETE FROM _el_tag_conditions WHERE shape_id = ?1 AND row = ?2"));
    st->BindText(1, shape_id_);
    st->BindText(2, row);
    return st->Run();
  }
  conditions_stored_ = true;
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "INSERT OR REPLACE INTO _el_tag_conditions (shape_id, row, active) VALUES (?1, ?2, ?3)"));
  st->BindText(1, shape_id_);
  st->BindText(2, row);
  st->BindText(3, active);
  return st->Run();
}

// In the shape while a tag is left and not every condition is inactive.
Result<bool> RowTags::StillIn(const std::string& row) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "SELECT 1 FROM _el_tags WHERE shape_id = ?1 AND row = ?2 LIMIT 1"));
  st->BindText(1, shape_id_);
  st->BindText(2, row);
  Result<bool> r = st->Step();
  st->Reset();
  if (!r.ok()) return r.status();
  if (!r.value()) return false;
  EL_ASSIGN_OR_RETURN(std::string active, Conditions(row));
  return active.empty() || active.find('1') != std::string::npos;
}

Status RowTags::OnChange(const std::string& row, const ShapeMessage& m, bool* in_shape) {
  if (m.op == Operation::kDelete) {
    *in_shape = false;
    return Forget(row);
  }
  // A fresh insert states the row's tags; an update or a move-in adds to them.
  if (m.op == Operation::kInsert && !m.is_move_in && !m.tags.empty()) {
    EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
        "DELETE FROM _el_tags WHERE shape_id = ?1 AND row = ?2"));
    st->BindText(1, shape_id_);
    st->BindText(2, row);
    EL_RETURN_IF_ERROR(st->Run());
  }
  for (std::string_view t : m.removed_tags) EL_RETURN_IF_ERROR(RemoveTag(row, t));
  for (std::string_view t : m.tags) EL_RETURN_IF_ERROR(AddTag(row, t));
  const bool all_active = m.active_conditions.find('0') == std::string_view::npos;
  // All active with none stored for the shape: nothing to store or clear.
  if (m.has_active_conditions && !(all_active && !conditions_stored_)) {
    EL_RETURN_IF_ERROR(SaveConditions(row, m.active_conditions));
  }
  if (!m.tags.empty() && m.removed_tags.empty() && all_active) {
    *in_shape = true;  // it holds a tag, and its conditions are all active
    return Status::Ok();
  }
  if (m.tags.empty() && m.removed_tags.empty()) {
    // Conditions alone: the row's tags (if it has none recorded, it is in).
    EL_ASSIGN_OR_RETURN(std::string active, Conditions(row));
    *in_shape = active.empty() || active.find('1') != std::string::npos;
  } else {
    EL_ASSIGN_OR_RETURN(*in_shape, StillIn(row));
  }
  if (!*in_shape) EL_RETURN_IF_ERROR(Forget(row));
  return Status::Ok();
}

Status RowTags::MoveOut(const std::vector<TagPattern>& patterns, std::vector<std::string>* left) {
  struct Hit {
    std::string row, tag;
    int64_t pos;
  };
  std::vector<Hit> hits;
  for (const TagPattern& p : patterns) {
    // Position 0 is the tag's prefix: an index range; later positions scan the shape's tags.
    const bool prefix = p.pos == 0;
    EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
        prefix ? "SELECT row, tag FROM _el_tags WHERE shape_id = ?1 AND (tag = ?2 OR"
                 " (tag >= ?2 || '/' AND tag < ?2 || '0'))"
               : "SELECT row, tag FROM _el_tags WHERE shape_id = ?1 AND instr(tag, ?2) > 0"));
    st->BindText(1, shape_id_);
    st->BindText(2, p.value);
    for (;;) {
      Result<bool> r = st->Step();
      if (!r.ok()) {
        st->Reset();
        return r.status();
      }
      if (!r.value()) break;
      std::string_view tag = st->ColumnText(1);
      if (TagPosition(tag, p.pos) != p.value) continue;
      hits.push_back({std::string(st->ColumnText(0)), std::string(tag), p.pos});
    }
    st->Reset();
  }
  std::set<std::string> rows;
  for (const Hit& h : hits) {
    EL_RETURN_IF_ERROR(RemoveTag(h.row, h.tag));
    EL_ASSIGN_OR_RETURN(std::string active, Conditions(h.row));
    if (!active.empty() && h.pos < static_cast<int64_t>(active.size())) {
      active[h.pos] = '0';
      EL_RETURN_IF_ERROR(SaveConditions(h.row, active));
    }
    rows.insert(h.row);
  }
  for (const std::string& row : rows) {
    EL_ASSIGN_OR_RETURN(bool in, StillIn(row));
    if (in) continue;
    EL_RETURN_IF_ERROR(Forget(row));
    left->push_back(row);
  }
  return Status::Ok();
}

Result<bool> HeldByShapes(Store& store, const std::string& table, const std::string& row,
                          const std::string& except_shape) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store.Cached(
      "SELECT 1 FROM _el_tags WHERE tbl = ?1 AND row = ?2 AND shape_id <> ?3"
      " UNION ALL SELECT 1 FROM _el_subset_rows AS r JOIN _el_subsets AS s ON s.id = r.subset_id"
      " WHERE r.tbl = ?1 AND r.row = ?2 AND s.shape_id <> ?3 LIMIT 1"));
  st->BindText(1, table);
  st->BindText(2, row);
  st->BindText(3, except_shape);
  Result<bool> r = st->Step();
  st->Reset();
  return r;
}

bool MayHaveSubquery(std::string_view where) {
  for (size_t i = 0; i + 6 <= where.size(); i++) {
    static constexpr char kWord[] = "select";
    size_t k = 0;
    while (k < 6 && (where[i + k] | 0x20) == kWord[k]) k++;
    if (k == 6) return true;
  }
  return false;
}

Result<bool> RowTags::HeldElsewhere(const std::string& row) {
  return HeldByShapes(*store_, table_, row, shape_id_);
}

Status RowTags::HoldPlain(const std::string& row) { return AddTag(row, std::string_view("", 0)); }

Status RowTags::BackfillPlain(Store& store, const SyncedTable& table, const std::string& shape_id) {
  if (!table.materialized()) return Status::Ok();
  const TableDecl& d = table.decl();
  std::string key = "json_array(";
  for (size_t k = 0; k < table.pk_columns().size(); k++) {
    if (k > 0) key += ", ";
    key += QuoteIdent(d.columns[table.pk_columns()[k]].name);
  }
  key += ")";
  EL_ASSIGN_OR_RETURN(Stmt * st, store.Cached(
      "INSERT OR IGNORE INTO _el_tags (shape_id, row, tag, tbl) SELECT ?1, " + key + ", '', ?2 FROM " +
      QuoteIdent(table.synced_name())));
  st->BindText(1, shape_id);
  st->BindText(2, d.name);
  return st->Run();
}

Status RowTags::DropShape(Store& store, SyncedTable* table, const std::string& shape_id,
                          std::vector<std::string>* left) {
  std::vector<std::string> rows;
  {
    EL_ASSIGN_OR_RETURN(Stmt * st, store.Cached("SELECT DISTINCT row FROM _el_tags WHERE shape_id = ?1"));
    st->BindText(1, shape_id);
    for (;;) {
      Result<bool> r = st->Step();
      if (!r.ok() || !r.value()) {
        st->Reset();
        if (!r.ok()) return r.status();
        break;
      }
      rows.emplace_back(st->ColumnText(0));
    }
  }
  if (table != nullptr && table->materialized()) {
    for (const std::string& row : rows) {
      EL_ASSIGN_OR_RETURN(bool held, HeldByShapes(store, table->decl().name, row, shape_id));
      if (held) continue;
      EL_RETURN_IF_ERROR(table->DeleteRow(row, /*stage=*/false));
      left->push_back(row);
    }
  }
  return ClearShape(store, shape_id);
}

Result<bool> RowTags::TableTagged() {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached("SELECT 1 FROM _el_tags WHERE tbl = ?1 LIMIT 1"));
  st->BindText(1, table_);
  Result<bool> r = st->Step();
  st->Reset();
  return r;
}

}  // namespace electrolite
