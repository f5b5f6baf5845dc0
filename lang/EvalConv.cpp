//===- EvalConv.cpp - Convolution and pooling -----------------------------===//
//
// `conv_general_dilated` (jax.lax's, with Flax's channels-last layout: inputs [N, spatial...,
// C], kernels [spatial..., C / feature_group_count, F]) and the pools of flax.linen.pooling
// (`max_pool`, `min_pool`, `avg_pool`): the arguments are checked and canonicalised here
// (strings and ints to explicit (low, high) pairs, as lax.padtype_to_pads and flax's
// canonicalize_padding). A convolution's input (lhs) dilation becomes an nnx.pad with
// interior zeros, negative padding a crop (nnx.slice), and the rest one nnx.conv with the
// positive padding as its own; a pool's padding is an nnx.pad (zeros; -inf/+inf for
// max/min) before one VALID nnx.pool_sum/max/min. avg_pool divides a pool_sum by the window
// size, or with count_include_pad=false by the pool_sum of a padded tensor of ones.
//
// One difference from JAX, on purpose: a window larger than the padded input is an error
// (E0232), where JAX returns an empty result.
//
//===----------------------------------------------------------------------===//
#include "lang/BuiltinArgs.h"
#include "lang/Evaluator.h"

#include "ir/NNXDialect.h"
#include "ir/Types.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace nnx::lang {

using namespace builtins;
using llvm::SmallVector;
using mlir::RankedTensorType;

namespace {

/// "[2, 3]" for messages.
std::string formatInts(const std::vector<int64_t> &xs) {
  std::string s = "[";
  for (size_t i = 0; i < xs.size(); ++i)
    s += (i ? ", " : "") + std::to_string(xs[i]);
  return s + "]";
}

} // namespace

std::optional<std::vector<int64_t>>
Evaluator::windowInts(const std::optional<Value> &v, size_t n, int64_t fallback,
                      const std::string &what, Span span) {
  if (!v || v->kind == Value::Kind::None)
    return std::vector<int64_t>(n, fallback);
  std::optional<std::vector<int64_t>> xs = staticInts(*v, what, span);
  if (!xs)
    return std::nullopt;
  if (v->kind == Value::Kind::Int)
    xs->assign(n, v->i);
  if (xs->size() != n || llvm::any_of(*xs, [](int64_t x) { return x < 1; })) {
    error("E0231", span, what + " needs " + std::to_string(n) + " positive ints")
        .withLabel("got " + formatInts(*xs) + " for " + std::to_string(n) + " spatial axes");
    return std::nullopt;
  }
  return xs;
}

std::optional<std::vector<std::pair<int64_t, int64_t>>>
Evaluator::windowPadding(const Value &padding, const std::vector<int64_t> &extents,
                         const std::vector<int64_t> &window, const std::vector<int64_t> &strides,
                         Span span) {
  size_t n = extents.size();
  std::vector<std::pair<int64_t, int64_t>> pads;
  if (padding.kind == Value::Kind::Str) {
    // lax.padtype_to_pads: SAME keeps ceil(extent / stride) outputs, the extra before/after
    // split with the smaller half first; VALID pads nothing. Any case, as lax.
    std::string mode = padding.s;
    for (char &c : mode)
      c = char(std::toupper(static_cast<unsigned char>(c)));
    if (mode != "SAME" && mode != "VALID") {
      error("E0231", span, "unknown padding \"" + padding.s + "\"")
          .withLabel("expected \"SAME\", \"VALID\", an int or one (low, high) pair per spatial "
                     "axis");
      return std::nullopt;
    }
    for (size_t d = 0; d < n; ++d) {
      if (mode == "VALID") {
        pads.push_back({0, 0});
        continue;
      }
      int64_t out = (extents[d] + strides[d] - 1) / strides[d];
      int64_t total = std::max<int64_t>((out - 1) * strides[d] + window[d] - extents[d], 0);
      pads.push_back({total / 2, total - total / 2});
    }
    return pads;
  }
  if (padding.kind == Value::Kind::Int) // flax's canonicalize_padding: p on both sides
    return std::vector<std::pair<int64_t, int64_t>>(n, {padding.i, padding.i});
  bool ok = padding.isSequence() && padding.elems.size() == n;
  for (size_t d = 0; ok && d < n; ++d) {
    const Value &p = padding.elems[d];
    if (p.kind == Value::Kind::Int) {
      pads.push_back({p.i, p.i});
    } else if (p.isSequence() && p.elems.size() == 2 && p.elems[0].kind == Value::Kind::Int &&
               p.elems[1].kind == Value::Kind::Int) {
      pads.push_back({p.elems[0].i, p.elems[1].i});
    } else {
      ok = false;
    }
  }
  if (!ok) {
    error("E0231", span, "padding must be \"SAME\", \"VALID\", an int or one "
                         "(low, high) pair per spatial axis")
        .withLabel("this is " + describeValue(padding) + " for " + std::to_string(n) +
                   " spatial axes");
    return std::nullopt;
  }
  return pads;
}

