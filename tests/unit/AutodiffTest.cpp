//===- AutodiffTest.cpp - Finite-difference checks of nnx autodiff --------===//
//
// Every differentiable op is written as a small f64 function f(args) -> scalar marked
// `nnx.differentiate`; the nnx-grad pass adds f_grad, the interpreter runs it, and each float
// argument's gradient is compared with central differences of f (h = 1e-6): the relative
// error max|analytic - numeric| / max|numeric| must be at most 1e-6. Ops whose result is not
// a scalar are reduced as sum(y * w) with random weights w (also an argument, so its gradient,
// y itself, is checked too), which tests every element of the Jacobian rather than its column
// sums. Inputs stay away from kinks (relu and abs at 0) and from domain edges (log, sqrt).
//
// Beyond single ops: ties of max/min and reduce_max (JAX's even split), pow's guarded points,
// two composed models (an MLP with softmax cross-entropy, a layer-norm + attention block), and
// the buildGradients API itself: zeros for an unused value, the seed for the output itself,
// differentiation with respect to an intermediate value, no backward op off the path, and a
// diagnostic for an op without a rule.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/AutodiffHarness.h"

#include "interp/Interpreter.h"
#include "ir/Autodiff.h"
#include "ir/NNXDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

using namespace nnx;
using namespace nnx::test;


//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

TEST_CASE("autodiff: unary ops, matrices and scalars") {
  for (const Shape &shape : {Shape{2, 3}, Shape{}}) {
    for (const char *op : {"neg", "exp", "tanh", "sigmoid", "gelu", "sin", "cos"})
      checkUnary(op, uniform(shape, 11));
    for (const char *op : {"abs", "relu"})
      checkUnary(op, awayFromZero(shape, 12));
    for (const char *op : {"log", "sqrt", "rsqrt"})
      checkUnary(op, uniform(shape, 13, 0.2, 3.0));
  }
}

TEST_CASE("autodiff: add, sub, mul, div") {
  for (const Shape &shape : {Shape{3, 4}, Shape{}}) {
    for (const char *op : {"add", "sub", "mul"})
      checkBinary(op, uniform(shape, 21), uniform(shape, 22));
    checkBinary("div", uniform(shape, 23), awayFromZero(shape, 24, 0.5, 2.0));
  }
  // One value used as both operands: the two contributions add up.
  Tensor a = awayFromZero({2, 3}, 25, 0.5, 2.0);
  for (const char *op : {"add", "mul", "div", "sub"})
    checkOp({{"a", a}}, std::string("  %y = nnx.") + op + " %a, %a : " + ty(a), a.shape());
}

TEST_CASE("autodiff: pow, including JAX's guarded points") {
  checkBinary("pow", uniform({3, 4}, 31, 0.5, 2.0), uniform({3, 4}, 32, -2.0, 2.0));
  // Base 0 with exponents 2 and 3 (both derivatives 0), exponent 0 (d/d base is 0).
  Tensor base = f64({2, 3}, {0.0, 0.0, 1.5, 0.7, 2.0, 1.2});
  Tensor exponent = f64({2, 3}, {2.0, 3.0, 0.0, 1.3, -0.5, 2.5});
  checkBinary("pow", base, exponent);
}

TEST_CASE("autodiff: max and min, with ties split evenly") {
  Tensor a = uniform({3, 4}, 41), b = uniform({3, 4}, 42);
  for (int64_t j : {0, 5, 11})
    b.set(j, a.at(j)); // central differences of max(x, x) give 1/2, as lax.max's JVP
  for (const char *op : {"max", "min"})
    checkBinary(op, a, b);
  checkBinary("max", uniform({}, 43), uniform({}, 44));
}

TEST_CASE("autodiff: erf, rem, and floor (no gradient)") {
  for (const Shape &shape : {Shape{2, 3}, Shape{}})
    checkUnary("erf", uniform(shape, 61));
  // rem away from its jumps (a / b not near an integer).
  Tensor a = f64({2, 3}, {5.3, -5.3, 2.2, -0.7, 7.9, -3.1});
  Tensor b = f64({2, 3}, {2.0, 2.0, -1.5, 0.4, -2.5, 1.2});
  checkBinary("rem", a, b);
  checkOp({{"a", uniform({2, 3}, 62)}},
          "  %f = nnx.floor %a : " + ty(Shape{2, 3}) + "\n  %y = nnx.add %f, %a : " +
              ty(Shape{2, 3}),
          {2, 3});
}

