//===- RngTest.cpp - Threefry-2x32 and the key derivations ----------------===//
//
// Known-answer vectors for Threefry-2x32-20 and for the key derivations, and the statistics of
// the uniform and normal fills. The CPU JIT must reproduce these exact bits.
//
//===----------------------------------------------------------------------===//
#include "runtime/Rng.h"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace nnx::rt;

namespace {

/// Mean and standard deviation of `values`.
std::pair<double, double> moments(const std::vector<float> &values) {
  double sum = 0, sq = 0;
  for (float v : values)
    sum += v;
  double mean = sum / values.size();
  for (float v : values)
    sq += (v - mean) * (v - mean);
  return {mean, std::sqrt(sq / values.size())};
}

using Words = std::array<uint32_t, 2>;

} // namespace

// The three vectors are Random123's known answers for threefry2x32_20 (kat_vectors). They agree
// with JAX 0.10.2: jax._src.random.threefry2x32.threefry_2x32(np.uint32(key), np.uint32(ctr))
// returned exactly these words for each (key, ctr) pair.
TEST_CASE("threefry2x32 matches the Random123 and JAX known answers") {
  CHECK(threefry2x32({0u, 0u}, {0u, 0u}) == Words{0x6b200159u, 0x99ba4efeu});
  CHECK(threefry2x32({0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}) ==
        Words{0x1cb996fcu, 0xbb002be7u});
  CHECK(threefry2x32({0x13198a2eu, 0x03707344u}, {0x243f6a88u, 0x85a308d3u}) ==
        Words{0xc4923a9cu, 0x483df7a0u});
  // JAX: threefry_2x32(uint32([0x97d0552f, 0x51bf719f]), uint32([5, 0])).
  CHECK(threefry2x32({0x97d0552fu, 0x51bf719fu}, {5u, 0u}) == Words{0x2490f38bu, 0xd353b1a0u});
}

// keyFromSeed and foldIn are jax.random.PRNGKey and jax.random.fold_in (threefry2x32 impl,
// JAX_ENABLE_X64=1 for seeds beyond 32 bits); the expected keys were printed by JAX 0.10.2.
TEST_CASE("key derivation matches jax.random") {
  CHECK(keyFromSeed(42) == Key{0u, 42u});
  CHECK(keyFromSeed(0x123456789abcull) == Key{0x1234u, 0x56789abcu});
  CHECK(foldIn(keyFromSeed(42), 7) == Key{0x97d0552fu, 0x51bf719fu});
  CHECK(foldIn(keyFromSeed(0x123456789abcull), 0xdeadbeefu) == Key{0x39d671c8u, 0xaaa4bbf4u});
  CHECK(drawKey(keyFromSeed(42), 7) == foldIn(keyFromSeed(42), 7));
}

TEST_CASE("stream keys hash the stream name with FNV-1a") {
  CHECK(hashName("") == 0x811c9dc5u);
  CHECK(hashName("a") == 0xe40c292cu);
  CHECK(hashName("foobar") == 0xbf9cf968u);
  CHECK(streamKey(0, "params") == foldIn(keyFromSeed(0), hashName("params")));
  CHECK(streamKey(0, "params") != streamKey(0, "dropout"));
  CHECK(streamKey(0, "params") != streamKey(1, "params"));
}

TEST_CASE("uniformFromBits maps the 23 high bits into [0, 1)") {
  CHECK(uniformFromBits(0u) == 0.0f);
  CHECK(uniformFromBits(0x1ffu) == 0.0f);
  CHECK(uniformFromBits(0x80000000u) == 0.5f);
  CHECK(uniformFromBits(0xffffffffu) == 1.0f - std::ldexp(1.0f, -23));
}

TEST_CASE("fillUniform hashes the element index as the counter") {
  Key key = streamKey(3, "dropout");
  std::vector<float> out(5);
  fillUniform(key, out.data(), 5);
  for (uint32_t i = 0; i < 5; ++i)
    CHECK(out[i] == uniformFromBits(threefry2x32(key, {i, 0u})[0]));
  std::vector<float> again(5);
  fillUniform(key, again.data(), 5);
  CHECK(out == again);
}

TEST_CASE("fillUniform and fillNormal have the right moments") {
  const int64_t n = 100000;
  std::vector<float> u(n), z(n);
  fillUniform(keyFromSeed(1), u.data(), n);
  fillNormal(keyFromSeed(2), z.data(), n);
  for (float v : u) {
    REQUIRE(v >= 0.0f);
    REQUIRE(v < 1.0f);
  }
  auto [uMean, uStd] = moments(u);
  CHECK(uMean == doctest::Approx(0.5).epsilon(0.01));
  CHECK(uStd == doctest::Approx(std::sqrt(1.0 / 12)).epsilon(0.01));
  auto [zMean, zStd] = moments(z);
  CHECK(std::fabs(zMean) < 0.01);
  CHECK(zStd == doctest::Approx(1.0).epsilon(0.01));
  for (float v : z)
    REQUIRE(std::isfinite(v));
}

TEST_CASE("fillNormal is Box-Muller on the two words") {
  Key key = keyFromSeed(9);
  std::vector<float> out(3);
  fillNormal(key, out.data(), 3);
  for (uint32_t i = 0; i < 3; ++i) {
    Words w = threefry2x32(key, {i, 0u});
    float u1 = 1.0f - uniformFromBits(w[0]);
    float u2 = uniformFromBits(w[1]);
    CHECK(out[i] == std::sqrt(-2.0f * std::log(u1)) * std::cos(6.28318530717958647692f * u2));
  }
}
