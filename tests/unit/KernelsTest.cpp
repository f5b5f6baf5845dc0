//===- KernelsTest.cpp - The interpreter's reference kernels --------------===//
//
// Each kernel on small hand-checked examples: the scalar semantics of the elementwise ops
// (integer wrap-around and division, NaN propagation, gelu), broadcasting, reductions over
// several axes and over nothing, shape ops (pad too) on odd and rank-0 shapes, batched
// matmul, softmax rows summing to one, iota and the random draws' agreement with
// runtime/Rng.h.
//
//===----------------------------------------------------------------------===//
#include "interp/Kernels.h"
#include "runtime/Rng.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace nnx;
using namespace nnx::interp;
using rt::DType;
using rt::Shape;
using rt::Tensor;

namespace {

Tensor f32(const Shape &shape, const std::vector<float> &values) {
  return Tensor::fromVector<float>(shape, values);
}
Tensor i32(const Shape &shape, const std::vector<int32_t> &values) {
  return Tensor::fromVector<int32_t>(shape, values);
}
Tensor boolean(const Shape &shape, const std::vector<bool> &values) {
  return Tensor::fromVector<bool>(shape, values);
}
std::vector<double> values(const Tensor &t) { return t.toVector<double>(); }

/// Element-by-element closeness at a relative tolerance.
void checkClose(const Tensor &t, const std::vector<double> &expected, double eps = 1e-6) {
  REQUIRE(t.numel() == static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i)
    CHECK(t.at(static_cast<int64_t>(i)) == doctest::Approx(expected[i]).epsilon(eps));
}

} // namespace

TEST_CASE("unary float ops") {
  Tensor x = f32({4}, {-1.0f, 0.0f, 0.5f, 2.0f});
  checkClose(unary(UnaryOp::Neg, x), {1, 0, -0.5, -2});
  checkClose(unary(UnaryOp::Exp, x), {std::exp(-1.0), 1, std::exp(0.5), std::exp(2.0)});
  checkClose(unary(UnaryOp::Abs, x), {1, 0, 0.5, 2});
  checkClose(unary(UnaryOp::Relu, x), {0, 0, 0.5, 2});
  checkClose(unary(UnaryOp::Tanh, x), {std::tanh(-1.0), 0, std::tanh(0.5), std::tanh(2.0)});
  checkClose(unary(UnaryOp::Sigmoid, x), {1 / (1 + std::exp(1.0)), 0.5, 1 / (1 + std::exp(-0.5)),
                                          1 / (1 + std::exp(-2.0))});
  checkClose(unary(UnaryOp::Sin, x), {std::sin(-1.0), 0, std::sin(0.5), std::sin(2.0)});
  checkClose(unary(UnaryOp::Cos, x), {std::cos(-1.0), 1, std::cos(0.5), std::cos(2.0)});
  // jax.nn.gelu(x) (approximate=True) printed by JAX: [-0.15880796, 0, 0.345714, 1.9545977].
  checkClose(unary(UnaryOp::Gelu, x), {-0.15880796, 0, 0.345714, 1.9545977}, 1e-5);
  Tensor p = Tensor::fromVector<double>({3}, {4.0, 1.0, 0.25});
  checkClose(unary(UnaryOp::Sqrt, p), {2, 1, 0.5});
  checkClose(unary(UnaryOp::Rsqrt, p), {0.5, 1, 2});
  checkClose(unary(UnaryOp::Log, p), {std::log(4.0), 0, std::log(0.25)});
  CHECK(unary(UnaryOp::Exp, p).dtype() == DType::F64);
  CHECK(std::isnan(unary(UnaryOp::Relu, f32({1}, {std::nanf("")})).at(0)));
}

