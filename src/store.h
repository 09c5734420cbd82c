// Store: a thin RAII wrapper over SQLite (database, statements, transactions).
//
// Errors carry SQLite's message and extended result code and map onto the
// engine's Status codes (SQLITE_FULL -> storage_full, SQLITE_IOERR -> io, ...).
#ifndef ELECTROLITE_SRC_STORE_H_
#define ELECTROLITE_SRC_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace electrolite {

class Store;

// A prepared statement. Move-only; finalized on destruction.
class Stmt {
 public:
  Stmt() = default;
  Stmt(Store* store, sqlite3_stmt* stmt) : store_(store), stmt_(stmt) {}
  ~Stmt();
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool valid() const { return stmt_ != nullptr; }
  sqlite3_stmt* raw() const { return stmt_; }

  // Parameter indexes are 1-based, as in SQLite. Text/blob are copied only
  // if `transient`; otherwise the caller keeps them alive until Step/Reset.
  void BindNull(int index);
  void BindInt64(int index, int64_t v);
  void BindDouble(int index, double v);
  void BindText(int index, std::string_view v, bool transient = true);
  void BindBlob(int index, const void* data, int size);

  // true = a row is available, false = done.
  [[nodiscard]] Result<bool> Step();
  // Steps to completion, expecting no rows (or ignoring them).
  [[nodiscard]] Status Run();
  void Reset();  // reset + clear bindings

  int ColumnCount() const;
  int ColumnType(int col) const;  // SQLITE_INTEGER, ...
  const char* ColumnName(int col) const;
  int64_t ColumnInt64(int col) const;
  double ColumnDouble(int col) const;
  std::string_view ColumnText(int col) const;
  bool ColumnIsNull(int col) const;

 private:
  Store* store_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Store {
 public:
  // vfs: "" = default. path ":memory:" = in-memory.
  static Result<std::unique_ptr<Store>> Open(const std::string& path, const std::string& vfs);

  // Durable file storage, set before the first access (the wasm VFSes have no shared
  // memory, so WAL needs exclusive locking): locking_mode=EXCLUSIVE, journal_mode=WAL,
  // synchronous=`synchronous` ("full" or "normal"), WAL bounded (auto-checkpoint every
  // 1000 pages, truncated back to 1 MB after a checkpoint), temp files in memory.
  [[nodiscard]] Status ApplyDurability(const std::string& synchronous);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  sqlite3* raw() const { return db_; }

  // Runs one or more statements with no parameters.
  [[nodiscard]] Status Exec(std::string_view sql);
  // Runs one statement with no parameters, prepared once (Cached); errors
  // read as Exec's. For the statements every transaction runs (BEGIN, COMMIT).
  [[nodiscard]] Status ExecCached(const std::string& sql);
  [[nodiscard]] Result<Stmt> Prepare(std::string_view sql);
  // A statement cached by its SQL text (prepared once, reset on return).
  // The pointer stays valid until ClearCache() or destruction.
  [[nodiscard]] Result<Stmt*> Cached(const std::string& sql);
  void ClearCache();

  // Status for SQLite result code `rc` using the connection's last message.
  Status Error(int rc, std::string_view what) const;

  int64_t Changes() const;
  bool InTransaction() const;

  // Single-value helpers.
  [[nodiscard]] Result<int64_t> QueryInt64(std::string_view sql);
  [[nodiscard]] Result<bool> TableExists(std::string_view name);

  // Schema text run once per database: the engine records the DDL it ran
  // under a key in `_el_kv` (key TEXT PRIMARY KEY, value TEXT; created by
  // CreateBookkeeping), so a reopen whose DDL is unchanged parses none of it.
  // SchemaRecorded: whether `key` holds exactly `ddl` (false while _el_kv does
  // not exist yet). RecordSchema: stores it. ExecSchema: runs `ddl` (one or
  // more idempotent statements: CREATE ... IF NOT EXISTS, ...) and records it,
  // unless it is recorded already.
  [[nodiscard]] Result<bool> SchemaRecorded(std::string_view key, std::string_view ddl);
  [[nodiscard]] Status RecordSchema(std::string_view key, std::string_view ddl);
  [[nodiscard]] Status ExecSchema(std::string_view key, std::string_view ddl);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Stmt>> cache_;
};

// A transaction (or a savepoint when one is already open). Rolls back on
// destruction unless committed.
class Txn {
 public:
  explicit Txn(Store* store) : store_(store) {}
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  [[nodiscard]] Status Begin();
  [[nodiscard]] Status Commit();
  void Rollback();
  bool active() const { return active_; }

 private:
  Store* store_;
  bool active_ = false;
  bool savepoint_ = false;
};

// Quotes an SQL identifier: "a""b".
std::string QuoteIdent(std::string_view name);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_STORE_H_
