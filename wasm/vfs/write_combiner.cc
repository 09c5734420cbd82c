#include "vfs/write_combiner.h"

namespace electrolite {
namespace vfs {

IoCode CombiningFile::Flush() {
  if (pending_.empty()) return IoCode::kOk;
  IoCode code = base_->Write(start_, ConstBytes{reinterpret_cast<const uint8_t*>(pending_.data()),
                                                pending_.size()});
  pending_.clear();
  return code;
}

IoCode CombiningFile::Read(uint64_t offset, MutableBytes dst, size_t* n_read) {
  IoCode code = Flush();
  if (code != IoCode::kOk) return code;
  return base_->Read(offset, dst, n_read);
}

namespace {

// A WAL frame header (24 bytes, written on its own before its page) whose bytes 4..7 — the
// database size in pages after the commit, big-endian — are non-zero ends a transaction.
constexpr size_t kWalFrameHeader = 24;
bool IsCommitFrameHeader(ConstBytes src) {
  return src.size == kWalFrameHeader && (src.data[4] | src.data[5] | src.data[6] | src.data[7]) != 0;
}

}  // namespace

IoCode CombiningFile::Write(uint64_t offset, ConstBytes src) {
  const bool commit_header = enabled_ && wal_ && IsCommitFrameHeader(src);
  // A commit frame's header that does not continue the last write is SQLite rewriting the
  // header in place (its checksum pass over a transaction that overwrote its own frames) with
  // no page after it, or the first append after opening: either way it goes out now.
  const bool appends = offset == end_;
  end_ = offset + src.size;
  IoCode code = commit_header && !appends ? WriteThrough(offset, src) : Hold(offset, src);
  if (code == IoCode::kOk && ends_commit_) {
    // The commit frame's page: the whole commit goes out in this call, so a failure fails
    // it before SQLite counts the frames (with or without a sync after it).
    code = Flush();
  }
  ends_commit_ = code == IoCode::kOk && commit_header;
  return code;
}

IoCode CombiningFile::WriteThrough(uint64_t offset, ConstBytes src) {
  IoCode code = Flush();
  return code != IoCode::kOk ? code : base_->Write(offset, src);
}

IoCode CombiningFile::Hold(uint64_t offset, ConstBytes src) {
  const bool joins = !pending_.empty() && offset == start_ + pending_.size();
  if (enabled_ && joins && pending_.size() + src.size <= kMaxPending) {
    pending_.append(reinterpret_cast<const char*>(src.data), src.size);
    return IoCode::kOk;
  }
  IoCode code = Flush();
  if (code != IoCode::kOk) return code;
  if (!enabled_ || src.size >= kMaxPending) return base_->Write(offset, src);
  start_ = offset;
  pending_.assign(reinterpret_cast<const char*>(src.data), src.size);
  return IoCode::kOk;
}

IoCode CombiningFile::Truncate(uint64_t size) {
  IoCode code = Flush();
  return code != IoCode::kOk ? code : base_->Truncate(size);
}

IoCode CombiningFile::Sync() {
  IoCode code = Flush();
  return code != IoCode::kOk ? code : base_->Sync();
}

IoCode CombiningFile::Size(uint64_t* size) {
  IoCode code = Flush();
  return code != IoCode::kOk ? code : base_->Size(size);
}

}  // namespace vfs
}  // namespace electrolite
