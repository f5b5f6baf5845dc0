//===- WindowCodegenTest.cpp - The JIT's convolutions and pools -----------===//
//
// nnx.conv and the pools through every road of the CPU JIT, against the interpreter, at odd
// and prime sizes: single-group convolutions in 1-3 D through nnx-conv-to-gemm (im2col and
// the GEMM kernel) and, when too thin for it, as direct named convolutions; depthwise
// convolutions (named), grouped ones and four spatial axes (generics); the pools in 1-4 D,
// with integer dtypes and NaN. Float sums compare norm-wise (the GEMM sums with FMA); max and
// min exactly.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/CodegenTestSupport.h"
#include "tests/unit/WindowShapes.h"

using namespace nnx;
using namespace nnx::codegentest;
using nnx::test::ConvCase;
using nnx::test::ints;
using nnx::test::outExtent;

namespace {

/// conv(x, w) compiled and interpreted, for x [N, S..., C], w [K..., C / groups, F], padded
/// by low/high (none when empty).
void checkConv(DType dtype, const Shape &x, const Shape &w, const std::vector<int64_t> &strides,
               const std::vector<int64_t> &dilation, int64_t groups, uint64_t seed,
               std::vector<int64_t> low = {}, std::vector<int64_t> high = {}) {
  ConvCase conv{x, w, strides, dilation, groups, low, high};
  std::string a = ty(dtype, x), b = ty(dtype, w), r = ty(dtype, conv.out());
  std::string body = "%r = nnx.conv %a, %b" + conv.attributes() + " : " + a + ", " + b +
                     " -> " + r;
  checkAgainstInterpreter(makeFunction({a, b}, body, r),
                          {sample(dtype, x, seed), sample(dtype, w, seed + 1)});
}

/// pool_<kind>(x) compiled and interpreted.
void checkPool(const std::string &kind, DType dtype, const Tensor &x,
               const std::vector<int64_t> &window, const std::vector<int64_t> &strides) {
  Shape out{x.shape()[0]};
  for (size_t d = 0; d < window.size(); ++d)
    out.push_back(outExtent(x.shape()[d + 1], window[d], strides[d], 1));
  out.push_back(x.shape().back());
  std::string a = ty(dtype, x.shape()), r = ty(dtype, out);
  std::string body = "%r = nnx.pool_" + kind + " %a window " + ints(window) + " strides " +
                     ints(strides) + " : " + a + " -> " + r;
  checkAgainstInterpreter(makeFunction({a}, body, r), {x}, /*exact=*/kind != "sum");
}

} // namespace

TEST_CASE("codegen: single-group convolutions through im2col and the GEMM, 1-3 D") {
  for (DType dtype : {DType::F32, DType::F64}) {
    checkConv(dtype, {3, 17, 5}, {3, 5, 10}, {1}, {1}, 1, 501);
    checkConv(dtype, {2, 13, 11, 3}, {3, 3, 3, 17}, {2, 1}, {1, 2}, 1, 503);
    checkConv(dtype, {1, 5, 7, 6, 2}, {2, 3, 2, 2, 9}, {1, 2, 1}, {2, 1, 1}, 1, 505);
    checkConv(dtype, {32, 8, 8, 16}, {3, 3, 16, 32}, {1, 1}, {1, 1}, 1, 507, {1, 1},
              {1, 1}); // the CNN's, SAME
    checkConv(dtype, {2, 7, 6, 3}, {3, 2, 3, 9}, {2, 1}, {1, 2}, 1, 509, {2, 0}, {1, 3});
  }
}

TEST_CASE("codegen: thin, depthwise, grouped and 4-D convolutions") {
  for (DType dtype : {DType::F32, DType::F64}) {
    checkConv(dtype, {2, 9, 7, 3}, {3, 3, 3, 5}, {1, 2}, {1, 1}, 1, 511);   // F < 8: direct
    checkConv(dtype, {1, 11, 2}, {3, 2, 1}, {1}, {3}, 1, 513);              // depth 6 < 8
    checkConv(dtype, {2, 7, 9, 3}, {3, 2, 1, 6}, {2, 1}, {1, 1}, 3, 515, {1, 1}, {1, 0});
    checkConv(dtype, {2, 10, 3}, {3, 1, 3}, {1}, {2}, 3, 517);              // depthwise 1-D
    checkConv(dtype, {1, 5, 4, 3, 2}, {2, 2, 2, 1, 4}, {1, 1, 1}, {1, 1, 1}, 2, 519);
    checkConv(dtype, {2, 9, 6}, {2, 3, 8}, {2}, {1}, 2, 521);               // 2 groups of 3
    checkConv(dtype, {1, 7, 8, 4}, {3, 3, 2, 6}, {1, 2}, {2, 1}, 2, 523);
    checkConv(dtype, {1, 4, 3, 3, 4, 2}, {2, 2, 1, 2, 2, 3}, {1, 1, 1, 2}, {1, 1, 2, 1}, 1, 525);
  }
}

TEST_CASE("codegen: sum, max and min pools in 1-4 D, every numeric dtype") {
  for (const char *kind : {"sum", "max", "min"})
    for (DType dtype : {DType::F32, DType::F64, DType::I32, DType::I64}) {
      checkPool(kind, dtype, sample(dtype, {3, 17, 5}, 531), {3}, {2});
      checkPool(kind, dtype, sample(dtype, {2, 9, 10, 3}, 533), {2, 3}, {2, 3});
      checkPool(kind, dtype, sample(dtype, {1, 5, 4, 7, 2}, 535), {2, 2, 3}, {1, 2, 2});
      checkPool(kind, dtype, sample(dtype, {1, 3, 4, 5, 3, 2}, 537), {2, 2, 2, 2}, {1, 1, 2, 1});
    }
}

TEST_CASE("codegen: max and min pools propagate NaN and infinities") {
  for (const char *kind : {"max", "min"})
    checkPool(kind, DType::F32, sample(DType::F32, {2, 8, 7, 3}, 541, /*specials=*/true), {2, 2},
              {2, 1});
}
