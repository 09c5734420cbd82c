// Test seams: what native tests reach inside an engine that the app never
// does. Not part of the engine's API (engine.h); bindings/ must not use it.
#ifndef ELECTROLITE_SRC_ENGINE_TEST_SEAMS_H_
#define ELECTROLITE_SRC_ENGINE_TEST_SEAMS_H_

#include "engine.h"

namespace electrolite {

class Store;

class EngineTestSeams {
 public:
  // The engine's database connection (to inspect what it wrote).
  static Store& store(Engine& engine);
};

}  // namespace electrolite

#endif  // ELECTROLITE_SRC_ENGINE_TEST_SEAMS_H_
