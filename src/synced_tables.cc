#include "synced_tables.h"

#include <algorithm>

#include "reserved_names.h"
#include "row_tags.h"

namespace electrolite {

namespace {

void SetBit(uint64_t* lo, uint64_t* hi, int idx) {
  if (idx < 64) *lo |= 1ULL << idx;
  else *hi |= 1ULL << (idx - 64);
}
bool HasBit(uint64_t lo, uint64_t hi, int idx) {
  return idx < 64 ? (lo >> idx) & 1 : (hi >> (idx - 64)) & 1;
}

std::string ColumnList(const TableDecl& d, const char* prefix = "") {
  std::string out;
  for (size_t i = 0; i < d.columns.size(); i++) {
    if (i > 0) out += ", ";
    out += prefix;
    out += QuoteIdent(d.columns[i].name);
  }
  return out;
}

std::string PkList(const TableDecl& d) {
  std::string out;
  for (size_t i = 0; i < d.primary_key.size(); i++) {
    if (i > 0) out += ", ";
    out += QuoteIdent(d.primary_key[i]);
  }
  return out;
}

// T__stage keeps its key inline (PRIMARY KEY). T__synced's key is a named
// unique index instead (KeyIndexName): same lookups and ON CONFLICT target,
// but droppable, so an initial snapshot can load without it and build it once
// (SyncedTable::PrepareBulkLoad). Tables created before that keep an inline key
// and simply never bulk-load.
std::string CreateTableSql(const TableDecl& d, const std::string& name, bool inline_key) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + QuoteIdent(name) + " (";
  for (size_t i = 0; i < d.columns.size(); i++) {
    const auto& c = d.columns[i];
    if (i > 0) sql += ", ";
    sql += QuoteIdent(c.name);
    sql += ' ';
    sql += SqliteTypeFor(c.cls, c.dims);
    if (c.pk_index >= 0) sql += " NOT NULL";
  }
  if (inline_key) sql += ", PRIMARY KEY (" + PkList(d) + ")";
  return sql + ")";
}

// A single INTEGER key column declared PRIMARY KEY is SQLite's rowid: the
// table's own B-tree, no index to maintain or leave out. It stays inline.
bool KeyIsRowid(const TableDecl& d) {
  if (d.primary_key.size() != 1) return false;
  for (const auto& c : d.columns) {
    if (c.name == d.primary_key[0]) return std::string_view(SqliteTypeFor(c.cls, c.dims)) == "INTEGER";
  }
  return false;
}

std::string KeyIndexName(const TableDecl& d) { return "_el_pk_" + d.name; }

std::string CreateKeyIndexSql(const TableDecl& d) {
  return "CREATE UNIQUE INDEX IF NOT EXISTS " + QuoteIdent(KeyIndexName(d)) + " ON " +
         QuoteIdent(d.name + "__synced") + " (" + PkList(d) + ")";
}

}  // namespace

Status CreateBookkeeping(Store& store) {
  return store.ExecSchema(
      "schema:bookkeeping",
      "CREATE TABLE IF NOT EXISTS _el_tables (name TEXT PRIMARY KEY, decl TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS _el_shapes (id TEXT PRIMARY KEY, table_name TEXT NOT NULL,"
      " definition TEXT NOT NULL, handle TEXT, \"offset\" TEXT NOT NULL DEFAULT '-1',"
      " cursor TEXT NOT NULL DEFAULT '', schema TEXT, up_to_date INTEGER NOT NULL DEFAULT 0,"
      " refetching INTEGER NOT NULL DEFAULT 0, expired_handle TEXT, last_synced_at INTEGER,"
      " snapshot_xmin TEXT, snapshot_xmax TEXT, snapshot_xip TEXT, last_lsn TEXT);"
      "CREATE TABLE IF NOT EXISTS _el_txids (shape_id TEXT NOT NULL, txid INTEGER NOT NULL,"
      " PRIMARY KEY (shape_id, txid)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS _el_kv (key TEXT PRIMARY KEY, value TEXT);" +
          std::string(kRowTagsSchema));
}

