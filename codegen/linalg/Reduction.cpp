//===- Reduction.cpp - Lowering of reductions and softmax -----------------===//
//
// reduce_sum/max/min become a linalg.generic over the operand's dimensions with reduction
// iterators on the reduced axes and an init filled with the identity (0, -inf / lowest
// integer, +inf / highest integer). Generics rather than linalg.reduce, so that elementwise
// producers fuse into them. The loops walk the operand in row-major order, the order in which
// the interpreter combines elements, and max/min use its NaN rule.
//
// softmax and log_softmax are decomposed as the interpreter computes them, numerically
// stable: m = max over the axis; s = sum over the axis of exp(x - m); then exp(x - m) / s, or
// (x - m) - log(s). m and s are read back through maps that drop the axis.
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/LoweringUtils.h"
#include "codegen/linalg/Patterns.h"
#include "codegen/linalg/ScalarOps.h"

#include "ir/NNXDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace nnx::ir;

namespace nnx::codegen {
namespace {

/// The three reductions.
enum class ReductionKind { Sum, Max, Min };

/// The value a reduction of nothing yields.
Value createIdentity(OpBuilder &b, Location loc, ReductionKind kind, Type type) {
  if (kind == ReductionKind::Sum)
    return createNumericConstant(b, loc, type, 0.0);
  bool isMax = kind == ReductionKind::Max;
  if (llvm::isa<FloatType>(type)) {
    double inf = std::numeric_limits<double>::infinity();
    return createFloatConstant(b, loc, type, isMax ? -inf : inf);
  }
  unsigned width = type.getIntOrFloatBitWidth();
  APInt bound = isMax ? APInt::getSignedMinValue(width) : APInt::getSignedMaxValue(width);
  return b.create<arith::ConstantOp>(loc, b.getIntegerAttr(type, bound));
}

/// acc combined with x, as the interpreter's combine(op, acc, x).
Value createCombine(OpBuilder &b, Location loc, ReductionKind kind, Value acc, Value x) {
  switch (kind) {
  case ReductionKind::Sum:
    if (llvm::isa<FloatType>(acc.getType()))
      return b.create<arith::AddFOp>(loc, acc, x);
    return b.create<arith::AddIOp>(loc, acc, x);
  case ReductionKind::Max: return createMaximum(b, loc, x, acc);
  case ReductionKind::Min: return createMinimum(b, loc, x, acc);
  }
  return acc;
}

/// reduce_sum/max/min over sorted `axes`.
template <typename OpTy, ReductionKind Kind> struct ReduceLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType inputType = getStaticTensorType(adaptor.getInput().getType());
    RankedTensorType resultType = getStaticTensorType(op.getType());
    if (!inputType || !resultType)
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    int64_t rank = inputType.getRank();
    Value init = createIdentity(rewriter, loc, Kind, resultType.getElementType());
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    Value result = createReductionGeneric(
        rewriter, loc, resultType, rank, op.getAxes(), ValueRange{adaptor.getInput()},
        {identity}, init, [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return createCombine(b, nestedLoc, Kind, /*acc=*/args[1], /*x=*/args[0]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// The pieces of a softmax along `axis`: the per-lane maximum m and sum s of exp(x - m).
struct SoftmaxParts {
  Value max, sum;
  AffineMap identity, lane;
};

SoftmaxParts createSoftmaxParts(OpBuilder &b, Location loc, Value x, int64_t axis) {
  auto type = llvm::cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank();
  Type element = type.getElementType();
  SmallVector<int64_t> laneShape(type.getShape());
  laneShape.erase(laneShape.begin() + axis);
  auto laneType = RankedTensorType::get(laneShape, element);
  SoftmaxParts parts;
  parts.identity = b.getMultiDimIdentityMap(rank);
  parts.lane = getDroppedAxesMap(rank, {axis}, b.getContext());
  parts.max = createReductionGeneric(
      b, loc, laneType, rank, {axis}, ValueRange{x}, {parts.identity},
      createIdentity(b, loc, ReductionKind::Max, element),
      [](OpBuilder &nb, Location nl, ValueRange args) {
        return createMaximum(nb, nl, args[0], args[1]);
      });
  parts.sum = createReductionGeneric(
      b, loc, laneType, rank, {axis}, ValueRange{x, parts.max}, {parts.identity, parts.lane},
      createFloatConstant(b, loc, element, 0.0),
      [](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value shifted = nb.create<arith::SubFOp>(nl, args[0], args[1]);
        return nb.create<arith::AddFOp>(nl, args[2], nb.create<math::ExpOp>(nl, shifted));
      });
  return parts;
}

/// softmax (IsLog false) or log_softmax (IsLog true).
template <typename OpTy, bool IsLog> struct SoftmaxLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = getStaticTensorType(op.getType());
    auto axis = static_cast<int64_t>(op.getAxis());
    if (!type || axis < 0 || axis >= type.getRank())
      return rewriter.notifyMatchFailure(op, "needs a static shape and a valid axis");
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    SoftmaxParts parts = createSoftmaxParts(rewriter, loc, x, axis);
    Value result = createParallelGeneric(
        rewriter, loc, type, ValueRange{x, parts.max, parts.sum},
        {parts.identity, parts.lane, parts.lane},
        [](OpBuilder &b, Location nl, ValueRange args) -> Value {
          Value shifted = b.create<arith::SubFOp>(nl, args[0], args[1]);
          if (IsLog)
            return b.create<arith::SubFOp>(nl, shifted, b.create<math::LogOp>(nl, args[2]));
          return b.create<arith::DivFOp>(nl, b.create<math::ExpOp>(nl, shifted), args[2]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateReductionLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<ReduceLowering<ReduceSumOp, ReductionKind::Sum>,
               ReduceLowering<ReduceMaxOp, ReductionKind::Max>,
               ReduceLowering<ReduceMinOp, ReductionKind::Min>,
               SoftmaxLowering<SoftmaxOp, false>, SoftmaxLowering<LogSoftmaxOp, true>>(
      patterns.getContext());
}

} // namespace nnx::codegen
