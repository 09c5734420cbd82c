// Snapshots: `db.export()` / `Electrolite.open({ import })`.
//
// A snapshot is the whole local database - synced rows, overlay, outbox,
// shape handles/offsets/cursors, bookkeeping - so a restored client resumes
// sync where the exporting one stopped. Layout (little-endian):
//
//   offset  size  field
//   0       8     magic "ELSNAP\r\n"
//   8       4     format version (kSnapshotFormatVersion)
//   12      8     schema fingerprint (SchemaFingerprint of the declarations)
//   20      8     payload size before compression
//   28      4     CRC-32 of the zstd frame (every byte after the header)
//   32      ...   one zstd frame (its content checksum covers the payload)
//
// The payload is a logical image, not pages (so it is independent of page
// size, VFS and SQLite's optional serialize API): the CREATE statement of
// every table, each table's rows (rowid kept for rowid tables), then every
// index, view and trigger in creation order. Records:
//   'S' u32 len, sql       'T' u32 len, name, u32 columns, u8 has_rowid
//   'R' values (u8 tag: 0 null, 1 int64, 2 double, 3 text u32 len, 4 blob u32 len)
//   'E' end of payload
//
// Import refuses, with a clear error and without touching the database,
// anything that is not a complete snapshot of this format and schema.
#ifndef ELECTROLITE_SRC_SNAPSHOT_EXPORT_H_
#define ELECTROLITE_SRC_SNAPSHOT_EXPORT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"
#include "table_decl.h"

namespace electrolite {

class Store;
struct EngineOptions;

inline constexpr char kSnapshotMagic[8] = {'E', 'L', 'S', 'N', 'A', 'P', '\r', '\n'};
inline constexpr uint32_t kSnapshotFormatVersion = 1;
inline constexpr size_t kSnapshotHeaderSize = 32;
// Refuse payloads claiming more than this (a corrupt or hostile header).
inline constexpr uint64_t kSnapshotMaxPayload = 1ULL << 31;

// A stable hash of the declared tables (names, declared columns and types,
// primary keys), independent of declaration order and of policies.
uint64_t SchemaFingerprint(const std::vector<TableDecl>& decls);
// Fingerprint of the tables `options` declares (DeclaredTables).
Result<uint64_t> DeclaredFingerprint(const EngineOptions& options);

// CRC-32 (IEEE 802.3, as zlib computes it).
uint32_t Crc32(std::string_view data);

struct SnapshotInfo {
  uint32_t version = 0;
  uint64_t fingerprint = 0;
  uint64_t payload_bytes = 0;
  uint64_t compressed_bytes = 0;
};

// The snapshot of `store`'s main database. REQUIRES: no open transaction of
// the caller that must not be read (the export reads committed and pending
// state of this connection alike).
Result<std::string> ExportSnapshot(Store& store, uint64_t fingerprint, int zstd_level = 3,
                                   SnapshotInfo* info = nullptr);

// Reads and checks a snapshot's header without decompressing it.
Result<SnapshotInfo> ReadSnapshotHeader(std::string_view snapshot);

// Replaces everything in `store`'s main database with the snapshot's
// content, in one transaction. `fingerprint`: the opening engine's; a
// snapshot of another schema is refused (code schema); a damaged one is
// refused (code corruption); in both cases nothing is changed.
Status ImportSnapshot(Store& store, std::string_view snapshot, uint64_t fingerprint);

// Sign-out (Engine::Clear): drops every table and view of `store`'s main
// database and vacuums the file, so nothing of the user's data stays on disk.
[[nodiscard]] Status ClearDatabase(Store& store);

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_SNAPSHOT_EXPORT_H_
