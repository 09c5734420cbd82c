// EncryptedStorage: a Storage wrapper that encrypts every file it stores (database, WAL,
// rollback journal) with ChaCha20-Poly1305, block by block, under the app's `encryptionKey`.
// Layout and threat model: docs/encryption.md.
//
// Layout of each file in the wrapped storage:
//
//   [header: 64 bytes][block 0: 4096 + 32 bytes][block 1] ...
//
//   header  "ELENC\0\1\0" | salt (16 random bytes) | check tag (16) | zeros (24)
//           file key = ChaCha20(master key, nonce = salt[0..12], counter = salt[12..16])[0..32];
//           check tag = AEAD tag of nothing, AAD = magic | salt: proves the key at open.
//   block   ciphertext of 4096 logical bytes | tag (16) | write counter (8) | length (4) | 0 (4)
//           nonce = block index (4, LE) | write counter (8, LE); the counter starts at a random
//           64-bit value per open file and grows by one per block written, so a nonce is
//           never reused under one file key. AAD = block index (8) | length (4): a block
//           cannot be moved to another position or have its length changed.
//
// Logical size = 4096 * (blocks - 1) + length of the last block; blocks before the last
// are full. Writes that cover a whole block encrypt it directly; partial writes read,
// decrypt, patch and re-seal (SQLite's own pages are 4096 bytes, so database writes are
// whole blocks; WAL frames and journal records straddle two).
#ifndef ELECTROLITE_WASM_VFS_ENCRYPTED_STORAGE_H_
#define ELECTROLITE_WASM_VFS_ENCRYPTED_STORAGE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "vfs/storage.h"

namespace electrolite {
namespace vfs {

class EncryptedStorage : public Storage {
 public:
  static constexpr size_t kBlockSize = 4096;
  static constexpr size_t kTrailerSize = 32;
  static constexpr size_t kPhysicalBlockSize = kBlockSize + kTrailerSize;
  static constexpr size_t kHeaderSize = 64;

  // How a file relates to the key (CheckKey).
  enum class KeyCheck { kMatches, kEmpty, kWrongKey, kNotEncrypted, kIoError };

  // REQUIRES: `base` outlives this storage and every file opened from it.
  EncryptedStorage(Storage* base, const uint8_t key[32]);
  ~EncryptedStorage() override;
  EncryptedStorage(const EncryptedStorage&) = delete;
  EncryptedStorage& operator=(const EncryptedStorage&) = delete;

  IoCode Open(const std::string& name, bool create, std::unique_ptr<File>* file) override;
  IoCode Delete(const std::string& name) override;
  IoCode Stat(const std::string& name, uint64_t* size) override;
  std::string LastError() const override { return last_error_; }
  bool OnDisk() const override { return base_->OnDisk(); }
  // A partial write re-seals whole 4096-byte blocks, bytes outside the range included.
  bool PowersafeOverwrite() const override { return false; }

  // Whether `name` (if it exists and has a header) was written with this key. kEmpty: the
  // file is missing or has no header yet.
  KeyCheck CheckKey(const std::string& name);

  // Open files report failures here (the storage outlives them).
  void SetError(std::string message) { last_error_ = std::move(message); }

 private:
  Storage* base_;
  uint8_t key_[32];
  std::string last_error_;
};

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_ENCRYPTED_STORAGE_H_