TEST_CASE("autodiff: gather, repeated and clamped indices accumulate") {
  Tensor idx = Tensor::fromVector<int32_t>({2, 2}, {2, 0, 2, 9}); // 9 clamps to 2
  for (int64_t axis : {0, 1}) {
    Shape in = axis == 0 ? Shape{3, 4} : Shape{4, 3};
    Shape out = axis == 0 ? Shape{2, 2, 4} : Shape{4, 2, 2};
    checkOp({{"a", uniform(in, 63)}, {"i", idx}},
            "  %y = nnx.gather %a[%i] axis = " + std::to_string(axis) + " : " + ty(in) + ", " +
                ty(idx) + " -> " + ty(out),
            out);
  }
}

TEST_CASE("autodiff: gather with batch_dims, one index per row (a select) and several (a matmul)") {
  // take_along_axis's form: a [3, 4] picks one element per row, 7 clamps to 3.
  checkOp({{"a", uniform({3, 4}, 64)},
           {"i", Tensor::fromVector<int32_t>({3, 1}, {2, 7, 2})}},
          "  %y = nnx.gather %a[%i] axis = 1 batch_dims = 1 : " + ty(Shape{3, 4}) +
              ", tensor<3x1xi32> -> " + ty(Shape{3, 1}),
          {3, 1});
  // Pre- and post-axis dims around the batch: a [2, 3, 4, 2], indices [2, 3] (repeated,
  // clamped): the result is [2, 3, 3, 2], the VJP a batched matmul.
  checkOp({{"a", uniform({2, 3, 4, 2}, 65)},
           {"i", Tensor::fromVector<int32_t>({2, 3}, {1, 1, -4, 3, 0, 3})}},
          "  %y = nnx.gather %a[%i] axis = 2 batch_dims = 1 : " + ty(Shape{2, 3, 4, 2}) +
              ", tensor<2x3xi32> -> " + ty(Shape{2, 3, 3, 2}),
          {2, 3, 3, 2});
  // One index, no batch dims (x[k]): a select too.
  checkOp({{"a", uniform({4, 3}, 66)}, {"i", Tensor::fromVector<int32_t>({1}, {2})}},
          "  %y = nnx.gather %a[%i] axis = 0 : " + ty(Shape{4, 3}) + ", tensor<1xi32> -> " +
              ty(Shape{1, 3}),
          {1, 3});
}

TEST_CASE("autodiff: select routes the adjoint to the chosen branch") {
  Tensor cond = Tensor::fromVector<bool>({2, 3}, {true, false, false, true, true, false});
  checkOp({{"c", cond}, {"a", uniform({2, 3}, 51)}, {"b", uniform({2, 3}, 52)}},
          "  %y = nnx.select %c, %a, %b : " + ty({2, 3}), {2, 3});
}

TEST_CASE("autodiff: convert passes float gradients only") {
  // sum(w * f64(f32(x))) + sum(w * f64(i32(x))): d/dx is w rounded to f32; the integer path
  // passes nothing.
  std::string text = R"(
func.func @f(%x: tensor<3xf64>, %w: tensor<3xf64>) -> tensor<f64> attributes {nnx.differentiate} {
  %0 = nnx.convert %x : tensor<3xf64> -> tensor<3xf32>
  %1 = nnx.convert %0 : tensor<3xf32> -> tensor<3xf64>
  %2 = nnx.convert %x : tensor<3xf64> -> tensor<3xi32>
  %3 = nnx.convert %2 : tensor<3xi32> -> tensor<3xf64>
  %4 = nnx.add %1, %3 : tensor<3xf64>
  %5 = nnx.mul %4, %w : tensor<3xf64>
  %6 = nnx.reduce_sum %5, axes = [0] : tensor<3xf64> -> tensor<f64>
  return %6 : tensor<f64>
})";
  auto module = parse(text);
  REQUIRE(runGradPass(*module));
  Tensor x = f64({3}, {0.1, 2.7, -1.3}), w = f64({3}, {1.0 / 3.0, -0.7, 2.0});
  std::vector<Tensor> out =
      interp::run(module->lookupSymbol<mlir::func::FuncOp>("f_grad"), {x, w});
  for (int64_t i = 0; i < 3; ++i) {
    CHECK(out[1].at(i) == static_cast<double>(static_cast<float>(w.at(i))));
    CHECK(out[2].at(i) ==
          static_cast<double>(static_cast<float>(x.at(i))) + std::trunc(x.at(i)));
  }
}

