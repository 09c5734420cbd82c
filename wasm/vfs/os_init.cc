// sqlite3_os_init / sqlite3_os_end for SQLite built with SQLITE_OS_OTHER=1:
// SQLite then has no VFS of its own and calls these during
// sqlite3_initialize() and sqlite3_shutdown().
//
// Registers "memvfs" (MemStorage) as the default VFS. Later VFSes (OPFS in the
// worker, Node fs) register beside it under their own names with RegisterVfs.
#include <sqlite3.h>

#include "vfs/mem_storage.h"
#include "vfs/sqlite_vfs.h"

namespace {

// Registered once per module instance: sqlite3_shutdown keeps the VFS list,
// so a later sqlite3_initialize must not register a second "memvfs".
bool g_registered = false;

}  // namespace

extern "C" int sqlite3_os_init(void) {
  if (g_registered) return SQLITE_OK;
  // Never destroyed: SQLite holds pointers into it for the process lifetime.
  static electrolite::vfs::MemStorage* storage = new electrolite::vfs::MemStorage();
  int rc = electrolite::vfs::RegisterVfs("memvfs", storage, /*make_default=*/true);
  if (rc == SQLITE_OK) g_registered = true;
  return rc;
}

extern "C" int sqlite3_os_end(void) { return SQLITE_OK; }
