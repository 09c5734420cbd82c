// The raw layer: adapts a Storage (storage.h) to SQLite's C VFS interface.
//
// Everything SQLite-shaped lives in sqlite_vfs.cc and nowhere else: the
// sqlite3_vfs and sqlite3_io_methods tables, `void*` buffers, signed 64-bit
// offsets, zero-filling short reads, per-operation error codes, temp files
// (NULL names) and delete-on-close. Backends above it see only Storage/File.
//
// SQLite is compiled with SQLITE_OS_OTHER=1 in the wasm build, so it has no
// VFS of its own: os_init.cc calls RegisterVfs from sqlite3_os_init.
//
// The io methods are version 1 (no xShmMap), exactly like the OPFS VFS will
// be: WAL therefore needs `PRAGMA locking_mode=EXCLUSIVE` before the first
// access (see /work/shared/notes/opfs-feasibility.md, pitfall 7), and
// behaviour on the memory VFS matches the browser's.
#ifndef ELECTROLITE_WASM_VFS_SQLITE_VFS_H_
#define ELECTROLITE_WASM_VFS_SQLITE_VFS_H_

#include <string>

#include "vfs/storage.h"

namespace electrolite {
namespace vfs {

// Registers `storage` with SQLite as VFS `name` (the default VFS when
// `make_default`). Returns an SQLite result code.
// REQUIRES: `storage` outlives every database opened on it; `name` is unique.
int RegisterVfs(const std::string& name, Storage* storage, bool make_default);

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_SQLITE_VFS_H_
