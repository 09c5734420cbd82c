// Embind glue for the conflict decision (src/conflict_policy.h): the write
// endpoint (server/policy.ts) decides each mutation with the engine's own
// compiled rules. JSON in, JSON out; no engine handle.
#include <emscripten/bind.h>

#include <string>

#include "conflict_policy.h"

namespace electrolite {
namespace {

std::string DecideWriteFromJs(const std::string& case_json) { return DecideWriteJson(case_json); }

}  // namespace
}  // namespace electrolite

EMSCRIPTEN_BINDINGS(electrolite_conflict) {
  emscripten::function("decideWrite", &electrolite::DecideWriteFromJs);
}
