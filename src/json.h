// nlohmann/json for cold paths (options, schema header, declarations), built
// without exceptions: parse with allow_exceptions=false and check types
// before get<>() (a type error would abort).
#ifndef ELECTROLITE_SRC_JSON_H_
#define ELECTROLITE_SRC_JSON_H_

#ifndef JSON_NOEXCEPTION
#define JSON_NOEXCEPTION 1  // also set by src/CMakeLists.txt
#endif
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace electrolite {
using Json = nlohmann::json;

// Type-checked field access that never aborts: `def` when absent or mistyped.
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
  if (it->is_number_float()) return static_cast<int64_t>(it->get<double>());
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
