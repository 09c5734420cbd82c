#include "vfs/wal_space.h"

#include <cstring>
#include <string>

namespace electrolite {
namespace vfs {

IoCode WalSpaceFile::Known() {
  if (known_) return IoCode::kOk;
  IoCode code = base_->Size(&allocated_);
  known_ = code == IoCode::kOk;
  return code;
}

IoCode WalSpaceFile::Write(uint64_t offset, ConstBytes src) {
  const uint64_t end = offset + src.size;
  if (!enabled_) return base_->Write(offset, src);
  IoCode code = Known();
  if (code != IoCode::kOk) return code;
  if (end <= allocated_) return base_->Write(offset, src);
  const uint64_t grown = (end + kChunk - 1) / kChunk * kChunk;
  std::string padded(static_cast<size_t>(grown - offset), '\0');
  std::memcpy(&padded[0], src.data, src.size);
  code = base_->Write(offset, ConstBytes{reinterpret_cast<const uint8_t*>(padded.data()), padded.size()});
  if (code == IoCode::kOk) {
    allocated_ = grown;
    return code;
  }
  // Out of room for the zeros (or failed): the commit's own bytes, as without the reserve.
  known_ = false;
  return base_->Write(offset, src);
}

IoCode WalSpaceFile::Truncate(uint64_t size) {
  if (!enabled_ || size != 0) {
    known_ = false;
    return base_->Truncate(size);
  }
  IoCode code = Known();
  if (code != IoCode::kOk) return code;
  if (allocated_ < kWalHeader) {
    known_ = false;
    return base_->Truncate(0);
  }
  if (allocated_ > kKeep) {
    code = base_->Truncate(kKeep);
    known_ = false;
    if (code != IoCode::kOk) return code;
    allocated_ = kKeep;
    known_ = true;
  }
  static const uint8_t kZeros[kWalHeader] = {};
  return base_->Write(0, ConstBytes{kZeros, kWalHeader});
}

}  // namespace vfs
}  // namespace electrolite
