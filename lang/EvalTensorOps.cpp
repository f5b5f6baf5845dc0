//===- EvalTensorOps.cpp - Emitting nnx ops with shape and dtype checks ---===//
//
// Every tensor operation of the language goes through here while tracing: operands are
// checked (dtypes agree, shapes broadcast, matmul inner dimensions match), static numbers
// become splat constants of the tensor's dtype (weak typing, as in JAX), broadcasts become
// explicit nnx.broadcast_in_dim ops, and the op is emitted at the expression's location.
// Faults are reported with both operands' types and where each came from.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/NNXDialect.h"
#include "ir/Types.h"

#include "llvm/Support/Casting.h"

#include <algorithm>
#include <cmath>
#include <functional>

using namespace mlir;
using llvm::cast;

namespace nnx::lang {

Location Evaluator::loc(Span span) {
  if (!span.valid())
    return UnknownLoc::get(context());
  LineCol lc = program_.sources().lineCol(span.file, span.begin);
  return FileLineColLoc::get(context(), program_.sources().file(span.file).name, lc.line, lc.col);
}

bool Evaluator::requireTracing(Span span, const std::string &what) {
  // A module body runs at instantiation even when a test creates the module mid-trace.
  if (func_ && (frames_.empty() || !frames_.back().moduleBody))
    return true;
  error("E0215", span, what + " needs a tensor computation, which module bodies cannot do")
      .withLabel("module bodies run at instantiation, before any tensor exists")
      .help("compute it in a method, or declare a variable with an initializer");
  return false;
}

RankedTensorType Evaluator::typeOf(const Value &tensor) const {
  return cast<RankedTensorType>(tensor.tensor.getType());
}

/// The dtype a static number takes by default: int -> i32, float -> f32, bool -> bool.
static rt::DType defaultDType(const Value &v) {
  if (v.dtype)
    return *v.dtype;
  return v.kind == Value::Kind::Float ? rt::DType::F32
         : v.kind == Value::Kind::Bool ? rt::DType::Bool
                                       : rt::DType::I32;
}

namespace {

/// `value` as a signed integer of `width` bits: truncated toward zero and clamped to the
/// type's range; NaN gives 0 (XLA's and rt::Tensor::astype's float-to-int conversion). A
/// plain cast of -inf or 3e9 would be undefined, and wrap once truncated to 32 bits.
APInt saturatedInt(double value, unsigned width) {
  if (std::isnan(value))
    return APInt(width, 0);
  APInt lowest = APInt::getSignedMinValue(width), highest = APInt::getSignedMaxValue(width);
  if (value <= double(lowest.getSExtValue()))
    return lowest;
  if (value >= double(highest.getSExtValue()))
    return highest;
  return APInt(width, static_cast<uint64_t>(static_cast<int64_t>(value)), true);
}

} // namespace

Value Evaluator::splat(double value, RankedTensorType type, Span span) {
  Type elem = type.getElementType();
  DenseElementsAttr attr;
  if (isa<FloatType>(elem))
    attr = DenseElementsAttr::get(type, FloatAttr::get(elem, value).getValue());
  else if (elem.isInteger(1))
    attr = DenseElementsAttr::get(type, value != 0.0);
  else // saturated to the integer type, NaN to 0, as conversions do (rt::Tensor::astype)
    attr = DenseElementsAttr::get(type, saturatedInt(value, elem.getIntOrFloatBitWidth()));
  auto op = builder_.create<ir::ConstantOp>(loc(span), attr);
  return Value::tensorOf(op, Origin{span, "", nullptr});
}

Value Evaluator::arrayFromList(const Value &list, std::optional<rt::DType> dtype, Span span) {
  // jnp.array of nested lists of numbers: rectangular; f32 when a float is present, bool when
  // all are bools, else i32 (JAX's defaults), unless `dtype` says otherwise.
  rt::Shape shape;
  std::vector<double> values;
  bool anyFloat = false, allBool = true, ragged = false;
  std::function<void(const Value &, size_t)> walk = [&](const Value &v, size_t depth) {
    if (v.isSequence()) {
      if (depth == shape.size())
        shape.push_back(int64_t(v.elems.size()));
      else if (depth > shape.size() || shape[depth] != int64_t(v.elems.size()))
        ragged = true;
      for (const Value &e : v.elems)
        walk(e, depth + 1);
      return;
    }
    if (!v.isStaticScalar() || depth != shape.size()) {
      ragged = true;
      return;
    }
    anyFloat |= v.kind == Value::Kind::Float;
    allBool &= v.kind == Value::Kind::Bool;
    values.push_back(v.number());
  };
  walk(list, 0);
  if (ragged || int64_t(values.size()) != rt::numElements(shape)) {
    error("E0231", span, "an array needs nested lists of numbers of one rectangular shape")
        .withLabel("this is " + describeValue(list));
    return Value::error();
  }
  if (!requireTracing(span, "a tensor"))
    return Value::error();
  rt::DType dt = dtype ? *dtype
                 : anyFloat ? rt::DType::F32
                 : allBool && !values.empty() ? rt::DType::Bool
                                              : rt::DType::I32;
  auto type = ir::tensorType(context(), dt, shape);
  Type elem = type.getElementType();
  DenseElementsAttr attr;
  if (isa<FloatType>(elem)) {
    SmallVector<APFloat> xs;
    for (double v : values) {
      APFloat f(v);
      bool lost;
      f.convert(cast<FloatType>(elem).getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      xs.push_back(f);
    }
    attr = DenseElementsAttr::get(type, xs);
  } else {
    SmallVector<APInt> xs;
    for (double v : values)
      xs.push_back(elem.isInteger(1) ? APInt(1, v != 0.0)
                                     : saturatedInt(v, elem.getIntOrFloatBitWidth()));
    attr = DenseElementsAttr::get(type, xs);
  }
  auto op = builder_.create<ir::ConstantOp>(loc(span), attr);
  return Value::tensorOf(op, Origin{span, "", nullptr});
}

Value Evaluator::toTensor(const Value &x, rt::DType dtype, Span span) {
  if (x.isTensor() || x.isError())
    return x;
  if (!requireTracing(span, "a tensor"))
    return Value::error();
  if (!x.isStaticScalar()) {
    error("E0220", span, "expected a tensor or a number").withLabel("this is " + describeValue(x));
    return Value::error();
  }
  return splat(x.number(), ir::tensorType(context(), dtype, {}), span);
}

std::optional<rt::DType> Evaluator::commonDType(const Value &a, const Value &b, Span opSpan) {
  auto dtypeOfValue = [&](const Value &v) -> std::optional<rt::DType> {
    return v.isTensor() ? ir::dtypeOf(typeOf(v).getElementType()) : std::optional<rt::DType>();
  };
  std::optional<rt::DType> da = dtypeOfValue(a), db = dtypeOfValue(b);
  if (!da && !db) {
    // Two static values: floats win, then ints, then bools.
    bool anyFloat = a.kind == Value::Kind::Float || b.kind == Value::Kind::Float;
    return anyFloat ? rt::DType::F32 : defaultDType(a);
  }
  const Value &other = da ? b : a;
  rt::DType dt = da ? *da : *db;
  auto mismatch = [&](const std::string &label) -> std::optional<rt::DType> {
    Diagnostic &d = error("E0204", opSpan, "dtype mismatch");
    d.withLabel(label);
    noteOrigin(d, a, "left operand");
    noteOrigin(d, b, "right operand");
    return std::nullopt;
  };
  if (da && db && *da != *db)
    return mismatch(std::string(rt::dtypeName(*da)) + " vs " + std::string(rt::dtypeName(*db)) +
                    "; convert one side, e.g. f32(x)");
  if (!(da && db)) {
    // A static number adopts the tensor's dtype unless it is typed or a float meeting ints.
    if (!other.isStaticScalar()) {
      error("E0220", opSpan, "cannot combine a tensor with " + describeValue(other))
          .withLabel("operands of elementwise operators are tensors or numbers");
      return std::nullopt;
    }
    if (other.dtype && *other.dtype != dt)
      return mismatch(std::string(rt::dtypeName(dt)) + " tensor vs " +
                      std::string(rt::dtypeName(*other.dtype)) + " value");
    if (other.kind == Value::Kind::Float && !isFloat(dt))
      return mismatch("a " + std::string(rt::dtypeName(dt)) + " tensor and the float " +
                      formatStatic(other) + "; convert the tensor with f32(...)");
  }
  return dt;
}

std::optional<rt::DType> Evaluator::resultDType(const Value &a, const Value &b, BinOp op,
                                                Span opSpan) {
  std::optional<rt::DType> common = commonDType(a, b, opSpan);
  if (!common)
    return std::nullopt;
  rt::DType dt = *common;
  bool logical = op == BinOp::And || op == BinOp::Or;
  bool equality = op == BinOp::Eq || op == BinOp::Ne; // on any dtype, bool included
  if (!equality && logical != (dt == rt::DType::Bool)) {
    error("E0204", opSpan,
          logical ? "`and`/`or` need bool tensors" : "arithmetic on bool tensors")
        .withLabel("the operands are " + std::string(rt::dtypeName(dt)) +
                   (logical ? "" : "; convert with f32(x) or i32(x)"));
    return std::nullopt;
  }
  // numpy: an integer tensor to a non-negative integer power stays an integer tensor.
  bool integerPower = a.isTensor() && b.kind == Value::Kind::Int && b.i >= 0;
  if (op == BinOp::Pow && !isFloat(dt) && !integerPower) {
    error("E0204", opSpan, "`**` on integer tensors needs a non-negative int exponent")
        .withLabel("the operands are " + std::string(rt::dtypeName(dt)) +
                   (b.kind == Value::Kind::Int ? " and the exponent is negative"
                                               : "; convert with f32(x) for a float power"));
    return std::nullopt;
  }
  return dt;
}

/// numpy broadcasting of two shapes; nullopt when incompatible (`badDim` set).
static std::optional<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                           ArrayRef<int64_t> b, int64_t &badDim) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      badDim = static_cast<int64_t>(i);
      return std::nullopt;
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Value Evaluator::broadcastTo(const Value &x, ArrayRef<int64_t> shape, Span span) {
  auto type = typeOf(x);
  if (type.getShape() == shape)
    return x;
  SmallVector<int64_t> dims;
  int64_t offset = static_cast<int64_t>(shape.size()) - type.getRank();
  for (int64_t i = 0; i < type.getRank(); ++i)
    dims.push_back(i + offset);
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  auto op = builder_.create<ir::BroadcastInDimOp>(loc(span), resultType, x.tensor,
                                                  builder_.getDenseI64ArrayAttr(dims));
  return Value::tensorOf(op, x.origin);
}

Value Evaluator::binary(BinOp op, const Value &a, const Value &b, Span opSpan, Span span) {
  if (a.isError() || b.isError())
    return Value::error();
  if (a.isTree() || b.isTree())
    return treeBinary(op, a, b, opSpan, span);
  if (!a.isTensor() && !b.isTensor())
    return staticBinary(op, a, b, span);
  if (a.isSequence() || b.isSequence()) {
    // A list with a tensor is an array, as numpy: `x * [1.0, 0.0]`, a Conv mask given as a
    // nested list. It takes the tensor's dtype when its numbers fit it, like a number does.
    const Value &list = a.isSequence() ? a : b;
    const Value &tensor = a.isSequence() ? b : a;
    rt::DType dt = *ir::dtypeOf(typeOf(tensor).getElementType());
    Value probe = arrayFromList(list, std::nullopt, span);
    if (probe.isError())
      return probe;
    rt::DType own = *ir::dtypeOf(typeOf(probe).getElementType());
    bool fits = own == dt || (own == rt::DType::I32 && isFloat(dt));
    Value array = fits ? convert(probe, dt, span) : probe;
    return a.isSequence() ? binary(op, array, b, opSpan, span) : binary(op, a, array, opSpan, span);
  }
  if (!requireTracing(span, "a tensor operation"))
    return Value::error();
  std::optional<rt::DType> dt = resultDType(a, b, op, opSpan);
  if (!dt)
    return Value::error();
  // numpy's rules on integers: `/` is true division, in the float type of the same width
  // (i32 -> f32, i64 -> f64); `//` and `%` floor (Python's signs).
  if (op == BinOp::Div && !isFloat(*dt)) {
    rt::DType to = *dt == rt::DType::I64 ? rt::DType::F64 : rt::DType::F32;
    auto toFloat = [&](const Value &v) {
      return v.isTensor() ? convert(v, to, span) : Value::real(v.number());
    };
    return binary(BinOp::Div, toFloat(a), toFloat(b), opSpan, span);
  }
  if (op == BinOp::FloorDiv || op == BinOp::Mod)
    return floorDivMod(op, a, b, *dt, opSpan, span);
  if (op == BinOp::Pow && !isFloat(*dt)) { // x ** n by squaring: exact, as numpy's
    Value result = splat(1.0, typeOf(a), span), square = a;
    for (int64_t n = b.i; n > 0; n >>= 1) {
      if (n & 1)
        result = binaryOp(BinOp::Mul, result, square, *dt, opSpan, span);
      if (n > 1)
        square = binaryOp(BinOp::Mul, square, square, *dt, opSpan, span);
    }
    return result;
  }
  return binaryOp(op, a, b, *dt, opSpan, span);
}

Value Evaluator::binaryOp(BinOp op, const Value &a, const Value &b, rt::DType dt, Span opSpan,
                          Span span) {
  ArrayRef<int64_t> sa = a.isTensor() ? typeOf(a).getShape() : ArrayRef<int64_t>();
  ArrayRef<int64_t> sb = b.isTensor() ? typeOf(b).getShape() : ArrayRef<int64_t>();
  int64_t badDim = 0;
  std::optional<SmallVector<int64_t>> shape = broadcastShapes(sa, sb, badDim);
  if (!shape) {
    Diagnostic &d = error("E0206", opSpan, "shapes cannot be broadcast together");
    d.withLabel(ir::formatShape(sa) + " vs " + ir::formatShape(sb) + ": dimension " +
                std::to_string(badDim) + " differs");
    noteOrigin(d, a, "left operand");
    noteOrigin(d, b, "right operand");
    return Value::error();
  }
  auto type = ir::tensorType(context(), dt, *shape);
  auto operand = [&](const Value &v) {
    return v.isTensor() ? broadcastTo(v, *shape, span).tensor : splat(v.number(), type, span).tensor;
  };
  mlir::Value lhs = operand(a), rhs = operand(b);
  Location l = loc(span);
  mlir::Value result;
  auto cmp = [&](ir::CmpPredicate p) {
    return builder_.create<ir::CmpOp>(l, ir::getI1SameShape(type), p, lhs, rhs).getResult();
  };
  switch (op) {
  case BinOp::Add: result = builder_.create<ir::AddOp>(l, type, lhs, rhs); break;
  case BinOp::Sub: result = builder_.create<ir::SubOp>(l, type, lhs, rhs); break;
  case BinOp::Mul: result = builder_.create<ir::MulOp>(l, type, lhs, rhs); break;
  case BinOp::Div: result = builder_.create<ir::DivOp>(l, type, lhs, rhs); break;
  case BinOp::Pow: result = builder_.create<ir::PowOp>(l, type, lhs, rhs); break;
  case BinOp::Max: result = builder_.create<ir::MaxOp>(l, type, lhs, rhs); break;
  case BinOp::Min: result = builder_.create<ir::MinOp>(l, type, lhs, rhs); break;
  case BinOp::And: result = builder_.create<ir::AndOp>(l, type, lhs, rhs); break;
  case BinOp::Or: result = builder_.create<ir::OrOp>(l, type, lhs, rhs); break;
  case BinOp::Eq: result = cmp(ir::CmpPredicate::eq); break;
  case BinOp::Ne: result = cmp(ir::CmpPredicate::ne); break;
  case BinOp::Lt: result = cmp(ir::CmpPredicate::lt); break;
  case BinOp::Le: result = cmp(ir::CmpPredicate::le); break;
  case BinOp::Gt: result = cmp(ir::CmpPredicate::gt); break;
  case BinOp::Ge: result = cmp(ir::CmpPredicate::ge); break;
  case BinOp::Mod: result = builder_.create<ir::RemOp>(l, type, lhs, rhs); break;
  case BinOp::FloorDiv: return Value::error(); // floorDivMod
  }
  return Value::tensorOf(result, Origin{span, "", nullptr});
}

Value Evaluator::floorDivMod(BinOp op, const Value &a, const Value &b, rt::DType dt, Span opSpan,
                             Span span) {
  // jnp.remainder / jnp.floor_divide: r = rem(a, b) has a's sign; where r != 0 and its sign
  // differs from b's, the floored remainder is r + b and the floored quotient one less.
  auto typed = [&](const Value &v) { return v.isTensor() ? v : toTensor(v, dt, span); };
  Value x = typed(a), y = typed(b);
  Value r = binaryOp(BinOp::Mod, x, y, dt, opSpan, span); // the truncated remainder (nnx.rem)
  if (r.isError())
    return r;
  Value zero = Value::integer(0);
  auto both = [&](BinOp p, const Value &u, BinOp q, const Value &v) {
    return binary(BinOp::And, binary(p, u, zero, span, span), binary(q, v, zero, span, span),
                  span, span);
  };
  // r and b of opposite signs (r is 0 when b is).
  Value adjust = binary(BinOp::Or, both(BinOp::Lt, r, BinOp::Gt, y),
                        both(BinOp::Gt, r, BinOp::Lt, y), span, span);
  if (op == BinOp::Mod)
    return select(adjust, binary(BinOp::Add, r, y, span, span), r, span);
  Value q;
  if (isFloat(dt)) // JAX's _float_divmod: (a - r) / b, an integer up to rounding
    q = unary(UnOp::Floor,
              binary(BinOp::Add, binary(BinOp::Div, binary(BinOp::Sub, x, r, span, span), y,
                                        span, span),
                     Value::real(0.5), span, span),
              span);
  else
    q = binaryOp(BinOp::Div, x, y, dt, opSpan, span); // truncated integer division (nnx.div)
  return select(adjust, binary(BinOp::Sub, q, Value::integer(1), span, span), q, span);
}

Value Evaluator::unary(UnOp op, const Value &x, Span span) {
  if (x.isError())
    return x;
  if (x.isTree())
    return treeMap(x, [&](const Value &leaf) { return unary(op, leaf, span); }, span);
  if (!x.isTensor() || !requireTracing(span, "a tensor operation")) {
    error("E0220", span, "expected a tensor").withLabel("this is " + describeValue(x));
    return Value::error();
  }
  auto type = typeOf(x);
  rt::DType dt = *ir::dtypeOf(type.getElementType());
  bool needsFloat = op != UnOp::Neg && op != UnOp::Abs && op != UnOp::Not;
  if (needsFloat && op != UnOp::Relu && (dt == rt::DType::I32 || dt == rt::DType::I64))
    // numpy and JAX: exp, log, sqrt, ... of integers are floats (i32 -> f32, i64 -> f64).
    return unary(op, convert(x, dt == rt::DType::I64 ? rt::DType::F64 : rt::DType::F32, span),
                 span);
  if ((op == UnOp::Not) != (dt == rt::DType::Bool) || (needsFloat && !isFloat(dt))) {
    error("E0204", span, "wrong dtype for this operation")
        .withLabel("the operand is " + ir::formatType(type) +
                   (op == UnOp::Not ? "; `not` needs bool" : needsFloat ? "; it needs f32 or f64"
                                                                         : "; it needs numbers"));
    return Value::error();
  }
  Location l = loc(span);
  mlir::Value in = x.tensor, out;
  switch (op) {
  case UnOp::Neg: out = builder_.create<ir::NegOp>(l, type, in); break;
  case UnOp::Not: out = builder_.create<ir::NotOp>(l, type, in); break;
  case UnOp::Exp: out = builder_.create<ir::ExpOp>(l, type, in); break;
  case UnOp::Log: out = builder_.create<ir::LogOp>(l, type, in); break;
  case UnOp::Sqrt: out = builder_.create<ir::SqrtOp>(l, type, in); break;
  case UnOp::Rsqrt: out = builder_.create<ir::RsqrtOp>(l, type, in); break;
  case UnOp::Tanh: out = builder_.create<ir::TanhOp>(l, type, in); break;
  case UnOp::Sigmoid: out = builder_.create<ir::SigmoidOp>(l, type, in); break;
  case UnOp::Relu: out = builder_.create<ir::ReluOp>(l, type, in); break;
  case UnOp::Gelu: out = builder_.create<ir::GeluOp>(l, type, in); break;
  case UnOp::Abs: out = builder_.create<ir::AbsOp>(l, type, in); break;
  case UnOp::Sin: out = builder_.create<ir::SinOp>(l, type, in); break;
  case UnOp::Cos: out = builder_.create<ir::CosOp>(l, type, in); break;
  case UnOp::Erf: out = builder_.create<ir::ErfOp>(l, type, in); break;
  case UnOp::Floor: out = builder_.create<ir::FloorOp>(l, type, in); break;
  }
  return Value::tensorOf(out, Origin{span, "", nullptr});
}

Value Evaluator::matmul(const Value &a, const Value &b, Span opSpan, Span span) {
  if (a.isError() || b.isError())
    return Value::error();
  if (!a.isTensor() || !b.isTensor()) {
    error("E0203", opSpan, "`@` needs two tensors")
        .withLabel("got " + describeValue(a) + " and " + describeValue(b));
    return Value::error();
  }
  auto ta = typeOf(a), tb = typeOf(b);
  std::optional<rt::DType> dt = resultDType(a, b, BinOp::Mul, opSpan);
  if (!dt)
    return Value::error();
  if (!isFloat(*dt) || ta.getRank() == 0 || tb.getRank() == 0) {
    error("E0203", opSpan, "`@` needs float tensors of rank >= 1")
        .withLabel("got " + ir::formatType(ta) + " and " + ir::formatType(tb));
    return Value::error();
  }
  int64_t ka = ta.getShape().back();
  int64_t kb = tb.getRank() == 1 ? tb.getShape()[0] : tb.getShape()[tb.getRank() - 2];
  if (ka != kb) {
    Diagnostic &d = error("E0203", span, "shape mismatch in matrix product");
    d.withLabel("inner dimensions differ: " + std::to_string(ka) + " vs " + std::to_string(kb));
    noteOrigin(d, a, "left operand");
    noteOrigin(d, b, "right operand");
    return Value::error();
  }
  // Vectors become matrices and back, as in numpy.
  Value lhs = a, rhs = b;
  if (ta.getRank() == 1)
    lhs = reshape(a, {1, ka}, span);
  if (tb.getRank() == 1)
    rhs = reshape(b, {kb, 1}, span);
  auto tl = typeOf(lhs), tr = typeOf(rhs);
  SmallVector<int64_t> batch(tl.getShape().drop_back(2));
  if (tr.getRank() > 2) {
    int64_t badDim = 0;
    auto common = broadcastShapes(tl.getShape().drop_back(2), tr.getShape().drop_back(2), badDim);
    if (!common) {
      Diagnostic &d = error("E0203", span, "batch dimensions of the matrix product differ");
      d.withLabel(ir::formatShape(tl.getShape().drop_back(2)) + " vs " +
                  ir::formatShape(tr.getShape().drop_back(2)));
      noteOrigin(d, a, "left operand");
      noteOrigin(d, b, "right operand");
      return Value::error();
    }
    batch = *common;
    SmallVector<int64_t> ls(batch), rs(batch);
    ls.append({tl.getShape()[tl.getRank() - 2], ka});
    rs.append({kb, tr.getShape().back()});
    lhs = broadcastTo(lhs, ls, span);
    rhs = broadcastTo(rhs, rs, span);
  }
  SmallVector<int64_t> shape(batch);
  shape.push_back(typeOf(lhs).getShape()[typeOf(lhs).getRank() - 2]);
  shape.push_back(typeOf(rhs).getShape().back());
  auto type = ir::tensorType(context(), *dt, shape);
  Value out = Value::tensorOf(
      builder_.create<ir::MatmulOp>(loc(span), type, lhs.tensor, rhs.tensor),
      Origin{span, "", nullptr});
  SmallVector<int64_t> finalShape(typeOf(out).getShape());
  if (tb.getRank() == 1)
    finalShape.pop_back();
  if (ta.getRank() == 1)
    finalShape.erase(finalShape.end() - (tb.getRank() == 1 ? 1 : 2));
  return finalShape.size() == shape.size() ? out : reshape(out, finalShape, span);
}

std::optional<int64_t> Evaluator::normalizeAxis(int64_t axis, int64_t rank, Span span) {
  int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    error("E0222", span, "axis " + std::to_string(axis) + " is out of range")
        .withLabel("the tensor has rank " + std::to_string(rank) + " (axes " +
                   std::to_string(-rank) + " to " + std::to_string(rank - 1) + ")");
    return std::nullopt;
  }
  return a;
}

