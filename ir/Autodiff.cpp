//===- Autodiff.cpp - Reverse-mode differentiation of nnx IR --------------===//
//
// buildGradients is a classic reverse sweep in three steps:
//
//   1. Activity: walking the forward ops in program order, a float result is *active* when
//      some operand is (the values differentiated against are active to begin with). Only
//      active values ever receive an adjoint, so no backward op is emitted for a branch that
//      does not depend on them.
//   2. Sweep: the output's adjoint is the seed; walking the forward ops backwards, every op
//      whose result received an adjoint and that has an active operand hands it to its VJP
//      rule (AutodiffRules.h), which adds contributions to its operands' adjoints with
//      nnx.add. An op that no adjoint reaches is on no path to the output and emits nothing.
//   3. Results: the adjoint of each value differentiated against, or splat zeros.
//
// The AdjointBuilder helpers shared by every rule live here too.
//
//===----------------------------------------------------------------------===//
#include "ir/Autodiff.h"
#include "ir/AutodiffRules.h"
#include "ir/NNXDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace nnx::ir {
namespace detail {

//===----------------------------------------------------------------------===//
// AdjointBuilder
//===----------------------------------------------------------------------===//

void AdjointBuilder::accumulate(Value v, Value g) {
  if (!wants(v))
    return;
  auto [it, inserted] = adjoints_.try_emplace(v, g);
  if (!inserted)
    it->second = add(it->second, g);
}

Value AdjointBuilder::splat(Type type, double value) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  Type element = tensor.getElementType();
  Attribute scalar = llvm::isa<FloatType>(element)
                         ? Attribute(builder_.getFloatAttr(element, value))
                         : Attribute(builder_.getIntegerAttr(element, static_cast<int64_t>(value)));
  auto attr = DenseElementsAttr::get(tensor, llvm::ArrayRef<Attribute>{scalar});
  return builder_.create<ConstantOp>(loc_, llvm::cast<ElementsAttr>(attr)).getResult();
}

Value AdjointBuilder::zeros(Type type) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  auto attr = DenseElementsAttr::get(
      tensor, llvm::ArrayRef<Attribute>{builder_.getZeroAttr(tensor.getElementType())});
  return builder_.create<ConstantOp>(loc_, llvm::cast<ElementsAttr>(attr)).getResult();
}

Value AdjointBuilder::cmp(CmpPredicate pred, Value a, Value b) {
  return builder_.create<CmpOp>(loc_, getI1SameShape(a.getType()), pred, a, b).getResult();
}

Value AdjointBuilder::broadcast(Value v, Type type, ArrayRef<int64_t> dims) {
  if (v.getType() == type)
    return v;
  return create<BroadcastInDimOp>(type, v, dims);
}

Value AdjointBuilder::reduceSum(Value v, ArrayRef<int64_t> axes) {
  if (axes.empty())
    return v;
  auto type = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape;
  for (int64_t d : keptDims(type.getRank(), axes))
    shape.push_back(type.getDimSize(d));
  return create<ReduceSumOp>(RankedTensorType::get(shape, type.getElementType()), v, axes);
}

Value AdjointBuilder::reshape(Value v, Type type) {
  if (v.getType() == type)
    return v;
  return create<ReshapeOp>(type, v);
}

Value AdjointBuilder::transpose(Value v, ArrayRef<int64_t> perm) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  return create<TransposeOp>(RankedTensorType::get(shape, type.getElementType()), v, perm);
}

Value AdjointBuilder::slice(Value v, ArrayRef<int64_t> start, ArrayRef<int64_t> limit,
                            ArrayRef<int64_t> stride) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape;
  for (auto [b, e, s] : llvm::zip(start, limit, stride))
    shape.push_back((e - b + s - 1) / s);
  return create<SliceOp>(RankedTensorType::get(shape, type.getElementType()), v, start, limit,
                         stride);
}

SmallVector<int64_t> keptDims(int64_t rank, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> kept;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      kept.push_back(d);
  return kept;
}

} // namespace detail

