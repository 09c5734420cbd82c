// ChaCha20-Poly1305 AEAD (RFC 8439 §2.8): the page cipher of EncryptedStorage.
//
// A compact, portable implementation of ours (no libsodium source package is reachable
// from these machines: Debian's deb-src is not configured and npm's libsodium packages
// carry compiled JS only). It is verified against RFC 8439's test vectors (§2.4.2,
// §2.5.2, §2.8.2) and against OpenSSL's chacha20-poly1305 (through Node's crypto) in
// tests/native/vfs_crypto_test.cc and tests/node/storage-encryption.test.mjs.
//
// Not constant-time-hardened beyond what the algorithm gives for free (ChaCha20 and
// Poly1305 have no secret-dependent branches or table lookups; the tag compare below is
// constant-time).
#ifndef ELECTROLITE_WASM_VFS_CHACHA20POLY1305_H_
#define ELECTROLITE_WASM_VFS_CHACHA20POLY1305_H_

#include <cstddef>
#include <cstdint>

namespace electrolite {
namespace vfs {

constexpr size_t kAeadKeyBytes = 32;
constexpr size_t kAeadNonceBytes = 12;
constexpr size_t kAeadTagBytes = 16;

// XORs `n` bytes of `in` with the ChaCha20 keystream starting at block `counter`
// (RFC 8439 §2.4) into `out`. `in` and `out` may be the same buffer.
void ChaCha20Xor(const uint8_t key[32], uint32_t counter, const uint8_t nonce[12], const uint8_t* in,
                 uint8_t* out, size_t n);

// The Poly1305 one-time authenticator (RFC 8439 §2.5).
void Poly1305(const uint8_t key[32], const uint8_t* msg, size_t n, uint8_t tag[16]);

// Encrypts `n` bytes in place and writes the tag. `aad` is authenticated, not encrypted.
void AeadSeal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t* aad, size_t aad_len,
              uint8_t* data, size_t n, uint8_t tag[16]);

// Checks the tag and, only if it matches, decrypts `n` bytes in place. false: the data,
// the aad, the nonce or the key is not what was sealed (nothing is decrypted).
[[nodiscard]] bool AeadOpen(const uint8_t key[32], const uint8_t nonce[12], const uint8_t* aad,
                            size_t aad_len, uint8_t* data, size_t n, const uint8_t tag[16]);

}  // namespace vfs
}  // namespace electrolite

#endif  // ELECTROLITE_WASM_VFS_CHACHA20POLY1305_H_
