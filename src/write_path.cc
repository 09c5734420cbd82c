// WritePath: local writes, the SQL write function, inspection and discard.
// Server-side effects (acks, rejections, txid matching, concurrent changes)
// are in write_sync.cc.
#include "write_path.h"

#include <sqlite3.h>

#include "reserved_names.h"
#include "store.h"

namespace electrolite {

namespace {

using json = Json;

json ValueToJson(sqlite3_value* v) {
  switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER: return json(static_cast<int64_t>(sqlite3_value_int64(v)));
    case SQLITE_FLOAT: return json(sqlite3_value_double(v));
    case SQLITE_NULL: return json();
    default: {
      const unsigned char* text = sqlite3_value_text(v);
      return json(std::string(text ? reinterpret_cast<const char*>(text) : "",
                              static_cast<size_t>(sqlite3_value_bytes(v))));
    }
  }
}

}  // namespace

WritePath::WritePath(Store* store, Env* env)
    : store_(store),
      env_(env),
      outbox_(std::make_unique<Outbox>(store)),
      overlay_(std::make_unique<Overlay>(store, outbox_.get())) {}

WritePath::~WritePath() {
  if (store_ != nullptr && store_->raw() != nullptr) {
    sqlite3_create_function_v2(store_->raw(), "el_write", -1, SQLITE_UTF8, nullptr, nullptr,
                               nullptr, nullptr, nullptr);
  }
}

