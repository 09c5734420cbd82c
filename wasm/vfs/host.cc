#include "vfs/host.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>

// getRandomValues accepts at most 65536 bytes per call. HEAPU8 is read inside
// the call, so a memory growth earlier can't leave a stale view.
EM_JS(void, el_host_fill_random, (uint8_t * ptr, size_t n), {
  for (var off = 0; off < n; off += 65536) {
    var len = Math.min(65536, n - off);
    crypto.getRandomValues(HEAPU8.subarray(ptr + off, ptr + off + len));
  }
});

#else
#include <unistd.h>
#endif

namespace electrolite {
namespace vfs {
namespace {

int64_t g_now_ms = 0;

}  // namespace

void SetNowMs(int64_t now_ms) { g_now_ms = now_ms; }

int64_t NowMs() { return g_now_ms; }

#ifdef __EMSCRIPTEN__
void FillRandom(uint8_t* out, size_t n) { el_host_fill_random(out, n); }
#else
void FillRandom(uint8_t* out, size_t n) {
  while (n > 0) {
    size_t len = n < 256 ? n : 256;  // getentropy's per-call limit
    if (getentropy(out, len) != 0) __builtin_trap();
    out += len;
    n -= len;
  }
}
#endif

}  // namespace vfs
}  // namespace electrolite
