#include "subset_stream.h"

#include "row_tags.h"

namespace electrolite {

Subset* SubsetStreamGate::Find(const std::string& id) {
  for (auto& s : *subsets_) {
    if (s->id == id) return s.get();
  }
  return nullptr;
}

Status SubsetStreamGate::Retire(Subset* s) {
  s->snapshot_active = false;
  return book_->Save(*s);
}

Status SubsetStreamGate::SeenLsn(std::string_view lsn) { return Passed(lsn, /*strict=*/false); }

// Every transaction a snapshot saw is logged at or below its database_lsn:
// the stream at or past it (an up-to-date's global_last_seen_lsn) has brought
// them all; a change logged above it is of a transaction the snapshot did not see.
Status SubsetStreamGate::Passed(std::string_view lsn, bool strict) {
  uint64_t seen = 0;
  if (!ParseU64(lsn, &seen)) return Status::Ok();
  for (auto& s : *subsets_) {
    const uint64_t db = s->snapshot.database_lsn;
    if (s->snapshot_active && s->table == shape_->def().table && (strict ? db < seen : db <= seen)) {
      EL_RETURN_IF_ERROR(Retire(s.get()));
    }
  }
  return Status::Ok();
}

Status SubsetStreamGate::RetireBy(const ShapeMessage& m) {
  EL_RETURN_IF_ERROR(Passed(m.lsn, /*strict=*/true));
  for (auto& s : *subsets_) {
    if (s->snapshot_active && s->table == shape_->def().table && s->snapshot.PassedBy(m.txids)) {
      EL_RETURN_IF_ERROR(Retire(s.get()));
    }
  }
  return Status::Ok();
}

Result<bool> SubsetStreamGate::Keep(const ShapeMessage& m) {
  // Retired first: a snapshot this change passes did not see it.
  EL_RETURN_IF_ERROR(RetireBy(m));
  const SyncedTable& table = *shape_->table();
  bool safe = true;
  EL_RETURN_IF_ERROR(RowIdOf(table, m, shape_->columns(), &row_, &safe));
  EL_ASSIGN_OR_RETURN(std::vector<std::string> holders, book_->Holders(table.decl().name, row_));
  for (const std::string& id : holders) {
    const Subset* s = Find(id);
    if (s != nullptr && s->snapshot_active && s->snapshot.SawChange(m.txids)) {
      dropped_++;
      return false;  // already in the snapshot's row
    }
  }
  if (m.op == Operation::kUpdate) {
    EL_ASSIGN_OR_RETURN(bool present, book_->SyncedHas(table, row_));
    if (!present) {
      dropped_++;
      return false;
    }
  }
  return true;
}

}  // namespace electrolite
