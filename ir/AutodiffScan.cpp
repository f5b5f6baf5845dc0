//===- AutodiffScan.cpp - The VJP of nnx.scan ------------------------------===//
//
// Reverse mode through a loop needs, at step t, the values the step computed. nnx keeps the
// least that makes them computable again: the carries each step started from. So the VJP of a
// forward scan does three things:
//
//   1. Residuals. The forward scan is replaced by a copy whose body also yields its carry
//      block arguments, so it returns, besides its own results, the carry every step started
//      from, stacked ([length, ...] per carry, rng counters included). The original loses its
//      uses and eraseDeadOps removes it: the forward pass still runs once.
//   2. The reverse scan. A second scan runs the steps backwards (`reverse` flipped). Its body
//      recomputes step t from the saved carry, x[t] and the constants (a clone of the forward
//      body: one extra forward step per backward step, like jax.checkpoint around the body),
//      then differentiates that step with buildGradients, seeded with the adjoint of the new
//      carry (carried from step t + 1) and the adjoint of the step's outputs (a slice of the
//      stacked outputs' adjoint). It carries the carries' adjoints and running sums of the
//      constants' adjoints, and stacks the adjoints of the scanned slices.
//   3. Accumulation. The final carry adjoints are the initial carries' adjoints; the sums are
//      the constants' (the weights of a scanned cell); the stacked slices are the scanned
//      operands' (the weights of stacked layers, the inputs of an RNN).
//
// Nested scans differentiate recursively: the inner buildGradients meets them in the cloned
// body. Only float carries have adjoints; integer ones (rng counters) are saved and replayed,
// so dropout draws the same mask in the backward step as in the forward one.
//
//===----------------------------------------------------------------------===//
#include "ir/Autodiff.h"
#include "ir/AutodiffRules.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace nnx::ir::detail {
namespace {

bool isFloat(Value v) {
  return llvm::isa<FloatType>(llvm::cast<RankedTensorType>(v.getType()).getElementType());
}

/// Step 1: a copy of `op` after it whose body also yields its carries; `op`'s uses move to it.
/// Returns the copy; its last op.getInit().size() results are the stacked carries.
ScanOp saveCarries(ScanOp op, OpBuilder &builder) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointAfter(op);
  SmallVector<Type> stepTypes;
  for (Value v : op.getYield().getValues().drop_front(op.getInit().size()))
    stepTypes.push_back(v.getType());
  for (Value v : op.getInit())
    stepTypes.push_back(v.getType());
  ScanOp saved = createScan(builder, op.getLoc(), op.getInit(), op.getXs(), op.getConsts(),
                            stepTypes, op.getLength(), op.getReverse());
  IRMapping map;
  map.map(op.getBodyBlock().getArguments(), saved.getBodyBlock().getArguments());
  builder.setInsertionPointToEnd(&saved.getBodyBlock());
  for (Operation &inner : op.getBodyBlock().without_terminator())
    builder.clone(inner, map);
  SmallVector<Value> yielded;
  for (Value v : op.getYield().getValues())
    yielded.push_back(map.lookupOrDefault(v));
  llvm::append_range(yielded, saved.getCarryArgs());
  builder.create<YieldOp>(op.getLoc(), yielded);
  for (auto [from, to] : llvm::zip(op.getResults(), saved.getResults()))
    from.replaceAllUsesWith(to);
  return saved;
}

} // namespace

