//===- Matmul.cpp - Lowering of nnx.matmul --------------------------------===//
//
// nnx.matmul becomes a named linalg contraction on a zero-filled init tensor:
//   [M, K] x [K, N]             -> linalg.matmul
//   [..., M, K] x [K, N]        -> collapse the leading dims into M, linalg.matmul, expand
//   [..., M, K] x [..., K, N]   -> collapse the batch dims into one, linalg.batch_matmul,
//                                  expand
// Named ops (not generics) keep the contraction recognisable for later tiling and
// vectorisation. Their loops run k innermost and ascending, the order in which the
// interpreter accumulates.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/LoweringUtils.h"
#include "codegen/cpu/Patterns.h"
#include "codegen/cpu/ScalarOps.h"

#include "ir/NNXDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace nnx::ir;

namespace nnx::codegen {
namespace {

/// The reassociation of rank `rank` that merges dims [0, count) into one and keeps the rest.
SmallVector<ReassociationIndices> mergeLeading(int64_t rank, int64_t count) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices leading;
  for (int64_t d = 0; d < count; ++d)
    leading.push_back(d);
  groups.push_back(leading);
  for (int64_t d = count; d < rank; ++d)
    groups.push_back({d});
  return groups;
}

/// `value` with its first `count` dims merged into one (a no-op for count 1).
Value collapseLeading(OpBuilder &b, Location loc, Value value, int64_t count) {
  auto type = llvm::cast<RankedTensorType>(value.getType());
  if (count == 1)
    return value;
  return b.create<tensor::CollapseShapeOp>(loc, value, mergeLeading(type.getRank(), count));
}

/// A zero-filled tensor of `shape`, the accumulator of a contraction.
Value createZeroTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elementType) {
  auto type = RankedTensorType::get(shape, elementType);
  return createFilledTensor(b, loc, type, createFloatConstant(b, loc, elementType, 0.0));
}

struct MatmulLowering : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType lhsType = getStaticTensorType(adaptor.getLhs().getType());
    RankedTensorType rhsType = getStaticTensorType(adaptor.getRhs().getType());
    RankedTensorType resultType = getStaticTensorType(op.getType());
    if (!lhsType || !rhsType || !resultType)
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    if (lhsType.getRank() < 2 || (rhsType.getRank() != 2 && rhsType.getRank() != lhsType.getRank()))
      return rewriter.notifyMatchFailure(op, "unsupported operand ranks");
    Location loc = op.getLoc();
    int64_t rank = lhsType.getRank();
    Type elementType = resultType.getElementType();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs(), product;
    if (rhsType.getRank() == 2) {
      // Every leading dim of lhs becomes a row: [P * M, K] x [K, N].
      lhs = collapseLeading(rewriter, loc, lhs, rank - 1);
      int64_t rows = llvm::cast<RankedTensorType>(lhs.getType()).getDimSize(0);
      Value init = createZeroTensor(rewriter, loc, {rows, rhsType.getDimSize(1)}, elementType);
      product = rewriter.create<linalg::MatmulOp>(loc, ValueRange{lhs, rhs}, ValueRange{init})
                    .getResult(0);
    } else {
      // One batch dim: [P, M, K] x [P, K, N].
      lhs = collapseLeading(rewriter, loc, lhs, rank - 2);
      rhs = collapseLeading(rewriter, loc, rhs, rank - 2);
      auto lhsShape = llvm::cast<RankedTensorType>(lhs.getType()).getShape();
      Value init = createZeroTensor(
          rewriter, loc, {lhsShape[0], lhsShape[1], rhsType.getShape().back()}, elementType);
      product =
          rewriter.create<linalg::BatchMatmulOp>(loc, ValueRange{lhs, rhs}, ValueRange{init})
              .getResult(0);
    }
    rewriter.replaceOp(op, createReshape(rewriter, loc, product, resultType));
    return success();
  }
};

} // namespace

void populateMatmulLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<MatmulLowering>(patterns.getContext());
}

} // namespace nnx::codegen
