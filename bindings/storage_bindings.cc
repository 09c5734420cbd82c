// Embind glue for persistent storage (wasm/vfs/host_vfs.h): converts, calls, converts.
//
//   registerStorage(vfsName, host, key) -> {ok}      key: Uint8Array(32), or "" for none
//   checkStorage(vfsName, fileName)     -> {ok} | {ok:false, code:"auth"|"corruption"|"io", message}
//   storageError(vfsName)               -> the backend's last error message ("" if none)
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <string>

#include "js_bytes.h"
#include "vfs/host_vfs.h"

namespace electrolite {
namespace {

std::string RegisterStorage(const std::string& vfs_name, int host, const emscripten::val& key) {
  std::string bytes;
  bool none = key.isString() && key.as<std::string>().empty();
  if (!none && (key.isString() || !BytesFromJs(key, &bytes))) {
    return Status::InvalidArgument("encryptionKey must be a Uint8Array of 32 bytes").ToJson();
  }
  return vfs::RegisterHostVfs(vfs_name, host, bytes).ToJson();
}

std::string CheckStorage(const std::string& vfs_name, const std::string& file) {
  return vfs::CheckHostVfs(vfs_name, file).ToJson();
}

std::string StorageError(const std::string& vfs_name) { return vfs::HostVfsLastError(vfs_name); }

}  // namespace
}  // namespace electrolite

EMSCRIPTEN_BINDINGS(electrolite_storage) {
  emscripten::function("registerStorage", &electrolite::RegisterStorage);
  emscripten::function("checkStorage", &electrolite::CheckStorage);
  emscripten::function("storageError", &electrolite::StorageError);
}
