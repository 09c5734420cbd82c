#include "vfs/encrypted_storage.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "vfs/chacha20poly1305.h"
#include "vfs/host.h"

namespace electrolite {
namespace vfs {
namespace {

constexpr size_t B = EncryptedStorage::kBlockSize;
constexpr size_t P = EncryptedStorage::kPhysicalBlockSize;
constexpr size_t H = EncryptedStorage::kHeaderSize;
const uint8_t kMagic[8] = {'E', 'L', 'E', 'N', 'C', 0, 1, 0};

void Put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void Put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// The header's check tag: AEAD over nothing, AAD = magic | salt, nonce all 0xff (block
// nonces never have it: their counter part would have to be 2^64 - 1 for block 2^32 - 1).
void CheckTag(const uint8_t file_key[32], const uint8_t* header, uint8_t tag[16]) {
  uint8_t nonce[12];
  std::memset(nonce, 0xff, sizeof(nonce));
  AeadSeal(file_key, nonce, header, 24, nullptr, 0, tag);
}

void DeriveFileKey(const uint8_t master[32], const uint8_t salt[16], uint8_t out[32]) {
  std::memset(out, 0, 32);
  ChaCha20Xor(master, Get32(salt + 12), salt, out, out, 32);
}

std::string Hex(uint64_t v) { return std::to_string(v); }

class EncryptedFile : public File {
 public:
  EncryptedFile(EncryptedStorage* owner, std::unique_ptr<File> base, std::string name)
      : owner_(owner), base_(std::move(base)), name_(std::move(name)), scratch_(P) {
    FillRandom(reinterpret_cast<uint8_t*>(&counter_), sizeof(counter_));
  }
  ~EncryptedFile() override { std::memset(file_key_, 0, sizeof(file_key_)); }

  // Reads the header (if any) and the logical size. kCorrupt: not ours or wrong key.
  IoCode Load(const uint8_t master[32], EncryptedStorage::KeyCheck* check) {
    uint64_t physical = 0;
    IoCode code = base_->Size(&physical);
    if (code != IoCode::kOk) return Fail(code, "size");
    if (physical < H) {
      // Missing or torn header: nothing was ever stored (blocks follow the header).
      *check = EncryptedStorage::KeyCheck::kEmpty;
      has_header_ = false;
      size_ = 0;
      blocks_ = 0;
      std::memcpy(master_, master, 32);
      return IoCode::kOk;
    }
    uint8_t header[H];
    size_t n = 0;
    code = base_->Read(0, MutableBytes{header, H}, &n);
    if (code != IoCode::kOk) return Fail(code, "read header");
    if (n < H || std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
      *check = EncryptedStorage::KeyCheck::kNotEncrypted;
      owner_->SetError(name_ + " is not an Electrolite encrypted file (opened with an encryptionKey, "
                       "but it was written without one, or it is damaged)");
      return IoCode::kCorrupt;
    }
    DeriveFileKey(master, header + 8, file_key_);
    uint8_t tag[16];
    CheckTag(file_key_, header, tag);
    uint8_t diff = 0;
    for (int i = 0; i < 16; ++i) diff |= static_cast<uint8_t>(tag[i] ^ header[24 + i]);
    if (diff != 0) {
      *check = EncryptedStorage::KeyCheck::kWrongKey;
      owner_->SetError("wrong encryption key for " + name_);
      return IoCode::kCorrupt;
    }
    *check = EncryptedStorage::KeyCheck::kMatches;
    has_header_ = true;
    blocks_ = (physical - H) / P;  // a torn trailing block (crash mid-append) is ignored
    size_ = 0;
    if (blocks_ > 0) {
      uint32_t len = 0;
      code = LoadBlock(blocks_ - 1, &len);
      if (code != IoCode::kOk) return code;
      size_ = (blocks_ - 1) * B + len;
    }
    return IoCode::kOk;
  }

  IoCode Read(uint64_t offset, MutableBytes dst, size_t* n_read) override {
    *n_read = 0;
    size_t done = 0;
    while (done < dst.size) {
      uint64_t pos = offset + done;
      if (pos >= size_) break;
      uint64_t b = pos / B;
      size_t within = static_cast<size_t>(pos % B);
      uint32_t len = 0;
      IoCode code = LoadBlock(b, &len);
      if (code != IoCode::kOk) return code;
      if (within >= len) break;
      size_t n = std::min<size_t>(len - within, dst.size - done);
      std::memcpy(dst.data + done, scratch_.data() + within, n);
      done += n;
    }
    *n_read = done;
    return IoCode::kOk;
  }

