#include "store.h"

#include <sqlite3.h>

#include "vfs_control.h"

namespace electrolite {

namespace {

// Full storage (disk, OPFS quota) reads the same everywhere, whatever SQLite called it.
std::string Described(int rc, std::string msg) {
  if ((rc & 0xff) == SQLITE_FULL) return "storage full (no space left on disk or in the browser's storage quota): " + msg;
  return msg;
}

Code CodeForSqlite(int rc) {
  switch (rc & 0xff) {
    case SQLITE_FULL: return Code::kStorageFull;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_PROTOCOL: return Code::kIo;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Code::kCorruption;
    case SQLITE_READONLY: return Code::kReadOnly;
    case SQLITE_CONSTRAINT: return Code::kConflict;
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG: return Code::kInvalidArgument;
    case SQLITE_AUTH:
    case SQLITE_PERM: return Code::kAuth;
    default: return Code::kInternal;
  }
}

}  // namespace

Stmt::~Stmt() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Stmt::Stmt(Stmt&& other) noexcept : store_(other.store_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    store_ = other.store_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

void Stmt::BindNull(int index) { sqlite3_bind_null(stmt_, index); }
void Stmt::BindInt64(int index, int64_t v) { sqlite3_bind_int64(stmt_, index, v); }
void Stmt::BindDouble(int index, double v) { sqlite3_bind_double(stmt_, index, v); }
void Stmt::BindText(int index, std::string_view v, bool transient) {
  sqlite3_bind_text(stmt_, index, v.data(), static_cast<int>(v.size()),
                    transient ? SQLITE_TRANSIENT : SQLITE_STATIC);
}
void Stmt::BindBlob(int index, const void* data, int size) {
  sqlite3_bind_blob(stmt_, index, data, size, SQLITE_TRANSIENT);
}

Result<bool> Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status s = store_->Error(rc, "step");
  sqlite3_reset(stmt_);
  return s;
}

Status Stmt::Run() {
  for (;;) {
    Result<bool> r = Step();
    if (!r.ok()) return r.status();
    if (!r.value()) break;
  }
  sqlite3_reset(stmt_);
  return Status::Ok();
}

void Stmt::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int Stmt::ColumnCount() const { return sqlite3_column_count(stmt_); }
int Stmt::ColumnType(int col) const { return sqlite3_column_type(stmt_, col); }
const char* Stmt::ColumnName(int col) const { return sqlite3_column_name(stmt_, col); }
int64_t Stmt::ColumnInt64(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::ColumnDouble(int col) const { return sqlite3_column_double(stmt_, col); }
std::string_view Stmt::ColumnText(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return std::string_view(reinterpret_cast<const char*>(p),
                          static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}
bool Stmt::ColumnIsNull(int col) const { return ColumnType(col) == SQLITE_NULL; }

Result<std::unique_ptr<Store>> Store::Open(const std::string& path, const std::string& vfs) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (db != nullptr) sqlite3_close(db);
    return Status(CodeForSqlite(rc), "open " + path + ": " + msg);
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<Store> store(new Store(db));
  return store;
}

Status Store::ApplyDurability(const std::string& synchronous) {
  std::string sync = synchronous == "normal" ? "NORMAL" : "FULL";
  EL_RETURN_IF_ERROR(Exec("PRAGMA locking_mode=EXCLUSIVE"));
  EL_ASSIGN_OR_RETURN(Stmt stmt, Prepare("PRAGMA journal_mode=WAL"));
  EL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  std::string mode = row ? std::string(stmt.ColumnText(0)) : std::string();
  if (mode != "wal" && mode != "memory") {
    return Status::Io("storage: could not switch to WAL (journal_mode is " + mode + ")");
  }
  // The WAL restarts after each auto-checkpoint (1000 pages, ~4.1 MB) without being cut
  // below 5 MB, so on disk it keeps the bytes the next commits overwrite (vfs/wal_space.h).
  EL_RETURN_IF_ERROR(Exec("PRAGMA synchronous=" + sync +
                          "; PRAGMA wal_autocheckpoint=1000; PRAGMA journal_size_limit=5242880;"
                          " PRAGMA temp_store=MEMORY"));
  // Our VFS joins a commit's WAL frames into one host write, handed over with the commit
  // frame itself, so a failed write still fails that commit (vfs/write_combiner.h).
  int combine = 1;
  sqlite3_file_control(db_, "main", kFcntlCombineWrites, &combine);
  return Status::Ok();
}

Store::~Store() {
  cache_.clear();
  if (db_ != nullptr) sqlite3_close(db_);
}

Status Store::Error(int rc, std::string_view what) const {
  std::string msg(what);
  msg += ": ";
  msg += sqlite3_errmsg(db_);
  msg += " (sqlite ";
  msg += std::to_string(rc);
  msg += ")";
  return Status(CodeForSqlite(rc), Described(rc, std::move(msg)));
}

Status Store::Exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Status(CodeForSqlite(rc), Described(rc, msg + " (sqlite " + std::to_string(rc) + ")"));
  }
  return Status::Ok();
}

