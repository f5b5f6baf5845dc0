//===- AutodiffStructural.cpp - VJP rules of shape, reduction, matmul ops -===//
//
// Data movement is transposed: broadcast_in_dim sums over the dimensions it added or
// repeated, reduce_sum broadcasts back, reshape reshapes back, transpose applies the inverse
// permutation, reverse reverses back, concat slices its operands' parts out of the adjoint,
// slice pads the adjoint with zeros (interior padding undoes the stride) and pad slices it
// back out. reduce_max/min
// share the adjoint evenly among the elements equal to the result (JAX's rule for ties).
// matmul's adjoints are g b^T and a^T g, summed over the batch when one matrix is shared;
// gather's is a one-hot contraction of g with the clamped indices (a matmul, no scatter);
// softmax's is y (g - sum(g y)) and log_softmax's g - exp(y) sum(g).
//
//===----------------------------------------------------------------------===//
#include "ir/AutodiffRules.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace nnx::ir::detail {
namespace {

RankedTensorType rankedType(Value v) { return llvm::cast<RankedTensorType>(v.getType()); }

/// broadcast_in_dim: sum over the result dims that are not operand dims and the operand
/// dims of extent 1 that were repeated, then reshape to the operand's type.
void broadcastVjp(BroadcastInDimOp op, Value g, AdjointBuilder &adj) {
  RankedTensorType in = rankedType(op.getInput()), out = op.getType();
  ArrayRef<int64_t> dims = op.getDims();
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < out.getRank(); ++d) {
    auto *it = llvm::find(dims, d);
    if (it == dims.end() || (in.getDimSize(it - dims.begin()) == 1 && out.getDimSize(d) != 1))
      axes.push_back(d);
  }
  adj.accumulate(op.getInput(), adj.reshape(adj.reduceSum(g, axes), in));
}

/// reduce_max/min: mask of the elements equal to the result, each taking g / (tie count).
void chooserReduceVjp(Operation *op, ArrayRef<int64_t> axes, Value g, AdjointBuilder &adj) {
  Value x = op->getOperand(0), y = op->getResult(0);
  RankedTensorType type = rankedType(x);
  SmallVector<int64_t> kept = keptDims(type.getRank(), axes);
  Value chosen = adj.cmp(CmpPredicate::eq, x, adj.broadcast(y, type, kept));
  Value mask = adj.create<ConvertOp>(type, chosen);
  Value share = adj.div(g, adj.reduceSum(mask, axes));
  adj.accumulate(x, adj.mul(mask, adj.broadcast(share, type, kept)));
}

/// concat: each operand's adjoint is its slice of g along the axis.
void concatVjp(ConcatOp op, Value g, AdjointBuilder &adj) {
  RankedTensorType out = op.getType();
  int64_t axis = static_cast<int64_t>(op.getAxis()), offset = 0;
  SmallVector<int64_t> start(out.getRank(), 0), limit(out.getShape()), stride(out.getRank(), 1);
  for (Value input : op.getInputs()) {
    int64_t extent = rankedType(input).getDimSize(axis);
    if (adj.wants(input)) {
      start[axis] = offset;
      limit[axis] = offset + extent;
      adj.accumulate(input, adj.slice(g, start, limit, stride));
    }
    offset += extent;
  }
}

/// slice: g padded with zeros back to the operand's shape (interior padding = stride - 1).
void sliceVjp(SliceOp op, Value g, AdjointBuilder &adj) {
  RankedTensorType in = rankedType(op.getInput()), out = op.getType();
  if (out.getNumElements() == 0)
    return; // no element of the operand reaches the result
  SmallVector<int64_t> low(op.getStart()), high, interior;
  for (auto [d, stride] : llvm::enumerate(op.getStride())) {
    int64_t last = low[d] + (out.getDimSize(d) - 1) * stride;
    high.push_back(in.getDimSize(d) - last - 1);
    interior.push_back(stride - 1);
  }
  adj.accumulate(op.getInput(), adj.create<PadOp>(in, g, low, high, interior));
}

/// pad: the operand's elements, a strided slice of g.
void padVjp(PadOp op, Value g, AdjointBuilder &adj) {
  RankedTensorType in = rankedType(op.getInput());
  if (in.getNumElements() == 0)
    return;
  SmallVector<int64_t> start(op.getLow()), limit, stride;
  for (auto [d, interior] : llvm::enumerate(op.getInterior())) {
    stride.push_back(interior + 1);
    limit.push_back(start[d] + (in.getDimSize(d) - 1) * stride.back() + 1);
  }
  adj.accumulate(op.getInput(), adj.slice(g, start, limit, stride));
}

