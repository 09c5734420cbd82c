#include "fault_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

namespace electrolite {
namespace testing {

FaultState g_fault;

namespace {

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }

int FClose(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int FRead(sqlite3_file* f, void* p, int n, sqlite3_int64 off) { return Real(f)->pMethods->xRead(Real(f), p, n, off); }
int FWrite(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
  if (g_fault.write_countdown > 0 && --g_fault.write_countdown == 0) {
    g_fault.fired = true;
    return SQLITE_IOERR_WRITE;
  }
  return Real(f)->pMethods->xWrite(Real(f), p, n, off);
}
int FTruncate(sqlite3_file* f, sqlite3_int64 size) { return Real(f)->pMethods->xTruncate(Real(f), size); }
int FSync(sqlite3_file* f, int flags) {
  if (g_fault.sync_countdown > 0 && --g_fault.sync_countdown == 0) {
    g_fault.fired = true;
    return SQLITE_IOERR_FSYNC;
  }
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FFileSize(sqlite3_file* f, sqlite3_int64* size) { return Real(f)->pMethods->xFileSize(Real(f), size); }
int FLock(sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); }
int FUnlock(sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); }
int FCheck(sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); }
int FControl(sqlite3_file* f, int op, void* arg) { return Real(f)->pMethods->xFileControl(Real(f), op, arg); }
int FSector(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int FDevice(sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); }

int FOpen(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = reinterpret_cast<FaultFile*>(file);
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  int rc = g_real->xOpen(g_real, name, f->real, flags, out_flags);
  f->base.pMethods = rc == SQLITE_OK ? &g_methods : nullptr;
  return rc;
}
int FDelete(sqlite3_vfs*, const char* name, int sync) { return g_real->xDelete(g_real, name, sync); }
int FAccess(sqlite3_vfs*, const char* name, int flags, int* out) { return g_real->xAccess(g_real, name, flags, out); }
int FFullPath(sqlite3_vfs*, const char* name, int n, char* out) { return g_real->xFullPathname(g_real, name, n, out); }

}  // namespace

void RegisterFaultVfs() {
  if (g_real != nullptr) return;
  g_real = sqlite3_vfs_find(nullptr);
  g_vfs = *g_real;
  g_vfs.zName = "faulty";
  g_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real->szOsFile;
  g_vfs.pNext = nullptr;
  g_vfs.xOpen = FOpen;
  g_vfs.xDelete = FDelete;
  g_vfs.xAccess = FAccess;
  g_vfs.xFullPathname = FFullPath;
  g_methods = sqlite3_io_methods{1, FClose, FRead, FWrite, FTruncate, FSync, FFileSize, FLock,
                                 FUnlock, FCheck, FControl, FSector, FDevice};
  ASSERT_EQ(sqlite3_vfs_register(&g_vfs, 0), SQLITE_OK);
}

}  // namespace testing
}  // namespace electrolite
