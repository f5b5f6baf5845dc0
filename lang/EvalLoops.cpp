//===- EvalLoops.cpp - Static loops, lists of modules, comprehensions -----===//
//
// `for` loops run at compile time over a sequence known then (a list, a tuple, `range(n)`),
// like Python, and are unrolled into the trace: they suit short loops (layers of a list,
// heads of a block). Long loops over data are `scan`, one op whatever its length. Loop names
// are locals of the enclosing function and keep their last value.
//
// A list (or comprehension) assigned to a member creates its modules at the element paths
// Flax NNX gives a list attribute: `layers = [Linear(n, n) for i in range(3)]` creates
// `layers.0`, `layers.1`, `layers.2` (so `layers.0.kernel` in checkpoints), and `layers[i]`
// with a static i and `for layer in layers` reach them. The sequence built-ins `range`,
// `enumerate` and `zip` live here too.
//
//===----------------------------------------------------------------------===//
#include "lang/BuiltinArgs.h"
#include "lang/Evaluator.h"

#include "llvm/Support/Casting.h"

using llvm::cast;

namespace nnx::lang {

using namespace builtins;

/// Loops unroll; more iterations than this is almost surely a loop that wants `scan`.
static constexpr size_t kMaxUnrolledIterations = 100000;

std::optional<std::vector<Value>> Evaluator::iterate(const Value &v, Span span) {
  if (v.isError())
    return std::nullopt;
  if (v.isSequence())
    return v.elems;
  if (v.kind == Value::Kind::Str) // its characters, as Python
    return Value::charList(v.s).elems;
  Diagnostic &d = error("E0248", span, "cannot loop over " + describeValue(v));
  d.withLabel("a `for` loop runs at compile time over a list, a tuple or range(n)");
  if (v.isTensor())
    d.help("to loop over a tensor's leading axis, use scan(f, init, x)");
  return std::nullopt;
}

bool Evaluator::bindLoopTarget(const Expr &target, const Value &item, Span span,
                               std::map<std::string, Value> &locals) {
  if (const auto *name = llvm::dyn_cast<NameExpr>(&target)) {
    locals[name->name] = item;
    return true;
  }
  const auto &tuple = llvm::cast<SequenceExpr>(target);
  if (!item.isSequence() || item.elems.size() != tuple.elements.size()) {
    error("E0218", target.span, "cannot unpack " + describeValue(item) + " into " +
                                    std::to_string(tuple.elements.size()) + " names")
        .withLabel(item.isSequence() ? "an element has " + std::to_string(item.elems.size()) +
                                           " parts"
                                     : "an element is not a tuple");
    return false;
  }
  for (size_t i = 0; i < item.elems.size(); ++i)
    if (!bindLoopTarget(*tuple.elements[i], item.elems[i], span, locals))
      return false;
  return true;
}

void Evaluator::execFor(const ForStmt &stmt) {
  std::optional<std::vector<Value>> items = iterate(eval(*stmt.iterable), stmt.iterable->span);
  if (!items)
    return;
  for (const Value &item : *items) {
    if (!bindLoopTarget(*stmt.target, item, stmt.iterable->span, frames_.back().locals))
      return;
    if (frames_.back().moduleBody)
      execModuleBody(stmt.body, frames_.back().self);
    else
      execBlock(stmt.body);
    if (frames_.back().returned)
      return;
  }
}

Value Evaluator::evalElement(const Expr &expr, const std::optional<std::string> &path,
                             size_t index) {
  if (path)
    pendingPath_ = *path + "." + std::to_string(index);
  Value v = eval(expr);
  pendingPath_.reset();
  return v;
}

Value Evaluator::evalSequence(const SequenceExpr &expr) {
  std::optional<std::string> path = std::exchange(pendingPath_, std::nullopt);
  std::vector<Value> elems;
  for (const ExprPtr &e : expr.elements) {
    elems.push_back(evalElement(*e, path, elems.size()));
    if (elems.back().isError())
      return Value::error();
  }
  return expr.kind == Expr::Kind::List ? Value::list(std::move(elems))
                                       : Value::tuple(std::move(elems));
}

Value Evaluator::evalListComp(const ListCompExpr &expr) {
  std::optional<std::string> path = std::exchange(pendingPath_, std::nullopt);
  std::optional<std::vector<Value>> items = iterate(eval(*expr.iterable), expr.iterable->span);
  if (!items)
    return Value::error();
  // The comprehension's names are its own: the enclosing locals are restored afterwards.
  std::map<std::string, Value> &locals = frames_.back().locals;
  std::map<std::string, Value> saved;
  for (const std::string &n : expr.names)
    if (auto it = locals.find(n); it != locals.end())
      saved[n] = it->second;
  std::vector<Value> elems;
  bool ok = true;
  for (const Value &item : *items) {
    if (!(ok = bindLoopTarget(*expr.target, item, expr.iterable->span, locals)))
      break;
    if (expr.cond) {
      Value keep = eval(*expr.cond);
      if (keep.isError() || keep.kind != Value::Kind::Bool) {
        if (!keep.isError())
          error("E0212", expr.cond->span, "the condition of a comprehension must be a bool "
                                          "known at compile time")
              .withLabel("this is " + describeValue(keep));
        ok = false;
        break;
      }
      if (!keep.b)
        continue;
    }
    elems.push_back(evalElement(*expr.element, path, elems.size()));
    if (elems.back().isError()) {
      ok = false;
      break;
    }
  }
  for (const std::string &n : expr.names) {
    locals.erase(n);
    if (auto it = saved.find(n); it != saved.end())
      locals[n] = it->second;
  }
  return ok ? Value::list(std::move(elems)) : Value::error();
}

Value Evaluator::builtinSequence(BuiltinId id, std::vector<Value> &args,
                                 std::vector<std::pair<std::string, Value>> &kwargs,
                                 Span span) {
  if (id == BuiltinId::range) {
    std::vector<int64_t> bounds;
    for (const Value &a : args) {
      std::optional<int64_t> v = a.kind == Value::Kind::Int ? std::optional<int64_t>(a.i)
                                                            : std::nullopt;
      if (!v) {
        Diagnostic &d = error("E0248", span, "`range` needs ints known at compile time");
        d.withLabel("an argument is " + describeValue(a));
        if (a.isTensor())
          d.help("a loop whose length depends on data is a scan: scan(f, init, x)");
        return Value::error();
      }
      bounds.push_back(*v);
    }
    if (bounds.empty() || bounds.size() > 3) {
      error("E0202", span, "wrong number of arguments to `range`")
          .withLabel("it takes 1 to 3 arguments but " + std::to_string(bounds.size()) +
                     " were given");
      return Value::error();
    }
    int64_t start = bounds.size() > 1 ? bounds[0] : 0;
    int64_t stop = bounds.size() > 1 ? bounds[1] : bounds[0];
    int64_t step = bounds.size() > 2 ? bounds[2] : 1;
    if (step == 0) {
      error("E0248", span, "`range` step must not be zero").withLabel("step 0");
      return Value::error();
    }
    int64_t count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                             : (start > stop ? (start - stop - step - 1) / -step : 0);
    if (static_cast<uint64_t>(count) > kMaxUnrolledIterations) {
      error("E0248", span, "`range` of " + std::to_string(count) + " elements is too long to "
                               "unroll")
          .withLabel("loops unroll at compile time; the limit is " +
                     std::to_string(kMaxUnrolledIterations))
          .help("iterate with scan(f, init, xs), one op whatever the length");
      return Value::error();
    }
    std::vector<Value> elems;
    for (int64_t i = 0, v = start; i < count; ++i, v += step)
      elems.push_back(Value::integer(v));
    return Value::list(std::move(elems));
  }
  if (id == BuiltinId::enumerate) {
    std::optional<Value> seq = argOr(args, kwargs, 0, "iterable");
    std::optional<Value> start = takeKwarg(kwargs, "start");
    std::optional<std::vector<Value>> items;
    if (!seq || !(items = iterate(*seq, span)))
      return Value::error();
    int64_t first = start && start->kind == Value::Kind::Int ? start->i : 0;
    std::vector<Value> elems;
    for (size_t i = 0; i < items->size(); ++i)
      elems.push_back(Value::tuple({Value::integer(first + int64_t(i)), (*items)[i]}));
    return Value::list(std::move(elems));
  }
  // zip(a, b, ...): tuples of the i-th elements, as long as the shortest.
  std::vector<std::vector<Value>> seqs;
  size_t n = SIZE_MAX;
  for (const Value &a : args) {
    std::optional<std::vector<Value>> items = iterate(a, span);
    if (!items)
      return Value::error();
    n = std::min(n, items->size());
    seqs.push_back(std::move(*items));
  }
  std::vector<Value> elems;
  for (size_t i = 0; !seqs.empty() && i < n; ++i) {
    std::vector<Value> row;
    for (const auto &s : seqs)
      row.push_back(s[i]);
    elems.push_back(Value::tuple(std::move(row)));
  }
  return Value::list(std::move(elems));
}

} // namespace nnx::lang
