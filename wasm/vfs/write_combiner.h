// CombiningFile: a File decorator that hands contiguous writes to its base file as one
// write. SQLite appends a commit to the WAL as a 24-byte frame header plus a page per
// changed page — about 15 host calls for one local write on OPFS or fs, each crossing
// wasm → JS → the browser's file. Held back and joined, a commit reaches the host as one
// call, followed by the sync.
//
// Used on storage with powersafe overwrite (the raw layer enables it when the store asks
// through kFcntlCombineWrites, src/vfs_control.h), under synchronous FULL and NORMAL alike.
// On a WAL file, the write of a commit frame's page (the page after a frame header whose
// commit field is non-zero) hands everything held back to the host in that same call; SQLite
// writes nothing after it but the sync (FULL; no sector padding with powersafe overwrite) and
// counts the frames only after both returned, so a held-back write that fails (quota: kFull)
// fails that commit cleanly — with a sync after it (FULL) or without (NORMAL). A transaction
// that spilled pages to the WAL and changed them again has its frame headers rewritten before
// the commit counts (SQLite's checksum pass): each is read around (which flushes) and the
// commit frame's header, written in place rather than appended, goes straight out. Pending bytes
// also go out before any read, size, truncate, sync or close of the file and at the end of
// every transaction (SQLITE_FCNTL_COMMIT_PHASETWO), so nothing reads around them or waits in
// memory.
#ifndef ELECTROLITE_WASM_VFS_WRITE_COMBINER_H_
#define ELECTROLITE_WASM_VFS_WRITE_COMBINER_H_

#include <memory>
#include <string>

#include "vfs/storage.h"

namespace electrolite {
namespace vfs {

class CombiningFile : public File {
 public:
  // Held back at most; a longer run goes out at once.
  static constexpr size_t kMaxPending = 1 << 20;

  explicit CombiningFile(std::unique_ptr<File> base) : base_(std::move(base)) {}
  ~CombiningFile() override { Flush(); }

  // Off (the default): every write goes straight through.
  void set_enabled(bool on) { enabled_ = on; }
  // A WAL file: its commit frames end what is held back (see above).
  void set_wal(bool wal) { wal_ = wal; }
  bool has_pending() const { return !pending_.empty(); }

  // Writes what is held back; on failure it is dropped (the caller's sync/commit fails).
  IoCode Flush();

  IoCode Read(uint64_t offset, MutableBytes dst, size_t* n_read) override;
  IoCode Write(uint64_t offset, ConstBytes src) override;
  IoCode Truncate(uint64_t size) override;
  IoCode Sync() override;
  IoCode Size(uint64_t* size) override;

 private:
  // Joins src to what is held back, or writes it through.
  IoCode Hold(uint64_t offset, ConstBytes src);
  // Writes what is held back, then src.
  IoCode WriteThrough(uint64_t offset, ConstBytes src);

  std::unique_ptr<File> base_;
  bool enabled_ = false;
  bool wal_ = false;
  bool ends_commit_ = false;  // the last write was a commit frame's header
  uint64_t end_ = 0;          // where the last write ended
  uint64_t start_ = 0;   // file offset of pending_[0]
  std::string pending_;  // contiguous bytes not yet written
};

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_WRITE_COMBINER_H_
