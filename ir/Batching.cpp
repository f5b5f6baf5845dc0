//===- Batching.cpp - The vmap batching transform of nnx IR ---------------===//
//
// batchOps walks the unbatched ops in order and emits, for each, its batched form: the batch
// is always the leading dimension of a batched value, so most rules clone the op with its
// dimension attributes shifted by one and the batch prepended to its result types:
//
//   elementwise ops          unbatched operands broadcast to the batch first
//   broadcast_in_dim         dims -> [0, dims + 1]
//   reduce_*, softmax        axes / axis + 1
//   reshape                  result [B, shape]
//   transpose                perm -> [0, perm + 1]
//   concat, slice, pad,      every operand batched; axis + 1; start/limit/stride,
//   reverse                  low/high/interior and dims gain the batch dimension
//   matmul                   a shared right matrix stays shared; anything else becomes a
//                            batched product, with the unbatched side broadcast
//   random draws             a draw of [B, shape] from the same key and counter: every element
//                            of the batch gets its own samples (nnx splits rng keys by index
//                            itself, no split_rngs); with batched keys or counters, a scan over
//                            the batch draws each element from its own key
//   conv, pool_*             the batch merges into the leading (N) dimension; a batched
//                            kernel: one convolution per element
//   gather                   along axis + 1 for a batched operand; batched indices put the
//                            batch at the axis, moved to the front; both: one per element
//   scan                     the body is batched (recursively); a carry becomes batched when
//                            its initial value or what the body makes of it is; scanned
//                            operands move the batch behind the scanned axis, [T, B, ...]
//
// An op none of whose operands is batched (and that draws nothing) is cloned once, unbatched:
// work that does not depend on the batch is not repeated for it.
//
//===----------------------------------------------------------------------===//
#include "ir/Batching.h"

#include "ir/NNXDialect.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

namespace nnx::ir {

Value broadcastToBatch(OpBuilder &builder, Location loc, Value v, int64_t batchSize) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> dims;
  for (int64_t d = 0; d < type.getRank(); ++d)
    dims.push_back(d + 1);
  return builder.create<BroadcastInDimOp>(loc, prependDim(type, batchSize), v, dims);
}

Value moveAxis(OpBuilder &builder, Location loc, Value v, int64_t from, int64_t to) {
  if (from == to)
    return v;
  auto type = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (d != from)
      perm.push_back(d);
  perm.insert(perm.begin() + to, from);
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  return builder.create<TransposeOp>(loc, RankedTensorType::get(shape, type.getElementType()), v,
                                     perm);
}

namespace {

/// [first, xs + shift...]: dimension attributes of an op that gained a leading batch dimension.
SmallVector<int64_t> withBatch(ArrayRef<int64_t> xs, int64_t first, int64_t shift) {
  SmallVector<int64_t> out{first};
  for (int64_t x : xs)
    out.push_back(x + shift);
  return out;
}

/// [xs + 1...]: axes of an op whose operand gained a leading batch dimension.
SmallVector<int64_t> shifted(ArrayRef<int64_t> xs) {
  SmallVector<int64_t> out;
  for (int64_t x : xs)
    out.push_back(x + 1);
  return out;
}

/// The batching rules (see the file comment).
class Batcher {
public:
  Batcher(OpBuilder &builder, int64_t batchSize, BatchMap &map)
      : b_(builder), n_(batchSize), map_(map) {}

  BatchedValue get(Value v) const {
    auto it = map_.find(v);
    return it == map_.end() ? BatchedValue{v, false} : it->second;
  }

  /// The counterpart of `v`, broadcast to the batch when it is not batched.
  Value batched(Value v, Location loc) {
    BatchedValue bv = get(v);
    return bv.batched ? bv.value : broadcastToBatch(b_, loc, bv.value, n_);
  }

  /// A clone of `op` on `operands` whose results gain the batch dimension; maps its results.
  Operation *cloneBatched(Operation *op, ArrayRef<Value> operands) {
    IRMapping mapping;
    for (auto [from, to] : llvm::zip(op->getOperands(), operands))
      mapping.map(from, to);
    Operation *copy = b_.clone(*op, mapping);
    for (auto [from, to] : llvm::zip(op->getResults(), copy->getResults())) {
      to.setType(prependDim(from.getType(), n_));
      map_[from] = {to, true};
    }
    return copy;
  }
  template <typename OpTy> OpTy cloneBatched(OpTy op, ArrayRef<Value> operands) {
    return llvm::cast<OpTy>(cloneBatched(op.getOperation(), operands));
  }

