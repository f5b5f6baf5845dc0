//===- Evaluator.cpp - Frames, statements, names and calls ----------------===//
//
// The core of the compile-time evaluator (see Evaluator.h): entry points that open and
// close a traced func.func, statement execution, name lookup (locals, then members of the
// current module, then top-level declarations, then built-ins), member access, and calls,
// which bind parameters and inline the callee's body. State variables read by a trace become
// function arguments the first time they are read; the ones written become results.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/NNXDialect.h"
#include "ir/Signature.h"
#include "ir/Types.h"

#include "llvm/Support/Casting.h"

#include <utility>

using namespace mlir;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;

namespace nnx::lang {

/// How deep calls may nest before the evaluator assumes unbounded recursion.
static constexpr size_t kMaxCallDepth = 64;

Evaluator::Evaluator(Program &program, ModuleOp module, StateSpace &space, TraceOptions options)
    : program_(program), module_(module), space_(space), options_(options),
      builder_(module.getContext()) {}

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
  func::FuncOp fn = finishFunction(outputs, method.span);
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
  case Stmt::Kind::Fn:
    error("E0302", stmt.span, "functions inside functions are not supported yet")
        .withLabel("define it at the top level or as a method");
    return;
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
        error("E0210", target.span, "cannot assign to `" + name->name + "`")
            .withLabel("it is a " + std::string(m->kind == Member::Kind::Submodule ? "submodule"
                                                : m->kind == Member::Kind::Method  ? "method"
                                                                                   : "constant") +
                       " of `" + frame.self->decl->name + "`")
            .note("declared here", m->span);
        return;
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
  Value result = current.isStaticScalar() && rhs.isStaticScalar()
                     ? staticBinary(op, current, rhs, stmt.span)
                     : binary(op, current, rhs, stmt.opSpan, stmt.span);
  // `count += 1` keeps the variable's dtype: an i32 counter plus a literal stays i32.
  if (result.isTensor() && current.isTensor() &&
      result.tensor.getType() != current.tensor.getType() && !result.isError()) {
    auto want = cast<RankedTensorType>(current.tensor.getType());
    if (want.getShape() == typeOf(result).getShape())
      result = convert(result, *ir::dtypeOf(want.getElementType()), stmt.span);
  }
  assignTo(*stmt.target, result, stmt.span);
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
  std::string message = stmt.message.empty()
                            ? "assertion failed: " + std::string(program_.sources().text(stmt.cond->span))
                            : stmt.message;
  if (cond.kind == Value::Kind::Bool) {
    if (cond.b)
      return;
    // In a test body an assert is a test's check; anywhere else a failed one is an error.
    if (inTest_ && frames_.size() == 1)
      staticFailures_.push_back({stmt.span, message});
    else
      error("E0213", stmt.cond->span, message).withLabel("this is false");
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
    dynamicAsserts_.push_back({all.tensor, stmt.span, message});
    return;
  }
  error("E0213", stmt.cond->span, "`assert` needs a bool")
      .withLabel("this is " + describeValue(cond) +
                 (cond.isTensor() && !inTest_ ? "; runtime asserts are only allowed in tests" : ""));
}

//===----------------------------------------------------------------------===//
// Expressions: names, members, calls
//===----------------------------------------------------------------------===//

Value Evaluator::eval(const Expr &expr) {
  switch (expr.kind) {
  case Expr::Kind::Number: {
    const auto &n = cast<NumberExpr>(expr);
    return n.isInt ? Value::integer(static_cast<int64_t>(n.value)) : Value::real(n.value);
  }
  case Expr::Kind::String: return Value::string(cast<StringExpr>(expr).value);
  case Expr::Kind::Bool: return Value::boolean(cast<BoolExpr>(expr).value);
  case Expr::Kind::Name: return evalName(cast<NameExpr>(expr));
  case Expr::Kind::Tuple:
  case Expr::Kind::List: {
    std::vector<Value> elems;
    for (const ExprPtr &e : cast<SequenceExpr>(expr).elements) {
      elems.push_back(eval(*e));
      if (elems.back().isError())
        return Value::error();
    }
    return expr.kind == Expr::Kind::List ? Value::list(std::move(elems))
                                         : Value::tuple(std::move(elems));
  }
  case Expr::Kind::Call: return evalCall(cast<CallExpr>(expr));
  case Expr::Kind::Member: return evalMember(cast<MemberExpr>(expr));
  case Expr::Kind::Index: return evalIndex(cast<IndexExpr>(expr));
  case Expr::Kind::Unary: return evalUnary(cast<UnaryExpr>(expr));
  case Expr::Kind::Binary: return evalBinary(cast<BinaryExpr>(expr));
  case Expr::Kind::Vmap:
    error("E0301", expr.span, "`vmap` is not supported yet")
        .withLabel("stacked modules come with the transforms issue");
    return Value::error();
  case Expr::Kind::Transform: return evalTransform(cast<TransformExpr>(expr));
  }
  return Value::error();
}

