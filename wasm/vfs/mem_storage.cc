#include "vfs/mem_storage.h"

#include <cstdlib>
#include <cstring>
#include <vector>

namespace electrolite {
namespace vfs {

// Chunk i holds bytes [i * kChunkSize, (i + 1) * kChunkSize); a null chunk
// is a hole that reads as zeros. Bytes past `size_` inside the last chunk are
// unspecified (a new chunk is not zeroed where a write fills it, which is
// where appends, most writes, go): growing the file zeroes them first
// (ZeroFrom). No other chunk reaches past `size_`: chunks are made only for
// bytes a write puts below the new size, and shrinking frees the ones past it.
class MemStorage::Blob {
 public:
  Blob() = default;
  ~Blob() {
    for (uint8_t* chunk : chunks_) std::free(chunk);
  }
  Blob(const Blob&) = delete;
  Blob& operator=(const Blob&) = delete;

  uint64_t size() const { return size_; }
  uint64_t allocated() const { return allocated_chunks_ * kChunkSize; }

  size_t Read(uint64_t offset, MutableBytes dst) const {
    if (offset >= size_) return 0;
    uint64_t available = size_ - offset;
    size_t n = dst.size < available ? dst.size : static_cast<size_t>(available);
    size_t done = 0;
    while (done < n) {
      uint64_t pos = offset + done;
      size_t index = static_cast<size_t>(pos / kChunkSize);
      size_t within = static_cast<size_t>(pos % kChunkSize);
      size_t len = kChunkSize - within < n - done ? kChunkSize - within : n - done;
      const uint8_t* chunk = chunks_[index];
      if (chunk != nullptr) {
        std::memcpy(dst.data + done, chunk + within, len);
      } else {
        std::memset(dst.data + done, 0, len);
      }
      done += len;
    }
    return n;
  }

  // false: out of memory (bytes below the old end may be partly written).
  bool Write(uint64_t offset, ConstBytes src) {
    uint64_t end = offset + src.size;
    if (end < offset) return false;  // overflow
    if (!Reserve(end)) return false;
    const uint64_t new_size = end > size_ ? end : size_;
    if (offset > size_) ZeroFrom(size_, offset);  // a gap after the old end reads as zeros
    size_t done = 0;
    while (done < src.size) {
      uint64_t pos = offset + done;
      size_t index = static_cast<size_t>(pos / kChunkSize);
      size_t within = static_cast<size_t>(pos % kChunkSize);
      size_t len = kChunkSize - within < src.size - done ? kChunkSize - within : src.size - done;
      uint8_t* chunk = chunks_[index];
      if (chunk == nullptr) {
        chunk = static_cast<uint8_t*>(std::malloc(kChunkSize));
        if (chunk == nullptr) {
          FreeFrom(ChunksFor(size_));  // what this write put past the old end
          return false;
        }
        // Was a hole: zeros wherever this write leaves the chunk below the new size.
        std::memset(chunk, 0, within);
        uint64_t chunk_start = static_cast<uint64_t>(index) * kChunkSize;
        uint64_t below = new_size - chunk_start < kChunkSize ? new_size - chunk_start : kChunkSize;
        if (below > within + len) std::memset(chunk + within + len, 0, below - within - len);
        chunks_[index] = chunk;
        ++allocated_chunks_;
      }
      std::memcpy(chunk + within, src.data + done, len);
      done += len;
    }
    size_ = new_size;
    return true;
  }

  bool Truncate(uint64_t new_size) {
    if (new_size >= size_) {
      if (!Reserve(new_size)) return false;
      ZeroFrom(size_, new_size);  // the new range reads as zeros: holes or a zeroed tail
      size_ = new_size;
      return true;
    }
    FreeFrom(ChunksFor(new_size));
    size_ = new_size;
    return true;
  }

 private:
  static size_t ChunksFor(uint64_t size) {
    return static_cast<size_t>((size + kChunkSize - 1) / kChunkSize);
  }

