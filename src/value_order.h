// Typed comparison of column values, as Postgres compares them, for the
// conflict decision (conflict_policy.h) that the engine and the write endpoint
// share. The caller names the column's canonical Postgres type (the engine
// from its declaration, the endpoint from pg_catalog); values may come in any
// of the forms the two sides hold: Postgres text output ("t", "5",
// "2024-01-02 03:04:05+00"), the engine's storage form (bool 0/1, json as
// JSON text, ISO-8601 timestamps) or its wire form (JSON booleans, numbers,
// JSON values).
//
//  * int2/int4/int8/oid/numeric: exact decimals (no rounding at 2^53);
//    numeric NaN sorts above every number, as in Postgres;
//  * float4/float8: doubles (NaN greatest and equal to itself);
//  * bool: false < true (t/true/f/false/1/0/yes/no/on/off);
//  * timestamptz/timestamp/date: instants (any offset), -infinity/infinity
//    at the ends;
//  * json/jsonb: equal when the parsed documents are equal (key order and
//    whitespace do not matter); otherwise ordered by their canonical text;
//  * uuid: by value (case and hyphens do not matter);
//  * bpchar: trailing spaces do not matter;
//  * any other type (text, varchar, enums, arrays, unknown): byte-wise, i.e.
//    as under the C collation; equality is exact as under every
//    deterministic collation.
// NULL (or an absent value) equals NULL and sorts below every value. A value
// that does not parse as its type falls back to the byte-wise rule.
#ifndef ELECTROLITE_SRC_VALUE_ORDER_H_
#define ELECTROLITE_SRC_VALUE_ORDER_H_

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "json.h"

namespace electrolite {

// Column name -> canonical Postgres type ("int4", "timestamptz", "text[]"
// for arrays). A column missing from the map compares byte-wise.
using ColumnTypes = std::map<std::string, std::string, std::less<>>;

// <0, 0, >0 as `a` sorts before, equal to, after `b` under `pg_type`.
int CompareTyped(std::string_view pg_type, const Json& a, const Json& b);

// CompareTyped with the type of `column` from `types`.
int CompareColumn(const ColumnTypes& types, std::string_view column, const Json& a,
                  const Json& b);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_VALUE_ORDER_H_
