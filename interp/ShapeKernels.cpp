//===- ShapeKernels.cpp - Data-movement reference kernels -----------------===//
//
// broadcastInDim, reshape, transpose, concat, slice, pad and reverse move elements without
// looking at them, so they copy raw bytes of the element size and work for every dtype; so do
// takeLeading/putLeading, which read and write one slice of a scan's stacked operands. Each result
// element's multi-index is mapped back to the operand element it comes from; pad goes the
// other way, scattering each operand element into a zero-filled result.
//
//===----------------------------------------------------------------------===//
#include "interp/Kernels.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <functional>
#include <numeric>

namespace nnx::interp {
namespace {

using rt::Shape;
using rt::Tensor;

/// Advances a row-major multi-index within `shape` by one element (an odometer).
void increment(std::vector<int64_t> &index, const Shape &shape) {
  for (size_t d = shape.size(); d-- > 0;) {
    if (++index[d] < shape[d])
      return;
    index[d] = 0;
  }
}

/// For each result element (multi-index `index`, in row-major order), copies the operand
/// element at flat offset `source(index)`.
template <typename Fn> Tensor gather(const Tensor &x, const Shape &resultShape, Fn source) {
  Tensor out(x.dtype(), resultShape);
  size_t size = rt::dtypeSize(x.dtype());
  const auto *in = x.data<std::byte>();
  auto *dst = out.data<std::byte>();
  std::vector<int64_t> index(resultShape.size(), 0);
  for (int64_t i = 0, n = out.numel(); i < n; ++i, increment(index, resultShape))
    std::memcpy(dst + i * size, in + source(index) * size, size);
  return out;
}

} // namespace

Tensor broadcastInDim(const Tensor &x, const Shape &resultShape,
                      const std::vector<int64_t> &dims) {
  assert(dims.size() == x.shape().size() && "one result dim per operand dim");
  std::vector<int64_t> strides = rt::rowMajorStrides(x.shape());
  for (size_t i = 0; i < dims.size(); ++i) {
    assert(dims[i] >= 0 && dims[i] < static_cast<int64_t>(resultShape.size()));
    assert((i == 0 || dims[i] > dims[i - 1]) && "broadcast dims not strictly increasing");
    assert((x.shape()[i] == 1 || x.shape()[i] == resultShape[dims[i]]) && "bad broadcast");
    if (x.shape()[i] == 1)
      strides[i] = 0;
  }
  return gather(x, resultShape, [&](const std::vector<int64_t> &index) {
    int64_t offset = 0;
    for (size_t i = 0; i < dims.size(); ++i)
      offset += index[dims[i]] * strides[i];
    return offset;
  });
}

Tensor reshape(const Tensor &x, const Shape &shape) {
  assert(rt::numElements(shape) == x.numel() && "reshape changes the element count");
  return x.clone().reshaped(shape);
}

Tensor transpose(const Tensor &x, const std::vector<int64_t> &perm) {
  assert(perm.size() == x.shape().size() && "permutation length differs from rank");
  Shape resultShape(perm.size());
  std::vector<bool> used(perm.size(), false);
  for (size_t i = 0; i < perm.size(); ++i) {
    assert(perm[i] >= 0 && perm[i] < x.rank() && !used[perm[i]] && "not a permutation");
    used[perm[i]] = true;
    resultShape[i] = x.shape()[perm[i]];
  }
  std::vector<int64_t> strides = rt::rowMajorStrides(x.shape());
  return gather(x, resultShape, [&](const std::vector<int64_t> &index) {
    int64_t offset = 0;
    for (size_t i = 0; i < perm.size(); ++i)
      offset += index[i] * strides[perm[i]];
    return offset;
  });
}

Tensor concat(const std::vector<Tensor> &xs, int64_t axis) {
  assert(!xs.empty() && "concat of nothing");
  const Tensor &first = xs.front();
  assert(axis >= 0 && axis < first.rank() && "concat axis out of range");
  Shape resultShape = first.shape();
  resultShape[axis] = 0;
  for (const Tensor &x : xs) {
    assert(x.dtype() == first.dtype() && x.rank() == first.rank() && "concat operands differ");
    for (int64_t d = 0; d < x.rank(); ++d)
      assert((d == axis || x.shape()[d] == first.shape()[d]) && "concat extents differ");
    resultShape[axis] += x.shape()[axis];
  }
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= resultShape[d];
  Tensor out(first.dtype(), resultShape);
  auto *dst = out.data<std::byte>();
  // Each operand contributes one contiguous block per outer index.
  for (int64_t o = 0; o < outer; ++o)
    for (const Tensor &x : xs) {
      size_t block = x.nbytes() / static_cast<size_t>(outer);
      std::memcpy(dst, x.data<std::byte>() + o * block, block);
      dst += block;
    }
  return out;
}

Tensor slice(const Tensor &x, const std::vector<int64_t> &start,
             const std::vector<int64_t> &limit, const std::vector<int64_t> &stride) {
  size_t rank = x.shape().size();
  assert(start.size() == rank && limit.size() == rank && stride.size() == rank);
  Shape resultShape(rank);
  for (size_t d = 0; d < rank; ++d) {
    assert(stride[d] > 0 && "slice stride must be positive");
    assert(0 <= start[d] && start[d] <= limit[d] && limit[d] <= x.shape()[d] && "bad slice");
    resultShape[d] = (limit[d] - start[d] + stride[d] - 1) / stride[d];
  }
  std::vector<int64_t> strides = rt::rowMajorStrides(x.shape());
  return gather(x, resultShape, [&](const std::vector<int64_t> &index) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset += (start[d] + index[d] * stride[d]) * strides[d];
    return offset;
  });
}

