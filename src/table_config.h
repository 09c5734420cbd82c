// TableConfig: one table's policies.json entry, parsed once where the
// declaration gets it (table_decl.cc), typed for every part of the engine that
// reads it: shapes (exclude), retention, prefetching and the write path's
// conflict policy. A section that is not valid keeps its error, reported where
// the section is used (a subscribe, the engine's open, a local write).
#ifndef ELECTROLITE_SRC_TABLE_CONFIG_H_
#define ELECTROLITE_SRC_TABLE_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conflict_policy.h"
#include "status.h"

namespace electrolite {

struct TableConfig {
  // `exclude: [column, ...]`: columns the table's shapes leave out.
  std::vector<std::string> exclude;
  Status exclude_error;
  // `retention: {column, days}`: rows whose `column` is older than
  // retention_max_age_ms are pruned locally ("" = no rule).
  std::string retention_column;
  int64_t retention_max_age_ms = 0;
  Status retention_error;
  // `expires_column`: rows past the time in that column are pruned ("" = no rule).
  std::string expires_column;
  Status expires_error;
  // `prefetch_children: ["child_table.fk_column", ...]` as (child table, fk column).
  std::vector<std::pair<std::string, std::string>> prefetch_children;
  Status prefetch_error;
  // `policy`, `writable`, `timestamp`, `order`: parsed by conflict_policy.h
  // (TablePolicy::FromJson), which owns their defaults.
  TablePolicy conflict;
  Status conflict_error;
};

// `policy_json`: the table's entry as JSON text ("{}" when it has none).
TableConfig ParseTableConfig(const std::string& table, std::string_view policy_json);

// A TableConfig with what it was parsed from (TableDecl::config()).
struct ParsedTableConfig {
  std::string table;
  std::string policy_json;
  TableConfig config;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_TABLE_CONFIG_H_