Value Evaluator::reduce(RedOp op, const Value &x, std::optional<std::vector<int64_t>> axes,
                        bool keepDims, Span span) {
  if (x.isError())
    return x;
  if (!x.isTensor()) {
    error("E0220", span, "expected a tensor").withLabel("this is " + describeValue(x));
    return Value::error();
  }
  auto type = typeOf(x);
  rt::DType dt = *ir::dtypeOf(type.getElementType());
  if (dt == rt::DType::Bool) {
    error("E0204", span, "cannot reduce a bool tensor").withLabel("convert it with f32(x) first");
    return Value::error();
  }
  SmallVector<int64_t> dims;
  if (!axes) {
    for (int64_t i = 0; i < type.getRank(); ++i)
      dims.push_back(i);
  } else {
    for (int64_t a : *axes) {
      std::optional<int64_t> n = normalizeAxis(a, type.getRank(), span);
      if (!n)
        return Value::error();
      if (llvm::is_contained(dims, *n)) {
        error("E0222", span, "axis " + std::to_string(*n) + " is given twice")
            .withLabel("the axes are " + formatStatic(Value::list([&] {
                         std::vector<Value> v;
                         for (int64_t b : *axes)
                           v.push_back(Value::integer(b));
                         return v;
                       }())) +
                       " of a tensor of rank " + std::to_string(type.getRank()));
        return Value::error();
      }
      dims.push_back(*n);
    }
    llvm::sort(dims);
  }
  Value in = x;
  if (op == RedOp::Mean && !isFloat(dt)) {
    in = convert(x, rt::DType::F32, span);
    dt = rt::DType::F32;
  }
  SmallVector<int64_t> shape, kept;
  int64_t count = 1;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    bool reduced = llvm::is_contained(dims, i);
    if (reduced)
      count *= type.getDimSize(i);
    else
      shape.push_back(type.getDimSize(i));
    kept.push_back(reduced ? 1 : type.getDimSize(i));
  }
  auto resultType = ir::tensorType(context(), dt, shape);
  auto axesAttr = builder_.getDenseI64ArrayAttr(dims);
  Location l = loc(span);
  mlir::Value out;
  if (op == RedOp::Max)
    out = builder_.create<ir::ReduceMaxOp>(l, resultType, in.tensor, axesAttr);
  else if (op == RedOp::Min)
    out = builder_.create<ir::ReduceMinOp>(l, resultType, in.tensor, axesAttr);
  else
    out = builder_.create<ir::ReduceSumOp>(l, resultType, in.tensor, axesAttr);
  Value result = Value::tensorOf(out, Origin{span, "", nullptr});
  if (op == RedOp::Mean)
    result = binary(BinOp::Div, result, Value::real(double(count)), span, span);
  return keepDims ? reshape(result, kept, span) : result;
}

