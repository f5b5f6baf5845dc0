//===- EvalScope.cpp - Tracing the body of a scan or vmap -----------------===//
//
// `scan` and `vmap` trace the function they transform once, for one step or one element,
// into a body of their own. While a body is traced, its ops go into a detached block (the
// TraceScope) and the model's state is seen through block arguments: the first time the body
// reads a variable it gets an argument of the variable's type, or of one slice of it when the
// variable belongs to a stacked module the transform maps over its layers (`scan` over
// `blocks` sees each layer's [64, 64] kernel of the [5, 64, 64] one). Writes rebind the
// argument's current value. When the body is done, closeScope reads each variable's value
// outside (through the enclosing scope, if any, so scans nest) and hands the transform the
// list: read-only variables become a scan's constants or a vmap's unbatched inputs, written
// ones its carries (or, sliced, its stacked outputs). Tensors of the enclosing code that the
// body used directly are captured as constants the same way. Nothing in the body refers to
// the outside afterwards, which is what lets nnx.scan be isolated from above.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/NNXDialect.h"
#include "ir/Types.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace nnx::lang {

namespace {

/// True when `op` is in `block` or nested in an op of it.
bool isInside(Operation *op, mlir::Block *block) {
  for (mlir::Block *b = op->getBlock(); b;) {
    if (b == block)
      return true;
    Operation *parent = b->getParentOp();
    b = parent ? parent->getBlock() : nullptr;
  }
  return false;
}

/// True when `v` is defined in `block` (an argument or an op result, at any depth).
bool definedInside(mlir::Value v, mlir::Block *block) {
  if (auto arg = llvm::dyn_cast<BlockArgument>(v)) {
    for (mlir::Block *b = arg.getOwner(); b;) {
      if (b == block)
        return true;
      Operation *parent = b->getParentOp();
      b = parent ? parent->getBlock() : nullptr;
    }
    return false;
  }
  return isInside(v.getDefiningOp(), block);
}

} // namespace

bool Evaluator::scopeSlices(const TraceScope &s, size_t index) const {
  const ModuleInstance *owner = space_.var(index).owner;
  return llvm::any_of(s.sliced, [&](const ModuleInstance *m) { return isWithin(owner, m); });
}

RankedTensorType Evaluator::scopedVarType(size_t index, size_t depth) const {
  const rt::VarSpec &spec = space_.var(index).spec;
  size_t drop = 0;
  for (size_t d = 0; d < depth && d < scopes_.size(); ++d)
    drop += scopeSlices(*scopes_[d], index) ? 1 : 0;
  drop = std::min(drop, spec.shape.size());
  return ir::tensorType(const_cast<Evaluator *>(this)->context(), spec.dtype,
                        llvm::ArrayRef<int64_t>(spec.shape).drop_front(drop));
}

size_t Evaluator::consumedStack(const ModuleInstance *inst) const {
  size_t n = 0;
  for (const TraceScope *s : scopes_)
    n += llvm::any_of(s->sliced, [&](const ModuleInstance *m) { return isWithin(inst, m); });
  return n;
}

void Evaluator::openScope(TraceScope &scope) {
  scopes_.push_back(&scope);
  scope.outer = builder_.saveInsertionPoint();
  builder_.setInsertionPointToEnd(scope.block.get());
}

Value Evaluator::readScopedVar(size_t index, Span use) {
  TraceScope &scope = *scopes_.back();
  const VarInfo &info = space_.var(index);
  auto type = scopedVarType(index, scopes_.size());
  std::string leaf = info.spec.path.substr(info.spec.path.rfind('.') + 1);
  Origin origin{info.declSpan,
                "`" + leaf + "` is declared with type " + ir::formatType(type) +
                    (type.getRank() < static_cast<int64_t>(info.spec.shape.size())
                         ? " (one layer of " +
                               ir::formatType(ir::tensorType(context(), info.spec.dtype,
                                                             info.spec.shape)) +
                               ")"
                         : "") +
                    " here",
                info.owner};
  for (TraceScope::Var &v : scope.vars)
    if (v.index == index)
      return Value::tensorOf(v.current, origin);
  BlockArgument arg = scope.block->addArgument(type, loc(info.declSpan));
  scope.vars.push_back({index, arg, arg, false, scopeSlices(scope, index)});
  return Value::tensorOf(arg, origin);
}

void Evaluator::writeScopedVar(size_t index, Value value, Span span) {
  const VarInfo &info = space_.var(index);
  auto type = scopedVarType(index, scopes_.size());
  if (value.isStaticScalar())
    value = splat(value.number(), type, span);
  if (!value.isTensor() || value.tensor.getType() != type) {
    Diagnostic &d = error("E0217", span, "cannot assign " + describeValue(value) +
                                             " to variable `" + info.spec.path + "`");
    d.withLabel("the variable has type " + ir::formatType(type));
    d.note("declared here", info.declSpan);
    return;
  }
  readScopedVar(index, span);
  for (TraceScope::Var &v : scopes_.back()->vars)
    if (v.index == index) {
      v.current = value.tensor;
      v.written = true;
    }
}

std::optional<Evaluator::ClosedScope> Evaluator::closeScope(TraceScope &scope, bool captureArgs,
                                                            Span span) {
  scopes_.pop_back();
  builder_.restoreInsertionPoint(scope.outer);
  ClosedScope closed;
  for (const TraceScope::Var &v : scope.vars) {
    Value outer = readVar(v.index, span);
    if (outer.isError())
      return std::nullopt;
    closed.vars.push_back({v.index, v.arg, outer.tensor, v.current, v.written, v.sliced});
  }
  if (!captureArgs)
    return closed;
  mlir::Block *block = scope.block.get();
  llvm::DenseMap<mlir::Value, BlockArgument> captured;
  block->walk([&](Operation *op) {
    for (OpOperand &operand : op->getOpOperands()) {
      mlir::Value v = operand.get();
      if (definedInside(v, block))
        continue;
      auto it = captured.find(v);
      if (it == captured.end()) {
        BlockArgument arg = block->addArgument(v.getType(), v.getLoc());
        it = captured.try_emplace(v, arg).first;
        closed.captures.push_back({v, arg});
      }
      operand.set(it->second);
    }
  });
  return closed;
}

bool Evaluator::flattenLeaves(const Value &v, std::vector<Value> &leaves, Span span,
                              const std::string &what) {
  if (v.isError())
    return false;
  if (v.isTensor()) {
    leaves.push_back(v);
    return true;
  }
  if (v.isStaticScalar()) {
    rt::DType dtype = v.dtype                           ? *v.dtype
                      : v.kind == Value::Kind::Float ? rt::DType::F32
                      : v.kind == Value::Kind::Bool  ? rt::DType::Bool
                                                     : rt::DType::I32;
    Value t = toTensor(v, dtype, span);
    if (t.isError())
      return false;
    leaves.push_back(t);
    return true;
  }
  if (v.isSequence() || v.isTree()) { // a state tree (gradients, params) by its leaves
    for (const Value &e : v.elems)
      if (!flattenLeaves(materialize(e, span), leaves, span, what))
        return false;
    return true;
  }
  error("E0220", span, what + " must be tensors (or tuples or state trees of tensors)")
      .withLabel("this is " + describeValue(v));
  return false;
}

Value Evaluator::rebuildLeaves(const Value &like, const std::vector<Value> &leaves, size_t &pos) {
  if (like.isSequence() || like.isTree()) {
    Value out = like;
    for (Value &e : out.elems)
      e = rebuildLeaves(e, leaves, pos);
    return out;
  }
  return leaves.at(pos++);
}

} // namespace nnx::lang