Status WritePath::Init() {
  EL_RETURN_IF_ERROR(outbox_->Init());
  EL_RETURN_IF_ERROR(store_->ExecSchema(
      "schema:writes",
      "CREATE TABLE IF NOT EXISTS _el_conflicts ("
      " seq INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL,"
      " mutation_id TEXT, tbl TEXT NOT NULL, key TEXT NOT NULL, policy TEXT NOT NULL,"
      " outcome TEXT NOT NULL, local TEXT, remote TEXT, reason TEXT);"
      "CREATE TABLE IF NOT EXISTS _el_conflict_stats ("
      " tbl TEXT NOT NULL, policy TEXT NOT NULL, outcome TEXT NOT NULL,"
      " count INTEGER NOT NULL, PRIMARY KEY (tbl, policy, outcome));"
      "CREATE TABLE IF NOT EXISTS _el_seen_txids ("
      " tbl TEXT NOT NULL, txid INTEGER NOT NULL, seq INTEGER NOT NULL,"
      " PRIMARY KEY (tbl, txid)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS _el_snapshots ("
      " tbl TEXT NOT NULL, xmin TEXT NOT NULL, xmax TEXT NOT NULL, xip TEXT NOT NULL,"
      " seq INTEGER NOT NULL, PRIMARY KEY (tbl, xmin, xmax, xip)) WITHOUT ROWID;"));
  const int rc = sqlite3_create_function_v2(store_->raw(), "el_write", -1, SQLITE_UTF8, this,
                                            &WritePath::SqlWrite, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return store_->Error(rc, "register el_write");
  return Status::Ok();
}

Status WritePath::DeclareTable(WriteTable table) {
  if (table.columns.empty()) return Status::Ok();  // columns come from the server later
  // Reopening a database whose overlay, view and triggers were built from this very DDL
  // (the common case: every page load) skips re-parsing it — about half of open's work.
  const std::string ddl = table.OverlayDdl();
  const std::string ddl_key = "ddl:" + table.name;
  EL_ASSIGN_OR_RETURN(bool unchanged, store_->SchemaRecorded(ddl_key, ddl));
  if (!unchanged) {
    EL_RETURN_IF_ERROR(BuildOverlay(table, ddl));
    EL_RETURN_IF_ERROR(store_->RecordSchema(ddl_key, ddl));
  }
  std::string name = table.name;
  overlay_->ForgetTable(name);  // its statement text may name other columns now
  tables_.erase(name);
  tables_.emplace(std::move(name), std::move(table));
  return Status::Ok();
}

Status WritePath::BuildOverlay(const WriteTable& table, const std::string& ddl) {
  const std::string overlay = QuoteIdent(table.OverlayName());
  EL_ASSIGN_OR_RETURN(bool exists, store_->TableExists(table.OverlayName()));
  bool retype_key = false;
  if (exists) {
    // Additive schema evolution: add overlay columns the table gained.
    EL_ASSIGN_OR_RETURN(Stmt info, store_->Prepare("SELECT name, type FROM pragma_table_info(?1)"));
    info.BindText(1, table.OverlayName());
    std::set<std::string> have;
    for (;;) {
      EL_ASSIGN_OR_RETURN(bool row, info.Step());
      if (!row) break;
      std::string column(info.ColumnText(0));
      // Overlays of earlier builds have an untyped key (the view could not be flattened).
      if (table.IsPrimaryKey(column) && info.ColumnText(1).empty()) retype_key = true;
      have.insert(std::move(column));
    }
    for (const WriteColumn& c : table.columns) {
      if (have.count(c.name) == 0) {
        EL_RETURN_IF_ERROR(store_->Exec("ALTER TABLE " + overlay + " ADD COLUMN " +
                                        QuoteIdent(c.name)));
      }
      if (have.count("_el_seen") == 0) {
        have.insert("_el_seen");
        EL_RETURN_IF_ERROR(store_->Exec("ALTER TABLE " + overlay + " ADD COLUMN \"_el_seen\" TEXT"));
      }
      if (have.count(OverlayChangedColumn(c.name)) == 0) {
        EL_RETURN_IF_ERROR(store_->Exec("ALTER TABLE " + overlay + " ADD COLUMN " +
                                        QuoteIdent(OverlayChangedColumn(c.name)) +
                                        " INTEGER NOT NULL DEFAULT 0"));
      }
    }
  }
  // A new table has no view or earlier triggers to drop: its DDL is only CREATEs.
  EL_ASSIGN_OR_RETURN(bool view_exists, store_->TableExists(table.name));
  store_->ClearCache();  // statements over the old view/columns
  if (exists || view_exists) EL_RETURN_IF_ERROR(store_->Exec(table.OverlayDropDdl()));
  if (retype_key) {
    // Rebuild under the new DDL (which creates the typed table) and copy the rows over,
    // in the caller's transaction: the overlay is never missing a row.
    const std::string old_name = QuoteIdent(table.OverlayName() + "__untyped");
    EL_RETURN_IF_ERROR(store_->Exec("ALTER TABLE " + overlay + " RENAME TO " + old_name));
    EL_RETURN_IF_ERROR(store_->Exec(ddl));
    // By name: the old table's columns were appended in another order (ADD COLUMN above).
    EL_ASSIGN_OR_RETURN(Stmt cols, store_->Prepare("SELECT name FROM pragma_table_info(?1)"));
    cols.BindText(1, table.OverlayName());
    std::string list;
    for (;;) {
      EL_ASSIGN_OR_RETURN(bool row, cols.Step());
      if (!row) break;
      if (!list.empty()) list += ", ";
      list += QuoteIdent(std::string(cols.ColumnText(0)));
    }
    EL_RETURN_IF_ERROR(store_->Exec("INSERT INTO " + overlay + " (" + list + ") SELECT " + list +
                                    " FROM " + old_name));
    return store_->Exec("DROP TABLE " + old_name);
  }
  return store_->Exec(ddl);
}

const WriteTable* WritePath::Find(std::string_view name) const {
  auto it = tables_.find(name);
  return it == tables_.end() ? nullptr : &it->second;
}

Result<const WriteTable*> WritePath::Writable(std::string_view table) {
  const WriteTable* t = Find(table);
  if (t == nullptr) return Status::NotFound("no synced table named \"" + std::string(table) + "\"");
  if (!t->policy.writable) {
    return Status::ReadOnly("table " + t->name + " is not writable (" +
                            PolicyName(t->policy.kind) + ", writable: false)");
  }
  return t;
}

std::string WritePath::NewMutationId() {
  uint64_t hi = env_->RandomU64(), lo = env_->RandomU64();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    const uint64_t word = i < 8 ? hi : lo;
    const unsigned byte = static_cast<unsigned>((word >> (8 * (7 - (i % 8)))) & 0xff);
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += kHex[byte >> 4];
    s += kHex[byte & 15];
  }
  return s;
}