Status BuildPlainView(Store& store, const TableDecl& decl) {
  std::string sql = "DROP VIEW IF EXISTS " + QuoteIdent(decl.name) + "; CREATE VIEW " +
                    QuoteIdent(decl.name) + " AS SELECT " + ColumnList(decl) + " FROM " +
                    QuoteIdent(decl.name + "__synced");
  return store.Exec(sql);
}

int SyncedTable::ColumnIndex(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

void SyncedTable::RebuildIndex() {
  index_.clear();
  pk_cols_.assign(decl_.primary_key.size(), -1);
  for (size_t i = 0; i < decl_.columns.size(); i++) {
    index_[decl_.columns[i].name] = static_cast<int>(i);
    int pk = decl_.columns[i].pk_index;
    if (pk >= 0 && pk < static_cast<int>(pk_cols_.size())) pk_cols_[pk] = static_cast<int>(i);
  }
  all_lo_ = all_hi_ = 0;
  for (size_t i = 0; i < decl_.columns.size() && i < kMaxColumns; i++) {
    SetBit(&all_lo_, &all_hi_, static_cast<int>(i));
  }
  stmts_.clear();
  last_stmt_ = nullptr;
  hint_ = 0;
}

Status SyncedTable::SaveDecl(const std::string& decl_json) {
  EL_ASSIGN_OR_RETURN(Stmt * stmt,
                      store_->Cached("INSERT OR REPLACE INTO _el_tables (name, decl) VALUES (?1, ?2)"));
  stmt->BindText(1, decl_.name);
  stmt->BindText(2, decl_json);
  return stmt->Run();
}

Status SyncedTable::Materialize(const ViewBuilder& view_builder, const TableDecl* saved) {
  synced_name_ = decl_.name + "__synced";
  RebuildIndex();
  if (decl_.columns.empty()) return Status::Ok();  // waits for the server's schema
  if (decl_.columns.size() > kMaxColumns) {
    return Status::Schema("table " + decl_.name + " has more than 128 columns");
  }
  for (int pk : pk_cols_) {
    if (pk < 0) return Status::Schema("table " + decl_.name + ": primary key column not declared");
  }
  EL_ASSIGN_OR_RETURN(bool existed, store_->TableExists(synced_name_));
  std::string decl_json;
  if (existed) {
    // Reopened with the declaration it was saved with: nothing to create or add.
    bool unchanged = false;
    if (saved != nullptr) {
      unchanged = SameDeclaration(decl_, *saved);
    } else {
      decl_json = TableDeclToJson(decl_);
      EL_ASSIGN_OR_RETURN(Stmt * stored, store_->Cached("SELECT decl FROM _el_tables WHERE name = ?1"));
      stored->BindText(1, decl_.name);
      EL_ASSIGN_OR_RETURN(bool has_saved, stored->Step());
      unchanged = has_saved && stored->ColumnText(0) == decl_json;
      stored->Reset();
    }
    if (unchanged) {
      EL_RETURN_IF_ERROR(view_builder(*store_, decl_));
      materialized_ = true;
      return Status::Ok();
    }
  }
  if (!existed) {
    const bool rowid = KeyIsRowid(decl_);
    EL_RETURN_IF_ERROR(store_->Exec(CreateTableSql(decl_, synced_name_, /*inline_key=*/rowid)));
    if (!rowid) EL_RETURN_IF_ERROR(store_->Exec(CreateKeyIndexSql(decl_)));
    key_ = rowid ? KeyState::kInline : KeyState::kIndexed;
  } else {
    // Columns declared since the table was created are added.
    EL_ASSIGN_OR_RETURN(Stmt info, store_->Prepare("SELECT name FROM pragma_table_info(?1)"));
    info.BindText(1, synced_name_);
    std::vector<std::string> have;
    for (;;) {
      EL_ASSIGN_OR_RETURN(bool row, info.Step());
      if (!row) break;
      have.emplace_back(info.ColumnText(0));
    }
    for (const auto& c : decl_.columns) {
      if (std::find(have.begin(), have.end(), c.name) != have.end()) continue;
      EL_RETURN_IF_ERROR(store_->Exec("ALTER TABLE " + QuoteIdent(synced_name_) + " ADD COLUMN " +
                                      QuoteIdent(c.name) + " " + SqliteTypeFor(c.cls, c.dims)));
    }
  }
  EL_ASSIGN_OR_RETURN(bool view_exists, store_->TableExists(decl_.name));
  if (!view_exists || existed) EL_RETURN_IF_ERROR(view_builder(*store_, decl_));
  if (decl_json.empty()) decl_json = TableDeclToJson(decl_);
  EL_RETURN_IF_ERROR(SaveDecl(decl_json));
  materialized_ = true;
  return Status::Ok();
}

Status SyncedTable::MergeServerColumns(const std::vector<ColumnDecl>& server,
                                       const ViewBuilder& builder, bool* changed) {
  *changed = false;
  if (decl_.columns.empty()) {
    // Declared without columns: adopt the server's, PK from pk_index.
    std::vector<std::pair<int, std::string>> pk;
    for (const auto& c : server) {
      if (c.pk_index >= 0) pk.emplace_back(c.pk_index, c.name);
    }
    std::sort(pk.begin(), pk.end());
    if (decl_.primary_key.empty()) {
      for (auto& p : pk) decl_.primary_key.push_back(p.second);
    }
    if (decl_.primary_key.empty()) {
      return Status::Schema("table " + decl_.name + ": the server's schema has no primary key");
    }
    decl_.columns = server;
    for (auto& c : decl_.columns) {
      auto it = std::find(decl_.primary_key.begin(), decl_.primary_key.end(), c.name);
      c.pk_index = it == decl_.primary_key.end()
                       ? -1
                       : static_cast<int>(it - decl_.primary_key.begin());
    }
    *changed = true;
    return Materialize(builder);
  }
  std::vector<ColumnDecl> added;
  for (const auto& c : server) {
    if (ColumnIndex(c.name) >= 0) continue;
    ColumnDecl nc = c;
    nc.pk_index = -1;
    nc.not_null = false;
    added.push_back(nc);
  }
  if (added.empty()) return Status::Ok();
  if (decl_.columns.size() + added.size() > kMaxColumns) {
    return Status::Schema("table " + decl_.name + " would exceed 128 columns");
  }
  EL_ASSIGN_OR_RETURN(bool stage_exists, store_->TableExists(decl_.name + "__stage"));
  for (const auto& c : added) {
    std::string add = " ADD COLUMN " + QuoteIdent(c.name) + " " + SqliteTypeFor(c.cls, c.dims);
    EL_RETURN_IF_ERROR(store_->Exec("ALTER TABLE " + QuoteIdent(synced_name_) + add));
    if (stage_exists) {
      EL_RETURN_IF_ERROR(store_->Exec("ALTER TABLE " + QuoteIdent(decl_.name + "__stage") + add));
    }
    decl_.columns.push_back(c);
  }
  RebuildIndex();
  EL_RETURN_IF_ERROR(builder(*store_, decl_));
  EL_RETURN_IF_ERROR(SaveDecl(TableDeclToJson(decl_)));
  *changed = true;
  return Status::Ok();
}

void SyncedTable::Restore(const TableDecl& decl, bool materialized) {
  decl_ = decl;
  materialized_ = materialized;
  RebuildIndex();
  key_ = KeyState::kUnknown;  // the DDL that was rolled back may have set it
}

Result<SyncedTable::KeyState> SyncedTable::ReadKeyState() {
  if (KeyIsRowid(decl_)) return KeyState::kInline;
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
                                     "SELECT name = ?2 FROM sqlite_schema WHERE type = 'index'"
                                     " AND tbl_name = ?1 AND name IN (?2, ?3)"));
  st->BindText(1, synced_name_);
  st->BindText(2, KeyIndexName(decl_));
  st->BindText(3, "sqlite_autoindex_" + synced_name_ + "_1");
  EL_ASSIGN_OR_RETURN(bool row, st->Step());
  KeyState k = !row ? KeyState::kBulk : st->ColumnInt64(0) != 0 ? KeyState::kIndexed
                                                                 : KeyState::kInline;
  st->Reset();
  return k;
}

