//===- EvalCalls.cpp - Names, members and calls ----------------------------===//
//
// Expression evaluation: the dispatch over expression kinds; name lookup (locals, then members
// of the current module, then top-level declarations, then built-ins); member access on
// modules, state trees and tensors; and calls, which bind parameters (by position, keyword and
// default) and inline the callee's body in a new frame.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"
#include "lang/PythonHints.h"

#include "ir/NNXDialect.h"
#include "ir/Types.h"

#include "llvm/Support/Casting.h"

#include <cmath>
#include <limits>
#include <utility>

using namespace mlir;
using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;

namespace nnx::lang {

/// How deep calls may nest before the evaluator assumes unbounded recursion.
static constexpr size_t kMaxCallDepth = 64;

Value Evaluator::eval(const Expr &expr) {
  if (!options_.observer)
    return evalUnobserved(expr);
  Value value = evalUnobserved(expr);
  options_.observer->expression(expr, value);
  return value;
}

Value Evaluator::evalUnobserved(const Expr &expr) {
  // Where a tensor created below is reported when it is too large (SizeGuard).
  struct SpanScope {
    Span &current, saved;
    SpanScope(Span &current, Span span) : current(current), saved(current) { current = span; }
    ~SpanScope() { current = saved; }
  } scope(currentSpan_, expr.span);
  switch (expr.kind) {
  case Expr::Kind::Number: {
    const auto &n = cast<NumberExpr>(expr);
    return n.isInt ? Value::integer(n.intValue) : Value::real(n.value);
  }
  case Expr::Kind::String: return Value::string(cast<StringExpr>(expr).value);
  case Expr::Kind::Bool: return Value::boolean(cast<BoolExpr>(expr).value);
  case Expr::Kind::Name: return evalName(cast<NameExpr>(expr));
  case Expr::Kind::Tuple:
  case Expr::Kind::List: return evalSequence(cast<SequenceExpr>(expr));
  case Expr::Kind::ListComp: return evalListComp(cast<ListCompExpr>(expr));
  case Expr::Kind::Call: return evalCall(cast<CallExpr>(expr));
  case Expr::Kind::Member: return evalMember(cast<MemberExpr>(expr));
  case Expr::Kind::Index: return evalIndex(cast<IndexExpr>(expr));
  case Expr::Kind::Unary: return evalUnary(cast<UnaryExpr>(expr));
  case Expr::Kind::Binary: return evalBinary(cast<BinaryExpr>(expr));
  case Expr::Kind::Vmap: return evalStackedModule(cast<VmapExpr>(expr));
  case Expr::Kind::Transform: return evalTransform(cast<TransformExpr>(expr));
  }
  return Value::error();
}

Value Evaluator::evalTransform(const TransformExpr &expr) {
  if (expr.name == "scan")
    return evalScan(expr);
  if (expr.name == "vmap")
    return evalVmap(expr);
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
  if (name == "None")
    return Value::none();
  if (name == "...") { // every kind not named before it, in split(model, Param, ...)
    v.kind = Value::Kind::VariableKind;
    v.s = name;
    return v;
  }
  if (name == "nan" || name == "inf")
    return Value::real(name == "nan" ? std::numeric_limits<double>::quiet_NaN()
                                     : std::numeric_limits<double>::infinity());
  if (name == "int" || name == "float" || name == "str") { // Python's conversions
    v.kind = Value::Kind::DType;
    v.s = name;
    return v;
  }
  if (name == "Carry")
    return Value::make(Value::Kind::Carry);
  if (report) {
    Diagnostic &d = error("E0201", span, "unknown name `" + name + "`");
    d.withLabel("not defined here");
    std::optional<std::string> hint = pythonHint(name);
    std::string close = hint ? "" : closestName(name, visibleNames());
    if (hint)
      d.help(*hint);
    else if (!close.empty())
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
  // A variable named like a built-in (BatchNorm's `mean` and `var`, Flax's names) does not
  // hide the built-in from calls: a tensor cannot be called, so `mean(x)` is the built-in.
  if (callee.isTensor())
    if (const auto *name = dyn_cast<NameExpr>(expr.callee.get())) {
      Value builtin = lookupGlobal(name->name, name->span, /*report=*/false);
      if (builtin.kind == Value::Kind::Builtin)
        callee = builtin;
    }
  std::vector<Value> args;
  std::vector<std::pair<std::string, Value>> kwargs;
  std::vector<Span> spans;
  bool failed = callee.isError();
  for (const Arg &a : expr.args) {
    // A module created as an argument of a module being created at `path` belongs to it:
    // RNN(LSTMCell(3, 4)) at `rnn` puts the cell at `rnn.cell`, as Flax does.
    if (path && callee.kind == Value::Kind::ModuleType) {
      // Its path: the parameter's name (`rnn.cell`), or for `*layers` the element's
      // (`seq.layers.2`, Flax's Sequential paths).
      const std::vector<Param> &params = callee.moduleDecl->params;
      std::string param = a.name;
      if (param.empty()) {
        size_t i = args.size();
        for (size_t v = 0; v < params.size() && v <= i; ++v)
          if (params[v].variadic) {
            param = params[v].name + "." + std::to_string(i - v);
            break;
          }
        if (param.empty())
          param = i < params.size() ? params[i].name : "arg" + std::to_string(i);
      }
      pendingPath_ = path->empty() ? param : *path + "." + param;
    }
    Value v = eval(*a.value);
    pendingPath_.reset();
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
    if (!path && inTest_ && frames_.size() == 1) // `y = LayerNorm(4)(x)` in a test: a temporary
      path = "_" + callee.moduleDecl->name + std::to_string(temporaryModules_++);
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
    if (callee.s == "scan")
      return callScan(callee, std::move(args), std::move(kwargs), argSpans, span);
    if (callee.s == "vmap")
      return callVmap(callee, std::move(args), std::move(kwargs), argSpans, span);
    return differentiate(callee, std::move(args), std::move(kwargs), argSpans, span);
  case Value::Kind::Function:
    return callFunction(*callee.fn, callee.module, std::move(args), std::move(kwargs), argSpans,
                        span, callee.closure.get());
  case Value::Kind::Builtin:
    // Rngs("s") and zeros_like(tree, kind=K) create variables at the member's path.
    pendingPath_ = path;
    return callBuiltin(callee.builtin, args, kwargs, argSpans, span);
  case Value::Kind::VariableKind:
    pendingPath_ = path; // so does Counter(0)
    return makeVariableFromKind(callee, std::move(args), span);
  case Value::Kind::DType: {
    if (!callee.dtype)
      return pythonConversion(callee.s, args, kwargs, argSpans, span);
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

Value Evaluator::pythonConversion(const std::string &name, const std::vector<Value> &args,
                                  const std::vector<std::pair<std::string, Value>> &kwargs,
                                  const std::vector<Span> &argSpans, Span span) {
  // int(x), float(x), str(x) on values known at compile time, as Python: int truncates toward
  // zero, float makes a (weakly typed) float, str the source text of the value.
  if (args.size() != 1 || !kwargs.empty()) {
    error("E0202", span, "`" + name + "` takes 1 argument")
        .withLabel(std::to_string(args.size() + kwargs.size()) + " given");
    return Value::error();
  }
  const Value &x = args[0];
  if (name == "str")
    return Value::string(x.kind == Value::Kind::Str ? x.s : formatStatic(x));
  if (x.isStaticScalar()) {
    if (name == "float")
      return Value::real(x.number());
    if (x.kind == Value::Kind::Float && !std::isfinite(x.f)) {
      error("E0231", argSpans[0], "cannot convert " + formatStatic(x) + " to int");
      return Value::error();
    }
    return Value::integer(x.kind == Value::Kind::Int ? x.i : int64_t(std::trunc(x.number())));
  }
  Diagnostic &d = error("E0231", argSpans.empty() ? span : argSpans[0],
                        "`" + name + "` converts a value known at compile time");
  d.withLabel("this is " + describeValue(x));
  if (x.isTensor())
    d.help(std::string("convert a tensor's dtype with ") + (name == "int" ? "i32(x)" : "f32(x)"));
  return Value::error();
}

bool Evaluator::bindParams(const std::vector<Param> &params, const std::string &what,
                           std::vector<Value> &args,
                           std::vector<std::pair<std::string, Value>> &kwargs,
                           const std::vector<Span> &argSpans, Span span,
                           std::vector<std::pair<std::string, std::optional<Value>>> &bound) {
  size_t required = 0, variadic = params.size();
  for (size_t i = 0; i < params.size(); ++i) {
    required += params[i].defaultValue || params[i].variadic ? 0 : 1;
    if (params[i].variadic && variadic == params.size())
      variadic = i;
  }
  auto arity = [&]() {
    return required == params.size() ? std::to_string(required)
                                     : std::to_string(required) + " to " +
                                           std::to_string(params.size());
  };
  if (variadic < params.size()) {
    // `*name`: the positional arguments from its place on, as a list; the parameters after it
    // are keyword-only.
    std::vector<Value> rest;
    if (args.size() > variadic) {
      rest.assign(args.begin() + static_cast<std::ptrdiff_t>(variadic), args.end());
      args.resize(variadic);
    }
    bool byName = llvm::any_of(kwargs, [&](const auto &kw) {
      return kw.first == params[variadic].name;
    });
    if (!byName || !rest.empty())
      kwargs.push_back({params[variadic].name, Value::list(std::move(rest))});
  }
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
    bound.push_back({params[i].name, slots[i]});
  return true;
}

Value Evaluator::callFunction(const FnDecl &fn, ModuleInstance *self, std::vector<Value> args,
                              std::vector<std::pair<std::string, Value>> kwargs,
                              const std::vector<Span> &argSpans, Span span,
                              const Closure *closure) {
  std::string what = (self ? self->decl->name + "." : std::string()) + fn.name;
  if (frames_.size() >= kMaxCallDepth) {
    error("E0216", span, "calls nest more than " + std::to_string(kMaxCallDepth) + " deep")
        .withLabel("calling `" + what + "` here")
        .note("recursion is not supported: every call is inlined at compile time");
    return Value::error();
  }
  if (!closure && self && self->stack.size() > consumedStack(self)) {
    int64_t layers = self->stack[consumedStack(self)];
    std::string name = self->path.substr(self->path.rfind('.') + 1);
    error("E0242", span, "`" + (name.empty() ? self->decl->name : name) + "` holds " +
                             std::to_string(layers) + " stacked layers")
        .withLabel("calling `" + what + "` on all of them at once")
        .note("created with vmap here", self->createdAt)
        .help("run the layers with scan(" + (name.empty() ? "model" : name) +
              ", x) or map a function over them with vmap(f, in_axes=0)");
    return Value::error();
  }
  std::vector<std::pair<std::string, std::optional<Value>>> bound;
  if (!bindParams(fn.params, what, args, kwargs, argSpans, span, bound))
    return Value::error();
  Frame frame;
  frame.self = self;
  frame.fn = &fn;
  frame.callSite = span;
  if (closure)
    frame.locals = *closure;
  frames_.push_back(std::move(frame));
  bool ok = true;
  for (size_t i = 0; i < bound.size(); ++i) {
    const Param &p = fn.params[i];
    // An argument given as None stays None; only a missing one takes the default.
    Value value = bound[i].second ? *bound[i].second : eval(*p.defaultValue);
    Span valueSpan = i < argSpans.size() ? argSpans[i] : span;
    if (p.type && !checkAnnotation(*p.type, value, "`" + p.name + "` of `" + what + "`",
                                   valueSpan))
      ok = false;
    frames_.back().locals[p.name] = value;
  }
  // params --summary: a row per module method call, FLOPs counted while it runs.
  std::vector<ModuleCall> *log = closure ? nullptr : options_.callLog;
  if (log && self) {
    ModuleCall call{self->path, self->decl->name, fn.name, unsigned(activeCalls_.size()), {}, "",
                    0};
    for (const Value &a : args)
      call.inputs.push_back(typeText(a));
    activeCalls_.push_back(log->size());
    log->push_back(std::move(call));
  }
  Value result = Value::error();
  if (ok) {
    execBlock(fn.body);
    result = frames_.back().returnValue;
    if (fn.returnType && !result.isError() &&
        !checkAnnotation(*fn.returnType, result, "the result of `" + what + "`", span))
      result = Value::error();
  }
  if (log && self) {
    (*log)[activeCalls_.back()].output = typeText(result);
    activeCalls_.pop_back();
  }
  frames_.pop_back();
  return result;
}

std::string Evaluator::typeText(const Value &v) {
  if (v.isTensor())
    return ir::formatType(v.tensor.getType());
  if (v.isSequence()) {
    std::string s = "(";
    for (size_t i = 0; i < v.elems.size(); ++i)
      s += (i ? ", " : "") + typeText(v.elems[i]);
    return s + ")";
  }
  if (v.kind == Value::Kind::Int)
    return std::to_string(v.i);
  if (v.kind == Value::Kind::Module)
    return v.module->decl->name;
  return describeValue(v);
}

} // namespace nnx::lang