/// The permutation swapping the last two of `rank` dimensions.
SmallVector<int64_t> swapLastTwo(int64_t rank) {
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  std::swap(perm[rank - 2], perm[rank - 1]);
  return perm;
}

/// matmul a [..., M, K] x b [K, N] or [..., K, N]: da = g b^T; db = a^T g, where a shared b
/// sums over the batch by contracting over the flattened batch and M dimensions.
void matmulVjp(MatmulOp op, Value g, AdjointBuilder &adj) {
  Value a = op.getLhs(), b = op.getRhs();
  RankedTensorType aType = rankedType(a), bType = rankedType(b);
  int64_t aRank = aType.getRank(), bRank = bType.getRank();
  if (adj.wants(a)) {
    Value bT = adj.transpose(b, swapLastTwo(bRank));
    adj.accumulate(a, adj.create<MatmulOp>(aType, g, bT));
  }
  if (!adj.wants(b))
    return;
  if (bRank == aRank) { // batched (or both matrices)
    Value aT = adj.transpose(a, swapLastTwo(aRank));
    adj.accumulate(b, adj.create<MatmulOp>(bType, aT, g));
    return;
  }
  int64_t rows = aType.getNumElements() / aType.getShape().back();
  Type elem = aType.getElementType();
  Value a2 = adj.reshape(a, RankedTensorType::get({rows, aType.getShape().back()}, elem));
  Value g2 = adj.reshape(g, RankedTensorType::get({rows, bType.getShape().back()}, elem));
  adj.accumulate(b, adj.create<MatmulOp>(bType, adj.transpose(a2, {1, 0}), g2));
}

/// softmax: y (g - sum(g y)); log_softmax: g - exp(y) sum(g); sums along the axis.
void softmaxVjp(Operation *op, int64_t axis, Value g, AdjointBuilder &adj) {
  Value x = op->getOperand(0), y = op->getResult(0);
  RankedTensorType type = rankedType(y);
  SmallVector<int64_t> kept = keptDims(type.getRank(), {axis});
  if (llvm::isa<SoftmaxOp>(op)) {
    Value total = adj.broadcast(adj.reduceSum(adj.mul(g, y), {axis}), type, kept);
    adj.accumulate(x, adj.mul(y, adj.sub(g, total)));
    return;
  }
  Value total = adj.broadcast(adj.reduceSum(g, {axis}), type, kept);
  adj.accumulate(x, adj.sub(g, adj.mul(adj.create<ExpOp>(type, y), total)));
}

/// gather x [B..., P..., n, Q...] (B its batch_dims) at indices [B..., I...] along `axis`:
/// x's adjoint is adj[b, p, j, q] = sum over i of [clamp(idx[b, i]) == j] g[b, p, i, q]. With
/// one index per batch element (take_along_axis, x[k]) that is a select of g over the one-hot
/// [B, 1, n, 1]: elementwise, so it fuses with its neighbours, and an inf or NaN of g stays
/// in its own position as a scatter-add keeps it. Otherwise g as [B, P Q, I] times the
/// one-hot [B, I, n] (one matmul, batched when B > 1). No scatter: the same ops as
/// everything else, and linear in B.
void gatherVjp(GatherOp op, Value g, AdjointBuilder &adj) {
  Value x = op.getInput(), idx = op.getIndices();
  RankedTensorType xType = rankedType(x), idxType = rankedType(idx);
  int64_t axis = static_cast<int64_t>(op.getAxis());
  int64_t batchDims = static_cast<int64_t>(op.getBatchDims()), n = xType.getDimSize(axis);
  ArrayRef<int64_t> xShape = xType.getShape();
  int64_t batch = ShapedType::getNumElements(xShape.take_front(batchDims));
  int64_t outer = ShapedType::getNumElements(xShape.slice(batchDims, axis - batchDims));
  int64_t inner = ShapedType::getNumElements(xShape.drop_front(axis + 1));
  int64_t count = ShapedType::getNumElements(idxType.getShape().drop_front(batchDims));
  if (!adj.wants(x) || batch == 0 || count == 0 || n == 0)
    return;
  Type elem = xType.getElementType(), intElem = idxType.getElementType();
  auto flatIdxType = RankedTensorType::get({batch, count}, intElem);
  Value flat = adj.reshape(idx, flatIdxType);
  flat = adj.create<MaxOp>(flatIdxType, flat, adj.splat(flatIdxType, 0));
  flat = adj.create<MinOp>(flatIdxType, flat, adj.splat(flatIdxType, double(n - 1)));
  if (count == 1) {
    auto spreadType = RankedTensorType::get({batch, outer, n, inner}, elem);
    auto positionType = RankedTensorType::get({batch, outer, n, inner}, intElem);
    Value positions = adj.create<IotaOp>(positionType, /*dim=*/2);
    Value k = adj.reshape(flat, RankedTensorType::get({batch}, intElem));
    Value chosen = adj.cmp(CmpPredicate::eq, positions, adj.broadcast(k, positionType, {0}));
    Value g3 = adj.reshape(g, RankedTensorType::get({batch, outer, inner}, elem));
    Value spread = adj.broadcast(g3, spreadType, {0, 1, 3});
    adj.accumulate(x, adj.reshape(adj.select(chosen, spread, adj.zeros(spreadType)), xType));
    return;
  }
  auto hotIntType = RankedTensorType::get({batch, count, n}, intElem);
  Value positions = adj.create<IotaOp>(hotIntType, /*dim=*/2);
  Value chosen = adj.cmp(CmpPredicate::eq, positions, adj.broadcast(flat, hotIntType, {0, 1}));
  Value hot = adj.create<ConvertOp>(RankedTensorType::get({batch, count, n}, elem), chosen);
  Value g4 = adj.reshape(g, RankedTensorType::get({batch, outer, count, inner}, elem));
  Value gT = adj.transpose(g4, {0, 1, 3, 2}); // [B, P, Q, I]
  Value summed;
  if (batch == 1) { // one one-hot shared by every row of g: [P Q, I] x [I, n]
    Value lhs = adj.reshape(gT, RankedTensorType::get({outer * inner, count}, elem));
    Value rhs = adj.reshape(hot, RankedTensorType::get({count, n}, elem));
    summed = adj.create<MatmulOp>(RankedTensorType::get({outer * inner, n}, elem), lhs, rhs);
  } else {
    Value lhs = adj.reshape(gT, RankedTensorType::get({batch, outer * inner, count}, elem));
    summed =
        adj.create<MatmulOp>(RankedTensorType::get({batch, outer * inner, n}, elem), lhs, hot);
  }
  summed = adj.reshape(summed, RankedTensorType::get({batch, outer, inner, n}, elem));
  adj.accumulate(x, adj.reshape(adj.transpose(summed, {0, 1, 3, 2}), xType));
}

