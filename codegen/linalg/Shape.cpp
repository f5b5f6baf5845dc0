//===- Shape.cpp - Lowering of broadcast and shape ops --------------------===//
//
// broadcast_in_dim becomes a linalg.generic that reads its operand through a projected map
// (a repeated extent-1 dimension reads index 0), so linalg-fuse-elementwise-ops folds it into
// its consumers and no broadcast tensor is ever materialised. reshape becomes
// tensor.collapse_shape / tensor.expand_shape (free after bufferization), transpose a
// linalg.transpose, slice a strided tensor.extract_slice, concat a chain of
// tensor.insert_slice into one tensor.empty, which one-shot bufferization fills in place, and
// pad (autodiff's transpose of a strided slice) a strided tensor.insert_slice into a
// zero-filled tensor; gather a generic that extracts from its operand at the clamped index.
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/LoweringUtils.h"
#include "codegen/linalg/Patterns.h"
#include "codegen/linalg/ScalarOps.h"

#include "ir/NNXDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace nnx::ir;

namespace nnx::codegen {
namespace {

struct BroadcastInDimLowering : OpConversionPattern<BroadcastInDimOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(BroadcastInDimOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType inputType = getStaticTensorType(adaptor.getInput().getType());
    RankedTensorType resultType = getStaticTensorType(op.getType());
    ArrayRef<int64_t> dims = op.getDims();
    if (!inputType || !resultType || static_cast<int64_t>(dims.size()) != inputType.getRank())
      return rewriter.notifyMatchFailure(op, "needs static shapes and one dim per operand dim");
    // Operand dim i is result dim dims[i], or the constant 0 when it is a repeated extent 1.
    SmallVector<AffineExpr> exprs;
    for (auto [i, dim] : llvm::enumerate(dims)) {
      if (dim < 0 || dim >= resultType.getRank())
        return rewriter.notifyMatchFailure(op, "dims out of range");
      bool repeated = inputType.getDimSize(i) == 1 && resultType.getDimSize(dim) != 1;
      exprs.push_back(repeated ? rewriter.getAffineConstantExpr(0)
                               : rewriter.getAffineDimExpr(dim));
    }
    auto map = AffineMap::get(resultType.getRank(), 0, exprs, rewriter.getContext());
    Value result = createParallelGeneric(
        rewriter, op.getLoc(), resultType, ValueRange{adaptor.getInput()}, {map},
        [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ReshapeLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType inputType = getStaticTensorType(adaptor.getInput().getType());
    RankedTensorType resultType = getStaticTensorType(op.getType());
    if (!inputType || !resultType || inputType.getNumElements() != resultType.getNumElements())
      return rewriter.notifyMatchFailure(op, "needs static shapes of equal element count");
    rewriter.replaceOp(op, createReshape(rewriter, op.getLoc(), adaptor.getInput(), resultType));
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType resultType = getStaticTensorType(op.getType());
    if (!resultType || !getStaticTensorType(adaptor.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    // An identity permutation (every transpose of a 0-d or 1-d tensor) moves nothing; an
    // empty linalg.transpose is not even valid IR.
    ArrayRef<int64_t> perm = op.getPerm();
    bool identity = true;
    for (size_t i = 0; i < perm.size(); ++i)
      identity &= perm[i] == static_cast<int64_t>(i);
    if (identity) {
      rewriter.replaceOp(op, adaptor.getInput());
      return success();
    }
    Value init = createEmptyTensor(rewriter, op.getLoc(), resultType);
    // linalg.transpose has nnx's convention: result dim i is operand dim perm[i].
    auto transpose = rewriter.create<linalg::TransposeOp>(op.getLoc(), adaptor.getInput(),
                                                          init, op.getPerm());
    rewriter.replaceOp(op, transpose.getResult());
    return success();
  }
};

struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType resultType = getStaticTensorType(op.getType());
    if (!resultType || !llvm::all_of(adaptor.getInputs().getTypes(), getStaticTensorType))
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    int64_t rank = resultType.getRank(), axis = static_cast<int64_t>(op.getAxis());
    if (axis < 0 || axis >= rank)
      return rewriter.notifyMatchFailure(op, "axis out of range");
    // The destination is created at the top of the block, where it dominates the operands'
    // producers: empty-tensor elimination can then let a producer write into its slice.
    Value result;
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(op->getBlock());
      result = createEmptyTensor(rewriter, loc, resultType);
    }
    SmallVector<OpFoldResult> offsets(rank, rewriter.getIndexAttr(0));
    SmallVector<OpFoldResult> strides(rank, rewriter.getIndexAttr(1));
    int64_t offset = 0;
    for (Value input : adaptor.getInputs()) {
      auto type = llvm::cast<RankedTensorType>(input.getType());
      SmallVector<OpFoldResult> sizes;
      for (int64_t extent : type.getShape())
        sizes.push_back(rewriter.getIndexAttr(extent));
      offsets[axis] = rewriter.getIndexAttr(offset);
      result = rewriter.create<tensor::InsertSliceOp>(loc, input, result, offsets, sizes, strides);
      offset += type.getDimSize(axis);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType resultType = getStaticTensorType(op.getType());
    if (!resultType || !getStaticTensorType(adaptor.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    SmallVector<OpFoldResult> offsets, sizes, strides;
    for (auto [start, extent, stride] :
         llvm::zip(op.getStart(), resultType.getShape(), op.getStride())) {
      offsets.push_back(rewriter.getIndexAttr(start));
      sizes.push_back(rewriter.getIndexAttr(extent));
      strides.push_back(rewriter.getIndexAttr(stride));
    }
    rewriter.replaceOpWithNewOp<tensor::ExtractSliceOp>(op, resultType, adaptor.getInput(),
                                                        offsets, sizes, strides);
    return success();
  }
};

struct PadLowering : OpConversionPattern<PadOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(PadOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType resultType = getStaticTensorType(op.getType());
    RankedTensorType inputType = getStaticTensorType(adaptor.getInput().getType());
    if (!resultType || !inputType)
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    rewriter.replaceOp(op, createZeroPadded(rewriter, op.getLoc(), adaptor.getInput(),
                                            resultType, op.getLow(), op.getInterior()));
    return success();
  }
};

} // namespace

/// gather: a linalg.generic over the result that reads the index through its map and the
/// operand with tensor.extract at the clamped index (the batch, pre- and post-axis
/// coordinates are the loop's own; the batch dims index the indices too).
struct GatherLowering : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType resultType = getStaticTensorType(op.getType());
    RankedTensorType inputType = getStaticTensorType(adaptor.getInput().getType());
    RankedTensorType indexType = getStaticTensorType(adaptor.getIndices().getType());
    if (!resultType || !inputType || !indexType)
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    int64_t axis = static_cast<int64_t>(op.getAxis()), rank = resultType.getRank();
    int64_t batch = static_cast<int64_t>(op.getBatchDims());
    int64_t picked = indexType.getRank() - batch, extent = inputType.getDimSize(axis);
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < batch; ++d)
      exprs.push_back(rewriter.getAffineDimExpr(d));
    for (int64_t d = axis; d < axis + picked; ++d)
      exprs.push_back(rewriter.getAffineDimExpr(d));
    auto indexMap = AffineMap::get(rank, 0, exprs, rewriter.getContext());
    Value input = adaptor.getInput();
    Value result = createParallelGeneric(
        rewriter, op.getLoc(), resultType, ValueRange{adaptor.getIndices()}, {indexMap},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value k = b.create<arith::IndexCastOp>(loc, b.getIndexType(), args[0]);
          Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
          Value last = b.create<arith::ConstantIndexOp>(loc, extent - 1);
          k = b.create<arith::MinSIOp>(loc, b.create<arith::MaxSIOp>(loc, k, zero), last);
          SmallVector<Value> coords;
          for (int64_t d = 0; d < axis; ++d)
            coords.push_back(b.create<linalg::IndexOp>(loc, d));
          coords.push_back(k);
          for (int64_t d = axis + picked; d < rank; ++d)
            coords.push_back(b.create<linalg::IndexOp>(loc, d));
          return b.create<tensor::ExtractOp>(loc, input, coords).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

void populateShapeLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<BroadcastInDimLowering, ReshapeLowering, TransposeLowering, ConcatLowering,
               SliceLowering, PadLowering, GatherLowering>(patterns.getContext());
}

} // namespace nnx::codegen
