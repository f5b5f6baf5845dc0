//===- LoweringUtils.cpp - Building blocks of the nnx-to-linalg patterns --===//
//
// See LoweringUtils.h. Every helper creates destination-passing-style IR on tensors: the
// "init" operand of a linalg op is a tensor.empty (or a filled one for reductions), which
// one-shot bufferization later turns into an allocation or an in-place reuse.
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/LoweringUtils.h"
#include "codegen/linalg/ScalarOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

using namespace mlir;

namespace nnx::codegen {

RankedTensorType getStaticTensorType(Type type) {
  auto tensor = llvm::dyn_cast<RankedTensorType>(type);
  return tensor && tensor.hasStaticShape() ? tensor : RankedTensorType();
}

Value createEmptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
}

Value createFilledTensor(OpBuilder &b, Location loc, RankedTensorType type, Value scalar) {
  Value empty = createEmptyTensor(b, loc, type);
  return b.create<linalg::FillOp>(loc, scalar, empty).getResult(0);
}

Value createParallelGeneric(OpBuilder &b, Location loc, RankedTensorType resultType,
                            ValueRange inputs, ArrayRef<AffineMap> inputMaps,
                            BodyBuilder body) {
  int64_t rank = resultType.getRank();
  SmallVector<AffineMap> maps(inputMaps.begin(), inputMaps.end());
  maps.push_back(b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  Value init = createEmptyTensor(b, loc, resultType);
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange{resultType}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        // The last block argument is the (unused) element of the empty init tensor.
        Value result = body(nested, nestedLoc, args.drop_back());
        nested.create<linalg::YieldOp>(nestedLoc, result);
      });
  return generic.getResult(0);
}

Value createElementwiseGeneric(OpBuilder &b, Location loc, RankedTensorType resultType,
                               ValueRange inputs, BodyBuilder body) {
  SmallVector<AffineMap> maps(inputs.size(), b.getMultiDimIdentityMap(resultType.getRank()));
  return createParallelGeneric(b, loc, resultType, inputs, maps, body);
}

AffineMap getDroppedAxesMap(int64_t rank, ArrayRef<int64_t> axes, MLIRContext *context) {
  SmallVector<AffineExpr> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      kept.push_back(getAffineDimExpr(d, context));
  return AffineMap::get(rank, /*symbolCount=*/0, kept, context);
}

Value createReductionGeneric(OpBuilder &b, Location loc, RankedTensorType resultType,
                             int64_t rank, ArrayRef<int64_t> axes, ValueRange inputs,
                             ArrayRef<AffineMap> inputMaps, Value init, BodyBuilder body) {
  SmallVector<AffineMap> maps(inputMaps.begin(), inputMaps.end());
  maps.push_back(getDroppedAxesMap(rank, axes, b.getContext()));
  SmallVector<utils::IteratorType> iterators(rank, utils::IteratorType::parallel);
  for (int64_t axis : axes)
    iterators[axis] = utils::IteratorType::reduction;
  Value acc = createFilledTensor(b, loc, resultType, init);
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange{resultType}, inputs, ValueRange{acc}, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        nested.create<linalg::YieldOp>(nestedLoc, body(nested, nestedLoc, args));
      });
  return generic.getResult(0);
}

Value createZeroPadded(OpBuilder &b, Location loc, Value input, RankedTensorType resultType,
                       ArrayRef<int64_t> low, ArrayRef<int64_t> interior) {
  auto inputType = llvm::cast<RankedTensorType>(input.getType());
  Value zero = createNumericConstant(b, loc, resultType.getElementType(), 0.0);
  Value result = createFilledTensor(b, loc, resultType, zero);
  if (inputType.getNumElements() == 0)
    return result;
  // Operand element i of dim d lands at low[d] + i * (interior[d] + 1).
  SmallVector<OpFoldResult> offsets, sizes, strides;
  for (auto [lo, extent, gap] : llvm::zip(low, inputType.getShape(), interior)) {
    offsets.push_back(b.getIndexAttr(lo));
    sizes.push_back(b.getIndexAttr(extent));
    strides.push_back(b.getIndexAttr(gap + 1));
  }
  return b.create<tensor::InsertSliceOp>(loc, input, result, offsets, sizes, strides);
}

/// The reassociation that groups all `rank` dimensions into one (none for rank 0).
static SmallVector<ReassociationIndices> groupAll(int64_t rank) {
  if (rank == 0)
    return {};
  ReassociationIndices all;
  for (int64_t d = 0; d < rank; ++d)
    all.push_back(d);
  return {all};
}

Value createReshape(OpBuilder &b, Location loc, Value input, RankedTensorType resultType) {
  auto inputType = llvm::cast<RankedTensorType>(input.getType());
  if (inputType == resultType)
    return input;
  ArrayRef<int64_t> from = inputType.getShape(), to = resultType.getShape();
  if (from.size() > to.size())
    if (auto groups = getReassociationIndicesForCollapse(from, to))
      return b.create<tensor::CollapseShapeOp>(loc, resultType, input, *groups);
  if (to.size() > from.size())
    if (auto groups = getReassociationIndicesForCollapse(to, from))
      return b.create<tensor::ExpandShapeOp>(loc, resultType, input, *groups);
  // The shapes do not nest (e.g. [2, 3] -> [3, 2]): go through one dimension. Both ranks
  // are at least 1 here, since a rank-0 shape nests in every shape of one element.
  Value flat = input;
  auto flatType = RankedTensorType::get({inputType.getNumElements()},
                                        inputType.getElementType());
  if (inputType.getRank() != 1)
    flat = b.create<tensor::CollapseShapeOp>(loc, flatType, input, groupAll(from.size()));
  if (resultType.getRank() == 1)
    return flat;
  return b.create<tensor::ExpandShapeOp>(loc, resultType, flat, groupAll(to.size()));
}

} // namespace nnx::codegen
