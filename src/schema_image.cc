#include "schema_image.h"

#include <sqlite3.h>

#include <cstring>

#include "store.h"

namespace electrolite {

namespace {

// A read-only in-memory connection over a copy of the image (sqlite3_deserialize). Nothing
// is prepared on it: a statement would parse every schema object of the image, which the
// copy's own connection parses again anyway.
class ImageSource {
 public:
  ~ImageSource() {
    if (db_ != nullptr) sqlite3_close(db_);
  }
  bool Open(std::string_view image) {
    if (sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      return false;
    }
    if (image.empty()) return true;  // an empty database
    auto* copy = static_cast<unsigned char*>(sqlite3_malloc64(image.size()));
    if (copy == nullptr) return false;
    std::memcpy(copy, image.data(), image.size());
    const auto n = static_cast<sqlite3_int64>(image.size());
    return sqlite3_deserialize(db_, "main", copy, n, n,
                               SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) == SQLITE_OK;
  }
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// Copies the database `image` holds ("" = an empty database) over `store`'s main database,
// in one write transaction of the destination: all pages or none. False when it could not
// (bytes that are no database, another page size than an in-memory destination's, or an
// I/O error, which the open then meets and reports itself).
bool CopyOver(Store& store, std::string_view image) {
  ImageSource src;
  if (!src.Open(image)) return false;
  sqlite3_backup* backup = sqlite3_backup_init(store.raw(), "main", src.db(), "main");
  if (backup == nullptr) return false;
  const int step = sqlite3_backup_step(backup, -1);
  const int finish = sqlite3_backup_finish(backup);
  return step == SQLITE_DONE && finish == SQLITE_OK;
}

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
  if (!CopyOver(store, image)) return false;
  // Whether it is this schema's image is read from the copy: its schema is parsed there once,
  // as the open needs it anyway.
  Result<bool> same = store.SchemaRecorded(kDeclaredKey, FingerprintText(fingerprint));
  if (same.ok() && same.value()) return true;
  // Another schema's image, or no image of ours: back to the empty database this was, and
  // no statement kept that was prepared against the image's tables.
  store.ClearCache();
  if (!CopyOver(store, "")) return store.Error(SQLITE_ERROR, "schema image: could not undo the copy");
  return false;
}

}  // namespace electrolite