/// transpose: g permuted back with the inverse permutation.
void transposeVjp(TransposeOp op, Value g, AdjointBuilder &adj) {
  ArrayRef<int64_t> perm = op.getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = static_cast<int64_t>(i);
  adj.accumulate(op.getInput(), adj.transpose(g, inverse));
}

} // namespace

bool emitStructuralVjp(Operation *op, Value grad, AdjointBuilder &adj) {
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case([&](BroadcastInDimOp o) { broadcastVjp(o, grad, adj); return true; })
      .Case([&](ReduceSumOp o) {
        RankedTensorType type = rankedType(o.getInput());
        adj.accumulate(o.getInput(),
                       adj.broadcast(grad, type, keptDims(type.getRank(), o.getAxes())));
        return true;
      })
      .Case([&](ReduceMaxOp o) { chooserReduceVjp(o, o.getAxes(), grad, adj); return true; })
      .Case([&](ReduceMinOp o) { chooserReduceVjp(o, o.getAxes(), grad, adj); return true; })
      .Case([&](ReshapeOp o) {
        adj.accumulate(o.getInput(), adj.reshape(grad, o.getInput().getType()));
        return true;
      })
      .Case([&](TransposeOp o) { transposeVjp(o, grad, adj); return true; })
      .Case([&](ReverseOp o) {
        adj.accumulate(o.getInput(), adj.create<ReverseOp>(o.getType(), grad, o.getDims()));
        return true;
      })
      .Case([&](ConcatOp o) { concatVjp(o, grad, adj); return true; })
      .Case([&](SliceOp o) { sliceVjp(o, grad, adj); return true; })
      .Case([&](PadOp o) { padVjp(o, grad, adj); return true; })
      .Case([&](MatmulOp o) { matmulVjp(o, grad, adj); return true; })
      .Case([&](GatherOp o) { gatherVjp(o, grad, adj); return true; })
      .Case([&](SoftmaxOp o) { softmaxVjp(o, o.getAxis(), grad, adj); return true; })
      .Case([&](LogSoftmaxOp o) { softmaxVjp(o, o.getAxis(), grad, adj); return true; })
      // No gradient flows through these (their float operands, if any, are not inputs).
      .Case<ConstantOp, IotaOp, CmpOp, AndOp, OrOp, NotOp, FloorOp, RandomUniformOp,
            RandomNormalOp>(
          [](Operation *) { return true; })
      .Default([](Operation *) { return false; });
}

} // namespace nnx::ir::detail