Value Evaluator::padWith(const Value &x, llvm::ArrayRef<int64_t> low, llvm::ArrayRef<int64_t> high,
                         llvm::ArrayRef<int64_t> interior, double value, Span span) {
  auto type = typeOf(x);
  if (llvm::all_of(low, [](int64_t v) { return v == 0; }) &&
      llvm::all_of(high, [](int64_t v) { return v == 0; }) &&
      llvm::all_of(interior, [](int64_t v) { return v == 0; }))
    return x;
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    int64_t n = type.getDimSize(d);
    shape.push_back(low[d] + n + std::max<int64_t>(n - 1, 0) * interior[d] + high[d]);
  }
  auto padType = RankedTensorType::get(shape, type.getElementType());
  Value padded = Value::tensorOf(
      builder_.create<ir::PadOp>(loc(span), padType, x.tensor, low, high, interior),
      Origin{span, "", nullptr});
  if (value == 0.0)
    return padded;
  // Another padding value: select it where a padded mask of ones is zero.
  Value inside = splat(1.0, ir::tensorType(context(), rt::DType::Bool,
                                           rt::Shape(type.getShape().begin(),
                                                     type.getShape().end())),
                       span);
  Value mask = Value::tensorOf(
      builder_.create<ir::PadOp>(loc(span), mlir::cast<RankedTensorType>(ir::getI1SameShape(padType)),
                                 inside.tensor, low, high, interior),
      Origin{span, "", nullptr});
  return select(mask, padded, splat(value, padType, span), span);
}

