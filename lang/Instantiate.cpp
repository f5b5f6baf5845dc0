//===- Instantiate.cpp - Running module bodies to build the state tree ----===//
//
// `Model(784, 256, 10)` binds the hyper-parameters, then runs the module body top to bottom
// with static values only (like NNX's eager `__init__`): `name = Submodule(...)` creates a
// child instance at path `parent.name`; `Param kernel: f32[a, b] = init()` and
// `count = Counter(0)` declare variables; `rngs = Rngs("dropout")` registers an RNG stream on
// the model's root; `fn` declares a method; `if` on a static condition selects members;
// `assert` checks hyper-parameters. Inside `vmap(n) Module(...)` (EvalVmap.cpp) every variable
// gets the stack's extents as leading dimensions.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/Types.h"
#include "runtime/MemoryBudget.h"

#include "llvm/Support/Casting.h"

using llvm::cast;
using llvm::dyn_cast;

namespace nnx::lang {

rt::Shape Evaluator::stacked(const rt::Shape &shape) const {
  rt::Shape out(stack_.begin(), stack_.end());
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

bool Evaluator::isVariableKind(const std::string &name) const {
#define NNX_VARIABLE_KIND(kind)                                                                  \
  if (name == #kind)                                                                             \
    return true;
#include "lang/Builtins.def"
  const GlobalDecl *g = program_.lookup(name);
  return g && g->kind == GlobalDecl::Kind::VariableKind;
}

ModuleInstance *Evaluator::instantiate(const ModuleDecl &decl, std::vector<Value> args,
                                       std::vector<std::pair<std::string, Value>> kwargs,
                                       const std::vector<Span> &argSpans, Span span,
                                       ModuleInstance *parent, const std::string &path) {
  if (frames_.size() >= 64) {
    error("E0216", span, "modules nest more than 64 deep")
        .withLabel("creating `" + decl.name + "` here")
        .note("a module that contains itself never finishes instantiating");
    return nullptr;
  }
  std::vector<std::pair<std::string, std::optional<Value>>> bound;
  if (!bindParams(decl.params, decl.name, args, kwargs, argSpans, span, bound))
    return nullptr;
  ModuleInstance *inst = space_.newInstance();
  inst->decl = &decl;
  inst->path = path;
  inst->createdAt = span;
  inst->parent = parent;
  inst->root = parent ? parent->root : inst;
  inst->stack = stack_;

  Frame frame;
  frame.self = inst;
  frame.callSite = span;
  frame.moduleBody = true;
  frames_.push_back(std::move(frame));
  unsigned errorsBefore = program_.diags().errorCount();
  for (size_t i = 0; i < bound.size(); ++i) {
    const Param &p = decl.params[i];
    Value value = bound[i].second ? *bound[i].second : eval(*p.defaultValue);
    if (!bound[i].second)
      inst->defaulted.push_back(p.name);
    Span valueSpan = i < argSpans.size() ? argSpans[i] : span;
    if (p.type)
      checkAnnotation(*p.type, value, "`" + p.name + "` of `" + decl.name + "`", valueSpan);
    frames_.back().locals[p.name] = value;
    inst->hyperParams.push_back({p.name, value});
    adoptArgumentModules(inst, value, inst->childPath(p.name));
    // Hyper-parameters are static members: methods and type annotations see them.
    bindMember(inst, p.name, value, p.span);
  }
  if (program_.diags().errorCount() == errorsBefore)
    execModuleBody(decl.body, inst);
  frames_.pop_back();
  return program_.diags().errorCount() == errorsBefore ? inst : nullptr;
}

void Evaluator::execModuleBody(const Block &body, ModuleInstance *inst) {
  for (const StmtPtr &stmt : body) {
    if (frames_.back().returned) // a failed assert stopped the body
      return;
    switch (stmt->kind) {
    case Stmt::Kind::Fn: {
      const FnDecl &fn = *cast<FnStmt>(*stmt).fn;
      Value v = Value::make(Value::Kind::Method);
      v.module = inst;
      v.fn = &fn;
      bindMember(inst, fn.name, v, fn.nameSpan);
      break;
    }
    case Stmt::Kind::VarDecl: declareVariable(cast<VarDeclStmt>(*stmt), inst); break;
    case Stmt::Kind::Assign: {
      const auto &assign = cast<AssignStmt>(*stmt);
      if (assign.targets.size() != 1 || assign.values.size() != 1 ||
          !llvm::isa<NameExpr>(*assign.targets[0])) {
        error("E0211", stmt->span, "a module body assigns one name at a time")
            .withLabel("write `name = value`");
        break;
      }
      const std::string &name = cast<NameExpr>(*assign.targets[0]).name;
      pendingPath_ = inst->childPath(name);
      Value value = eval(*assign.values[0]);
      pendingPath_.reset();
      if (!value.isError())
        bindMember(inst, name, value, assign.targets[0]->span);
      break;
    }
    case Stmt::Kind::Return:
      error("E0224", stmt->span, "`return` is not allowed in a module body")
          .withLabel("module bodies declare members; methods return values");
      break;
    default: execStmt(*stmt); break;
    }
  }
}

void Evaluator::adoptArgumentModules(ModuleInstance *inst, const Value &value,
                                     const std::string &path) {
  // A module created as this argument (RNN(LSTMCell(...)), or an element of Sequential's
  // `*layers`) was created at this member's path: it is this module's submodule, part of
  // this module's model.
  if (value.kind == Value::Kind::Module && value.module->path == path && value.module != inst) {
    value.module->parent = inst;
    space_.reroot(value.module->root, inst->root);
  }
  if (value.isSequence())
    for (size_t i = 0; i < value.elems.size(); ++i)
      adoptArgumentModules(inst, value.elems[i], path + "." + std::to_string(i));
}

void Evaluator::bindMember(ModuleInstance *inst, const std::string &name, Value value,
                           Span span) {
  if (Member *existing = inst->findMember(name)) {
    // A plain value may be rebound in the module body, as `self.x = ...` twice in __init__:
    // `size = out_features` then `if size == None { size = in_features }`.
    bool plain = value.kind != Value::Kind::Module && value.kind != Value::Kind::VarRef &&
                 value.kind != Value::Kind::Method && value.kind != Value::Kind::Tensor;
    if (existing->kind == Member::Kind::Static && plain) {
      existing->value = value;
      return;
    }
    error("E0208", span, "member `" + name + "` of `" + inst->decl->name + "` is defined twice")
        .withLabel("second definition")
        .note("the first definition is here", existing->span);
    return;
  }
  Member m;
  m.span = span;
  switch (value.kind) {
  case Value::Kind::Module:
    m.kind = Member::Kind::Submodule;
    m.submodule = value.module;
    break;
  case Value::Kind::VarRef:
    m.kind = Member::Kind::Variable;
    m.varIndex = static_cast<size_t>(value.i);
    break;
  case Value::Kind::Method:
    m.kind = Member::Kind::Method;
    m.method = value.fn;
    break;
  case Value::Kind::Tensor:
    error("E0215", span, "a module member cannot hold a computed tensor")
        .withLabel("declare a variable instead, e.g. `Param " + name + ": f32[...] = zeros()`");
    return;
  default:
    m.kind = Member::Kind::Static;
    m.value = value;
    break;
  }
  inst->members.push_back({name, m});
}

void Evaluator::declareVariable(const VarDeclStmt &decl, ModuleInstance *inst) {
  if (!isVariableKind(decl.kindName)) {
    Diagnostic &d = error("E0225", decl.kindSpan, "unknown variable kind `" + decl.kindName + "`");
    std::vector<std::string> kinds = {"Param", "BatchStat", "Intermediate", "OptState", "Variable"};
    for (const std::string &n : program_.globalNames())
      if (isVariableKind(n))
        kinds.push_back(n);
    const GlobalDecl *g = program_.lookup(decl.kindName);
    d.withLabel(g && g->kind == GlobalDecl::Kind::Module ? "this is a module, not a variable kind"
                                                         : "not a variable kind");
    std::string close = closestName(decl.kindName, kinds);
    if (!close.empty())
      d.help("did you mean `" + close + "`?");
    else
      d.help("declare a new kind with `variable " + decl.kindName + "` at the top level");
    return;
  }
  std::optional<rt::DType> dtype = dtypeFromName(decl.type.name);
  if (!dtype) {
    error("E0221", decl.type.span, "unknown dtype `" + decl.type.name + "`")
        .withLabel("expected f32, f64, i32, i64 or bool");
    return;
  }
  rt::Shape shape;
  for (const TypeDim &dim : decl.type.dims) {
    if (!dim.expr) {
      error("E0227", dim.span, "a variable needs a fully known shape").withLabel("`...` here");
      return;
    }
    Value dimValue = eval(*dim.expr);
    if (dimValue.isSequence()) {
      // A list of extents splices in: `f32[in_shape, out_features]` (LinearGeneral's kernel).
      std::optional<std::vector<int64_t>> extents = staticInts(dimValue, "a dimension", dim.span);
      if (!extents)
        return;
      for (int64_t e : *extents) {
        if (e < 0) {
          error("E0227", dim.span, "negative dimension " + std::to_string(e))
              .withLabel("dimensions must be >= 0");
          return;
        }
        shape.push_back(e);
      }
      continue;
    }
    std::optional<int64_t> extent = staticInt(dimValue, "a dimension", dim.span);
    if (!extent)
      return;
    if (*extent < 0) {
      error("E0227", dim.span, "negative dimension " + std::to_string(*extent))
          .withLabel("dimensions must be >= 0");
      return;
    }
    shape.push_back(*extent);
  }
  rt::Shape full = stacked(shape);
  std::optional<int64_t> bytes = rt::checkedByteSize(full, *dtype);
  if (!bytes || *bytes > rt::memoryBudget()) {
    Diagnostic &d = error("E0236", decl.type.span, "variable `" + decl.name + "` is too large");
    if (!bytes)
      d.withLabel(rt::formatShape(full) + ": its size overflows 64-bit arithmetic");
    else
      d.withLabel(rt::formatShape(full) + " " + rt::overBudget(*bytes)).help(rt::kBudgetNote);
    return;
  }
  if (options_.observer)
    options_.observer->variable(decl, *dtype, full);
  rt::InitSpec init;
  if (decl.init) {
    Value v = eval(*decl.init);
    if (v.isError())
      return;
    if (v.kind == Value::Kind::Initializer) {
      init = v.init;
    } else if (v.isStaticScalar()) {
      init.name = "constant";
      init.args["value"] = v.number();
    } else {
      error("E0228", decl.init->span, "a variable is initialised by an initializer or a number")
          .withLabel("this is " + describeValue(v))
          .help("e.g. `= lecun_normal()`, `= zeros()`, `= normal(stddev=0.02)`, `= 0`");
      return;
    }
  }
  if (!init.drawShape.empty() &&
      rt::checkedNumElements(init.drawShape) != rt::checkedNumElements(shape)) {
    error("E0228", decl.init->span, "the initializer is drawn for a shape of another size")
        .withLabel("drawn for " + rt::formatShape(init.drawShape) + " (" +
                   std::to_string(rt::numElements(init.drawShape)) + " elements), the variable is " +
                   rt::formatShape(shape) + " (" + std::to_string(rt::numElements(shape)) +
                   " elements)")
        .help("init_for(init, shape) needs a shape with as many elements as the variable");
    return;
  }
  VarInfo info;
  info.spec.path = inst->childPath(decl.name);
  info.spec.kind = decl.kindName;
  info.spec.dtype = *dtype;
  info.spec.shape = stacked(shape);
  info.spec.stack = stack_;
  info.spec.init = init;
  info.declSpan = decl.nameSpan;
  info.owner = inst;
  Value ref = Value::make(Value::Kind::VarRef);
  ref.i = static_cast<int64_t>(space_.addVar(std::move(info)));
  bindMember(inst, decl.name, ref, decl.nameSpan);
}

Value Evaluator::makeVariableFromKind(const Value &kind, std::vector<Value> args, Span span) {
  bool inBody = !frames_.empty() && frames_.back().moduleBody;
  if (!inBody || !pendingPath_) {
    error("E0214", span, "variables are created in module bodies")
        .withLabel("write `name = " + kind.s + "(value)` in a module body");
    return Value::error();
  }
  if (args.size() != 1 || !(args[0].isStaticScalar() || args[0].kind == Value::Kind::List)) {
    error("E0228", span, "`" + kind.s + "(value)` takes one number or list of numbers")
        .withLabel(args.size() == 1 ? "this is " + describeValue(args[0])
                                    : std::to_string(args.size()) + " arguments given")
        .help("for a tensor variable write `" + kind.s + " name: f32[shape] = initializer()`");
    return Value::error();
  }
  const Value &v = args[0];
  VarInfo info;
  info.spec.path = *pendingPath_;
  pendingPath_.reset();
  info.spec.kind = kind.s;
  std::vector<Value> elems = v.kind == Value::Kind::List ? v.elems : std::vector<Value>{v};
  bool anyFloat = false;
  for (const Value &e : elems) {
    if (!e.isStaticScalar()) {
      error("E0228", span, "list elements must be numbers").withLabel("found " + describeValue(e));
      return Value::error();
    }
    anyFloat |= e.kind == Value::Kind::Float;
  }
  info.spec.dtype = v.dtype ? *v.dtype
                    : v.kind == Value::Kind::Bool ? rt::DType::Bool
                    : anyFloat ? rt::DType::F32 : rt::DType::I32;
  if (v.kind == Value::Kind::List)
    info.spec.shape = {static_cast<int64_t>(elems.size())};
  rt::Tensor literal(info.spec.dtype, info.spec.shape);
  for (size_t i = 0; i < elems.size(); ++i)
    literal.set(static_cast<int64_t>(i), elems[i].number());
  info.spec.init.name = "literal";
  info.spec.init.literal = literal;
  info.spec.shape = stacked(info.spec.shape);
  info.spec.stack = stack_;
  info.declSpan = span;
  info.owner = frames_.back().self;
  Value ref = Value::make(Value::Kind::VarRef);
  ref.i = static_cast<int64_t>(space_.addVar(std::move(info)));
  return ref;
}

Value Evaluator::registerRngs(const std::string &stream, Span span) {
  bool inTestBody = inTest_ && frames_.size() == 1;
  if (frames_.empty() || !(frames_.back().moduleBody || inTestBody) || !pendingPath_) {
    error("E0229", span, "`Rngs` is created by assigning it to a member in a module body "
                         "or to a name in a test")
        .withLabel("write `rngs = Rngs(\"" + stream + "\")` in the module");
    return Value::error();
  }
  // Like an nnx.RngStream attribute: the key and counter live under the member's path
  // (`block.dropout.rngs.key`, `.count`), so every module draws from its own stream.
  std::string base = *pendingPath_;
  pendingPath_.reset();
  ModuleInstance *owner = frames_.back().self;
  VarInfo key;
  key.spec = rt::VarSpec{base + ".key", "RngKey", rt::DType::I32, stacked({2}), {}, stack_};
  key.spec.init.name = "rng_key";
  key.spec.init.stream = stream;
  key.declSpan = span;
  key.owner = owner;
  space_.addVar(std::move(key));
  VarInfo count;
  count.spec =
      rt::VarSpec{base + ".count", "RngCount", rt::DType::I32, stacked({}), {}, stack_};
  count.declSpan = span;
  count.owner = owner;
  space_.addVar(std::move(count));
  Value v = Value::make(Value::Kind::Rngs);
  v.s = base;
  v.module = owner;
  return v;
}

} // namespace nnx::lang
