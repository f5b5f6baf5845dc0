//===- EvalArrayBuiltins.cpp - numpy's array built-ins, written with nnx ops ===//
//
// The built-ins that numpy/jax.numpy users reach for, each written with the ops the IR already
// has, so that each has its VJP, its batching rule and its JIT lowering for free:
//
//   square clip var std logsumexp       elementwise ops and reductions (jnp's defaults:
//                                       ddof=0; logsumexp shifted by the finite maximum)
//   argmax argmin                       the first index of the extremum (NaN counts as it),
//                                       from a compare against the reduced extremum and a
//                                       min-reduction of the iota
//   cumsum                              one nnx.scan along the axis
//   stack expand_dims squeeze split     reshapes, concat and slices
//   take take_along_axis                nnx.gather (clamped indices, as XLA's gather)
//   pad                                 nnx.pad, with a constant by a select on a padded mask
//
// Each checks its arguments and reports the numbers involved when they do not fit.
//
//===----------------------------------------------------------------------===//
#include "lang/BuiltinArgs.h"
#include "lang/Evaluator.h"

#include "ir/NNXDialect.h"
#include "ir/Types.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace nnx::lang {

using namespace builtins;

Value Evaluator::flatten(const Value &x, Span span) {
  return reshape(x, {typeOf(x).getNumElements()}, span);
}

Value Evaluator::builtinArray(BuiltinId id, std::vector<Value> &args,
                              std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  std::string name = builtinName(id);
  if (args.empty() || args[0].isError()) {
    if (args.empty())
      error("E0202", span, "`" + name + "` takes a tensor").withLabel("no arguments given");
    return Value::error();
  }
  const Value &x = args[0];
  bool needsTensor = id != BuiltinId::stack && id != BuiltinId::square && id != BuiltinId::clip;
  if (needsTensor && !x.isTensor()) {
    error("E0231", span, "`" + name + "` needs a tensor")
        .withLabel("argument 1 is " + describeValue(x));
    return Value::error();
  }
  // axis=None (flatten), an int, or for the reductions a list.
  auto axisArg = [&](size_t position, bool allowList) -> std::optional<std::optional<Value>> {
    std::optional<Value> a = argOr(args, kwargs, position, "axis");
    if (!a || a->kind == Value::Kind::None)
      return std::optional<Value>();
    if (a->kind == Value::Kind::Int || (allowList && a->isSequence()))
      return a;
    error("E0231", span, "`axis` of `" + name + "` must be " +
                             (allowList ? "an int, a list of ints" : "an int") + " or None")
        .withLabel("this is " + describeValue(*a));
    return std::nullopt;
  };
  auto keepdims = [&]() {
    std::optional<Value> k = takeKwarg(kwargs, "keepdims");
    return k && k->kind == Value::Kind::Bool && k->b;
  };
  switch (id) {
  case BuiltinId::square: return binary(BinOp::Mul, x, x, span, span);
  case BuiltinId::clip: {
    // jnp.clip(x, min, max): the bounds may be None; a bound's tie splits the gradient (JAX).
    std::optional<Value> lo = argOr(args, kwargs, 1, "min"), hi = argOr(args, kwargs, 2, "max");
    Value y = x;
    if (lo && lo->kind != Value::Kind::None)
      y = binary(BinOp::Max, y, *lo, span, span);
    if (hi && hi->kind != Value::Kind::None)
      y = binary(BinOp::Min, y, *hi, span, span);
    return y;
  }
  case BuiltinId::var:
  case BuiltinId::std: {
    auto axis = axisArg(1, true);
    std::optional<Value> ddofArg = takeKwarg(kwargs, "ddof");
    bool keep = keepdims();
    if (!axis)
      return Value::error();
    std::optional<std::vector<int64_t>> axes;
    if (*axis && !(axes = staticInts(**axis, "`axis`", span)))
      return Value::error();
    int64_t ddof = ddofArg ? static_cast<int64_t>(ddofArg->number()) : 0;
    Value m = reduce(RedOp::Mean, x, axes, true, span);
    Value centered = binary(BinOp::Sub, isFloat(*ir::dtypeOf(typeOf(x).getElementType()))
                                            ? x : convert(x, rt::DType::F32, span),
                            m, span, span);
    Value v = reduce(RedOp::Mean, binary(BinOp::Mul, centered, centered, span, span), axes,
                     keep, span);
    if (ddof != 0 && !v.isError()) { // n / (n - ddof), n the elements of one reduction
      int64_t n = typeOf(x).getNumElements() / std::max<int64_t>(1, typeOf(m).getNumElements());
      v = binary(BinOp::Mul, v, Value::real(double(n) / double(n - ddof)), span, span);
    }
    return id == BuiltinId::var ? v : unary(UnOp::Sqrt, v, span);
  }
  case BuiltinId::logsumexp: {
    // jax.nn.logsumexp: max + log(sum(exp(x - max))), the max replaced by 0 where infinite.
    auto axis = axisArg(1, true);
    bool keep = keepdims();
    if (!axis)
      return Value::error();
    std::optional<std::vector<int64_t>> axes;
    if (*axis && !(axes = staticInts(**axis, "`axis`", span)))
      return Value::error();
    Value m = reduce(RedOp::Max, x, axes, true, span);
    if (m.isError())
      return m;
    Value finite = binary(BinOp::Lt, unary(UnOp::Abs, m, span),
                          Value::real(std::numeric_limits<double>::infinity()), span, span);
    m = select(finite, m, splat(0.0, typeOf(m), span), span);
    Value sum = reduce(RedOp::Sum, unary(UnOp::Exp, binary(BinOp::Sub, x, m, span, span), span),
                       axes, keep, span);
    Value shift = keep ? m : reshape(m, typeOf(sum).getShape(), span);
    return binary(BinOp::Add, unary(UnOp::Log, sum, span), shift, span, span);
  }
  case BuiltinId::argmax:
  case BuiltinId::argmin: return argExtremum(id == BuiltinId::argmax, args, kwargs, span);
  case BuiltinId::cumsum: {
    auto axis = axisArg(1, false);
    if (!axis)
      return Value::error();
    Value in = *axis ? x : flatten(x, span);
    std::optional<int64_t> a =
        normalizeAxis(*axis ? (*axis)->i : 0, typeOf(in).getRank(), span);
    if (!a)
      return Value::error();
    return cumsum(in, *a, span);
  }
  default: return builtinArrayShape(id, args, kwargs, span);
  }
}