Value Evaluator::convert(const Value &x, rt::DType dtype, Span span) {
  if (x.isError())
    return x;
  auto type = typeOf(x);
  auto resultType = ir::tensorType(context(), dtype, type.getShape());
  if (resultType == type)
    return x;
  return Value::tensorOf(builder_.create<ir::ConvertOp>(loc(span), resultType, x.tensor),
                         Origin{span, "", nullptr});
}

Value Evaluator::reshape(const Value &x, ArrayRef<int64_t> shape, Span span) {
  auto type = typeOf(x);
  if (type.getShape() == shape)
    return x;
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return Value::tensorOf(builder_.create<ir::ReshapeOp>(loc(span), resultType, x.tensor),
                         Origin{span, "", nullptr});
}

Value Evaluator::transpose(const Value &x, ArrayRef<int64_t> perm, Span span) {
  auto type = typeOf(x);
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(type.getDimSize(p));
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return Value::tensorOf(builder_.create<ir::TransposeOp>(loc(span), resultType, x.tensor,
                                                          builder_.getDenseI64ArrayAttr(perm)),
                         Origin{span, "", nullptr});
}

Value Evaluator::concat(const std::vector<Value> &xs, int64_t axis, Span span) {
  SmallVector<mlir::Value> operands;
  SmallVector<int64_t> shape(typeOf(xs[0]).getShape());
  shape[axis] = 0;
  for (const Value &x : xs) {
    operands.push_back(x.tensor);
    shape[axis] += typeOf(x).getDimSize(axis);
  }
  auto resultType = RankedTensorType::get(shape, typeOf(xs[0]).getElementType());
  return Value::tensorOf(builder_.create<ir::ConcatOp>(loc(span), resultType, operands,
                                                       builder_.getI64IntegerAttr(axis)),
                         Origin{span, "", nullptr});
}

