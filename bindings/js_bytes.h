// Conversion of a JS byte argument (Uint8Array, ArrayBuffer or string) to
// std::string for the bindings.
//
// Embind's own std::string conversion copies a Uint8Array one byte at a time
// in a JS loop in Emscripten 3.1.6; response bodies are ~0.5 MB each, so this
// copies with one TypedArray.set (a memcpy) instead. Strings go through
// Embind's UTF-8 conversion.
#ifndef ELECTROLITE_BINDINGS_JS_BYTES_H_
#define ELECTROLITE_BINDINGS_JS_BYTES_H_

#include <emscripten/val.h>

#include <string>

namespace electrolite {

// Copies `value` into *out. false when it is none of the accepted types.
inline bool BytesFromJs(const emscripten::val& value, std::string* out) {
  using emscripten::val;
  if (value.isString()) {
    *out = value.as<std::string>();
    return true;
  }
  val bytes = val::undefined();
  if (value.instanceof(val::global("ArrayBuffer"))) {
    bytes = val::global("Uint8Array").new_(value);
  } else if (val::global("ArrayBuffer").call<bool>("isView", value)) {
    bytes = val::global("Uint8Array").new_(value["buffer"], value["byteOffset"], value["byteLength"]);
  } else {
    return false;
  }
  out->assign(bytes["byteLength"].as<size_t>(), '\0');
  if (out->empty()) return true;
  // A view of *out in wasm memory; nothing allocates between creating it and
  // the copy, so memory growth cannot detach it.
  val view(emscripten::typed_memory_view(out->size(), reinterpret_cast<uint8_t*>(&(*out)[0])));
  view.call<void>("set", bytes);
  return true;
}

}  // namespace electrolite

#endif  // ELECTROLITE_BINDINGS_JS_BYTES_H_