Result<bool> SyncedTable::PrepareBulkLoad(bool eligible, bool initial) {
  if (!materialized_) return false;
  EL_ASSIGN_OR_RETURN(key_, ReadKeyState());  // the truth, whatever a rollback undid
  if (key_ == KeyState::kBulk) {
    if (eligible) return true;
    EL_RETURN_IF_ERROR(EnsureIndexed());
    return false;
  }
  if (key_ != KeyState::kIndexed || !eligible || !initial) return false;
  EL_ASSIGN_OR_RETURN(Stmt any, store_->Prepare("SELECT 1 FROM " + QuoteIdent(synced_name_) +
                                                " LIMIT 1"));
  EL_ASSIGN_OR_RETURN(bool has_rows, any.Step());
  if (has_rows) return false;
  EL_RETURN_IF_ERROR(store_->Exec("DROP INDEX " + QuoteIdent(KeyIndexName(decl_))));
  key_ = KeyState::kBulk;
  return true;
}

Status SyncedTable::EnsureIndexed() {
  if (key_ == KeyState::kUnknown) {
    if (!materialized_) return Status::Ok();
    EL_ASSIGN_OR_RETURN(key_, ReadKeyState());
  }
  if (key_ != KeyState::kBulk) return Status::Ok();
  if (!store_->Exec(CreateKeyIndexSql(decl_)).ok()) {
    // Duplicate keys: keep the row inserted last (the highest rowid) of each.
    EL_RETURN_IF_ERROR(store_->Exec("DELETE FROM " + QuoteIdent(synced_name_) +
                                    " WHERE rowid NOT IN (SELECT max(rowid) FROM " +
                                    QuoteIdent(synced_name_) + " GROUP BY " + PkList(decl_) + ")"));
    duplicate_keys_ += store_->Changes();
    Status s = store_->Exec(CreateKeyIndexSql(decl_));
    if (!s.ok()) return s.WithContext("key index of " + decl_.name);
  }
  key_ = KeyState::kIndexed;
  return Status::Ok();
}