Value Evaluator::argExtremum(bool isMax, std::vector<Value> &args,
                             std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  // jnp.argmax(x, axis=None, keepdims=False): the first index of the extremum; NaN is the
  // extremum when present (jnp's rule); i32 indices.
  std::optional<Value> axisValue = argOr(args, kwargs, 1, "axis");
  std::optional<Value> keepValue = takeKwarg(kwargs, "keepdims");
  bool keep = keepValue && keepValue->kind == Value::Kind::Bool && keepValue->b;
  Value x = args[0];
  bool flat = !axisValue || axisValue->kind == Value::Kind::None;
  if (flat)
    x = flatten(x, span);
  auto type = typeOf(x);
  std::optional<int64_t> axis = flat ? 0 : staticInt(*axisValue, "`axis`", span);
  if (!axis || !(axis = normalizeAxis(*axis, type.getRank(), span)))
    return Value::error();
  int64_t n = type.getDimSize(*axis);
  Value extremum = reduce(isMax ? RedOp::Max : RedOp::Min, x, std::vector<int64_t>{*axis}, true,
                          span);
  if (extremum.isError())
    return extremum;
  Value hit = binary(BinOp::Eq, x, extremum, span, span);
  if (isFloat(*ir::dtypeOf(type.getElementType())))
    hit = binary(BinOp::Or, hit, binary(BinOp::Ne, x, x, span, span), span, span); // NaN
  Value positions = iota(rt::DType::I32, type.getShape(), *axis, span);
  Value candidates = select(hit, positions, splat(double(n), typeOf(positions), span), span);
  Value index = reduce(RedOp::Min, candidates, std::vector<int64_t>{*axis}, keep && !flat, span);
  if (flat && keep) {
    std::vector<int64_t> ones(typeOf(args[0]).getRank(), 1);
    return reshape(index, ones, span);
  }
  return index;
}