Result<json> WritePath::NormalizeKey(const WriteTable& t, const json& key) {
  if (!key.is_object()) return Status::InvalidArgument(t.name + ": key must be an object");
  json out = json::object();
  for (auto it = key.begin(); it != key.end(); ++it) {
    if (!t.IsPrimaryKey(it.key())) {
      return Status::Schema(t.name + ": \"" + it.key() + "\" is not a primary key column");
    }
  }
  for (const std::string& k : t.primary_key) {
    auto it = key.find(k);
    if (it == key.end() || it->is_null()) {
      return Status::Schema(t.name + ": key is missing primary key column " + k);
    }
    EL_ASSIGN_OR_RETURN(json v, NormalizeValue(t, t.columns[t.ColumnIndex(k)], *it));
    out[k] = std::move(v);
  }
  return out;
}

Result<std::string> WritePath::Record(const WriteTable& t, RowState state, std::string op,
                                      json key, json value, json base, int64_t now_ms) {
  OutboxEntry e;
  e.id = NewMutationId();
  e.table = t.name;
  e.op = std::move(op);
  e.key = std::move(key);
  e.value = std::move(value);
  e.base = std::move(base);
  e.local_ms = now_ms;
  // Asked before the append: whether the overlay row is the fold of the
  // entries so far, so the new one folds onto it alone.
  const std::string key_text = Outbox::KeyText(e.key);
  EL_ASSIGN_OR_RETURN(bool can_fold, overlay_->CanFold(t, key_text, state));
  EL_RETURN_IF_ERROR(outbox_->Append(e, key_text));
  EL_RETURN_IF_ERROR(overlay_->FoldLocal(t, std::move(state), e, can_fold));
  NoteChanged(t, e.key);
  ++new_writes_;
  return e.id;
}

// Inside el_write() the statement that fired the trigger is still running:
// SQLite allows no savepoint then, and the caller's transaction plus the
// statement's own journal already make the write atomic.
Status WritePath::BeginWrite(Txn* txn) { return in_sql_write_ ? Status::Ok() : txn->Begin(); }
Status WritePath::CommitWrite(Txn* txn) { return in_sql_write_ ? Status::Ok() : txn->Commit(); }

Result<std::string> WritePath::Insert(std::string_view table, const json& row, int64_t now_ms) {
  EL_ASSIGN_OR_RETURN(const WriteTable* t, Writable(table));
  if (!row.is_object()) return Status::InvalidArgument(t->name + ": row must be an object");
  for (auto it = row.begin(); it != row.end(); ++it) {
    if (t->ColumnIndex(it.key()) < 0) {
      return Status::Schema("unknown column " + t->name + "." + it.key());
    }
  }
  json full = overlay_->EmptyRow(*t);  // every member exists: filling inserts none
  for (const WriteColumn& c : t->columns) {
    auto it = row.find(c.name);
    json v;
    if (it != row.end() && !it->is_null()) {
      EL_ASSIGN_OR_RETURN(v, NormalizeValue(*t, c, *it));
    } else if (c.default_value.kind == ColumnDefault::kValue) {
      EL_ASSIGN_OR_RETURN(v, NormalizeValue(*t, c, c.default_value.value));
    } else if (c.default_value.kind == ColumnDefault::kNow ||
               c.name == t->policy.timestamp_column) {
      EL_ASSIGN_OR_RETURN(v, NormalizeValue(*t, c, IsoFromMs(now_ms)));
    } else if (c.default_value.kind == ColumnDefault::kUuid) {
      v = NewMutationId();
    } else if (c.not_null && c.default_value.kind != ColumnDefault::kServer) {
      return Status::Schema(t->name + "." + c.name + " is NOT NULL and has no value");
    }
    full[c.name] = std::move(v);
  }
  EL_ASSIGN_OR_RETURN(json key, KeyOf(*t, full));
  Txn txn(store_);
  EL_RETURN_IF_ERROR(BeginWrite(&txn));
  EL_ASSIGN_OR_RETURN(RowState state, overlay_->Load(*t, key));
  if (state.Merged(*t)) {
    return Status::Conflict(t->name + " row " + Dump(key) + " already exists");
  }
  EL_ASSIGN_OR_RETURN(std::string id, Record(*t, std::move(state), "insert", key, std::move(full),
                                             json::object(), now_ms));
  EL_RETURN_IF_ERROR(CommitWrite(&txn));
  return id;
}

