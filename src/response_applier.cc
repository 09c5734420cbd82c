#include "response_applier.h"

#include <algorithm>

namespace electrolite {

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
  keys_.Add(k + "]");
}

Status ResponseApplier::OnMessage(const ShapeMessage& m, int64_t index) {
  if (must_refetch_) return Status::Ok();  // the rest of the batch is discarded
  switch (m.kind) {
    case ShapeMessage::Kind::kChange: {
      if (user_ != nullptr && m.op != Operation::kDelete && IsForeign(m)) {
        ShapeMessage gone = m;  // drop it (and any local copy of its key)
        gone.op = Operation::kDelete;
        Status s = shape_->table()->Apply(gone, shape_->columns(), stage_);
        if (!s.ok()) return s.WithContext("message " + std::to_string(index));
        NoteKey(gone);
        foreign_rows_++;
        return Status::Ok();
      }
      Status s = shape_->table()->Apply(m, shape_->columns(), stage_);
      if (!s.ok()) return s.WithContext("message " + std::to_string(index));
      NoteKey(m);
      rows_++;
      for (int64_t t : m.txids) {
        if (txids_.empty() || txids_.back() != t) txids_.push_back(t);
      }
      if (!m.lsn.empty()) last_lsn_.assign(m.lsn.data(), m.lsn.size());
      return Status::Ok();
    }
    case ShapeMessage::Kind::kControl:
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
