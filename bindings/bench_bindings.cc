// Benchmark-only Embind export (bench/ingest.mjs): raw SQLite prepared inserts
// in this same wasm build, the baseline for the ingest budget. The work is in
// wasm/bench/raw_insert.cc; this only converts. Not part of the engine API.
#include <emscripten/bind.h>

#include <string>

#include "bench/raw_insert.h"

namespace {

// `packedRows`: a Uint8Array in the format of wasm/bench/raw_insert.h.
std::string BenchRawInsert(const std::string& db_name, const std::string& setup_sql,
                           const std::string& insert_sql, int column_count, int rows_per_txn,
                           const std::string& packed_rows) {
  return electrolite::bench::RawInsert(db_name, setup_sql, insert_sql, column_count, rows_per_txn,
                                       packed_rows);
}

}  // namespace

EMSCRIPTEN_BINDINGS(electrolite_bench) {
  emscripten::function("benchRawInsert", &BenchRawInsert);
}
