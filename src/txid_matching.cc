#include "txid_matching.h"

#include "response_applier.h"
#include "shape.h"
#include "store.h"
#include "write_path.h"

namespace electrolite {

Status TxidMatching::OnApplied(const Shape& shape, const ResponseApplier& applier,
                               int64_t now_ms) {
  const std::string& table = shape.def().table;
  if (!applier.txids().empty()) {
    EL_ASSIGN_OR_RETURN(
        Stmt * ins, store_->Cached("INSERT OR IGNORE INTO _el_txids (shape_id, txid) VALUES (?1, ?2)"));
    for (int64_t t : applier.txids()) {
      ins->BindText(1, shape.def().id);
      ins->BindInt64(2, t);
      EL_RETURN_IF_ERROR(ins->Run());
    }
  }
  EL_ASSIGN_OR_RETURN(bool refetching, Refetching(table));
  if (applier.snapshot_end()) {
    EL_RETURN_IF_ERROR(writes_->OnSnapshotEnd(table, applier.xmin(), applier.xmax(), applier.xip(),
                                              refetching));
  }
  return writes_->OnChangesApplied(table, applier.txids(), now_ms, refetching);
}

Result<bool> TxidMatching::Refetching(const std::string& table) {
  EL_ASSIGN_OR_RETURN(Stmt * st, store_->Cached(
      "SELECT count(*) FROM _el_shapes WHERE table_name = ?1 AND refetching <> 0"));
  st->BindText(1, table);
  Result<bool> row = st->Step();
  const bool refetching = row.ok() && row.value() && st->ColumnInt64(0) > 0;
  st->Reset();
  if (!row.ok()) return row.status();
  return refetching;
}

}  // namespace electrolite