Value Evaluator::builtinConv(std::vector<Value> &args,
                             std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  std::optional<Value> lhsArg = argOr(args, kwargs, 0, "lhs");
  std::optional<Value> rhsArg = argOr(args, kwargs, 1, "rhs");
  std::optional<Value> stridesArg = argOr(args, kwargs, 2, "window_strides");
  std::optional<Value> paddingArg = argOr(args, kwargs, 3, "padding");
  std::optional<Value> lhsDilationArg = argOr(args, kwargs, 4, "lhs_dilation");
  std::optional<Value> rhsDilationArg = argOr(args, kwargs, 5, "rhs_dilation");
  std::optional<Value> groupsArg = argOr(args, kwargs, 6, "feature_group_count");
  if (!lhsArg || !rhsArg || !lhsArg->isTensor() || !rhsArg->isTensor()) {
    error("E0231", span, "`conv_general_dilated` takes an input and a kernel tensor")
        .withLabel("e.g. conv_general_dilated(x, kernel, [1, 1], \"SAME\"): x [N, H, W, C], "
                   "kernel [kh, kw, C, F]");
    return Value::error();
  }
  auto xType = typeOf(*lhsArg), kType = typeOf(*rhsArg);
  int64_t nd = kType.getRank() - 2;
  std::string shapes = "the input is " + ir::formatType(xType) + ", the kernel " +
                       ir::formatType(kType);
  if (nd < 1 || xType.getRank() != nd + 2) {
    error("E0232", span, "conv_general_dilated needs an input [N, spatial..., C] and a kernel "
                         "[spatial..., C, F] with as many spatial axes")
        .withLabel(shapes);
    return Value::error();
  }
  std::optional<int64_t> groups =
      groupsArg ? staticInt(*groupsArg, "`feature_group_count`", span) : int64_t(1);
  if (!groups)
    return Value::error();
  int64_t channels = xType.getDimSize(nd + 1), perGroup = kType.getDimSize(nd),
          features = kType.getDimSize(nd + 1);
  if (*groups < 1 || channels != perGroup * *groups || features % *groups != 0) {
    error("E0203", span, "convolution channels do not match")
        .withLabel(shapes + ": input channels must be kernel in-channels (" +
                   std::to_string(perGroup) + ") x feature_group_count (" +
                   std::to_string(*groups) + "), and the out-features a multiple of it");
    return Value::error();
  }
  auto strides = windowInts(stridesArg, size_t(nd), 1, "`window_strides`", span);
  auto lhsDilation = windowInts(lhsDilationArg, size_t(nd), 1, "`lhs_dilation`", span);
  auto rhsDilation = windowInts(rhsDilationArg, size_t(nd), 1, "`rhs_dilation`", span);
  if (!strides || !lhsDilation || !rhsDilation)
    return Value::error();
  for (int64_t d = 0; d < nd + 2; ++d)
    if (kType.getDimSize(d) < 1 || (d > 0 && xType.getDimSize(d) < 1)) {
      error("E0232", span, "a convolution needs non-empty kernel and input axes")
          .withLabel(shapes);
      return Value::error();
    }
  std::vector<int64_t> window, extents, effective;
  for (int64_t d = 0; d < nd; ++d) {
    window.push_back(kType.getDimSize(d));
    effective.push_back((window.back() - 1) * (*rhsDilation)[d] + 1);
    int64_t n = xType.getDimSize(d + 1);
    extents.push_back(n == 0 ? 0 : (n - 1) * (*lhsDilation)[d] + 1);
  }
  Value padding = paddingArg ? *paddingArg : Value::string("VALID");
  if (padding.kind == Value::Kind::Str &&
      llvm::any_of(*lhsDilation, [](int64_t d) { return d > 1; })) {
    // jax.lax.conv_general_dilated: "String padding is not implemented for transposed
    // convolution using this op."
    error("E0231", span, "\"" + padding.s + "\" padding with an input (lhs) dilation")
        .withLabel("lhs_dilation is " + formatInts(*lhsDilation))
        .help("give (low, high) pairs, or use ConvTranspose / conv_transpose padding, as JAX "
              "requires");
    return Value::error();
  }
  auto pads = windowPadding(padding, extents, effective, *strides, span);
  if (!pads)
    return Value::error();
  // The input dilation is an nnx.pad with interior zeros; negative padding crops (lax's
  // semantics) with a slice; the positive padding is the convolution's own.
  SmallVector<int64_t> low(nd, 0), high(nd, 0), interior(nd + 2, 0), none(nd + 2, 0);
  SmallVector<int64_t> cropLow(nd + 2, 0), cropHigh(nd + 2, 0);
  for (int64_t d = 0; d < nd; ++d) {
    low[d] = std::max<int64_t>((*pads)[d].first, 0);
    high[d] = std::max<int64_t>((*pads)[d].second, 0);
    cropLow[d + 1] = std::max<int64_t>(-(*pads)[d].first, 0);
    cropHigh[d + 1] = std::max<int64_t>(-(*pads)[d].second, 0);
    interior[d + 1] = (*lhsDilation)[d] - 1;
    int64_t padded = extents[d] + (*pads)[d].first + (*pads)[d].second;
    if (padded < effective[d]) {
      error("E0232", span, "the convolution window is larger than the padded input")
          .withLabel("spatial axis " + std::to_string(d) + ": window " +
                     std::to_string(effective[d]) + " (dilated) vs " +
                     std::to_string(padded) + " padded; " + shapes);
      return Value::error();
    }
  }
  Value input = padWith(*lhsArg, none, none, interior, 0.0, span);
  if (llvm::any_of(cropLow, [](int64_t c) { return c > 0; }) ||
      llvm::any_of(cropHigh, [](int64_t c) { return c > 0; })) {
    auto type = typeOf(input);
    SmallVector<int64_t> limit(type.getShape()), stride(type.getRank(), 1);
    for (int64_t d = 0; d < type.getRank(); ++d)
      limit[d] -= cropHigh[d];
    input = slice(input, cropLow, limit, stride, span);
  }
  if (input.isError())
    return input;
  std::optional<rt::DType> dt = resultDType(*lhsArg, *rhsArg, BinOp::Mul, span);
  if (!dt)
    return Value::error();
  if (!isFloat(*dt)) {
    error("E0203", span, "a convolution needs float tensors").withLabel(shapes);
    return Value::error();
  }
  input = convert(input, *dt, span);
  Value kernel = convert(*rhsArg, *dt, span);
  auto inType = typeOf(input);
  SmallVector<int64_t> outShape{inType.getDimSize(0)};
  for (int64_t d = 0; d < nd; ++d)
    outShape.push_back(ir::windowOutputExtent(low[d] + inType.getDimSize(d + 1) + high[d],
                                              window[size_t(d)], (*strides)[size_t(d)],
                                              (*rhsDilation)[size_t(d)]));
  outShape.push_back(features);
  auto outType = RankedTensorType::get(outShape, inType.getElementType());
  return Value::tensorOf(builder_.create<ir::ConvOp>(loc(span), outType, input.tensor,
                                                     kernel.tensor, *strides, low, high,
                                                     *rhsDilation, *groups),
                         Origin{span, "", nullptr});
}

