#include "response_applier.h"

#include <algorithm>

namespace electrolite {

namespace {

// A row id (RowIdOf) holds integers exactly; one of 16 digits or more may
// be beyond what a JavaScript number holds (a string that long counts too:
// the key is then reported as unknown, which only costs a wider refresh).
bool MaybeBeyondSafeInteger(const std::string& row) {
  size_t digits = 0;
  for (char c : row) {
    digits = c >= '0' && c <= '9' ? digits + 1 : 0;
    if (digits > 15) return true;
  }
  return false;
}

}  // namespace

bool ResponseApplier::IsForeign(const ShapeMessage& m) const {
  for (const ColumnText& c : m.value) {
    if (c.name == *user_column_) return c.is_null || c.text != *user_;
  }
  return false;  // the column is not in the message (an update of other columns)
}

// After Apply(m): the key values it converted (one flag test once full).
void ResponseApplier::NoteKey(const ShapeMessage& m) {
  if (stage_ || keys_.full()) return;
  if (!m.key_change_to.empty() || !m.key_change_from.empty()) {
    keys_.MarkUnknown();
    return;
  }
  const SyncedTable& t = *shape_->table();
  std::string k = "[";
  for (size_t i = 0; i < t.pk_columns().size(); ++i) {
    if (i > 0) k += ',';
    if (!AppendKeyValue(&k, t.last_value(t.pk_columns()[i]))) {
      keys_.MarkUnknown();
      return;
    }
  }
  k.push_back(']');
  keys_.Add(std::move(k));
}

void ResponseApplier::NoteTxids(const ShapeMessage& m) {
  for (int64_t t : m.txids) {
    if (txids_.empty() || txids_.back() != t) txids_.push_back(t);
  }
  if (!m.lsn.empty()) last_lsn_.assign(m.lsn.data(), m.lsn.size());
}

// The row `row` leaves the table (it left this shape and no other holds it).
Status ResponseApplier::RemoveRow(const std::string& row, bool safe) {
  EL_RETURN_IF_ERROR(shape_->table()->DeleteRow(row, stage_));
  if (stage_) return Status::Ok();
  if (safe) {
    keys_.Add(row);
  } else {
    keys_.MarkUnknown();
  }
  return Status::Ok();
}

// Membership bookkeeping for a change of a subquery shape, of a plain shape
// in a shared table, or a delete in a table some shape records membership
// of. *handled: the change needs nothing more.
Status ResponseApplier::ApplyTagged(const ShapeMessage& m, bool* handled) {
  *handled = false;
  const bool tagged = !m.tags.empty() || !m.removed_tags.empty() || m.has_active_conditions;
  if (!tagged && shared_ && m.op != Operation::kDelete) {
    // A plain shape's row in a shared table: it holds the row. (A
    // changes_only shape's rows are held by its subsets.)
    if (shape_->def().changes_only() || MayHaveSubquery(shape_->def().where)) return Status::Ok();
    bool safe = true;
    EL_RETURN_IF_ERROR(RowIdOf(*shape_->table(), m, shape_->columns(), &row_, &safe));
    return tags_.HoldPlain(row_);
  }
  if (!tagged && !shared_) {
    if (m.op != Operation::kDelete) return Status::Ok();
    if (table_tagged_ < 0) {
      EL_ASSIGN_OR_RETURN(bool any, tags_.TableTagged());
      table_tagged_ = any ? 1 : 0;
    }
    if (table_tagged_ == 0) return Status::Ok();
  }
  table_tagged_ = 1;
  bool safe = true, in_shape = true;
  EL_RETURN_IF_ERROR(RowIdOf(*shape_->table(), m, shape_->columns(), &row_, &safe));
  EL_RETURN_IF_ERROR(tags_.OnChange(row_, m, &in_shape));
  if (in_shape) return Status::Ok();
  EL_ASSIGN_OR_RETURN(bool held, tags_.HeldElsewhere(row_));
  if (held) {  // another shape still holds the row: it stays as it is
    *handled = true;
    NoteTxids(m);
    return Status::Ok();
  }
  if (m.op == Operation::kDelete) return Status::Ok();  // applied as the delete it is
  *handled = true;  // a change that says the row is out of the shape
  NoteTxids(m);
  return RemoveRow(row_, safe);
}

Status ResponseApplier::BeginBulkLoad(bool sole, bool plain) {
  SyncedTable* t = shape_->table();
  const bool eligible = sole && plain && !stage_;
  // Keys are still collected (up to ChangeSet::kMaxKeys, then "unknown"), so
  // a small snapshot's live queries update by key as before.
  return t->PrepareBulkLoad(eligible, shape_->state().offset == "-1").status();
}

Status ResponseApplier::ApplyChange(const ShapeMessage& m) {
  // A move-in row is an upsert: it needs the key (SyncedTable::Apply ends a
  // bulk load for any other non-insert itself).
  if (m.is_move_in) EL_RETURN_IF_ERROR(shape_->table()->EnsureIndexed());
  bool handled = false;
  EL_RETURN_IF_ERROR(ApplyTagged(m, &handled));
  if (handled) return Status::Ok();
  auto apply = [this](const ShapeMessage& row) {
    EL_RETURN_IF_ERROR(shape_->table()->Apply(row, shape_->columns(), stage_));
    NoteKey(row);
    rows_++;
    NoteTxids(row);
    return Status::Ok();
  };
  // A move-in row is the row as the move-in query read it: an upsert. (Its
  // copy is made only then: a ShapeMessage is large to make per change.)
  if (m.is_move_in && m.op == Operation::kUpdate) {
    ShapeMessage upsert = m;
    upsert.op = Operation::kInsert;
    return apply(upsert);
  }
  return apply(m);
}

Status ResponseApplier::OnEvent(const ShapeMessage& m) {
  NoteTxids(m);  // an event's txids confirm local writes like a change's
  if (m.event != "move-out") return Status::Ok();  // move-in rows come as changes
  std::vector<std::string> left;
  EL_RETURN_IF_ERROR(tags_.MoveOut(m.patterns, &left));
  for (const std::string& row : left) {
    EL_ASSIGN_OR_RETURN(bool held, tags_.HeldElsewhere(row));
    if (held) continue;
    EL_RETURN_IF_ERROR(RemoveRow(row, !MaybeBeyondSafeInteger(row)));
  }
  return Status::Ok();
}

Status ResponseApplier::OnMessage(const ShapeMessage& m, int64_t index) {
  if (must_refetch_) return Status::Ok();  // the rest of the batch is discarded
  switch (m.kind) {
    case ShapeMessage::Kind::kChange: {
      if (filter_ != nullptr) {
        Result<bool> keep = filter_->Keep(m);
        if (!keep.ok()) return keep.status().WithContext("message " + std::to_string(index));
        if (!keep.value()) {
          NoteTxids(m);
          return Status::Ok();
        }
      }
      if (user_ != nullptr && m.op != Operation::kDelete && IsForeign(m)) {
        ShapeMessage gone = m;  // drop it (and any local copy of its key)
        gone.op = Operation::kDelete;
        Status s = shape_->table()->Apply(gone, shape_->columns(), stage_);
        if (!s.ok()) return s.WithContext("message " + std::to_string(index));
        NoteKey(gone);
        foreign_rows_++;
        return Status::Ok();
      }
      Status s = ApplyChange(m);
      if (!s.ok()) return s.WithContext("message " + std::to_string(index));
      return Status::Ok();
    }
    case ShapeMessage::Kind::kEvent: {
      Status s = OnEvent(m);
      if (!s.ok()) return s.WithContext("message " + std::to_string(index));
      return Status::Ok();
    }
    case ShapeMessage::Kind::kControl:
      // The snapshot is complete: a bulk load builds its key index now,
      // before any change after it is applied.
      if (m.control == proto::kUpToDate || m.control == proto::kSnapshotEnd) {
        EL_RETURN_IF_ERROR(shape_->table()->EnsureIndexed());
      }
      if (m.control == proto::kUpToDate) {
        up_to_date_ = true;
        glsn_.assign(m.global_last_seen_lsn.data(), m.global_last_seen_lsn.size());
      } else if (m.control == proto::kMustRefetch) {
        must_refetch_ = true;
      } else if (m.control == proto::kSnapshotEnd) {
        snapshot_end_ = true;
        xmin_.assign(m.xmin.data(), m.xmin.size());
        xmax_.assign(m.xmax.data(), m.xmax.size());
        xip_.clear();
        for (auto x : m.xip_list) xip_.emplace_back(x);
      }
      return Status::Ok();  // unknown controls are skipped
    case ShapeMessage::Kind::kOther:
      return Status::Ok();
  }
  return Status::Ok();
}

}  // namespace electrolite
