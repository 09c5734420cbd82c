// Schema images: a fresh open that copies ready pages instead of running DDL.
//
// A new database with the default schema costs ~22 M instructions natively, most of it
// SQLite parsing, generating and running the CREATE statements of 26 tables, 7 views
// and 24 triggers — in wasm, also the lazy compilation and tier-up of everything that
// touches. The build writes the database a fresh open with the default schema leaves
// behind (no rows but the engine's bookkeeping: the recorded DDL, the declarations, the
// declared fingerprint) as an image (wasm/schema-image.mjs); the client hands it to
// Engine::Open, which copies its pages into a database that has no schema yet and then
// opens it as a reopen: what was recorded is compared, not run again.
//
// The image is only a shortcut. It is used only when it records the same declared
// fingerprint (SchemaFingerprint) as the opening engine; after it, Init checks every
// recorded DDL text against what this build would run, exactly as on any reopen, so an
// image from another build of the engine is still opened correctly (only slower).
#ifndef ELECTROLITE_SRC_SCHEMA_IMAGE_H_
#define ELECTROLITE_SRC_SCHEMA_IMAGE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "status.h"

namespace electrolite {

class Store;

// The `_el_kv` key holding the fingerprint of the declarations the database was
// last opened with (hex, FingerprintText).
inline constexpr char kDeclaredKey[] = "schema:declared";
std::string FingerprintText(uint64_t fingerprint);

// Copies `image` (a SQLite database file in rollback-journal format, page size equal to
// the store's) into `store`'s main database when that has no schema object yet and the
// image records `fingerprint` under kDeclaredKey. Returns whether it did; false leaves
// the database empty, as it was (an image that does not apply is not an error: the open
// builds the schema itself). The fingerprint is read from the copy, whose schema the open
// parses anyway; an image that turns out not to apply is copied back out, so a crash in
// that instant leaves its tables for the next open to treat as any earlier schema.
// REQUIRES: no transaction open on `store`.
[[nodiscard]] Result<bool> ApplySchemaImage(Store& store, std::string_view image, uint64_t fingerprint);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_SCHEMA_IMAGE_H_
