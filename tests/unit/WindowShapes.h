//===- WindowShapes.h - Shapes of conv and pool tests ---------------------===//
//
// The two helpers the window-op tests (AutodiffWindowTest.cpp, WindowCodegenTest.cpp) share
// to write nnx.conv / nnx.pool_* IR: an int list in the IR's array syntax and the output
// extent of a VALID sliding window.
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

} // namespace nnx::test