Value Evaluator::evalTransform(const TransformExpr &expr) {
  if (expr.name == "scan") {
    error("E0301", expr.span, "`scan` is not supported yet")
        .withLabel("scan comes with the transforms issue");
    return Value::error();
  }
  // grad(f) / value_and_grad(f), optionally wrt=Kind or wrt=[Kind, ...].
  Value t = Value::make(Value::Kind::Transform);
  t.s = expr.name;
  for (const Arg &a : expr.args) {
    Value v = eval(*a.value);
    if (v.isError())
      return v;
    if (a.name.empty() && t.elems.empty()) {
      t.elems.push_back(v);
      continue;
    }
    std::vector<Value> kinds = v.isSequence() ? v.elems : std::vector<Value>{v};
    bool ok = a.name == "wrt";
    for (const Value &k : kinds) {
      ok = ok && k.kind == Value::Kind::VariableKind;
      if (ok)
        t.keys.push_back(k.s);
    }
    if (!ok) {
      error("E0231", a.value->span, "`" + expr.name + "` takes a function and `wrt=` variable kinds")
          .withLabel("write " + expr.name + "(loss_fn) or " + expr.name + "(loss_fn, wrt=Param)");
      return Value::error();
    }
  }
  if (t.elems.empty()) {
    error("E0202", expr.span, "`" + expr.name + "` takes the function to differentiate")
        .withLabel("e.g. " + expr.name + "(loss_fn)(model, x, y)");
    return Value::error();
  }
  return t;
}

Value Evaluator::evalName(const NameExpr &expr) {
  Frame &frame = frames_.back();
  auto local = frame.locals.find(expr.name);
  if (local != frame.locals.end())
    return local->second;
  if (frame.self && frame.self->findMember(expr.name)) {
    Value self = Value::make(Value::Kind::Module);
    self.module = frame.self;
    return memberOf(self, expr.name, expr.span, expr.span);
  }
  return lookupGlobal(expr.name, expr.span, /*report=*/true);
}

std::vector<std::string> Evaluator::visibleNames() const {
  std::vector<std::string> names = program_.globalNames();
  const Frame &frame = frames_.back();
  for (const auto &[n, v] : frame.locals)
    names.push_back(n);
  if (frame.self)
    for (const auto &[n, m] : frame.self->members)
      names.push_back(n);
#define NNX_BUILTIN_FN(name) names.push_back(#name);
#define NNX_INITIALIZER(name) names.push_back(#name);
#define NNX_VARIABLE_KIND(name) names.push_back(#name);
#define NNX_DTYPE(name) names.push_back(#name);
#define NNX_CONSTANT(name) names.push_back(#name);
#include "lang/Builtins.def"
  return names;
}

Value Evaluator::lookupGlobal(const std::string &name, Span span, bool report) {
  if (const GlobalDecl *g = program_.lookup(name)) {
    Value v;
    switch (g->kind) {
    case GlobalDecl::Kind::Module:
      v.kind = Value::Kind::ModuleType;
      v.moduleDecl = g->module;
      return v;
    case GlobalDecl::Kind::Function:
      v.kind = Value::Kind::Function;
      v.fn = g->function;
      return v;
    case GlobalDecl::Kind::VariableKind:
      v.kind = Value::Kind::VariableKind;
      v.s = name;
      return v;
    }
  }
  Value v;
#define NNX_BUILTIN_FN(id)                                                                       \
  if (name == #id) {                                                                             \
    v.kind = Value::Kind::Builtin;                                                               \
    v.builtin = BuiltinId::id;                                                                   \
    return v;                                                                                    \
  }
#include "lang/Builtins.def"
#define NNX_INITIALIZER(id)                                                                      \
  if (name == #id) {                                                                             \
    v.kind = Value::Kind::Builtin;                                                               \
    v.builtin = BuiltinId::init_##id;                                                            \
    return v;                                                                                    \
  }
#include "lang/Builtins.def"
  if (isVariableKind(name)) {
    v.kind = Value::Kind::VariableKind;
    v.s = name;
    return v;
  }
  if (auto dtype = rt::parseDType(name)) {
    v.kind = Value::Kind::DType;
    v.dtype = dtype;
    return v;
  }
  if (name == "training")
    return Value::boolean(options_.training);
  if (report) {
    Diagnostic &d = error("E0201", span, "unknown name `" + name + "`");
    d.withLabel("not defined here");
    std::string close = closestName(name, visibleNames());
    if (!close.empty())
      d.help("did you mean `" + close + "`?");
  }
  return Value::error();
}

