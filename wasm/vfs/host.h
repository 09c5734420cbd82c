// Host services the SQLite VFSes need besides files: a wall clock and
// randomness.
//
// The clock is not read from the platform: SQLite's `datetime('now')` sees the
// last `nowMs` the engine was handed (bindings/ call SetNowMs with every
// argument that carries the time), so SQL and the sans-IO engine agree on
// "now" and tests with simulated time stay deterministic.
#ifndef ELECTROLITE_WASM_VFS_HOST_H_
#define ELECTROLITE_WASM_VFS_HOST_H_

#include <cstddef>
#include <cstdint>

namespace electrolite {
namespace vfs {

// Sets the time, in Unix milliseconds, that SQLite's xCurrentTime reports.
void SetNowMs(int64_t now_ms);

// The last value given to SetNowMs (0, the Unix epoch, before any).
int64_t NowMs();

// Fills `out` with `n` cryptographically random bytes
// (crypto.getRandomValues in wasm, getentropy natively).
void FillRandom(uint8_t* out, size_t n);

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_HOST_H_
