#include "schema_image.h"

#include <sqlite3.h>

#include <cstring>

#include "store.h"

namespace electrolite {

namespace {

// A read-only in-memory connection over a copy of the image (sqlite3_deserialize).
class ImageSource {
 public:
  ~ImageSource() {
    if (db_ != nullptr) sqlite3_close(db_);
  }
  bool Open(std::string_view image) {
    if (sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      return false;
    }
    auto* copy = static_cast<unsigned char*>(sqlite3_malloc64(image.size()));
    if (copy == nullptr) return false;
    std::memcpy(copy, image.data(), image.size());
    const auto n = static_cast<sqlite3_int64>(image.size());
    return sqlite3_deserialize(db_, "main", copy, n, n,
                               SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) == SQLITE_OK;
  }
  // The image's recorded declared fingerprint, or "" when it has none.
  std::string Declared() const {
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, "SELECT value FROM _el_kv WHERE key = ?1", -1, &st, nullptr) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, kDeclaredKey, -1, SQLITE_STATIC);
      if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char* v = sqlite3_column_text(st, 0);
        if (v != nullptr) out = reinterpret_cast<const char*>(v);
      }
    }
    sqlite3_finalize(st);
    return out;
  }
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace

std::string FingerprintText(uint64_t fingerprint) {
  static const char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; i--, fingerprint >>= 4) out[static_cast<size_t>(i)] = kHex[fingerprint & 0xf];
  return out;
}

Result<bool> ApplySchemaImage(Store& store, std::string_view image, uint64_t fingerprint) {
  if (image.empty()) return false;
  EL_ASSIGN_OR_RETURN(int64_t objects, store.QueryInt64("SELECT count(*) FROM sqlite_master"));
  if (objects != 0) return false;  // not a new database: the open checks what it holds
  ImageSource src;
  if (!src.Open(image) || src.Declared() != FingerprintText(fingerprint)) return false;
  // One write transaction on the destination: all pages or none.
  sqlite3_backup* backup = sqlite3_backup_init(store.raw(), "main", src.db(), "main");
  if (backup == nullptr) return store.Error(sqlite3_errcode(store.raw()), "schema image");
  const int step = sqlite3_backup_step(backup, -1);
  const int finish = sqlite3_backup_finish(backup);
  if (step != SQLITE_DONE) {
    // Different page sizes (an in-memory destination cannot change its own): build instead.
    if ((step & 0xff) == SQLITE_READONLY) return false;
    return store.Error(step, "schema image");
  }
  if (finish != SQLITE_OK) return store.Error(finish, "schema image");
  return true;
}

}  // namespace electrolite