std::string SyncedTable::TargetName(bool stage) const {
  return stage ? decl_.name + "__stage" : synced_name_;
}

Result<Stmt*> SyncedTable::StatementFor(Operation op, bool stage, const StmtKey& key) {
  auto it = stmts_.find(key);
  if (it != stmts_.end()) return it->second.get();
  std::string target = QuoteIdent(TargetName(stage));
  std::string where;
  for (size_t k = 0; k < pk_cols_.size(); k++) {
    if (k > 0) where += " AND ";
    int idx = pk_cols_[k];
    where += QuoteIdent(decl_.columns[idx].name) + " = ?" + std::to_string(idx + 1);
  }
  std::string sql;
  int n = static_cast<int>(decl_.columns.size());
  if (key.op == kBulkInsertOp) {
    std::string cols, vals;
    for (int i = 0; i < n; i++) {
      if (!HasBit(key.lo, key.hi, i)) continue;
      if (!cols.empty()) {
        cols += ", ";
        vals += ", ";
      }
      cols += QuoteIdent(decl_.columns[i].name);
      vals += "?" + std::to_string(i + 1);
    }
    sql = "INSERT INTO " + target + " (" + cols + ") VALUES (" + vals + ")";
  } else if (op == Operation::kInsert) {
    std::string cols, vals, sets;
    for (int i = 0; i < n; i++) {
      if (!HasBit(key.lo, key.hi, i)) continue;
      const std::string q = QuoteIdent(decl_.columns[i].name);
      if (!cols.empty()) {
        cols += ", ";
        vals += ", ";
      }
      cols += q;
      vals += "?" + std::to_string(i + 1);
      if (decl_.columns[i].pk_index < 0) {
        if (!sets.empty()) sets += ", ";
        sets += q + " = excluded." + q;
      }
    }
    sql = "INSERT INTO " + target + " (" + cols + ") VALUES (" + vals + ") ON CONFLICT (" +
          PkList(decl_) + ") DO " + (sets.empty() ? "NOTHING" : "UPDATE SET " + sets);
  } else if (op == Operation::kUpdate) {
    std::string sets;
    for (int i = 0; i < n; i++) {
      if (!HasBit(key.lo, key.hi, i) || decl_.columns[i].pk_index >= 0) continue;
      if (!sets.empty()) sets += ", ";
      sets += QuoteIdent(decl_.columns[i].name) + " = ?" + std::to_string(i + 1);
    }
    sql = "UPDATE " + target + " SET " + sets + " WHERE " + where;
  } else {
    sql = "DELETE FROM " + target + " WHERE " + where;
  }
  EL_ASSIGN_OR_RETURN(Stmt stmt, store_->Prepare(sql));
  auto owned = std::make_unique<Stmt>(std::move(stmt));
  Stmt* p = owned.get();
  stmts_.emplace(key, std::move(owned));
  return p;
}

