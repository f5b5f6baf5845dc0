//===- Matmul.cpp - Lowering of nnx.matmul --------------------------------===//
//
// nnx.matmul becomes a named linalg contraction on a zero-filled init tensor:
//   [M, K] x [K, N]             -> linalg.matmul
//   [..., M, K] x [K, N]        -> collapse the leading dims into M, linalg.matmul, expand
//   [..., M, K] x [..., K, N]   -> collapse the batch dims into one, linalg.batch_matmul,
//                                  expand
// An operand that is an nnx.transpose of its last two dims (autodiff's g @ w^T and x^T @ g)
// is read in place through linalg's transpose_a / transpose_b forms instead of being
// materialised. Named ops (not generics) keep the contraction recognisable for the GEMM
// schedule (nnx-gemm-schedule). Their loops run k innermost and ascending, the order in which
// the interpreter accumulates.
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/LoweringUtils.h"
#include "codegen/linalg/Patterns.h"
#include "codegen/linalg/ScalarOps.h"

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

/// The input of `value`'s defining nnx.transpose when it swaps the last two dims and keeps
/// the others in place, converted by `rewriter`; null otherwise.
Value swappedLastTwo(Value value, ConversionPatternRewriter &rewriter) {
  auto transpose = value.getDefiningOp<TransposeOp>();
  if (!transpose)
    return nullptr;
  ArrayRef<int64_t> perm = transpose.getPerm();
  int64_t rank = perm.size();
  if (rank < 2 || perm[rank - 1] != rank - 2 || perm[rank - 2] != rank - 1)
    return nullptr;
  for (int64_t d = 0; d + 2 < rank; ++d)
    if (perm[d] != d)
      return nullptr;
  return rewriter.getRemappedValue(transpose.getInput());
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
    // x^T @ g reads x in place when x^T has no other rows to merge (rank 2, or batched).
    Value lhsT = (rank == 2 || rhsType.getRank() != 2) ? swappedLastTwo(op.getLhs(), rewriter)
                                                       : nullptr;
    Value rhsT = lhsT ? nullptr : swappedLastTwo(op.getRhs(), rewriter);
    if (rhsType.getRank() == 2) {
      // Every leading dim of lhs becomes a row: [P * M, K] x [K, N].
      int64_t rows = 1;
      for (int64_t d = 0; d + 1 < rank; ++d)
        rows *= resultType.getDimSize(d);
      Value init = createZeroTensor(rewriter, loc, {rows, rhsType.getDimSize(1)}, elementType);
      Operation *contraction;
      if (lhsT)
        contraction = rewriter.create<linalg::MatmulTransposeAOp>(loc, ValueRange{lhsT, rhs},
                                                                  ValueRange{init});
      else if (rhsT)
        contraction = rewriter.create<linalg::MatmulTransposeBOp>(
            loc, ValueRange{collapseLeading(rewriter, loc, lhs, rank - 1), rhsT},
            ValueRange{init});
      else
        contraction = rewriter.create<linalg::MatmulOp>(
            loc, ValueRange{collapseLeading(rewriter, loc, lhs, rank - 1), rhs},
            ValueRange{init});
      product = contraction->getResult(0);
    } else {
      // One batch dim: [P, M, K] x [P, K, N].
      Value a = collapseLeading(rewriter, loc, lhsT ? lhsT : lhs, rank - 2);
      Value b = collapseLeading(rewriter, loc, rhsT ? rhsT : rhs, rank - 2);
      int64_t batch = 1;
      for (int64_t d = 0; d + 2 < rank; ++d)
        batch *= resultType.getDimSize(d);
      Value init = createZeroTensor(
          rewriter, loc, {batch, resultType.getShape()[rank - 2], resultType.getShape().back()},
          elementType);
      Operation *contraction;
      if (lhsT)
        contraction = rewriter.create<linalg::BatchMatmulTransposeAOp>(loc, ValueRange{a, b},
                                                                       ValueRange{init});
      else if (rhsT)
        contraction = rewriter.create<linalg::BatchMatmulTransposeBOp>(loc, ValueRange{a, b},
                                                                       ValueRange{init});
      else
        contraction =
            rewriter.create<linalg::BatchMatmulOp>(loc, ValueRange{a, b}, ValueRange{init});
      product = contraction->getResult(0);
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
