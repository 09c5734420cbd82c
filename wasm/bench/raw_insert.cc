#include "bench/raw_insert.h"

#include <sqlite3.h>

#include <cstring>

#include "status.h"

namespace electrolite {
namespace bench {
namespace {

std::string SqliteError(sqlite3* db, const char* what) {
  return Status::Internal(std::string(what) + ": " + sqlite3_errmsg(db)).ToJson();
}

// Reads packed values; every read checks the remaining length.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool done() const { return pos_ == in_.size(); }
  bool Byte(uint8_t* out) { return Copy(out, 1); }
  bool U32(uint32_t* out) { return Copy(out, 4); }
  bool I64(int64_t* out) { return Copy(out, 8); }
  bool F64(double* out) { return Copy(out, 8); }
  bool Text(uint32_t len, const char** out) {
    if (in_.size() - pos_ < len) return false;
    *out = in_.data() + pos_;
    pos_ += len;
    return true;
  }

 private:
  bool Copy(void* out, size_t n) {  // wasm and x86 are little-endian
    if (in_.size() - pos_ < n) return false;
    std::memcpy(out, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

// Binds one packed value to parameter `index`; false on malformed input.
bool BindNext(Reader& reader, sqlite3_stmt* stmt, int index) {
  uint8_t tag = 0;
  if (!reader.Byte(&tag)) return false;
  switch (tag) {
    case kNull:
      return sqlite3_bind_null(stmt, index) == SQLITE_OK;
    case kInt64: {
      int64_t v = 0;
      return reader.I64(&v) && sqlite3_bind_int64(stmt, index, v) == SQLITE_OK;
    }
    case kDouble: {
      double v = 0;
      return reader.F64(&v) && sqlite3_bind_double(stmt, index, v) == SQLITE_OK;
    }
    case kText: {
      uint32_t len = 0;
      const char* text = nullptr;
      return reader.U32(&len) && reader.Text(len, &text) &&
             sqlite3_bind_text(stmt, index, text, static_cast<int>(len), SQLITE_STATIC) ==
                 SQLITE_OK;
    }
    default:
      return false;
  }
}

}  // namespace

std::string RawInsert(const std::string& db_name, const std::string& setup_sql,
                      const std::string& insert_sql, int column_count, int rows_per_txn,
                      std::string_view packed_rows) {
  if (column_count <= 0 || rows_per_txn <= 0) {
    return Status::InvalidArgument("column_count and rows_per_txn must be positive").ToJson();
  }
  sqlite3* db = nullptr;
  if (sqlite3_open(db_name.c_str(), &db) != SQLITE_OK) {
    std::string err = SqliteError(db, "open");
    sqlite3_close(db);
    return err;
  }
  sqlite3_stmt* stmt = nullptr;
  std::string result;
  int64_t rows = 0;
  Reader reader(packed_rows);
  if (sqlite3_exec(db, setup_sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    result = SqliteError(db, "setup");
  } else if (sqlite3_prepare_v2(db, insert_sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    result = SqliteError(db, "prepare");
  } else if (sqlite3_bind_parameter_count(stmt) != column_count) {
    result = Status::InvalidArgument("insert_sql parameter count differs from column_count").ToJson();
  }
  bool in_txn = false;
  while (result.empty() && !reader.done()) {
    if (!in_txn && sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
      result = SqliteError(db, "begin");
      break;
    }
    in_txn = true;
    for (int i = 1; i <= column_count && result.empty(); ++i) {
      if (!BindNext(reader, stmt, i)) {
        result = Status::InvalidArgument("malformed packed row " + std::to_string(rows)).ToJson();
      }
    }
    if (!result.empty()) break;
    if (sqlite3_step(stmt) != SQLITE_DONE) {
      result = SqliteError(db, "insert");
      break;
    }
    sqlite3_reset(stmt);
    ++rows;
    if (rows % rows_per_txn == 0) {
      if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
        result = SqliteError(db, "commit");
      }
      in_txn = false;
    }
  }
  if (in_txn) {
    const char* end = result.empty() ? "COMMIT" : "ROLLBACK";
    if (sqlite3_exec(db, end, nullptr, nullptr, nullptr) != SQLITE_OK && result.empty()) {
      result = SqliteError(db, "commit");
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (!result.empty()) return result;
  return "{\"ok\":true,\"rows\":" + std::to_string(rows) + "}";
}

}  // namespace bench
}  // namespace electrolite
