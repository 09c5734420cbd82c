// The write path's view of a declared table: columns with their value kind,
// primary key and conflict policy; value validation/normalisation for local
// writes; and the DDL of the overlay table, the merged view and its INSTEAD OF
// triggers (docs/engine-api.md "Storage layout").
//
// Values are JSON in two forms:
//  * storage form: what SQLite holds (int64, double, text or null; bool as
//    0/1; json/jsonb as JSON text) - identical in T__synced and T__overlay;
//  * wire form: what the write endpoint receives (bool true/false, json as a
//    JSON value, int8 beyond 2^53 as a decimal string, the rest unchanged).
#ifndef ELECTROLITE_SRC_WRITE_SCHEMA_H_
#define ELECTROLITE_SRC_WRITE_SCHEMA_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "civil_time.h"  // IsoFromMs
#include "conflict_policy.h"
#include "json.h"
#include "pg_value.h"
#include "status.h"
#include "table_decl.h"

namespace electrolite {

// A column's DEFAULT as far as the client can evaluate it.
struct ColumnDefault {
  enum Kind { kNone, kValue, kNow, kUuid, kServer } kind = kNone;
  Json value;  // kValue: the literal (JSON), normalised on use
};

// table -> column -> default, from the DEFAULT clauses the declarations' CREATE TABLE
// statements carry (ColumnDecl::default_expr: literals, now()/current_timestamp,
// gen_random_uuid(); any other expression is kServer: the server fills it, the local
// row shows null). Tables declared without SQL have none.
using SchemaDefaults = std::map<std::string, std::map<std::string, ColumnDefault>>;
SchemaDefaults SchemaDefaultsOf(const std::vector<TableDecl>& decls);

struct WriteColumn {
  std::string name;
  std::string pg_type;  // canonical ("int4", "uuid", ...)
  TypeClass cls = TypeClass::kText;
  int dims = 0;
  bool not_null = false;
  ColumnDefault default_value;
};

struct WriteTable {
  std::string name;
  std::vector<WriteColumn> columns;
  std::vector<std::string> primary_key;
  TablePolicy policy;

  // From the engine's declaration (policy from its policies.json entry).
  static Result<WriteTable> FromDecl(const TableDecl& decl, const SchemaDefaults& defaults);

  // Index of `column` in columns, -1 when unknown.
  int ColumnIndex(std::string_view column) const;
  bool IsPrimaryKey(std::string_view column) const;
  // Every column with its canonical Postgres type ("text[]" for arrays), for
  // typed comparisons (value_order.h).
  ColumnTypes Types() const;

  // Names of the SQLite objects.
  std::string SyncedName() const { return name + "__synced"; }
  std::string OverlayName() const { return name + "__overlay"; }

  // CREATE TABLE IF NOT EXISTS T__overlay, the view T and its INSTEAD OF
  // triggers. REQUIRES: T__synced exists, and OverlayDropDdl() ran first
  // when the view T (or an earlier build's objects) may exist.
  std::string OverlayDdl() const;
  // Drops the view T (its triggers go with it) and the triggers on T__synced
  // that earlier builds created.
  std::string OverlayDropDdl() const;
};

// JSON text of `j`; invalid UTF-8 in strings is replaced, never fatal.
std::string Dump(const Json& j);

// AppendJsonString (status.h), with text that needs no escaping (mutation
// ids, most keys) appended in one piece instead of byte by byte.
void AppendJsonStringFast(std::string* out, std::string_view s);

// Validates `value` for `column` and returns its storage form. A wrong type is
// a schema error naming the table and column; null passes (NOT NULL is
// checked by the caller, which knows about defaults).
Result<Json> NormalizeValue(const WriteTable& table, const WriteColumn& column,
                                      const Json& value);

// Wire form of a storage-form value.
Json ToWire(const WriteColumn& column, const Json& stored);
// Wire form of a storage-form row (columns not in the table pass unchanged).
Json RowToWire(const WriteTable& table, const Json& stored_row);

// The storage-form key {pk: value} of `row`; a schema error when a key
// column is missing or null.
Result<Json> KeyOf(const WriteTable& table, const Json& row);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_WRITE_SCHEMA_H_
