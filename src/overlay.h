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
// mutation rolls back exactly its own columns.
#ifndef ELECTROLITE_SRC_OVERLAY_H_
#define ELECTROLITE_SRC_OVERLAY_H_

#include <optional>
#include <string>
#include <vector>

#include "json.h"
#include "status.h"
#include "write_schema.h"

namespace electrolite {

class Outbox;
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

class Overlay {
 public:
  // Both must outlive the overlay.
  Overlay(Store* store, Outbox* outbox) : store_(store), outbox_(outbox) {}

  // Recomputes the overlay row of `key` from its outbox entries (deleting it
  // when none are left). `local_write`: a new local write, so the row stops
  // yielding; otherwise the yield flag is kept.
  [[nodiscard]] Status Rebuild(const WriteTable& t, const Json& key, bool local_write);

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
  [[nodiscard]] Result<std::optional<Json>> ReadRow(const WriteTable& t,
                                                              const std::string& relation,
                                                              const Json& key);
  Store* store_;
  Outbox* outbox_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_OVERLAY_H_
