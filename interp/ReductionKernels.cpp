//===- ReductionKernels.cpp - Reductions, matmul and softmax --------------===//
//
// The kernels that combine many elements into one: reduce, matmul, conv, the window pools,
// softmax and logSoftmax. Their order of combination is fixed (row-major for reduce, k
// ascending for matmul, window offsets row-major then channels for conv and the pools, axis
// ascending for the softmax sums) because the JIT follows the same order and the end-to-end
// tests compare the two at 1e-5.
//
//===----------------------------------------------------------------------===//
#include "interp/Kernels.h"

#include <cassert>
#include <cmath>
#include <limits>
#include <type_traits>

namespace nnx::interp {
namespace {

using rt::Shape;
using rt::Tensor;

/// The starting value of a reduction over nothing.
template <typename T> T reductionIdentity(ReduceOp op) {
  if constexpr (std::is_same_v<T, bool>) {
    return op == ReduceOp::Min;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (op == ReduceOp::Sum)
      return T(0);
    T inf = std::numeric_limits<T>::infinity();
    return op == ReduceOp::Max ? -inf : inf;
  } else {
    if (op == ReduceOp::Sum)
      return T(0);
    return op == ReduceOp::Max ? std::numeric_limits<T>::lowest()
                               : std::numeric_limits<T>::max();
  }
}

/// Combines an accumulator with one element.
template <typename T> T combine(ReduceOp op, T acc, T x) {
  if constexpr (std::is_same_v<T, bool>) {
    assert(op != ReduceOp::Sum && "sum of bool");
    return op == ReduceOp::Max ? (acc || x) : (acc && x);
  } else {
    if constexpr (std::is_floating_point_v<T>)
      if (op != ReduceOp::Sum && (std::isnan(acc) || std::isnan(x)))
        return acc + x;
    if (op == ReduceOp::Sum) {
      if constexpr (std::is_integral_v<T>) {
        using U = std::make_unsigned_t<T>;
        return static_cast<T>(static_cast<U>(acc) + static_cast<U>(x));
      } else {
        return acc + x;
      }
    }
    if (op == ReduceOp::Max)
      return x > acc ? x : acc;
    return x < acc ? x : acc;
  }
}

/// Extents before, along and after `axis`.
struct AxisSplit {
  int64_t outer = 1, extent = 1, inner = 1;
};

AxisSplit splitAt(const Shape &shape, int64_t axis) {
  assert(axis >= 0 && axis < static_cast<int64_t>(shape.size()) && "axis out of range");
  AxisSplit split;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    (d < axis ? split.outer : d == axis ? split.extent : split.inner) *= shape[d];
  return split;
}

/// Runs `fn(values, stride, count, out)` for every 1-D lane along `axis` of a float tensor.
template <typename Fn> Tensor mapLanes(const Tensor &x, int64_t axis, Fn fn) {
  assert(rt::isFloat(x.dtype()) && "softmax needs a float tensor");
  AxisSplit split = splitAt(x.shape(), axis);
  Tensor out(x.dtype(), x.shape());
  rt::dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      for (int64_t o = 0; o < split.outer; ++o)
        for (int64_t i = 0; i < split.inner; ++i) {
          int64_t base = o * split.extent * split.inner + i;
          fn(x.data<T>() + base, split.inner, split.extent, out.data<T>() + base);
        }
    }
  });
  return out;
}

/// The maximum of a lane (-inf when empty) and the sum of exp(x - max) over it.
template <typename T> std::pair<T, T> laneMaxAndSum(const T *in, int64_t stride, int64_t n) {
  T max = -std::numeric_limits<T>::infinity();
  for (int64_t j = 0; j < n; ++j)
    max = combine(ReduceOp::Max, max, in[j * stride]);
  T sum = 0;
  for (int64_t j = 0; j < n; ++j)
    sum += std::exp(in[j * stride] - max);
  return {max, sum};
}

} // namespace