Value Evaluator::cumsum(const Value &x, int64_t axis, Span span) {
  // One scan along the axis: acc' = acc + x[t], each acc' stacked.
  Value moved = moveAxis(x, axis, 0, span);
  auto type = typeOf(moved);
  auto sliceType = ir::dropLeadingDim(type);
  Value zero = splat(0.0, sliceType, span);
  auto scan = ir::createScan(builder_, loc(span), {zero.tensor}, {moved.tensor}, {}, {sliceType},
                             type.getDimSize(0), false);
  {
    OpBuilder::InsertionGuard guard(builder_);
    builder_.setInsertionPointToEnd(&scan.getBodyBlock());
    mlir::Value acc = scan.getBodyBlock().getArgument(0), step = scan.getBodyBlock().getArgument(1);
    mlir::Value next = builder_.create<ir::AddOp>(loc(span), sliceType, acc, step);
    builder_.create<ir::YieldOp>(loc(span), ValueRange{next, next});
  }
  return moveAxis(Value::tensorOf(scan.getResult(1), Origin{span, "", nullptr}), 0, axis, span);
}

Value Evaluator::builtinArrayShape(BuiltinId id, std::vector<Value> &args,
                                   std::vector<std::pair<std::string, Value>> &kwargs,
                                   Span span) {
  std::string name = builtinName(id);
  const Value &x = args[0];
  switch (id) {
  case BuiltinId::stack: {
    // jnp.stack(xs, axis=0): every tensor gains the axis, then they are concatenated.
    std::optional<Value> axisArg = argOr(args, kwargs, 1, "axis");
    std::optional<int64_t> axis = axisArg ? staticInt(*axisArg, "`axis`", span) : 0;
    if (!axis)
      return Value::error();
    if (!x.isSequence() || x.elems.empty() ||
        !llvm::all_of(x.elems, [](const Value &e) { return e.isTensor(); })) {
      error("E0231", span, "`stack` takes a non-empty list of tensors")
          .withLabel("this is " + describeValue(x));
      return Value::error();
    }
    int64_t rank = typeOf(x.elems[0]).getRank() + 1;
    std::optional<int64_t> a = normalizeAxis(*axis, rank, span);
    if (!a)
      return Value::error();
    std::vector<Value> parts;
    for (const Value &e : x.elems) {
      SmallVector<int64_t> shape(typeOf(e).getShape());
      shape.insert(shape.begin() + *a, 1);
      parts.push_back(reshape(e, shape, span));
    }
    return concat(parts, *a, span);
  }
  case BuiltinId::expand_dims:
  case BuiltinId::squeeze: {
    auto type = typeOf(x);
    std::optional<Value> axisArg = argOr(args, kwargs, 1, "axis");
    SmallVector<int64_t> shape(type.getShape());
    if (id == BuiltinId::expand_dims) {
      std::optional<int64_t> axis = axisArg ? staticInt(*axisArg, "`axis`", span) : std::nullopt;
      if (!axis)
        return axisArg ? Value::error()
                       : (error("E0202", span, "`expand_dims` takes the axis to insert"),
                          Value::error());
      std::optional<int64_t> a = normalizeAxis(*axis, type.getRank() + 1, span);
      if (!a)
        return Value::error();
      shape.insert(shape.begin() + *a, 1);
      return reshape(x, shape, span);
    }
    // squeeze(x, axis=None): every extent-1 axis, or the ones given (each must be 1).
    std::vector<int64_t> axes;
    if (!axisArg || axisArg->kind == Value::Kind::None) {
      for (int64_t d = 0; d < type.getRank(); ++d)
        if (type.getDimSize(d) == 1)
          axes.push_back(d);
    } else {
      std::optional<std::vector<int64_t>> given = staticInts(*axisArg, "`axis`", span);
      if (!given)
        return Value::error();
      for (int64_t g : *given) {
        std::optional<int64_t> a = normalizeAxis(g, type.getRank(), span);
        if (!a)
          return Value::error();
        if (type.getDimSize(*a) != 1) {
          error("E0232", span, "cannot squeeze axis " + std::to_string(*a) + " of " +
                                   ir::formatType(type))
              .withLabel("its extent is " + std::to_string(type.getDimSize(*a)) + ", not 1");
          return Value::error();
        }
        axes.push_back(*a);
      }
    }
    SmallVector<int64_t> kept;
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (!llvm::is_contained(axes, d))
        kept.push_back(type.getDimSize(d));
    return reshape(x, kept, span);
  }
  case BuiltinId::split: return builtinSplit(args, kwargs, span);
  case BuiltinId::take:
  case BuiltinId::take_along_axis: return builtinTake(id, args, kwargs, span);
  case BuiltinId::pad: return builtinPad(args, kwargs, span);
  default: break;
  }
  error("E0231", span, "`" + name + "` is not an array built-in");
  return Value::error();
}

