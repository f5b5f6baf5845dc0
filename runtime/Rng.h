//===- Rng.h - The counter-based random number generator ------------------===//
//
// nnx draws every random number from Threefry-2x32 (20 rounds, the Random123 / JAX
// algorithm), a keyed hash of a 64-bit counter. Keys are derived from the seed and a stream
// name; each draw site folds in a counter; element i of a draw hashes the counter i. The rules
// here are a contract written down in docs/rng.md: the interpreter, the CPU JIT and the GPU
// code re-implement them and must produce the same bits.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace nnx::rt {

/// A Threefry key: two 32-bit words, like a jax.random.PRNGKey.
using Key = std::array<uint32_t, 2>;

/// Threefry-2x32 with 20 rounds: the keyed hash of `counter` (Random123's threefry2x32_20,
/// jax._src.random.threefry2x32.threefry_2x32 with keypair = key, count = counter).
std::array<uint32_t, 2> threefry2x32(Key key, std::array<uint32_t, 2> counter);

/// The key of an integer seed: {high 32 bits, low 32 bits}, like jax.random.PRNGKey(seed).
Key keyFromSeed(uint64_t seed);

/// A new key from a key and a 32-bit value: threefry2x32(key, {0, data}).
Key foldIn(Key key, uint32_t data);

/// The 32-bit FNV-1a hash of a name (offset basis 0x811c9dc5, prime 0x01000193).
uint32_t hashName(std::string_view name);

/// The key of stream `stream` ("params", "dropout", ...) of `seed`:
/// foldIn(keyFromSeed(seed), hashName(stream)).
Key streamKey(uint64_t seed, std::string_view stream);

/// The key of the `counter`-th draw from a stream: foldIn(stream, counter).
Key drawKey(Key stream, uint32_t counter);

/// A float in [0, 1) from the 23 high bits of `bits`: bit_cast<float>((bits >> 9) | 0x3f800000)
/// - 1.
float uniformFromBits(uint32_t bits);

/// out[i] = uniformFromBits(threefry2x32(key, {low32(i), high32(i)})[0]) for i in [0, n).
void fillUniform(Key key, float *out, int64_t n);

/// Standard normal draws by Box-Muller on the two words of threefry2x32(key, {low32(i),
/// high32(i)}): u1 = 1 - uniformFromBits(w0), u2 = uniformFromBits(w1),
/// out[i] = sqrt(-2 log u1) * cos(2 pi u2), all in float.
void fillNormal(Key key, float *out, int64_t n);

} // namespace nnx::rt
