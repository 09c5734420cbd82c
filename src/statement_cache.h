// StatementCache: the app's SQL (db.query / db.exec) prepared once per text.
// Preparing a statement over a synced table's view (a compound SELECT with a
// join, plus its triggers for writes) costs far more than running it for a
// few rows, and live queries run the same statements again and again.
//
// An entry keeps what RunStatement learnt while preparing (the tables the
// statement reads and writes, its columns): the authorizer only runs then.
// Entries are tied to the schema version (PRAGMA schema_version of main and
// temp) they were prepared under; a schema change drops them all. At most
// kMaxEntries statements are kept; the least recently used goes first.
#ifndef ELECTROLITE_SRC_STATEMENT_CACHE_H_
#define ELECTROLITE_SRC_STATEMENT_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store.h"

namespace electrolite {

class StatementCache {
 public:
  static constexpr size_t kMaxEntries = 64;

  struct Entry {
    Stmt stmt;
    std::string columns_json;
    std::set<std::string> tables_read, tables_written, relations_written;
    int64_t schema_version = -1;
    uint64_t last_use = 0;
  };

  // `store` must outlive the cache.
  explicit StatementCache(Store* store) : store_(store) {}
  StatementCache(const StatementCache&) = delete;
  StatementCache& operator=(const StatementCache&) = delete;

  // Removes and returns the entry for `sql` (a statement running again
  // inside itself finds none). Afterwards schema_version() is current.
  std::optional<Entry> Take(std::string_view sql);
  // The schema version seen by the last Take (-1: unknown).
  int64_t schema_version() const { return schema_version_; }
  // Keeps `entry` (its stmt reset) for `sql` unless the schema changed since
  // it was prepared; `may_have_changed_schema`: check that again first.
  void Put(std::string_view sql, Entry entry, bool may_have_changed_schema);
  void Clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }

 private:
  // Reads the schema version; drops every entry when it moved.
  void CheckSchema();

  Store* store_;
  std::unordered_map<std::string, Entry> entries_;
  int64_t schema_version_ = -1;
  uint64_t clock_ = 0;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_STATEMENT_CACHE_H_