Value Evaluator::evalMember(const MemberExpr &expr) {
  Value base = eval(*expr.base);
  return memberOf(base, expr.name, expr.nameSpan, expr.span);
}

Value Evaluator::memberOf(const Value &base, const std::string &name, Span nameSpan,
                          Span whole) {
  if (base.isError())
    return base;
  if (base.kind == Value::Kind::Module) {
    ModuleInstance *inst = base.module;
    Member *m = inst->findMember(name);
    if (!m && name == "params") // like nnx.state(model, nnx.Param)
      return stateTree(inst, {"Param"});
    if (!m) {
      Diagnostic &d = error("E0205", nameSpan,
                            "`" + inst->decl->name + "` has no member `" + name + "`");
      d.withLabel("unknown member");
      std::vector<std::string> names;
      for (const auto &[n, mem] : inst->members)
        names.push_back(n);
      std::string close = closestName(name, names);
      if (!close.empty())
        d.help("did you mean `" + close + "`?");
      d.note("`" + inst->decl->name + "` is defined here", inst->decl->nameSpan);
      return Value::error();
    }
    switch (m->kind) {
    case Member::Kind::Submodule: {
      Value v = Value::make(Value::Kind::Module);
      v.module = m->submodule;
      return v;
    }
    case Member::Kind::Variable: return readVar(m->varIndex, whole);
    case Member::Kind::Static: return m->value;
    case Member::Kind::Method: {
      Value v = Value::make(Value::Kind::Method);
      v.module = inst;
      v.fn = m->method;
      return v;
    }
    }
  }
  if (base.isTree()) { // `grads.block.linear.kernel`: a leaf or a subtree
    Value sub = Value::make(Value::Kind::Tree);
    for (size_t i = 0; i < base.keys.size(); ++i) {
      if (base.keys[i] == name)
        return materialize(base.elems[i], whole);
      if (base.keys[i].compare(0, name.size() + 1, name + ".") == 0) {
        sub.keys.push_back(base.keys[i].substr(name.size() + 1));
        sub.elems.push_back(base.elems[i]);
      }
    }
    if (!sub.keys.empty())
      return sub;
  }
  if (base.isTensor()) {
    auto type = typeOf(base);
    if (name == "shape") {
      std::vector<Value> dims;
      for (int64_t d : type.getShape())
        dims.push_back(Value::integer(d));
      return Value::list(std::move(dims));
    }
    if (name == "ndim")
      return Value::integer(type.getRank());
    if (name == "T") {
      SmallVector<int64_t> perm;
      for (int64_t i = type.getRank() - 1; i >= 0; --i)
        perm.push_back(i);
      return transpose(base, perm, whole);
    }
  }
  error("E0205", nameSpan, describeValue(base) + " has no member `" + name + "`")
      .withLabel("unknown member");
  return Value::error();
}

const FnDecl *Evaluator::findMethod(ModuleInstance *self, const std::string &name, Span span) {
  const Member *m = self->findMember(name);
  if (m && m->kind == Member::Kind::Method)
    return m->method;
  Diagnostic &d = error("E0205", span, "`" + self->decl->name + "` has no method `" + name + "`");
  d.withLabel("unknown method");
  std::vector<std::string> methods;
  for (const auto &[n, mem] : self->members)
    if (mem.kind == Member::Kind::Method)
      methods.push_back(n);
  std::string close = closestName(name, methods);
  if (!close.empty())
    d.help("did you mean `" + close + "`?");
  else if (!methods.empty()) {
    std::string list;
    for (const std::string &n : methods)
      list += (list.empty() ? "" : ", ") + n;
    d.help("its methods are: " + list);
  }
  d.note("`" + self->decl->name + "` is defined here", self->decl->nameSpan);
  return nullptr;
}