Value Evaluator::slice(const Value &x, ArrayRef<int64_t> start, ArrayRef<int64_t> limit,
                       ArrayRef<int64_t> stride, Span span) {
  auto type = typeOf(x);
  SmallVector<int64_t> shape;
  for (size_t d = 0; d < start.size(); ++d)
    shape.push_back((limit[d] - start[d] + stride[d] - 1) / stride[d]);
  if (ArrayRef<int64_t>(shape) == type.getShape())
    return x;
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return Value::tensorOf(builder_.create<ir::SliceOp>(loc(span), resultType, x.tensor,
                                                      builder_.getDenseI64ArrayAttr(start),
                                                      builder_.getDenseI64ArrayAttr(limit),
                                                      builder_.getDenseI64ArrayAttr(stride)),
                         Origin{span, "", nullptr});
}

Value Evaluator::softmax(const Value &x, int64_t axis, bool log, Span span) {
  auto type = typeOf(x);
  if (!isFloat(*ir::dtypeOf(type.getElementType()))) {
    error("E0204", span, "softmax needs a float tensor").withLabel("got " + ir::formatType(type));
    return Value::error();
  }
  std::optional<int64_t> a = normalizeAxis(axis, type.getRank(), span);
  if (!a)
    return Value::error();
  mlir::Value out =
      log ? builder_.create<ir::LogSoftmaxOp>(loc(span), type, x.tensor, *a).getResult()
          : builder_.create<ir::SoftmaxOp>(loc(span), type, x.tensor, *a).getResult();
  return Value::tensorOf(out, Origin{span, "", nullptr});
}

