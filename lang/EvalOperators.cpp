//===- EvalOperators.cpp - Operators and indexing -------------------------===//
//
// Unary and binary operators on static values (folded here, with Python's semantics: int
// division gives a float, `%` takes the divisor's sign, lists compare elementwise and
// concatenate with `+`) and on tensors (emitted through EvalTensorOps.cpp), and indexing:
// `xs[i]` on static sequences, `x[0, 1:3, ...]` slicing on tensors with static bounds.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/Types.h"

#include "llvm/Support/Casting.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

using llvm::cast;
using llvm::SmallVector;

namespace nnx::lang {

namespace {

/// The BinOp of an operator spelling.
BinOp binOpOf(const std::string &op) {
  static const std::pair<const char *, BinOp> table[] = {
      {"+", BinOp::Add}, {"-", BinOp::Sub}, {"*", BinOp::Mul}, {"/", BinOp::Div},
      {"%", BinOp::Mod}, {"//", BinOp::FloorDiv}, {"**", BinOp::Pow}, {"==", BinOp::Eq}, {"!=", BinOp::Ne},
      {"<", BinOp::Lt}, {"<=", BinOp::Le}, {">", BinOp::Gt}, {">=", BinOp::Ge},
      {"and", BinOp::And}, {"or", BinOp::Or}};
  for (auto &[name, op2] : table)
    if (op == name)
      return op2;
  return BinOp::Add;
}

/// The spelling of a static integer operator, for messages.
const char *binOpSpelling(BinOp op) {
  switch (op) {
  case BinOp::Add: return "+";
  case BinOp::Sub: return "-";
  case BinOp::Mul: return "*";
  case BinOp::FloorDiv: return "//";
  case BinOp::Mod: return "%";
  case BinOp::Pow: return "**";
  default: return "?";
  }
}

/// Static equality (numbers by value, strings, sequences elementwise).
bool staticEqual(const Value &a, const Value &b) {
  auto isInt = [](const Value &v) { return v.kind == Value::Kind::Int; };
  if (isInt(a) && isInt(b)) // exactly, also beyond 2^53
    return a.i == b.i;
  if (a.isStaticScalar() && b.isStaticScalar())
    return a.number() == b.number();
  if (a.kind == Value::Kind::Str && b.kind == Value::Kind::Str)
    return a.s == b.s;
  if (a.isSequence() && b.isSequence()) {
    if (a.elems.size() != b.elems.size())
      return false;
    for (size_t i = 0; i < a.elems.size(); ++i)
      if (!staticEqual(a.elems[i], b.elems[i]))
        return false;
    return true;
  }
  return false;
}

} // namespace

Value Evaluator::evalUnary(const UnaryExpr &expr) {
  Value x = eval(*expr.operand);
  if (x.isError())
    return x;
  if (expr.op == "+")
    return x;
  if (expr.op == "not") {
    if (x.kind == Value::Kind::Bool)
      return Value::boolean(!x.b);
    return unary(UnOp::Not, x, expr.span);
  }
  if (x.kind == Value::Kind::Int) {
    if (x.i == std::numeric_limits<int64_t>::min()) {
      error("E0235", expr.span, "integer overflow")
          .withLabel("-(" + std::to_string(x.i) + ") does not fit in i64");
      return Value::error();
    }
    Value r = Value::integer(-x.i);
    r.dtype = x.dtype;
    return r;
  }
  if (x.kind == Value::Kind::Float) {
    Value r = Value::real(-x.f);
    r.dtype = x.dtype;
    return r;
  }
  return unary(UnOp::Neg, x, expr.span);
}

Value Evaluator::evalBinary(const BinaryExpr &expr) {
  BinOp op = binOpOf(expr.op);
  Value a = eval(*expr.lhs);
  if (a.isError())
    return a;
  // `and`/`or` on static bools short-circuit, like Python (so `x != 0 and n / x` is safe).
  if ((op == BinOp::And || op == BinOp::Or) && a.kind == Value::Kind::Bool) {
    if (a.b == (op == BinOp::Or))
      return a;
    return eval(*expr.rhs);
  }
  Value b = eval(*expr.rhs);
  if (b.isError())
    return b;
  if (expr.op == "@")
    return matmul(a, b, expr.opSpan, expr.span);
  // `x == None` / `x != None`: whether an optional argument was given (any kind of value).
  if ((op == BinOp::Eq || op == BinOp::Ne) &&
      (a.kind == Value::Kind::None || b.kind == Value::Kind::None))
    return Value::boolean((a.kind == b.kind) == (op == BinOp::Eq));
  return binary(op, a, b, expr.opSpan, expr.span); // folds static operands itself
}

/// The i64 value of a static int or bool.
static int64_t intOf(const Value &v) { return v.kind == Value::Kind::Bool ? int64_t(v.b) : v.i; }

/// `base ** exponent` by squaring; nullopt when it overflows i64.
static std::optional<int64_t> checkedPow(int64_t base, int64_t exponent) {
  int64_t result = 1;
  while (exponent > 0) {
    if ((exponent & 1) && __builtin_mul_overflow(result, base, &result))
      return std::nullopt;
    exponent >>= 1;
    if (exponent > 0 && __builtin_mul_overflow(base, base, &base))
      return std::nullopt;
  }
  return result;
}

Value Evaluator::staticIntBinary(BinOp op, const Value &a, const Value &b, Span span) {
  int64_t x = intOf(a), y = intOf(b), r = 0;
  bool overflow = false;
  switch (op) {
  case BinOp::Lt: return Value::boolean(x < y);
  case BinOp::Le: return Value::boolean(x <= y);
  case BinOp::Gt: return Value::boolean(x > y);
  case BinOp::Ge: return Value::boolean(x >= y);
  case BinOp::Add: overflow = __builtin_add_overflow(x, y, &r); break;
  case BinOp::Sub: overflow = __builtin_sub_overflow(x, y, &r); break;
  case BinOp::Mul: overflow = __builtin_mul_overflow(x, y, &r); break;
  case BinOp::Max: r = std::max(x, y); break;
  case BinOp::Min: r = std::min(x, y); break;
  case BinOp::FloorDiv:
  case BinOp::Mod:
    if (y == 0) {
      error("E0230", span, "division by zero").withLabel("the divisor is 0");
      return Value::error();
    }
    if (y == -1) { // INT64_MIN / -1 traps in C++; Python's results are -x and 0
      overflow = op == BinOp::FloorDiv && __builtin_sub_overflow(int64_t(0), x, &r);
      break;
    }
    r = op == BinOp::FloorDiv ? x / y - ((x % y != 0) && ((x < 0) != (y < 0)))
                              : (x % y != 0 && ((x % y < 0) != (y < 0)) ? x % y + y : x % y);
    break;
  case BinOp::Pow: {
    if (y < 0) // Python: an int to a negative power is a float
      return Value::real(std::pow(double(x), double(y)));
    std::optional<int64_t> p = checkedPow(x, y);
    overflow = !p;
    r = p.value_or(0);
    break;
  }
  default:
    error("E0220", span, "unsupported operand types")
        .withLabel(describeValue(a) + " and " + describeValue(b));
    return Value::error();
  }
  if (overflow) {
    error("E0235", span, "integer overflow")
        .withLabel("the result of " + std::to_string(x) + " " + binOpSpelling(op) + " " +
                   std::to_string(y) + " does not fit in i64")
        .help("compile-time integers are i64 (up to 9223372036854775807); use a float for "
              "larger numbers");
    return Value::error();
  }
  Value v = Value::integer(r);
  v.dtype = a.dtype ? a.dtype : b.dtype;
  return v;
}

Value Evaluator::staticBinary(BinOp op, const Value &a, const Value &b, Span span) {
  if (op == BinOp::Eq || op == BinOp::Ne) {
    bool eq = staticEqual(a, b);
    return Value::boolean(op == BinOp::Eq ? eq : !eq);
  }
  if (op == BinOp::Add && a.isSequence() && b.isSequence()) {
    std::vector<Value> elems = a.elems;
    elems.insert(elems.end(), b.elems.begin(), b.elems.end());
    return a.kind == Value::Kind::List ? Value::list(elems) : Value::tuple(elems);
  }
  if (op == BinOp::Add && a.kind == Value::Kind::Str && b.kind == Value::Kind::Str)
    return Value::string(a.s + b.s);
  if (op == BinOp::And || op == BinOp::Or) {
    if (a.kind == Value::Kind::Bool && b.kind == Value::Kind::Bool)
      return Value::boolean(op == BinOp::And ? a.b && b.b : a.b || b.b);
  } else if (a.isStaticScalar() && b.isStaticScalar()) {
    bool ints = a.kind != Value::Kind::Float && b.kind != Value::Kind::Float;
    if (ints && op != BinOp::Div)
      return staticIntBinary(op, a, b, span);
    double x = a.number(), y = b.number();
    auto typed = [&](Value v) {
      v.dtype = a.dtype ? a.dtype : b.dtype;
      return v;
    };
    switch (op) {
    case BinOp::Lt: return Value::boolean(x < y);
    case BinOp::Le: return Value::boolean(x <= y);
    case BinOp::Gt: return Value::boolean(x > y);
    case BinOp::Ge: return Value::boolean(x >= y);
    case BinOp::Add: return typed(Value::real(x + y));
    case BinOp::Sub: return typed(Value::real(x - y));
    case BinOp::Mul: return typed(Value::real(x * y));
    case BinOp::Max: return typed(Value::real(std::max(x, y)));
    case BinOp::Min: return typed(Value::real(std::min(x, y)));
    case BinOp::Div:
    case BinOp::FloorDiv:
    case BinOp::Mod:
      if (y == 0) {
        error("E0230", span, "division by zero").withLabel("the divisor is 0");
        return Value::error();
      }
      if (op == BinOp::Div)
        return typed(Value::real(x / y));
      if (op == BinOp::FloorDiv)
        return typed(Value::real(std::floor(x / y)));
      return typed(Value::real(x - std::floor(x / y) * y));
    case BinOp::Pow:
      return typed(Value::real(std::pow(x, y)));
    default: break;
    }
  }
  error("E0220", span, "unsupported operand types")
      .withLabel(describeValue(a) + " and " + describeValue(b));
  return Value::error();
}

Value Evaluator::evalIndex(const IndexExpr &expr) {
  Value base = eval(*expr.base);
  if (base.isError())
    return base;
  if (base.isTensor())
    return indexTensor(base, expr);
  bool isString = base.kind == Value::Kind::Str;
  if (isString) // a string indexes and slices as the list of its characters, Python's way
    base = Value::charList(base.s);
  if (!base.isSequence() || expr.subscripts.size() != 1 ||
      expr.subscripts[0].kind == Subscript::Kind::Ellipsis) {
    error("E0222", expr.span, "cannot index " + describeValue(base))
        .withLabel("lists, tuples and strings take one index or slice; tensors take several");
    return Value::error();
  }
  const Subscript &sub = expr.subscripts[0];
  int64_t n = static_cast<int64_t>(base.elems.size());
  if (sub.kind == Subscript::Kind::Index) {
    std::optional<int64_t> i = staticInt(eval(*sub.index), "an index", sub.span);
    if (!i)
      return Value::error();
    int64_t k = *i < 0 ? *i + n : *i;
    if (k < 0 || k >= n) {
      error("E0222", sub.span, "index " + std::to_string(*i) + " is out of range")
          .withLabel("the sequence has " + std::to_string(n) + " elements");
      return Value::error();
    }
    return base.elems[static_cast<size_t>(k)];
  }
  std::optional<int64_t> step = sub.step ? staticInt(eval(*sub.step), "a slice step", sub.span)
                                         : std::optional<int64_t>(1);
  if (!step)
    return Value::error();
  if (*step == 0) {
    error("E0222", sub.span, "slice step cannot be zero").withLabel("step 0");
    return Value::error();
  }
  // Python's rules: bounds clamp to [0, n] forwards and to [-1, n - 1] backwards.
  auto bound = [&](const ExprPtr &e, int64_t dflt) -> std::optional<int64_t> {
    if (!e)
      return dflt;
    std::optional<int64_t> v = staticInt(eval(*e), "a slice bound", e->span);
    if (!v)
      return std::nullopt;
    int64_t k = *v < 0 ? *v + n : *v;
    return *step > 0 ? std::clamp<int64_t>(k, 0, n) : std::clamp<int64_t>(k, -1, n - 1);
  };
  std::optional<int64_t> lo = bound(sub.lo, *step > 0 ? 0 : n - 1);
  std::optional<int64_t> hi = bound(sub.hi, *step > 0 ? n : -1);
  if (!lo || !hi)
    return Value::error();
  std::vector<Value> elems;
  for (int64_t k = *lo; *step > 0 ? k < *hi : k > *hi; k += *step)
    elems.push_back(base.elems[static_cast<size_t>(k)]);
  if (isString) {
    std::string joined;
    for (const Value &c : elems)
      joined += c.s;
    return Value::string(joined);
  }
  return base.kind == Value::Kind::List ? Value::list(elems) : Value::tuple(elems);
}

Value Evaluator::indexTensor(const Value &tensor, const IndexExpr &expr) {
  auto type = typeOf(tensor);
  int64_t rank = type.getRank();
  size_t explicitDims = 0, ellipses = 0;
  for (const Subscript &s : expr.subscripts)
    (s.kind == Subscript::Kind::Ellipsis ? ellipses : explicitDims)++;
  if (ellipses > 1 || static_cast<int64_t>(explicitDims) > rank) {
    error("E0222", expr.span, "too many indices for a tensor of rank " + std::to_string(rank))
        .withLabel(std::to_string(explicitDims) + " indices" +
                   (ellipses > 1 ? " and more than one `...`" : ""));
    return Value::error();
  }
  SmallVector<int64_t> start(rank, 0), limit(type.getShape()), stride(rank, 1), finalShape;
  std::vector<int64_t> reversed;
  // One integer-tensor index (x[idx], x[:, idx]) gathers along its dimension: its place in
  // finalShape takes the indices' shape.
  Value gatherIndices;
  int64_t gatherDim = -1;
  size_t gatherPlace = 0;
  int64_t dim = 0;
  for (const Subscript &s : expr.subscripts) {
    if (s.kind == Subscript::Kind::Ellipsis) {
      for (int64_t k = 0; k < rank - static_cast<int64_t>(explicitDims); ++k, ++dim)
        finalShape.push_back(type.getDimSize(dim));
      continue;
    }
    int64_t n = type.getDimSize(dim);
    if (s.kind == Subscript::Kind::Index) {
      Value idx = eval(*s.index);
      if (idx.isTensor()) {
        if (gatherDim >= 0) {
          error("E0303", s.span, "only one subscript may be a tensor of indices")
              .withLabel("a second tensor index; combine them into one, or index twice");
          return Value::error();
        }
        gatherIndices = indicesTensor(idx, type.getDimSize(dim), s.span);
        if (gatherIndices.isError())
          return gatherIndices;
        gatherDim = dim++;
        gatherPlace = finalShape.size();
        continue;
      }
      std::optional<int64_t> i = staticInt(idx, "an index", s.span);
      if (!i)
        return Value::error();
      int64_t k = *i < 0 ? *i + n : *i;
      if (k < 0 || k >= n) {
        error("E0222", s.span, "index " + std::to_string(*i) + " is out of range")
            .withLabel("axis " + std::to_string(dim) + " has extent " + std::to_string(n));
        return Value::error();
      }
      start[dim] = k;
      limit[dim] = k + 1;
      ++dim;
      continue;
    }
    std::optional<int64_t> step = s.step ? staticInt(eval(*s.step), "a slice step", s.step->span)
                                         : std::optional<int64_t>(1);
    if (!step)
      return Value::error();
    if (*step == 0) {
      error("E0222", s.step->span, "slice step cannot be zero").withLabel("step 0");
      return Value::error();
    }
    // Python's bounds: clamped to [0, n] going forwards, to [-1, n - 1] going backwards.
    auto bound = [&](const ExprPtr &e, int64_t dflt) -> std::optional<int64_t> {
      if (!e)
        return dflt;
      std::optional<int64_t> v = staticInt(eval(*e), "a slice bound", e->span);
      if (!v)
        return std::nullopt;
      int64_t k = *v < 0 ? *v + n : *v;
      return *step > 0 ? std::clamp<int64_t>(k, 0, n) : std::clamp<int64_t>(k, -1, n - 1);
    };
    std::optional<int64_t> lo = bound(s.lo, *step > 0 ? 0 : n - 1);
    std::optional<int64_t> hi = bound(s.hi, *step > 0 ? n : -1);
    if (!lo || !hi)
      return Value::error();
    if (*step < 0) {
      // x[lo:hi:-k] is the reversed axis sliced from n-1-lo to n-1-hi with step k.
      reversed.push_back(dim);
      *lo = n - 1 - *lo;
      *hi = n - 1 - *hi;
      *step = -*step;
    }
    start[dim] = *lo;
    limit[dim] = std::max(*lo, *hi);
    stride[dim] = *step;
    finalShape.push_back((limit[dim] - start[dim] + *step - 1) / *step);
    ++dim;
  }
  for (; dim < rank; ++dim)
    finalShape.push_back(type.getDimSize(dim));
  Value sliced = slice(reverse(tensor, reversed, expr.span), start, limit, stride, expr.span);
  if (gatherDim >= 0) {
    llvm::ArrayRef<int64_t> idxShape = typeOf(gatherIndices).getShape();
    finalShape.insert(finalShape.begin() + gatherPlace, idxShape.begin(), idxShape.end());
    sliced = gather(sliced, gatherIndices, gatherDim, expr.span);
  }
  return reshape(sliced, finalShape, expr.span);
}

} // namespace nnx::lang
