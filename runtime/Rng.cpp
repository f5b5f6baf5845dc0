//===- Rng.cpp - The counter-based random number generator ----------------===//
//
// Threefry-2x32-20 as specified by Salmon et al. (Random123, SC'11) and implemented by JAX,
// the key derivations built on it, and the conversions from random words to uniform and
// normal floats. docs/rng.md states the same rules for the code generators.
//
//===----------------------------------------------------------------------===//
#include "runtime/Rng.h"

#include <cmath>
#include <cstring>

namespace nnx::rt {
namespace {

/// Rotation amounts of the four rounds of even (0) and odd (1) groups.
constexpr uint32_t kRotations[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};

/// The key-schedule parity constant of Threefry.
constexpr uint32_t kParity = 0x1BD11BDA;

constexpr uint32_t rotateLeft(uint32_t x, uint32_t r) { return (x << r) | (x >> (32 - r)); }

/// The counter words of element `i` of a draw: {low 32 bits, high 32 bits}.
std::array<uint32_t, 2> elementCounter(int64_t i) {
  uint64_t u = static_cast<uint64_t>(i);
  return {static_cast<uint32_t>(u), static_cast<uint32_t>(u >> 32)};
}

} // namespace

std::array<uint32_t, 2> threefry2x32(Key key, std::array<uint32_t, 2> counter) {
  const uint32_t schedule[3] = {key[0], key[1], key[0] ^ key[1] ^ kParity};
  uint32_t x0 = counter[0] + schedule[0];
  uint32_t x1 = counter[1] + schedule[1];
  // Five groups of four rounds; a key injection follows each group.
  for (uint32_t group = 0; group < 5; ++group) {
    for (uint32_t rotation : kRotations[group % 2]) {
      x0 += x1;
      x1 = rotateLeft(x1, rotation);
      x1 ^= x0;
    }
    uint32_t injection = group + 1;
    x0 += schedule[injection % 3];
    x1 += schedule[(injection + 1) % 3] + injection;
  }
  return {x0, x1};
}

Key keyFromSeed(uint64_t seed) {
  return {static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(seed)};
}

Key foldIn(Key key, uint32_t data) { return threefry2x32(key, {0u, data}); }

uint32_t hashName(std::string_view name) {
  uint32_t hash = 0x811c9dc5u;
  for (char c : name) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x01000193u;
  }
  return hash;
}

Key streamKey(uint64_t seed, std::string_view stream) {
  return foldIn(keyFromSeed(seed), hashName(stream));
}

Key drawKey(Key stream, uint32_t counter) { return foldIn(stream, counter); }

float uniformFromBits(uint32_t bits) {
  uint32_t pattern = (bits >> 9) | 0x3f800000u;
  float oneToTwo;
  std::memcpy(&oneToTwo, &pattern, sizeof oneToTwo);
  return oneToTwo - 1.0f;
}

void fillUniform(Key key, float *out, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    out[i] = uniformFromBits(threefry2x32(key, elementCounter(i))[0]);
}

void fillNormal(Key key, float *out, int64_t n) {
  const float twoPi = 6.28318530717958647692f;
  for (int64_t i = 0; i < n; ++i) {
    std::array<uint32_t, 2> words = threefry2x32(key, elementCounter(i));
    float u1 = 1.0f - uniformFromBits(words[0]);
    float u2 = uniformFromBits(words[1]);
    out[i] = std::sqrt(-2.0f * std::log(u1)) * std::cos(twoPi * u2);
  }
}

} // namespace nnx::rt
