#include "vfs/sqlite_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "vfs_control.h"
#include "vfs/host.h"
#include "vfs/wal_space.h"
#include "vfs/write_combiner.h"

namespace electrolite {
namespace vfs {
namespace {

// What SQLite allocates szOsFile bytes for. `base` must come first: SQLite
// hands us a sqlite3_file* that we cast back.
struct RawVfs;
struct RawFile {
  sqlite3_file base;
  RawVfs* owner;
  Storage* storage;
  std::unique_ptr<CombiningFile> file;
  WalSpaceFile* wal_space;  // inside `file`: a WAL's (nullptr for other files)
  std::string name;
  bool delete_on_close;
};

// One registered VFS: SQLite's table plus the name it points at, and its open files (for
// kFcntlCombineWrites and the end-of-transaction flush).
struct RawVfs {
  sqlite3_vfs vfs;
  std::string name;
  Storage* storage;
  uint64_t temp_counter = 0;
  bool combine_writes = false;
  std::vector<RawFile*> files;
};

File* FileOf(sqlite3_file* f) { return reinterpret_cast<RawFile*>(f)->file.get(); }

Storage* StorageOf(sqlite3_vfs* vfs) { return static_cast<RawVfs*>(vfs->pAppData)->storage; }

// Maps a failed operation to its SQLite code: SQLITE_FULL for quota/memory,
// SQLITE_CORRUPT for bytes that fail authentication (encrypted storage), else the
// operation-specific I/O error.
int ErrorCode(IoCode code, int io_error) {
  if (code == IoCode::kFull) return SQLITE_FULL;
  if (code == IoCode::kCorrupt) return SQLITE_CORRUPT;
  return io_error;
}

// ---- sqlite3_io_methods (version 1) ----

int RawClose(sqlite3_file* f) {
  RawFile* raw = reinterpret_cast<RawFile*>(f);
  IoCode flushed = raw->file->Flush();
  raw->file.reset();
  auto& files = raw->owner->files;
  files.erase(std::remove(files.begin(), files.end(), raw), files.end());
  int rc = flushed == IoCode::kOk ? SQLITE_OK : ErrorCode(flushed, SQLITE_IOERR_CLOSE);
  if (raw->delete_on_close) {
    IoCode code = raw->storage->Delete(raw->name);
    if (code != IoCode::kOk && code != IoCode::kNotFound) rc = SQLITE_IOERR_DELETE;
  }
  raw->~RawFile();
  return rc;
}

int RawRead(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  if (amount < 0 || offset < 0) return SQLITE_IOERR_READ;
  uint8_t* dst = static_cast<uint8_t*>(buf);
  size_t n_read = 0;
  IoCode code = FileOf(f)->Read(static_cast<uint64_t>(offset),
                                MutableBytes{dst, static_cast<size_t>(amount)}, &n_read);
  if (code != IoCode::kOk) return ErrorCode(code, SQLITE_IOERR_READ);
  if (n_read < static_cast<size_t>(amount)) {
    // SQLite requires the unread tail to be zeroed on a short read.
    std::memset(dst + n_read, 0, static_cast<size_t>(amount) - n_read);
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int RawWrite(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  if (amount < 0 || offset < 0) return SQLITE_IOERR_WRITE;
  IoCode code = FileOf(f)->Write(
      static_cast<uint64_t>(offset),
      ConstBytes{static_cast<const uint8_t*>(buf), static_cast<size_t>(amount)});
  return code == IoCode::kOk ? SQLITE_OK : ErrorCode(code, SQLITE_IOERR_WRITE);
}

int RawTruncate(sqlite3_file* f, sqlite3_int64 size) {
  if (size < 0) return SQLITE_IOERR_TRUNCATE;
  IoCode code = FileOf(f)->Truncate(static_cast<uint64_t>(size));
  return code == IoCode::kOk ? SQLITE_OK : ErrorCode(code, SQLITE_IOERR_TRUNCATE);
}

int RawSync(sqlite3_file* f, int /*flags*/) {
  IoCode code = FileOf(f)->Sync();
  return code == IoCode::kOk ? SQLITE_OK : ErrorCode(code, SQLITE_IOERR_FSYNC);
}

int RawFileSize(sqlite3_file* f, sqlite3_int64* size) {
  uint64_t n = 0;
  IoCode code = FileOf(f)->Size(&n);
  if (code != IoCode::kOk) return ErrorCode(code, SQLITE_IOERR_FSTAT);
  *size = static_cast<sqlite3_int64>(n);
  return SQLITE_OK;
}

// One engine per worker holds its files exclusively (OPFS access handles are
// exclusive locks in themselves), so SQLite's file locks are no-ops.
int RawLock(sqlite3_file*, int) { return SQLITE_OK; }
int RawUnlock(sqlite3_file*, int) { return SQLITE_OK; }
int RawCheckReservedLock(sqlite3_file*, int* out) {
  *out = 0;
  return SQLITE_OK;
}

// Whether a WAL keeps its bytes allocated (vfs/wal_space.h): where writes combine, on files
// whose growth costs the sync.
bool KeepsWalSpace(const RawVfs* owner) { return owner->combine_writes && owner->storage->GrowthCostsSync(); }

// kFcntlCombineWrites (the store, on every persistent open): turn write combining on or off for
// every file of this VFS (on only where the storage has powersafe overwrite), and with it the
// WAL's kept space on disk. SQLITE_FCNTL_COMMIT_PHASETWO (end of every committed transaction):
// whatever is still held back goes out now.
int RawFileControl(sqlite3_file* f, int op, void* arg) {
  RawVfs* owner = reinterpret_cast<RawFile*>(f)->owner;
  if (op == kFcntlCombineWrites) {
    // Without powersafe overwrite SQLite pads a commit to a sector boundary and may write
    // padding frames after the WAL sync; held back, those would fail after the commit
    // counted them. So only storage that claims it (not block-encrypted) combines.
    owner->combine_writes = *static_cast<int*>(arg) != 0 && owner->storage->PowersafeOverwrite();
    for (RawFile* other : owner->files) {
      IoCode code = other->file->Flush();
      if (code != IoCode::kOk) return ErrorCode(code, SQLITE_IOERR_WRITE);
      other->file->set_enabled(owner->combine_writes);
      if (other->wal_space != nullptr) other->wal_space->set_enabled(KeepsWalSpace(owner));
    }
    return SQLITE_OK;
  }
  if (op == SQLITE_FCNTL_COMMIT_PHASETWO) {
    for (RawFile* other : owner->files) {
      IoCode code = other->file->Flush();
      if (code != IoCode::kOk) return ErrorCode(code, SQLITE_IOERR_WRITE);
    }
  }
  return SQLITE_NOTFOUND;
}

int RawSectorSize(sqlite3_file*) { return 4096; }

int RawDeviceCharacteristics(sqlite3_file* f) {
  const Storage* storage = reinterpret_cast<RawFile*>(f)->storage;
  int powersafe = storage->PowersafeOverwrite() ? SQLITE_IOCAP_POWERSAFE_OVERWRITE : 0;
  if (storage->OnDisk()) return powersafe | SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN;
  // Memory: nothing survives a power loss anyway, so promise what lets SQLite skip work.
  return SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL | powersafe | SQLITE_IOCAP_UNDELETABLE_WHEN_OPEN;
}

const sqlite3_io_methods kIoMethods = {
    1,  // iVersion: no shared memory (WAL needs locking_mode=EXCLUSIVE)
    RawClose,       RawRead,          RawWrite,      RawTruncate,
    RawSync,        RawFileSize,      RawLock,       RawUnlock,
    RawCheckReservedLock, RawFileControl, RawSectorSize, RawDeviceCharacteristics,
    nullptr,  // xShmMap
    nullptr,  // xShmLock
    nullptr,  // xShmBarrier
    nullptr,  // xShmUnmap
    nullptr,  // xFetch
    nullptr,  // xUnfetch
};

// ---- sqlite3_vfs ----

int RawOpen(sqlite3_vfs* vfs, const char* z_name, sqlite3_file* f, int flags, int* out_flags) {
  RawVfs* raw_vfs = static_cast<RawVfs*>(vfs->pAppData);
  f->pMethods = nullptr;  // SQLite skips xClose when xOpen fails
  std::string name;
  bool delete_on_close = (flags & SQLITE_OPEN_DELETEONCLOSE) != 0;
  if (z_name == nullptr) {
    // A temp file SQLite did not name: give it a private one.
    name = "temp-" + std::to_string(++raw_vfs->temp_counter);
    delete_on_close = true;
  } else {
    name = z_name;
  }
  bool create = (flags & SQLITE_OPEN_CREATE) != 0 || z_name == nullptr;
  if ((flags & SQLITE_OPEN_EXCLUSIVE) != 0) {
    uint64_t size = 0;
    if (raw_vfs->storage->Stat(name, &size) == IoCode::kOk) return SQLITE_CANTOPEN;
  }
  std::unique_ptr<File> file;
  IoCode code = raw_vfs->storage->Open(name, create, &file);
  if (code == IoCode::kFull) return SQLITE_FULL;
  if (code == IoCode::kCorrupt) return SQLITE_CORRUPT;
  if (code != IoCode::kOk || !file) return SQLITE_CANTOPEN;
  RawFile* raw = new (f) RawFile{};
  raw->owner = raw_vfs;
  raw->storage = raw_vfs->storage;
  const bool wal = (flags & SQLITE_OPEN_WAL) != 0;
  if (wal) {
    auto space = std::make_unique<WalSpaceFile>(std::move(file));
    raw->wal_space = space.get();
    raw->wal_space->set_enabled(KeepsWalSpace(raw_vfs));
    file = std::move(space);
  }
  raw->file = std::make_unique<CombiningFile>(std::move(file));
  raw->file->set_enabled(raw_vfs->combine_writes);
  raw->file->set_wal(wal);
  raw_vfs->files.push_back(raw);
  raw->name = std::move(name);
  raw->delete_on_close = delete_on_close;
  f->pMethods = &kIoMethods;
  if (out_flags != nullptr) *out_flags = flags;
  return SQLITE_OK;
}

int RawDelete(sqlite3_vfs* vfs, const char* z_name, int /*sync_dir*/) {
  IoCode code = StorageOf(vfs)->Delete(z_name);
  if (code == IoCode::kNotFound) return SQLITE_IOERR_DELETE_NOENT;
  return code == IoCode::kOk ? SQLITE_OK : SQLITE_IOERR_DELETE;
}

// Like the unix VFS, an empty file does not "exist" for SQLITE_ACCESS_EXISTS
// (SQLite asks this about hot journals).
int RawAccess(sqlite3_vfs* vfs, const char* z_name, int flags, int* out) {
  uint64_t size = 0;
  IoCode code = StorageOf(vfs)->Stat(z_name, &size);
  if (code != IoCode::kOk && code != IoCode::kNotFound) return SQLITE_IOERR_ACCESS;
  bool exists = code == IoCode::kOk;
  *out = (flags == SQLITE_ACCESS_EXISTS) ? (exists && size > 0) : exists;
  return SQLITE_OK;
}

// Names are flat keys, already "full".
int RawFullPathname(sqlite3_vfs*, const char* z_name, int n_out, char* z_out) {
  size_t len = std::strlen(z_name);
  if (n_out <= 0 || len >= static_cast<size_t>(n_out)) return SQLITE_CANTOPEN;
  std::memcpy(z_out, z_name, len + 1);
  return SQLITE_OK;
}

int RawRandomness(sqlite3_vfs*, int n, char* out) {
  if (n <= 0) return 0;
  FillRandom(reinterpret_cast<uint8_t*>(out), static_cast<size_t>(n));
  return n;
}

// Single-threaded worker: nothing to wait for.
int RawSleep(sqlite3_vfs*, int microseconds) { return microseconds; }

// Julian day number of the Unix epoch, in ms (as SQLite's unix VFS).
constexpr sqlite3_int64 kUnixEpochJulianMs = 24405875 * static_cast<sqlite3_int64>(8640000);

int RawCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  *out = kUnixEpochJulianMs + NowMs();
  return SQLITE_OK;
}

int RawCurrentTime(sqlite3_vfs* vfs, double* out) {
  sqlite3_int64 ms = 0;
  RawCurrentTimeInt64(vfs, &ms);
  *out = static_cast<double>(ms) / 86400000.0;
  return SQLITE_OK;
}

int RawGetLastError(sqlite3_vfs* vfs, int n, char* out) {
  if (n <= 0) return 0;
  std::string message = StorageOf(vfs)->LastError();
  size_t len = message.size() < static_cast<size_t>(n - 1) ? message.size() : n - 1;
  std::memcpy(out, message.data(), len);
  out[len] = '\0';
  return 0;
}

}  // namespace

int RegisterVfs(const std::string& name, Storage* storage, bool make_default) {
  // Lives as long as the process: SQLite keeps the pointer.
  RawVfs* raw = new (std::nothrow) RawVfs{};
  if (raw == nullptr) return SQLITE_NOMEM;
  raw->name = name;
  raw->storage = storage;
  sqlite3_vfs& v = raw->vfs;
  v.iVersion = 2;
  v.szOsFile = sizeof(RawFile);
  v.mxPathname = 512;
  v.zName = raw->name.c_str();
  v.pAppData = raw;
  v.xOpen = RawOpen;
  v.xDelete = RawDelete;
  v.xAccess = RawAccess;
  v.xFullPathname = RawFullPathname;
  v.xRandomness = RawRandomness;
  v.xSleep = RawSleep;
  v.xCurrentTime = RawCurrentTime;
  v.xGetLastError = RawGetLastError;
  v.xCurrentTimeInt64 = RawCurrentTimeInt64;
  return sqlite3_vfs_register(&v, make_default ? 1 : 0);
}

}  // namespace vfs
}  // namespace electrolite