//===----------------------------------------------------------------------===//
// Broadcast and reductions
//===----------------------------------------------------------------------===//

TEST_CASE("autodiff: broadcast_in_dim, added and repeated dimensions") {
  struct Case {
    Shape from;
    std::string dims;
    Shape to;
  };
  const std::vector<Case> cases = {
      {{3}, "[1]", {2, 3}},         {{2, 1}, "[0, 1]", {2, 4}}, {{1, 3}, "[1, 2]", {4, 2, 3}},
      {{}, "[]", {2, 3}},           {{3, 1}, "[0, 1]", {3, 1, 2}}, {{2}, "[2]", {2, 3, 2}},
      {{1, 1}, "[0, 2]", {3, 2, 4}}};
  for (const Case &c : cases) {
    Tensor a = uniform(c.from, 61);
    checkOp({{"a", a}},
            "  %b = nnx.broadcast_in_dim %a, dims = " + c.dims + " : " + ty(a) + " -> " +
                ty(c.to) + "\n  %y = nnx.tanh %b : " + ty(c.to),
            c.to);
  }
}

TEST_CASE("autodiff: reduce_sum over several axes") {
  Tensor a = uniform({2, 3, 4}, 71);
  const std::vector<std::pair<std::string, Shape>> cases = {
      {"[0, 2]", {3}}, {"[1]", {2, 4}}, {"[]", {2, 3, 4}}, {"[0, 1, 2]", {}}, {"[2]", {2, 3}}};
  for (const auto &[axes, to] : cases)
    checkOp({{"a", a}},
            "  %s = nnx.reduce_sum %a, axes = " + axes + " : " + ty(a) + " -> " + ty(to) +
                "\n  %y = nnx.sin %s : " + ty(to),
            to);
  Tensor s = uniform({}, 72);
  checkOp({{"a", s}}, "  %y = nnx.reduce_sum %a, axes = [] : tensor<f64> -> tensor<f64>", {});
}

TEST_CASE("autodiff: reduce_max and reduce_min") {
  Tensor a = uniform({2, 3, 4}, 81);
  const std::vector<std::pair<std::string, Shape>> cases = {
      {"[1]", {2, 4}}, {"[0, 2]", {3}}, {"[0, 1, 2]", {}}};
  for (const char *op : {"reduce_max", "reduce_min"})
    for (const auto &[axes, to] : cases)
      checkOp({{"a", a}},
              std::string("  %y = nnx.") + op + " %a, axes = " + axes + " : " + ty(a) + " -> " +
                  ty(to),
              to);
  // A tie of two: central differences give 1/2 to each, as JAX's rule does.
  Tensor tie = f64({2, 3}, {0.5, 1.5, 1.5, -1.0, -2.0, -1.0});
  for (const char *op : {"reduce_max", "reduce_min"})
    checkOp({{"a", tie}},
            std::string("  %y = nnx.") + op + " %a, axes = [1] : " + ty(tie) + " -> " + ty({2}),
            {2});
}

TEST_CASE("autodiff: reduce_max splits among three tied elements") {
  std::string text = R"(
func.func @f(%x: tensor<1x4xf64>) -> tensor<f64> attributes {nnx.differentiate} {
  %0 = nnx.reduce_max %x, axes = [1] : tensor<1x4xf64> -> tensor<1xf64>
  %1 = nnx.reduce_sum %0, axes = [0] : tensor<1xf64> -> tensor<f64>
  return %1 : tensor<f64>
})";
  auto module = parse(text);
  REQUIRE(runGradPass(*module));
  std::vector<Tensor> out = interp::run(module->lookupSymbol<mlir::func::FuncOp>("f_grad"),
                                        {f64({1, 4}, {2.0, 1.0, 2.0, 2.0})});
  CHECK(out[1].toVector<double>() == std::vector<double>{1.0 / 3.0, 0.0, 1.0 / 3.0, 1.0 / 3.0});
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

