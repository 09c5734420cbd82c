// Overlay: the optimistic local rows of a table (`T__overlay`), kept apart
// from the synced mirror (`T__synced`) and merged with it by the view `T`.
//
// An overlay row is a cache of the row's outbox entries folded in order:
// op (insert/update/delete), the latest local values, a flag per changed
// column, the write id (mutation id of the latest write), `_el_yield` (the
// conflict policy let a concurrent server change show through) and
// `_el_seen` (the synced row it was last reconciled with, to notice a server
// change under it).
// Rebuild() recomputes it from the outbox, so a rejected or discarded
// mutation rolls back exactly its own columns. A new local write folds only
// itself onto the row (FoldLocal), which is the same fold: the overlay row
// is always the fold of the row's entries so far.
#ifndef ELECTROLITE_SRC_OVERLAY_H_
#define ELECTROLITE_SRC_OVERLAY_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"
#include "status.h"
#include "write_schema.h"

namespace electrolite {

class Outbox;
struct OutboxEntry;
class Stmt;
class Store;

// Binds a storage-form JSON value.
void BindJson(Stmt* st, int index, const Json& v);
// Reads column `col` of the current row as a storage-form JSON value.
Json ColumnJson(const Stmt& st, int col);

struct OverlayRow {
  std::string op;
  std::string write_id;
  bool yield = false;
  Json values;  // the columns flagged as changed
};

// What a local write reads of its row before writing it.
struct RowState {
  std::optional<Json> synced;        // T__synced's row
  std::optional<OverlayRow> overlay;  // T__overlay's row

  // The row as the view `T` shows it (the rules of WriteTable::OverlayDdl's view).
  std::optional<Json> Merged(const WriteTable& t) const;
};

class Overlay {
 public:
  // Both must outlive the overlay.
  Overlay(Store* store, Outbox* outbox) : store_(store), outbox_(outbox) {}

  // Recomputes the overlay row of `key` from its outbox entries (deleting it
  // when none are left). `local_write`: a new local write, so the row stops
  // yielding; otherwise the yield flag is kept.
  [[nodiscard]] Status Rebuild(const WriteTable& t, const Json& key, bool local_write);

  // Statement text is kept per table, checked against its column names;
  // a WriteTable seen before is trusted by address until ForgetTable(name),
  // which whoever replaces or changes a table passed here must call first.
  void ForgetTable(std::string_view name);

  // An object with every column of `t`, null: a row to fill (members exist,
  // so filling them inserts none).
  Json EmptyRow(const WriteTable& t) { return Sql(t).empty_row; }

  // The synced and overlay rows of `key`.
  [[nodiscard]] Result<RowState> Load(const WriteTable& t, const Json& key);
  // Whether `state` (loaded in this transaction) is the fold of the row's
  // outbox entries so far, as far as one index lookup tells: an overlay row
  // naming the row's newest entry, or neither. Every change that removes an
  // entry refolds the row (Rebuild), so this holds unless the tables were
  // edited behind the write path's back.
  // `key_text`: Outbox::KeyText of the row's key.
  [[nodiscard]] Result<bool> CanFold(const WriteTable& t, std::string_view key_text,
                                     const RowState& state);
  // Writes the overlay row after the new local write `e` was appended: `e`
  // folded onto state.overlay when CanFold said so (and `e`'s values round
  // trip through the outbox's JSON unchanged), else Rebuild(local_write).
  [[nodiscard]] Status FoldLocal(const WriteTable& t, RowState state,
                                 const OutboxEntry& e, bool can_fold);

  // The row as the app sees it (view `T`), the synced row, the overlay row.
  [[nodiscard]] Result<std::optional<Json>> ReadMerged(const WriteTable& t,
                                                                 const Json& key);
  [[nodiscard]] Result<std::optional<Json>> ReadSynced(const WriteTable& t,
                                                                 const Json& key);
  [[nodiscard]] Result<std::optional<OverlayRow>> Read(const WriteTable& t,
                                                       const Json& key);

  // Keys of overlay rows whose synced row changed since they were last
  // reconciled (written or decided); they count as reconciled afterwards.
  [[nodiscard]] Result<std::vector<Json>> TakeDirty(const WriteTable& t);
  [[nodiscard]] Status SetYield(const WriteTable& t, const Json& key, bool yield);

 private:
  // The SQL text of a table's statements, built once per column set.
  struct TableSql {
    std::vector<std::string> columns, primary_key;  // what it was built for
    const WriteTable* table = nullptr;              // last checked against
    // Column indexes in name order: rows are built in the order a JSON
    // object keeps its members (each one appended, none shifted).
    std::vector<size_t> by_name;
    Json empty_row;  // every column, null
    std::string pk_where;                           // "pk" = ?1 AND ...
    std::string select_merged, select_synced, select_overlay, upsert, remove;
  };
  const TableSql& Sql(const WriteTable& t);
  [[nodiscard]] Result<std::optional<Json>> ReadRow(const WriteTable& t,
                                                    const std::string& select, const Json& key);
  // INSERT OR REPLACE of the overlay row folded to (op, values).
  [[nodiscard]] Status Write(const WriteTable& t, const std::string& op,
                             const Json& values, const std::string& write_id, bool yield,
                             const std::optional<Json>& synced);
  Store* store_;
  Outbox* outbox_;
  std::map<std::string, TableSql, std::less<>> sql_;
  TableSql* last_sql_ = nullptr;  // the last one Sql() returned
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_OVERLAY_H_
