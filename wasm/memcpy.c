// memcpy for a wasm build without bulk memory (Emscripten 3.1.6's default).
//
// libc's copies a range whose source and destination differ in alignment one
// byte at a time (SQLite's record and cell copies mostly do), and hands every
// copy of 512 bytes or more to JavaScript (emscripten_memcpy_big:
// HEAPU8.copyWithin), a call that costs more than copying a few hundred bytes.
// This one copies eight bytes per load and store (wasm loads need no
// alignment) and calls out only from a page (4 KB) up, where the native copy
// behind copyWithin wins. It replaces libc's, which is a weak definition.
// With bulk memory the compiler's memory.copy is better, and later
// Emscripten releases reworked memcpy (and renamed its JS helper): there
// libc's stays.
#include <stddef.h>
#include <stdint.h>

#include <emscripten/emscripten.h>
#if __has_include(<emscripten/version.h>)
#include <emscripten/version.h>
#endif

#if !defined(__wasm_bulk_memory__) && defined(__EMSCRIPTEN_major__) && \
    __EMSCRIPTEN_major__ == 3 && __EMSCRIPTEN_minor__ == 1 && __EMSCRIPTEN_tiny__ < 30

void* emscripten_memcpy_big(void* restrict dest, const void* restrict src, size_t n)
    EM_IMPORT(emscripten_memcpy_big);

// Built with -fno-builtin: the loops below must not become memcpy calls.
void* memcpy(void* restrict dest, const void* restrict src, size_t n) {
  if (n >= 4096) {
    emscripten_memcpy_big(dest, src, n);
    return dest;
  }
  unsigned char* d = dest;
  const unsigned char* s = src;
  while (n >= 32) {
    uint64_t a, b, c, e;
    __builtin_memcpy(&a, s, 8);
    __builtin_memcpy(&b, s + 8, 8);
    __builtin_memcpy(&c, s + 16, 8);
    __builtin_memcpy(&e, s + 24, 8);
    __builtin_memcpy(d, &a, 8);
    __builtin_memcpy(d + 8, &b, 8);
    __builtin_memcpy(d + 16, &c, 8);
    __builtin_memcpy(d + 24, &e, 8);
    d += 32;
    s += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t a;
    __builtin_memcpy(&a, s, 8);
    __builtin_memcpy(d, &a, 8);
    d += 8;
    s += 8;
    n -= 8;
  }
  while (n > 0) {
    *d++ = *s++;
    n--;
  }
  return dest;
}

#endif
