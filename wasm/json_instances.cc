// Link-order anchor for the wasm build (see src/CMakeLists.txt, EL_WASM_COLD_OPT):
// the engine's cold files are compiled for size, and the out-of-line copies of
// template code they share with the write path (nlohmann's lexer/parser/serializer,
// which call std::string/std::vector members per character) would otherwise be
// taken from one of them — wasm-ld keeps the first definition it loads, and the
// archive's -Oz members came first, which made a local update ~1.8x slower. This
// object is compiled at EL_WASM_OPT and listed first in the executable, so its
// copies are the ones kept. It is never called.
#include "json.h"

#include <string>
#include <string_view>

namespace electrolite {

// Every parse input the engine uses (pointer range, std::string iterator range,
// string, C string) and the two dump forms.
extern "C" __attribute__((used, noinline)) void el_json_link_anchor(const char* p, size_t n) {
  std::string_view sv(p, n);
  std::string s(p, n);
  Json a = Json::parse(sv.begin(), sv.end(), nullptr, false);
  Json b = Json::parse(s.begin(), s.end(), nullptr, false);
  Json c = Json::parse(s, nullptr, false);
  Json d = Json::parse(p, nullptr, false);
  Json o = Json::object();
  o["a"] = a;
  o["b"] = std::move(b);
  o["c"].push_back(c);
  o["d"] = d.value("k", std::string());
  s = o.dump();
  s += o.dump(-1, ' ', false, Json::error_handler_t::replace);
  (void)s;
}

}  // namespace electrolite