Status SyncedTable::Apply(const ShapeMessage& m, const std::vector<ShapeColumn>& cols,
                          bool stage) {
  const int n = static_cast<int>(decl_.columns.size());
  if (!materialized_) {
    return Status::Schema("table " + decl_.name + " has no columns yet (no electric-schema seen)");
  }
  if (static_cast<int>(values_.size()) != n) {
    values_.resize(n);
    scratch_.resize(n);
  }
  uint64_t lo = 0, hi = 0;  // the columns present in the message
  for (const ColumnText& c : m.value) {
    int idx;
    if (hint_ < n && decl_.columns[hint_].name == c.name) {
      idx = hint_;
    } else {
      idx = ColumnIndex(c.name);
      if (idx < 0) {
        if (IsReservedColumnName(c.name)) {  // never in decl_ (reserved_names.h)
          return Status::Protocol("server column \"" + std::string(c.name) + "\" of table \"" +
                                  decl_.name + "\" uses a name the engine reserves for its own"
                                  " bookkeeping");
        }
        return Status::Protocol("table " + decl_.name + ": unknown column \"" +
                                std::string(c.name) + "\"");
      }
    }
    hint_ = idx + 1;
    SetBit(&lo, &hi, idx);
    const ShapeColumn& sc = cols[idx];
    SqlValue& v = values_[idx];
    if (c.is_null) {
      if (sc.not_null) {
        return Status::Protocol("Column \"" + std::string(c.name) + "\" does not allow NULL values");
      }
      v.kind = 0;
      continue;
    }
    Status s = ConvertPgValue(sc.cls, sc.dims, c.text, &scratch_[idx], &v);
    if (!s.ok()) return s.WithContext("column \"" + std::string(c.name) + "\"");
  }
  uint64_t pk_lo = 0, pk_hi = 0;
  for (int idx : pk_cols_) {
    if (!HasBit(lo, hi, idx) || values_[idx].kind == 0) {
      return Status::Protocol("change message without primary key column \"" +
                              decl_.columns[idx].name + "\"");
    }
    SetBit(&pk_lo, &pk_hi, idx);
  }
  Operation op = m.op;
  if (op == Operation::kUpdate) {
    if (lo == all_lo_ && hi == all_hi_) op = Operation::kInsert;  // full row (replica=full): upsert
    else if (lo == pk_lo && hi == pk_hi) return Status::Ok();  // nothing but the key
  }
  // A snapshot's insert during a bulk load: a plain INSERT, no key to keep.
  const bool bulk = !stage && key_ == KeyState::kBulk && m.op == Operation::kInsert;
  if (!bulk && !stage) EL_RETURN_IF_ERROR(EnsureIndexed());
  StmtKey key{bulk ? kBulkInsertOp : static_cast<uint8_t>(op), static_cast<uint8_t>(stage ? 1 : 0),
              op == Operation::kDelete ? pk_lo : lo, op == Operation::kDelete ? pk_hi : hi};
  Stmt* stmt = last_stmt_;  // a batch mostly repeats one statement
  if (stmt == nullptr || !(key == last_key_)) {
    EL_ASSIGN_OR_RETURN(stmt, StatementFor(op, stage, key));
    last_stmt_ = stmt;
    last_key_ = key;
  }
  for (int i = 0; i < n; i++) {
    if (!HasBit(key.lo, key.hi, i)) continue;
    const SqlValue& v = values_[i];
    switch (v.kind) {
      case 0: stmt->BindNull(i + 1); break;
      case 1: stmt->BindInt64(i + 1, v.i); break;
      case 2: stmt->BindDouble(i + 1, v.d); break;
      default: stmt->BindText(i + 1, v.text, /*transient=*/false); break;
    }
  }
  Status s = stmt->Run();
  if (!s.ok()) return s.WithContext("apply to " + decl_.name);
  rows_applied_++;
  return Status::Ok();
}