Value Evaluator::builtinSplit(std::vector<Value> &args,
                              std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  // jnp.split(x, indices_or_sections, axis=0): n equal sections, or cuts at the indices.
  const Value &x = args[0];
  auto type = typeOf(x);
  std::optional<Value> how = argOr(args, kwargs, 1, "indices_or_sections");
  std::optional<Value> axisArg = argOr(args, kwargs, 2, "axis");
  std::optional<int64_t> axis = axisArg ? staticInt(*axisArg, "`axis`", span) : 0;
  if (!how || !axis || !(axis = normalizeAxis(*axis, type.getRank(), span))) {
    if (!how)
      error("E0202", span, "`split` takes a tensor and the sections or cut indices");
    return Value::error();
  }
  int64_t n = type.getDimSize(*axis);
  std::vector<int64_t> cuts;
  if (how->kind == Value::Kind::Int) {
    if (how->i <= 0 || n % how->i != 0) {
      error("E0232", span, "cannot split axis " + std::to_string(*axis) + " of extent " +
                               std::to_string(n) + " into " + std::to_string(how->i) +
                               " equal sections")
          .withLabel(how->i <= 0 ? "the number of sections must be positive"
                                 : std::to_string(n) + " is not divisible by " +
                                       std::to_string(how->i));
      return Value::error();
    }
    for (int64_t i = 1; i < how->i; ++i)
      cuts.push_back(i * (n / how->i));
  } else {
    std::optional<std::vector<int64_t>> given = staticInts(*how, "the cut indices", span);
    if (!given)
      return Value::error();
    for (int64_t c : *given)
      cuts.push_back(std::clamp<int64_t>(c < 0 ? c + n : c, 0, n));
  }
  std::vector<Value> parts;
  int64_t begin = 0;
  cuts.push_back(n);
  SmallVector<int64_t> start(type.getRank(), 0), limit(type.getShape()), stride(type.getRank(), 1);
  for (int64_t end : cuts) {
    start[*axis] = begin;
    limit[*axis] = std::max(begin, end);
    parts.push_back(slice(x, start, limit, stride, span));
    begin = std::max(begin, end);
  }
  return Value::list(std::move(parts));
}

