// WritePath: local writes, the outbox, the optimistic overlay and the client
// side of conflict handling (DESIGN.md "Write path").
//
// A local write - typed (Insert/Update/Delete) or plain SQL on the view `T`,
// whose INSTEAD OF triggers call the SQL function el_write() - is validated
// against the table's declaration and policy, then appends an outbox entry
// and rebuilds the row's overlay in one SQLite transaction (a savepoint when
// the caller already holds one), so a crash keeps both or neither.
//
// Server side effects arrive through the hooks below, each inside the
// caller's transaction: upload answers (Acked/Rejected, from Uploader) and
// shape applies (OnChangesApplied/OnSnapshotEnd, from the engine's apply
// transaction), where txid matching drops acknowledged overlay rows together
// with the synced rows that carry them (no flicker), and a server change under
// a pending local edit is decided by the table's policy until the server's
// final answer.
//
// Events (conflict, resolve, tables-changed) are buffered; the engine flushes
// them after its transaction commits (TakeEvents) or drops them on rollback.
#ifndef ELECTROLITE_SRC_WRITE_PATH_H_
#define ELECTROLITE_SRC_WRITE_PATH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "change_set.h"
#include "env.h"
#include "json.h"
#include "outbox.h"
#include "overlay.h"
#include "status.h"
#include "write_schema.h"

struct sqlite3_context;
struct sqlite3_value;

namespace electrolite {

class Store;
class Txn;

class WritePath {
 public:
  // `store` and `env` must outlive the write path.
  WritePath(Store* store, Env* env);
  ~WritePath();
  WritePath(const WritePath&) = delete;
  WritePath& operator=(const WritePath&) = delete;

  // Creates the bookkeeping tables and registers el_write() on the connection.
  [[nodiscard]] Status Init();
  // (Re)creates T__overlay (adding new columns), the view T and its triggers.
  // REQUIRES: T__synced exists with every column of `table`.
  [[nodiscard]] Status DeclareTable(WriteTable table);
  const WriteTable* Find(std::string_view name) const;

  // ---- local writes: the mutation id, "" when nothing changed ----
  [[nodiscard]] Result<std::string> Insert(std::string_view table, const Json& row,
                                           int64_t now_ms);
  [[nodiscard]] Result<std::string> Update(std::string_view table, const Json& key,
                                           const Json& patch, int64_t now_ms);
  [[nodiscard]] Result<std::string> Delete(std::string_view table, const Json& key,
                                           int64_t now_ms);

  // Brackets one SQL statement that may write views: writes made by its
  // triggers use `now_ms`. EndSql returns the validation error a trigger
  // raised (SQLite only saw a generic function error), else `sqlite_status`.
  // REQUIRES: the statement runs inside a transaction.
  void BeginSql(int64_t now_ms);
  [[nodiscard]] Status EndSql(Status sqlite_status, int64_t* mutations);

  // ---- inspection ----
  // [{id, table, op, key, value, base, localMs, status, reason?, txid?}] (wire form).
  [[nodiscard]] Result<Json> PendingMutations();
  // Mutations the server has not acknowledged (pending, in flight, failed).
  [[nodiscard]] Result<int64_t> PendingCount();
  // Drops a mutation that is not in flight and rolls its overlay back.
  [[nodiscard]] Status DiscardMutation(std::string_view id);
  // {conflicts: [{table, policy, outcome, count}], recentConflicts: [...]}.
  [[nodiscard]] Result<Json> Metrics();

  // ---- custom resolvers (sans-IO: a `resolve` event, answered here) ----
  void SetResolver(std::string_view table, bool registered);
  // Applies the app's resolved row for resolve event `resolve_id`.
  [[nodiscard]] Status ResolveConflict(std::string_view resolve_id, const Json& row,
                                       int64_t now_ms);

  // ---- upload answers (caller holds the transaction) ----
  [[nodiscard]] Status Acked(const OutboxEntry& e, int64_t txid);
  [[nodiscard]] Status Rejected(const OutboxEntry& e, std::string_view reason,
                                const Json& server_row, int64_t now_ms);

