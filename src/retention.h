// Retention: local pruning of old synced rows, per table, as the table
// declarations say (policies.json):
//
//   "retention": {"column": "started_at", "days": 30}  rows whose column is
//                                                       older than now - days
//   "expires_column": "expires_at"                      rows whose column is
//                                                       at or before now
//
// Only the local mirror (`T__synced`) is pruned: nothing is uploaded, the
// server keeps its data, and a row with a pending local write (a row in
// `T__overlay`) is never touched. Pruning runs in small batches from the
// engine's timer (NextDeadline / Run), one transaction per batch, so it never
// holds the app up for long.
//
// Pruned keys are remembered in `_el_pruned`; a trigger on `T__synced`
// deletes a remembered row again in the transaction that brings it back (a
// re-fetched snapshot, a re-sent insert) while it is still past the cutoff of
// the last run (`_el_retention_cutoff`), so a pruned row never reappears - but
// one whose time column moved on the server (an extended expiry) does.
// Tombstones are forgotten after `tombstone_ttl_ms`; a row that still comes
// back after that is old by its own time column and is pruned again.
//
// Time columns hold ISO-8601 text (pg_value.h) and are compared as text with
// an ISO cutoff; integer columns are compared as Unix milliseconds.
#ifndef ELECTROLITE_SRC_RETENTION_H_
#define ELECTROLITE_SRC_RETENTION_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"
#include "table_decl.h"

namespace electrolite {

class Store;

struct RetentionRule {
  std::string table;
  std::string column;
  // > 0: keep rows newer than now - max_age_ms. 0: `column` is an expiry time.
  int64_t max_age_ms = 0;
};

// Rules for every declaration whose policy has `retention` or
// `expires_column`. Errors name the table and the malformed field.
Result<std::vector<RetentionRule>> RetentionRulesFromDecls(const std::vector<TableDecl>& decls);

struct RetentionOptions {
  int batch_size = 200;            // rows per transaction
  int64_t interval_ms = 60000;     // between checks when nothing is left
  int64_t tombstone_ttl_ms = 30LL * 86400000;
};

// Unix ms -> "YYYY-MM-DDTHH:MM:SS.mmmZ" (the form pg_value.h stores).
std::string IsoUtcFromMs(int64_t ms);

class Retention {
 public:
  // `store` must outlive the retention.
  Retention(Store* store, std::vector<RetentionRule> rules, RetentionOptions options = {});

  // Creates `_el_pruned` and drops keep-out triggers of tables that no longer
  // have a rule. The first run is due at `now_ms`.
  [[nodiscard]] Status Init(int64_t now_ms);

  // Describes a table the rule applies to once its synced table exists.
  // `pk`: primary key columns; `integer_column`: the rule's column holds
  // Unix ms rather than ISO text.
  void SetTableInfo(const std::string& table, std::vector<std::string> pk, bool integer_column);

  bool empty() const { return rules_.empty(); }
  // Absolute ms of the next run, -1 = none.
  int64_t NextDeadline() const { return rules_.empty() ? -1 : next_run_ms_; }
  // Rows of `table` arrived: check it soon (they may already be expired).
  void NoteApplied(const std::string& table, int64_t now_ms);

  // Prunes at most one batch per table if due. Adds the tables it changed
  // to *changed. On error nothing of the failed batch is deleted.
  [[nodiscard]] Status Run(int64_t now_ms, std::set<std::string>* changed);

  int64_t rows_pruned() const { return rows_pruned_; }
  const std::map<std::string, int64_t>& pruned_by_table() const { return by_table_; }
  int64_t runs() const { return runs_; }

 private:
  struct TableInfo {
    std::vector<std::string> pk;
    bool integer_column = false;
    bool known = false;
    bool trigger_with_overlay = false;
    bool trigger_ready = false;
  };
  Status EnsureKeepOut(const RetentionRule& rule, TableInfo* info);
  // Prunes one batch of `rule`; *more = the batch was full.
  Status PruneBatch(const RetentionRule& rule, TableInfo* info, int64_t now_ms, int64_t* pruned,
                    bool* more);

  Store* store_;
  std::vector<RetentionRule> rules_;
  RetentionOptions options_;
  std::map<std::string, TableInfo> info_;
  int64_t next_run_ms_ = 0;
  int64_t rows_pruned_ = 0;
  int64_t runs_ = 0;
  std::map<std::string, int64_t> by_table_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_RETENTION_H_