Result<std::string> WritePath::Update(std::string_view table, const json& key_in,
                                      const json& patch, int64_t now_ms) {
  EL_ASSIGN_OR_RETURN(const WriteTable* t, Writable(table));
  EL_ASSIGN_OR_RETURN(json key, NormalizeKey(*t, key_in));
  if (!patch.is_object()) return Status::InvalidArgument(t->name + ": patch must be an object");
  json normalized = json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const int i = t->ColumnIndex(it.key());
    if (i < 0) return Status::Schema("unknown column " + t->name + "." + it.key());
    const WriteColumn& c = t->columns[i];
    EL_ASSIGN_OR_RETURN(json v, NormalizeValue(*t, c, it.value()));
    if (v.is_null() && c.not_null) {
      return Status::Schema(t->name + "." + c.name + " is NOT NULL");
    }
    if (t->IsPrimaryKey(c.name) && v != key[c.name]) {
      return Status::InvalidArgument(t->name + ": the primary key cannot change (" + c.name +
                                     "); delete and insert instead");
    }
    normalized[c.name] = std::move(v);
  }
  Txn txn(store_);
  EL_RETURN_IF_ERROR(BeginWrite(&txn));
  EL_ASSIGN_OR_RETURN(RowState state, overlay_->Load(*t, key));
  std::optional<json> current = state.Merged(*t);
  if (!current) return Status::NotFound(t->name + " row " + Dump(key) + " does not exist");
  json changed = json::object();
  for (auto it = normalized.begin(); it != normalized.end(); ++it) {
    if (!t->IsPrimaryKey(it.key()) && (*current)[it.key()] != it.value()) {
      changed[it.key()] = it.value();
    }
  }
  if (changed.empty()) return std::string();  // nothing changed: no mutation (txn rolls back)
  // Stamp the policy's timestamp column as the endpoint does (R1), for
  // every policy, so both sides compare the same values.
  const std::string& ts = t->policy.timestamp_column;
  if (!normalized.contains(ts) && t->ColumnIndex(ts) >= 0) {
    EL_ASSIGN_OR_RETURN(changed[ts], NormalizeValue(*t, t->columns[t->ColumnIndex(ts)],
                                                    IsoFromMs(now_ms)));
  }
  EL_ASSIGN_OR_RETURN(std::string id, Record(*t, std::move(state), "update", key,
                                             std::move(changed), std::move(*current), now_ms));
  EL_RETURN_IF_ERROR(CommitWrite(&txn));
  return id;
}

Result<std::string> WritePath::Delete(std::string_view table, const json& key_in,
                                      int64_t now_ms) {
  EL_ASSIGN_OR_RETURN(const WriteTable* t, Writable(table));
  EL_ASSIGN_OR_RETURN(json key, NormalizeKey(*t, key_in));
  Txn txn(store_);
  EL_RETURN_IF_ERROR(BeginWrite(&txn));
  EL_ASSIGN_OR_RETURN(RowState state, overlay_->Load(*t, key));
  std::optional<json> current = state.Merged(*t);
  if (!current) return Status::NotFound(t->name + " row " + Dump(key) + " does not exist");
  // A last-write-wins delete competes at its local time (server R4).
  json value = json::object();
  const std::string& ts = t->policy.timestamp_column;
  if (t->policy.kind == PolicyKind::kLastWriteWins && t->ColumnIndex(ts) >= 0) {
    EL_ASSIGN_OR_RETURN(value[ts], NormalizeValue(*t, t->columns[t->ColumnIndex(ts)],
                                                  IsoFromMs(now_ms)));
  }
  EL_ASSIGN_OR_RETURN(std::string id, Record(*t, std::move(state), "delete", key,
                                             std::move(value), std::move(*current), now_ms));
  EL_RETURN_IF_ERROR(CommitWrite(&txn));
  return id;
}

void WritePath::BeginSql(int64_t now_ms) {
  sql_now_ms_ = now_ms;
  sql_mutations_ = 0;
  sql_error_ = Status::Ok();
}

Status WritePath::EndSql(Status sqlite_status, int64_t* mutations) {
  if (mutations != nullptr) *mutations = sql_mutations_;
  Status s = sql_error_.ok() ? std::move(sqlite_status) : sql_error_;
  sql_error_ = Status::Ok();
  return s;
}

void WritePath::SqlWrite(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  auto* self = static_cast<WritePath*>(sqlite3_user_data(ctx));
  Status s = self->SqlWriteImpl(argc, argv);
  if (s.ok()) {
    sqlite3_result_null(ctx);
    return;
  }
  if (self->sql_error_.ok()) self->sql_error_ = s;
  const std::string msg = s.ToString();
  sqlite3_result_error(ctx, msg.c_str(), static_cast<int>(msg.size()));
}