TEST_CASE("autodiff: reshape and transpose") {
  Tensor a = uniform({2, 3, 4}, 91);
  for (const Shape &to : {Shape{6, 4}, Shape{24}, Shape{4, 1, 6}})
    checkOp({{"a", a}},
            "  %r = nnx.reshape %a : " + ty(a) + " -> " + ty(to) + "\n  %y = nnx.exp %r : " +
                ty(to),
            to);
  checkOp({{"a", a}}, "  %y = nnx.transpose %a, perm = [2, 0, 1] : " + ty(a) + " -> " +
                          ty({4, 2, 3}), {4, 2, 3});
  Tensor m = uniform({3, 5}, 92);
  checkOp({{"a", m}}, "  %y = nnx.transpose %a, perm = [1, 0] : " + ty(m) + " -> " + ty({5, 3}),
          {5, 3});
}

TEST_CASE("autodiff: concat along either axis, an operand twice") {
  // The generic op syntax: the custom form `nnx.concat %a, %b, axis = 0` does not parse back.
  Tensor a = uniform({2, 3}, 101), b = uniform({2, 1}, 102), c = uniform({2, 2}, 103);
  checkOp({{"a", a}, {"b", b}, {"c", c}},
          "  %y = \"nnx.concat\"(%a, %b, %c) {axis = 1 : i64} : (" + ty(a) + ", " + ty(b) +
              ", " + ty(c) + ") -> " + ty({2, 6}),
          {2, 6});
  Tensor d = uniform({1, 3}, 104);
  checkOp({{"a", a}, {"d", d}},
          "  %e = nnx.exp %d : " + ty(d) +
              "\n  %y = \"nnx.concat\"(%a, %e, %a) {axis = 0 : i64} : (" + ty(a) + ", " +
              ty(d) + ", " + ty(a) + ") -> " + ty({5, 3}),
          {5, 3});
}

TEST_CASE("autodiff: slice with strides, and pad") {
  Tensor a = uniform({5, 6}, 111);
  const std::vector<std::pair<std::string, Shape>> cases = {
      {"[[1, 0] : [5, 6] : [2, 3]]", {2, 2}}, {"[[0, 1] : [5, 4] : [1, 1]]", {5, 3}},
      {"[[4, 5] : [5, 6] : [1, 1]]", {1, 1}}, {"[[0, 0] : [5, 6] : [4, 5]]", {2, 2}},
      {"[[2, 0] : [2, 6] : [1, 1]]", {0, 6}}};
  for (const auto &[bounds, to] : cases)
    checkOp({{"a", a}},
            "  %s = nnx.slice %a" + bounds + " : " + ty(a) + " -> " + ty(to) +
                "\n  %y = nnx.sigmoid %s : " + ty(to),
            to);
  Tensor cube = uniform({3, 4, 5}, 112);
  checkOp({{"a", cube}},
          "  %y = nnx.slice %a[[1, 0, 2] : [3, 4, 5] : [1, 2, 2]] : " + ty(cube) + " -> " +
              ty({2, 2, 2}),
          {2, 2, 2});
  Tensor m = uniform({2, 3}, 113);
  checkOp({{"a", m}},
          "  %p = nnx.pad %a low [1, 0] high [0, 2] interior [1, 2] : " + ty(m) + " -> " +
              ty({4, 9}) + "\n  %y = nnx.cos %p : " + ty({4, 9}),
          {4, 9});
}

//===----------------------------------------------------------------------===//
// Matmul, softmax
//===----------------------------------------------------------------------===//

TEST_CASE("autodiff: matmul, plain, shared and batched right operands") {
  const std::vector<std::tuple<Shape, Shape, Shape>> cases = {
      {{2, 3}, {3, 4}, {2, 4}},          {{1, 3}, {3, 1}, {1, 1}},
      {{2, 2, 3}, {3, 4}, {2, 2, 4}},    {{2, 2, 3}, {2, 3, 4}, {2, 2, 4}},
      {{2, 2, 2, 3}, {3, 2}, {2, 2, 2, 2}}, {{2, 2, 2, 3}, {2, 2, 3, 2}, {2, 2, 2, 2}}};
  uint64_t seed = 121;
  for (const auto &[lhs, rhs, out] : cases) {
    Tensor a = uniform(lhs, seed++), b = uniform(rhs, seed++);
    checkOp({{"a", a}, {"b", b}},
            "  %y = nnx.matmul %a, %b : " + ty(a) + ", " + ty(b) + " -> " + ty(out), out);
  }
}

