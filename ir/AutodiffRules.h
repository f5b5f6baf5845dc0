//===- AutodiffRules.h - VJP rules of nnx ops (internal to ir/) -----------===//
//
// The reverse sweep of Autodiff.cpp hands each forward op, with the adjoint of its result, to
// the vector-Jacobian-product rules of its family: AutodiffElementwise.cpp (unary, binary,
// select, convert), AutodiffStructural.cpp (broadcast, reductions, shape ops, matmul,
// softmax), AutodiffWindow.cpp (conv and the window pools) and AutodiffScan.cpp (scan, the
// one op with a region). A rule asks the
// AdjointBuilder which operands want an adjoint, builds nnx ops with its small helpers and adds
// each contribution with accumulate(). Rules follow JAX's conventions (abs' is sign with
// sign(0) = 0, ties of max/min split the gradient evenly, pow's derivative is guarded at a
// zero exponent and base). Not part of the public API.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/NNXDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallVector.h"

namespace nnx::ir::detail {

/// The adjoint map of one reverse sweep, and the builders every VJP rule uses. New ops go at
/// the builder's insertion point with the location set by setLoc() (the forward op's).
class AdjointBuilder {
public:
  /// `active` holds the float values that depend on a value differentiated against.
  AdjointBuilder(mlir::OpBuilder &builder, const llvm::DenseSet<mlir::Value> &active,
                 mlir::Location loc)
      : builder_(builder), active_(active), loc_(loc) {}

  /// The builder, positioned where backward ops go.
  mlir::OpBuilder &builder() { return builder_; }

  /// The location given to the ops built from now on.
  void setLoc(mlir::Location loc) { loc_ = loc; }

  /// True when `v` depends on a value differentiated against, so its adjoint is wanted.
  bool wants(mlir::Value v) const { return active_.contains(v); }

  /// Adds the contribution `g` (of v's type) to the adjoint of `v`, if `v` wants one.
  void accumulate(mlir::Value v, mlir::Value g);

  /// The adjoint accumulated for `v`, or null when nothing reached it.
  mlir::Value lookup(mlir::Value v) const { return adjoints_.lookup(v); }

  /// Builds an nnx op of result type `type` (an ODS builder taking the type first).
  template <typename OpTy, typename... Args> mlir::Value create(mlir::Type type, Args &&...args) {
    return builder_.create<OpTy>(loc_, type, std::forward<Args>(args)...).getResult();
  }

  /// A splat nnx.constant of `type` (a ranked tensor) with every element `value`.
  mlir::Value splat(mlir::Type type, double value);
  /// A splat zero of `type`, of any element type.
  mlir::Value zeros(mlir::Type type);

  /// Elementwise ops whose result has the first operand's type.
  mlir::Value add(mlir::Value a, mlir::Value b) { return create<AddOp>(a.getType(), a, b); }
  mlir::Value sub(mlir::Value a, mlir::Value b) { return create<SubOp>(a.getType(), a, b); }
  mlir::Value mul(mlir::Value a, mlir::Value b) { return create<MulOp>(a.getType(), a, b); }
  mlir::Value div(mlir::Value a, mlir::Value b) { return create<DivOp>(a.getType(), a, b); }
  mlir::Value neg(mlir::Value a) { return create<NegOp>(a.getType(), a); }
  /// The i1 tensor `a pred b`.
  mlir::Value cmp(CmpPredicate pred, mlir::Value a, mlir::Value b);
  /// cond ? a : b.
  mlir::Value select(mlir::Value cond, mlir::Value a, mlir::Value b) {
    return create<SelectOp>(a.getType(), cond, a, b);
  }

  /// nnx.broadcast_in_dim of `v` to `type`: operand dim i becomes result dim dims[i].
  mlir::Value broadcast(mlir::Value v, mlir::Type type, llvm::ArrayRef<int64_t> dims);
  /// nnx.reduce_sum of `v` over `axes` (sorted); `v` itself when there are none.
  mlir::Value reduceSum(mlir::Value v, llvm::ArrayRef<int64_t> axes);
  /// nnx.reshape of `v` to `type`; `v` itself when it already has that type.
  mlir::Value reshape(mlir::Value v, mlir::Type type);
  /// nnx.transpose: result dim i is operand dim perm[i].
  mlir::Value transpose(mlir::Value v, llvm::ArrayRef<int64_t> perm);
  /// nnx.slice with the given start, limit and stride on every dimension.
  mlir::Value slice(mlir::Value v, llvm::ArrayRef<int64_t> start, llvm::ArrayRef<int64_t> limit,
                    llvm::ArrayRef<int64_t> stride);

private:
  mlir::OpBuilder &builder_;
  const llvm::DenseSet<mlir::Value> &active_;
  mlir::Location loc_;
  llvm::DenseMap<mlir::Value, mlir::Value> adjoints_;
};

/// The dimensions of a rank-`rank` tensor that are not in `axes` (sorted): where the kept
/// dimensions of a reduction's result go when it is broadcast back.
llvm::SmallVector<int64_t> keptDims(int64_t rank, llvm::ArrayRef<int64_t> axes);

/// Emits the VJP of a unary, binary, select or convert op given the adjoint `grad` of its
/// result. Returns false when `op` is not of these families.
bool emitElementwiseVjp(mlir::Operation *op, mlir::Value grad, AdjointBuilder &adj);

/// Emits the VJP of a scan (AutodiffScan.cpp): every result's adjoint is looked up (missing
/// ones are zero), the forward scan is replaced by one that also stacks its carries, and a
/// reverse scan applies the body's VJP step by step, accumulating into the adjoints of the
/// initial carries, the scanned operands and the constants.
mlir::LogicalResult emitScanVjp(ScanOp op, AdjointBuilder &adj);

/// Emits the VJP of a broadcast, reduction, shape op, matmul, softmax or log_softmax, and
/// accepts the ops that pass no gradient (constants, iota, comparisons, logic, random draws).
/// Returns false for any other op.
bool emitStructuralVjp(mlir::Operation *op, mlir::Value grad, AdjointBuilder &adj);

/// Emits the VJP of conv, pool_sum, pool_max or pool_min (AutodiffWindow.cpp). Returns false
/// for any other op.
bool emitWindowVjp(mlir::Operation *op, mlir::Value grad, AdjointBuilder &adj);

} // namespace nnx::ir::detail