Value Evaluator::indicesTensor(const Value &v, int64_t extent, Span span) {
  // numpy's indices into an axis of `extent`: -extent..extent-1, negative ones from the end.
  // Known ones (a list, or a constant tensor) outside that range are an error; others are
  // wrapped here and clamped by nnx.gather, as XLA does.
  auto outOfRange = [&](int64_t k) {
    error("E0222", span, "index " + std::to_string(k) + " is out of range")
        .withLabel("the axis has extent " + std::to_string(extent) + " (indices " +
                   std::to_string(-extent) + " to " + std::to_string(extent - 1) + ")");
    return Value::error();
  };
  Value t;
  if (v.isTensor()) {
    rt::DType dt = *ir::dtypeOf(typeOf(v).getElementType());
    if (dt != rt::DType::I32 && dt != rt::DType::I64) {
      error("E0231", span, "indices must be an integer tensor")
          .withLabel("this is " + describeValue(v))
          .help("convert with i32(...)");
      return Value::error();
    }
    // The values of a constant reach the indices through ops that only move elements.
    mlir::Value source = v.tensor;
    while (Operation *def = source.getDefiningOp()) {
      if (!llvm::isa<ir::ReshapeOp, ir::BroadcastInDimOp, ir::TransposeOp, ir::ReverseOp>(def))
        break;
      source = def->getOperand(0);
    }
    if (auto constant = source.getDefiningOp<ir::ConstantOp>())
      for (APInt k : llvm::cast<DenseElementsAttr>(constant.getValue()).getValues<APInt>())
        if (k.getSExtValue() < -extent || k.getSExtValue() >= extent)
          return outOfRange(k.getSExtValue());
    t = v;
  } else if (v.kind == Value::Kind::Int ||
             (v.isSequence() &&
              llvm::all_of(v.elems, [](const Value &e) { return e.kind == Value::Kind::Int; }))) {
    std::vector<Value> elems = v.isSequence() ? v.elems : std::vector<Value>{v};
    std::vector<int32_t> values;
    for (const Value &e : elems) {
      if (e.i < -extent || e.i >= extent)
        return outOfRange(e.i);
      values.push_back(static_cast<int32_t>(e.i < 0 ? e.i + extent : e.i));
    }
    std::vector<int64_t> shape;
    if (v.isSequence())
      shape.push_back(static_cast<int64_t>(values.size()));
    auto type = ir::tensorType(context(), rt::DType::I32, shape);
    auto attr = DenseElementsAttr::get(type, llvm::ArrayRef<int32_t>(values));
    return Value::tensorOf(builder_.create<ir::ConstantOp>(loc(span), attr),
                           Origin{span, "", nullptr});
  } else {
    error("E0231", span, "indices must be an integer tensor, an int or a list of ints")
        .withLabel("this is " + describeValue(v));
    return Value::error();
  }
  return select(binary(BinOp::Lt, t, Value::integer(0), span, span),
                binary(BinOp::Add, t, Value::integer(extent), span, span), t, span);
}

Value Evaluator::gather(const Value &x, const Value &indices, int64_t axis, Span span,
                        int64_t batchDims) {
  auto type = typeOf(x), idxType = typeOf(indices);
  SmallVector<int64_t> shape(type.getShape().take_front(axis));
  llvm::append_range(shape, idxType.getShape().drop_front(batchDims));
  llvm::append_range(shape, type.getShape().drop_front(axis + 1));
  auto op = builder_.create<ir::GatherOp>(
      loc(span), RankedTensorType::get(shape, type.getElementType()), x.tensor, indices.tensor,
      static_cast<uint64_t>(axis), static_cast<uint64_t>(batchDims));
  return Value::tensorOf(op, Origin{span, "", nullptr});
}