  // Frees chunk `keep` and the ones after it.
  void FreeFrom(size_t keep) {
    if (keep >= chunks_.size()) return;
    for (size_t i = keep; i < chunks_.size(); ++i) {
      if (chunks_[i] != nullptr) --allocated_chunks_;
      std::free(chunks_[i]);
    }
    chunks_.resize(keep);
  }

  // Zeroes [from, to) within the chunk holding byte `from` (the file's old
  // end): the only allocated bytes past the end. Later chunks are holes.
  void ZeroFrom(uint64_t from, uint64_t to) {
    size_t index = static_cast<size_t>(from / kChunkSize);
    size_t within = static_cast<size_t>(from % kChunkSize);
    if (to <= from || index >= chunks_.size() || chunks_[index] == nullptr) return;
    uint64_t room = kChunkSize - within;
    size_t n = static_cast<size_t>(to - from < room ? to - from : room);
    std::memset(chunks_[index] + within, 0, n);
  }

  // Makes room in the chunk table for a file of `size` bytes.
  bool Reserve(uint64_t size) {
    uint64_t count = (size + kChunkSize - 1) / kChunkSize;
    if (count > (SIZE_MAX / sizeof(uint8_t*)) / 2) return false;
    if (count > chunks_.size()) {
      if (count > chunks_.capacity()) {
        // Geometric growth of the table itself (pointers only).
        size_t want = chunks_.capacity() * 2 > count ? chunks_.capacity() * 2 : count;
        chunks_.reserve(want);
      }
      chunks_.resize(static_cast<size_t>(count), nullptr);
    }
    return true;
  }

  std::vector<uint8_t*> chunks_;
  uint64_t size_ = 0;
  uint64_t allocated_chunks_ = 0;
};

namespace {

class MemFile : public File {
 public:
  MemFile(std::shared_ptr<MemStorage::Blob> blob, std::string name, std::string* last_error)
      : blob_(std::move(blob)), name_(std::move(name)), last_error_(last_error) {}

  IoCode Read(uint64_t offset, MutableBytes dst, size_t* n_read) override {
    *n_read = blob_->Read(offset, dst);
    return IoCode::kOk;
  }

  IoCode Write(uint64_t offset, ConstBytes src) override {
    if (blob_->Write(offset, src)) return IoCode::kOk;
    *last_error_ = "memvfs: out of memory writing " + std::to_string(src.size) + " bytes at " +
                   std::to_string(offset) + " of " + name_;
    return IoCode::kFull;
  }

  IoCode Truncate(uint64_t size) override {
    if (blob_->Truncate(size)) return IoCode::kOk;
    *last_error_ = "memvfs: out of memory resizing " + name_ + " to " + std::to_string(size);
    return IoCode::kFull;
  }

  IoCode Sync() override { return IoCode::kOk; }

  IoCode Size(uint64_t* size) override {
    *size = blob_->size();
    return IoCode::kOk;
  }

 private:
  std::shared_ptr<MemStorage::Blob> blob_;
  std::string name_;
  std::string* last_error_;  // the storage's; MemStorage outlives its files
};

}  // namespace

MemStorage::MemStorage() = default;
MemStorage::~MemStorage() = default;

IoCode MemStorage::Open(const std::string& name, bool create, std::unique_ptr<File>* file) {
  auto it = files_.find(name);
  if (it == files_.end()) {
    if (!create) return IoCode::kNotFound;
    it = files_.emplace(name, std::make_shared<Blob>()).first;
  }
  *file = std::make_unique<MemFile>(it->second, name, &last_error_);
  return IoCode::kOk;
}

IoCode MemStorage::Delete(const std::string& name) {
  return files_.erase(name) > 0 ? IoCode::kOk : IoCode::kNotFound;
}

IoCode MemStorage::Stat(const std::string& name, uint64_t* size) {
  auto it = files_.find(name);
  if (it == files_.end()) return IoCode::kNotFound;
  *size = it->second->size();
  return IoCode::kOk;
}

uint64_t MemStorage::AllocatedBytes() const {
  uint64_t total = 0;
  for (const auto& entry : files_) total += entry.second->allocated();
  return total;
}

}  // namespace vfs
}  // namespace electrolite
