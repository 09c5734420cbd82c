// WalSpaceFile: a File decorator for a WAL on disk that keeps the file's bytes allocated, so
// a commit overwrites bytes the file already has instead of growing it. On OPFS (and on a
// file system under fdatasync) the sync after a write that grows a file also has to store the
// file's new size and its new blocks; after an overwrite it stores the data alone — measured
// in Chromium, a 33 KB commit's flush() takes ~0.14 ms over allocated bytes against ~0.19–0.22
// ms at the end of the file (bench/profile/durable-write.mjs), the floor of every FULL commit.
//
//  - A write past the allocated end grows the file to the next multiple of kChunk in that same
//    write: the commit's bytes followed by zeros. (Refused for quota, it is retried without
//    the zeros, so the reserve never fails a commit that fits.) The WAL then grows once per
//    chunk instead of once per commit.
//  - A truncate to zero (SQLite's TRUNCATE checkpoint: the idle checkpoint, js/storage-open.ts)
//    zeroes the 32-byte WAL header instead and keeps up to kKeep bytes: a WAL whose header is
//    not valid holds no frames for SQLite's recovery (as after a real truncate), and the next
//    commits, which start again at offset 0, overwrite. Frames past the valid ones — zeros or
//    stale frames of an earlier generation (other salts) — end SQLite's recovery scan, as in
//    any WAL that journal_size_limit left long.
//
// Used where write combining is (the raw layer enables both through kFcntlCombineWrites) and
// only on real files (Storage::GrowthCostsSync: OPFS, fs): memory and IndexedDB's in-memory
// blocks gain nothing from it, and block-encrypted storage (no powersafe overwrite) would fail
// to authenticate the zeros it never wrote.
#ifndef ELECTROLITE_WASM_VFS_WAL_SPACE_H_
#define ELECTROLITE_WASM_VFS_WAL_SPACE_H_

#include <memory>

#include "vfs/storage.h"

namespace electrolite {
namespace vfs {

class WalSpaceFile : public File {
 public:
  // A WAL grows by this much at a time (about 15 single-row commits of 8 frames).
  static constexpr uint64_t kChunk = 512 * 1024;
  // What a truncate to zero keeps at most (the WAL of a 1000-page auto-checkpoint fits).
  static constexpr uint64_t kKeep = 4 * 1024 * 1024 + kChunk;
  // SQLite's WAL header: zeroed, the WAL is empty.
  static constexpr size_t kWalHeader = 32;

  explicit WalSpaceFile(std::unique_ptr<File> base) : base_(std::move(base)) {}

  // Off (the default): every call goes straight through.
  void set_enabled(bool on) { enabled_ = on; }

  IoCode Read(uint64_t offset, MutableBytes dst, size_t* n_read) override {
    return base_->Read(offset, dst, n_read);
  }
  IoCode Write(uint64_t offset, ConstBytes src) override;
  IoCode Truncate(uint64_t size) override;
  IoCode Sync() override { return base_->Sync(); }
  IoCode Size(uint64_t* size) override { return base_->Size(size); }

 private:
  // Learns the file's size once (its bytes are all allocated).
  IoCode Known();

  std::unique_ptr<File> base_;
  bool enabled_ = false;
  bool known_ = false;
  uint64_t allocated_ = 0;  // the file's size: bytes a write overwrites without growing it
};

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_WAL_SPACE_H_