TEST_CASE("autodiff: softmax and log_softmax along the first and the last axis") {
  for (const char *op : {"softmax", "log_softmax"}) {
    Tensor m = uniform({3, 4}, 131);
    for (int axis : {0, 1})
      checkOp({{"a", m}},
              std::string("  %y = nnx.") + op + " %a, axis = " + std::to_string(axis) + " : " +
                  ty(m),
              m.shape());
    Tensor cube = uniform({2, 3, 4}, 132), row = uniform({5}, 133);
    for (int axis : {1, 2})
      checkOp({{"a", cube}},
              std::string("  %y = nnx.") + op + " %a, axis = " + std::to_string(axis) + " : " +
                  ty(cube),
              cube.shape());
    checkOp({{"a", row}}, std::string("  %y = nnx.") + op + " %a, axis = 0 : " + ty(row),
            row.shape());
  }
}

//===----------------------------------------------------------------------===//
// Composed models
//===----------------------------------------------------------------------===//

namespace {

/// relu(x @ W1 + b1) @ W2 + b2 with the mean softmax cross-entropy against integer labels
/// (one-hot by iota, cmp and convert); `logProbs` is how the log-probabilities are taken.
std::string mlpLoss(const std::string &logProbs) {
  return R"(
func.func @f(%x: tensor<4x5xf64>, %w1: tensor<5x6xf64>, %b1: tensor<6xf64>,
             %w2: tensor<6x3xf64>, %b2: tensor<3xf64>, %labels: tensor<4xi32>) -> tensor<f64>
    attributes {nnx.differentiate} {
  %0 = nnx.matmul %x, %w1 : tensor<4x5xf64>, tensor<5x6xf64> -> tensor<4x6xf64>
  %1 = nnx.broadcast_in_dim %b1, dims = [1] : tensor<6xf64> -> tensor<4x6xf64>
  %2 = nnx.add %0, %1 : tensor<4x6xf64>
  %h = nnx.relu %2 : tensor<4x6xf64>
  %3 = nnx.matmul %h, %w2 : tensor<4x6xf64>, tensor<6x3xf64> -> tensor<4x3xf64>
  %4 = nnx.broadcast_in_dim %b2, dims = [1] : tensor<3xf64> -> tensor<4x3xf64>
  %logits = nnx.add %3, %4 : tensor<4x3xf64>
)" + logProbs + R"(
  %classes = nnx.iota dim = 1 : tensor<4x3xi32>
  %lb = nnx.broadcast_in_dim %labels, dims = [0] : tensor<4xi32> -> tensor<4x3xi32>
  %hit = nnx.cmp eq, %classes, %lb : tensor<4x3xi32>
  %onehot = nnx.convert %hit : tensor<4x3xi1> -> tensor<4x3xf64>
  %5 = nnx.mul %onehot, %logp : tensor<4x3xf64>
  %6 = nnx.reduce_sum %5, axes = [0, 1] : tensor<4x3xf64> -> tensor<f64>
  %scale = nnx.constant dense<-2.500000e-01> : tensor<f64>
  %loss = nnx.mul %6, %scale : tensor<f64>
  return %loss : tensor<f64>
})";
}

} // namespace

TEST_CASE("autodiff: MLP with softmax cross-entropy, every parameter") {
  std::vector<Tensor> args = {uniform({4, 5}, 201, -1.0, 1.0), uniform({5, 6}, 202, -1.0, 1.0),
                              uniform({6}, 203, -0.5, 0.5), uniform({6, 3}, 204, -1.0, 1.0),
                              uniform({3}, 205, -0.5, 0.5),
                              Tensor::fromVector<int32_t>({4}, {2, 0, 1, 2})};
  SUBCASE("log_softmax") {
    checkGradients(mlpLoss("  %logp = nnx.log_softmax %logits, axis = 1 : tensor<4x3xf64>"),
                   args);
  }
  SUBCASE("log of softmax") {
    checkGradients(mlpLoss("  %p = nnx.softmax %logits, axis = 1 : tensor<4x3xf64>\n"
                           "  %logp = nnx.log %p : tensor<4x3xf64>"),
                   args);
  }
}

