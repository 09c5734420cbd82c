// HostEnv: the engine's Env (src/env.h) in the wasm build — randomness from
// crypto.getRandomValues, shared with the VFS's xRandomness.
#ifndef ELECTROLITE_WASM_HOST_ENV_H_
#define ELECTROLITE_WASM_HOST_ENV_H_

#include <cstdint>

#include "env.h"
#include "vfs/host.h"

namespace electrolite {

class HostEnv : public Env {
 public:
  uint64_t RandomU64() override {
    uint64_t value = 0;
    vfs::FillRandom(reinterpret_cast<uint8_t*>(&value), sizeof(value));
    return value;
  }
};

}  // namespace electrolite

#endif  // ELECTROLITE_WASM_HOST_ENV_H_
