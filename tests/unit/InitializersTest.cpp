//===- InitializersTest.cpp - Flax initializers and initializeState -------===//
//
// The statistics of every random initializer over 10^5 draws (mean, stddev, bounds), the fans
// of the variance-scaling family, erfInv, constants and literals, the errors, and the key
// assignment of initializeState.
//
//===----------------------------------------------------------------------===//
#include "runtime/Error.h"
#include "runtime/Initializers.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

using namespace nnx::rt;

namespace {

struct Stats {
  double mean, stddev, min, max;
};

Stats statsOf(const Tensor &t) {
  std::vector<double> v = t.toVector<double>();
  double sum = 0, sq = 0;
  for (double x : v)
    sum += x;
  double mean = sum / v.size();
  for (double x : v)
    sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / v.size()), *std::min_element(v.begin(), v.end()),
          *std::max_element(v.begin(), v.end())};
}

InitSpec spec(const std::string &name, std::map<std::string, double> args = {}) {
  InitSpec s;
  s.name = name;
  s.args = std::move(args);
  return s;
}

const Key kKey = {0x1234u, 0x5678u};

} // namespace

TEST_CASE("erfInv inverts erf") {
  // Beyond |x| = 3, erf(x) is within a few float ulps of 1 and the round trip loses digits.
  for (float x = -3.0f; x <= 3.0f; x += 0.05f)
    CHECK(erfInv(std::erf(x)) == doctest::Approx(x).epsilon(2e-4));
  for (float x = 3.0f; x <= 3.8f; x += 0.05f)
    CHECK(erfInv(std::erf(x)) == doctest::Approx(x).epsilon(2e-2));
  CHECK(erfInv(0.0f) == 0.0f);
  CHECK(std::isinf(erfInv(1.0f)));
  CHECK(erfInv(-1.0f) < 0);
  CHECK(std::isnan(erfInv(1.5f)));
}

TEST_CASE("fans follow jax.nn.initializers") {
  CHECK(computeFans({784, 256}) == std::pair<double, double>{784, 256});
  CHECK(computeFans({3, 3, 16, 32}) == std::pair<double, double>{144, 288});
  CHECK(computeFans({10}) == std::pair<double, double>{10, 10});
  CHECK(computeFans({}) == std::pair<double, double>{1, 1});
}

TEST_CASE("constant initializers") {
  CHECK(initialize(spec("zeros"), DType::F32, {2, 3}, kKey).toVector<float>() ==
        std::vector<float>(6, 0.0f));
  CHECK(initialize(spec("ones"), DType::I64, {4}, kKey).toVector<int64_t>() ==
        std::vector<int64_t>(4, 1));
  CHECK(initialize(spec("constant", {{"value", 0.5}}), DType::F64, {3}, kKey)
            .toVector<double>() == std::vector<double>(3, 0.5));
  Tensor scalarOne = initialize(spec("ones"), DType::Bool, {}, kKey);
  CHECK(scalarOne.rank() == 0);
  CHECK(scalarOne.at(0) == 1.0);
}

TEST_CASE("literal initializer copies, converts and broadcasts") {
  InitSpec lit = spec("literal");
  lit.literal = Tensor::fromVector<int32_t>({2}, {3, 4});
  Tensor value = initialize(lit, DType::F32, {2}, kKey);
  CHECK(value.dtype() == DType::F32);
  CHECK(value.toVector<float>() == std::vector<float>{3, 4});
  CHECK_FALSE(value.sharesStorageWith(*lit.literal));
  lit.literal = Tensor::scalar(DType::I64, 7);
  CHECK(initialize(lit, DType::I32, {2, 2}, kKey).toVector<int>() == std::vector<int>(4, 7));
  lit.literal = Tensor::fromVector<float>({3}, {1, 2, 3});
  CHECK_THROWS_AS(initialize(lit, DType::F32, {2}, kKey), Error);
}

TEST_CASE("normal, uniform and truncated_normal have the requested moments") {
  const Shape shape = {100000};
  Stats n = statsOf(initialize(spec("normal", {{"stddev", 2.0}}), DType::F32, shape, kKey));
  CHECK(std::fabs(n.mean) < 0.02);
  CHECK(n.stddev == doctest::Approx(2.0).epsilon(0.01));

  Stats d = statsOf(initialize(spec("normal"), DType::F32, shape, kKey));
  CHECK(d.stddev == doctest::Approx(1e-2).epsilon(0.01));

  Stats u = statsOf(initialize(spec("uniform", {{"scale", 3.0}}), DType::F32, shape, kKey));
  CHECK(u.min >= 0.0);
  CHECK(u.max < 3.0);
  CHECK(u.mean == doctest::Approx(1.5).epsilon(0.01));

  Stats t = statsOf(initialize(spec("truncated_normal", {{"stddev", 1.0}}), DType::F32, shape,
                               kKey));
  CHECK(t.min > -2.0);
  CHECK(t.max < 2.0);
  CHECK(std::fabs(t.mean) < 0.01);
  CHECK(t.stddev == doctest::Approx(0.87962566103423978).epsilon(0.01));

  Stats bounded = statsOf(initialize(
      spec("truncated_normal", {{"stddev", 1.0}, {"lower", 0.5}, {"upper", 1.0}}), DType::F32,
      shape, kKey));
  CHECK(bounded.min > 0.5);
  CHECK(bounded.max < 1.0);
}