namespace {

using detail::AdjointBuilder;

/// True for a ranked tensor of f32 or f64: the values that carry adjoints.
bool isFloatTensor(Value v) {
  auto type = llvm::dyn_cast<RankedTensorType>(v.getType());
  return type && llvm::isa<FloatType>(type.getElementType());
}

/// The float values of `forward` that depend on some value of `wrt` (and those of `wrt`).
llvm::DenseSet<Value> activeValues(ArrayRef<Operation *> forward, ArrayRef<Value> wrt) {
  llvm::DenseSet<Value> active;
  for (Value v : wrt)
    if (isFloatTensor(v))
      active.insert(v);
  for (Operation *op : forward) {
    if (llvm::none_of(op->getOperands(), [&](Value v) { return active.contains(v); }))
      continue;
    for (Value result : op->getResults())
      if (isFloatTensor(result))
        active.insert(result);
  }
  return active;
}

/// Hands `op` to its VJP rule if an adjoint reached its result and it has an active operand.
LogicalResult backpropagate(Operation *op, AdjointBuilder &adj) {
  if (llvm::none_of(op->getResults(), [&](Value r) { return adj.lookup(r); }) ||
      llvm::none_of(op->getOperands(), [&](Value v) { return adj.wants(v); }))
    return success();
  if (auto scan = llvm::dyn_cast<ScanOp>(op)) {
    adj.setLoc(op->getLoc());
    return detail::emitScanVjp(scan, adj);
  }
  if (op->getNumResults() == 1) {
    adj.setLoc(op->getLoc());
    Value grad = adj.lookup(op->getResult(0));
    if (detail::emitElementwiseVjp(op, grad, adj) || detail::emitStructuralVjp(op, grad, adj) ||
        detail::emitWindowVjp(op, grad, adj))
      return success();
  }
  return op->emitError("autodiff: no derivative rule for '") << op->getName() << "'";
}

} // namespace

FailureOr<SmallVector<Value>> buildGradients(OpBuilder &builder, ArrayRef<Operation *> forward,
                                             Value output, Value seed, ArrayRef<Value> wrt) {
  return buildGradients(builder, forward, ArrayRef<Value>{output}, ArrayRef<Value>{seed}, wrt);
}

FailureOr<SmallVector<Value>> buildGradients(OpBuilder &builder, ArrayRef<Operation *> forward,
                                             ArrayRef<Value> outputs, ArrayRef<Value> seeds,
                                             ArrayRef<Value> wrt) {
  llvm::DenseSet<Value> active = activeValues(forward, wrt);
  Location loc = outputs.empty() ? builder.getUnknownLoc() : outputs.front().getLoc();
  AdjointBuilder adj(builder, active, loc);
  bool reached = false;
  for (auto [output, seed] : llvm::zip(outputs, seeds)) {
    if (!seed)
      continue;
    adj.accumulate(output, seed);
    reached |= bool(adj.lookup(output));
  }
  if (reached)
    for (Operation *op : llvm::reverse(forward))
      if (failed(backpropagate(op, adj)))
        return failure();
  adj.setLoc(loc);
  SmallVector<Value> grads;
  for (Value v : wrt) {
    Value g = adj.lookup(v);
    grads.push_back(g ? g : adj.zeros(v.getType()));
  }
  return grads;
}

/// Erases the dead ops of `block`, last first, and looks into the regions of the live ones.
static bool eraseDeadOpsIn(Block &block) {
  bool changed = false;
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(block))) {
    if (isOpTriviallyDead(&op)) {
      op.erase();
      changed = true;
      continue;
    }
    for (Region &region : op.getRegions())
      for (Block &inner : region)
        changed |= eraseDeadOpsIn(inner);
  }
  return changed;
}

void eraseDeadOps(Operation *root) {
  bool changed = true;
  while (changed) {
    changed = false;
    for (Region &region : root->getRegions())
      for (Block &block : region)
        changed |= eraseDeadOpsIn(block);
  }
}

} // namespace nnx::ir
