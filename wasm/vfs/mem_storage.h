// MemStorage: files held in (wasm) memory — the default VFS, "memvfs".
//
// Used in Node (tests, benchmarks, SSR) and as the browser fallback when OPFS
// is unavailable. A file is a list of fixed-size chunks allocated on demand,
// so growing a 40 MB database never copies it and never needs twice its size
// in one allocation; chunks that were never written read as zeros. Running
// out of memory is reported as kFull (SQLITE_FULL), never as a crash.
//
// Files outlive the connections that use them until deleted, so closing and
// reopening "app.db" within one module instance finds the same data.
#ifndef ELECTROLITE_WASM_VFS_MEM_STORAGE_H_
#define ELECTROLITE_WASM_VFS_MEM_STORAGE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "vfs/storage.h"

namespace electrolite {
namespace vfs {

class MemStorage : public Storage {
 public:
  // Bytes per chunk: a multiple of every SQLite page size.
  static constexpr size_t kChunkSize = 64 * 1024;

  MemStorage();
  ~MemStorage() override;
  MemStorage(const MemStorage&) = delete;
  MemStorage& operator=(const MemStorage&) = delete;

  IoCode Open(const std::string& name, bool create, std::unique_ptr<File>* file) override;
  IoCode Delete(const std::string& name) override;
  IoCode Stat(const std::string& name, uint64_t* size) override;
  std::string LastError() const override { return last_error_; }

  // Bytes held in chunks by the files currently named (for diagnostics).
  uint64_t AllocatedBytes() const;

  // The contents of one file; shared by the open handles on it.
  class Blob;

 private:
  std::map<std::string, std::shared_ptr<Blob>> files_;
  std::string last_error_;
};

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_MEM_STORAGE_H_