Tensor pad(const Tensor &x, const std::vector<int64_t> &low, const std::vector<int64_t> &high,
           const std::vector<int64_t> &interior) {
  size_t rank = x.shape().size();
  assert(low.size() == rank && high.size() == rank && interior.size() == rank);
  Shape resultShape(rank);
  for (size_t d = 0; d < rank; ++d) {
    assert(low[d] >= 0 && high[d] >= 0 && interior[d] >= 0 && "negative padding");
    int64_t n = x.shape()[d];
    resultShape[d] = low[d] + n + (n > 0 ? (n - 1) * interior[d] : 0) + high[d];
  }
  Tensor out(x.dtype(), resultShape); // zero-filled
  size_t size = rt::dtypeSize(x.dtype());
  std::vector<int64_t> strides = rt::rowMajorStrides(resultShape);
  const auto *in = x.data<std::byte>();
  auto *dst = out.data<std::byte>();
  std::vector<int64_t> index(rank, 0);
  for (int64_t i = 0, n = x.numel(); i < n; ++i, increment(index, x.shape())) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset += (low[d] + index[d] * (interior[d] + 1)) * strides[d];
    std::memcpy(dst + offset * size, in + i * size, size);
  }
  return out;
}

} // namespace nnx::interp

namespace nnx::interp {

Tensor reverse(const Tensor &x, const std::vector<int64_t> &dims) {
  const Shape &shape = x.shape();
  std::vector<int64_t> strides = rt::rowMajorStrides(shape);
  std::vector<bool> flipped(shape.size(), false);
  for (int64_t d : dims) {
    assert(d >= 0 && d < static_cast<int64_t>(shape.size()) && "reverse dim out of range");
    flipped[static_cast<size_t>(d)] = true;
  }
  return gather(x, shape, [&](const std::vector<int64_t> &index) {
    int64_t offset = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      offset += (flipped[d] ? shape[d] - 1 - index[d] : index[d]) * strides[d];
    return offset;
  });
}

Tensor takeLeading(const Tensor &x, int64_t index) {
  assert(x.rank() > 0 && index >= 0 && index < x.shape()[0] && "bad leading index");
  Shape sliceShape(x.shape().begin() + 1, x.shape().end());
  Tensor out(x.dtype(), sliceShape);
  std::memcpy(out.raw(), x.data<std::byte>() + index * out.nbytes(), out.nbytes());
  return out;
}

void putLeading(Tensor &stacked, int64_t index, const Tensor &slice) {
  assert(stacked.rank() > 0 && index >= 0 && index < stacked.shape()[0] && "bad leading index");
  assert(slice.dtype() == stacked.dtype() &&
         slice.numel() * stacked.shape()[0] == stacked.numel() && "slice does not fit");
  std::memcpy(stacked.data<std::byte>() + index * slice.nbytes(), slice.raw(), slice.nbytes());
}

} // namespace nnx::interp

namespace nnx::interp {

Tensor gather(const Tensor &x, const Tensor &indices, int64_t axis, int64_t batchDims) {
  const Shape &in = x.shape();
  assert(axis >= 0 && axis < static_cast<int64_t>(in.size()) && "gather axis out of range");
  assert(batchDims >= 0 && batchDims <= axis && "gather batch_dims out of range");
  auto product = [](auto begin, auto end) {
    return std::accumulate(begin, end, int64_t{1}, std::multiplies<>());
  };
  int64_t batch = product(in.begin(), in.begin() + batchDims);
  int64_t outer = product(in.begin() + batchDims, in.begin() + axis);
  int64_t inner = product(in.begin() + axis + 1, in.end());
  int64_t n = in[static_cast<size_t>(axis)];
  Shape resultShape(in.begin(), in.begin() + axis);
  resultShape.insert(resultShape.end(), indices.shape().begin() + batchDims,
                     indices.shape().end());
  resultShape.insert(resultShape.end(), in.begin() + axis + 1, in.end());
  Tensor out(x.dtype(), resultShape);
  if (n == 0 || batch == 0) // nothing to pick from, or nothing to pick
    return out;
  auto size = static_cast<int64_t>(rt::dtypeSize(x.dtype()));
  const auto *src = x.data<std::byte>();
  auto *dst = out.data<std::byte>();
  int64_t count = indices.numel() / batch;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t p = 0; p < outer; ++p)
      for (int64_t i = 0; i < count; ++i) {
        int64_t k =
            std::clamp<int64_t>(static_cast<int64_t>(indices.at(b * count + i)), 0, n - 1);
        int64_t from = (b * outer + p) * n + k, to = (b * outer + p) * count + i;
        std::memcpy(dst + to * inner * size, src + from * inner * size,
                    static_cast<size_t>(inner * size));
      }
  return out;
}

} // namespace nnx::interp
