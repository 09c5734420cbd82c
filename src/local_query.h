// Local SQL for the app (docs/engine-api.md "Local data"): query/exec with
// JSON parameters, rows as JSON arrays, and the app tables each statement
// read or wrote (via sqlite3_set_authorizer), for live queries.
#ifndef ELECTROLITE_SRC_LOCAL_QUERY_H_
#define ELECTROLITE_SRC_LOCAL_QUERY_H_

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "statement_cache.h"
#include "status.h"
#include "store.h"

namespace electrolite {

struct QueryOutcome {
  std::string columns_json = "[]";
  std::string rows_json = "[]";
  std::set<std::string> tables_read;
  std::set<std::string> tables_written;
  // The relations written as named in the schema (a view `T`, `T__synced`, ...).
  std::set<std::string> relations_written;
  int64_t changes = 0;
};

// Runs one statement. params_json: "" or a JSON array of null, booleans,
// numbers and strings. Table names are reported as the app sees them:
// T__synced/T__overlay/T__stage -> T; _el_* and sqlite_* are left out.
// `cache` (optional) keeps prepared statements for the next call.
Result<QueryOutcome> RunStatement(Store& store, std::string_view sql,
                                  std::string_view params_json,
                                  StatementCache* cache = nullptr);

// The app table a relation belongs to ("" for _el_* and sqlite_*).
std::string AppTableName(const char* name);

// {"ok":true,"columns":[...],"rows":[...],"tables":[...]}
std::string QueryResultJson(const QueryOutcome& q);
// {"ok":true,"changes":N,"tables":[...]}
std::string ExecResultJson(const QueryOutcome& q);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_LOCAL_QUERY_H_