Status SyncedTable::DeleteRow(const std::string& row, bool stage) {
  if (!materialized_) return Status::Ok();
  if (!stage) EL_RETURN_IF_ERROR(EnsureIndexed());
  std::string sql = "DELETE FROM " + QuoteIdent(TargetName(stage)) + " WHERE ";
  for (size_t k = 0; k < pk_cols_.size(); k++) {
    if (k > 0) sql += " AND ";
    sql += QuoteIdent(decl_.columns[pk_cols_[k]].name) + " = json_extract(?1, '$[" +
           std::to_string(k) + "]')";
  }
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(sql));
  st->BindText(1, row);
  Status s = st->Run();
  if (!s.ok()) return s.WithContext("delete from " + decl_.name);
  return Status::Ok();
}

Status SyncedTable::EnsureStage() {
  if (!materialized_) return Status::Ok();
  EL_RETURN_IF_ERROR(EnsureIndexed());
  return store_->Exec(CreateTableSql(decl_, decl_.name + "__stage", /*inline_key=*/true));
}

Status SyncedTable::ClearStage() {
  EL_ASSIGN_OR_RETURN(bool exists, store_->TableExists(decl_.name + "__stage"));
  if (!exists) return Status::Ok();
  return store_->Exec("DELETE FROM " + QuoteIdent(decl_.name + "__stage"));
}

Status SyncedTable::SwapStage(bool replace_all) {
  EL_ASSIGN_OR_RETURN(bool exists, store_->TableExists(decl_.name + "__stage"));
  if (!materialized_ || !exists) return Status::Ok();
  EL_RETURN_IF_ERROR(EnsureIndexed());
  std::string synced = QuoteIdent(synced_name_);
  std::string stage = QuoteIdent(decl_.name + "__stage");
  if (replace_all) {
    std::string match;
    for (size_t k = 0; k < decl_.primary_key.size(); k++) {
      if (k > 0) match += " AND ";
      std::string q = QuoteIdent(decl_.primary_key[k]);
      match += "s." + q + " = " + synced + "." + q;
    }
    EL_RETURN_IF_ERROR(store_->Exec("DELETE FROM " + synced + " WHERE NOT EXISTS (SELECT 1 FROM " +
                                    stage + " AS s WHERE " + match + ")"));
  }
  std::string sets;
  for (const auto& c : decl_.columns) {
    if (c.pk_index >= 0) continue;
    if (!sets.empty()) sets += ", ";
    sets += QuoteIdent(c.name) + " = excluded." + QuoteIdent(c.name);
  }
  EL_RETURN_IF_ERROR(store_->Exec("INSERT INTO " + synced + " (" + ColumnList(decl_) + ") SELECT " +
                                  ColumnList(decl_) + " FROM " + stage + " WHERE true ON CONFLICT (" +
                                  PkList(decl_) + ") DO " +
                                  (sets.empty() ? "NOTHING" : "UPDATE SET " + sets)));
  return store_->Exec("DELETE FROM " + stage);
}

}  // namespace electrolite
