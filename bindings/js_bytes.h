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

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace electrolite {

// A Uint8Array over the bytes of an ArrayBuffer or a view; false for other values.
inline bool ByteArrayOf(const emscripten::val& value, emscripten::val* bytes) {
  using emscripten::val;
  if (value.instanceof(val::global("ArrayBuffer"))) {
    *bytes = val::global("Uint8Array").new_(value);
  } else if (val::global("ArrayBuffer").call<bool>("isView", value)) {
    *bytes = val::global("Uint8Array").new_(value["buffer"], value["byteOffset"], value["byteLength"]);
  } else {
    return false;
  }
  return true;
}

// Copies `bytes` (a Uint8Array of `size` bytes) to `dst` in wasm memory. Nothing
// allocates between making the view and the copy, so memory growth cannot detach it.
inline void CopyByteArray(const emscripten::val& bytes, void* dst, size_t size) {
  emscripten::val view(emscripten::typed_memory_view(size, static_cast<uint8_t*>(dst)));
  view.call<void>("set", bytes);
}

// Copies `value` into *out. false when it is none of the accepted types.
inline bool BytesFromJs(const emscripten::val& value, std::string* out) {
  using emscripten::val;
  if (value.isString()) {
    *out = value.as<std::string>();
    return true;
  }
  val bytes = val::undefined();
  if (!ByteArrayOf(value, &bytes)) return false;
  out->assign(bytes["byteLength"].as<size_t>(), '\0');
  if (!out->empty()) CopyByteArray(bytes, &(*out)[0], out->size());
  return true;
}

// The same for an argument that is only read, like a response body: bytes go
// straight into memory nothing zero-fills first (a std::string would clear
// the ~0.5 MB of a body before the copy overwrites it). `view` points into
// *text or *raw.
inline bool ReadOnlyBytesFromJs(const emscripten::val& value, std::string* text,
                                std::unique_ptr<char[]>* raw, std::string_view* view) {
  using emscripten::val;
  if (value.isString()) {
    *text = value.as<std::string>();
    *view = *text;
    return true;
  }
  val bytes = val::undefined();
  if (!ByteArrayOf(value, &bytes)) return false;
  size_t size = bytes["byteLength"].as<size_t>();
  raw->reset(new char[size == 0 ? 1 : size]);
  if (size > 0) CopyByteArray(bytes, raw->get(), size);
  *view = std::string_view(raw->get(), size);
  return true;
}

}  // namespace electrolite

#endif  // ELECTROLITE_BINDINGS_JS_BYTES_H_
