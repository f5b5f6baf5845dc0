//===- WindowShapes.h - Shapes of conv and pool tests ---------------------===//
//
// What the window-op tests (AutodiffWindowTest.cpp, WindowCodegenTest.cpp) share to write
// nnx.conv / nnx.pool_* IR: an int list in the IR's array syntax, the output extent of a
// VALID sliding window, and a convolution case with its result shape and attributes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nnx::test {

/// "[1, 2]" in the IR's array syntax.
inline std::string ints(const std::vector<int64_t> &xs) {
  std::string s = "[";
  for (size_t i = 0; i < xs.size(); ++i)
    s += (i ? ", " : "") + std::to_string(xs[i]);
  return s + "]";
}

/// The output extent of a window of `k` taps dilated by `dilation`, moving by `stride`, over
/// `n` elements (as ir::windowOutputExtent, where the window fits).
inline int64_t outExtent(int64_t n, int64_t k, int64_t stride, int64_t dilation) {
  return (n - (k - 1) * dilation - 1) / stride + 1;
}

/// One nnx.conv test case: input x [N, S..., C], kernel w [K..., C / groups, F], and the
/// op's attributes; padding defaults to none.
struct ConvCase {
  std::vector<int64_t> x, w, strides, dilation;
  int64_t groups = 1;
  std::vector<int64_t> low, high;

  /// The number of spatial axes.
  size_t spatial() const { return w.size() - 2; }
  /// The padding with one entry per spatial axis (zeros where not given).
  std::vector<int64_t> padLow() const { return padded(low); }
  std::vector<int64_t> padHigh() const { return padded(high); }
  /// The result shape [N, O..., F].
  std::vector<int64_t> out() const {
    std::vector<int64_t> shape{x[0]}, lo = padLow(), hi = padHigh();
    for (size_t d = 0; d < spatial(); ++d)
      shape.push_back(outExtent(lo[d] + x[d + 1] + hi[d], w[d], strides[d], dilation[d]));
    shape.push_back(w.back());
    return shape;
  }
  /// `%r = nnx.conv %<lhs>, %<rhs> ...` with the attributes, up to the types.
  std::string attributes() const {
    return " strides " + ints(strides) + " padding " + ints(padLow()) + ", " + ints(padHigh()) +
           " dilation " + ints(dilation) + " groups " + std::to_string(groups);
  }

private:
  std::vector<int64_t> padded(std::vector<int64_t> v) const {
    v.resize(spatial(), 0);
    return v;
  }
};

} // namespace nnx::test