  IoCode Write(uint64_t offset, ConstBytes src) override {
    if (src.size == 0) return IoCode::kOk;
    IoCode code = EnsureHeader();
    if (code != IoCode::kOk) return code;
    uint64_t end = offset + src.size;
    if (end < offset) return Fail(IoCode::kIoError, "offset overflow");
    uint64_t new_size = std::max(size_, end);
    // A partial last block that the write leaves behind becomes full (zero tail).
    code = ZeroFill(offset / B, new_size);
    if (code != IoCode::kOk) return code;
    for (uint64_t b = offset / B; b <= (end - 1) / B; ++b) {
      uint64_t start = b * B;
      size_t lo = static_cast<size_t>(std::max(offset, start) - start);
      size_t hi = static_cast<size_t>(std::min(end, start + B) - start);
      uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(B, new_size - start));
      if (lo == 0 && hi >= len) {
        std::memset(scratch_.data() + hi, 0, B - hi);  // the whole block is new
      } else {
        code = LoadForPatch(b);
        if (code != IoCode::kOk) return code;
      }
      std::memcpy(scratch_.data() + lo, src.data + (start + lo - offset), hi - lo);
      code = StoreBlock(b, len);
      if (code != IoCode::kOk) return code;
    }
    size_ = new_size;
    blocks_ = (size_ + B - 1) / B;
    return IoCode::kOk;
  }

  IoCode Truncate(uint64_t size) override {
    if (size == size_) return IoCode::kOk;
    if (size > size_) {
      IoCode code = EnsureHeader();
      if (code != IoCode::kOk) return code;
      code = ZeroFill(size / B + 1, size);  // every block up to the new end
      if (code != IoCode::kOk) return code;
      size_ = size;
      blocks_ = (size_ + B - 1) / B;
      return IoCode::kOk;
    }
    uint64_t keep = (size + B - 1) / B;
    if (size % B != 0) {
      IoCode code = LoadForPatch(keep - 1);
      if (code != IoCode::kOk) return code;
      code = StoreBlock(keep - 1, static_cast<uint32_t>(size % B));
      if (code != IoCode::kOk) return code;
    }
    IoCode code = base_->Truncate(has_header_ ? H + keep * P : 0);
    if (code != IoCode::kOk) return Fail(code, "truncate");
    size_ = size;
    blocks_ = keep;
    return IoCode::kOk;
  }

  IoCode Sync() override {
    IoCode code = base_->Sync();
    return code == IoCode::kOk ? code : Fail(code, "sync");
  }

  IoCode Size(uint64_t* size) override {
    *size = size_;
    return IoCode::kOk;
  }

 private:
  IoCode Fail(IoCode code, const char* what) {
    std::string base = owner_->LastError();
    owner_->SetError("encrypted " + std::string(what) + " of " + name_ + " failed: " + base);
    return code;
  }

  IoCode EnsureHeader() {
    if (has_header_) return IoCode::kOk;
    uint8_t header[H] = {0};
    std::memcpy(header, kMagic, sizeof(kMagic));
    FillRandom(header + 8, 16);
    DeriveFileKey(master_, header + 8, file_key_);
    CheckTag(file_key_, header, header + 24);
    IoCode code = base_->Truncate(0);
    if (code == IoCode::kOk) code = base_->Write(0, ConstBytes{header, H});
    if (code != IoCode::kOk) return Fail(code, "write header");
    has_header_ = true;
    blocks_ = 0;
    size_ = 0;
    return IoCode::kOk;
  }

  // Writes zero blocks so that every block before `upto` exists and is full, given a new
  // logical size of `new_size` (the old partial last block is padded with zeros).
  IoCode ZeroFill(uint64_t upto, uint64_t new_size) {
    if (blocks_ > 0 && size_ % B != 0 && blocks_ - 1 < upto) {
      uint64_t b = blocks_ - 1;
      IoCode code = LoadForPatch(b);
      if (code != IoCode::kOk) return code;
      code = StoreBlock(b, static_cast<uint32_t>(std::min<uint64_t>(B, new_size - b * B)));
      if (code != IoCode::kOk) return code;
    }
    for (uint64_t b = blocks_; b < upto && b * B < new_size; ++b) {
      std::memset(scratch_.data(), 0, B);
      IoCode code = StoreBlock(b, static_cast<uint32_t>(std::min<uint64_t>(B, new_size - b * B)));
      if (code != IoCode::kOk) return code;
      blocks_ = b + 1;
    }
    return IoCode::kOk;
  }

  // Plaintext of block b (zeros past its length, or all zeros past the end) in scratch_.
  IoCode LoadForPatch(uint64_t b) {
    if (b >= blocks_) {
      std::memset(scratch_.data(), 0, B);
      return IoCode::kOk;
    }
    uint32_t len = 0;
    IoCode code = LoadBlock(b, &len);
    if (code != IoCode::kOk) return code;
    std::memset(scratch_.data() + len, 0, B - len);
    return IoCode::kOk;
  }

