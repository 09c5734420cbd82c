#include "outbox.h"

#include "store.h"
#include "write_schema.h"

namespace electrolite {

namespace {

using json = Json;

constexpr char kColumns[] =
    "seq, id, tbl, op, key, value, base, local_ms, status, reason, txid, attempts";

// op and status are checked with comparisons, not IN lists: SQLite codes a
// constant IN list of more than two values as an ephemeral table that every
// insert (and every status update) builds anew.
constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS _el_outbox ("
    " seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE,"
    " tbl TEXT NOT NULL,"
    " op TEXT NOT NULL CHECK (op = 'insert' OR op = 'update' OR op = 'delete'),"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " base TEXT NOT NULL,"
    " local_ms INTEGER NOT NULL,"
    " status TEXT NOT NULL CHECK (status = 'pending' OR status = 'in_flight' OR"
    " status = 'acked' OR status = 'failed'),"
    " reason TEXT,"
    " txid INTEGER,"
    " attempts INTEGER NOT NULL DEFAULT 0)";

// The unacknowledged count (`_el_outbox_stats`) is kept by the statements
// below in the same transactions as the outbox rows themselves; earlier
// builds kept it with triggers, which made every insert a multi-statement
// program with a statement journal. The count is recomputed here whenever
// this text changes (so also on the first open after an upgrade).
const std::string& Schema() {
  static const std::string* schema = new std::string(std::string(kCreateTable) + ";"
    "CREATE INDEX IF NOT EXISTS _el_outbox_row ON _el_outbox (tbl, key);"
    "CREATE INDEX IF NOT EXISTS _el_outbox_status ON _el_outbox (status, seq);"
    "CREATE TABLE IF NOT EXISTS _el_outbox_stats ("
    " id INTEGER PRIMARY KEY CHECK (id = 0), unacked INTEGER NOT NULL);"
    "DROP TRIGGER IF EXISTS _el_outbox_ai;"
    "DROP TRIGGER IF EXISTS _el_outbox_ad;"
    "DROP TRIGGER IF EXISTS _el_outbox_au;"
    "INSERT OR REPLACE INTO _el_outbox_stats (id, unacked)"
    " VALUES (0, (SELECT count(*) FROM _el_outbox WHERE status <> 'acked'));");
  return *schema;
}

// Changes of the unacked count; a status change or removal is counted before
// it runs (?1: the entry's id, ?2: its new status).
// (Built once: Store::Cached looks statements up by std::string.)
const std::string& CountAppend() {
  static const std::string* sql =
      new std::string("UPDATE _el_outbox_stats SET unacked = unacked + 1 WHERE id = 0");
  return *sql;
}
const std::string& CountStatus() {
  static const std::string* sql = new std::string(
      "UPDATE _el_outbox_stats SET unacked = unacked + coalesce((SELECT (status = 'acked') -"
      " (?2 = 'acked') FROM _el_outbox WHERE id = ?1), 0) WHERE id = 0");
  return *sql;
}
const std::string& CountRemove() {
  static const std::string* sql = new std::string(
      "UPDATE _el_outbox_stats SET unacked = unacked - coalesce((SELECT status <> 'acked'"
      " FROM _el_outbox WHERE id = ?1), 0) WHERE id = 0");
  return *sql;
}

// The caller's transaction, or one of its own when there is none, so an
// outbox change and its count change commit together.
class OwnTxn {
 public:
  explicit OwnTxn(Store* store) : store_(store), txn_(store) {}
  Status Begin() { return store_->InTransaction() ? Status::Ok() : txn_.Begin(); }
  Status Commit() { return txn_.active() ? txn_.Commit() : Status::Ok(); }

 private:
  Store* store_;
  Txn txn_;
};

json ParseOr(std::string_view text, json fallback) {
  json j = json::parse(text);
  return j.is_discarded() ? fallback : j;
}

}  // namespace

std::string Outbox::KeyText(const json& key) { return Dump(key); }

json OutboxEntry::ToJson() const {
  json j = {{"id", id},       {"table", table},   {"op", op},
            {"key", key},     {"value", value},   {"base", base},
            {"localMs", local_ms}, {"status", status}, {"attempts", attempts}};
  if (!reason.empty()) j["reason"] = reason;
  if (txid) j["txid"] = *txid;
  return j;
}

Status Outbox::Init() {
  OwnTxn txn(store_);
  EL_RETURN_IF_ERROR(txn.Begin());
  // Recorded once per database (Store::SchemaRecorded): a reopen neither parses
  // this nor rewrites the stats row, so opening writes nothing.
  EL_ASSIGN_OR_RETURN(bool recorded, store_->SchemaRecorded("schema:outbox", Schema()));
  if (!recorded) {
    EL_RETURN_IF_ERROR(UpgradeTable());
    EL_RETURN_IF_ERROR(store_->Exec(Schema()));
    EL_RETURN_IF_ERROR(store_->RecordSchema("schema:outbox", Schema()));
  }
  // A batch that was in flight when the process died was either applied
  // (the retry is answered `duplicate`) or not: resend it with the same ids.
  // Looked up first (index on status): the UPDATE is prepared only when
  // there is one. in_flight -> pending leaves the unacked count as it is.
  EL_ASSIGN_OR_RETURN(int64_t in_flight,
                      store_->QueryInt64("SELECT EXISTS (SELECT 1 FROM _el_outbox WHERE status = 'in_flight')"));
  if (in_flight != 0) {
    EL_RETURN_IF_ERROR(
        store_->Exec("UPDATE _el_outbox SET status = 'pending' WHERE status = 'in_flight'"));
  }
  return txn.Commit();
}

Status Outbox::UpgradeTable() {
  // Builds before this one checked op/status with IN lists, which SQLite
  // codes as two ephemeral tables built on every insert and status update.
  // A CHECK cannot be altered: the table is copied into the new definition
  // (in the caller's transaction; the indexes come back with Schema()).
  {
    EL_ASSIGN_OR_RETURN(Stmt st, store_->Prepare(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '_el_outbox'"));
    EL_ASSIGN_OR_RETURN(bool exists, st.Step());
    if (!exists || st.ColumnText(0).find("op IN (") == std::string_view::npos) return Status::Ok();
  }  // finalized: the DROP below needs sqlite_master unread
  return store_->Exec(std::string(
      "CREATE TABLE _el_outbox_old AS SELECT * FROM _el_outbox;"
      "DROP TABLE _el_outbox;") +  // its indexes and stats triggers go with it
      kCreateTable + ";"
      "INSERT INTO _el_outbox (" + kColumns + ") SELECT " + kColumns + " FROM _el_outbox_old;"
      "DROP TABLE _el_outbox_old;");
}

Status Outbox::AdjustUnacked(const std::string& sql, std::string_view id,
                             std::string_view status) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(sql));
  if (!id.empty()) st->BindText(1, id);
  if (!status.empty()) st->BindText(2, status);
  Status s = st->Run();
  st->Reset();
  return s;
}

Status Outbox::Append(const OutboxEntry& e) { return Append(e, {}); }

Status Outbox::Append(const OutboxEntry& e, std::string_view key_text) {
  OwnTxn txn(store_);
  EL_RETURN_IF_ERROR(txn.Begin());
  static const std::string* insert = new std::string(
      "INSERT INTO _el_outbox (id, tbl, op, key, value, base, local_ms, status, reason,"
      " attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(*insert));
  // Bound in place (not copied): everything outlives the run.
  const std::string key = key_text.empty() ? KeyText(e.key) : std::string();
  const std::string value = Dump(e.value), base = Dump(e.base);
  st->BindText(1, e.id, false);
  st->BindText(2, e.table, false);
  st->BindText(3, e.op, false);
  st->BindText(4, key_text.empty() ? std::string_view(key) : key_text, false);
  st->BindText(5, value, false);
  st->BindText(6, base, false);
  st->BindInt64(7, e.local_ms);
  st->BindText(8, e.status, false);
  if (e.reason.empty()) {
    st->BindNull(9);
  } else {
    st->BindText(9, e.reason, false);
  }
  st->BindInt64(10, e.attempts);
  Status s = st->Run();
  st->Reset();
  EL_RETURN_IF_ERROR(s);
  if (e.status != "acked") EL_RETURN_IF_ERROR(AdjustUnacked(CountAppend(), {}, {}));
  return txn.Commit();
}

Result<std::vector<OutboxEntry>> Outbox::Select(const std::string& where,
                                                const std::vector<std::string>& args,
                                                int limit) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM _el_outbox";
  if (!where.empty()) sql += " WHERE " + where;
  sql += " ORDER BY seq";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(sql));
  for (size_t i = 0; i < args.size(); ++i) st->BindText(static_cast<int>(i + 1), args[i]);
  std::vector<OutboxEntry> out;
  for (;;) {
    Result<bool> row = st->Step();
    if (!row.ok()) {
      st->Reset();
      return row.status();
    }
    if (!row.value()) break;
    OutboxEntry e;
    e.seq = st->ColumnInt64(0);
    e.id = std::string(st->ColumnText(1));
    e.table = std::string(st->ColumnText(2));
    e.op = std::string(st->ColumnText(3));
    e.key = ParseOr(st->ColumnText(4), json::object());
    e.value = ParseOr(st->ColumnText(5), json::object());
    e.base = ParseOr(st->ColumnText(6), json::object());
    e.local_ms = st->ColumnInt64(7);
    e.status = std::string(st->ColumnText(8));
    if (!st->ColumnIsNull(9)) e.reason = std::string(st->ColumnText(9));
    if (!st->ColumnIsNull(10)) e.txid = st->ColumnInt64(10);
    e.attempts = st->ColumnInt64(11);
    out.push_back(std::move(e));
  }
  st->Reset();
  return out;
}

Result<std::vector<OutboxEntry>> Outbox::ForKey(std::string_view table, const json& key) {
  return Select("tbl = ?1 AND key = ?2", {std::string(table), KeyText(key)}, 0);
}

Result<std::optional<std::string>> Outbox::LastIdForKey(std::string_view table,
                                                        std::string_view key_text) {
  static const std::string* select = new std::string(
      "SELECT id FROM _el_outbox WHERE tbl = ?1 AND key = ?2 ORDER BY seq DESC LIMIT 1");
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(*select));
  st->BindText(1, table, false);
  st->BindText(2, key_text, false);
  Result<bool> r = st->Step();
  std::optional<std::string> id;
  if (r.ok() && r.value()) id = std::string(st->ColumnText(0));
  st->Reset();
  if (!r.ok()) return r.status();
  return id;
}