TEST_CASE("autodiff: layer norm, attention, gelu and a strided head") {
  std::string text = R"(
func.func @f(%x: tensor<2x3x4xf64>, %gamma: tensor<4xf64>, %beta: tensor<4xf64>,
             %wq: tensor<4x4xf64>, %wk: tensor<4x4xf64>, %wv: tensor<4x4xf64>,
             %w: tensor<6x4xf64>) -> tensor<f64> attributes {nnx.differentiate} {
  %quarter = nnx.constant dense<2.500000e-01> : tensor<2x3xf64>
  %eps = nnx.constant dense<1.000000e-05> : tensor<2x3xf64>
  %s = nnx.reduce_sum %x, axes = [2] : tensor<2x3x4xf64> -> tensor<2x3xf64>
  %mean = nnx.mul %s, %quarter : tensor<2x3xf64>
  %mb = nnx.broadcast_in_dim %mean, dims = [0, 1] : tensor<2x3xf64> -> tensor<2x3x4xf64>
  %c = nnx.sub %x, %mb : tensor<2x3x4xf64>
  %c2 = nnx.mul %c, %c : tensor<2x3x4xf64>
  %vs = nnx.reduce_sum %c2, axes = [2] : tensor<2x3x4xf64> -> tensor<2x3xf64>
  %var = nnx.mul %vs, %quarter : tensor<2x3xf64>
  %ve = nnx.add %var, %eps : tensor<2x3xf64>
  %inv = nnx.rsqrt %ve : tensor<2x3xf64>
  %ib = nnx.broadcast_in_dim %inv, dims = [0, 1] : tensor<2x3xf64> -> tensor<2x3x4xf64>
  %n = nnx.mul %c, %ib : tensor<2x3x4xf64>
  %gb = nnx.broadcast_in_dim %gamma, dims = [2] : tensor<4xf64> -> tensor<2x3x4xf64>
  %bb = nnx.broadcast_in_dim %beta, dims = [2] : tensor<4xf64> -> tensor<2x3x4xf64>
  %n1 = nnx.mul %n, %gb : tensor<2x3x4xf64>
  %n2 = nnx.add %n1, %bb : tensor<2x3x4xf64>
  %q = nnx.matmul %n2, %wq : tensor<2x3x4xf64>, tensor<4x4xf64> -> tensor<2x3x4xf64>
  %k = nnx.matmul %n2, %wk : tensor<2x3x4xf64>, tensor<4x4xf64> -> tensor<2x3x4xf64>
  %v = nnx.matmul %n2, %wv : tensor<2x3x4xf64>, tensor<4x4xf64> -> tensor<2x3x4xf64>
  %kt = nnx.transpose %k, perm = [0, 2, 1] : tensor<2x3x4xf64> -> tensor<2x4x3xf64>
  %scores = nnx.matmul %q, %kt : tensor<2x3x4xf64>, tensor<2x4x3xf64> -> tensor<2x3x3xf64>
  %p = nnx.softmax %scores, axis = 2 : tensor<2x3x3xf64>
  %o = nnx.matmul %p, %v : tensor<2x3x3xf64>, tensor<2x3x4xf64> -> tensor<2x3x4xf64>
  %g = nnx.gelu %o : tensor<2x3x4xf64>
  %lo = nnx.slice %g[[0, 0, 0] : [2, 3, 2] : [1, 1, 1]] : tensor<2x3x4xf64> -> tensor<2x3x2xf64>
  %odd = nnx.slice %g[[0, 0, 1] : [2, 3, 4] : [1, 1, 2]] : tensor<2x3x4xf64> -> tensor<2x3x2xf64>
  %t = nnx.tanh %odd : tensor<2x3x2xf64>
  %cat = "nnx.concat"(%lo, %t) {axis = 2 : i64}
      : (tensor<2x3x2xf64>, tensor<2x3x2xf64>) -> tensor<2x3x4xf64>
  %r = nnx.reshape %cat : tensor<2x3x4xf64> -> tensor<6x4xf64>
  %wr = nnx.mul %r, %w : tensor<6x4xf64>
  %top = nnx.reduce_max %r, axes = [0] : tensor<6x4xf64> -> tensor<4xf64>
  %a = nnx.reduce_sum %wr, axes = [0, 1] : tensor<6x4xf64> -> tensor<f64>
  %b = nnx.reduce_sum %top, axes = [0] : tensor<4xf64> -> tensor<f64>
  %loss = nnx.add %a, %b : tensor<f64>
  return %loss : tensor<f64>
})";
  checkGradients(text, {uniform({2, 3, 4}, 211), uniform({4}, 212, 0.5, 1.5),
                        uniform({4}, 213, -0.5, 0.5), uniform({4, 4}, 214, -1.0, 1.0),
                        uniform({4, 4}, 215, -1.0, 1.0), uniform({4, 4}, 216, -1.0, 1.0),
                        awayFromZero({6, 4}, 217, 0.5, 1.5)});
}

