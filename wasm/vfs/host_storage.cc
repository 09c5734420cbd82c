#include "vfs/host_storage.h"

#include <emscripten.h>

// Newer Emscripten links JS library functions an EM_JS body uses only when declared.
#ifdef EM_JS_DEPS
EM_JS_DEPS(el_host_storage, "$UTF8ToString");
#endif

// ---- raw layer: every call into the JS backend ----
//
// Each returns a non-negative result or -IoCode (host_storage.pre.js `fail` classifies
// the thrown error and remembers its message). HEAPU8 is read inside each call.

EM_JS(int, el_host_open, (int host, const char* name, int create), {
  var S = Module['elStorage'];
  try {
    var id = S.hosts[host].open(UTF8ToString(name), !!create);
    return id | 0;
  } catch (e) {
    return -S.fail(host, e);
  }
});

EM_JS(int, el_host_close, (int host, int file), {
  var S = Module['elStorage'];
  try {
    S.hosts[host].close(file);
    return 0;
  } catch (e) {
    return -S.fail(host, e);
  }
});

EM_JS(int, el_host_read, (int host, int file, uint8_t* ptr, int n, double offset), {
  var S = Module['elStorage'];
  try {
    ptr >>>= 0;
    return S.hosts[host].read(file, HEAPU8.subarray(ptr, ptr + n), offset) | 0;
  } catch (e) {
    return -S.fail(host, e);
  }
});

EM_JS(int, el_host_write, (int host, int file, const uint8_t* ptr, int n, double offset), {
  var S = Module['elStorage'];
  try {
    ptr >>>= 0;
    S.hosts[host].write(file, HEAPU8.subarray(ptr, ptr + n), offset);
    return 0;
  } catch (e) {
    return -S.fail(host, e);
  }
});

EM_JS(int, el_host_truncate, (int host, int file, double size), {
  var S = Module['elStorage'];
  try {
    S.hosts[host].truncate(file, size);
    return 0;
  } catch (e) {
    return -S.fail(host, e);
  }
});

EM_JS(int, el_host_sync, (int host, int file), {
  var S = Module['elStorage'];
  try {
    S.hosts[host].sync(file);
    return 0;
  } catch (e) {
    return -S.fail(host, e);
  }
});

EM_JS(double, el_host_size, (int host, int file), {
  var S = Module['elStorage'];
  try {
    return +S.hosts[host].size(file);
  } catch (e) {
    return -S.fail(host, e);
  }
});

// 0 deleted, else -IoCode (-1: not found).
EM_JS(int, el_host_delete, (int host, const char* name), {
  var S = Module['elStorage'];
  try {
    return S.hosts[host].delete(UTF8ToString(name)) ? 0 : -1;
  } catch (e) {
    return -S.fail(host, e);
  }
});

// Size, or -IoCode (-1: not found).
EM_JS(double, el_host_stat, (int host, const char* name), {
  var S = Module['elStorage'];
  try {
    var size = S.hosts[host].stat(UTF8ToString(name));
    return size < 0 ? -1 : +size;
  } catch (e) {
    return -S.fail(host, e);
  }
});

// 1 when the backend keeps files of its own (kind 'opfs' or 'fs'), else 0.
EM_JS(int, el_host_real_files, (int host), {
  var kind = Module['elStorage'].hosts[host].kind;
  return kind === 'opfs' || kind === 'fs' ? 1 : 0;
});

// Copies the last error message (UTF-8, NUL-terminated, truncated to cap) into buf.
EM_JS(void, el_host_last_error, (int host, char* buf, int cap), {
  var msg = Module['elStorage'].errors[host] || "";
  var bytes = new TextEncoder().encode(msg);
  var n = Math.min(bytes.length, cap - 1);
  buf >>>= 0;
  HEAPU8.set(bytes.subarray(0, n), buf);
  HEAPU8[buf + n] = 0;
});

// ---- facade: Storage/File over the raw calls ----

namespace electrolite {
namespace vfs {
namespace {

constexpr double kMaxSafeOffset = 9007199254740992.0;  // 2^53

IoCode CodeOf(int negative) {
  switch (-negative) {
    case 1: return IoCode::kNotFound;
    case 3: return IoCode::kFull;
    case 4: return IoCode::kCantOpen;
    default: return IoCode::kIoError;
  }
}

class HostFile : public File {
 public:
  HostFile(int host, int file) : host_(host), file_(file) {}
  ~HostFile() override { el_host_close(host_, file_); }

  IoCode Read(uint64_t offset, MutableBytes dst, size_t* n_read) override {
    *n_read = 0;
    size_t done = 0;
    while (done < dst.size) {
      double at = static_cast<double>(offset + done);
      if (at >= kMaxSafeOffset) return IoCode::kIoError;
      int chunk = dst.size - done > (1u << 30) ? (1 << 30) : static_cast<int>(dst.size - done);
      int n = el_host_read(host_, file_, dst.data + done, chunk, at);
      if (n < 0) return CodeOf(n);
      if (n == 0) break;  // end of file
      done += static_cast<size_t>(n);
    }
    *n_read = done;
    return IoCode::kOk;
  }

  IoCode Write(uint64_t offset, ConstBytes src) override {
    if (static_cast<double>(offset + src.size) >= kMaxSafeOffset) return IoCode::kIoError;
    size_t done = 0;
    while (done < src.size) {
      int chunk = src.size - done > (1u << 30) ? (1 << 30) : static_cast<int>(src.size - done);
      int rc = el_host_write(host_, file_, src.data + done, chunk, static_cast<double>(offset + done));
      if (rc < 0) return CodeOf(rc);
      done += static_cast<size_t>(chunk);
    }
    return IoCode::kOk;
  }

  IoCode Truncate(uint64_t size) override {
    if (static_cast<double>(size) >= kMaxSafeOffset) return IoCode::kIoError;
    int rc = el_host_truncate(host_, file_, static_cast<double>(size));
    return rc < 0 ? CodeOf(rc) : IoCode::kOk;
  }

  IoCode Sync() override {
    int rc = el_host_sync(host_, file_);
    return rc < 0 ? CodeOf(rc) : IoCode::kOk;
  }

  IoCode Size(uint64_t* size) override {
    double n = el_host_size(host_, file_);
    if (n < 0) return CodeOf(static_cast<int>(n));
    *size = static_cast<uint64_t>(n);
    return IoCode::kOk;
  }

 private:
  int host_;
  int file_;
};

}  // namespace

IoCode HostStorage::Open(const std::string& name, bool create, std::unique_ptr<File>* file) {
  int id = el_host_open(host_, name.c_str(), create ? 1 : 0);
  if (id < 0) return CodeOf(id);
  *file = std::make_unique<HostFile>(host_, id);
  return IoCode::kOk;
}

IoCode HostStorage::Delete(const std::string& name) {
  int rc = el_host_delete(host_, name.c_str());
  return rc < 0 ? CodeOf(rc) : IoCode::kOk;
}

IoCode HostStorage::Stat(const std::string& name, uint64_t* size) {
  double n = el_host_stat(host_, name.c_str());
  if (n < 0) return CodeOf(static_cast<int>(n));
  *size = static_cast<uint64_t>(n);
  return IoCode::kOk;
}

bool HostStorage::GrowthCostsSync() const { return el_host_real_files(host_) != 0; }

std::string HostStorage::LastError() const {
  char buf[512];
  el_host_last_error(host_, buf, sizeof(buf));
  return buf;
}

}  // namespace vfs
}  // namespace electrolite