  // ---- shape applies (inside the apply transaction) ----
  // After each applied shape response of `table` (also one without changes);
  // `txids`: the 32-bit xids in its change headers. `refetching`: the table's
  // new rows still wait in T__stage, so acknowledged writes are not dropped
  // on a snapshot's word until the swap.
  [[nodiscard]] Status OnChangesApplied(std::string_view table, const std::vector<int64_t>& txids,
                                        int64_t now_ms, bool refetching = false);
  // A snapshot-end (xid8 values as decimal strings); before OnChangesApplied.
  [[nodiscard]] Status OnSnapshotEnd(std::string_view table, std::string_view xmin,
                                     std::string_view xmax, const std::vector<std::string>& xip,
                                     bool refetching = false);

  // Buffered events (JSON objects), oldest first.
  std::vector<std::string> TakeEvents();
  void DropEvents() { events_.clear(); }
  // Events queued so far; TruncateEvents drops the ones queued after `mark`
  // (their transaction rolled back).
  size_t EventMark() const { return events_.size(); }
  void TruncateEvents(size_t mark) {
    if (events_.size() > mark) events_.resize(mark);
  }
  // Rows (by key) whose merged view changed since the last call (for
  // tables-changed).
  ChangeSet TakeChanges();

  Outbox& outbox() { return *outbox_; }
  Overlay& overlay() { return *overlay_; }
  // Mutations written since the last call (wakes the uploader).
  int64_t TakeNewWrites();
  // Queues an event for TakeEvents.
  void Emit(Json event);

 private:
  // Creates or extends T__overlay and (re)creates the view T and its triggers from `ddl`.
  [[nodiscard]] Status BuildOverlay(const WriteTable& table, const std::string& ddl);
  struct PendingResolve {
    std::string table;
    Json key;
    // The server row to merge with when it came in a rejection's reply
    // (the synced row may not hold it yet); otherwise the synced row.
    std::optional<Json> remote;
  };

  static void SqlWrite(sqlite3_context* ctx, int argc, sqlite3_value** argv);
  Status SqlWriteImpl(int argc, sqlite3_value** argv);
  Result<std::string> SqlWriteOp(const WriteTable& t, const std::string& op,
                                 sqlite3_value** argv);
  Status BeginWrite(Txn* txn);
  Status CommitWrite(Txn* txn);

  // Appends the outbox entry and folds it into the overlay row; `state`: the
  // row as loaded in this transaction before the write.
  Result<std::string> Record(const WriteTable& t, RowState state, std::string op,
                             Json key, Json value, Json base, int64_t now_ms);
  Result<Json> NormalizeKey(const WriteTable& t, const Json& key);
  Result<const WriteTable*> Writable(std::string_view table);
  std::string NewMutationId();
  Status MatchSeenTxid(const OutboxEntry& e, bool* matched);
  // Drops an acked mutation whose values the synced row already holds (a
  // `duplicate` answer carries no txid of the original write).
  Status DropIfConverged(const WriteTable& t, const OutboxEntry& e, bool* dropped);
  Status DecideConcurrent(const WriteTable& t, const Json& key, int64_t now_ms);
  // Emits a `resolve` event for the row (storage forms), or points the open
  // one at `remote`. `from_reply`: `remote` is a rejection's server row.
  void AskResolver(const WriteTable& t, const Json& key, const Json& local, Json remote,
                   bool from_reply);
  // Notes that the merged row of `key` (storage form) may have changed.
  void NoteChanged(const WriteTable& t, const Json& key);
  Status RecordConflict(const WriteTable& t, const Json& key, std::string_view outcome,
                        const Json& local, const Json& remote,
                        std::string_view reason, std::string_view mutation_id, int64_t now_ms);

  Store* store_;
  Env* env_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<Overlay> overlay_;
  std::map<std::string, WriteTable, std::less<>> tables_;
  std::set<std::string, std::less<>> resolvers_;
  std::map<std::string, PendingResolve> resolves_;
  std::vector<std::string> events_;
  ChangeSet changes_;
  int64_t new_writes_ = 0;
  // SQL statement bracket.
  int64_t sql_now_ms_ = 0;
  int64_t sql_mutations_ = 0;
  Status sql_error_;
  bool in_sql_write_ = false;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_WRITE_PATH_H_
