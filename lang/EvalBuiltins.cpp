//===- EvalBuiltins.cpp - Built-in functions ------------------------------===//
//
// The built-ins of lang/Builtins.def, grouped as in docs/language.md: elementwise math
// (folded when the argument is a static number), reductions and normalisations, shape
// functions, tensor creation, random draws from an Rngs stream, initializers (which only
// describe how a variable gets its first value), and `allclose` for tests. Each checks its
// arguments and reports a diagnostic naming the built-in and the offending argument.
//
//===----------------------------------------------------------------------===//
#include "lang/BuiltinArgs.h"
#include "lang/Evaluator.h"

#include <set>

#include "ir/Types.h"

#include <algorithm>
#include <cmath>
#include <set>

using llvm::SmallVector;

namespace nnx::lang {

using namespace builtins;


std::optional<int64_t> Evaluator::staticInt(const Value &v, const std::string &what, Span span) {
  if (v.isError())
    return std::nullopt;
  if (v.kind == Value::Kind::Int)
    return v.i;
  error("E0231", span, what + " must be an int known at compile time")
      .withLabel("this is " + describeValue(v));
  return std::nullopt;
}

std::optional<double> Evaluator::staticNumber(const Value &v, const std::string &what,
                                              Span span) {
  if (v.isError())
    return std::nullopt;
  if (v.isNumber())
    return v.number();
  error("E0231", span, what + " must be a number known at compile time")
      .withLabel("this is " + describeValue(v));
  return std::nullopt;
}

std::optional<std::vector<int64_t>> Evaluator::staticShape(const Value &v,
                                                          const std::string &what, Span span) {
  std::optional<std::vector<int64_t>> shape = staticInts(v, what, span);
  if (!shape)
    return std::nullopt;
  for (int64_t extent : *shape)
    if (extent < 0) {
      error("E0227", span, "negative dimension " + std::to_string(extent) + " in " + what + " " +
                               ir::formatShape(*shape))
          .withLabel("dimensions must be >= 0");
      return std::nullopt;
    }
  return shape;
}

std::optional<std::vector<int64_t>> Evaluator::staticInts(const Value &v, const std::string &what,
                                                          Span span) {
  if (v.isError())
    return std::nullopt;
  if (v.kind == Value::Kind::Int)
    return std::vector<int64_t>{v.i};
  std::vector<int64_t> out;
  if (v.isSequence()) {
    for (const Value &e : v.elems) {
      if (e.kind != Value::Kind::Int)
        break;
      out.push_back(e.i);
    }
    if (out.size() == v.elems.size())
      return out;
  }
  error("E0231", span, what + " must be a list of ints known at compile time")
      .withLabel("this is " + describeValue(v));
  return std::nullopt;
}

Value Evaluator::callBuiltin(BuiltinId id, std::vector<Value> &args,
                             std::vector<std::pair<std::string, Value>> &kwargs,
                             const std::vector<Span> &argSpans, Span span) {
  Value result;
  switch (id) {
  case BuiltinId::relu: case BuiltinId::gelu: case BuiltinId::tanh: case BuiltinId::sigmoid:
  case BuiltinId::exp: case BuiltinId::log: case BuiltinId::sqrt: case BuiltinId::rsqrt:
  case BuiltinId::abs: case BuiltinId::sin: case BuiltinId::cos: case BuiltinId::erf:
  case BuiltinId::floor: case BuiltinId::maximum:
  case BuiltinId::minimum: case BuiltinId::where: case BuiltinId::softmax:
  case BuiltinId::log_softmax: case BuiltinId::sum: case BuiltinId::mean: case BuiltinId::max:
  case BuiltinId::min: case BuiltinId::allclose:
    result = builtinMath(id, args, kwargs, span);
    break;
  case BuiltinId::shape: case BuiltinId::reshape: case BuiltinId::transpose:
  case BuiltinId::concat: case BuiltinId::matmul: case BuiltinId::len: case BuiltinId::flip:
    result = builtinShapeOp(id, args, kwargs, span);
    break;
  case BuiltinId::zeros_like: case BuiltinId::ones_like: case BuiltinId::full:
  case BuiltinId::iota: case BuiltinId::one_hot:
    result = builtinCreation(id, args, kwargs, span);
    break;
  case BuiltinId::uniform: case BuiltinId::normal:
    // With an Rngs handle these draw; without, they are initializers.
    if (args.size() < 2 && !llvm::any_of(kwargs, [](auto &kw) { return kw.first == "rngs"; }))
      result = builtinInitializer(id == BuiltinId::uniform ? BuiltinId::init_uniform
                                                           : BuiltinId::init_normal,
                                  args, kwargs, span);
    else
      result = builtinRandom(id, args, kwargs, span);
    break;
  case BuiltinId::bernoulli: result = builtinRandom(id, args, kwargs, span); break;
  case BuiltinId::range: case BuiltinId::enumerate: case BuiltinId::zip:
    result = builtinSequence(id, args, kwargs, span);
    break;
  case BuiltinId::square: case BuiltinId::clip: case BuiltinId::var: case BuiltinId::std:
  case BuiltinId::logsumexp: case BuiltinId::argmax: case BuiltinId::argmin:
  case BuiltinId::cumsum: case BuiltinId::stack: case BuiltinId::expand_dims:
  case BuiltinId::squeeze: case BuiltinId::take:
  case BuiltinId::take_along_axis: case BuiltinId::pad:
    result = builtinArray(id, args, kwargs, span);
    break;
  case BuiltinId::split:
    if (!args.empty() && args[0].kind == Value::Kind::Module) {
      result = splitState(args, span); // nnx.split; on a tensor, numpy's split
      break;
    }
    result = builtinArray(id, args, kwargs, span);
    break;
  case BuiltinId::einsum: result = builtinEinsum(args, span); break;
  case BuiltinId::conv_general_dilated: result = builtinConv(args, kwargs, span); break;
  case BuiltinId::max_pool: case BuiltinId::min_pool: case BuiltinId::avg_pool:
    result = builtinPool(id, args, kwargs, span);
    break;
  case BuiltinId::array: {
    std::optional<Value> dtypeArg = takeKwarg(kwargs, "dtype");
    if (args.size() != 1 || (dtypeArg && dtypeArg->kind != Value::Kind::DType)) {
      error("E0231", span, "`array` takes nested lists of numbers and an optional dtype")
          .withLabel("e.g. array([[1.0, 0.0], [0.0, 1.0]], dtype=f32)");
      return Value::error();
    }
    if (args[0].isTensor()) {
      result = dtypeArg ? convert(args[0], *dtypeArg->dtype, span) : args[0];
      break;
    }
    // A number is a rank-0 array: the list of one, reshaped.
    std::optional<rt::DType> dtype =
        dtypeArg ? std::optional<rt::DType>(*dtypeArg->dtype) : std::nullopt;
    if (args[0].isStaticScalar()) {
      result = arrayFromList(Value::list({args[0]}), dtype, span);
      if (!result.isError())
        result = reshape(result, {}, span);
    } else {
      result = arrayFromList(args[0], dtype, span);
    }
    break;
  }
  case BuiltinId::sow: result = builtinSow(args, span); break;
  case BuiltinId::as_tuple:
    if (args.size() != 1 || !kwargs.empty()) {
      error("E0202", span, "`as_tuple` takes one argument")
          .withLabel(std::to_string(args.size() + kwargs.size()) + " given");
      return Value::error();
    }
    result = args[0].isSequence() ? Value::list(args[0].elems) : Value::list({args[0]});
    break;
  case BuiltinId::callable:
    if (args.size() != 1 || !kwargs.empty()) {
      error("E0202", span, "`callable` takes one argument")
          .withLabel(std::to_string(args.size() + kwargs.size()) + " given");
      return Value::error();
    }
    result = Value::boolean(args[0].kind == Value::Kind::Function ||
                            args[0].kind == Value::Kind::Method ||
                            args[0].kind == Value::Kind::Builtin ||
                            args[0].kind == Value::Kind::Transform ||
                            args[0].kind == Value::Kind::ModuleType ||
                            args[0].kind == Value::Kind::Module);
    break;
  case BuiltinId::global_norm: result = builtinGlobalNorm(args, kwargs, span); break;
  case BuiltinId::tree_map: result = builtinTreeMap(args, kwargs, argSpans, span); break;
  case BuiltinId::keys: {
    if (args.size() != 1 || !args[0].isTree()) {
      error("E0231", span, "`keys` takes a state tree")
          .withLabel(args.size() == 1 ? "this is " + describeValue(args[0])
                                      : std::to_string(args.size()) + " arguments given")
          .help("e.g. keys(state(model, Param))");
      return Value::error();
    }
    std::set<std::string> names;
    for (const std::string &path : args[0].keys)
      names.insert(path.substr(0, path.find('.')));
    std::vector<Value> elems;
    for (const std::string &n : names)
      elems.push_back(Value::string(n));
    result = Value::list(std::move(elems));
    break;
  }
  case BuiltinId::init_for: {
    std::optional<std::vector<int64_t>> shape =
        args.size() == 2 ? staticShape(args[1], "the shape to draw for", span) : std::nullopt;
    if (args.size() != 2 || args[0].kind != Value::Kind::Initializer || !shape) {
      if (args.size() != 2 || args[0].kind != Value::Kind::Initializer)
        error("E0231", span, "`init_for` takes an initializer and a shape")
            .withLabel("e.g. init_for(lecun_normal(), [64, 512])");
      return Value::error();
    }
    result = args[0];
    result.init.drawShape.assign(shape->begin(), shape->end());
    break;
  }
  case BuiltinId::merge:
  case BuiltinId::update:
  case BuiltinId::merge_state: result = mergeState(id, args, span); break;
  case BuiltinId::state: {
    // state(model, Kind, ...): the model's variables of those kinds (all when none given).
    std::vector<std::string> kinds;
    bool ok = !args.empty() && args[0].kind == Value::Kind::Module;
    for (size_t i = 1; ok && i < args.size(); ++i) {
      ok = args[i].kind == Value::Kind::VariableKind;
      if (ok)
        kinds.push_back(args[i].s);
    }
    if (!ok) {
      error("E0231", span, "`state` takes a module and variable kinds")
          .withLabel("e.g. state(model, Param, BatchStat)");
      return Value::error();
    }
    result = stateTree(args[0].module, kinds);
    break;
  }
  case BuiltinId::Rngs: {
    std::optional<Value> stream = argOr(args, kwargs, 0, "stream");
    if (!stream || stream->kind != Value::Kind::Str) {
      error("E0231", span, "`Rngs` takes the name of a stream")
          .withLabel("e.g. Rngs(\"dropout\")");
      return Value::error();
    }
    result = registerRngs(stream->s, span);
    break;
  }
  case BuiltinId::init_zeros: case BuiltinId::init_ones:
    result = args.empty() ? builtinInitializer(id, args, kwargs, span)
                          : builtinCreation(id, args, kwargs, span);
    break;
  default: result = builtinInitializer(id, args, kwargs, span); break;
  }
  if (!result.isError() && !kwargs.empty()) {
    error("E0209", span, "`" + std::string(builtinName(id)) + "` has no parameter `" +
                             kwargs[0].first + "`")
        .withLabel("unknown keyword argument");
    return Value::error();
  }
  return result;
}

Value Evaluator::builtinMath(BuiltinId id, std::vector<Value> &args,
                             std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  const char *name = builtinName(id);
  auto arity = [&](size_t lo, size_t hi) {
    if (args.size() >= lo && args.size() <= hi)
      return true;
    error("E0202", span, "wrong number of arguments to `" + std::string(name) + "`")
        .withLabel("it takes " + std::to_string(lo) + (hi > lo ? " to " + std::to_string(hi) : "") +
                   " positional arguments but " + std::to_string(args.size()) + " were given");
    return false;
  };
  static const std::pair<BuiltinId, UnOp> unaries[] = {
      {BuiltinId::relu, UnOp::Relu}, {BuiltinId::gelu, UnOp::Gelu},
      {BuiltinId::tanh, UnOp::Tanh}, {BuiltinId::sigmoid, UnOp::Sigmoid},
      {BuiltinId::exp, UnOp::Exp}, {BuiltinId::log, UnOp::Log}, {BuiltinId::sqrt, UnOp::Sqrt},
      {BuiltinId::rsqrt, UnOp::Rsqrt}, {BuiltinId::abs, UnOp::Abs}, {BuiltinId::sin, UnOp::Sin},
      {BuiltinId::cos, UnOp::Cos}, {BuiltinId::erf, UnOp::Erf},
      {BuiltinId::floor, UnOp::Floor}};
  for (auto [bid, op] : unaries) {
    if (bid != id)
      continue;
    if (!arity(1, 1))
      return Value::error();
    const Value &x = args[0];
    if (id == BuiltinId::gelu) {
      // jax.nn.gelu(x, approximate=True): the tanh form by default, erf's with false.
      std::optional<Value> approximate = takeKwarg(kwargs, "approximate");
      if (approximate && approximate->kind != Value::Kind::Bool) {
        error("E0231", span, "`approximate` must be a bool known at compile time")
            .withLabel("this is " + describeValue(*approximate));
        return Value::error();
      }
      if (approximate && !approximate->b && !x.isNumber()) // 0.5 x (1 + erf(x / sqrt(2)))
        return binary(BinOp::Mul, binary(BinOp::Mul, Value::real(0.5), x, span, span),
                      binary(BinOp::Add, Value::real(1.0),
                             unary(UnOp::Erf,
                                   binary(BinOp::Mul, x, Value::real(M_SQRT1_2), span, span),
                                   span),
                             span, span),
                      span, span);
      if (approximate && !approximate->b)
        return Value::real(0.5 * x.number() * (1 + std::erf(x.number() * M_SQRT1_2)));
    }
    if (x.isNumber()) { // fold on static numbers
      double v = x.number();
      double r = op == UnOp::Relu ? std::max(v, 0.0) : op == UnOp::Tanh ? std::tanh(v)
                 : op == UnOp::Sigmoid ? 1 / (1 + std::exp(-v)) : op == UnOp::Exp ? std::exp(v)
                 : op == UnOp::Log ? std::log(v) : op == UnOp::Sqrt ? std::sqrt(v)
                 : op == UnOp::Rsqrt ? 1 / std::sqrt(v) : op == UnOp::Abs ? std::fabs(v)
                 : op == UnOp::Sin ? std::sin(v) : op == UnOp::Cos ? std::cos(v)
                 : op == UnOp::Erf ? std::erf(v) : op == UnOp::Floor ? std::floor(v)
                 : 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      if (op == UnOp::Abs && x.kind == Value::Kind::Int)
        return Value::integer(std::llabs(x.i));
      return Value::real(r);
    }
    return unary(op, x, span);
  }
  switch (id) {
  case BuiltinId::maximum:
  case BuiltinId::minimum:
    if (!arity(2, 2))
      return Value::error();
    return binary(id == BuiltinId::maximum ? BinOp::Max : BinOp::Min, args[0], args[1], span, span);
  case BuiltinId::where:
    if (!arity(3, 3))
      return Value::error();
    if (args[0].kind != Value::Kind::Bool && !args[0].isTensor()) {
      error("E0231", span, "the condition of `where` must be a bool or a bool tensor")
          .withLabel("this is " + describeValue(args[0]));
      return Value::error();
    }
    if (args[0].kind == Value::Kind::Bool)
      return args[0].b ? args[1] : args[2];
    return select(args[0], args[1], args[2], span);
  case BuiltinId::softmax:
  case BuiltinId::log_softmax: {
    if (!arity(1, 2))
      return Value::error();
    std::optional<Value> axis = argOr(args, kwargs, 1, "axis");
    std::optional<int64_t> a = axis ? staticInt(*axis, "`axis`", span) : std::optional<int64_t>(-1);
    if (!a || args[0].isError())
      return Value::error();
    if (!args[0].isTensor()) {
      error("E0231", span, "`" + std::string(name) + "` needs a tensor")
          .withLabel("this is " + describeValue(args[0]));
      return Value::error();
    }
    return softmax(args[0], *a, id == BuiltinId::log_softmax, span);
  }
  case BuiltinId::allclose: {
    if (!arity(2, 2))
      return Value::error();
    std::optional<Value> rtol = takeKwarg(kwargs, "rtol"), atol = takeKwarg(kwargs, "atol");
    double rt = rtol ? rtol->number() : 1e-5, at = atol ? atol->number() : 1e-8;
    const Value &a = args[0], &b = args[1];
    if (a.isNumber() && b.isNumber()) // two static numbers: numpy's rule, folded
      return Value::boolean(std::fabs(a.number() - b.number()) <= at + rt * std::fabs(b.number()));
    Value diff = unary(UnOp::Abs, binary(BinOp::Sub, a, b, span, span), span);
    Value tol = b.isTensor() ? binary(BinOp::Add, binary(BinOp::Mul, unary(UnOp::Abs, b, span),
                                                         Value::real(rt), span, span),
                                      Value::real(at), span, span)
                             : Value::real(at + rt * std::fabs(b.number()));
    Value excess = binary(BinOp::Sub, diff, tol, span, span);
    Value worst = reduce(RedOp::Max, excess, std::nullopt, false, span);
    return binary(BinOp::Le, worst, Value::real(0.0), span, span);
  }
  default: break;
  }
  return builtinReduce(id, args, kwargs, span);
}

Value Evaluator::builtinReduce(BuiltinId id, std::vector<Value> &args,
                               std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  const char *name = builtinName(id);
  // sum / mean / max / min. With several static numbers, max and min act like Python's.
  if ((id == BuiltinId::max || id == BuiltinId::min) && args.size() >= 2 && args[0].isNumber()) {
    Value best = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      if (!args[i].isNumber()) {
        error("E0231", span, "`" + std::string(name) + "` of several values needs numbers")
            .withLabel("argument " + std::to_string(i + 1) + " is " + describeValue(args[i]));
        return Value::error();
      }
      bool better = id == BuiltinId::max ? args[i].number() > best.number()
                                         : args[i].number() < best.number();
      if (better)
        best = args[i];
    }
    return best;
  }
  if (args.empty() || args.size() > 2) {
    error("E0202", span, "wrong number of arguments to `" + std::string(name) + "`")
        .withLabel("it takes a tensor (or a list) and an optional axis, but " +
                   std::to_string(args.size()) + " positional arguments were given");
    return Value::error();
  }
  if (args[0].isSequence() && id != BuiltinId::mean) { // static lists
    if (args[0].elems.empty()) {
      error("E0231", span, "`" + std::string(name) + "` of an empty list");
      return Value::error();
    }
    Value acc = args[0].elems[0];
    for (size_t i = 1; i < args[0].elems.size(); ++i)
      acc = staticBinary(id == BuiltinId::sum ? BinOp::Add
                         : id == BuiltinId::max ? BinOp::Max : BinOp::Min,
                         acc, args[0].elems[i], span);
    return acc;
  }
  std::optional<Value> axis = argOr(args, kwargs, 1, "axis");
  std::optional<Value> keep = takeKwarg(kwargs, "keepdims");
  std::optional<std::vector<int64_t>> axes;
  if (axis && axis->kind != Value::Kind::None) {
    axes = staticInts(*axis, "`axis`", span);
    if (!axes)
      return Value::error();
  }
  RedOp op = id == BuiltinId::sum ? RedOp::Sum : id == BuiltinId::mean ? RedOp::Mean
             : id == BuiltinId::max ? RedOp::Max : RedOp::Min;
  return reduce(op, args[0], axes, keep && keep->kind == Value::Kind::Bool && keep->b, span);
}


