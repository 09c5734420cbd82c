// RowTags: which rows each subquery shape holds, and why (protocol notes
// §2.3). A subquery shape's change messages carry `tags` (one per way the
// row is in the shape; a tag is `/`-separated positions, one per condition
// of the where clause), `removed_tags` and `active_conditions`; a `move-out`
// event names `{pos, value}` patterns, and every row tag whose position `pos`
// holds `value` is gone. A row leaves the shape when it has no tag left or
// when its conditions are all inactive; it leaves the table only when no
// other shape holds it.
//
// Kept in `_el_tags (shape_id, row, tag, tbl)` and
// `_el_tag_conditions (shape_id, row, active)` (absent = all active), where
// `row` is the row's primary key as a JSON array (the form of tables-changed
// keys). Written in the transaction that applies the response, so it is
// persisted with the rows; cleared with the shape on must-refetch.
//
// Plain shapes (no subquery) record membership too, but only where it
// matters: in a table more than one shape feeds, each row a plain shape
// holds has one `_el_tags` row with the empty tag. A table fed by one shape
// records nothing (its snapshot may load in bulk). When a second shape joins
// a table one plain shape fed, that shape's rows are recorded in one
// statement (BackfillPlain) in the transaction of the joining shape's first
// response. Whether a row is held is one rule, HeldByShapes: another shape's
// tags (plain or subquery) or a subset of another shape (subset.h).
#ifndef ELECTROLITE_SRC_ROW_TAGS_H_
#define ELECTROLITE_SRC_ROW_TAGS_H_

#include <string>
#include <string_view>
#include <vector>

#include "message_decoder.h"
#include "status.h"
#include "store.h"
#include "synced_tables.h"

namespace electrolite {

// The DDL of the two tables (run by CreateBookkeeping).
extern const char kRowTagsSchema[];

// The primary key of change `m` as a JSON array of its SQLite values
// (`[1]`, `["a",2]`). *safe is false when an integer is beyond 2^53 (the
// id is still exact, but not a tables-changed key JavaScript can hold).
Status RowIdOf(const SyncedTable& table, const ShapeMessage& m,
               const std::vector<ShapeColumn>& cols, std::string* id, bool* safe);

class RowTags {
 public:
  // `store` must outlive this.
  RowTags(Store* store, std::string shape_id, std::string table);

  // What a change message does to the row's membership of this shape.
  // *in_shape: false when the row is not (or no longer) in the shape: a
  // delete, or every condition inactive. Call only for messages that carry
  // tags/conditions, or deletes.
  Status OnChange(const std::string& row, const ShapeMessage& m, bool* in_shape);
  // Applies a move-out's patterns; *left gets the rows that left the shape.
  Status MoveOut(const std::vector<TagPattern>& patterns, std::vector<std::string>* left);
  // Whether any other shape of the table holds `row` (HeldByShapes).
  Result<bool> HeldElsewhere(const std::string& row);
  // A plain shape's change in a shared table: the shape holds `row`.
  Status HoldPlain(const std::string& row);
  // Whether any shape of the table has tagged rows (so deletes must ask
  // HeldElsewhere).
  Result<bool> TableTagged();
  // Forgets every row of the shape (must-refetch, unsubscribe).
  static Status ClearShape(Store& store, const std::string& shape_id);
  // Records every row of `table` as held by the plain shape `shape_id` (it
  // fed the table alone until now).
  static Status BackfillPlain(Store& store, const SyncedTable& table, const std::string& shape_id);
  // Unsubscribe: the rows only `shape_id` held leave `table` (their keys go
  // to *left), then its membership is forgotten.
  static Status DropShape(Store& store, SyncedTable* table, const std::string& shape_id,
                          std::vector<std::string>* left);

 private:
  Status Forget(const std::string& row);
  Status AddTag(const std::string& row, std::string_view tag);
  Status RemoveTag(const std::string& row, std::string_view tag);
  // Conditions as '1' (active) / '0' per position; "" = all active.
  Result<std::string> Conditions(const std::string& row);
  Status SaveConditions(const std::string& row, std::string_view active);
  Result<bool> StillIn(const std::string& row);

  Store* store_;
  std::string shape_id_;
  std::string table_;
  bool conditions_stored_ = true;  // whether the shape may have a _el_tag_conditions row
};

// Whether a shape other than `except_shape` holds `row` of `table`: its
// tags (plain or subquery membership) or a subset of it. The one rule for
// "another shape still has this row".
Result<bool> HeldByShapes(Store& store, const std::string& table, const std::string& row,
                          const std::string& except_shape);

// Whether a shape's where clause may hold a subquery (then its rows carry
// tags and are never recorded as plain).
bool MayHaveSubquery(std::string_view where);

// The value at position `pos` of a `/`-separated tag ("" when out of range).
std::string_view TagPosition(std::string_view tag, int64_t pos);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ROW_TAGS_H_