//===----------------------------------------------------------------------===//
// The buildGradients API
//===----------------------------------------------------------------------===//

namespace {

/// Calls buildGradients on the body of `func` (seeded with `seed`) for the values `wrt`, and
/// makes the function return (value, gradients...). Returns the number of ops it emitted, or
/// -1 when it failed.
int64_t appendGradients(mlir::func::FuncOp func, llvm::ArrayRef<mlir::Value> wrt, double seed) {
  mlir::Block &body = func.getBody().front();
  mlir::Operation *ret = body.getTerminator();
  llvm::SmallVector<mlir::Operation *> forward;
  for (mlir::Operation &op : body.without_terminator())
    forward.push_back(&op);
  mlir::Value output = ret->getOperand(0);
  mlir::OpBuilder builder(ret);
  auto outputType = llvm::cast<mlir::RankedTensorType>(output.getType());
  auto seedAttr = mlir::DenseElementsAttr::get(
      outputType, builder.getFloatAttr(outputType.getElementType(), seed));
  mlir::Value seedValue =
      builder.create<ir::ConstantOp>(func.getLoc(), llvm::cast<mlir::ElementsAttr>(seedAttr));
  size_t before = body.getOperations().size();
  auto grads = ir::buildGradients(builder, forward, output, seedValue, wrt);
  if (mlir::failed(grads))
    return -1;
  int64_t emitted = static_cast<int64_t>(body.getOperations().size() - before);
  llvm::SmallVector<mlir::Value> results{output};
  results.append(grads->begin(), grads->end());
  builder.create<mlir::func::ReturnOp>(ret->getLoc(), results);
  ret->erase();
  func.setType(builder.getFunctionType(func.getArgumentTypes(),
                                       mlir::ValueRange(results).getTypes()));
  return emitted;
}

} // namespace

TEST_CASE("autodiff API: unused values get zeros, the output itself gets the seed") {
  auto module = parse(R"(
func.func @f(%x: tensor<2xf64>, %c: tensor<3xf64>, %n: tensor<2xi32>) -> tensor<f64> {
  %0 = nnx.exp %c : tensor<3xf64>
  %1 = nnx.mul %x, %x : tensor<2xf64>
  %2 = nnx.reduce_sum %1, axes = [0] : tensor<2xf64> -> tensor<f64>
  return %2 : tensor<f64>
})");
  auto f = module->lookupSymbol<mlir::func::FuncOp>("f");
  mlir::Value output = f.getBody().front().getTerminator()->getOperand(0);
  REQUIRE(appendGradients(f, {f.getArgument(0), f.getArgument(1), f.getArgument(2), output},
                          3.0) >= 0);
  REQUIRE(mlir::succeeded(mlir::verify(f)));
  std::vector<Tensor> out = interp::run(f, {f64({2}, {0.5, -2.0}), uniform({3}, 301),
                                            Tensor::fromVector<int32_t>({2}, {1, 2})});
  CHECK(out[1].toVector<double>() == std::vector<double>{3.0, -12.0}); // 3 * 2x
  CHECK(out[2].toVector<double>() == std::vector<double>{0.0, 0.0, 0.0});
  CHECK(out[3].dtype() == DType::I32);
  CHECK(out[3].toVector<int32_t>() == std::vector<int32_t>{0, 0});
  CHECK(out[4].at(0) == 3.0);
}