Value Evaluator::select(const Value &cond, const Value &a, const Value &b, Span span) {
  if (!cond.isTensor())
    return cond.b ? a : b;
  if (!typeOf(cond).getElementType().isInteger(1)) {
    error("E0204", span, "the condition of `where` must be a bool tensor")
        .withLabel("got " + ir::formatType(typeOf(cond)) + "; compare with a value, e.g. x > 0");
    return Value::error();
  }
  std::optional<rt::DType> dt = commonDType(a, b, span);
  if (!dt)
    return Value::error();
  int64_t bad = 0;
  ArrayRef<int64_t> sc = typeOf(cond).getShape();
  ArrayRef<int64_t> sa = a.isTensor() ? typeOf(a).getShape() : ArrayRef<int64_t>();
  ArrayRef<int64_t> sb = b.isTensor() ? typeOf(b).getShape() : ArrayRef<int64_t>();
  auto s1 = broadcastShapes(sc, sa, bad);
  auto s2 = s1 ? broadcastShapes(*s1, sb, bad) : std::nullopt;
  if (!s2) {
    error("E0206", span, "shapes cannot be broadcast together")
        .withLabel("condition " + ir::formatShape(sc) + ", values " + ir::formatShape(sa) +
                   " and " + ir::formatShape(sb));
    return Value::error();
  }
  auto type = ir::tensorType(context(), *dt, *s2);
  auto operand = [&](const Value &v) {
    return v.isTensor() ? broadcastTo(v, *s2, span).tensor : splat(v.number(), type, span).tensor;
  };
  mlir::Value c = broadcastTo(cond, *s2, span).tensor;
  mlir::Value ta = operand(a), tb = operand(b);
  return Value::tensorOf(builder_.create<ir::SelectOp>(loc(span), type, c, ta, tb),
                         Origin{span, "", nullptr});
}