Value Evaluator::evalCall(const CallExpr &expr) {
  std::optional<std::string> path = pendingPath_;
  pendingPath_.reset();
  Value callee = eval(*expr.callee);
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  std::vector<Span> spans;
  bool failed = callee.isError();
  for (const Arg &a : expr.args) {
    Value v = eval(*a.value);
    failed |= v.isError();
    if (a.name.empty())
      args.push_back(std::move(v));
    else
      kwargs.push_back({a.name, std::move(v)});
    spans.push_back(a.value->span);
  }
  if (failed)
    return Value::error();
  pendingPath_ = path;
  return callValue(callee, std::move(args), std::move(kwargs), spans, expr.span);
}

Value Evaluator::callValue(const Value &callee, std::vector<Value> args,
                           std::vector<std::pair<std::string, Value>> kwargs,
                           const std::vector<Span> &argSpans, Span span) {
  // The path an assignment gave is for this call only, not for calls made inside it.
  std::optional<std::string> path = std::exchange(pendingPath_, std::nullopt);
  switch (callee.kind) {
  case Value::Kind::Error: return callee;
  case Value::Kind::ModuleType: {
    if (!path) {
      error("E0219", span, "a module can only be created as a member or in a test")
          .withLabel("declare it in the module body instead: `name = " + callee.moduleDecl->name +
                     "(...)`");
      return Value::error();
    }
    ModuleInstance *parent = frames_.empty() || !frames_.back().moduleBody ? nullptr
                                                                           : frames_.back().self;
    ModuleInstance *inst = instantiate(*callee.moduleDecl, std::move(args), std::move(kwargs),
                                       argSpans, span, parent, *path);
    if (!inst)
      return Value::error();
    Value v = Value::make(Value::Kind::Module);
    v.module = inst;
    return v;
  }
  case Value::Kind::Module: {
    const FnDecl *fn = findMethod(callee.module, "__call__", span);
    return fn ? callFunction(*fn, callee.module, std::move(args), std::move(kwargs), argSpans,
                             span)
              : Value::error();
  }
  case Value::Kind::Method:
    return callFunction(*callee.fn, callee.module, std::move(args), std::move(kwargs), argSpans,
                        span);
  case Value::Kind::Transform:
    return differentiate(callee, std::move(args), std::move(kwargs), argSpans, span);
  case Value::Kind::Function:
    return callFunction(*callee.fn, nullptr, std::move(args), std::move(kwargs), argSpans, span);
  case Value::Kind::Builtin:
    // Rngs("s") and zeros_like(tree, kind=K) create variables at the member's path.
    pendingPath_ = path;
    return callBuiltin(callee.builtin, args, kwargs, argSpans, span);
  case Value::Kind::VariableKind:
    pendingPath_ = path; // so does Counter(0)
    return makeVariableFromKind(callee, std::move(args), span);
  case Value::Kind::DType: {
    if (args.size() != 1 || !kwargs.empty()) {
      error("E0202", span, "conversion to " + std::string(rt::dtypeName(*callee.dtype)) +
                               " takes 1 argument")
          .withLabel(std::to_string(args.size() + kwargs.size()) + " given");
      return Value::error();
    }
    if (args[0].isTensor())
      return convert(args[0], *callee.dtype, span);
    if (args[0].isStaticScalar()) {
      Value v = isFloat(*callee.dtype) ? Value::real(args[0].number())
                : *callee.dtype == rt::DType::Bool ? Value::boolean(args[0].number() != 0)
                                                   : Value::integer(int64_t(args[0].number()));
      v.dtype = callee.dtype;
      return v;
    }
    error("E0220", argSpans[0], "cannot convert " + describeValue(args[0]) + " to " +
                                    std::string(rt::dtypeName(*callee.dtype)));
    return Value::error();
  }
  default:
    error("E0220", span, describeValue(callee) + " is not callable")
        .withLabel("called here");
    return Value::error();
  }
}