  /// a [..., M, K] @ b [K, N] or [..., K, N].
  LogicalResult batchMatmul(MatmulOp o) {
    Location loc = o.getLoc();
    BatchedValue bm = get(o.getRhs());
    auto aType = llvm::cast<RankedTensorType>(o.getLhs().getType());
    auto bType = llvm::cast<RankedTensorType>(o.getRhs().getType());
    Value lhs = batched(o.getLhs(), loc), rhs;
    if (!bm.batched && bType.getRank() == 2) {
      rhs = bm.value; // a matrix shared by every batch element stays shared
    } else {
      rhs = batched(o.getRhs(), loc);
      if (bType.getRank() < aType.getRank()) {
        // A batched [B, K, N] against a [B, batch..., M, K]: repeat it over a's batch dims.
        SmallVector<int64_t> shape{n_};
        llvm::append_range(shape, aType.getShape().drop_back(2));
        llvm::append_range(shape, bType.getShape());
        int64_t rank = static_cast<int64_t>(shape.size());
        rhs = b_.create<BroadcastInDimOp>(
            loc, RankedTensorType::get(shape, bType.getElementType()), rhs,
            ArrayRef<int64_t>{0, rank - 2, rank - 1});
      }
    }
    cloneBatched(o, {lhs, rhs});
    return success();
  }

  /// conv and the pools: [B, N, ...] is convolved as [B * N, ...]; a batched kernel loops.
  LogicalResult batchWindow(Operation *o) {
    if (o->getNumOperands() > 1 && get(o->getOperand(1)).batched)
      return loopOverBatch(o);
    Location loc = o->getLoc();
    auto merge = [&](Type type) {
      auto ranked = llvm::cast<RankedTensorType>(type);
      SmallVector<int64_t> shape(ranked.getShape());
      shape[0] *= n_;
      return RankedTensorType::get(shape, ranked.getElementType());
    };
    Value input = b_.create<ReshapeOp>(loc, merge(o->getOperand(0).getType()),
                                       get(o->getOperand(0)).value);
    IRMapping mapping;
    mapping.map(o->getOperand(0), input);
    if (o->getNumOperands() > 1)
      mapping.map(o->getOperand(1), get(o->getOperand(1)).value);
    Operation *copy = b_.clone(*o, mapping);
    Value merged = copy->getResult(0);
    merged.setType(merge(o->getResult(0).getType()));
    map_[o->getResult(0)] = {
        b_.create<ReshapeOp>(loc, prependDim(o->getResult(0).getType(), n_), merged), true};
    return success();
  }

  /// A random draw: unbatched key and counter draw [B, shape] at once; batched ones loop.
  LogicalResult batchDraw(Operation *o) {
    if (!get(o->getOperand(0)).batched && !get(o->getOperand(1)).batched) {
      cloneBatched(o, {get(o->getOperand(0)).value, get(o->getOperand(1)).value});
      return success();
    }
    return loopOverBatch(o);
  }

  /// gather: when both operands are batched, the batch is one more batch dim; a batched
  /// operand alone moves its batch after the batch dims and gathers along axis + 1; batched
  /// indices alone move theirs after the batch dims, where it lands at the result's axis.
  /// No flat positions and no loop over the batch.
  LogicalResult batchGather(GatherOp o) {
    BatchedValue x = get(o.getInput()), idx = get(o.getIndices());
    Location loc = o.getLoc();
    int64_t axis = static_cast<int64_t>(o.getAxis());
    int64_t batchDims = static_cast<int64_t>(o.getBatchDims());
    Value input = x.value, indices = idx.value;
    int64_t newAxis = axis, newBatchDims = batchDims, batchAt = 0;
    if (x.batched && idx.batched) {
      newAxis = axis + 1;
      newBatchDims = batchDims + 1;
    } else if (x.batched) {
      input = moveAxis(b_, loc, input, 0, batchDims);
      newAxis = axis + 1;
      batchAt = batchDims;
    } else {
      indices = moveAxis(b_, loc, indices, 0, batchDims);
      batchAt = axis;
    }
    auto inType = llvm::cast<RankedTensorType>(input.getType());
    auto idxType = llvm::cast<RankedTensorType>(indices.getType());
    SmallVector<int64_t> shape(inType.getShape().take_front(newAxis));
    llvm::append_range(shape, idxType.getShape().drop_front(newBatchDims));
    llvm::append_range(shape, inType.getShape().drop_front(newAxis + 1));
    Value g = b_.create<GatherOp>(loc, RankedTensorType::get(shape, inType.getElementType()),
                                  input, indices, newAxis, newBatchDims);
    map_[o.getResult()] = {moveAxis(b_, loc, g, batchAt, 0), true};
    return success();
  }

