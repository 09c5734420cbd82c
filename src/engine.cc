#include "engine.h"

namespace electrolite {

class Engine::Impl {};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

}  // namespace electrolite