TEST_CASE("unary integer and bool ops, rank 0") {
  Tensor x = i32({3}, {-5, 0, INT32_MIN});
  CHECK(values(unary(UnaryOp::Neg, x)) == std::vector<double>{5, 0, INT32_MIN});
  CHECK(values(unary(UnaryOp::Abs, x)) == std::vector<double>{5, 0, INT32_MIN});
  CHECK(values(unary(UnaryOp::Relu, x)) == std::vector<double>{0, 0, 0});
  CHECK(values(unary(UnaryOp::Not, boolean({2}, {true, false}))) == std::vector<double>{0, 1});
  Tensor s = unary(UnaryOp::Neg, Tensor::scalar(DType::F32, 3));
  CHECK(s.rank() == 0);
  CHECK(s.at(0) == -3.0);
}

TEST_CASE("binary ops on floats") {
  Tensor a = f32({2, 2}, {1, -2, 3, 8});
  Tensor b = f32({2, 2}, {2, 4, -3, 0.5f});
  checkClose(binary(BinaryOp::Add, a, b), {3, 2, 0, 8.5});
  checkClose(binary(BinaryOp::Sub, a, b), {-1, -6, 6, 7.5});
  checkClose(binary(BinaryOp::Mul, a, b), {2, -8, -9, 4});
  checkClose(binary(BinaryOp::Div, a, b), {0.5, -0.5, -1, 16});
  checkClose(binary(BinaryOp::Pow, a, f32({2, 2}, {3, 2, 0, 0.5f})), {1, 4, 1, std::sqrt(8.0)});
  checkClose(binary(BinaryOp::Max, a, b), {2, 4, 3, 8});
  checkClose(binary(BinaryOp::Min, a, b), {1, -2, -3, 0.5});
  Tensor n = binary(BinaryOp::Max, f32({2}, {std::nanf(""), 1}), f32({2}, {0, std::nanf("")}));
  CHECK(std::isnan(n.at(0)));
  CHECK(std::isnan(n.at(1)));
  CHECK(std::isinf(binary(BinaryOp::Div, f32({1}, {1}), f32({1}, {0})).at(0)));
}

TEST_CASE("binary ops on integers and bools") {
  Tensor a = i32({5}, {7, -7, 7, INT32_MAX, INT32_MIN});
  Tensor b = i32({5}, {2, 2, 0, 1, -1});
  CHECK(values(binary(BinaryOp::Div, a, b)) == std::vector<double>{3, -3, 0, INT32_MAX, INT32_MIN});
  CHECK(values(binary(BinaryOp::Add, a, b)) ==
        std::vector<double>{9, -5, 7, INT32_MIN, INT32_MAX});
  CHECK(values(binary(BinaryOp::Mul, i32({1}, {65536}), i32({1}, {65536}))) ==
        std::vector<double>{0});
  CHECK(values(binary(BinaryOp::Pow, i32({5}, {3, 2, 1, -1, -1}), i32({5}, {4, -1, -3, -3, 2}))) ==
        std::vector<double>{81, 0, 1, -1, 1});
  CHECK(values(binary(BinaryOp::And, i32({1}, {6}), i32({1}, {3}))) == std::vector<double>{2});
  Tensor t = boolean({4}, {true, true, false, false});
  Tensor f = boolean({4}, {true, false, true, false});
  CHECK(values(binary(BinaryOp::And, t, f)) == std::vector<double>{1, 0, 0, 0});
  CHECK(values(binary(BinaryOp::Or, t, f)) == std::vector<double>{1, 1, 1, 0});
}

