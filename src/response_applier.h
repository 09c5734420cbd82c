// ResponseApplier: the MessageSink that applies one shape response's
// messages to its table inside the caller's transaction, and collects what
// the engine needs afterwards (control messages, txids, counts). For
// subquery shapes it keeps the rows' tags (row_tags.h), and for a plain
// shape in a table several shapes feed its membership: a row that leaves
// the shape (move-out, all conditions inactive, delete) leaves the table
// unless another shape holds it; move-in rows are upserts.
#ifndef ELECTROLITE_SRC_RESPONSE_APPLIER_H_
#define ELECTROLITE_SRC_RESPONSE_APPLIER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "change_set.h"
#include "message_decoder.h"
#include "row_tags.h"
#include "shape.h"
#include "status.h"

namespace electrolite {

// Decides, before a change message is applied, whether it applies at all
// (subset_stream.h for `log=changes_only` shapes). A change it drops still
// confirms the local writes its txids name.
class ChangeFilter {
 public:
  virtual ~ChangeFilter() = default;
  virtual Result<bool> Keep(const ShapeMessage& m) = 0;
};

class ResponseApplier : public MessageSink {
 public:
  // `shape` must outlive the applier. Rows go to the stage table while the
  // shape is re-fetching.
  ResponseApplier(Store* store, Shape* shape, bool stage)
      : shape_(shape), stage_(stage), tags_(store, shape->def().id, shape->def().table) {}

  Status OnMessage(const ShapeMessage& m, int64_t index) override;

  // Before the messages: lets an initial snapshot into an empty table load
  // in bulk (SyncedTable::PrepareBulkLoad), or ends a bulk load the response
  // cannot go on with. `sole`: no other shape feeds the table; `plain`: a
  // non-live 200.
  Status BeginBulkLoad(bool sole, bool plain);

  // The table is fed by more than one shape: a plain shape records the rows
  // it holds, and every delete asks whether another shape still holds the row.
  void SetShared(bool shared) { shared_ = shared; }

  // Security: an insert/update whose `column` is present and not `user`
  // is applied as a delete of its key (the row never lands, or leaves) and
  // counted in foreign_rows(). Both must outlive the applier.
  void SetUserFilter(const std::string* column, const std::string* user) {
    user_column_ = column;
    user_ = user;
  }
  int64_t foreign_rows() const { return foreign_rows_; }
  // `filter` (may be null) must outlive the applier.
  void SetChangeFilter(ChangeFilter* filter) { filter_ = filter; }

  int64_t rows() const { return rows_; }
  // Keys of the rows applied to the table (not the stage), for tables-changed.
  const KeyCollector& keys() const { return keys_; }
  bool up_to_date() const { return up_to_date_; }
  bool must_refetch() const { return must_refetch_; }
  bool snapshot_end() const { return snapshot_end_; }
  const std::string& xmin() const { return xmin_; }
  const std::string& xmax() const { return xmax_; }
  const std::vector<std::string>& xip() const { return xip_; }
  const std::vector<int64_t>& txids() const { return txids_; }
  const std::string& last_lsn() const { return last_lsn_; }
  const std::string& global_last_seen_lsn() const { return glsn_; }

 private:
  bool IsForeign(const ShapeMessage& m) const;
  void NoteKey(const ShapeMessage& m);
  void NoteTxids(const ShapeMessage& m);
  Status ApplyChange(const ShapeMessage& m);
  Status ApplyTagged(const ShapeMessage& m, bool* handled);
  Status OnEvent(const ShapeMessage& m);
  Status RemoveRow(const std::string& row, bool safe);
  Shape* shape_;
  bool stage_;
  int64_t rows_ = 0;
  KeyCollector keys_;
  RowTags tags_;
  int table_tagged_ = -1;  // -1: not asked yet
  bool shared_ = false;
  std::string row_;        // scratch: the current row's id
  const std::string* user_column_ = nullptr;
  const std::string* user_ = nullptr;
  int64_t foreign_rows_ = 0;
  ChangeFilter* filter_ = nullptr;
  bool up_to_date_ = false;
  bool must_refetch_ = false;
  bool snapshot_end_ = false;
  std::string xmin_, xmax_;
  std::vector<std::string> xip_;
  std::vector<int64_t> txids_;
  std::string last_lsn_, glsn_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_RESPONSE_APPLIER_H_