TEST_CASE("variance scaling initializers have stddev sqrt(scale / fan)") {
  const Shape shape = {1000, 100};
  struct Case {
    const char *name;
    double expected;
  } cases[] = {
      {"lecun_normal", std::sqrt(1.0 / 1000)},  {"lecun_uniform", std::sqrt(1.0 / 1000)},
      {"xavier_normal", std::sqrt(2.0 / 1100)}, {"glorot_normal", std::sqrt(2.0 / 1100)},
      {"xavier_uniform", std::sqrt(2.0 / 1100)}, {"he_normal", std::sqrt(2.0 / 1000)},
      {"he_uniform", std::sqrt(2.0 / 1000)},
  };
  for (const Case &c : cases) {
    CAPTURE(c.name);
    Stats s = statsOf(initialize(spec(c.name), DType::F32, shape, kKey));
    CHECK(std::fabs(s.mean) < c.expected * 0.02);
    CHECK(s.stddev == doctest::Approx(c.expected).epsilon(0.02));
    bool uniform = std::string(c.name).find("uniform") != std::string::npos;
    double bound = uniform ? std::sqrt(3.0) * c.expected : 2.0 * c.expected / 0.87962566103423978;
    CHECK(s.max <= bound * 1.0001);
    CHECK(s.min >= -bound * 1.0001);
  }
}

TEST_CASE("random initializers are deterministic per key and honour the dtype") {
  Tensor a = initialize(spec("lecun_normal"), DType::F32, {8, 4}, kKey);
  Tensor b = initialize(spec("lecun_normal"), DType::F32, {8, 4}, kKey);
  Tensor c = initialize(spec("lecun_normal"), DType::F32, {8, 4}, {1u, 2u});
  CHECK(a.toVector<float>() == b.toVector<float>());
  CHECK(a.toVector<float>() != c.toVector<float>());
  Tensor wide = initialize(spec("lecun_normal"), DType::F64, {8, 4}, kKey);
  CHECK(wide.dtype() == DType::F64);
  CHECK(wide.toVector<float>() == a.toVector<float>());
}

TEST_CASE("initializer errors") {
  try {
    initialize(spec("glorot_banana"), DType::F32, {2}, kKey);
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0404");
    CHECK(std::string(e.what()) == "unknown initializer `glorot_banana`");
  }
  try {
    initialize(spec("normal"), DType::I32, {2}, kKey);
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0405");
    CHECK(std::string(e.what()).find("i32[2]") != std::string::npos);
  }
  try {
    initialize(spec("normal", {{"stdev", 1.0}}), DType::F32, {2}, kKey);
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0405");
    CHECK(std::string(e.what()) == "initializer `normal` takes no argument `stdev`");
    CHECK(e.notes() == std::vector<std::string>{"it takes `stddev`"});
  }
  CHECK_THROWS_AS(initialize(spec("lecun_normal", {{"in_axis", 0}}), DType::F32, {2, 2}, kKey),
                  Error);
  CHECK_THROWS_AS(initialize(spec("truncated_normal", {{"lower", 1}, {"upper", -1}}),
                             DType::F32, {2}, kKey),
                  Error);
  CHECK_THROWS_AS(initialize(spec("rng_key"), DType::F32, {2}, kKey), Error);
  CHECK_THROWS_AS(initialize(spec("literal"), DType::F32, {2}, kKey), Error);
}

TEST_CASE("initializeState assigns params keys in order and rng keys by stream and path") {
  std::vector<VarSpec> specs = {
      {"linear.kernel", "Param", DType::F32, {3, 2}, spec("lecun_normal")},
      {"linear.bias", "Param", DType::F32, {2}, spec("zeros")},
      {"other.kernel", "Param", DType::F32, {3, 2}, spec("normal", {{"stddev", 1.0}})},
      {"rngs.dropout.key", "RngKey", DType::I32, {2}, spec("rng_key")},
  };
  specs[3].init.stream = "dropout";
  State state = initializeState(specs, 42);
  REQUIRE(state.size() == 4);
  Key params = streamKey(42, "params");
  CHECK(state.find("linear.kernel")->value.toVector<float>() ==
        initialize(specs[0].init, DType::F32, {3, 2}, foldIn(params, 0)).toVector<float>());
  CHECK(state.find("other.kernel")->value.toVector<float>() ==
        initialize(specs[2].init, DType::F32, {3, 2}, foldIn(params, 1)).toVector<float>());
  // Each holder of a stream gets its own key: the stream's key folded with the path.
  Key dropout = foldIn(streamKey(42, "dropout"), hashName("rngs.dropout.key"));
  const Tensor &key = state.find("rngs.dropout.key")->value;
  CHECK(static_cast<uint32_t>(key.data<int32_t>()[0]) == dropout[0]);
  CHECK(static_cast<uint32_t>(key.data<int32_t>()[1]) == dropout[1]);
  CHECK(state.vars()[1].path == "linear.bias");
  CHECK(state.find("missing") == nullptr);

  state.add({"linear.bias", "Param", Tensor::full(DType::F32, {2}, 5)});
  CHECK(state.size() == 4);
  CHECK(state.find("linear.bias")->value.at(1) == 5.0);

  specs.push_back({"bad", "Param", DType::F32, {2}, spec("nonsense")});
  try {
    initializeState(specs, 0);
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0404");
    REQUIRE(!e.notes().empty());
    CHECK(e.notes().back().find("`bad`") != std::string::npos);
  }
}