TEST_CASE("compare, select and convert") {
  Tensor a = f32({3}, {1, 2, std::nanf("")});
  Tensor b = f32({3}, {2, 2, std::nanf("")});
  CHECK(values(compare(CmpPred::Lt, a, b)) == std::vector<double>{1, 0, 0});
  CHECK(values(compare(CmpPred::Le, a, b)) == std::vector<double>{1, 1, 0});
  CHECK(values(compare(CmpPred::Eq, a, b)) == std::vector<double>{0, 1, 0});
  CHECK(values(compare(CmpPred::Ne, a, b)) == std::vector<double>{1, 0, 1});
  CHECK(values(compare(CmpPred::Gt, i32({2}, {3, 1}), i32({2}, {1, 1}))) ==
        std::vector<double>{1, 0});
  CHECK(values(compare(CmpPred::Ge, i32({2}, {3, 1}), i32({2}, {1, 1}))) ==
        std::vector<double>{1, 1});
  CHECK(compare(CmpPred::Eq, a, b).dtype() == DType::Bool);
  Tensor s = select(boolean({3}, {true, false, true}), i32({3}, {1, 2, 3}), i32({3}, {-1, -2, -3}));
  CHECK(values(s) == std::vector<double>{1, -2, 3});
  Tensor c = convert(f32({4}, {1.7f, -1.7f, 0, 3e10f}), DType::I32);
  CHECK(values(c) == std::vector<double>{1, -1, 0, INT32_MAX});
  CHECK(values(convert(f32({2}, {0, -0.5f}), DType::Bool)) == std::vector<double>{0, 1});
}

TEST_CASE("broadcastInDim") {
  // [3] -> [2, 3] along dim 1: rows repeat.
  Tensor row = broadcastInDim(f32({3}, {1, 2, 3}), {2, 3}, {1});
  CHECK(values(row) == std::vector<double>{1, 2, 3, 1, 2, 3});
  // [2] -> [2, 3] along dim 0: columns repeat.
  Tensor col = broadcastInDim(f32({2}, {1, 2}), {2, 3}, {0});
  CHECK(values(col) == std::vector<double>{1, 1, 1, 2, 2, 2});
  // [1, 3] with an extent-1 dim -> [2, 2, 3].
  Tensor ones = broadcastInDim(i32({1, 3}, {4, 5, 6}), {2, 2, 3}, {1, 2});
  CHECK(values(ones) == std::vector<double>{4, 5, 6, 4, 5, 6, 4, 5, 6, 4, 5, 6});
  // Rank 0 -> [2, 2].
  CHECK(values(broadcastInDim(Tensor::scalar(DType::F64, 7), {2, 2}, {})) ==
        std::vector<double>(4, 7));
  // Empty result.
  CHECK(broadcastInDim(f32({3}, {1, 2, 3}), {0, 3}, {1}).numel() == 0);
}

