// File-control opcodes Electrolite's store sends to Electrolite's own SQLite VFSes
// (wasm/vfs/sqlite_vfs.cc). Other VFSes answer SQLITE_NOTFOUND, which callers ignore.
#ifndef ELECTROLITE_SRC_VFS_CONTROL_H_
#define ELECTROLITE_SRC_VFS_CONTROL_H_

namespace electrolite {

// *(int*)arg non-zero: join contiguous writes into one host write, handed over at the latest
// with the page of each WAL commit frame (wasm/vfs/write_combiner.h), so a failed host write
// fails that commit under synchronous FULL and NORMAL alike.
constexpr int kFcntlCombineWrites = 0x454c0001;

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_VFS_CONTROL_H_