  /// Any op, element by element: a scan over the batch whose body is the op on one element
  /// of each batched operand (and the unbatched ones whole).
  LogicalResult loopOverBatch(Operation *o) {
    Location loc = o->getLoc();
    SmallVector<Value> xs, consts;
    SmallVector<unsigned> xsIndex, constIndex;
    for (auto [i, v] : llvm::enumerate(o->getOperands())) {
      BatchedValue bv = get(v);
      (bv.batched ? xs : consts).push_back(bv.value);
      (bv.batched ? xsIndex : constIndex).push_back(i);
    }
    ScanOp loop = createScan(b_, loc, {}, xs, consts, o->getResultTypes(), n_, false);
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPointToEnd(&loop.getBodyBlock());
    IRMapping mapping;
    for (auto [i, arg] : llvm::zip(xsIndex, loop.getSliceArgs()))
      mapping.map(o->getOperand(i), arg);
    for (auto [i, arg] : llvm::zip(constIndex, loop.getConstArgs()))
      mapping.map(o->getOperand(i), arg);
    Operation *step = b_.clone(*o, mapping);
    b_.create<YieldOp>(loc, step->getResults());
    for (auto [from, to] : llvm::zip(o->getResults(), loop.getResults()))
      map_[from] = {to, true};
    return success();
  }

  /// The block arguments and values of `scan`'s body that are batched when the given
  /// arguments are, propagated to a fixed point through the carries.
  llvm::DenseSet<Value> predictBatched(ScanOp scan, llvm::DenseSet<Value> args) {
    size_t numInit = scan.getInit().size();
    for (;;) {
      llvm::DenseSet<Value> batched = args;
      scan.getBodyBlock().walk([&](Operation *op) {
        if (op->getBlock() != &scan.getBodyBlock())
          return;
        bool any = llvm::isa<RandomUniformOp, RandomNormalOp>(op) ||
                   llvm::any_of(op->getOperands(), [&](Value v) { return batched.contains(v); });
        if (any)
          for (Value r : op->getResults())
            batched.insert(r);
      });
      bool grew = false;
      for (size_t i = 0; i < numInit; ++i)
        if (batched.contains(scan.getYield().getValues()[i]) &&
            args.insert(scan.getCarryArgs()[i]).second)
          grew = true;
      if (!grew)
        return batched;
    }
  }

  LogicalResult batchScan(ScanOp scan) {
    Location loc = scan.getLoc();
    size_t numInit = scan.getInit().size();
    llvm::DenseSet<Value> args;
    for (auto [v, arg] : llvm::zip(scan.getInit(), scan.getCarryArgs()))
      if (get(v).batched)
        args.insert(arg);
    for (auto [v, arg] : llvm::zip(scan.getXs(), scan.getSliceArgs()))
      if (get(v).batched)
        args.insert(arg);
    for (auto [v, arg] : llvm::zip(scan.getConsts(), scan.getConstArgs()))
      if (get(v).batched)
        args.insert(arg);
    llvm::DenseSet<Value> plan = predictBatched(scan, args);

    SmallVector<Value> init, xs, consts;
    for (auto [v, arg] : llvm::zip(scan.getInit(), scan.getCarryArgs()))
      init.push_back(plan.contains(arg) ? batched(v, loc) : get(v).value);
    for (Value v : scan.getXs()) // [B, T, ...] scans as [T, B, ...]
      xs.push_back(get(v).batched ? moveAxis(b_, loc, get(v).value, 0, 1) : get(v).value);
    for (Value v : scan.getConsts())
      consts.push_back(get(v).value);
    SmallVector<Type> stepTypes;
    auto yielded = scan.getYield().getValues();
    for (Value y : yielded.drop_front(numInit))
      stepTypes.push_back(plan.contains(y) ? Type(prependDim(y.getType(), n_)) : y.getType());
    ScanOp copy = createScan(b_, loc, init, xs, consts, stepTypes, scan.getLength(),
                             scan.getReverse());

    BatchMap inner;
    for (auto [from, to] : llvm::zip(scan.getBodyBlock().getArguments(),
                                     copy.getBodyBlock().getArguments()))
      inner[from] = {to, plan.contains(from)};
    {
      OpBuilder::InsertionGuard guard(b_);
      b_.setInsertionPointToEnd(&copy.getBodyBlock());
      SmallVector<Operation *> ops;
      for (Operation &op : scan.getBodyBlock().without_terminator())
        ops.push_back(&op);
      if (failed(batchOps(b_, ops, n_, inner)))
        return failure();
      SmallVector<Value> next;
      for (Value y : yielded) {
        auto it = inner.find(y);
        BatchedValue bv = it == inner.end() ? BatchedValue{y, false} : it->second;
        if (plan.contains(y) && !bv.batched)
          bv = {broadcastToBatch(b_, loc, bv.value, n_), true};
        next.push_back(bv.value);
      }
      b_.create<YieldOp>(loc, next);
    }
    for (size_t i = 0; i < scan.getNumResults(); ++i) {
      bool isBatched = plan.contains(yielded[i]);
      Value r = copy.getResult(i);
      if (i >= numInit && isBatched) // stacked [T, B, ...] back to [B, T, ...]
        r = moveAxis(b_, loc, r, 1, 0);
      map_[scan.getResult(i)] = {r, isBatched};
    }
    return success();
  }

