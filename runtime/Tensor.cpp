//===- Tensor.cpp - Dense row-major tensors --------------------------------===//
//
// Storage is one 64-byte aligned allocation shared by every copy of a Tensor, zero-filled
// unless the caller writes it all (Tensor::uninitialized).
// Element conversions between dtypes follow one rule set used by astype() and the interpreter's
// convert kernel: float to integer truncates toward zero and saturates (NaN becomes 0), any
// value to bool is `value != 0`, bool to a number is 0 or 1. formatTensor() prints like numpy.
//
//===----------------------------------------------------------------------===//
#include "runtime/Tensor.h"

#include "runtime/MemoryBudget.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

namespace nnx::rt {
namespace {

constexpr size_t kAlignment = 64;

/// A 64-byte aligned buffer of at least `bytes` bytes (never null), zero-filled when `zero`.
std::shared_ptr<std::byte> allocateStorage(size_t bytes, bool zero) {
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0)
    rounded = kAlignment;
  void *memory = std::aligned_alloc(kAlignment, rounded);
  if (!memory)
    throw std::bad_alloc();
  if (zero)
    std::memset(memory, 0, rounded);
  return std::shared_ptr<std::byte>(static_cast<std::byte *>(memory),
                                    [](std::byte *p) { std::free(p); });
}

/// Float to integer: truncation toward zero, saturating at the type's range, NaN to 0.
template <typename To, typename From> To saturatingCast(From value) {
  if (std::isnan(value))
    return 0;
  // 2^digits is exactly representable as a double and is one past the maximum.
  const double upper = std::ldexp(1.0, std::numeric_limits<To>::digits);
  double v = static_cast<double>(value);
  if (v >= upper)
    return std::numeric_limits<To>::max();
  if (v < -upper)
    return std::numeric_limits<To>::min();
  return static_cast<To>(v);
}

/// Converts one element between any two of the five element types.
template <typename To, typename From> To castElement(From value) {
  if constexpr (std::is_same_v<To, bool>)
    return value != From(0);
  else if constexpr (std::is_same_v<From, bool>)
    return value ? To(1) : To(0);
  else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>)
    return saturatingCast<To>(value);
  else
    return static_cast<To>(value);
}

} // namespace

int64_t numElements(const Shape &shape) {
  int64_t n = 1;
  for (int64_t extent : shape) {
    assert(extent >= 0 && "negative extent");
    n *= extent;
  }
  return n;
}

std::string formatShape(const Shape &shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

std::vector<int64_t> rowMajorStrides(const Shape &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;)
    strides[i - 1] = strides[i] * shape[i];
  return strides;
}

Tensor::Tensor() : Tensor(DType::F32, Shape{0}) {}

Tensor::Tensor(DType dtype, Shape shape) : Tensor(dtype, std::move(shape), /*zero=*/true) {}

Tensor::Tensor(DType dtype, Shape shape, bool zero) : dtype_(dtype), shape_(std::move(shape)) {
  requireAllocatable(shape_, dtype_, "a tensor");
  data_ = allocateStorage(static_cast<size_t>(numElements(shape_)) * dtypeSize(dtype_), zero);
}

Tensor Tensor::zeros(DType dtype, const Shape &shape) { return Tensor(dtype, shape); }

Tensor Tensor::uninitialized(DType dtype, const Shape &shape) {
  return Tensor(dtype, shape, /*zero=*/false);
}

Tensor Tensor::withStorage(DType dtype, const Shape &shape, std::shared_ptr<std::byte> storage) {
  assert(storage && "a tensor needs storage");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.data_ = std::move(storage);
  return t;
}

Tensor Tensor::full(DType dtype, const Shape &shape, double value) {
  Tensor t(dtype, shape);
  for (int64_t i = 0, n = t.numel(); i < n; ++i)
    t.set(i, value);
  return t;
}

Tensor Tensor::scalar(DType dtype, double value) { return full(dtype, Shape{}, value); }

double Tensor::at(int64_t i) const {
  assert(i >= 0 && i < numel() && "element index out of range");
  return dispatchDType(dtype_, [&](auto tag) {
    using T = decltype(tag);
    return castElement<double>(data<T>()[i]);
  });
}

void Tensor::set(int64_t i, double value) {
  assert(i >= 0 && i < numel() && "element index out of range");
  dispatchDType(dtype_, [&](auto tag) {
    using T = decltype(tag);
    data<T>()[i] = castElement<T>(value);
  });
}

