// Json (json.h) for the tests, printed by gtest as its JSON text.
#ifndef ELECTROLITE_TESTS_NATIVE_JSON_TEST_UTIL_H_
#define ELECTROLITE_TESTS_NATIVE_JSON_TEST_UTIL_H_

#include <ostream>

#include "json.h"

namespace electrolite {

inline void PrintTo(const JsonValue& v, std::ostream* os) { *os << v.dump(); }

}  // namespace electrolite

#endif  // ELECTROLITE_TESTS_NATIVE_JSON_TEST_UTIL_H_
