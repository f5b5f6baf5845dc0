//===- AutodiffWindowTest.cpp - Finite-difference checks of conv and pools ===//
//
// nnx.conv's input and kernel gradients (themselves convolutions) against central
// differences, in f64, over the cases the VJP's index arithmetic distinguishes: 1-, 2- and
// 3-D, strides that leave input elements no window reads, kernel dilation, padding (also
// wider than the kernel's reach, which the input adjoint crops), feature groups (grouped and
// depthwise), and a batch of one. The pools likewise: pool_sum through its
// spread adjoint, pool_max/min with overlapping and strided windows; and the tie rule of
// max pooling (the first extremum of a window takes its whole adjoint; after a NaN, the next
// element: XLA's select_and_scatter) checked on exact values.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/AutodiffHarness.h"
#include "tests/unit/WindowShapes.h"

#include "interp/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <doctest/doctest.h>

#include <limits>
#include <string>
#include <vector>

using namespace nnx;
using namespace nnx::test;

namespace {

/// Checks conv(x, w) for x [N, S..., C], w [K..., C / groups, F], padded by low/high (none
/// when empty).
void checkConv(const Shape &x, const Shape &w, const std::vector<int64_t> &strides,
               const std::vector<int64_t> &dilation, int64_t groups, uint64_t seed,
               std::vector<int64_t> low = {}, std::vector<int64_t> high = {}) {
  ConvCase conv{x, w, strides, dilation, groups, low, high};
  Shape out = conv.out();
  INFO("x " << ty(x) << " w " << ty(w) << conv.attributes());
  checkOp({{"x", uniform(x, seed)}, {"k", uniform(w, seed + 1)}},
          "  %y = nnx.conv %x, %k" + conv.attributes() + " : " + ty(x) + ", " + ty(w) + " -> " +
              ty(out),
          out);
}

/// Checks pool_<kind>(x) for x [N, S..., C].
void checkPool(const std::string &kind, const Shape &x, const std::vector<int64_t> &window,
               const std::vector<int64_t> &strides, uint64_t seed) {
  Shape out{x[0]};
  for (size_t d = 0; d < window.size(); ++d)
    out.push_back(outExtent(x[d + 1], window[d], strides[d], 1));
  out.push_back(x.back());
  INFO(kind << " x " << ty(x) << " window " << ints(window) << " strides " << ints(strides));
  checkOp({{"x", uniform(x, seed)}},
          "  %y = nnx.pool_" + kind + " %x window " + ints(window) + " strides " + ints(strides) +
              " : " + ty(x) + " -> " + ty(out),
          out);
}

} // namespace

TEST_CASE("autodiff: conv in 1, 2 and 3 dimensions") {
  checkConv({2, 7, 3}, {3, 3, 4}, {1}, {1}, 1, 301);
  checkConv({2, 5, 6, 3}, {3, 2, 3, 4}, {1, 1}, {1, 1}, 1, 303);
  checkConv({1, 4, 3, 5, 2}, {2, 2, 3, 2, 3}, {1, 1, 2}, {1, 1, 1}, 1, 305);
}

TEST_CASE("autodiff: conv with strides that skip input elements, and kernel dilation") {
  checkConv({2, 8, 3}, {3, 3, 2}, {3}, {1}, 1, 311);       // the last 2 elements unread
  checkConv({1, 7, 9, 2}, {2, 3, 2, 3}, {2, 3}, {1, 1}, 1, 313);
  checkConv({2, 9, 2}, {3, 2, 3}, {1}, {3}, 1, 315);       // dilated, stride 1
  checkConv({1, 9, 8, 2}, {2, 2, 2, 2}, {2, 1}, {3, 2}, 1, 317);
}

TEST_CASE("autodiff: conv with padding, within and beyond the kernel's reach") {
  checkConv({2, 6, 3}, {3, 3, 4}, {1}, {1}, 1, 341, {1}, {1});           // SAME
  checkConv({1, 5, 6, 2}, {3, 2, 2, 3}, {2, 1}, {1, 1}, 1, 343, {2, 0}, {1, 1});
  checkConv({1, 4, 2}, {2, 2, 2}, {1}, {1}, 1, 345, {3}, {4});            // pad > reach: crop
  checkConv({2, 5, 5, 4}, {2, 3, 2, 4}, {2, 2}, {2, 1}, 2, 347, {0, 3}, {2, 0});
}

TEST_CASE("autodiff: conv with feature groups, grouped and depthwise") {
  checkConv({2, 6, 4}, {3, 2, 6}, {1}, {1}, 2, 321);           // 2 groups of 2 -> 3
  checkConv({1, 5, 5, 6}, {2, 2, 2, 6}, {2, 1}, {1, 2}, 3, 323);
  checkConv({2, 6, 6, 3}, {3, 3, 1, 6}, {1, 1}, {1, 1}, 3, 325); // depthwise, multiplier 2
}

TEST_CASE("autodiff: pool_sum, pool_max and pool_min, overlapping and strided") {
  for (const char *kind : {"sum", "max", "min"}) {
    checkPool(kind, {2, 7, 3}, {3}, {1}, 331);
    checkPool(kind, {2, 6, 5, 2}, {2, 2}, {2, 2}, 333);
    checkPool(kind, {1, 7, 6, 2}, {3, 2}, {2, 3}, 335);
    checkPool(kind, {1, 3, 4, 5, 2}, {2, 2, 3}, {1, 2, 1}, 337);
  }
}

TEST_CASE("autodiff: max pooling gives a tie's adjoint to the first extremum only, as JAX") {
  // x = [1, 1, 1, 3, 2, 2] pooled by windows of 2 at stride 1: the adjoints g = [1, 10, 100,
  // 1000, 10000] of the windows go to the first maximum of each: [1, 10, 0, 1100, 10000, 0].
  auto module = parse(R"(
func.func @f(%x: tensor<1x6x1xf64>, %g: tensor<1x5x1xf64>) -> tensor<f64>
    attributes {nnx.differentiate} {
  %y = nnx.pool_max %x window [2] strides [1] : tensor<1x6x1xf64> -> tensor<1x5x1xf64>
  %p = nnx.mul %y, %g : tensor<1x5x1xf64>
  %s = nnx.reduce_sum %p, axes = [0, 1, 2] : tensor<1x5x1xf64> -> tensor<f64>
  return %s : tensor<f64>
}
)");
  REQUIRE(runGradPass(*module));
  auto grad = module->lookupSymbol<mlir::func::FuncOp>("f_grad");
  REQUIRE(grad);
  std::vector<Tensor> results =
      interp::run(grad, {f64({1, 6, 1}, {1, 1, 1, 3, 2, 2}),
                         f64({1, 5, 1}, {1, 10, 100, 1000, 10000})});
  REQUIRE(results.size() >= 2);
  CHECK(results[1].toVector<double>() == std::vector<double>{1, 10, 0, 1100, 10000, 0});
  // With a NaN, jax.grad's choice (select_and_scatter's `ge` scan): x = [5, NaN, 1, 7, 2, 2]
  // sends [5, NaN]'s adjoint to the NaN and [NaN, 1]'s to the 1: [0, 1, 10, 1100, 10000, 0].
  double nan = std::numeric_limits<double>::quiet_NaN();
  results = interp::run(grad, {f64({1, 6, 1}, {5, nan, 1, 7, 2, 2}),
                               f64({1, 5, 1}, {1, 10, 100, 1000, 10000})});
  CHECK(results[1].toVector<double>() == std::vector<double>{0, 1, 10, 1100, 10000, 0});
}