bool Evaluator::bindParams(const std::vector<Param> &params, const std::string &what,
                           std::vector<Value> &args,
                           std::vector<std::pair<std::string, Value>> &kwargs,
                           const std::vector<Span> &argSpans, Span span,
                           std::vector<std::pair<std::string, Value>> &bound) {
  size_t required = 0;
  for (const Param &p : params)
    required += p.defaultValue ? 0 : 1;
  auto arity = [&]() {
    return required == params.size() ? std::to_string(required)
                                     : std::to_string(required) + " to " +
                                           std::to_string(params.size());
  };
  if (args.size() > params.size()) {
    error("E0202", span, "wrong number of arguments to `" + what + "`")
        .withLabel("it takes " + arity() + " argument" + (params.size() == 1 ? "" : "s") +
                   " but " + std::to_string(args.size() + kwargs.size()) + " were given");
    return false;
  }
  std::vector<std::optional<Value>> slots(params.size());
  for (size_t i = 0; i < args.size(); ++i)
    slots[i] = args[i];
  for (size_t k = 0; k < kwargs.size(); ++k) {
    auto &[name, value] = kwargs[k];
    Span kwSpan = args.size() + k < argSpans.size() ? argSpans[args.size() + k] : span;
    auto it = std::find_if(params.begin(), params.end(),
                           [&](const Param &p) { return p.name == name; });
    if (it == params.end()) {
      std::vector<std::string> names;
      for (const Param &p : params)
        names.push_back(p.name);
      Diagnostic &d = error("E0209", kwSpan, "`" + what + "` has no parameter `" + name + "`");
      d.withLabel("unknown keyword argument");
      std::string close = closestName(name, names);
      if (!close.empty())
        d.help("did you mean `" + close + "`?");
      return false;
    }
    size_t index = static_cast<size_t>(it - params.begin());
    if (slots[index]) {
      error("E0209", kwSpan, "parameter `" + name + "` of `" + what + "` is given twice")
          .withLabel("already given");
      return false;
    }
    slots[index] = value;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (!slots[i] && !params[i].defaultValue) {
      size_t given = args.size() + kwargs.size();
      error("E0202", span, "wrong number of arguments to `" + what + "`")
          .withLabel("it takes " + arity() + " argument" + (params.size() == 1 ? "" : "s") +
                     " but " + std::to_string(given) + (given == 1 ? " was" : " were") +
                     " given; `" + params[i].name + "` is missing");
      return false;
    }
  }
  for (size_t i = 0; i < params.size(); ++i)
    bound.push_back({params[i].name, slots[i] ? *slots[i] : Value::none()});
  return true;
}

Value Evaluator::callFunction(const FnDecl &fn, ModuleInstance *self, std::vector<Value> args,
                              std::vector<std::pair<std::string, Value>> kwargs,
                              const std::vector<Span> &argSpans, Span span) {
  std::string what = (self ? self->decl->name + "." : std::string()) + fn.name;
  if (frames_.size() >= kMaxCallDepth) {
    error("E0216", span, "calls nest more than " + std::to_string(kMaxCallDepth) + " deep")
        .withLabel("calling `" + what + "` here")
        .note("recursion is not supported: every call is inlined at compile time");
    return Value::error();
  }
  std::vector<std::pair<std::string, Value>> bound;
  if (!bindParams(fn.params, what, args, kwargs, argSpans, span, bound))
    return Value::error();
  Frame frame;
  frame.self = self;
  frame.fn = &fn;
  frame.callSite = span;
  frames_.push_back(std::move(frame));
  bool ok = true;
  for (size_t i = 0; i < bound.size(); ++i) {
    const Param &p = fn.params[i];
    Value value = bound[i].second;
    if (value.kind == Value::Kind::None && p.defaultValue)
      value = eval(*p.defaultValue);
    Span valueSpan = i < argSpans.size() ? argSpans[i] : span;
    if (p.type && !checkAnnotation(*p.type, value, "`" + p.name + "` of `" + what + "`",
                                   valueSpan))
      ok = false;
    frames_.back().locals[p.name] = value;
  }
  Value result = Value::error();
  if (ok) {
    execBlock(fn.body);
    result = frames_.back().returnValue;
    if (fn.returnType && !result.isError() &&
        !checkAnnotation(*fn.returnType, result, "the result of `" + what + "`", span))
      result = Value::error();
  }
  frames_.pop_back();
  return result;
}

} // namespace nnx::lang
