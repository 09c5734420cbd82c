// Benchmark-only Embind export (bench/ingest.mjs): raw SQLite prepared inserts
// in this same wasm build, the baseline for the ingest budget. The work is in
// wasm/bench/raw_insert.cc; this only converts. Not part of the engine API.
#include <emscripten/bind.h>

#include <string>

#include "bench/raw_insert.h"
#include "js_bytes.h"

namespace {

// `packedRows`: a Uint8Array in the format of wasm/bench/raw_insert.h.
std::string BenchRawInsert(const std::string& db_name, const std::string& setup_sql,
                           const std::string& insert_sql, int column_count, int rows_per_txn,
                           const emscripten::val& packed_rows) {
  std::string bytes;
  if (!electrolite::BytesFromJs(packed_rows, &bytes)) {
    return "{\"ok\":false,\"code\":\"invalid_argument\",\"message\":\"packedRows must be a Uint8Array\"}";
  }
  return electrolite::bench::RawInsert(db_name, setup_sql, insert_sql, column_count, rows_per_txn,
                                       bytes);
}

}  // namespace

EMSCRIPTEN_BINDINGS(electrolite_bench) {
  emscripten::function("benchRawInsert", &BenchRawInsert);
}