Value Evaluator::builtinCreation(BuiltinId id, std::vector<Value> &args,
                                 std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  std::optional<Value> dtypeArg = takeKwarg(kwargs, "dtype");
  if (dtypeArg && (dtypeArg->kind != Value::Kind::DType || !dtypeArg->dtype)) {
    error("E0231", span, "`dtype` must be f32, f64, i32, i64 or bool")
        .withLabel("this is " + describeValue(*dtypeArg));
    return Value::error();
  }
  if ((id == BuiltinId::zeros_like || id == BuiltinId::ones_like) && !args.empty() &&
      args[0].isTree())
    return builtinTreeLike(id, args, kwargs, span);
  if (!requireTracing(span, "creating a tensor"))
    return Value::error();
  if (id == BuiltinId::zeros_like || id == BuiltinId::ones_like) {
    if (args.size() != 1 || !args[0].isTensor()) {
      error("E0231", span, "`zeros_like`/`ones_like` take one tensor")
          .withLabel(args.size() == 1 ? "this is " + describeValue(args[0]) : "wrong count");
      return Value::error();
    }
    auto type = typeOf(args[0]);
    if (dtypeArg)
      type = ir::tensorType(context(), *dtypeArg->dtype, type.getShape());
    return splat(id == BuiltinId::ones_like ? 1.0 : 0.0, type, span);
  }
  if (id == BuiltinId::one_hot)
    return builtinOneHot(args, kwargs, dtypeArg ? *dtypeArg->dtype : rt::DType::F32, span);
  std::optional<Value> shapeArg = argOr(args, kwargs, 0, "shape");
  if (!shapeArg) {
    error("E0202", span, "missing the shape argument").withLabel("e.g. zeros([2, 3])");
    return Value::error();
  }
  std::optional<std::vector<int64_t>> shape = staticShape(*shapeArg, "the shape", span);
  if (!shape)
    return Value::error();
  rt::DType dtype = dtypeArg ? *dtypeArg->dtype : rt::DType::F32;
  if (id == BuiltinId::iota) {
    std::optional<Value> dimArg = argOr(args, kwargs, 1, "dim");
    std::optional<int64_t> dim = dimArg ? staticInt(*dimArg, "`dim`", span)
                                        : std::optional<int64_t>(0);
    if (!dim)
      return Value::error();
    std::optional<int64_t> d = normalizeAxis(*dim, static_cast<int64_t>(shape->size()), span);
    return d ? iota(dtypeArg ? dtype : rt::DType::I32, *shape, *d, span) : Value::error();
  }
  double value = id == BuiltinId::init_ones ? 1.0 : 0.0;
  if (id == BuiltinId::full) {
    std::optional<Value> v = argOr(args, kwargs, 1, "value");
    if (v && v->kind == Value::Kind::Bool && !dtypeArg) // jnp.full(shape, True) is bool
      dtype = rt::DType::Bool;
    std::optional<double> num =
        v && v->kind == Value::Kind::Bool ? std::optional<double>(v->number())
        : v                               ? staticNumber(*v, "the fill value", span)
                                          : std::nullopt;
    if (!num)
      return v ? Value::error()
               : (error("E0202", span, "`full` takes a shape and a value"), Value::error());
    value = *num;
  }
  return splat(value, ir::tensorType(context(), dtype, *shape), span);
}

