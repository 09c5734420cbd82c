// Benchmark only: raw SQLite prepared-statement inserts in the wasm build,
// the baseline `npm run bench:ingest` compares engine ingest against
// ("≥ 50 % of raw SQLite-wasm inserts", DESIGN.md budgets). Not used by the
// engine or the client.
#ifndef ELECTROLITE_WASM_BENCH_RAW_INSERT_H_
#define ELECTROLITE_WASM_BENCH_RAW_INSERT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace electrolite {
namespace bench {

// Value tags of the packed row format (little-endian):
//   kNull                     no payload
//   kInt64   int64            8 bytes
//   kDouble  IEEE-754 double  8 bytes
//   kText    uint32 length    then that many UTF-8 bytes
enum PackedTag : uint8_t { kNull = 0, kInt64 = 1, kDouble = 2, kText = 3 };

// Opens a fresh database `db_name` on the default VFS, runs `setup_sql`
// (pragmas and CREATE TABLE), then binds and steps `insert_sql` (with
// `column_count` parameters) once per packed row, committing every
// `rows_per_txn` rows, and closes the database.
// Returns {"ok":true,"rows":N} or {"ok":false,"code","message"}.
std::string RawInsert(const std::string& db_name, const std::string& setup_sql,
                      const std::string& insert_sql, int column_count, int rows_per_txn,
                      std::string_view packed_rows);

}  // namespace bench
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_BENCH_RAW_INSERT_H_