Value Evaluator::builtinPool(BuiltinId id, std::vector<Value> &args,
                             std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  // flax.linen.pooling: inputs [batch..., spatial..., C] (no batch axis: one is added),
  // window_shape per spatial axis, strides (default 1), padding (default VALID) with -inf/+inf
  // (max/min) or 0 (avg); avg divides by the window size, or with count_include_pad=false by
  // the number of input elements in the window.
  std::string name = builtinName(id);
  std::optional<Value> xArg = argOr(args, kwargs, 0, "inputs");
  std::optional<Value> windowArg = argOr(args, kwargs, 1, "window_shape");
  std::optional<Value> stridesArg = argOr(args, kwargs, 2, "strides");
  std::optional<Value> paddingArg = argOr(args, kwargs, 3, "padding");
  std::optional<Value> includePad =
      id == BuiltinId::avg_pool ? argOr(args, kwargs, 4, "count_include_pad") : std::nullopt;
  if (!xArg || !xArg->isTensor() || !windowArg) {
    error("E0231", span, "`" + name + "` takes a tensor and a window shape")
        .withLabel("e.g. " + name + "(x, [2, 2], strides=[2, 2]): x [N, H, W, C]");
    return Value::error();
  }
  if (!windowArg->isSequence() || (stridesArg && stridesArg->kind == Value::Kind::Int)) {
    // flax.linen.pooling takes tuples (an int raises TypeError): an int window would silently
    // pool one axis.
    error("E0231", span, "`" + name + "` takes `window_shape` and `strides` as lists, one "
                         "entry per spatial axis")
        .withLabel("e.g. " + name + "(x, [2, 2], strides=[2, 2]) for [N, H, W, C]");
    return Value::error();
  }
  std::optional<std::vector<int64_t>> window = staticInts(*windowArg, "`window_shape`", span);
  if (!window)
    return Value::error();
  auto type = typeOf(*xArg);
  int64_t nd = int64_t(window->size());
  if (type.getRank() < nd + 1 || nd < 1) {
    error("E0232", span, "`" + name + "` needs [batch..., spatial..., features] with one spatial "
                         "axis per window entry")
        .withLabel("the input is " + ir::formatType(type) + ", the window " +
                   formatInts(*window));
    return Value::error();
  }
  auto windowCheck = windowInts(*windowArg, size_t(nd), 1, "`window_shape`", span);
  auto strides = windowInts(stridesArg, size_t(nd), 1, "`strides`", span);
  if (!windowCheck || !strides)
    return Value::error();
  // Batch axes flattened to one: [B, spatial..., C].
  SmallVector<int64_t> batchShape(type.getShape().begin(), type.getShape().end() - nd - 1);
  int64_t batch = 1;
  for (int64_t b : batchShape)
    batch *= b;
  SmallVector<int64_t> flatShape{batch};
  flatShape.append(type.getShape().end() - nd - 1, type.getShape().end());
  Value x = reshape(*xArg, flatShape, span);
  std::vector<int64_t> extents(flatShape.begin() + 1, flatShape.end() - 1);
  auto pads = windowPadding(paddingArg ? *paddingArg : Value::string("VALID"), extents, *window,
                            *strides, span);
  if (!pads)
    return Value::error();
  // Negative padding crops (lax.reduce_window's semantics): pad the positive part, slice.
  SmallVector<int64_t> low(nd + 2, 0), high(nd + 2, 0), interior(nd + 2, 0);
  SmallVector<int64_t> cropLow(nd + 2, 0), cropHigh(nd + 2, 0);
  for (int64_t d = 0; d < nd; ++d) {
    low[d + 1] = std::max<int64_t>((*pads)[d].first, 0);
    high[d + 1] = std::max<int64_t>((*pads)[d].second, 0);
    cropLow[d + 1] = std::max<int64_t>(-(*pads)[d].first, 0);
    cropHigh[d + 1] = std::max<int64_t>(-(*pads)[d].second, 0);
    int64_t padded = extents[d] + (*pads)[d].first + (*pads)[d].second;
    if (padded < (*window)[d]) {
      error("E0232", span, "the pooling window is larger than the padded input")
          .withLabel("spatial axis " + std::to_string(d) + ": window " +
                     std::to_string((*window)[d]) + " vs " + std::to_string(padded) +
                     " padded; the input is " + ir::formatType(type));
      return Value::error();
    }
  }
  auto cropped = [&](Value v) {
    if (llvm::all_of(cropLow, [](int64_t c) { return c == 0; }) &&
        llvm::all_of(cropHigh, [](int64_t c) { return c == 0; }))
      return v;
    auto vType = typeOf(v);
    SmallVector<int64_t> limit(vType.getShape()), stride(vType.getRank(), 1);
    for (int64_t d = 0; d < vType.getRank(); ++d)
      limit[d] -= cropHigh[d];
    return slice(v, cropLow, limit, stride, span);
  };
  if (typeOf(x).getElementType().isInteger(1)) {
    error("E0203", span, "`" + name + "` needs a numeric tensor")
        .withLabel("the input is " + ir::formatType(type));
    return Value::error();
  }
  double inf = std::numeric_limits<double>::infinity();
  bool isAvg = id == BuiltinId::avg_pool;
  double fill = isAvg ? 0.0 : id == BuiltinId::max_pool ? -inf : inf;
  // One VALID window reduction of the padded input: pool_sum, pool_max or pool_min.
  auto poolOf = [&](const Value &v, BuiltinId kind) -> Value {
    if (v.isError())
      return v;
    auto vType = typeOf(v);
    SmallVector<int64_t> shape{vType.getDimSize(0)};
    for (int64_t d = 0; d < nd; ++d)
      shape.push_back(ir::windowOutputExtent(vType.getDimSize(d + 1), (*window)[size_t(d)],
                                             (*strides)[size_t(d)], 1));
    shape.push_back(vType.getShape().back());
    auto outType = RankedTensorType::get(shape, vType.getElementType());
    mlir::Operation *op;
    if (kind == BuiltinId::max_pool)
      op = builder_.create<ir::PoolMaxOp>(loc(span), outType, v.tensor, *window, *strides);
    else if (kind == BuiltinId::min_pool)
      op = builder_.create<ir::PoolMinOp>(loc(span), outType, v.tensor, *window, *strides);
    else
      op = builder_.create<ir::PoolSumOp>(loc(span), outType, v.tensor, *window, *strides);
    return Value::tensorOf(op->getResult(0), Origin{span, "", nullptr});
  };
  // max/min's gradient goes to one element of each window, as XLA's select_and_scatter picks
  // it (the first maximum; ir/AutodiffWindow.cpp), not split among ties.
  Value y = poolOf(cropped(padWith(x, low, high, interior, fill, span)), id);
  bool integer = !mlir::isa<mlir::FloatType>(typeOf(x).getElementType());
  if (isAvg && integer && !y.isError()) // flax: an integer sum divided is f32 (true division)
    y = convert(y, rt::DType::F32, span);
  if (isAvg && !y.isError()) {
    bool include = !includePad || includePad->kind != Value::Kind::Bool || includePad->b;
    if (include) {
      int64_t size = 1;
      for (int64_t k : *window)
        size *= k;
      y = binary(BinOp::Div, y, Value::real(double(size)), span, span);
    } else { // the number of input elements under each window: the same pool of ones
      SmallVector<int64_t> oneShape(flatShape);
      oneShape[0] = 1;
      oneShape.back() = 1;
      Value count = splat(1.0, RankedTensorType::get(oneShape, typeOf(x).getElementType()), span);
      count = poolOf(cropped(padWith(count, low, high, interior, 0.0, span)), BuiltinId::avg_pool);
      if (integer && !count.isError())
        count = convert(count, rt::DType::F32, span);
      y = binary(BinOp::Div, y, count, span, span);
    }
  }
  if (y.isError())
    return y;
  SmallVector<int64_t> outShape(batchShape);
  auto yType = typeOf(y);
  outShape.append(yType.getShape().begin() + 1, yType.getShape().end());
  return reshape(y, outShape, span);
}

} // namespace nnx::lang
