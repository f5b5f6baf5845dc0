//===- ElementwiseKernels.cpp - Elementwise reference kernels -------------===//
//
// unary, binary, compare, select, convert and iota. Each kernel dispatches on the dtype once and
// runs one loop over the flat elements; the scalar semantics (integer wrap-around, truncating
// division, NaN-propagating max/min, the tanh form of gelu) live in the apply* functions.
//
//===----------------------------------------------------------------------===//
#include "interp/Kernels.h"

#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace nnx::interp {
namespace {

using rt::DType;
using rt::Tensor;

/// Two's complement wrap-around arithmetic on integers (signed overflow is UB in C++).
template <typename T> T wrapAdd(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
}
template <typename T> T wrapSub(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
}
template <typename T> T wrapMul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
}

template <typename T> T applyFloatUnary(UnaryOp op, T x) {
  switch (op) {
  case UnaryOp::Neg: return -x;
  case UnaryOp::Exp: return std::exp(x);
  case UnaryOp::Log: return std::log(x);
  case UnaryOp::Sqrt: return std::sqrt(x);
  case UnaryOp::Rsqrt: return T(1) / std::sqrt(x);
  case UnaryOp::Tanh: return std::tanh(x);
  case UnaryOp::Sigmoid: return T(1) / (T(1) + std::exp(-x));
  case UnaryOp::Relu: return std::isnan(x) ? x : (x > T(0) ? x : T(0));
  case UnaryOp::Gelu: {
    const T sqrt2OverPi = T(0.79788456080286535588);
    T inner = sqrt2OverPi * (x + T(0.044715) * (x * x * x));
    return x * (T(0.5) * (T(1) + std::tanh(inner)));
  }
  case UnaryOp::Abs: return std::fabs(x);
  case UnaryOp::Sin: return std::sin(x);
  case UnaryOp::Cos: return std::cos(x);
  case UnaryOp::Erf: return std::erf(x);
  case UnaryOp::Floor: return std::floor(x);
  case UnaryOp::Not: break;
  }
  assert(false && "not is not defined on floats");
  return x;
}

template <typename T> T applyIntUnary(UnaryOp op, T x) {
  switch (op) {
  case UnaryOp::Neg: return wrapSub(T(0), x);
  case UnaryOp::Abs: return x < 0 ? wrapSub(T(0), x) : x;
  case UnaryOp::Relu: return x > 0 ? x : T(0);
  default: break;
  }
  assert(false && "unary op not defined on integers");
  return x;
}

template <typename T> T applyUnary(UnaryOp op, T x) {
  if constexpr (std::is_same_v<T, bool>) {
    assert(op == UnaryOp::Not && "only not is defined on bool");
    return !x;
  } else if constexpr (std::is_integral_v<T>) {
    return applyIntUnary(op, x);
  } else {
    return applyFloatUnary(op, x);
  }
}

/// base ** exponent on integers: square-and-multiply with wrap-around; exponent < 0 gives 0
/// except for bases 1 and -1.
template <typename T> T intPow(T base, T exponent) {
  if (exponent < 0)
    return base == 1 ? T(1) : base == -1 ? (exponent % 2 ? T(-1) : T(1)) : T(0);
  T result = 1;
  while (exponent > 0) {
    if (exponent & 1)
      result = wrapMul(result, base);
    base = wrapMul(base, base);
    exponent >>= 1;
  }
  return result;
}

template <typename T> T applyIntBinary(BinaryOp op, T a, T b) {
  switch (op) {
  case BinaryOp::Add: return wrapAdd(a, b);
  case BinaryOp::Sub: return wrapSub(a, b);
  case BinaryOp::Mul: return wrapMul(a, b);
  case BinaryOp::Div:
    if (b == 0)
      return 0;
    if (a == std::numeric_limits<T>::min() && b == -1)
      return a;
    return a / b;
  case BinaryOp::Rem:
    if (b == 0 || (a == std::numeric_limits<T>::min() && b == -1))
      return 0;
    return a % b;
  case BinaryOp::Pow: return intPow(a, b);
  case BinaryOp::Max: return a > b ? a : b;
  case BinaryOp::Min: return a < b ? a : b;
  case BinaryOp::And: return a & b;
  case BinaryOp::Or: return a | b;
  }
  return a;
}

