//===- Tensor.h - Dense row-major tensors ---------------------------------===//
//
// rt::Tensor is the value every executor and file format exchanges: a dtype, a shape and a
// 64-byte aligned, contiguous, row-major buffer. Copies share the buffer (like a handle);
// clone() makes a deep copy. A rank-0 tensor (shape []) holds one element.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/DType.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nnx::rt {

/// A tensor shape: one extent per dimension, outermost first.
using Shape = std::vector<int64_t>;

/// Number of elements of a shape (1 for rank 0).
int64_t numElements(const Shape &shape);

/// "[784, 256]"; "[]" for rank 0.
std::string formatShape(const Shape &shape);

/// Row-major strides, in elements.
std::vector<int64_t> rowMajorStrides(const Shape &shape);

/// A dense tensor with shared, aligned storage.
class Tensor {
public:
  /// An empty f32 tensor of shape [0].
  Tensor();
  /// Zero-filled storage of the given dtype and shape.
  Tensor(DType dtype, Shape shape);

  static Tensor zeros(DType dtype, const Shape &shape);
  /// Storage of the given dtype and shape whose contents are unspecified, for a caller that
  /// writes every element before anything reads one (a batch gathered from a data set, the
  /// results a compiled function writes in full): it skips the zero fill, a pass over memory
  /// as long as the write itself. Throws like the constructor when the shape is too large.
  static Tensor uninitialized(DType dtype, const Shape &shape);
  /// A tensor over `storage`, which holds at least nbytes() bytes, 64-byte aligned, and is
  /// released by its deleter (the GPU runtime's results live in managed memory this way).
  static Tensor withStorage(DType dtype, const Shape &shape, std::shared_ptr<std::byte> storage);
  /// Every element set to `value` (converted to the dtype; bool: value != 0).
  static Tensor full(DType dtype, const Shape &shape, double value);
  /// A rank-0 tensor.
  static Tensor scalar(DType dtype, double value);
  /// Copies `values` (length must equal numElements(shape)).
  template <typename T> static Tensor fromVector(const Shape &shape, const std::vector<T> &values);

  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numElements(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtypeSize(dtype_); }

  void *raw() { return data_.get(); }
  const void *raw() const { return data_.get(); }
  template <typename T> T *data() { return static_cast<T *>(raw()); }
  template <typename T> const T *data() const { return static_cast<const T *>(raw()); }

  /// Element `i` (flat, row-major) converted to double.
  double at(int64_t i) const;
  /// Sets element `i` from a double (converted to the dtype).
  void set(int64_t i, double value);

  /// A deep copy.
  Tensor clone() const;
  /// A copy converted to another dtype.
  Tensor astype(DType dtype) const;
  /// The same storage viewed with another shape of equal element count.
  Tensor reshaped(const Shape &shape) const;
  /// The elements as a std::vector<T> (each stored element static_cast to T).
  template <typename T> std::vector<T> toVector() const;
  /// The index of the first element whose value (as a double, like `at`) satisfies `pred`,
  /// or -1: one dtype dispatch for the whole scan, where a loop of `at` dispatches per
  /// element (the data checks of `train` scan millions).
  template <typename Pred> int64_t findValue(Pred &&pred) const;

  /// True when both share the same storage.
  bool sharesStorageWith(const Tensor &other) const { return data_ == other.data_; }

private:
  /// Storage of the dtype and shape, zero-filled when `zero`.
  Tensor(DType dtype, Shape shape, bool zero);

  DType dtype_;
  Shape shape_;
  std::shared_ptr<std::byte> data_;
};

/// Options for formatTensor.
struct FormatOptions {
  /// Elements printed per dimension before eliding with "..." (numpy's edgeitems is 3).
  int64_t edgeItems = 3;
  /// Tensors with more elements than this are summarised.
  int64_t threshold = 1000;
  /// Significant digits of floats.
  int precision = 6;
};

/// numpy-style text: "[[0.1, 0.2, ...], ...]" with elision for large tensors.
std::string formatTensor(const Tensor &tensor, const FormatOptions &options = {});

template <typename T>
Tensor Tensor::fromVector(const Shape &shape, const std::vector<T> &values) {
  Tensor t(dtypeOf<T>(), shape);
  T *out = t.data<T>();
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t.numel(); ++i)
    out[i] = values[i];
  return t;
}

template <typename T> std::vector<T> Tensor::toVector() const {
  // Read the stored type directly: a round trip through double would lose i64 digits.
  std::vector<T> out(static_cast<size_t>(numel()));
  dispatchDType(dtype_, [&](auto tag) {
    const auto *in = data<decltype(tag)>();
    for (int64_t i = 0; i < numel(); ++i)
      out[static_cast<size_t>(i)] = static_cast<T>(in[i]);
  });
  return out;
}

template <typename Pred> int64_t Tensor::findValue(Pred &&pred) const {
  int64_t n = numel();
  return dispatchDType(dtype_, [&](auto tag) -> int64_t {
    const auto *in = data<decltype(tag)>();
    for (int64_t i = 0; i < n; ++i)
      if (pred(static_cast<double>(in[i])))
        return i;
    return -1;
  });
}

} // namespace nnx::rt
