// Env: the one narrow platform seam the sans-IO engine reaches synchronously.
//
// Today it only supplies randomness (backoff jitter, cache busters, ids). The
// real implementation in wasm/ draws from crypto.getRandomValues; tests inject
// deterministic ones; EnvWrapper lets a test override a single method.
#ifndef ELECTROLITE_SRC_ENV_H_
#define ELECTROLITE_SRC_ENV_H_

#include <cstdint>

namespace electrolite {

class Env {
 public:
  virtual ~Env() = default;
  // A uniformly distributed 64-bit value.
  virtual uint64_t RandomU64() = 0;
  // Uniform double in [0, 1).
  double RandomUnit() { return static_cast<double>(RandomU64() >> 11) * 0x1.0p-53; }
};

// Deterministic pseudo-random Env (splitmix64). Used when the host supplies
// none; the engine seeds it from clientId and the open time.
class SeededEnv : public Env {
 public:
  explicit SeededEnv(uint64_t seed) : state_(seed) {}
  uint64_t RandomU64() override;

 private:
  uint64_t state_;
};

// Forwards every call to `target`, which must outlive the wrapper.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  uint64_t RandomU64() override { return target_->RandomU64(); }
  Env* target() const { return target_; }

 private:
  Env* target_;
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ENV_H_