Value Evaluator::builtinTake(BuiltinId id, std::vector<Value> &args,
                             std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  std::optional<Value> idxArg = argOr(args, kwargs, 1, "indices");
  std::optional<Value> axisArg = argOr(args, kwargs, 2, "axis");
  if (!idxArg) {
    error("E0202", span, "`" + std::string(builtinName(id)) + "` takes a tensor and indices");
    return Value::error();
  }
  Value x = args[0];
  bool flat = !axisArg || axisArg->kind == Value::Kind::None;
  if (flat)
    x = flatten(x, span);
  std::optional<int64_t> axis = flat ? 0 : staticInt(*axisArg, "`axis`", span);
  if (!axis || !(axis = normalizeAxis(*axis, typeOf(x).getRank(), span)))
    return Value::error();
  Value indices = indicesTensor(*idxArg, typeOf(x).getDimSize(*axis), span);
  if (indices.isError())
    return indices;
  if (id == BuiltinId::take) // jnp.take, indices clamped
    return gather(x, indices, *axis, span);
  // take_along_axis: indices of x's rank; result[.., i, ..] = x[.., idx[.., i, ..], ..].
  auto type = typeOf(x), idxType = typeOf(indices);
  if (idxType.getRank() != type.getRank()) {
    error("E0232", span, "`take_along_axis` needs indices of the tensor's rank")
        .withLabel("the tensor is " + ir::formatType(type) + ", the indices " +
                   ir::formatType(idxType));
    return Value::error();
  }
  // The tensor and the indices broadcast against each other on the other axes (numpy's and
  // JAX's rule): the result has the indices' extent on `axis` and the broadcast elsewhere.
  SmallVector<int64_t> shape(type.getShape()), tableShape(type.getShape());
  shape[*axis] = idxType.getDimSize(*axis);
  for (int64_t d = 0; d < type.getRank(); ++d) {
    int64_t table = type.getDimSize(d), picks = idxType.getDimSize(d);
    if (d == *axis || table == picks || picks == 1)
      continue;
    if (table != 1) {
      error("E0206", span, "indices " + ir::formatType(idxType) + " do not broadcast against " +
                               ir::formatType(type))
          .withLabel("axis " + std::to_string(d) + " is " + std::to_string(picks) +
                     " in the indices but " + std::to_string(table) + " in the tensor");
      return Value::error();
    }
    shape[d] = tableShape[d] = picks;
  }
  if (tableShape != SmallVector<int64_t>(type.getShape()))
    x = broadcastTo(x, tableShape, span);
  // With the axis last, every other axis is a batch dim of one gather: each row picks from
  // its own row (no flat positions, so the gather's VJP stays linear in the rows).
  int64_t last = type.getRank() - 1;
  Value idx = moveAxis(broadcastTo(indices, shape, span), *axis, last, span);
  Value picked = gather(moveAxis(x, *axis, last, span), idx, last, span, last);
  return moveAxis(picked, last, *axis, span);
}

Value Evaluator::builtinPad(std::vector<Value> &args,
                            std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  // jnp.pad(x, pad_width, constant_values=0): pad_width an int, a (before, after) pair, or one
  // pair per axis; mode "constant" only.
  const Value &x = args[0];
  auto type = typeOf(x);
  std::optional<Value> width = argOr(args, kwargs, 1, "pad_width");
  std::optional<Value> mode = takeKwarg(kwargs, "mode");
  std::optional<Value> value = takeKwarg(kwargs, "constant_values");
  if (mode && !(mode->kind == Value::Kind::Str && mode->s == "constant")) {
    error("E0231", span, "`pad` supports mode=\"constant\" only")
        .withLabel("mode is " + describeValue(*mode));
    return Value::error();
  }
  SmallVector<int64_t> low, high, interior(type.getRank(), 0);
  auto pairOf = [&](const Value &v, int64_t &lo, int64_t &hi) {
    if (v.kind == Value::Kind::Int)
      return lo = hi = v.i, true;
    std::optional<std::vector<int64_t>> p = v.isSequence() && v.elems.size() == 2
                                                ? staticInts(v, "a (before, after) pair", span)
                                                : std::nullopt;
    if (p)
      lo = (*p)[0], hi = (*p)[1];
    return p.has_value();
  };
  bool ok = width.has_value();
  if (ok) {
    bool perAxis = width->isSequence() && !width->elems.empty() && width->elems[0].isSequence();
    for (int64_t d = 0; ok && d < type.getRank(); ++d) {
      int64_t lo = 0, hi = 0;
      ok = pairOf(perAxis ? (d < int64_t(width->elems.size()) ? width->elems[d] : Value::error())
                          : *width,
                  lo, hi) &&
           lo >= 0 && hi >= 0;
      low.push_back(lo);
      high.push_back(hi);
    }
    ok = ok && (!perAxis || int64_t(width->elems.size()) == type.getRank());
  }
  if (!ok) {
    error("E0231", span, "`pad_width` must be an int, a (before, after) pair or one pair per "
                         "axis, non-negative")
        .withLabel("the tensor has rank " + std::to_string(type.getRank()));
    return Value::error();
  }
  return padWith(x, low, high, interior, value ? value->number() : 0.0, span);
}

} // namespace nnx::lang
