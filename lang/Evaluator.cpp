//===- Evaluator.cpp - Entry points, state variables and statements -------===//
//
// The core of the compile-time evaluator (see Evaluator.h): diagnostics that point at user
// code, the entry points that open and close a traced func.func, state variables (read ones
// become function arguments the first time, written ones become results), and statements.
// Names, members and calls are in EvalCalls.cpp.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/Autodiff.h"
#include "ir/NNXDialect.h"
#include "ir/Signature.h"
#include "ir/Types.h"
#include "runtime/MemoryBudget.h"

#include "llvm/Support/Casting.h"

#include <utility>

using namespace mlir;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;

namespace nnx::lang {

Evaluator::Evaluator(Program &program, ModuleOp module, StateSpace &space, TraceOptions options)
    : program_(program), module_(module), space_(space), options_(options),
      builder_(module.getContext(), &sizeGuard_) {}

/// The FLOPs ModuleCall::flops counts for `op`.
static int64_t opFlops(mlir::Operation *op) {
  if (op->getNumResults() != 1)
    return 0;
  auto result = llvm::dyn_cast<RankedTensorType>(op->getResult(0).getType());
  if (!result || !result.hasStaticShape())
    return 0;
  int64_t n = result.getNumElements();
  if (llvm::isa<ir::MatmulOp>(op)) {
    auto lhs = llvm::cast<RankedTensorType>(op->getOperand(0).getType());
    return 2 * n * (lhs.getRank() ? lhs.getShape().back() : 1);
  }
  if (llvm::isa<ir::ReduceSumOp, ir::ReduceMaxOp, ir::ReduceMinOp>(op)) {
    auto in = llvm::dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    return in && in.hasStaticShape() ? in.getNumElements() : 0;
  }
  if (llvm::isa<ir::SoftmaxOp, ir::LogSoftmaxOp>(op))
    return 5 * n;
  if (op->hasTrait<mlir::OpTrait::Elementwise>() && !llvm::isa<ir::ConvertOp>(op))
    return n;
  return 0;
}

void Evaluator::SizeGuard::notifyOperationInserted(mlir::Operation *op,
                                                   mlir::OpBuilder::InsertPoint) {
  if (evaluator.options_.callLog && !evaluator.activeCalls_.empty()) {
    int64_t flops = opFlops(op);
    for (size_t i : evaluator.activeCalls_)
      (*evaluator.options_.callLog)[i].flops += flops;
  }
  if (reported)
    return;
  for (mlir::Type type : op->getResultTypes()) {
    auto tensor = llvm::dyn_cast<RankedTensorType>(type);
    if (!tensor)
      continue;
    std::vector<int64_t> shape(tensor.getShape().begin(), tensor.getShape().end());
    Type elem = tensor.getElementType();
    int64_t elemBytes = elem.isIntOrFloat() ? (elem.getIntOrFloatBitWidth() + 7) / 8 : 8;
    std::optional<int64_t> count = rt::checkedNumElements(shape);
    int64_t bytes = 0;
    bool negative = llvm::any_of(shape, [](int64_t d) { return d < 0; });
    if (count && !__builtin_mul_overflow(*count, elemBytes, &bytes) &&
        bytes <= rt::memoryBudget())
      continue;
    reported = true;
    Span span = evaluator.currentSpan_;
    if (negative) {
      evaluator.error("E0227", span, "negative dimension in the shape " + ir::formatShape(shape))
          .withLabel("this makes a tensor of type " + ir::formatType(tensor));
    } else if (!count || bytes == 0) {
      evaluator.error("E0236", span, "tensor too large: " + ir::formatType(tensor))
          .withLabel("its size overflows 64-bit arithmetic");
    } else {
      evaluator.error("E0236", span, "tensor too large: " + ir::formatType(tensor))
          .withLabel("it " + rt::overBudget(bytes))
          .help(rt::kBudgetNote);
    }
    return;
  }
}

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

Diagnostic &Evaluator::error(const std::string &code, Span span, const std::string &message) {
  if (!program_.isStdlib(span) || frames_.empty())
    return program_.diags().error(code, span, message);
  // Report at the innermost call site in user code, and say where in the stdlib it failed.
  Span user = span;
  std::string inside;
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
    if (inside.empty() && it->fn)
      inside = (it->self ? it->self->decl->name + "." : std::string()) + it->fn->name;
    else if (inside.empty() && it->moduleBody && it->self)
      inside = it->self->decl->name; // the module body, building `Name(...)`
    if (it->callSite.valid() && !program_.isStdlib(it->callSite)) {
      user = it->callSite;
      break;
    }
  }
  Diagnostic &d = program_.diags().error(code, user, message);
  d.note("inside `" + inside + "` (stdlib): `" + std::string(program_.sources().text(span)) +
             "`",
         span);
  return d;
}