Tensor reduce(ReduceOp op, const Tensor &x, const std::vector<int64_t> &axes) {
  std::vector<bool> reduced(x.shape().size(), false);
  Shape resultShape;
  for (size_t i = 0; i < axes.size(); ++i) {
    assert(axes[i] >= 0 && axes[i] < x.rank() && (i == 0 || axes[i] > axes[i - 1]) &&
           "reduce axes must be sorted, unique and in range");
    reduced[axes[i]] = true;
  }
  for (size_t d = 0; d < reduced.size(); ++d)
    if (!reduced[d])
      resultShape.push_back(x.shape()[d]);
  // The result offset of an operand element: its index along kept dims, in result strides.
  std::vector<int64_t> resultStrides = rt::rowMajorStrides(resultShape);
  std::vector<int64_t> operandToResult(reduced.size(), 0);
  for (size_t d = 0, r = 0; d < reduced.size(); ++d)
    if (!reduced[d])
      operandToResult[d] = resultStrides[r++];
  Tensor out(x.dtype(), resultShape);
  rt::dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T *dst = out.data<T>();
    for (int64_t i = 0; i < out.numel(); ++i)
      dst[i] = reductionIdentity<T>(op);
    const T *in = x.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i) {
      int64_t flat = i, target = 0;
      for (size_t d = reduced.size(); d-- > 0;) {
        target += (flat % x.shape()[d]) * operandToResult[d];
        flat /= x.shape()[d];
      }
      dst[target] = combine(op, dst[target], in[i]);
    }
  });
  return out;
}

Tensor matmul(const Tensor &a, const Tensor &b) {
  assert(a.rank() >= 2 && b.rank() >= 2 && "matmul operands need rank >= 2");
  assert(a.dtype() == b.dtype() && rt::isFloat(a.dtype()) && "matmul needs equal float dtypes");
  int64_t m = a.shape()[a.rank() - 2], k = a.shape()[a.rank() - 1];
  int64_t n = b.shape()[b.rank() - 1];
  assert(b.shape()[b.rank() - 2] == k && "matmul inner dimensions differ");
  bool batchedB = b.rank() > 2;
  assert((!batchedB || (b.rank() == a.rank() &&
                        std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin())))
         && "matmul batch dimensions differ");
  Shape resultShape(a.shape().begin(), a.shape().end() - 2);
  int64_t batch = rt::numElements(resultShape);
  resultShape.push_back(m);
  resultShape.push_back(n);
  Tensor out(a.dtype(), resultShape);
  rt::dispatchDType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      for (int64_t p = 0; p < batch; ++p) {
        const T *lhs = a.data<T>() + p * m * k;
        const T *rhs = b.data<T>() + (batchedB ? p * k * n : 0);
        T *dst = out.data<T>() + p * m * n;
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            T acc = 0;
            for (int64_t q = 0; q < k; ++q)
              acc += lhs[i * k + q] * rhs[q * n + j];
            dst[i * n + j] = acc;
          }
      }
    }
  });
  return out;
}

namespace {

/// The geometry of a sliding window over x [N, S..., C] zero-padded by low/high: spatial
/// extents, window, strides, dilation and output extents, with row-major offsets of the
/// window's taps.
struct Window {
  int64_t batch = 0, channels = 0, taps = 1, outCount = 1;
  std::vector<int64_t> in, low, out, window, strides, dilation;

  Window(const Shape &shape, std::vector<int64_t> k, std::vector<int64_t> w,
         std::vector<int64_t> d, std::vector<int64_t> lo = {}, const std::vector<int64_t> &hi = {})
      : batch(shape.front()), channels(shape.back()), low(std::move(lo)), window(std::move(k)),
        strides(std::move(w)), dilation(std::move(d)) {
    if (low.empty())
      low.assign(window.size(), 0);
    for (size_t i = 0; i < window.size(); ++i) {
      in.push_back(shape[i + 1]);
      int64_t padded = low[i] + in[i] + (hi.empty() ? 0 : hi[i]);
      out.push_back((padded - (window[i] - 1) * dilation[i] - 1) / strides[i] + 1);
      taps *= window[i];
      outCount *= out[i];
    }
  }

  /// The flat spatial index of the input under tap `tap` (row-major over the window) of
  /// output position `pos` (row-major over the output's spatial extents); -1 in the padding.
  int64_t inputSite(int64_t pos, int64_t tap) const {
    int64_t site = 0;
    std::vector<int64_t> o(out.size()), k(out.size());
    for (size_t i = out.size(); i-- > 0;) {
      o[i] = pos % out[i];
      pos /= out[i];
      k[i] = tap % window[i];
      tap /= window[i];
    }
    for (size_t i = 0; i < out.size(); ++i) {
      int64_t at = o[i] * strides[i] + k[i] * dilation[i] - low[i];
      if (at < 0 || at >= in[i])
        return -1;
      site = site * in[i] + at;
    }
    return site;
  }

  /// inputSite(pos, tap) for every output position and tap: [pos * taps + tap].
  std::vector<int64_t> sites() const {
    std::vector<int64_t> table(static_cast<size_t>(outCount * taps));
    for (int64_t pos = 0; pos < outCount; ++pos)
      for (int64_t tap = 0; tap < taps; ++tap)
        table[pos * taps + tap] = inputSite(pos, tap);
    return table;
  }

