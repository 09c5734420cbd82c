// Test seams: what native tests reach inside an engine that the app never
// does. Not part of the engine's API (engine.h); bindings/ must not use it.
#ifndef ELECTROLITE_SRC_ENGINE_TEST_SEAMS_H_
#define ELECTROLITE_SRC_ENGINE_TEST_SEAMS_H_

#include "engine.h"

namespace electrolite {

class ApplyObserver;
class Store;

class EngineTestSeams {
 public:
  // The engine's database connection (to inspect what it wrote).
  static Store& store(Engine& engine);
  // Replaces the write path's hook inside each response's apply transaction
  // (engine_impl.h ApplyObserver); null restores none. Must outlive the
  // engine or be reset.
  static void SetApplyObserver(Engine& engine, ApplyObserver* observer);
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ENGINE_TEST_SEAMS_H_