/// zeros_like/ones_like of a state tree: in a module body with `kind=`, variables shaped like
/// the tree's (`mu = zeros_like(model.params, kind=OptState)`); elsewhere a tree of constants.
Value Evaluator::builtinTreeLike(BuiltinId id, std::vector<Value> &args,
                                 std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  // zeros_like(model.params, kind=OptState) in a module body declares variables shaped like
  // the tree's; in a method zeros_like(tree) is a tree of zero tensors.
  std::optional<Value> kind = takeKwarg(kwargs, "kind");
  if (kind) {
    if (kind->kind != Value::Kind::VariableKind || id != BuiltinId::zeros_like) {
      error("E0231", span, "`kind=` takes a variable kind, with zeros_like")
          .withLabel("e.g. zeros_like(model.params, kind=OptState)");
      return Value::error();
    }
    return variablesLike(args[0], kind->s, span);
  }
  double fill = id == BuiltinId::ones_like ? 1.0 : 0.0;
  return treeMap(args[0], [&](const Value &leaf) {
    return leaf.isTensor() ? splat(fill, typeOf(leaf), span) : leaf;
  }, span);
}

/// one_hot(labels, num_classes): integer labels [...] to [..., num_classes] of `dtype`.
Value Evaluator::builtinOneHot(std::vector<Value> &args,
                               std::vector<std::pair<std::string, Value>> &kwargs,
                               rt::DType dtype, Span span) {
  std::optional<Value> n = argOr(args, kwargs, 1, "num_classes");
  if (args.empty() || !args[0].isTensor() || !n) {
    error("E0231", span, "`one_hot` takes integer labels and a number of classes")
        .withLabel("e.g. one_hot(labels, 10)");
    return Value::error();
  }
  std::optional<int64_t> classes = staticInt(*n, "the number of classes", span);
  auto labels = typeOf(args[0]);
  if (!classes)
    return Value::error();
  if (!labels.getElementType().isInteger(32) && !labels.getElementType().isInteger(64)) {
    error("E0204", span, "`one_hot` needs integer labels")
        .withLabel("got " + ir::formatType(labels) + "; convert with i32(x)");
    return Value::error();
  }
  SmallVector<int64_t> shape(labels.getShape());
  shape.push_back(*classes);
  rt::DType labelType = *ir::dtypeOf(labels.getElementType());
  Value classIds = iota(labelType, shape, static_cast<int64_t>(shape.size()) - 1, span);
  // labels[..., None] == iota along the last axis (broadcast by the comparison).
  SmallVector<int64_t> column(labels.getShape());
  column.push_back(1);
  Value hot = binary(BinOp::Eq, reshape(args[0], column, span), classIds, span, span);
  return convert(hot, dtype, span);
}

