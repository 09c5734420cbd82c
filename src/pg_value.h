// Postgres text values -> SQLite values, driven by a column's Postgres type.
//
// Electric sends every value as Postgres text output (protocol notes §2.5):
// ints -> INTEGER (int8 exactly), floats -> REAL, bool t/true/f/false -> 0/1,
// timestamps -> ISO-8601 (timestamptz in UTC with 'Z'), arrays -> JSON array
// text, everything else (json, jsonb, uuid, numeric, text, enums) -> TEXT.
#ifndef ELECTROLITE_SRC_PG_VALUE_H_
#define ELECTROLITE_SRC_PG_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "status.h"

namespace electrolite {

enum class TypeClass : uint8_t {
  kText,
  kInteger,
  kReal,
  kBool,
  kTimestampTz,
  kTimestamp,
  kDate,
  kJson,
};

// Canonical Postgres type name for an alias as written in DDL
// ("integer" -> "int4", "timestamp with time zone" -> "timestamptz", ...).
std::string CanonicalPgType(std::string_view written);
TypeClass ClassifyPgType(std::string_view canonical_type);
// SQLite column type used in the local table for a class.
const char* SqliteTypeFor(TypeClass cls, int dims);

// One converted value. kind: 0 null, 1 int, 2 real, 3 text (in `text`).
struct SqlValue {
  int kind = 0;
  int64_t i = 0;
  double d = 0;
  std::string_view text;
};

// Converts `text` of a column of class `cls` (array if dims > 0).
// Text results either view `text` or live in `*scratch`.
Status ConvertPgValue(TypeClass cls, int dims, std::string_view text, std::string* scratch,
                      SqlValue* out);

// Exact decimal parse of a signed 64-bit integer.
bool ParseInt64(std::string_view s, int64_t* out);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_PG_VALUE_H_
