// Storage: the facade every Electrolite SQLite VFS is built from.
//
// The raw layer (sqlite_vfs.cc) owns everything SQLite-shaped: the
// sqlite3_vfs / sqlite3_io_methods tables, `void*` buffers, sqlite3_int64
// offsets, short-read zero fill and the mapping of failures to the specific
// SQLite error code of each operation. Below it, a backend only implements
// this small interface over byte slices and unsigned 64-bit offsets:
//
//   MemStorage   (mem_storage.h)  files in wasm memory; the default "memvfs".
//   (browser)    OPFS sync access handles, called through EM_JS.
//   (later)      a Node `fs`-backed storage with the same duck-typed handles.
//
// Backends never throw into SQLite (STYLE.md #11): they return an IoCode and
// keep a human-readable LastError() for diagnostics.
#ifndef ELECTROLITE_WASM_VFS_STORAGE_H_
#define ELECTROLITE_WASM_VFS_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace electrolite {
namespace vfs {

// Outcome of one storage operation. The raw layer turns a failure into the
// operation's own SQLite code (SQLITE_IOERR_READ, SQLITE_IOERR_WRITE, ...).
enum class IoCode {
  kOk = 0,
  kNotFound,   // no such file
  kIoError,    // the backend failed; see LastError()
  kFull,       // out of memory or quota (SQLITE_FULL)
  kCantOpen,   // the file exists but cannot be opened in this mode
  kCorrupt,    // the bytes fail authentication (tampered, or another encryption key)
};

// A read-only view of bytes owned by the caller.
struct ConstBytes {
  const uint8_t* data;
  size_t size;
};

// A writable view of bytes owned by the caller.
struct MutableBytes {
  uint8_t* data;
  size_t size;
};

// One open file. Offsets and sizes are 64-bit. Not thread-safe (SQLite is
// built with SQLITE_THREADSAFE=0 and each engine lives in one worker).
class File {
 public:
  virtual ~File() = default;

  // Copies up to dst.size bytes starting at `offset` into dst and sets
  // *n_read to the number copied. *n_read < dst.size means end of file (the
  // raw layer zero-fills the rest and reports SQLITE_IOERR_SHORT_READ).
  virtual IoCode Read(uint64_t offset, MutableBytes dst, size_t* n_read) = 0;

  // Writes all of `src` at `offset`, growing the file (a gap reads as zeros).
  virtual IoCode Write(uint64_t offset, ConstBytes src) = 0;

  // Sets the file size to exactly `size` (shrinking or zero-extending).
  virtual IoCode Truncate(uint64_t size) = 0;

  // Makes every previous write durable.
  virtual IoCode Sync() = 0;

  virtual IoCode Size(uint64_t* size) = 0;
};

// A flat namespace of files, as SQLite names them ("app.db",
// "app.db-journal", "app.db-wal", and generated names for temp files).
class Storage {
 public:
  virtual ~Storage() = default;

  // Opens `name`. With `create`, a missing file is created empty; without
  // it, a missing file is kNotFound. On success *file is set.
  virtual IoCode Open(const std::string& name, bool create, std::unique_ptr<File>* file) = 0;

  // Removes `name`. Handles that are still open keep their data until they
  // close (POSIX unlink semantics). kNotFound if there is no such file.
  virtual IoCode Delete(const std::string& name) = 0;

  // Sets *size when `name` exists; kNotFound otherwise.
  virtual IoCode Stat(const std::string& name, uint64_t* size) = 0;

  // The message of the most recent failure, "" if none.
  virtual std::string LastError() const = 0;

  // Files on real media (disk, OPFS), where a power loss may reorder or tear writes: the
  // raw layer then claims only SQLITE_IOCAP_POWERSAFE_OVERWRITE (if PowersafeOverwrite())
  // and never SAFE_APPEND or SEQUENTIAL, so SQLite keeps every sync FULL durability needs.
  virtual bool OnDisk() const { return false; }

  // Whether a write leaves every byte outside its range intact even when torn by a power
  // loss (SQLITE_IOCAP_POWERSAFE_OVERWRITE). Block-encrypted storage rewrites whole blocks.
  virtual bool PowersafeOverwrite() const { return true; }

  // Whether a file's growth costs the next sync more than an overwrite does (real files:
  // OPFS, fs — the sync also stores the size and the new blocks), so a WAL keeps its bytes
  // (vfs/wal_space.h). Not memory, nor IndexedDB's blocks held in memory.
  virtual bool GrowthCostsSync() const { return OnDisk(); }
};

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_STORAGE_H_