Value Evaluator::builtinRandom(BuiltinId id, std::vector<Value> &args,
                               std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  // uniform(shape, rngs), normal(shape, rngs), bernoulli(p, shape, rngs)
  size_t first = id == BuiltinId::bernoulli ? 1 : 0;
  std::optional<Value> shapeArg = argOr(args, kwargs, first, "shape");
  std::optional<Value> rngs = argOr(args, kwargs, first + 1, "rngs");
  std::optional<Value> p = id == BuiltinId::bernoulli ? argOr(args, kwargs, 0, "p") : Value::real(0);
  if (!shapeArg || !rngs || !p || rngs->kind != Value::Kind::Rngs) {
    error("E0231", span, std::string("`") + builtinName(id) + "` draws from an Rngs stream")
        .withLabel(id == BuiltinId::bernoulli ? "write bernoulli(p, shape, rngs)"
                                              : std::string("write ") + builtinName(id) +
                                                    "(shape, rngs)")
        .help("declare the stream in the module: `rngs = Rngs(\"dropout\")`");
    return Value::error();
  }
  std::optional<std::vector<int64_t>> shape = staticShape(*shapeArg, "the shape", span);
  if (!shape || !requireTracing(span, "a random draw"))
    return Value::error();
  Value draw = randomDraw(*rngs, id == BuiltinId::normal, *shape, span);
  if (id != BuiltinId::bernoulli)
    return draw;
  return binary(BinOp::Lt, draw, *p, span, span);
}