  /// The spatial element count of the input.
  int64_t inCount() const {
    int64_t n = 1;
    for (int64_t e : in)
      n *= e;
    return n;
  }
};

} // namespace

Tensor conv(const Tensor &x, const Tensor &kernel, const std::vector<int64_t> &strides,
            const std::vector<int64_t> &low, const std::vector<int64_t> &high,
            const std::vector<int64_t> &dilation, int64_t groups) {
  assert(x.dtype() == kernel.dtype() && rt::isFloat(x.dtype()) && "conv needs equal floats");
  int64_t nd = kernel.rank() - 2;
  assert(nd >= 1 && x.rank() == nd + 2 && "conv ranks");
  Window win(x.shape(), std::vector<int64_t>(kernel.shape().begin(), kernel.shape().end() - 2),
             strides, dilation, low, high);
  int64_t perGroup = kernel.shape()[nd], features = kernel.shape().back();
  int64_t featuresPerGroup = features / groups;
  assert(perGroup * groups == win.channels && "conv channels");
  Shape resultShape{win.batch};
  resultShape.insert(resultShape.end(), win.out.begin(), win.out.end());
  resultShape.push_back(features);
  Tensor out(x.dtype(), resultShape);
  std::vector<int64_t> sites = win.sites(); // once for every batch element
  int64_t inCount = win.inCount();
  rt::dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_floating_point_v<T>) {
      const T *in = x.data<T>(), *w = kernel.data<T>();
      T *dst = out.data<T>();
      for (int64_t n = 0; n < win.batch; ++n)
        for (int64_t pos = 0; pos < win.outCount; ++pos)
          for (int64_t f = 0; f < features; ++f) {
            int64_t firstChannel = (f / featuresPerGroup) * perGroup;
            T acc = 0;
            for (int64_t tap = 0; tap < win.taps; ++tap) {
              int64_t site = sites[pos * win.taps + tap];
              const T *col = w + tap * perGroup * features + f;
              if (site < 0) { // padding: zeros times the kernel, as the padded sum has them
                for (int64_t c = 0; c < perGroup; ++c)
                  acc += T(0) * col[c * features];
                continue;
              }
              const T *row = in + (n * inCount + site) * win.channels + firstChannel;
              for (int64_t c = 0; c < perGroup; ++c)
                acc += row[c] * col[c * features];
            }
            dst[(n * win.outCount + pos) * features + f] = acc;
          }
    }
  });
  return out;
}

Tensor pool(ReduceOp op, const Tensor &x, const std::vector<int64_t> &window,
            const std::vector<int64_t> &strides) {
  assert(x.rank() == static_cast<int64_t>(window.size()) + 2 && "pool rank");
  Window win(x.shape(), window, strides, std::vector<int64_t>(window.size(), 1));
  Shape resultShape{win.batch};
  resultShape.insert(resultShape.end(), win.out.begin(), win.out.end());
  resultShape.push_back(win.channels);
  Tensor out(x.dtype(), resultShape);
  std::vector<int64_t> sites = win.sites(); // once for every batch element
  int64_t inCount = win.inCount();
  rt::dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *in = x.data<T>();
    T *dst = out.data<T>();
    for (int64_t n = 0; n < win.batch; ++n)
      for (int64_t pos = 0; pos < win.outCount; ++pos) {
        T *row = dst + (n * win.outCount + pos) * win.channels;
        for (int64_t c = 0; c < win.channels; ++c)
          row[c] = reductionIdentity<T>(op);
        for (int64_t tap = 0; tap < win.taps; ++tap) {
          const T *src = in + (n * inCount + sites[pos * win.taps + tap]) * win.channels;
          for (int64_t c = 0; c < win.channels; ++c)
            row[c] = combine(op, row[c], src[c]);
        }
      }
  });
  return out;
}

Tensor softmax(const Tensor &x, int64_t axis) {
  return mapLanes(x, axis, [](const auto *in, int64_t stride, int64_t count, auto *out) {
    auto [max, sum] = laneMaxAndSum(in, stride, count);
    for (int64_t j = 0; j < count; ++j)
      out[j * stride] = std::exp(in[j * stride] - max) / sum;
  });
}

Tensor logSoftmax(const Tensor &x, int64_t axis) {
  return mapLanes(x, axis, [](const auto *in, int64_t stride, int64_t count, auto *out) {
    auto [max, sum] = laneMaxAndSum(in, stride, count);
    auto logSum = std::log(sum);
    for (int64_t j = 0; j < count; ++j)
      out[j * stride] = in[j * stride] - max - logSum;
  });
}

} // namespace nnx::interp