Value Evaluator::iota(rt::DType dtype, ArrayRef<int64_t> shape, int64_t dim, Span span) {
  auto type = ir::tensorType(context(), dtype, shape);
  return Value::tensorOf(builder_.create<ir::IotaOp>(loc(span), type, dim),
                         Origin{span, "", nullptr});
}

Value Evaluator::reverse(const Value &x, std::vector<int64_t> axes, Span span) {
  if (x.isError())
    return x;
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.empty())
    return x;
  auto op = builder_.create<ir::ReverseOp>(loc(span), typeOf(x), x.tensor, axes);
  return Value::tensorOf(op, Origin{span, "", nullptr});
}

Value Evaluator::moveAxis(const Value &x, int64_t from, int64_t to, Span span) {
  if (x.isError() || from == to)
    return x;
  int64_t rank = typeOf(x).getRank();
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    if (d != from)
      perm.push_back(d);
  perm.insert(perm.begin() + to, from);
  return transpose(x, perm, span);
}

Value Evaluator::randomDraw(const Value &rngs, bool normal, ArrayRef<int64_t> shape, Span span) {
  const std::string &base = rngs.s;
  int64_t keyIndex = space_.findVar(base + ".key");
  int64_t countIndex = space_.findVar(base + ".count");
  Value key = readVar(static_cast<size_t>(keyIndex), span);
  Value count = readVar(static_cast<size_t>(countIndex), span);
  if (key.isError() || count.isError())
    return Value::error();
  auto type = ir::tensorType(context(), rt::DType::F32, shape);
  Location l = loc(span);
  mlir::Value draw =
      normal ? builder_.create<ir::RandomNormalOp>(l, type, key.tensor, count.tensor).getResult()
             : builder_.create<ir::RandomUniformOp>(l, type, key.tensor, count.tensor).getResult();
  writeVar(static_cast<size_t>(countIndex),
           binary(BinOp::Add, count, Value::integer(1), span, span), span);
  return Value::tensorOf(draw, Origin{span, "", nullptr});
}

} // namespace nnx::lang