  LogicalResult batch(Operation *op) {
    bool anyBatched = llvm::any_of(op->getOperands(), [&](Value v) { return get(v).batched; });
    bool draws = llvm::isa<RandomUniformOp, RandomNormalOp>(op);
    if (!anyBatched && !draws) {
      IRMapping mapping;
      for (Value v : op->getOperands())
        mapping.map(v, get(v).value);
      Operation *copy = b_.clone(*op, mapping);
      for (auto [from, to] : llvm::zip(op->getResults(), copy->getResults()))
        map_[from] = {to, false};
      return success();
    }
    Location loc = op->getLoc();
    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case([&](BroadcastInDimOp o) {
          auto c = cloneBatched(o, {get(o.getInput()).value});
          c.setDims(withBatch(o.getDims(), 0, 1));
          return success();
        })
        .Case<ReduceSumOp, ReduceMaxOp, ReduceMinOp>([&](auto o) {
          auto c = cloneBatched(o, {get(o.getInput()).value});
          c.setAxes(shifted(o.getAxes()));
          return success();
        })
        .Case([&](ReshapeOp o) {
          cloneBatched(o, {get(o.getInput()).value});
          return success();
        })
        .Case([&](TransposeOp o) {
          auto c = cloneBatched(o, {get(o.getInput()).value});
          c.setPerm(withBatch(o.getPerm(), 0, 1));
          return success();
        })
        .Case([&](ReverseOp o) {
          auto c = cloneBatched(o, {get(o.getInput()).value});
          c.setDims(shifted(o.getDims()));
          return success();
        })
        .Case([&](ConcatOp o) {
          SmallVector<Value> inputs;
          for (Value v : o.getInputs())
            inputs.push_back(batched(v, loc));
          auto c = cloneBatched(o, inputs);
          c.setAxis(o.getAxis() + 1);
          return success();
        })
        .Case([&](SliceOp o) {
          auto c = cloneBatched(o, {get(o.getInput()).value});
          c.setStart(withBatch(o.getStart(), 0, 0));
          c.setLimit(withBatch(o.getLimit(), n_, 0));
          c.setStride(withBatch(o.getStride(), 1, 0));
          return success();
        })
        .Case([&](PadOp o) {
          auto c = cloneBatched(o, {get(o.getInput()).value});
          c.setLow(withBatch(o.getLow(), 0, 0));
          c.setHigh(withBatch(o.getHigh(), 0, 0));
          c.setInterior(withBatch(o.getInterior(), 0, 0));
          return success();
        })
        .Case<SoftmaxOp, LogSoftmaxOp>([&](auto o) {
          auto c = cloneBatched(o, {get(o.getInput()).value});
          c.setAxis(o.getAxis() + 1);
          return success();
        })
        .Case([&](MatmulOp o) { return batchMatmul(o); })
        .Case<ConvOp, PoolSumOp, PoolMaxOp, PoolMinOp>(
            [&](Operation *o) { return batchWindow(o); })
        .Case<RandomUniformOp, RandomNormalOp>([&](Operation *o) { return batchDraw(o); })
        .Case([&](GatherOp o) { return batchGather(o); })
        .Case([&](ScanOp o) { return batchScan(o); })
        .Default([&](Operation *o) -> LogicalResult {
          if (o->hasTrait<OpTrait::Elementwise>()) {
            SmallVector<Value> operands;
            for (Value v : o->getOperands())
              operands.push_back(batched(v, loc));
            cloneBatched(o, operands);
            return success();
          }
          return o->emitError("vmap: no batching rule for '") << o->getName() << "'";
        });
  }

private:
  OpBuilder &b_;
  int64_t n_;
  BatchMap &map_;
};

} // namespace

LogicalResult batchOps(OpBuilder &builder, ArrayRef<Operation *> ops, int64_t batchSize,
                       BatchMap &map) {
  Batcher batcher(builder, batchSize, map);
  for (Operation *op : ops)
    if (failed(batcher.batch(op)))
      return failure();
  return success();
}

} // namespace nnx::ir
