// Subsets: the parts of a `log=changes_only` shape the app asked for (protocol
// notes §2.9; docs/engine-api.md "On-demand sync"). A subset is a filter on
// the shape (`where` with its own `params`, `order_by`, `limit`, `offset`);
// its rows arrive in one subset snapshot (a POST to the shape's URL) and are
// upserted into the synced table. From then on the table's rows follow the
// shape's stream (subset_stream.h decides which changes apply).
//
// Which subset holds which rows is kept in `_el_subset_rows (subset_id, tbl,
// row)` (`row`: the primary key as a JSON array, RowIdOf's form) and each
// subset, with its snapshot's visibility until that is retired, in
// `_el_subsets`; both are written in the transaction that applies the rows,
// so a crash never leaves rows without their holder or the reverse, and a
// reopened engine still holds what the app held.
//
// Release: a subset loaded N times goes at its Nth release; then its rows that
// no other subset (of any shape on the table) holds and no pending local write
// covers (a T__overlay row) leave T__synced. A reloaded subset (the shape
// started over) that no longer holds a row releases that row the same way.
// Both are set-based: one DELETE on T__synced takes the candidates (the
// subset's own row list, or a temp list of those a reload dropped) that no
// other holder or overlay row keeps (the holder check uses the (tbl, row)
// index), so a 10,000-row page goes in a few statements.
#ifndef ELECTROLITE_SRC_SUBSET_H_
#define ELECTROLITE_SRC_SUBSET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"
#include "retry.h"
#include "snapshot_visibility.h"
#include "status.h"
#include "store.h"
#include "synced_tables.h"

namespace electrolite {

// The DDL of `_el_subsets` and `_el_subset_rows`.
extern const char kSubsetSchema[];

// What a subset asks for.
struct SubsetDef {
  std::string where;
  std::vector<std::string> params;  // $1.. of `where`
  std::string order_by;
  int64_t limit = -1;   // -1 = none
  int64_t offset = -1;  // -1 = none

  // {where?, params? (array, or {"1": ...}), orderBy?|order_by?, limit?, offset?}
  static Result<SubsetDef> FromJson(const Json& j);
  std::string ToJson() const;    // canonical (stored, compared)
  std::string BodyJson() const;  // the POST body Electric takes: {"where","params":{"1":…},"order_by",…}
  // A stable id: <shape id>~<hash of the definition>.
  std::string DefaultId(const std::string& shape_id) const;
};

// One subset the app holds.
struct Subset {
  std::string id;
  std::string shape_id;
  std::string table;
  SubsetDef def;
  bool loaded = false;        // its rows are in the table
  bool needs_request = true;  // (re)load pending: asked for, or the shape started over
  bool failed = false;        // refused by the server (4xx): not asked again until reloaded
  bool snapshot_active = false;  // `snapshot` still filters the stream
  SnapshotVisibility snapshot;
  int64_t rows = 0;
  // How many times the app loaded it in this session and has not released it yet (one
  // subset, held by several components or tabs). Not persisted: after a reopen a loaded
  // subset is held by nobody until loaded again, and a release of it drops it at once.
  int holds = 0;

  // The request in flight or the wait before the next (not persisted).
  int64_t request_id = -1;
  int64_t request_deadline_ms = -1;
  int64_t wait_until_ms = -1;
  Backoff backoff;
  std::string body;  // of the request in flight
};

// A subset response `{"metadata": {...}, "data": [...]}` split into the raw text of its two
// members without parsing the rows (they go to the streaming MessageDecoder): one pass over
// the bytes, strings skipped, nothing allocated.
Status SplitSubsetBody(std::string_view body, std::string_view* metadata, std::string_view* data);

class SubsetBook {
 public:
  explicit SubsetBook(Store* store) : store_(store) {}

  // Every stored subset (needs_request when not loaded).
  Status Load(std::vector<std::unique_ptr<Subset>>* out);
  Status Save(const Subset& s);
  // Forgets the subset and its row list (not the rows themselves).
  Status Erase(const std::string& id);
  // The subset now holds exactly `rows`; those it held before and no longer
  // does are released from `table` (may be null) as by Release. *released:
  // how many left T__synced.
  Status ReplaceRows(const Subset& s, const std::vector<std::string>& rows, SyncedTable* table,
                     int64_t* released);
  // Deletes from T__synced, in one statement, the subset's rows no other
  // subset holds and no T__overlay row covers, then erases the subset.
  // *released: how many.
  Status Release(const std::string& id, SyncedTable* table, int64_t* released);
  // Ids of the subsets that hold `row` of `table`.
  Result<std::vector<std::string>> Holders(const std::string& table, const std::string& row);
  // Whether T__synced has the row.
  Result<bool> SyncedHas(const SyncedTable& table, const std::string& row);

 private:
  Result<bool> Has(const SyncedTable& table, const std::string& suffix, const std::string& row);
  // Deletes from T__synced, in one statement, the rows `candidates` (a FROM
  // clause over a row list `g`, ?1 = the table, ?2 = `subset_id` if given)
  // names that no T__overlay row covers. *released: how many.
  Status Sweep(SyncedTable* table, const char* candidates, const std::string* subset_id,
               int64_t* released);
  // Sweep of the rows listed in the temp table _el_subset_gone that no subset
  // holds; then empties the list.
  Status SweepGone(SyncedTable* table, int64_t* released);
  Store* store_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_SUBSET_H_
