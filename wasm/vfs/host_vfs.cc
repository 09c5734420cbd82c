#include "vfs/host_vfs.h"

#include <sqlite3.h>

#include <cstring>
#include <map>
#include <memory>

#include "vfs/encrypted_storage.h"
#include "vfs/host_storage.h"
#include "vfs/sqlite_vfs.h"

namespace electrolite {
namespace vfs {
namespace {

struct HostVfs {
  std::unique_ptr<HostStorage> host;
  std::unique_ptr<EncryptedStorage> encrypted;  // null without a key
  Storage* top() const { return encrypted ? static_cast<Storage*>(encrypted.get()) : host.get(); }
};

// Never destroyed: SQLite keeps pointers to registered VFSes for the module's lifetime.
std::map<std::string, HostVfs>& Registry() {
  static auto* registry = new std::map<std::string, HostVfs>();
  return *registry;
}

const uint8_t kPlainMagic[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', 0};

}  // namespace

Status RegisterHostVfs(const std::string& name, int host, const std::string& key) {
  if (name.empty()) return Status::InvalidArgument("storage: empty VFS name");
  if (Registry().count(name) > 0 || sqlite3_vfs_find(name.c_str()) != nullptr) {
    return Status::InvalidArgument("storage: VFS " + name + " is already registered");
  }
  if (!key.empty() && key.size() != 32) {
    return Status::InvalidArgument("encryptionKey: expected 32 bytes, got " + std::to_string(key.size()));
  }
  HostVfs entry;
  entry.host = std::make_unique<HostStorage>(host);
  if (!key.empty()) {
    entry.encrypted = std::make_unique<EncryptedStorage>(
        entry.host.get(), reinterpret_cast<const uint8_t*>(key.data()));
  }
  Storage* top = entry.top();
  Registry()[name] = std::move(entry);
  int rc = RegisterVfs(name, top, /*make_default=*/false);
  if (rc != SQLITE_OK) {
    Registry().erase(name);
    return Status::Internal("storage: sqlite3_vfs_register(" + name + ") failed: " + sqlite3_errstr(rc));
  }
  return Status::Ok();
}

Status CheckHostVfs(const std::string& name, const std::string& file) {
  auto it = Registry().find(name);
  if (it == Registry().end()) return Status::InvalidArgument("storage: no VFS " + name);
  HostVfs& v = it->second;
  if (!v.encrypted) {
    // Plain: refuse an encrypted file with a clear message instead of "not a database".
    std::unique_ptr<File> f;
    IoCode code = v.host->Open(file, false, &f);
    if (code == IoCode::kNotFound) return Status::Ok();
    if (code != IoCode::kOk) return Status::Io("storage: cannot open " + file + ": " + v.host->LastError());
    uint8_t head[16] = {0};
    size_t n = 0;
    if (f->Read(0, MutableBytes{head, sizeof(head)}, &n) != IoCode::kOk) {
      return Status::Io("storage: cannot read " + file + ": " + v.host->LastError());
    }
    if (n >= 8 && std::memcmp(head, "ELENC\0\1\0", 8) == 0) {
      return Status::Auth("wrong encryption key: " + file + " is encrypted and no encryptionKey was given");
    }
    if (n == sizeof(head) && std::memcmp(head, kPlainMagic, sizeof(head)) != 0) {
      return Status::Corruption("storage: " + file + " is not an SQLite database");
    }
    return Status::Ok();
  }
  switch (v.encrypted->CheckKey(file)) {
    case EncryptedStorage::KeyCheck::kMatches:
    case EncryptedStorage::KeyCheck::kEmpty: return Status::Ok();
    case EncryptedStorage::KeyCheck::kWrongKey:
      return Status::Auth("wrong encryption key for " + file);
    case EncryptedStorage::KeyCheck::kNotEncrypted:
      return Status::Corruption("wrong encryption key: " + file +
                                " was not written with encryption (or is damaged)");
    case EncryptedStorage::KeyCheck::kIoError: break;
  }
  return Status::Io("storage: cannot check " + file + ": " + v.encrypted->LastError());
}

std::string HostVfsLastError(const std::string& name) {
  auto it = Registry().find(name);
  return it == Registry().end() ? std::string() : it->second.top()->LastError();
}

}  // namespace vfs
}  // namespace electrolite