  // Reads, authenticates and decrypts block b into scratch_[0..B); *len its length.
  IoCode LoadBlock(uint64_t b, uint32_t* len) {
    size_t n = 0;
    IoCode code = base_->Read(H + b * P, MutableBytes{scratch_.data(), P}, &n);
    if (code != IoCode::kOk) return Fail(code, "read");
    if (n < P) return Corrupt(b, "is truncated");
    uint8_t* trailer = scratch_.data() + B;
    uint64_t counter = Get64(trailer + 16);
    *len = Get32(trailer + 24);
    if (*len == 0 || *len > B) return Corrupt(b, "has an impossible length");
    uint8_t nonce[12], aad[12];
    Put32(nonce, static_cast<uint32_t>(b));
    Put64(nonce + 4, counter);
    Put64(aad, b);
    Put32(aad + 8, *len);
    if (!AeadOpen(file_key_, nonce, aad, sizeof(aad), scratch_.data(), B, trailer)) {
      return Corrupt(b, "failed authentication (tampered, or written with another key)");
    }
    return IoCode::kOk;
  }

  // Seals scratch_[0..B) as block b with logical length len and writes it.
  IoCode StoreBlock(uint64_t b, uint32_t len) {
    uint8_t* trailer = scratch_.data() + B;
    uint64_t counter = ++counter_;
    uint8_t nonce[12], aad[12];
    Put32(nonce, static_cast<uint32_t>(b));
    Put64(nonce + 4, counter);
    Put64(aad, b);
    Put32(aad + 8, len);
    AeadSeal(file_key_, nonce, aad, sizeof(aad), scratch_.data(), B, trailer);
    Put64(trailer + 16, counter);
    Put32(trailer + 24, len);
    Put32(trailer + 28, 0);
    IoCode code = base_->Write(H + b * P, ConstBytes{scratch_.data(), P});
    return code == IoCode::kOk ? code : Fail(code, "write");
  }

  IoCode Corrupt(uint64_t b, const char* what) {
    owner_->SetError("block " + Hex(b) + " of " + name_ + " " + what);
    return IoCode::kCorrupt;
  }

  EncryptedStorage* owner_;
  std::unique_ptr<File> base_;
  std::string name_;
  std::vector<uint8_t> scratch_;
  uint8_t master_[32] = {0};
  uint8_t file_key_[32] = {0};
  uint64_t counter_ = 0;
  bool has_header_ = false;
  uint64_t size_ = 0;
  uint64_t blocks_ = 0;
};

}  // namespace

EncryptedStorage::EncryptedStorage(Storage* base, const uint8_t key[32]) : base_(base) {
  std::memcpy(key_, key, sizeof(key_));
}

EncryptedStorage::~EncryptedStorage() { std::memset(key_, 0, sizeof(key_)); }

IoCode EncryptedStorage::Open(const std::string& name, bool create, std::unique_ptr<File>* file) {
  std::unique_ptr<File> base;
  IoCode code = base_->Open(name, create, &base);
  if (code != IoCode::kOk) {
    last_error_ = base_->LastError();
    return code;
  }
  auto enc = std::make_unique<EncryptedFile>(this, std::move(base), name);
  KeyCheck check;
  code = enc->Load(key_, &check);
  if (code != IoCode::kOk) return code;
  *file = std::move(enc);
  return IoCode::kOk;
}

IoCode EncryptedStorage::Delete(const std::string& name) {
  IoCode code = base_->Delete(name);
  if (code != IoCode::kOk && code != IoCode::kNotFound) last_error_ = base_->LastError();
  return code;
}

IoCode EncryptedStorage::Stat(const std::string& name, uint64_t* size) {
  uint64_t physical = 0;
  IoCode code = base_->Stat(name, &physical);
  if (code != IoCode::kOk) {
    if (code != IoCode::kNotFound) last_error_ = base_->LastError();
    return code;
  }
  if (physical < H + P) {
    *size = 0;
    return IoCode::kOk;
  }
  std::unique_ptr<File> file;
  code = Open(name, false, &file);
  if (code != IoCode::kOk) return code;
  return file->Size(size);
}

EncryptedStorage::KeyCheck EncryptedStorage::CheckKey(const std::string& name) {
  std::unique_ptr<File> base;
  IoCode code = base_->Open(name, false, &base);
  if (code == IoCode::kNotFound) return KeyCheck::kEmpty;
  if (code != IoCode::kOk) {
    last_error_ = base_->LastError();
    return KeyCheck::kIoError;
  }
  EncryptedFile file(this, std::move(base), name);
  KeyCheck check = KeyCheck::kIoError;
  code = file.Load(key_, &check);
  // The key is right even when a damaged last block made Load fail: SQLite reports that
  // damage as corruption when it reads the file.
  (void)code;
  return check;
}

}  // namespace vfs
}  // namespace electrolite