Result<std::vector<OutboxEntry>> Outbox::NextBatch(int limit) {
  return Select("status = 'pending'", {}, limit < 1 ? 1 : limit);
}

Result<std::optional<OutboxEntry>> Outbox::Get(std::string_view id) {
  EL_ASSIGN_OR_RETURN(std::vector<OutboxEntry> v, Select("id = ?1", {std::string(id)}, 1));
  if (v.empty()) return std::optional<OutboxEntry>();
  return std::optional<OutboxEntry>(std::move(v[0]));
}

Result<std::vector<OutboxEntry>> Outbox::All() { return Select("", {}, 0); }

Result<std::vector<OutboxEntry>> Outbox::Acked(std::string_view table,
                                               std::optional<int64_t> txid) {
  if (!txid) return Select("status = 'acked' AND tbl = ?1", {std::string(table)}, 0);
  return Select("status = 'acked' AND tbl = ?1 AND txid = ?2",
                {std::string(table), std::to_string(*txid)}, 0);
}

Status Outbox::SetStatus(std::string_view id, std::string_view status, std::string_view reason) {
  OwnTxn txn(store_);
  EL_RETURN_IF_ERROR(txn.Begin());
  EL_RETURN_IF_ERROR(AdjustUnacked(CountStatus(), id, status));
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "UPDATE _el_outbox SET status = ?2, reason = ?3,"
      " attempts = attempts + (?2 = 'in_flight') WHERE id = ?1"));
  st->BindText(1, id);
  st->BindText(2, status);
  if (reason.empty()) {
    st->BindNull(3);
  } else {
    st->BindText(3, reason);
  }
  Status s = st->Run();
  st->Reset();
  EL_RETURN_IF_ERROR(s);
  return txn.Commit();
}

