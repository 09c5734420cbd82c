#include "vfs/chacha20poly1305.h"

#include <cstring>

namespace electrolite {
namespace vfs {
namespace {

uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

void Store64(uint8_t* p, uint64_t v) {
  Store32(p, static_cast<uint32_t>(v));
  Store32(p + 4, static_cast<uint32_t>(v >> 32));
}

uint32_t Rotl(uint32_t v, int c) { return (v << c) | (v >> (32 - c)); }

#define EL_QR(a, b, c, d)           \
  a += b; d ^= a; d = Rotl(d, 16);  \
  c += d; b ^= c; b = Rotl(b, 12);  \
  a += b; d ^= a; d = Rotl(d, 8);   \
  c += d; b ^= c; b = Rotl(b, 7);

// One 64-byte keystream block (RFC 8439 §2.3).
void ChaChaBlock(const uint32_t input[16], uint8_t out[64]) {
  uint32_t x[16];
  std::memcpy(x, input, sizeof(x));
  for (int i = 0; i < 10; ++i) {
    EL_QR(x[0], x[4], x[8], x[12]);
    EL_QR(x[1], x[5], x[9], x[13]);
    EL_QR(x[2], x[6], x[10], x[14]);
    EL_QR(x[3], x[7], x[11], x[15]);
    EL_QR(x[0], x[5], x[10], x[15]);
    EL_QR(x[1], x[6], x[11], x[12]);
    EL_QR(x[2], x[7], x[8], x[13]);
    EL_QR(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 16; ++i) Store32(out + 4 * i, x[i] + input[i]);
}

#undef EL_QR

// Poly1305 with 26-bit limbs (the "donna" 32-bit formulation).
class Poly1305State {
 public:
  explicit Poly1305State(const uint8_t key[32]) {
    r_[0] = (Load32(key + 0)) & 0x3ffffff;
    r_[1] = (Load32(key + 3) >> 2) & 0x3ffff03;
    r_[2] = (Load32(key + 6) >> 4) & 0x3ffc0ff;
    r_[3] = (Load32(key + 9) >> 6) & 0x3f03fff;
    r_[4] = (Load32(key + 12) >> 8) & 0x00fffff;
    for (int i = 0; i < 4; ++i) pad_[i] = Load32(key + 16 + 4 * i);
  }

  // Absorbs `n` bytes; every call but the last must pass a multiple of 16.
  void Update(const uint8_t* m, size_t n) {
    while (n >= 16) {
      Block(m, 1u << 24);
      m += 16;
      n -= 16;
    }
    if (n > 0) {
      uint8_t last[16] = {0};
      std::memcpy(last, m, n);
      last[n] = 1;
      Block(last, 0);
    }
  }

  void Finish(uint8_t tag[16]) {
    uint32_t h0 = h_[0], h1 = h_[1], h2 = h_[2], h3 = h_[3], h4 = h_[4];
    uint32_t c = h1 >> 26; h1 &= 0x3ffffff;
    h2 += c; c = h2 >> 26; h2 &= 0x3ffffff;
    h3 += c; c = h3 >> 26; h3 &= 0x3ffffff;
    h4 += c; c = h4 >> 26; h4 &= 0x3ffffff;
    h0 += c * 5; c = h0 >> 26; h0 &= 0x3ffffff;
    h1 += c;
    // g = h + 5 - 2^130; select g when h >= p.
    uint32_t g0 = h0 + 5; c = g0 >> 26; g0 &= 0x3ffffff;
    uint32_t g1 = h1 + c; c = g1 >> 26; g1 &= 0x3ffffff;
    uint32_t g2 = h2 + c; c = g2 >> 26; g2 &= 0x3ffffff;
    uint32_t g3 = h3 + c; c = g3 >> 26; g3 &= 0x3ffffff;
    uint32_t g4 = h4 + c - (1u << 26);
    uint32_t mask = (g4 >> 31) - 1;  // all ones when g4 did not borrow (h >= p)
    g0 &= mask; g1 &= mask; g2 &= mask; g3 &= mask; g4 &= mask;
    mask = ~mask;
    h0 = (h0 & mask) | g0; h1 = (h1 & mask) | g1; h2 = (h2 & mask) | g2;
    h3 = (h3 & mask) | g3; h4 = (h4 & mask) | g4;
    // h = h % 2^128, then + pad.
    uint32_t w0 = h0 | (h1 << 26);
    uint32_t w1 = (h1 >> 6) | (h2 << 20);
    uint32_t w2 = (h2 >> 12) | (h3 << 14);
    uint32_t w3 = (h3 >> 18) | (h4 << 8);
    uint64_t f = static_cast<uint64_t>(w0) + pad_[0];
    Store32(tag + 0, static_cast<uint32_t>(f));
    f = static_cast<uint64_t>(w1) + pad_[1] + (f >> 32);
    Store32(tag + 4, static_cast<uint32_t>(f));
    f = static_cast<uint64_t>(w2) + pad_[2] + (f >> 32);
    Store32(tag + 8, static_cast<uint32_t>(f));
    f = static_cast<uint64_t>(w3) + pad_[3] + (f >> 32);
    Store32(tag + 12, static_cast<uint32_t>(f));
  }

 private:
  void Block(const uint8_t m[16], uint32_t hibit) {
    const uint32_t r0 = r_[0], r1 = r_[1], r2 = r_[2], r3 = r_[3], r4 = r_[4];
    const uint32_t s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
    uint32_t h0 = h_[0], h1 = h_[1], h2 = h_[2], h3 = h_[3], h4 = h_[4];
    h0 += (Load32(m + 0)) & 0x3ffffff;
    h1 += (Load32(m + 3) >> 2) & 0x3ffffff;
    h2 += (Load32(m + 6) >> 4) & 0x3ffffff;
    h3 += (Load32(m + 9) >> 6) & 0x3ffffff;
    h4 += (Load32(m + 12) >> 8) | hibit;
    using U = uint64_t;
    U d0 = U(h0) * r0 + U(h1) * s4 + U(h2) * s3 + U(h3) * s2 + U(h4) * s1;
    U d1 = U(h0) * r1 + U(h1) * r0 + U(h2) * s4 + U(h3) * s3 + U(h4) * s2;
    U d2 = U(h0) * r2 + U(h1) * r1 + U(h2) * r0 + U(h3) * s4 + U(h4) * s3;
    U d3 = U(h0) * r3 + U(h1) * r2 + U(h2) * r1 + U(h3) * r0 + U(h4) * s4;
    U d4 = U(h0) * r4 + U(h1) * r3 + U(h2) * r2 + U(h3) * r1 + U(h4) * r0;
    uint32_t c = static_cast<uint32_t>(d0 >> 26); h0 = static_cast<uint32_t>(d0) & 0x3ffffff;
    d1 += c; c = static_cast<uint32_t>(d1 >> 26); h1 = static_cast<uint32_t>(d1) & 0x3ffffff;
    d2 += c; c = static_cast<uint32_t>(d2 >> 26); h2 = static_cast<uint32_t>(d2) & 0x3ffffff;
    d3 += c; c = static_cast<uint32_t>(d3 >> 26); h3 = static_cast<uint32_t>(d3) & 0x3ffffff;
    d4 += c; c = static_cast<uint32_t>(d4 >> 26); h4 = static_cast<uint32_t>(d4) & 0x3ffffff;
    h0 += c * 5; c = h0 >> 26; h0 &= 0x3ffffff;
    h1 += c;
    h_[0] = h0; h_[1] = h1; h_[2] = h2; h_[3] = h3; h_[4] = h4;
  }

  uint32_t r_[5];
  uint32_t h_[5] = {0, 0, 0, 0, 0};
  uint32_t pad_[4];
};


void AeadTag(const uint8_t key[32], const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
             const uint8_t* ct, size_t n, uint8_t tag[16]) {
  uint8_t otk[64] = {0};
  ChaCha20Xor(key, 0, nonce, otk, otk, 64);  // first 32 bytes of block 0
  Poly1305State poly(otk);
  poly.Update(aad, aad_len - aad_len % 16);
  if (aad_len % 16 != 0) {
    uint8_t block[16] = {0};
    std::memcpy(block, aad + aad_len - aad_len % 16, aad_len % 16);
    poly.Update(block, 16);
  }
  poly.Update(ct, n - n % 16);
  if (n % 16 != 0) {
    uint8_t block[16] = {0};
    std::memcpy(block, ct + n - n % 16, n % 16);
    poly.Update(block, 16);
  }
  uint8_t lengths[16];
  Store64(lengths, aad_len);
  Store64(lengths + 8, n);
  poly.Update(lengths, 16);
  poly.Finish(tag);
  std::memset(otk, 0, sizeof(otk));
}

}  // namespace

void ChaCha20Xor(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], const uint8_t* in,
                 uint8_t* out, size_t n) {
  uint32_t state[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; ++i) state[4 + i] = Load32(key + 4 * i);
  state[12] = counter;
  for (int i = 0; i < 3; ++i) state[13 + i] = Load32(nonce + 4 * i);
  uint8_t block[64];
  while (n > 0) {
    ChaChaBlock(state, block);
    size_t len = n < 64 ? n : 64;
    for (size_t i = 0; i < len; ++i) out[i] = in[i] ^ block[i];
    in += len;
    out += len;
    n -= len;
    ++state[12];
  }
  std::memset(block, 0, sizeof(block));
}

void Poly1305(const uint8_t key[32], const uint8_t* msg, size_t n, uint8_t tag[16]) {
  Poly1305State poly(key);
  poly.Update(msg, n);
  poly.Finish(tag);
}

void AeadSeal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
              uint8_t* data, size_t n, uint8_t tag[16]) {
  ChaCha20Xor(key, 1, nonce, data, data, n);
  AeadTag(key, nonce, aad, aad_len, data, n, tag);
}

bool AeadOpen(const uint8_t key[32], const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
              uint8_t* data, size_t n, const uint8_t tag[16]) {
  uint8_t expected[16];
  AeadTag(key, nonce, aad, aad_len, data, n, expected);
  uint8_t diff = 0;
  for (int i = 0; i < 16; ++i) diff |= static_cast<uint8_t>(expected[i] ^ tag[i]);
  if (diff != 0) return false;
  ChaCha20Xor(key, 1, nonce, data, data, n);
  return true;
}

}  // namespace vfs
}  // namespace electrolite
