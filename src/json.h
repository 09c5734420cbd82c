// Json (JsonValue) for cold paths: options, schema header, declarations,
// local writes, the outbox and uploads. It never aborts: parse() returns a
// value for which is_discarded() is true on malformed input, and a mistyped
// get<>() returns a zero value; still check types first where a wrong type
// must be reported.
#ifndef ELECTROLITE_SRC_JSON_H_
#define ELECTROLITE_SRC_JSON_H_

#include <cstdint>
#include <string>

#include "json_value.h"

namespace electrolite {
using Json = JsonValue;

// Type-checked field access: `def` when absent or mistyped.
inline std::string JsonStr(const Json& j, const char* key, const std::string& def = "") {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : def;
}
inline int64_t JsonInt(const Json& j, const char* key, int64_t def) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  if (it == j.end()) return def;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) return it->get<int64_t>();
  return def;
}
inline double JsonDouble(const Json& j, const char* key, double def) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : def;
}
inline bool JsonBool(const Json& j, const char* key, bool def) {
  if (!j.is_object()) return def;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : def;
}
}  // namespace electrolite

#endif  // ELECTROLITE_SRC_JSON_H_