Status Store::ExecCached(const std::string& sql) {
  EL_ASSIGN_OR_RETURN(Stmt * st, Cached(sql));
  int rc;
  while ((rc = sqlite3_step(st->raw())) == SQLITE_ROW) {
  }
  if (rc == SQLITE_DONE) rc = SQLITE_OK;
  std::string msg = rc == SQLITE_OK ? std::string() : sqlite3_errmsg(db_);
  sqlite3_reset(st->raw());
  if (rc != SQLITE_OK) {
    return Status(CodeForSqlite(rc), Described(rc, msg + " (sqlite " + std::to_string(rc) + ")"));
  }
  return Status::Ok();
}

Result<Stmt> Store::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "prepare");
  if (stmt == nullptr) return Status::InvalidArgument("empty SQL statement");
  return Stmt(this, stmt);
}

Result<Stmt*> Store::Cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  Result<Stmt> r = Prepare(sql);
  if (!r.ok()) return r.status();
  auto owned = std::make_unique<Stmt>(std::move(r).value());
  Stmt* p = owned.get();
  cache_.emplace(sql, std::move(owned));
  return p;
}

void Store::ClearCache() { cache_.clear(); }

int64_t Store::Changes() const { return sqlite3_changes64(db_); }

bool Store::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

Result<int64_t> Store::QueryInt64(std::string_view sql) {
  EL_ASSIGN_OR_RETURN(Stmt stmt, Prepare(sql));
  EL_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return Status::NotFound("no row");
  return stmt.ColumnInt64(0);
}

Result<bool> Store::TableExists(std::string_view name) {
  EL_ASSIGN_OR_RETURN(Stmt* stmt,
                      Cached("SELECT 1 FROM sqlite_master WHERE name = ?1 AND type IN "
                             "('table','view')"));
  stmt->BindText(1, name);
  Result<bool> row = stmt->Step();
  stmt->Reset();
  return row;
}

Result<bool> Store::SchemaRecorded(std::string_view key, std::string_view ddl) {
  // Before CreateBookkeeping first ran, _el_kv does not exist: nothing is recorded.
  Result<Stmt*> get = Cached("SELECT value FROM _el_kv WHERE key = ?1");
  if (!get.ok()) return false;
  Stmt* st = get.value();
  st->BindText(1, key);
  Result<bool> row = st->Step();
  const bool same = row.ok() && row.value() && st->ColumnText(0) == ddl;
  st->Reset();
  if (!row.ok()) return row.status();
  return same;
}

Status Store::RecordSchema(std::string_view key, std::string_view ddl) {
  EL_ASSIGN_OR_RETURN(Stmt * put, Cached("INSERT OR REPLACE INTO _el_kv (key, value) VALUES (?1, ?2)"));
  put->BindText(1, key);
  put->BindText(2, ddl);
  Status s = put->Run();
  put->Reset();
  return s;
}

Status Store::ExecSchema(std::string_view key, std::string_view ddl) {
  EL_ASSIGN_OR_RETURN(bool recorded, SchemaRecorded(key, ddl));
  if (recorded) return Status::Ok();
  EL_RETURN_IF_ERROR(Exec(ddl));
  return RecordSchema(key, ddl);
}

Txn::~Txn() {
  if (active_) Rollback();
}

Status Txn::Begin() {
  savepoint_ = store_->InTransaction();
  // Prepared once: every local write runs these (sqlite3_exec parses anew).
  Status s = store_->ExecCached(savepoint_ ? "SAVEPOINT el_txn" : "BEGIN IMMEDIATE");
  if (s.ok()) active_ = true;
  return s;
}

Status Txn::Commit() {
  if (!active_) return Status::Internal("commit without begin");
  Status s = store_->ExecCached(savepoint_ ? "RELEASE el_txn" : "COMMIT");
  if (!s.ok()) {
    Rollback();
    return s;
  }
  active_ = false;
  return s;
}

void Txn::Rollback() {
  if (!active_) return;
  active_ = false;
  if (savepoint_) {
    (void)store_->Exec("ROLLBACK TO el_txn; RELEASE el_txn");
  } else if (store_->InTransaction()) {
    (void)store_->Exec("ROLLBACK");
  }
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += "\"\"";
    else out += c;
  }
  out += '"';
  return out;
}

}  // namespace electrolite
