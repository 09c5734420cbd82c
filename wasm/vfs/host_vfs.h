// Named SQLite VFSes over JS host storages (host_storage.h), optionally encrypted
// (encrypted_storage.h): what bindings/storage_bindings.cc exposes as
// `registerStorage`, `checkStorage` and `storageError`.
#ifndef ELECTROLITE_WASM_VFS_HOST_VFS_H_
#define ELECTROLITE_WASM_VFS_HOST_VFS_H_

#include <string>

#include "status.h"

namespace electrolite {
namespace vfs {

// Registers VFS `name` over the JS backend `host` (an index in Module.elStorage.hosts).
// `key` empty: files are stored as SQLite writes them; 32 bytes: every file is encrypted
// (ChaCha20-Poly1305 per 4096-byte block). invalid_argument for a name already registered
// or a key of another length.
Status RegisterHostVfs(const std::string& name, int host, const std::string& key);

// Whether `file` on VFS `name` can be opened with that VFS's key: ok when it matches, is
// missing or empty, or the VFS has no key; auth "wrong encryption key" when it was written
// with another key; corruption when an encrypted VFS finds a file written without
// encryption. (A plain VFS over an encrypted file fails later, as SQLite's "file is not a
// database" — checkStorage says which it is.)
Status CheckHostVfs(const std::string& name, const std::string& file);

// The last error the VFS's backend reported ("" if none).
std::string HostVfsLastError(const std::string& name);

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_HOST_VFS_H_
