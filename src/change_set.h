// ChangeSet: which rows of which tables a committed operation changed, for the
// `tables-changed` event (docs/engine-api.md "Events"). Per table either the
// primary keys of the rows whose merged view (`T`) may have changed - a key
// may be listed although its row ended up as it was - or "unknown": a change
// the engine did not track by key (DDL, a must-refetch swap, retention, SQL
// writing a table other than through its view), or more than kMaxKeys keys.
// A consumer that gets "unknown" must re-read everything it derived from T.
//
// Keys are JSON arrays of the primary key values in the table's key column
// order, as a query returns them (text as strings, numbers as numbers). A key
// that a query could not return exactly (an integer beyond 2^53) makes its
// table unknown.
#ifndef ELECTROLITE_SRC_CHANGE_SET_H_
#define ELECTROLITE_SRC_CHANGE_SET_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace electrolite {

struct SqlValue;

// Appends one key value as a query result would show it; false when it
// cannot be shown exactly (|integer| > 2^53 - 1, non-finite real).
bool AppendKeyInt(std::string* out, int64_t v);
bool AppendKeyReal(std::string* out, double d);
// kind 1 int, 2 real, 3 text (pg_value.h); false for null and unsafe values.
bool AppendKeyValue(std::string* out, const SqlValue& v);

class ChangeSet {
 public:
  static constexpr size_t kMaxKeys = 256;

  // Notes a changed row of `table`. `key_json`: the key array (see above);
  // `columns`: the table's primary key columns.
  void AddKey(std::string_view table, const std::vector<std::string>& columns,
              std::string key_json);
  // Notes a change of `table` that is not known by key.
  void AddUnknown(std::string_view table);
  // Adds everything `other` noted.
  void Merge(const ChangeSet& other);

  bool empty() const { return tables_.empty(); }
  void clear() { tables_.clear(); }
  bool Contains(std::string_view table) const { return tables_.find(table) != tables_.end(); }
  // Whether `table` was noted as unknown (or ran over the key cap).
  bool Unknown(std::string_view table) const;
  // The keys noted for `table` (empty when unknown or not noted).
  std::vector<std::string> Keys(std::string_view table) const;

  // {"type":"tables-changed","tables":[...],"keys":{"T":{"columns":[...],"rows":[[...],...]}}}
  // Tables missing from "keys" changed in a way not known by key.
  std::string EventJson() const;

 private:
  struct Entry {
    bool unknown = false;
    std::vector<std::string> columns;
    std::set<std::string> keys;
  };
  std::map<std::string, Entry, std::less<>> tables_;
};

// Collects the keys of the rows one shape response applies, for one table,
// at the cost of a flag test per row once more than kMaxKeys were seen.
class KeyCollector {
 public:
  bool full() const { return unknown_; }
  void Add(std::string key_json) {
    if (unknown_) return;
    if (keys_.size() >= ChangeSet::kMaxKeys) {
      MarkUnknown();
      return;
    }
    keys_.push_back(std::move(key_json));
  }
  void MarkUnknown() {
    unknown_ = true;
    keys_.clear();
  }
  // Adds what was collected to `out` as changes of `table`.
  void AddTo(ChangeSet* out, std::string_view table,
             const std::vector<std::string>& columns) const;

 private:
  bool unknown_ = false;
  std::vector<std::string> keys_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_CHANGE_SET_H_