Status Outbox::MarkAcked(std::string_view id, int64_t txid) {
  OwnTxn txn(store_);
  EL_RETURN_IF_ERROR(txn.Begin());
  EL_RETURN_IF_ERROR(AdjustUnacked(CountStatus(), id, "acked"));
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "UPDATE _el_outbox SET status = 'acked', reason = NULL, txid = ?2 WHERE id = ?1"));
  st->BindText(1, id);
  st->BindInt64(2, txid);
  Status s = st->Run();
  st->Reset();
  EL_RETURN_IF_ERROR(s);
  return txn.Commit();
}

Status Outbox::Remove(std::string_view id) {
  OwnTxn txn(store_);
  EL_RETURN_IF_ERROR(txn.Begin());
  EL_RETURN_IF_ERROR(AdjustUnacked(CountRemove(), id, {}));
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached("DELETE FROM _el_outbox WHERE id = ?1"));
  st->BindText(1, id);
  Status s = st->Run();
  st->Reset();
  EL_RETURN_IF_ERROR(s);
  return txn.Commit();
}

Result<int64_t> Outbox::CountUnacked() {
  EL_ASSIGN_OR_RETURN(Stmt * st,
                      store_->Cached("SELECT unacked FROM _el_outbox_stats WHERE id = 0"));
  Result<bool> r = st->Step();
  const int64_t n = r.ok() && r.value() ? st->ColumnInt64(0) : 0;
  st->Reset();
  if (!r.ok()) return r.status();
  return n;
}

Result<int64_t> Outbox::CountByStatus(std::string_view status, int64_t limit) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "SELECT count(*) FROM (SELECT 1 FROM _el_outbox WHERE status = ?1 LIMIT ?2)"));
  st->BindText(1, status);
  st->BindInt64(2, limit);
  Result<bool> r = st->Step();
  const int64_t n = r.ok() && r.value() ? st->ColumnInt64(0) : 0;
  st->Reset();
  if (!r.ok()) return r.status();
  return n;
}

}  // namespace electrolite
