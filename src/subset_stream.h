// SubsetStreamGate: which changes of a `log=changes_only` shape's stream
// apply to its table, given the subsets loaded into it (subset.h).
//
//  * A change whose row a loaded subset holds and whose transaction that
//    subset's snapshot already saw is dropped: the snapshot's row already
//    has it (snapshot_visibility.h). A change of a later transaction applies.
//  * An update of a row the table does not have is skipped: in changes_only
//    mode it may carry only the changed columns, and the row is not one the
//    app asked for (the official client's Shape does the same).
//  * A delete always applies.
//  * An insert applies: a new row of the shape is as the stream sees it
//    whole, and a screen ordered by recency expects it to appear (a
//    changes_only Shape and TanStack DB's on-demand collections show it
//    too). No subset holds it, so it stays until the stream deletes it or the
//    shape is unsubscribed; a later subset that loads it takes it over.
//
// Snapshots are retired (stop filtering, persisted) once the stream passes
// their `database_lsn`, or brings a transaction at or past their `xmax`.
#ifndef ELECTROLITE_SRC_SUBSET_STREAM_H_
#define ELECTROLITE_SRC_SUBSET_STREAM_H_

#include <memory>
#include <string>
#include <vector>

#include "response_applier.h"
#include "subset.h"

namespace electrolite {

class SubsetStreamGate : public ChangeFilter {
 public:
  // All must outlive the gate. `subsets`: every subset the engine holds.
  SubsetStreamGate(SubsetBook* book, std::vector<std::unique_ptr<Subset>>* subsets, Shape* shape)
      : book_(book), subsets_(subsets), shape_(shape) {}

  Result<bool> Keep(const ShapeMessage& m) override;
  // The up-to-date's global_last_seen_lsn (decimal, may be empty).
  Status SeenLsn(std::string_view lsn);
  int64_t dropped() const { return dropped_; }

 private:
  Subset* Find(const std::string& id);
  Status Retire(Subset* s);
  Status RetireBy(const ShapeMessage& m);
  Status Passed(std::string_view lsn, bool strict);

  SubsetBook* book_;
  std::vector<std::unique_ptr<Subset>>* subsets_;
  Shape* shape_;
  std::string row_;
  int64_t dropped_ = 0;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_SUBSET_STREAM_H_