TEST_CASE("autodiff API: differentiation with respect to an intermediate value") {
  auto module = parse(R"(
func.func @f(%x: tensor<2xf64>) -> tensor<f64> {
  %y = nnx.exp %x : tensor<2xf64>
  %z = nnx.mul %y, %y : tensor<2xf64>
  %s = nnx.reduce_sum %z, axes = [0] : tensor<2xf64> -> tensor<f64>
  return %s : tensor<f64>
})");
  auto f = module->lookupSymbol<mlir::func::FuncOp>("f");
  mlir::Value y = f.getBody().front().front().getResult(0);
  REQUIRE(appendGradients(f, {y, f.getArgument(0)}, 1.0) >= 0);
  std::vector<Tensor> out = interp::run(f, {f64({2}, {0.25, -1.0})});
  for (int64_t i = 0; i < 2; ++i) {
    double e = std::exp(i == 0 ? 0.25 : -1.0);
    CHECK(out[1].at(i) == doctest::Approx(2 * e).epsilon(1e-15));     // d/dy y^2
    CHECK(out[2].at(i) == doctest::Approx(2 * e * e).epsilon(1e-15)); // d/dx e^2x
  }
}

TEST_CASE("autodiff API: no backward op off the path from the inputs to the output") {
  // d/dx sum(x * exp(c)) needs the seed broadcast and one product: nothing for %c's branch,
  // nor for the constant-only branch.
  auto module = parse(R"(
func.func @f(%x: tensor<3xf64>, %c: tensor<3xf64>) -> tensor<f64> {
  %0 = nnx.exp %c : tensor<3xf64>
  %1 = nnx.mul %x, %0 : tensor<3xf64>
  %2 = nnx.tanh %c : tensor<3xf64>
  %3 = nnx.add %1, %2 : tensor<3xf64>
  %4 = nnx.reduce_sum %3, axes = [0] : tensor<3xf64> -> tensor<f64>
  return %4 : tensor<f64>
})");
  auto f = module->lookupSymbol<mlir::func::FuncOp>("f");
  CHECK(appendGradients(f, {f.getArgument(0)}, 1.0) == 2);
  std::vector<Tensor> out = interp::run(f, {uniform({3}, 311), f64({3}, {0.0, 1.0, -1.0})});
  CHECK(out[1].toVector<double>() == std::vector<double>{1.0, std::exp(1.0), std::exp(-1.0)});
}

TEST_CASE("autodiff API: an op without a derivative rule is a diagnostic, not a crash") {
  auto module = parse(R"(
func.func private @opaque(tensor<3xf64>) -> tensor<f64>
func.func @f(%x: tensor<3xf64>) -> tensor<f64> {
  %0 = nnx.exp %x : tensor<3xf64>
  %1 = func.call @opaque(%0) : (tensor<3xf64>) -> tensor<f64>
  return %1 : tensor<f64>
})");
  std::string message;
  mlir::ScopedDiagnosticHandler handler(&context(), [&](mlir::Diagnostic &diag) {
    message = diag.str();
    return mlir::success();
  });
  auto f = module->lookupSymbol<mlir::func::FuncOp>("f");
  CHECK(appendGradients(f, {f.getArgument(0)}, 1.0) == -1);
  CHECK(message == "autodiff: no derivative rule for 'func.call'");
}

TEST_CASE("nnx-grad: a first result that is not a float scalar is an error") {
  auto module = parse(R"(
func.func @f(%x: tensor<3xf64>) -> tensor<3xf64> attributes {nnx.differentiate} {
  %0 = nnx.exp %x : tensor<3xf64>
  return %0 : tensor<3xf64>
}
func.func @g(%x: tensor<3xf64>) -> tensor<i32> attributes {nnx.differentiate} {
  %0 = nnx.convert %x : tensor<3xf64> -> tensor<3xi32>
  %1 = nnx.reduce_sum %0, axes = [0] : tensor<3xi32> -> tensor<i32>
  return %1 : tensor<i32>
})");
  std::vector<std::string> messages;
  mlir::ScopedDiagnosticHandler handler(&context(), [&](mlir::Diagnostic &diag) {
    messages.push_back(diag.str());
    return mlir::success();
  });
  CHECK_FALSE(runGradPass(*module));
  REQUIRE(messages.size() == 2);
  CHECK(messages[0] == "nnx.differentiate needs a float scalar (rank-0 tensor) first result");
  CHECK_FALSE(module->lookupSymbol("f_grad"));
}