TEST_CASE("reduce") {
  Tensor x = f32({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  CHECK(values(reduce(ReduceOp::Sum, x, {0})) == std::vector<double>{8, 10, 12, 14, 16, 18});
  CHECK(values(reduce(ReduceOp::Sum, x, {1})) == std::vector<double>{9, 12, 27, 30});
  CHECK(values(reduce(ReduceOp::Sum, x, {0, 2})) == std::vector<double>{18, 26, 34});
  Tensor all = reduce(ReduceOp::Max, x, {0, 1, 2});
  CHECK(all.rank() == 0);
  CHECK(all.at(0) == 12.0);
  CHECK(values(reduce(ReduceOp::Min, x, {2})) == std::vector<double>{1, 3, 5, 7, 9, 11});
  CHECK(values(reduce(ReduceOp::Sum, x, {})) == values(x));
  Tensor empty(DType::F32, {2, 0});
  CHECK(values(reduce(ReduceOp::Sum, empty, {1})) == std::vector<double>{0, 0});
  CHECK(reduce(ReduceOp::Max, empty, {1}).at(0) == -std::numeric_limits<double>::infinity());
  CHECK(reduce(ReduceOp::Min, empty, {1}).at(0) == std::numeric_limits<double>::infinity());
  CHECK(reduce(ReduceOp::Max, Tensor(DType::I32, {0}), {0}).at(0) == INT32_MIN);
  CHECK(std::isnan(reduce(ReduceOp::Max, f32({3}, {1, std::nanf(""), 2}), {0}).at(0)));
  CHECK(reduce(ReduceOp::Max, boolean({3}, {false, true, false}), {0}).at(0) == 1.0);
  CHECK(reduce(ReduceOp::Min, boolean({3}, {false, true, false}), {0}).at(0) == 0.0);
  CHECK(values(reduce(ReduceOp::Sum, i32({2, 2}, {1, 2, 3, 4}), {1})) ==
        std::vector<double>{3, 7});
}

TEST_CASE("reshape, transpose, concat, slice") {
  Tensor x = i32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r = reshape(x, {3, 2});
  CHECK(r.shape() == Shape{3, 2});
  CHECK_FALSE(r.sharesStorageWith(x));
  CHECK(reshape(Tensor::scalar(DType::F32, 1), {1, 1}).shape() == Shape{1, 1});

  Tensor t = transpose(x, {1, 0});
  CHECK(t.shape() == Shape{3, 2});
  CHECK(values(t) == std::vector<double>{1, 4, 2, 5, 3, 6});
  Tensor cube = i32({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  Tensor p = transpose(cube, {2, 0, 1});
  CHECK(p.shape() == Shape{3, 2, 1});
  CHECK(values(p) == std::vector<double>{1, 4, 2, 5, 3, 6});
  CHECK(transpose(Tensor::scalar(DType::I32, 5), {}).at(0) == 5.0);

  Tensor c0 = concat({x, i32({1, 3}, {7, 8, 9})}, 0);
  CHECK(c0.shape() == Shape{3, 3});
  CHECK(values(c0) == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor c1 = concat({x, i32({2, 1}, {0, -1}), i32({2, 0}, {})}, 1);
  CHECK(c1.shape() == Shape{2, 4});
  CHECK(values(c1) == std::vector<double>{1, 2, 3, 0, 4, 5, 6, -1});

  Tensor s = slice(i32({2, 5}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), {0, 1}, {2, 5}, {1, 2});
  CHECK(s.shape() == Shape{2, 2});
  CHECK(values(s) == std::vector<double>{1, 3, 6, 8});
  Tensor odd = slice(i32({7}, {0, 1, 2, 3, 4, 5, 6}), {1}, {7}, {3});
  CHECK(values(odd) == std::vector<double>{1, 4});
  CHECK(slice(i32({3}, {1, 2, 3}), {2}, {2}, {1}).numel() == 0);
}

TEST_CASE("pad: low, high and interior zeros") {
  // [[1, 2], [3, 4]] with one zero row before, one zero column after and one zero between
  // neighbouring columns: stablehlo.pad's layout.
  Tensor x = i32({2, 2}, {1, 2, 3, 4});
  Tensor p = pad(x, {1, 0}, {0, 1}, {0, 1});
  CHECK(p.shape() == Shape{3, 4});
  CHECK(values(p) == std::vector<double>{0, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0});
  Tensor q = pad(f32({3}, {1, 2, 3}), {0}, {2}, {2});
  CHECK(values(q) == std::vector<double>{1, 0, 0, 2, 0, 0, 3, 0, 0});
  // Padding undoes a strided slice at the slice's positions.
  Tensor row = i32({7}, {0, 1, 2, 3, 4, 5, 6});
  CHECK(values(pad(slice(row, {1}, {7}, {3}), {1}, {2}, {2})) ==
        std::vector<double>{0, 1, 0, 0, 4, 0, 0});
  CHECK(values(pad(boolean({1}, {true}), {1}, {1}, {3})) == std::vector<double>{0, 1, 0});
  CHECK(pad(i32({0}, {}), {2}, {1}, {4}).shape() == Shape{3});
  CHECK(pad(Tensor::scalar(DType::F64, 2.5), {}, {}, {}).at(0) == 2.5);
}

TEST_CASE("matmul, plain and batched") {
  Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = f32({3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor c = matmul(a, b);
  CHECK(c.shape() == Shape{2, 2});
  CHECK(values(c) == std::vector<double>{58, 64, 139, 154});

  // Batch of 2 against a shared [K, N] and against a batched [2, K, N].
  Tensor batchA = f32({2, 1, 2}, {1, 2, 3, 4});
  Tensor shared = f32({2, 2}, {1, 0, 0, 1});
  CHECK(values(matmul(batchA, shared)) == std::vector<double>{1, 2, 3, 4});
  Tensor batchB = f32({2, 2, 1}, {1, 1, 2, -1});
  Tensor bc = matmul(batchA, batchB);
  CHECK(bc.shape() == Shape{2, 1, 1});
  CHECK(values(bc) == std::vector<double>{3, 2});

  Tensor d = matmul(Tensor::fromVector<double>({1, 2}, {0.5, 0.25}),
                    Tensor::fromVector<double>({2, 1}, {2, 4}));
  CHECK(d.dtype() == DType::F64);
  CHECK(d.at(0) == 2.0);
  CHECK(matmul(f32({2, 0}, {}), f32({0, 3}, {})).toVector<double>() == std::vector<double>(6, 0));
}

TEST_CASE("softmax and logSoftmax") {
  Tensor x = f32({2, 3}, {1, 2, 3, 1000, 1000, 1000});
  Tensor s = softmax(x, 1);
  double e1 = std::exp(1.0), e2 = std::exp(2.0), e3 = std::exp(3.0), z = e1 + e2 + e3;
  checkClose(s, {e1 / z, e2 / z, e3 / z, 1.0 / 3, 1.0 / 3, 1.0 / 3});
  for (int row = 0; row < 2; ++row)
    CHECK(s.at(row * 3) + s.at(row * 3 + 1) + s.at(row * 3 + 2) == doctest::Approx(1.0));
  Tensor columns = softmax(f32({2, 2}, {0, 5, 0, 5}), 0);
  checkClose(columns, {0.5, 0.5, 0.5, 0.5});
  Tensor l = logSoftmax(x, 1);
  checkClose(l, {1 - std::log(z), 2 - std::log(z), 3 - std::log(z), -std::log(3.0),
                 -std::log(3.0), -std::log(3.0)},
             1e-5);
  Tensor big = Tensor::fromVector<double>({3}, {-1e308, 0, 1e308});
  checkClose(softmax(big, 0), {0, 0, 1});
}

TEST_CASE("iota") {
  CHECK(values(iota(DType::I32, {2, 3}, 1)) == std::vector<double>{0, 1, 2, 0, 1, 2});
  CHECK(values(iota(DType::F32, {2, 3}, 0)) == std::vector<double>{0, 0, 0, 1, 1, 1});
  CHECK(iota(DType::I64, {0, 4}, 1).numel() == 0);
}

TEST_CASE("random draws follow runtime/Rng.h") {
  rt::Key stream = rt::streamKey(5, "dropout");
  Tensor key = Tensor::fromVector<int32_t>(
      {2}, {static_cast<int32_t>(stream[0]), static_cast<int32_t>(stream[1])});
  Tensor counter = Tensor::scalar(DType::I32, 3);
  Tensor u = randomUniform(key, counter, {2, 3}, DType::F32);
  std::vector<float> expected(6);
  rt::fillUniform(rt::drawKey(stream, 3), expected.data(), 6);
  CHECK(u.toVector<float>() == expected);
  Tensor wide = randomUniform(key, counter, {2, 3}, DType::F64);
  CHECK(wide.dtype() == DType::F64);
  CHECK(wide.toVector<float>() == expected);
  Tensor n = randomNormal(key, counter, {4}, DType::F32);
  std::vector<float> normal(4);
  rt::fillNormal(rt::drawKey(stream, 3), normal.data(), 4);
  CHECK(n.toVector<float>() == normal);
  CHECK(randomUniform(key, Tensor::scalar(DType::I32, 4), {2, 3}, DType::F32).toVector<float>() !=
        expected);
  CHECK(randomNormal(key, counter, {}, DType::F32).rank() == 0);
}
