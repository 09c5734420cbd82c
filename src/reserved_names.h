// Reserved names: the one rule for which names of the app's tables belong
// to the engine (docs/engine-api.md "Reserved names").
//
// Beside a table's own columns the engine keeps bookkeeping in the same
// SQLite objects: the overlay `T__overlay` carries `_el_op`, `_el_write_id`,
// `_el_yield`, `_el_seen` and a `_el_c_<column>` flag per column; triggers,
// indexes and tables of its own are named `_el_...` or `T__el_...`; and
// retention addresses `T__synced` rows by their rowid. A column named like
// any of these would shadow or collide with the engine's own (SQLite names
// are case-insensitive), so such a column is refused wherever one can enter:
// the server's `electric-schema` header and change messages (a protocol
// error), the app's declarations (a schema error), and a declaration stored
// by an earlier build (the table's shapes are re-fetched on open).
#ifndef ELECTROLITE_SRC_RESERVED_NAMES_H_
#define ELECTROLITE_SRC_RESERVED_NAMES_H_

#include <string>
#include <string_view>
#include <vector>

#include "status.h"
#include "table_decl.h"

namespace electrolite {

// Prefix of every bookkeeping name the engine gives a column, table, index or
// trigger (compared case-insensitively).
inline constexpr char kReservedPrefix[] = "_el_";

// Overlay bookkeeping columns (write_schema.cc builds T__overlay with these;
// untrusted_server_test checks that every column it has beside the table's
// own is reserved).
inline constexpr char kOverlayOpColumn[] = "_el_op";
inline constexpr char kOverlayWriteIdColumn[] = "_el_write_id";
inline constexpr char kOverlayYieldColumn[] = "_el_yield";
inline constexpr char kOverlaySeenColumn[] = "_el_seen";
inline constexpr char kOverlayChangedPrefix[] = "_el_c_";

// The overlay's changed flag of `column`: `_el_c_<column>`.
inline std::string OverlayChangedColumn(std::string_view column) {
  return kOverlayChangedPrefix + std::string(column);
}

// Suffixes of the SQLite tables the engine keeps beside a synced table `T`
// (the synced mirror, the overlay, a re-fetch's stage).
inline constexpr const char* kTableSuffixes[] = {"__synced", "__overlay", "__stage"};

// Whether the app may not declare a table called `name`: the reserved prefix
// or `sqlite_`, or ending like one of the engine's tables beside another
// (kTableSuffixes, `__untyped`), in any letter case.
bool IsReservedTableName(std::string_view name);

// Whether a column may not be called `name`: the reserved prefix, or one of
// SQLite's rowid aliases (rowid, _rowid_, oid), in any letter case.
bool IsReservedColumnName(std::string_view name);

// Checks columns the server sent for `table` (a schema header's, in order):
// a reserved name, or two names SQLite cannot tell apart (they differ only
// in case), is a protocol error naming the column and the table.
Status CheckServerColumns(std::string_view table, const std::vector<ColumnDecl>& columns);

// The same rules for a declaration the app gave, its table name included
// (a schema error).
Status CheckDeclaration(const TableDecl& decl);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_RESERVED_NAMES_H_