Tensor Tensor::clone() const {
  Tensor copy(dtype_, shape_);
  std::memcpy(copy.raw(), raw(), nbytes());
  return copy;
}

Tensor Tensor::astype(DType dtype) const {
  if (dtype == dtype_)
    return clone();
  Tensor out(dtype, shape_);
  int64_t n = numel();
  dispatchDType(dtype_, [&](auto fromTag) {
    using From = decltype(fromTag);
    const From *in = data<From>();
    dispatchDType(dtype, [&](auto toTag) {
      using To = decltype(toTag);
      To *dst = out.data<To>();
      for (int64_t i = 0; i < n; ++i)
        dst[i] = castElement<To>(in[i]);
    });
  });
  return out;
}

Tensor Tensor::reshaped(const Shape &shape) const {
  assert(numElements(shape) == numel() && "reshape changes the element count");
  Tensor view = *this;
  view.shape_ = shape;
  return view;
}

//===----------------------------------------------------------------------===//
// formatTensor
//===----------------------------------------------------------------------===//

namespace {

/// Formats element `i` without padding: floats with `precision` significant digits and a
/// trailing "." when they print as an integer (numpy's "1."), ints plainly, bools as words.
std::string formatElement(const Tensor &t, int64_t i, int precision) {
  if (t.dtype() == DType::Bool)
    return t.data<bool>()[i] ? "true" : "false";
  if (t.dtype() == DType::I32)
    return std::to_string(t.data<int32_t>()[i]);
  if (t.dtype() == DType::I64)
    return std::to_string(t.data<int64_t>()[i]);
  double v = t.at(i);
  if (std::isnan(v))
    return "nan";
  if (std::isinf(v))
    return v < 0 ? "-inf" : "inf";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*g", precision, v);
  std::string text = buffer;
  if (text.find_first_of(".e") == std::string::npos)
    text += '.';
  return text;
}

/// The indices of a dimension that are printed; -1 stands for the "..." marker.
std::vector<int64_t> shownIndices(int64_t extent, bool summarize, int64_t edgeItems) {
  std::vector<int64_t> shown;
  if (summarize && extent > 2 * edgeItems) {
    for (int64_t i = 0; i < edgeItems; ++i)
      shown.push_back(i);
    shown.push_back(-1);
    for (int64_t i = extent - edgeItems; i < extent; ++i)
      shown.push_back(i);
  } else {
    for (int64_t i = 0; i < extent; ++i)
      shown.push_back(i);
  }
  return shown;
}

/// Recursive printer shared by the width pass and the output pass.
struct Printer {
  const Tensor &tensor;
  const FormatOptions &options;
  bool summarize;
  std::vector<int64_t> strides;
  size_t width = 0;

  /// Visits every printed element (to measure the widest one).
  void measure(size_t dim, int64_t offset) {
    if (dim == strides.size()) {
      width = std::max(width, formatElement(tensor, offset, options.precision).size());
      return;
    }
    for (int64_t i : shownIndices(tensor.shape()[dim], summarize, options.edgeItems))
      if (i >= 0)
        measure(dim + 1, offset + i * strides[dim]);
  }

  /// Appends the text of the sub-array at `dim` starting at flat `offset`.
  void print(size_t dim, int64_t offset, std::string &out) const {
    if (dim == strides.size()) {
      std::string text = formatElement(tensor, offset, options.precision);
      out.append(width - text.size(), ' ');
      out += text;
      return;
    }
    size_t innerRank = strides.size() - dim - 1;
    std::string separator = ",";
    separator.append(innerRank == 0 ? 1 : innerRank, innerRank == 0 ? ' ' : '\n');
    if (innerRank > 0)
      separator.append(dim + 1, ' ');
    out += '[';
    bool first = true;
    for (int64_t i : shownIndices(tensor.shape()[dim], summarize, options.edgeItems)) {
      if (!first)
        out += separator;
      first = false;
      if (i < 0)
        out += "...";
      else
        print(dim + 1, offset + i * strides[dim], out);
    }
    out += ']';
  }
};

} // namespace

std::string formatTensor(const Tensor &tensor, const FormatOptions &options) {
  Printer printer{tensor, options, tensor.numel() > options.threshold,
                  rowMajorStrides(tensor.shape())};
  printer.measure(0, 0);
  std::string out;
  printer.print(0, 0, out);
  return out;
}

} // namespace nnx::rt