// el_write(table, 'insert', new...) | (table, 'update', new..., old...) |
// (table, 'delete', old...), columns in declaration order.
Status WritePath::SqlWriteImpl(int argc, sqlite3_value** argv) {
  if (argc < 2) return Status::Internal("el_write: bad arguments");
  const std::string table(reinterpret_cast<const char*>(sqlite3_value_text(argv[0])));
  const std::string op(reinterpret_cast<const char*>(sqlite3_value_text(argv[1])));
  const WriteTable* t = Find(table);
  if (t == nullptr) return Status::NotFound("no synced table named \"" + table + "\"");
  const int n = static_cast<int>(t->columns.size());
  const int sets = op == "update" ? 2 : 1;
  if (argc != 2 + sets * n) return Status::Internal("el_write: column count mismatch");
  if (store_->InTransaction() == false) {
    return Status::Internal("el_write: SQL writes to synced tables must run inside a transaction");
  }
  in_sql_write_ = true;
  Result<std::string> r = SqlWriteOp(*t, op, argv);
  in_sql_write_ = false;
  if (!r.ok()) return r.status();
  if (!r.value().empty()) ++sql_mutations_;
  return Status::Ok();
}

Result<std::string> WritePath::SqlWriteOp(const WriteTable& table_ref, const std::string& op,
                                          sqlite3_value** argv) {
  const WriteTable* t = &table_ref;
  const std::string table = t->name;
  const int n = static_cast<int>(t->columns.size());
  auto row_at = [&](int set) {
    json row = json::object();
    for (int i = 0; i < n; ++i) {
      json v = ValueToJson(argv[2 + set * n + i]);
      if (!v.is_null() || set == 1) row[t->columns[i].name] = std::move(v);
    }
    return row;
  };
  Result<std::string> r = std::string();
  if (op == "insert") {
    r = Insert(table, row_at(0), sql_now_ms_);
  } else if (op == "update") {
    json now = json::object(), old = row_at(1), key = json::object();
    for (int i = 0; i < n; ++i) {
      now[t->columns[i].name] = ValueToJson(argv[2 + i]);
    }
    for (const std::string& k : t->primary_key) key[k] = old[k];
    json patch = json::object();
    for (auto it = now.begin(); it != now.end(); ++it) {
      if (it.value() != old[it.key()]) patch[it.key()] = it.value();
    }
    r = Update(table, key, patch, sql_now_ms_);
  } else if (op == "delete") {
    json old = row_at(0), key = json::object();
    for (const std::string& k : t->primary_key) key[k] = old[k];
    r = Delete(table, key, sql_now_ms_);
  } else {
    return Status::Internal("el_write: unknown op " + op);
  }
  return r;
}

Result<json> WritePath::PendingMutations() {
  EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> all, outbox_->All());
  json out = json::array();
  for (OutboxEntry& e : all) {
    if (const WriteTable* t = Find(e.table)) {
      e.key = RowToWire(*t, e.key);
      e.value = RowToWire(*t, e.value);
      e.base = RowToWire(*t, e.base);
    }
    out.push_back(e.ToJson());
  }
  return out;
}

Result<int64_t> WritePath::PendingCount() { return outbox_->CountUnacked(); }

Status WritePath::DiscardMutation(std::string_view id) {
  EL_ASSIGN_OR_RETURN(std::optional<OutboxEntry> e, outbox_->Get(id));
  if (!e) return Status::NotFound("no pending mutation " + std::string(id));
  if (e->status == "in_flight") {
    return Status::Conflict("mutation " + std::string(id) + " is being uploaded");
  }
  if (e->status == "acked") {
    return Status::Conflict("mutation " + std::string(id) + " was applied by the server");
  }
  const WriteTable* t = Find(e->table);
  Txn txn(store_);
  EL_RETURN_IF_ERROR(txn.Begin());
  EL_RETURN_IF_ERROR(outbox_->Remove(e->id));
  if (t != nullptr) {
    EL_RETURN_IF_ERROR(overlay_->Rebuild(*t, e->key, /*local_write=*/false));
    NoteChanged(*t, e->key);
  }
  return txn.Commit();
}

