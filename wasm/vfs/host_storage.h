// HostStorage: a Storage whose files live in the JavaScript host — OPFS
// FileSystemSyncAccessHandles in the browser worker (js/browser/opfs-pool.ts), Node `fs`
// file descriptors in Node (js/node-fs-storage.ts). Both are the same duck-typed backend
// (js/storage.ts `StorageBackend`), registered in `Module.elStorage.hosts`.
//
// host_storage.cc is the raw layer of this seam (STYLE.md #3): the only code that turns
// wasm pointers into HEAPU8 views (re-read on every call, so memory growth never leaves a
// stale view), passes 64-bit offsets as doubles, and catches every JS exception: a throw
// never unwinds through wasm (STYLE.md #11). It is classified (QuotaExceededError/ENOSPC ->
// kFull, NotFoundError/ENOENT -> kNotFound, else kIoError) and its message kept as the
// storage's LastError() for diagnostics (SQLite's xGetLastError). Offsets beyond 2^53
// are refused as I/O errors.
//
// Hosts, vfs registration and key checks for the bindings: host_vfs.h.
#ifndef ELECTROLITE_WASM_VFS_HOST_STORAGE_H_
#define ELECTROLITE_WASM_VFS_HOST_STORAGE_H_

#include <memory>
#include <string>

#include "vfs/storage.h"

namespace electrolite {
namespace vfs {

class HostStorage : public Storage {
 public:
  // `host`: index of the backend in Module.elStorage.hosts.
  explicit HostStorage(int host) : host_(host) {}

  IoCode Open(const std::string& name, bool create, std::unique_ptr<File>* file) override;
  IoCode Delete(const std::string& name) override;
  IoCode Stat(const std::string& name, uint64_t* size) override;
  std::string LastError() const override;
  bool OnDisk() const override { return true; }
  // Files of their own (the backend's kind 'opfs' or 'fs'), not IndexedDB's blocks.
  bool GrowthCostsSync() const override;

 private:
  int host_;
};

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_HOST_STORAGE_H_
