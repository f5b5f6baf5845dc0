//===- Kernels.h - The interpreter's reference tensor kernels -------------===//
//
// One function per nnx operation family, on rt::Tensor, written as plain loops so that each is
// obviously right: the interpreter is the oracle the JIT is tested against. Preconditions (equal
// shapes, valid axes, float operands...) are asserted, not reported: the IR verifier guarantees
// them. Every kernel returns a fresh tensor that shares no storage with its operands.
//
// Integer semantics, which the code generators follow: +, -, * and negation wrap around (two's
// complement); division truncates toward zero (C++ `/`), x / 0 is 0 and INT_MIN / -1 is
// INT_MIN; the remainder has the sign of the dividend (C++ `%`, fmod for floats), x rem 0 and
// INT_MIN rem -1 are 0; pow with a negative exponent is 0 except for bases 1 and -1. Float max/min propagate
// NaN (like jnp.maximum). Conversions follow rt::Tensor::astype (float to integer truncates and
// saturates, NaN to 0; any value to bool is `value != 0`).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstdint>
#include <vector>

namespace nnx::interp {

/// Elementwise operations of one operand.
enum class UnaryOp {
  Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Relu, Gelu, Abs, Not, Sin, Cos, Erf, Floor
};

/// Elementwise operations of two operands.
enum class BinaryOp { Add, Sub, Mul, Div, Rem, Pow, Max, Min, And, Or };

/// Comparison predicates.
enum class CmpPred { Eq, Ne, Lt, Le, Gt, Ge };

/// Reductions.
enum class ReduceOp { Sum, Max, Min };

/// Applies `op` to every element; the result has the operand's dtype. Float ops need f32/f64;
/// Neg, Abs and Relu also take integers; Not takes bool. Gelu is the tanh approximation
/// (jax.nn.gelu's default): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
rt::Tensor unary(UnaryOp op, const rt::Tensor &x);

/// Applies `op` elementwise to operands of equal shape and dtype. And/Or take bool or integers
/// (bitwise); Max/Min also take bool; the arithmetic ops take numbers.
rt::Tensor binary(BinaryOp op, const rt::Tensor &a, const rt::Tensor &b);

/// Compares operands of equal shape and dtype elementwise; the result is bool.
rt::Tensor compare(CmpPred pred, const rt::Tensor &a, const rt::Tensor &b);

/// cond ? a : b elementwise; cond is bool, all three have the same shape, a and b one dtype.
rt::Tensor select(const rt::Tensor &cond, const rt::Tensor &a, const rt::Tensor &b);

/// Converts to `dtype` (the rules of rt::Tensor::astype).
rt::Tensor convert(const rt::Tensor &x, rt::DType dtype);

/// Broadcasts `x` to `resultShape`: operand dim i maps to result dim dims[i] (dims strictly
/// increasing); each operand extent is 1 (repeated) or equal to the result extent.
rt::Tensor broadcastInDim(const rt::Tensor &x, const rt::Shape &resultShape,
                          const std::vector<int64_t> &dims);

/// Reduces over `axes` (sorted, unique), removing them. Sum of nothing is 0; Max of nothing is
/// -inf (the lowest integer), Min of nothing +inf (the highest). Float Max/Min propagate NaN.
/// Elements are combined in row-major order. Sum needs numbers; Max/Min on bool are any/all.
rt::Tensor reduce(ReduceOp op, const rt::Tensor &x, const std::vector<int64_t> &axes);

/// The elements of `x` with another shape of the same element count.
rt::Tensor reshape(const rt::Tensor &x, const rt::Shape &shape);

/// Permutes dimensions: result dim i is operand dim perm[i].
rt::Tensor transpose(const rt::Tensor &x, const std::vector<int64_t> &perm);

/// Joins tensors of one dtype and rank along `axis` (0 <= axis < rank); the other extents match.
rt::Tensor concat(const std::vector<rt::Tensor> &xs, int64_t axis);

/// The strided window start[i], start[i] + stride[i], ... < limit[i] of each dimension
/// (0 <= start <= limit <= extent, stride > 0); result extent ceil((limit - start) / stride).
rt::Tensor slice(const rt::Tensor &x, const std::vector<int64_t> &start,
                 const std::vector<int64_t> &limit, const std::vector<int64_t> &stride);

/// Zero padding (stablehlo.pad with a zero value): along dimension d, low[d] zeros, the
/// operand's elements with interior[d] zeros between neighbours, then high[d] zeros (all
/// non-negative). Result extent low + n + max(n - 1, 0) * interior + high. Every dtype.
rt::Tensor pad(const rt::Tensor &x, const std::vector<int64_t> &low,
               const std::vector<int64_t> &high, const std::vector<int64_t> &interior);

/// numpy's take with clamped indices, batched as tf.gather's batch_dims: for x
/// [B..., P..., n, Q...] (n at `axis`, the first `batchDims` dims B) and integer `indices`
/// [B..., I...], the [B..., P..., I..., Q...] tensor of x[b, p, clamp(indices[b, i], 0,
/// n - 1), q]. Every dtype of x; i32 or i64 indices. nnx.gather's semantics.
rt::Tensor gather(const rt::Tensor &x, const rt::Tensor &indices, int64_t axis,
                  int64_t batchDims = 0);

/// `x` with the order of elements reversed along each of `dims` (distinct, in range): element
/// i of a reversed dimension of extent n comes from element n - 1 - i. Every dtype.
rt::Tensor reverse(const rt::Tensor &x, const std::vector<int64_t> &dims);

/// Slice `index` of `x` along dimension 0 (0 <= index < extent): a tensor of x's shape without
/// its leading dimension. Every dtype. (The step input of a scan.)
rt::Tensor takeLeading(const rt::Tensor &x, int64_t index);

/// Writes `slice` (of `stacked`'s dtype and shape without the leading dimension) into slice
/// `index` of `stacked` along dimension 0, in place. (The step output of a scan.)
void putLeading(rt::Tensor &stacked, int64_t index, const rt::Tensor &slice);

/// Matrix product of a [..., M, K] (rank >= 2) with b [K, N] or [..., K, N] (the same batch
/// dims as a); result [..., M, N]. Float dtypes, equal in both; each output accumulates
/// a[m, k] * b[k, n] in the element type for k ascending from 0.
rt::Tensor matmul(const rt::Tensor &a, const rt::Tensor &b);

/// Convolution of x [N, S..., C], zero-padded by `low`/`high` (>= 0) on each spatial axis to
/// P = low + S + high, with kernel [K..., C / groups, F] (float dtypes, equal), window
/// `strides` and kernel `dilation` (one per spatial axis, >= 1) and `groups` feature groups
/// (nnx.conv, lax.conv_general_dilated's semantics): result [N, O..., F],
/// O = (P - (K - 1) * dilation - 1) / stride + 1; each output accumulates over the kernel's
/// taps row-major, then its group's channels ascending (padding included, as 0 * w, so that
/// inf/NaN weights propagate as in the padded sum).
rt::Tensor conv(const rt::Tensor &x, const rt::Tensor &kernel,
                const std::vector<int64_t> &strides, const std::vector<int64_t> &low,
                const std::vector<int64_t> &high, const std::vector<int64_t> &dilation,
                int64_t groups);

/// Sliding-window reduction of x [N, S..., C] over `window` with `strides` (VALID; nnx's
/// pool_sum/max/min, lax.reduce_window): result [N, O..., C], O = (S - K) / stride + 1. The
/// taps are combined row-major from the identity of `op`, as reduce() does (NaN propagates
/// through Max/Min; integer sums wrap). Numeric dtypes.
rt::Tensor pool(ReduceOp op, const rt::Tensor &x, const std::vector<int64_t> &window,
                const std::vector<int64_t> &strides);

/// exp(x - max) / sum(exp(x - max)) along `axis` (0 <= axis < rank), float dtypes.
rt::Tensor softmax(const rt::Tensor &x, int64_t axis);

/// x - max - log(sum(exp(x - max))) along `axis`, float dtypes.
rt::Tensor logSoftmax(const rt::Tensor &x, int64_t axis);

/// A tensor whose elements are their index along `dim` (numeric dtypes).
rt::Tensor iota(rt::DType dtype, const rt::Shape &shape, int64_t dim);

/// Uniform [0, 1) draws: key (i32[2], the bit patterns of an rt::Key) and counter (i32[]) give
/// rt::drawKey(key, counter), filled with rt::fillUniform. f64 results are widened f32 draws.
rt::Tensor randomUniform(const rt::Tensor &key, const rt::Tensor &counter,
                         const rt::Shape &shape, rt::DType dtype);

/// Standard normal draws with rt::fillNormal, keyed as in randomUniform.
rt::Tensor randomNormal(const rt::Tensor &key, const rt::Tensor &counter,
                        const rt::Shape &shape, rt::DType dtype);

} // namespace nnx::interp
