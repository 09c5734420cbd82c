// SyncedTables: the local mirror of each declared table and the hot apply
// path for change messages (docs/engine-api.md "Storage layout").
//
// For table T: `T__synced` holds the server's rows (SQLite types by
// pg_value.h), `T__stage` (created on demand) holds a re-fetched snapshot
// until it replaces T's rows, and the view `T` is what the app reads. The
// view is (re)built by a replaceable ViewBuilder so the write path can merge
// its overlay in. Declarations (including columns learnt from the server) are
// persisted in `_el_tables`; new server columns are added with ALTER TABLE.
#ifndef ELECTROLITE_SRC_SYNCED_TABLES_H_
#define ELECTROLITE_SRC_SYNCED_TABLES_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "message_decoder.h"
#include "pg_value.h"
#include "status.h"
#include "store.h"
#include "table_decl.h"

namespace electrolite {

// Builds view `T` for a table whose T__synced exists. Must be idempotent
// (drop + create).
using ViewBuilder = std::function<Status(Store& store, const TableDecl& decl)>;

// The per-column conversion a shape applies: its schema header's type when
// the column is in the header, else the declared type.
struct ShapeColumn {
  TypeClass cls = TypeClass::kText;
  int dims = 0;
  bool not_null = false;
};

class SyncedTable {
 public:
  static constexpr int kMaxColumns = 128;

  SyncedTable(Store* store, TableDecl decl) : store_(store), decl_(std::move(decl)) {}

  const TableDecl& decl() const { return decl_; }
  bool materialized() const { return materialized_; }
  const std::string& synced_name() const { return synced_name_; }
  int ColumnIndex(std::string_view name) const;

  // Creates T__synced (and the view) if the declaration has columns.
  // `saved`: the declaration _el_tables holds for this table, when the caller
  // has read it already (else it is looked up).
  Status Materialize(const ViewBuilder& view_builder, const TableDecl* saved = nullptr);
  // Adds columns from a server schema header that the table lacks (and, for
  // a table declared without columns, adopts the header's columns and PK).
  // Sets *changed when DDL ran.
  Status MergeServerColumns(const std::vector<ColumnDecl>& server, const ViewBuilder& builder,
                            bool* changed);

  // Applies one change message to T__synced (or T__stage when `stage`).
  // REQUIRES: inside a transaction; `cols` indexed like decl().columns.
  Status Apply(const ShapeMessage& m, const std::vector<ShapeColumn>& cols, bool stage);
  // Deletes the row whose primary key is the JSON array `row` (RowIdOf's
  // form) from T__synced (or T__stage). REQUIRES: inside a transaction.
  Status DeleteRow(const std::string& row, bool stage);
  // Stage handling for must-refetch.
  Status EnsureStage();
  Status ClearStage();
  // Replaces the synced rows with the staged ones (in the caller's txn).
  // `replace_all`: delete synced rows absent from the stage.
  Status SwapStage(bool replace_all);

  // Bulk load of an initial snapshot: T__synced's key index is left out
  // while the snapshot's inserts go in as plain INSERTs, and built once when
  // anything else comes (EnsureIndexed). The index's absence is the state: it
  // commits with the rows and the shape's offset, so after a crash the table
  // and the offset agree, and the next response goes on or builds the index.
  //
  // Called in each applied response's transaction before its messages.
  // `eligible`: this shape alone feeds the table and the response is a
  // non-live, non-refetch 200; `initial`: the shape starts from offset -1.
  // Starts a bulk load when eligible, initial and T__synced is empty; ends
  // one (EnsureIndexed) when not eligible. Returns whether inserts load in bulk.
  Result<bool> PrepareBulkLoad(bool eligible, bool initial);
  // Builds the key index if a bulk load left it out. Duplicate keys (a
  // malformed snapshot) keep the row inserted last, as upserting them one by
  // one would, and are counted (TakeDuplicateKeys). Every path that needs the
  // key unique (upserts, updates, deletes, the stage) calls it first.
  Status EnsureIndexed();
  int64_t TakeDuplicateKeys() {
    int64_t n = duplicate_keys_;
    duplicate_keys_ = 0;
    return n;
  }
  // After the caller's transaction rolled back: what it did to the key index
  // (and the duplicates it counted) is undone, so the state is read again.
  void RolledBack() {
    key_ = KeyState::kUnknown;
    duplicate_keys_ = 0;
  }

  int64_t rows_applied() const { return rows_applied_; }
  // Primary key column indexes, and the values the last Apply converted
  // (valid until the next Apply), for reporting changed keys.
  const std::vector<int>& pk_columns() const { return pk_cols_; }
  const SqlValue& last_value(int index) const { return values_[index]; }
  // Restores an earlier in-memory declaration after a rolled-back DDL.
  void Restore(const TableDecl& decl, bool materialized);

 private:
  struct StmtKey {
    uint8_t op;
    uint8_t stage;
    uint64_t lo, hi;
    bool operator==(const StmtKey& o) const {
      return op == o.op && stage == o.stage && lo == o.lo && hi == o.hi;
    }
  };
  struct StmtKeyHash {
    size_t operator()(const StmtKey& k) const {
      return static_cast<size_t>(k.lo * 0x9e3779b97f4a7c15ULL ^ k.hi ^ (k.op << 1) ^ k.stage);
    }
  };

  // How T__synced's key is kept: a named unique index, inline (tables made
  // before bulk loads existed), or not at all (a bulk load is under way).
  enum class KeyState : uint8_t { kUnknown, kIndexed, kInline, kBulk };
  static constexpr uint8_t kBulkInsertOp = 0xff;  // StmtKey.op of a plain INSERT

  Result<KeyState> ReadKeyState();
  Result<Stmt*> StatementFor(Operation op, bool stage, const StmtKey& key);
  std::string TargetName(bool stage) const;
  Status SaveDecl(const std::string& decl_json);
  void RebuildIndex();

  Store* store_;
  TableDecl decl_;
  bool materialized_ = false;
  std::string synced_name_;
  std::unordered_map<std::string_view, int> index_;
  std::vector<int> pk_cols_;
  std::unordered_map<StmtKey, std::unique_ptr<Stmt>, StmtKeyHash> stmts_;
  // Scratch reused per row.
  std::vector<SqlValue> values_;
  std::vector<std::string> scratch_;
  uint64_t all_lo_ = 0, all_hi_ = 0;  // bits of every declared column
  Stmt* last_stmt_ = nullptr;         // the statement of the previous row
  StmtKey last_key_{};
  int hint_ = 0;
  int64_t rows_applied_ = 0;
  KeyState key_ = KeyState::kUnknown;
  int64_t duplicate_keys_ = 0;
};

// The default ViewBuilder: `CREATE VIEW T AS SELECT <columns> FROM T__synced`.
Status BuildPlainView(Store& store, const TableDecl& decl);

// Creates the bookkeeping tables (_el_tables, _el_shapes, _el_txids, _el_kv,
// and row_tags.h's _el_tags and _el_tag_conditions).
Status CreateBookkeeping(Store& store);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_SYNCED_TABLES_H_
