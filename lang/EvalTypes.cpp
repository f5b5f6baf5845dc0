//===- EvalTypes.cpp - Type annotations and dimension variables -----------===//
//
// Checks a value against a parameter or result annotation. Scalar types (`int`, `float`,
// `bool`, `str`) take static values; a module name takes an instance of that module; a dtype
// with dims (`f32[B, din]`, `f32[..., in_features]`) takes a tensor. In a tensor type, a dim
// that is a bare name bound nowhere is a dimension variable: the first use binds it (as an
// int local of the function, so `B` can be used in the body), later uses must agree. `...`
// matches any number of leading or middle dims; `f32` alone matches any shape.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/Types.h"

#include "llvm/Support/Casting.h"

using llvm::dyn_cast;

namespace nnx::lang {

std::optional<rt::DType> Evaluator::dtypeFromName(const std::string &name) const {
  return rt::parseDType(name);
}

bool Evaluator::checkAnnotation(const TypeExpr &type, Value &value, const std::string &what,
                                Span valueSpan) {
  if (value.isError())
    return false;
  auto mismatch = [&](const std::string &expected) {
    error("E0207", valueSpan, "type mismatch for " + what)
        .withLabel("expected " + expected + ", got " + describeValue(value))
        .note("the expected type is declared here", type.span);
    return false;
  };
  const std::string &name = type.name;
  if (name == "int")
    return value.kind == Value::Kind::Int ? true : mismatch("an int");
  if (name == "float") {
    if (value.kind == Value::Kind::Int)
      value = Value::real(double(value.i));
    return value.kind == Value::Kind::Float ? true : mismatch("a float");
  }
  if (name == "bool" && !type.hasDims && value.kind == Value::Kind::Bool)
    return true;
  if (name == "str")
    return value.kind == Value::Kind::Str ? true : mismatch("a string");
  if (std::optional<rt::DType> dtype = dtypeFromName(name)) {
    if (value.isStaticScalar() && (!type.hasDims || type.dims.empty()))
      value = toTensor(value, *dtype, valueSpan);
    if (!value.isTensor())
      return mismatch("a tensor of " + name);
    return matchTensorType(type, value, what, valueSpan);
  }
  if (const GlobalDecl *g = program_.lookup(name)) {
    if (g->kind == GlobalDecl::Kind::Module) {
      if (value.kind == Value::Kind::Module && value.module->decl == g->module)
        return true;
      return mismatch("a `" + name + "` module");
    }
  }
  error("E0221", type.span, "unknown type `" + name + "`")
      .withLabel("expected int, float, bool, str, a dtype such as f32[...], or a module name");
  return false;
}

bool Evaluator::matchTensorType(const TypeExpr &type, const Value &value,
                                const std::string &what, Span valueSpan) {
  mlir::RankedTensorType actual = typeOf(value);
  std::optional<rt::DType> want = dtypeFromName(type.name);
  std::optional<rt::DType> got = ir::dtypeOf(actual.getElementType());
  auto fail = [&](const std::string &detail) {
    // Spell the expected type with dimension variables resolved where known.
    std::string expected = type.name;
    if (type.hasDims) {
      expected += "[";
      for (size_t i = 0; i < type.dims.size(); ++i)
        expected += (i ? ", " : "") +
                    (type.dims[i].expr ? std::string(program_.sources().text(type.dims[i].span))
                                       : std::string("..."));
      expected += "]";
    }
    Diagnostic &d = error("E0207", valueSpan, "type mismatch for " + what);
    d.withLabel("expected " + expected + ", got " + ir::formatType(actual) +
                (detail.empty() ? "" : ": " + detail));
    d.note("the expected type is declared here", type.span);
    noteOrigin(d, value, "the argument"); // often a caller's argument
    return false;
  };
  if (want != got)
    return fail("the dtype differs");
  if (!type.hasDims)
    return true;
  llvm::ArrayRef<int64_t> shape = actual.getShape();
  size_t ellipses = 0;
  for (const TypeDim &d : type.dims)
    ellipses += d.expr ? 0 : 1;
  size_t fixed = type.dims.size() - ellipses;
  if (ellipses > 1) {
    error("E0221", type.span, "a tensor type may contain `...` once").withLabel("found " +
                                                                        std::to_string(ellipses));
    return false;
  }
  if ((ellipses == 0 && shape.size() != fixed) || shape.size() < fixed)
    return fail("rank " + std::to_string(shape.size()) + " instead of " +
                (ellipses ? "at least " : "") + std::to_string(fixed));
  size_t pos = 0;
  for (const TypeDim &d : type.dims) {
    if (!d.expr) {
      pos += shape.size() - fixed;
      continue;
    }
    int64_t extent = shape[pos];
    Frame &frame = frames_.back();
    const auto *nameExpr = dyn_cast<NameExpr>(d.expr.get());
    bool unbound = nameExpr && !frame.locals.count(nameExpr->name) &&
                   !(frame.self && frame.self->findMember(nameExpr->name)) &&
                   lookupGlobal(nameExpr->name, d.span, /*report=*/false).isError();
    if (unbound) {
      frame.locals[nameExpr->name] = Value::integer(extent);
    } else {
      std::optional<int64_t> expected = staticInt(eval(*d.expr), "a dimension", d.span);
      if (!expected)
        return false;
      std::string written(program_.sources().text(d.span));
      if (*expected != extent)
        return fail("dimension " + std::to_string(pos) + " is " + std::to_string(extent) +
                    (written == std::to_string(*expected)
                         ? " but must be " + written
                         : " but `" + written + "` is " + std::to_string(*expected)));
    }
    ++pos;
  }
  return true;
}

} // namespace nnx::lang