template <typename T> T applyFloatBinary(BinaryOp op, T a, T b) {
  switch (op) {
  case BinaryOp::Add: return a + b;
  case BinaryOp::Sub: return a - b;
  case BinaryOp::Mul: return a * b;
  case BinaryOp::Div: return a / b;
  case BinaryOp::Rem: return std::fmod(a, b);
  case BinaryOp::Pow: return std::pow(a, b);
  case BinaryOp::Max: return std::isnan(a) || std::isnan(b) ? a + b : (a > b ? a : b);
  case BinaryOp::Min: return std::isnan(a) || std::isnan(b) ? a + b : (a < b ? a : b);
  case BinaryOp::And:
  case BinaryOp::Or: break;
  }
  assert(false && "and/or are not defined on floats");
  return a;
}

template <typename T> T applyBinary(BinaryOp op, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    assert((op == BinaryOp::And || op == BinaryOp::Or || op == BinaryOp::Max ||
            op == BinaryOp::Min) && "only and/or/max/min are defined on bool");
    return op == BinaryOp::And || op == BinaryOp::Min ? (a && b) : (a || b);
  } else if constexpr (std::is_integral_v<T>) {
    return applyIntBinary(op, a, b);
  } else {
    return applyFloatBinary(op, a, b);
  }
}

template <typename T> bool applyCompare(CmpPred pred, T a, T b) {
  switch (pred) {
  case CmpPred::Eq: return a == b;
  case CmpPred::Ne: return a != b;
  case CmpPred::Lt: return a < b;
  case CmpPred::Le: return a <= b;
  case CmpPred::Gt: return a > b;
  case CmpPred::Ge: return a >= b;
  }
  return false;
}

} // namespace

Tensor unary(UnaryOp op, const Tensor &x) {
  Tensor out(x.dtype(), x.shape());
  rt::dispatchDType(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *in = x.data<T>();
    T *dst = out.data<T>();
    for (int64_t i = 0, n = x.numel(); i < n; ++i)
      dst[i] = applyUnary(op, in[i]);
  });
  return out;
}

Tensor binary(BinaryOp op, const Tensor &a, const Tensor &b) {
  assert(a.dtype() == b.dtype() && a.shape() == b.shape() && "binary operands differ");
  Tensor out(a.dtype(), a.shape());
  rt::dispatchDType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *lhs = a.data<T>(), *rhs = b.data<T>();
    T *dst = out.data<T>();
    for (int64_t i = 0, n = a.numel(); i < n; ++i)
      dst[i] = applyBinary(op, lhs[i], rhs[i]);
  });
  return out;
}

Tensor compare(CmpPred pred, const Tensor &a, const Tensor &b) {
  assert(a.dtype() == b.dtype() && a.shape() == b.shape() && "compare operands differ");
  Tensor out(DType::Bool, a.shape());
  rt::dispatchDType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *lhs = a.data<T>(), *rhs = b.data<T>();
    bool *dst = out.data<bool>();
    for (int64_t i = 0, n = a.numel(); i < n; ++i)
      dst[i] = applyCompare(pred, lhs[i], rhs[i]);
  });
  return out;
}

Tensor select(const Tensor &cond, const Tensor &a, const Tensor &b) {
  assert(cond.dtype() == DType::Bool && "select condition is not bool");
  assert(a.dtype() == b.dtype() && a.shape() == b.shape() && cond.shape() == a.shape() &&
         "select operands differ");
  Tensor out(a.dtype(), a.shape());
  size_t size = rt::dtypeSize(a.dtype());
  const bool *c = cond.data<bool>();
  const auto *lhs = a.data<std::byte>(), *rhs = b.data<std::byte>();
  auto *dst = out.data<std::byte>();
  for (int64_t i = 0, n = a.numel(); i < n; ++i)
    std::memcpy(dst + i * size, (c[i] ? lhs : rhs) + i * size, size);
  return out;
}

Tensor convert(const Tensor &x, DType dtype) { return x.astype(dtype); }

Tensor iota(DType dtype, const rt::Shape &shape, int64_t dim) {
  assert(dtype != DType::Bool && "iota of bool");
  assert(dim >= 0 && dim < static_cast<int64_t>(shape.size()) && "iota dimension out of range");
  Tensor out(dtype, shape);
  int64_t stride = rt::rowMajorStrides(shape)[dim];
  for (int64_t i = 0, n = out.numel(); i < n; ++i)
    out.set(i, static_cast<double>((i / stride) % shape[dim]));
  return out;
}

} // namespace nnx::interp
