//===- EvalShapeBuiltins.cpp - Built-ins about shapes ---------------------===//
//
// shape, len, matmul, reshape (one -1 inferred), transpose (default: reversed axes), flip
// (default: every axis) and concat: each checks that its arguments are tensors and that the
// static shape arguments fit, then emits the op through EvalTensorOps.cpp.
//
//===----------------------------------------------------------------------===//
#include "lang/BuiltinArgs.h"
#include "lang/Evaluator.h"

#include "ir/Types.h"

namespace nnx::lang {

using namespace builtins;

Value Evaluator::builtinShapeOp(BuiltinId id, std::vector<Value> &args,
                                std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  const char *name = builtinName(id);
  auto needTensor = [&](size_t i) {
    if (i < args.size() && args[i].isTensor())
      return true;
    if (i < args.size() && args[i].isError())
      return false;
    error("E0231", span, "`" + std::string(name) + "` needs a tensor argument")
        .withLabel(i < args.size() ? "argument " + std::to_string(i + 1) + " is " +
                                         describeValue(args[i])
                                   : "missing argument");
    return false;
  };
  switch (id) {
  case BuiltinId::shape: {
    if (!needTensor(0))
      return Value::error();
    std::vector<Value> dims;
    for (int64_t d : typeOf(args[0]).getShape())
      dims.push_back(Value::integer(d));
    return Value::list(dims);
  }
  case BuiltinId::len:
    if (args.size() == 1 && args[0].isSequence())
      return Value::integer(static_cast<int64_t>(args[0].elems.size()));
    if (args.size() == 1 && args[0].kind == Value::Kind::Str)
      return Value::integer(static_cast<int64_t>(args[0].s.size()));
    if (!needTensor(0))
      return Value::error();
    if (typeOf(args[0]).getRank() == 0) {
      error("E0231", span, "`len` of a rank-0 tensor").withLabel("it has no first axis");
      return Value::error();
    }
    return Value::integer(typeOf(args[0]).getDimSize(0));
  case BuiltinId::matmul:
    if (args.size() != 2) {
      error("E0202", span, "`matmul` takes 2 arguments")
          .withLabel(std::to_string(args.size()) + " given");
      return Value::error();
    }
    return matmul(args[0], args[1], span, span);
  case BuiltinId::reshape: return builtinReshape(args, kwargs, span);
  case BuiltinId::transpose: return builtinTranspose(args, kwargs, span);
  case BuiltinId::concat: return builtinConcat(args, kwargs, span);
  case BuiltinId::flip: {
    // flip(x, axis=None), like jnp.flip: reverse along the axes (all when none given).
    std::optional<Value> axisArg = argOr(args, kwargs, 1, "axis");
    if (!needTensor(0))
      return Value::error();
    int64_t rank = typeOf(args[0]).getRank();
    std::vector<int64_t> axes;
    if (!axisArg || axisArg->kind == Value::Kind::None) {
      for (int64_t d = 0; d < rank; ++d)
        axes.push_back(d);
    } else {
      std::optional<std::vector<int64_t>> given;
      if (axisArg->kind == Value::Kind::Int)
        given = std::vector<int64_t>{axisArg->i};
      else
        given = staticInts(*axisArg, "`axis`", span);
      if (!given)
        return Value::error();
      for (int64_t a : *given) {
        std::optional<int64_t> axis = normalizeAxis(a, rank, span);
        if (!axis)
          return Value::error();
        axes.push_back(*axis);
      }
    }
    return reverse(args[0], axes, span);
  }
  default: return Value::error();
  }
}

Value Evaluator::builtinReshape(std::vector<Value> &args,
                                std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  std::optional<Value> shapeArg = argOr(args, kwargs, 1, "shape");
  if (args.empty() || !args[0].isTensor() || !shapeArg) {
    error("E0231", span, "`reshape` takes a tensor and a shape")
        .withLabel("e.g. reshape(x, [-1, 784])");
    return Value::error();
  }
  std::optional<std::vector<int64_t>> shape = staticInts(*shapeArg, "the shape", span);
  if (!shape)
    return Value::error();
  auto type = typeOf(args[0]);
  int64_t elements = type.getNumElements(), known = 1, inferred = -1, minusOnes = 0;
  std::string asked = ir::formatShape(*shape);
  for (size_t i = 0; i < shape->size(); ++i) {
    int64_t d = (*shape)[i];
    if (d == -1) {
      ++minusOnes;
      inferred = static_cast<int64_t>(i);
    } else if (d < 0) {
      error("E0232", span, "cannot reshape " + ir::formatType(type) + " to " + asked)
          .withLabel("extent " + std::to_string(d) + " is negative (only one -1 is allowed)");
      return Value::error();
    } else if (__builtin_mul_overflow(known, d, &known)) {
      error("E0232", span, "cannot reshape " + ir::formatType(type) + " to " + asked)
          .withLabel("the extents' product overflows 64-bit arithmetic");
      return Value::error();
    }
  }
  if (minusOnes > 1) {
    error("E0232", span, "cannot reshape " + ir::formatType(type) + " to " + asked)
        .withLabel(std::to_string(minusOnes) + " extents are -1; only one can be inferred");
    return Value::error();
  }
  if (inferred >= 0) {
    if (known == 0 || elements % known != 0) {
      error("E0232", span, "cannot reshape " + ir::formatType(type) + " to " + asked)
          .withLabel(std::to_string(elements) + " elements do not divide into rows of " +
                     std::to_string(known) + " (the product of the other extents)");
      return Value::error();
    }
    (*shape)[inferred] = elements / known;
  } else if (known != elements) {
    error("E0232", span, "cannot reshape " + ir::formatType(type) + " to " + asked)
        .withLabel(std::to_string(elements) + " elements vs " + std::to_string(known));
    return Value::error();
  }
  return reshape(args[0], *shape, span);
}

Value Evaluator::builtinTranspose(std::vector<Value> &args,
                                  std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  if (args.empty() || !args[0].isTensor()) {
    error("E0231", span, "`transpose` takes a tensor").withLabel("e.g. transpose(x, [1, 0])");
    return Value::error();
  }
  int64_t rank = typeOf(args[0]).getRank();
  std::optional<Value> permArg = argOr(args, kwargs, 1, "axes");
  std::vector<int64_t> perm;
  if (permArg) {
    std::optional<std::vector<int64_t>> p = staticInts(*permArg, "the permutation", span);
    if (!p)
      return Value::error();
    perm = *p;
  } else {
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  }
  std::vector<bool> seen(rank, false);
  bool valid = static_cast<int64_t>(perm.size()) == rank;
  for (int64_t &p : perm) {
    p = p < 0 ? p + rank : p;
    valid = valid && p >= 0 && p < rank && !seen[p];
    if (valid)
      seen[p] = true;
  }
  if (!valid) {
    error("E0232", span, "invalid permutation for a tensor of rank " + std::to_string(rank))
        .withLabel("expected each of 0.." + std::to_string(rank - 1) + " once");
    return Value::error();
  }
  return transpose(args[0], perm, span);
}

Value Evaluator::builtinConcat(std::vector<Value> &args,
                               std::vector<std::pair<std::string, Value>> &kwargs, Span span) {
  std::optional<Value> axisArg = argOr(args, kwargs, 1, "axis");
  std::optional<int64_t> axis = axisArg ? staticInt(*axisArg, "`axis`", span)
                                        : std::optional<int64_t>(0);
  if (args.empty() || !args[0].isSequence() || args[0].elems.empty() || !axis) {
    error("E0231", span, "`concat` takes a non-empty list of tensors")
        .withLabel("e.g. concat([a, b], axis=-1)");
    return Value::error();
  }
  const std::vector<Value> &xs = args[0].elems;
  for (const Value &x : xs)
    if (!x.isTensor()) {
      error("E0231", span, "`concat` takes tensors").withLabel("found " + describeValue(x));
      return Value::error();
    }
  auto first = typeOf(xs[0]);
  std::optional<int64_t> a = normalizeAxis(*axis, first.getRank(), span);
  if (!a)
    return Value::error();
  for (const Value &x : xs) {
    auto t = typeOf(x);
    bool ok = t.getRank() == first.getRank() && t.getElementType() == first.getElementType();
    for (int64_t d = 0; ok && d < t.getRank(); ++d)
      ok = d == *a || t.getDimSize(d) == first.getDimSize(d);
    if (!ok) {
      Diagnostic &d = error("E0206", span, "cannot concatenate along axis " + std::to_string(*a));
      d.withLabel(ir::formatType(first) + " vs " + ir::formatType(t) +
                  ": all dimensions but the axis must agree");
      noteOrigin(d, x, "operand");
      return Value::error();
    }
  }
  return concat(xs, *a, span);
}

} // namespace nnx::lang