void WritePath::SetResolver(std::string_view table, bool registered) {
  if (registered) {
    resolvers_.insert(std::string(table));
  } else {
    resolvers_.erase(std::string(table));
  }
}

Status WritePath::ResolveConflict(std::string_view resolve_id, const json& row, int64_t now_ms) {
  auto it = resolves_.find(std::string(resolve_id));
  if (it == resolves_.end()) return Status::NotFound("no conflict to resolve: " +
                                                     std::string(resolve_id));
  const WriteTable* t = Find(it->second.table);
  if (t == nullptr) return Status::NotFound("table gone: " + it->second.table);
  if (!row.is_object()) return Status::InvalidArgument("resolved row must be an object");
  const json key = it->second.key;
  Txn txn(store_);
  EL_RETURN_IF_ERROR(txn.Begin());
  EL_ASSIGN_OR_RETURN(std::optional<json> synced, overlay_->ReadSynced(*t, key));
  // The row the resolver merged with: a rejection's reply, else the synced row.
  const std::optional<json> remote = it->second.remote ? it->second.remote : synced;
  // Unsent local mutations of the row are superseded by the resolution.
  EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> entries, outbox_->ForKey(t->name, key));
  for (const OutboxEntry& e : entries) {
    if (e.status == "pending" || e.status == "failed") EL_RETURN_IF_ERROR(outbox_->Remove(e.id));
  }
  EL_RETURN_IF_ERROR(overlay_->Rebuild(*t, key, /*local_write=*/true));
  NoteChanged(*t, key);
  if (remote) {
    json patch = json::object();
    for (auto c = row.begin(); c != row.end(); ++c) {
      if (t->IsPrimaryKey(c.key())) continue;
      const int i = t->ColumnIndex(c.key());
      if (i < 0) return Status::Schema("unknown column " + t->name + "." + c.key());
      EL_ASSIGN_OR_RETURN(json v, NormalizeValue(*t, t->columns[i], c.value()));
      // Also what the synced row does not hold yet, so the row shows the merge.
      const bool stale = synced && v != (*synced)[c.key()];
      if (v != (*remote)[c.key()] || stale) patch[c.key()] = std::move(v);
    }
    if (!patch.empty()) {
      // Based on the server's row, so the endpoint sees no conflict.
      EL_ASSIGN_OR_RETURN(RowState state, overlay_->Load(*t, key));
      EL_ASSIGN_OR_RETURN(std::string id, Record(*t, std::move(state), "update", key,
                                                 std::move(patch), *remote, now_ms));
      (void)id;
    }
    EL_RETURN_IF_ERROR(RecordConflict(*t, key, "resolved", row, RowToWire(*t, *remote),
                                      "custom resolver", "", now_ms));
  }
  EL_RETURN_IF_ERROR(txn.Commit());
  resolves_.erase(it);
  return Status::Ok();
}

std::vector<std::string> WritePath::TakeEvents() {
  std::vector<std::string> out;
  out.swap(events_);
  return out;
}

ChangeSet WritePath::TakeChanges() {
  ChangeSet out;
  std::swap(out, changes_);
  return out;
}

void WritePath::NoteChanged(const WriteTable& t, const json& key) {
  if (changes_.Unknown(t.name)) return;
  std::string k = "[";
  for (size_t i = 0; i < t.primary_key.size(); ++i) {
    if (i > 0) k += ',';
    auto it = key.find(t.primary_key[i]);
    bool ok = it != key.end();
    if (ok && it->is_string()) {
      AppendJsonStringFast(&k, it->get_ref<const std::string&>());
    } else if (ok && it->is_boolean()) {
      k += it->get<bool>() ? '1' : '0';
    } else if (ok && it->is_number_integer()) {
      ok = AppendKeyInt(&k, it->get<int64_t>());
    } else if (ok && it->is_number()) {
      ok = AppendKeyReal(&k, it->get<double>());
    } else {
      ok = false;
    }
    if (!ok) {
      changes_.AddUnknown(t.name);
      return;
    }
  }
  changes_.AddKey(t.name, t.primary_key, k + "]");
}

int64_t WritePath::TakeNewWrites() {
  const int64_t n = new_writes_;
  new_writes_ = 0;
  return n;
}

void WritePath::Emit(json event) { events_.push_back(Dump(event)); }

}  // namespace electrolite