void Evaluator::noteOrigin(Diagnostic &diag, const Value &value, const std::string &name) {
  if (!value.isTensor() || !value.origin.span.valid())
    return;
  const Origin &o = value.origin;
  std::string type = ir::formatType(value.tensor.getType());
  if (!o.description.empty()) {
    diag.note(o.description, o.span);
  } else {
    std::string text(program_.sources().text(o.span));
    if (text.size() > 40 || text.find('\n') != std::string::npos)
      text = name;
    diag.note("`" + text + "` has type " + type, o.span);
  }
  if (o.owner)
    diag.note("in `" + o.owner->describe() + "` created at " +
              program_.sources().location(o.owner->createdAt));
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

void Evaluator::beginFunction(const std::string &name, Location loc) {
  builder_.setInsertionPointToEnd(module_.getBody());
  func_ = builder_.create<func::FuncOp>(loc, name, builder_.getFunctionType({}, {}));
  mlir::Block *entry = func_.addEntryBlock();
  builder_.setInsertionPointToEnd(entry);
  state_.clear();
  inputArgs_.clear();
  dynamicAsserts_.clear();
  staticFailures_.clear();
}

func::FuncOp Evaluator::finishFunction(const std::vector<Value> &outputs, Span span) {
  Location l = loc(span);
  SmallVector<mlir::Value> results;
  SmallVector<std::pair<bool, std::string>> resultSlots;
  std::vector<std::pair<std::string, Value>> flat;
  for (const Value &out : outputs)
    flattenOutputs(out, "", flat, span);
  std::vector<std::string> labels;
  for (const auto &[label, out] : flat) {
    labels.push_back(label);
    Value t = out;
    if (t.isStaticScalar())
      t = toTensor(t, t.dtype ? *t.dtype
                     : t.kind == Value::Kind::Float ? rt::DType::F32
                     : t.kind == Value::Kind::Bool  ? rt::DType::Bool
                                                    : rt::DType::I32,
                   span);
    if (t.isError())
      return nullptr;
    if (!t.isTensor()) {
      error("E0226", span, "a method called from the command line must return tensors")
          .withLabel("this returns " + describeValue(out));
      return nullptr;
    }
    resultSlots.push_back({false, std::to_string(results.size())});
    results.push_back(t.tensor);
  }
  for (auto &[value, assertSpan, message] : dynamicAsserts_) {
    resultSlots.push_back({false, std::to_string(results.size())});
    results.push_back(value);
  }
  for (auto &[index, binding] : state_) {
    if (!binding.written)
      continue;
    resultSlots.push_back({true, space_.var(index).spec.path});
    results.push_back(binding.current);
  }
  builder_.create<func::ReturnOp>(l, results);
  // Values traced but never used (and forward scans autodiff replaced) cost nothing.
  ir::eraseDeadOps(func_);

  mlir::Block &entry = func_.getBody().front();
  SmallVector<Type> argTypes(entry.getArgumentTypes());
  SmallVector<Type> resultTypes;
  for (mlir::Value v : results)
    resultTypes.push_back(v.getType());
  func_.setFunctionType(builder_.getFunctionType(argTypes, resultTypes));
  for (auto &[index, binding] : state_)
    func_.setArgAttr(binding.argIndex, ir::kStateAttr,
                     builder_.getStringAttr(space_.var(index).spec.path));
  for (auto &[argIndex, name] : inputArgs_)
    func_.setArgAttr(argIndex, ir::kInputAttr, builder_.getStringAttr(name));
  for (auto [i, slot] : llvm::enumerate(resultSlots)) {
    if (slot.first)
      func_.setResultAttr(i, ir::kStateAttr, builder_.getStringAttr(slot.second));
    else
      func_.setResultAttr(i, ir::kOutputAttr, builder_.getI64IntegerAttr(std::stoll(slot.second)));
    if (!slot.first && i < labels.size() && !labels[i].empty())
      func_.setResultAttr(i, ir::kOutputNameAttr, builder_.getStringAttr(labels[i]));
  }
  func::FuncOp done = func_;
  func_ = nullptr;
  return done;
}

void Evaluator::flattenOutputs(const Value &v, const std::string &label,
                               std::vector<std::pair<std::string, Value>> &out, Span span) {
  if (v.isTree()) {
    for (size_t i = 0; i < v.elems.size(); ++i)
      out.push_back({v.keys[i], materialize(v.elems[i], span)});
  } else if (v.kind == Value::Kind::Tuple) {
    for (const Value &e : v.elems)
      flattenOutputs(e, label, out, span);
  } else {
    out.push_back({label, v});
  }
}

ModuleInstance *Evaluator::instantiateRoot(const Expr &expr, const std::string &path,
                                           const std::vector<std::pair<std::string, Value>> &locals) {
  frames_.push_back(Frame{});
  for (const auto &[name, value] : locals)
    frames_.back().locals[name] = value;
  ModuleInstance *root = instantiateRootInFrame(expr, path);
  frames_.pop_back();
  return root;
}

ModuleInstance *Evaluator::instantiateRootInFrame(const Expr &expr, const std::string &path) {
  const auto *call = dyn_cast<CallExpr>(&expr);
  Value callee = call ? eval(*call->callee) : Value::none();
  if (callee.isError())
    return nullptr;
  if (!call || callee.kind != Value::Kind::ModuleType) {
    error("E0401", expr.span, "the model must be a module constructor call")
        .withLabel(call ? "this calls " + describeValue(callee) : "this is not a call")
        .help("write it like 'Model(784, 256, 10)'");
    return nullptr;
  }
  pendingPath_ = path;
  Value model = eval(expr);
  pendingPath_.reset();
  return model.kind == Value::Kind::Module ? model.module : nullptr;
}

func::FuncOp Evaluator::traceMethod(ModuleInstance *self, const FnDecl &method,
                                    const std::vector<EntryInput> &inputs,
                                    const std::string &name,
                                    const std::vector<std::pair<std::string, Value>> &bound) {
  beginFunction(name, loc(method.span));
  mlir::Block &entry = func_.getBody().front();
  std::vector<std::pair<std::string, Value>> kwargs = bound;
  std::vector<Span> spans(bound.size(), method.nameSpan);
  for (const EntryInput &in : inputs) {
    Span paramSpan = method.nameSpan;
    for (const Param &p : method.params)
      if (p.name == in.name)
        paramSpan = p.span;
    if (!in.type) {
      kwargs.push_back({in.name, in.staticValue});
    } else {
      mlir::BlockArgument arg = entry.addArgument(in.type, loc(method.span));
      inputArgs_.push_back({arg.getArgNumber(), in.name});
      kwargs.push_back({in.name, Value::tensorOf(arg, Origin{paramSpan,
                                                             "input `" + in.name + "` is " +
                                                                 in.description + ", of type " +
                                                                 ir::formatType(in.type),
                                                             nullptr})});
    }
    spans.push_back(paramSpan);
  }
  unsigned errorsBefore = program_.diags().errorCount();
  Value result = callFunction(method, self, {}, std::move(kwargs), spans, method.nameSpan);
  if (program_.diags().errorCount() > errorsBefore || result.isError()) {
    func_.erase();
    func_ = nullptr;
    return nullptr;
  }
  std::vector<Value> outputs;
  if (result.kind == Value::Kind::Tuple)
    outputs = result.elems;
  else if (result.kind != Value::Kind::None)
    outputs.push_back(result);
  // Sown values of captured kinds follow the outputs; the attribute names them.
  SmallVector<mlir::Attribute> capturedNames;
  for (const auto &[path, value] : captured_) {
    outputs.push_back(value);
    capturedNames.push_back(mlir::StringAttr::get(context(), path));
  }
  func::FuncOp fn = finishFunction(outputs, method.span);
  if (fn && !capturedNames.empty())
    fn->setAttr("nnx.captured", mlir::ArrayAttr::get(context(), capturedNames));
  if (!fn && func_) {
    func_.erase();
    func_ = nullptr;
  }
  return fn;
}

std::optional<TestTrace> Evaluator::traceTest(const TestDecl &test, const std::string &name) {
  beginFunction(name, loc(test.span));
  inTest_ = true;
  unsigned errorsBefore = program_.diags().errorCount();
  frames_.push_back(Frame{});
  frames_.back().callSite = test.span;
  execBlock(test.body);
  frames_.pop_back();
  inTest_ = false;
  if (program_.diags().errorCount() > errorsBefore) {
    func_.erase();
    func_ = nullptr;
    return std::nullopt;
  }
  TestTrace trace;
  trace.staticFailures = staticFailures_;
  for (auto [i, a] : llvm::enumerate(dynamicAsserts_))
    trace.asserts.push_back(TracedAssert{i, std::get<1>(a), std::get<2>(a)});
  trace.func = finishFunction({}, test.span);
  if (!trace.func)
    return std::nullopt;
  return trace;
}

//===----------------------------------------------------------------------===//
// State variables
//===----------------------------------------------------------------------===//

Value Evaluator::readVar(size_t index, Span use) {
  const VarInfo &info = space_.var(index);
  std::string leaf = info.spec.path.substr(info.spec.path.rfind('.') + 1);
  if (!requireTracing(use, "reading variable `" + leaf + "`"))
    return Value::error();
  if (!scopes_.empty())
    return readScopedVar(index, use);
  auto type = ir::tensorType(context(), info.spec.dtype, info.spec.shape);
  Origin origin{info.declSpan,
                "`" + leaf + "` is declared with type " + ir::formatType(type) + " here",
                info.owner};
  auto it = state_.find(index);
  if (it != state_.end())
    return Value::tensorOf(it->second.current, origin);
  mlir::Block &entry = func_.getBody().front();
  mlir::BlockArgument arg = entry.addArgument(type, loc(info.declSpan));
  state_[index] = StateBinding{arg, arg.getArgNumber(), false};
  return Value::tensorOf(arg, origin);
}

void Evaluator::writeVar(size_t index, Value value, Span span) {
  const VarInfo &info = space_.var(index);
  if (value.isError() || !requireTracing(span, "assigning a variable"))
    return;
  if (!scopes_.empty())
    return writeScopedVar(index, std::move(value), span);
  auto type = ir::tensorType(context(), info.spec.dtype, info.spec.shape);
  if (value.isStaticScalar())
    value = splat(value.number(), type, span);
  if (!value.isTensor() || value.tensor.getType() != type) {
    Diagnostic &d = error("E0217", span, "cannot assign " + describeValue(value) +
                                             " to variable `" + info.spec.path + "`");
    d.withLabel("the variable has type " + ir::formatType(type));
    d.note("declared here", info.declSpan);
    return;
  }
  readVar(index, span); // make sure the variable has an argument slot
  StateBinding &binding = state_[index];
  binding.current = value.tensor;
  binding.written = true;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

void Evaluator::execBlock(const Block &block) {
  for (const StmtPtr &stmt : block) {
    if (frames_.back().returned)
      return;
    execStmt(*stmt);
  }
}

void Evaluator::execStmt(const Stmt &stmt) {
  Frame &frame = frames_.back();
  switch (stmt.kind) {
  case Stmt::Kind::Fn: execNestedFn(*cast<FnStmt>(stmt).fn); return;
  case Stmt::Kind::For: execFor(cast<ForStmt>(stmt)); return;
  case Stmt::Kind::VarDecl:
    error("E0214", stmt.span, "variables are declared in module bodies")
        .withLabel("not allowed inside a function or test");
    return;
  case Stmt::Kind::Return: {
    const auto &ret = cast<ReturnStmt>(stmt);
    if (!frame.fn) {
      error("E0224", stmt.span, "`return` outside a function");
      return;
    }
    std::vector<Value> values;
    for (const ExprPtr &e : ret.values)
      values.push_back(eval(*e));
    frame.returnValue = values.empty()       ? Value::none()
                        : values.size() == 1 ? values[0]
                                             : Value::tuple(std::move(values));
    frames_.back().returned = true;
    return;
  }
  case Stmt::Kind::Assert: execAssert(cast<AssertStmt>(stmt)); return;
  case Stmt::Kind::If: execIf(cast<IfStmt>(stmt)); return;
  case Stmt::Kind::Assign: execAssign(cast<AssignStmt>(stmt)); return;
  case Stmt::Kind::AugAssign: execAugAssign(cast<AugAssignStmt>(stmt)); return;
  case Stmt::Kind::Expr: eval(*cast<ExprStmt>(stmt).expr); return;
  }
}

void Evaluator::execNestedFn(const FnDecl &fn) {
  // A closure over the enclosing locals (by value) and module: `fn forward(x, model) = ...`
  // written next to its use, like the seed's decorated inner functions.
  Value v = Value::make(Value::Kind::Function);
  v.fn = &fn;
  v.module = frames_.back().self;
  v.closure = std::make_shared<const Closure>(frames_.back().locals);
  frames_.back().locals[fn.name] = v;
}

void Evaluator::execAssign(const AssignStmt &stmt) {
  std::vector<Value> values;
  bool single = stmt.targets.size() == 1 && stmt.values.size() == 1;
  const auto *name = single ? dyn_cast<NameExpr>(stmt.targets[0].get()) : nullptr;
  for (const ExprPtr &e : stmt.values) {
    // A module created in a test is named after the local it is assigned to.
    if (name && inTest_ && frames_.size() == 1)
      pendingPath_ = name->name;
    values.push_back(eval(*e));
    pendingPath_.reset();
  }
  if (stmt.targets.size() == values.size()) {
    for (size_t i = 0; i < values.size(); ++i)
      assignTo(*stmt.targets[i], values[i], stmt.span);
    return;
  }
  Value packed = values.size() == 1 ? values[0] : Value::tuple(values);
  if (packed.isError() || !packed.isSequence() || packed.elems.size() != stmt.targets.size()) {
    for (const ExprPtr &target : stmt.targets) // later uses stay silent
      if (const auto *n = dyn_cast<NameExpr>(target.get()))
        frames_.back().locals[n->name] = Value::error();
    if (packed.isError())
      return;
    error("E0218", stmt.values[0]->span,
          "cannot unpack " + describeValue(packed) + " into " +
              std::to_string(stmt.targets.size()) + " names")
        .withLabel(packed.isSequence() ? "this has " + std::to_string(packed.elems.size()) +
                                             " elements"
                                       : "this is not a tuple");
    return;
  }
  for (size_t i = 0; i < packed.elems.size(); ++i)
    assignTo(*stmt.targets[i], packed.elems[i], stmt.span);
}

void Evaluator::assignTo(const Expr &target, Value value, Span span) {
  Frame &frame = frames_.back();
  if (const auto *name = dyn_cast<NameExpr>(&target)) {
    if (!frame.locals.count(name->name) && frame.self) {
      if (Member *m = frame.self->findMember(name->name)) {
        if (m->kind == Member::Kind::Variable) {
          writeVar(m->varIndex, value, target.span);
          return;
        }
        if (m->kind == Member::Kind::Static && isVariableTree(m->value)) {
          writeTree(m->value, value, target.span);
          return;
        }
        if (m->kind == Member::Kind::Submodule) {
          error("E0210", target.span, "cannot assign to `" + name->name + "`")
              .withLabel("it is a submodule of `" + frame.self->decl->name + "`")
              .note("declared here", m->span);
          return;
        }
        // A hyper-parameter or method name assigned in a method becomes a local that hides
        // the member for the rest of the function, as a Python local hides an attribute.
      }
    }
    frame.locals[name->name] = std::move(value);
    return;
  }
  if (const auto *member = dyn_cast<MemberExpr>(&target)) {
    Value base = eval(*member->base);
    if (base.isError())
      return;
    if (base.kind == Value::Kind::Module) {
      Member *m = base.module->findMember(member->name);
      if (m && m->kind == Member::Kind::Variable) {
        writeVar(m->varIndex, value, target.span);
        return;
      }
      if ((m && m->kind == Member::Kind::Static && isVariableTree(m->value)) ||
          (!m && member->name == "params")) {
        writeTree(m ? m->value : stateTree(base.module, {"Param"}), value, target.span);
        return;
      }
    }
    error("E0210", target.span, "cannot assign to `" + member->name + "`")
        .withLabel("only variables of a module can be assigned");
    return;
  }
  if (const auto *call = dyn_cast<CallExpr>(&target)) { // state(model, BatchStat) = s
    Value tree = eval(*call);
    if (tree.isError())
      return;
    if (isVariableTree(tree)) {
      writeTree(tree, value, target.span);
      return;
    }
  }
  if (const auto *seq = dyn_cast<SequenceExpr>(&target)) {
    if (value.isSequence() && value.elems.size() == seq->elements.size()) {
      for (size_t i = 0; i < value.elems.size(); ++i)
        assignTo(*seq->elements[i], value.elems[i], span);
      return;
    }
  }
  error("E0211", target.span, "cannot assign to this expression")
      .withLabel("expected a name, `module.variable` or a tuple of names");
}

void Evaluator::execAugAssign(const AugAssignStmt &stmt) {
  Value current = eval(*stmt.target);
  Value rhs = eval(*stmt.value);
  BinOp op = stmt.op == "+" ? BinOp::Add : stmt.op == "-" ? BinOp::Sub
             : stmt.op == "*" ? BinOp::Mul : BinOp::Div;
  assignTo(*stmt.target, binary(op, current, rhs, stmt.opSpan, stmt.span), stmt.span);
}

void Evaluator::execIf(const IfStmt &stmt) {
  Value cond = eval(*stmt.cond);
  if (cond.isError())
    return;
  if (cond.kind != Value::Kind::Bool) {
    Diagnostic &d = error("E0212", stmt.cond->span, "`if` needs a condition known at compile time");
    d.withLabel("this is " + describeValue(cond));
    if (cond.isTensor())
      d.help("choose between tensors elementwise with where(cond, a, b)");
    return;
  }
  if (frames_.back().moduleBody)
    execModuleBody(cond.b ? stmt.thenBlock : stmt.elseBlock, frames_.back().self);
  else
    execBlock(cond.b ? stmt.thenBlock : stmt.elseBlock);
}

void Evaluator::execAssert(const AssertStmt &stmt) {
  Value cond = eval(*stmt.cond);
  if (cond.isError())
    return;
  // The message is evaluated only when it is needed, as Python's.
  auto messageText = [&]() -> std::string {
    std::string fallback =
        "assertion failed: " + std::string(program_.sources().text(stmt.cond->span));
    if (!stmt.message)
      return fallback;
    Value m = eval(*stmt.message);
    if (m.kind == Value::Kind::Str)
      return m.s;
    if (!m.isError())
      error("E0213", stmt.message->span, "an assert message must be a string")
          .withLabel("this is " + describeValue(m))
          .help("build one with str(): \"n is \" + str(n)");
    return fallback;
  };
  if (cond.kind == Value::Kind::Bool) {
    if (cond.b)
      return;
    // In a test body an assert is a test's check; anywhere else a failed one is an error.
    if (inTest_ && frames_.size() == 1)
      staticFailures_.push_back({stmt.span, messageText()});
    else {
      error("E0213", stmt.cond->span, messageText()).withLabel("this is false");
      // Like a raised AssertionError: the rest of the function (or module body) does not run,
      // so a failed check is not followed by the errors it was written to prevent.
      Frame &frame = frames_.back();
      if (frame.fn)
        frame.returnValue = Value::error();
      frame.returned = true;
    }
    return;
  }
  if (cond.isTensor() && inTest_ && frames_.size() == 1 &&
      cast<RankedTensorType>(cond.tensor.getType()).getElementType().isInteger(1)) {
    // Any shape: all elements must hold. Reduce to one bool.
    Value all = cond;
    if (typeOf(all).getRank() > 0) {
      Value asNum = convert(all, rt::DType::F32, stmt.span);
      Value least = reduce(RedOp::Min, asNum, std::nullopt, false, stmt.span);
      all = binary(BinOp::Gt, least, Value::real(0.5), stmt.span, stmt.span);
    }
    dynamicAsserts_.push_back({all.tensor, stmt.span, messageText()});
    return;
  }
  error("E0213", stmt.cond->span, "`assert` needs a bool")
      .withLabel("this is " + describeValue(cond) +
                 (cond.isTensor() && !inTest_ ? "; runtime asserts are only allowed in tests" : ""));
}

} // namespace nnx::lang