Value Evaluator::builtinInitializer(BuiltinId id, std::vector<Value> &args,
                                    std::vector<std::pair<std::string, Value>> &kwargs,
                                    Span span) {
  Value v = Value::make(Value::Kind::Initializer);
  std::string name = builtinName(id);
  v.init.name = name;
  // The first positional argument is the main parameter (constant(value), normal(stddev)).
  static const std::pair<const char *, const char *> primary[] = {
      {"constant", "value"}, {"normal", "stddev"}, {"uniform", "scale"},
      {"truncated_normal", "stddev"}};
  for (auto [init, param] : primary)
    if (name == init && !args.empty()) {
      kwargs.insert(kwargs.begin(), {param, args[0]});
      args.erase(args.begin());
    }
  if (!args.empty()) {
    error("E0202", span, "initializer `" + name + "` takes keyword arguments only")
        .withLabel(std::to_string(args.size()) + " positional arguments given");
    return Value::error();
  }
  // Each initializer takes only its own parameters (jax.nn.initializers' names).
  static const std::pair<const char *, std::vector<std::string>> params[] = {
      {"constant", {"value"}}, {"normal", {"stddev"}}, {"uniform", {"scale"}},
      {"truncated_normal", {"stddev", "lower", "upper"}},
      {"orthogonal", {"scale", "column_axis"}}};
  std::vector<std::string> allowed;
  for (const auto &[init, names] : params)
    if (name == init)
      allowed = names;
  for (auto &[key, value] : kwargs) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string known;
      for (const std::string &a : allowed)
        known += (known.empty() ? "" : ", ") + a;
      error("E0209", span, "initializer `" + name + "` has no parameter `" + key + "`")
          .withLabel(allowed.empty() ? "it takes no parameters" : "its parameters are: " + known);
      return Value::error();
    }
    std::optional<double> num = staticNumber(value, "`" + key + "`", span);
    if (!num)
      return Value::error();
    v.init.args[key] = *num;
  }
  kwargs.clear();
  return v;
}

} // namespace nnx::lang