LogicalResult emitScanVjp(ScanOp op, AdjointBuilder &adj) {
  // The adjoints that reached the results, looked up before the results move to the copy.
  size_t numInit = op.getInit().size(), numXs = op.getXs().size();
  SmallVector<Value> resultAdjoints;
  for (Value r : op.getResults())
    resultAdjoints.push_back(adj.lookup(r));
  Location loc = op.getLoc();
  OpBuilder &builder = adj.builder();
  ScanOp saved = saveCarries(op, builder);
  auto savedCarries = saved.getResults().take_back(numInit);

  // What the reverse scan carries, reads and returns.
  SmallVector<size_t> floatCarries, wantedXs, wantedConsts, seededOutputs;
  for (auto [i, v] : llvm::enumerate(op.getInit()))
    if (isFloat(v))
      floatCarries.push_back(i);
  for (auto [i, v] : llvm::enumerate(op.getXs()))
    if (adj.wants(v))
      wantedXs.push_back(i);
  for (auto [i, v] : llvm::enumerate(op.getConsts()))
    if (adj.wants(v))
      wantedConsts.push_back(i);
  for (size_t j = numInit; j < op.getNumResults(); ++j)
    if (resultAdjoints[j] && isFloat(op.getResult(j)))
      seededOutputs.push_back(j);

  SmallVector<Value> init, xs(savedCarries);
  for (size_t i : floatCarries)
    init.push_back(resultAdjoints[i] ? resultAdjoints[i] : adj.zeros(op.getInit()[i].getType()));
  for (size_t k : wantedConsts)
    init.push_back(adj.zeros(op.getConsts()[k].getType()));
  llvm::append_range(xs, op.getXs());
  for (size_t j : seededOutputs)
    xs.push_back(resultAdjoints[j]);
  SmallVector<Type> stepTypes;
  for (size_t i : wantedXs)
    stepTypes.push_back(dropLeadingDim(op.getXs()[i].getType()));
  ScanOp backward = createScan(builder, loc, init, xs, op.getConsts(), stepTypes,
                               op.getLength(), !op.getReverse());

  // The body: block arguments are [carry adjoints, const sums | saved carries, x slices,
  // output adjoints | consts]. Recompute the step, then differentiate it.
  Block &body = backward.getBodyBlock();
  auto carryAdjoints = body.getArguments().take_front(floatCarries.size());
  auto constSums = body.getArguments().slice(floatCarries.size(), wantedConsts.size());
  auto slices = backward.getSliceArgs();
  auto stepCarries = slices.take_front(numInit);
  auto stepXs = slices.slice(numInit, numXs);
  auto outputAdjoints = slices.drop_front(numInit + numXs);
  IRMapping map;
  map.map(op.getCarryArgs(), stepCarries);
  map.map(op.getSliceArgs(), stepXs);
  map.map(op.getConstArgs(), backward.getConstArgs());
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToEnd(&body);
  SmallVector<Operation *> step;
  for (Operation &inner : op.getBodyBlock().without_terminator())
    step.push_back(builder.clone(inner, map));
  auto yielded = op.getYield().getValues();
  SmallVector<Value> outputs, seeds, wrt;
  for (auto [n, i] : llvm::enumerate(floatCarries)) {
    outputs.push_back(map.lookupOrDefault(yielded[i]));
    seeds.push_back(carryAdjoints[n]);
  }
  for (auto [n, j] : llvm::enumerate(seededOutputs)) {
    outputs.push_back(map.lookupOrDefault(yielded[j]));
    seeds.push_back(outputAdjoints[n]);
  }
  for (size_t i : floatCarries)
    wrt.push_back(stepCarries[i]);
  for (size_t i : wantedXs)
    wrt.push_back(stepXs[i]);
  for (size_t k : wantedConsts)
    wrt.push_back(backward.getConstArgs()[k]);
  FailureOr<SmallVector<Value>> grads = buildGradients(builder, step, outputs, seeds, wrt);
  if (failed(grads))
    return failure();
  SmallVector<Value> next;
  size_t g = 0;
  for (size_t n = 0; n < floatCarries.size(); ++n)
    next.push_back((*grads)[g++]);
  SmallVector<Value> xGrads;
  for (size_t n = 0; n < wantedXs.size(); ++n)
    xGrads.push_back((*grads)[g++]);
  for (size_t n = 0; n < wantedConsts.size(); ++n) {
    Value sum = constSums[n], grad = (*grads)[g++];
    next.push_back(builder.create<AddOp>(loc, sum.getType(), sum, grad));
  }
  llvm::append_range(next, xGrads);
  builder.create<YieldOp>(loc, next);

  // Accumulate into the forward operands' adjoints (after the reverse scan).
  builder.setInsertionPointAfter(backward);
  size_t r = 0;
  for (size_t i : floatCarries)
    adj.accumulate(op.getInit()[i], backward.getResult(r++));
  for (size_t k : wantedConsts)
    adj.accumulate(op.getConsts()[k], backward.getResult(r++));
  for (size_t i : wantedXs)
    adj.accumulate(op.getXs()[i], backward.getResult(r++));
  return success();
}

} // namespace nnx::ir::detail
