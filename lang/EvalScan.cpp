//===- EvalScan.cpp - `scan`: a loop as one op ----------------------------===//
//
// Two spellings, one implementation (scanCall):
//
//   carry, y = scan(f, in_axes=(Carry, None, 1), out_axes=(Carry, 1))(carry, cell, x)
//   carry, y = scan(cell, init, x, axis=1)        # short form: (Carry, axis, ...) in,
//   y = scan(blocks, x)                           #   (Carry, axis) or Carry out
//
// The first is nnx.scan: `Carry` marks the argument carried from step to step, `None` one
// given unchanged to every step (a module, a tensor, a number), an int k an argument scanned
// over its axis k (a module: over its stacked layers, axis 0). out_axes says how to read f's
// result: `Carry` alone (f returns the new carry), or a tuple with one entry per element of
// f's result, the carry and outputs stacked along the given axis. The short form scans every
// argument after the carry over `axis` and infers the outputs: a pair whose first element is
// shaped like the carry is (carry, y), anything else is the new carry.
//
// f is traced once, for one step, into the body of one nnx.scan (EvalScope.cpp): the trace,
// the IR and the compile time do not grow with the number of steps or layers. State the step
// updates (an rng counter, a Counter, batch statistics) is carried from step to step and
// written back; the variables of a module scanned over its layers are sliced, one layer per
// step, and written back stacked.
//
//===----------------------------------------------------------------------===//
#include "lang/BuiltinArgs.h"
#include "lang/Evaluator.h"

#include "ir/NNXDialect.h"
#include "ir/Types.h"

#include "llvm/Support/Casting.h"

using namespace mlir;

namespace nnx::lang {

using namespace builtins;

namespace {

/// True when `a` and `b` have the same tuple/list nesting (leaves of any kind match).
bool sameStructure(const Value &a, const Value &b) {
  if (a.isSequence() != b.isSequence())
    return false;
  if (!a.isSequence())
    return true;
  if (a.elems.size() != b.elems.size())
    return false;
  for (size_t i = 0; i < a.elems.size(); ++i)
    if (!sameStructure(a.elems[i], b.elems[i]))
      return false;
  return true;
}

/// "x" for a span of source text that is short, else `fallback`.
std::string shortText(std::string_view text, const std::string &fallback) {
  if (text.empty() || text.size() > 30 || text.find('\n') != std::string_view::npos)
    return fallback;
  return std::string(text);
}

} // namespace

std::optional<TransformSpec>
Evaluator::transformSpec(const TransformExpr &expr, const std::string &name,
                         std::vector<Value> &positional, std::vector<Span> &positionalSpans) {
  TransformSpec spec;
  spec.span = expr.span;
  bool ok = true;
  for (const Arg &a : expr.args) {
    Value v = eval(*a.value);
    if (v.isError())
      return std::nullopt;
    if (a.name.empty()) {
      positional.push_back(v);
      positionalSpans.push_back(a.value->span);
      continue;
    }
    if (a.name == "in_axes") {
      spec.inAxesGiven = true;
      spec.inAxesSpan = a.value->span;
      spec.inAxes = v.isSequence() ? v.elems : std::vector<Value>{v};
      spec.inAxesForAll = !v.isSequence();
      continue;
    }
    if (a.name == "out_axes") {
      spec.outAxesGiven = true;
      spec.outAxesSpan = a.value->span;
      spec.outAxes = v;
      continue;
    }
    bool isLength = a.name == (name == "scan" ? "length" : "axis_size");
    if (isLength || (name == "scan" && a.name == "axis")) {
      if (v.kind != Value::Kind::Int || (isLength && v.i < 0)) {
        error("E0231", a.value->span, "`" + a.name + "` must be " +
                                          (isLength ? "a non-negative int" : "an int") +
                                          " known at compile time")
            .withLabel("this is " + describeValue(v));
        return std::nullopt;
      }
      (isLength ? spec.length : spec.axis) = v.i;
      continue;
    }
    if (name == "scan" && a.name == "reverse") {
      if (v.kind != Value::Kind::Bool) {
        error("E0231", a.value->span, "`reverse` must be a bool known at compile time")
            .withLabel("this is " + describeValue(v));
        return std::nullopt;
      }
      spec.reverse = v.b;
      continue;
    }
    std::vector<std::string> names = {"in_axes", "out_axes"};
    if (name == "scan")
      names.insert(names.end(), {"length", "reverse", "axis"});
    else
      names.push_back("axis_size");
    Diagnostic &d = error("E0209", a.nameSpan, "`" + name + "` has no parameter `" + a.name + "`");
    d.withLabel("unknown keyword argument");
    std::string close = closestName(a.name, names);
    if (!close.empty())
      d.help("did you mean `" + close + "`?");
    ok = false;
  }
  if (!ok)
    return std::nullopt;
  return spec;
}

Value Evaluator::evalScan(const TransformExpr &expr) {
  std::vector<Value> positional;
  std::vector<Span> spans;
  std::optional<TransformSpec> spec = transformSpec(expr, "scan", positional, spans);
  if (!spec)
    return Value::error();
  if (positional.empty()) {
    error("E0202", expr.span, "`scan` takes the function to scan")
        .withLabel("e.g. scan(f, in_axes=(Carry, 0), out_axes=(Carry, 0))(carry, xs), or "
                   "scan(cell, init, x, axis=1)");
    return Value::error();
  }
  if (positional.size() == 1) {
    if (spec->axis) {
      error("E0209", expr.span, "`axis` belongs to the short form scan(f, init, xs, axis=k)")
          .withLabel("with in_axes, give the axis of each argument there");
      return Value::error();
    }
    Value t = Value::make(Value::Kind::Transform);
    t.s = "scan";
    t.elems = {positional[0]};
    t.transform = std::make_shared<const TransformSpec>(std::move(*spec));
    return t;
  }
  // The short form: scan(f, init, xs..., axis=k), applied here.
  if (spec->inAxesGiven || spec->outAxesGiven) {
    error("E0240", spec->inAxesGiven ? spec->inAxesSpan : spec->outAxesSpan,
          "in_axes and out_axes belong to scan(f, in_axes=..., out_axes=...)(args)")
        .withLabel("the short form scan(f, init, xs, axis=k) takes none")
        .help("write scan(f, in_axes=(Carry, 1), out_axes=(Carry, 1))(init, x)");
    return Value::error();
  }
  ScanCall call;
  call.f = positional[0];
  call.args.assign(positional.begin() + 1, positional.end());
  call.argSpans.assign(spans.begin() + 1, spans.end());
  call.inAxes.push_back(Value::make(Value::Kind::Carry));
  for (size_t i = 1; i < call.args.size(); ++i)
    call.inAxes.push_back(Value::integer(spec->axis.value_or(0)));
  call.shortAxis = spec->axis.value_or(0);
  call.inferOutAxes = true;
  call.length = spec->length;
  call.reverse = spec->reverse;
  call.span = expr.span;
  call.inAxesSpan = expr.span;
  call.outAxesSpan = expr.span;
  return scanCall(call);
}

Value Evaluator::callScan(const Value &transform, std::vector<Value> args,
                          std::vector<std::pair<std::string, Value>> kwargs,
                          const std::vector<Span> &argSpans, Span span) {
  const TransformSpec &spec = *transform.transform;
  if (!kwargs.empty()) {
    error("E0209", span, "a scanned function takes its arguments by position")
        .withLabel("`" + kwargs[0].first + "=` given by name");
    return Value::error();
  }
  ScanCall call;
  call.f = transform.elems[0];
  call.args = std::move(args);
  call.argSpans = argSpans;
  call.argSpans.resize(call.args.size(), span);
  call.span = span;
  call.length = spec.length;
  call.reverse = spec.reverse;
  call.inAxesSpan = spec.inAxesGiven ? spec.inAxesSpan : span;
  call.outAxesSpan = spec.outAxesGiven ? spec.outAxesSpan : span;
  if (!spec.inAxesGiven) { // nnx.scan's default: (Carry, 0, 0, ...)
    call.inAxes.push_back(Value::make(Value::Kind::Carry));
    for (size_t i = 1; i < call.args.size(); ++i)
      call.inAxes.push_back(Value::integer(0));
  } else if (spec.inAxesForAll) {
    call.inAxes.assign(call.args.size(), spec.inAxes[0]);
  } else {
    call.inAxes = spec.inAxes;
  }
  if (call.inAxes.size() != call.args.size()) {
    error("E0240", call.inAxesSpan, "`in_axes` has " + std::to_string(call.inAxes.size()) +
                                        " entries for " + std::to_string(call.args.size()) +
                                        " arguments")
        .withLabel("one entry per argument: Carry, None or an axis")
        .note("called with " + std::to_string(call.args.size()) + " arguments here", span);
    return Value::error();
  }
  call.outAxes = spec.outAxesGiven
                     ? spec.outAxes
                     : Value::tuple({Value::make(Value::Kind::Carry), Value::integer(0)});
  return scanCall(call);
}

Value Evaluator::scanCall(ScanCall &call) {
  Span span = call.span;
  if (!requireTracing(span, "`scan`"))
    return Value::error();

  // 1. What each argument is: the carry, shared, or scanned (tensors and stacked modules).
  int carryIndex = -1;
  std::vector<const ModuleInstance *> sliced;
  struct Length {
    int64_t extent;
    Span span;
    std::string what;
  };
  std::vector<Length> lengths;
  auto stackedModule = [&](ModuleInstance *m, Span at, const std::string &what) {
    sliced.push_back(m);
    lengths.push_back({m->stack[consumedStack(m)], at, what + "'s stacked layers"});
  };
  if ((call.f.kind == Value::Kind::Module || call.f.kind == Value::Kind::Method) &&
      call.f.module->stack.size() > consumedStack(call.f.module))
    stackedModule(call.f.module, span, "`" + call.f.module->decl->name + "`");
  std::vector<std::vector<Value>> xsLeaves(call.args.size());
  std::vector<std::vector<int64_t>> xsAxes(call.args.size());
  for (size_t i = 0; i < call.args.size(); ++i) {
    const Value &axis = call.inAxes[i];
    const Value &arg = call.args[i];
    Span at = call.argSpans[i];
    std::string what = "`" + shortText(program_.sources().text(at), "argument " +
                                                                        std::to_string(i + 1)) +
                       "`";
    if (axis.kind == Value::Kind::Carry) {
      if (carryIndex >= 0) {
        error("E0241", call.inAxesSpan, "`in_axes` marks more than one argument as the carry")
            .withLabel("arguments " + std::to_string(carryIndex + 1) + " and " +
                       std::to_string(i + 1) + " are both Carry")
            .help("carry several values as one tuple: (h, c)");
        return Value::error();
      }
      carryIndex = static_cast<int>(i);
      continue;
    }
    if (axis.kind == Value::Kind::None)
      continue;
    if (axis.kind != Value::Kind::Int) {
      error("E0240", call.inAxesSpan, "an `in_axes` entry is " + describeValue(axis))
          .withLabel("entries are Carry, None or an axis");
      return Value::error();
    }
    if (arg.kind == Value::Kind::Module) {
      ModuleInstance *m = arg.module;
      if (m->stack.size() <= consumedStack(m)) {
        error("E0242", at, what + " is not stacked: there are no layers to scan over")
            .withLabel("its in_axes entry is " + std::to_string(axis.i))
            .help("give it to every step with None; stack layers with vmap(n) " +
                  m->decl->name + "(...)");
        return Value::error();
      }
      if (axis.i != 0) {
        error("E0243", call.inAxesSpan, "a stacked module is scanned over axis 0, its layers")
            .withLabel("axis " + std::to_string(axis.i) + " given for " + what);
        return Value::error();
      }
      stackedModule(m, at, what);
      continue;
    }
    if (!flattenLeaves(arg, xsLeaves[i], at, "scanned arguments"))
      return Value::error();
    for (const Value &leaf : xsLeaves[i]) {
      int64_t rank = typeOf(leaf).getRank();
      int64_t k = axis.i < 0 ? axis.i + rank : axis.i;
      if (k < 0 || k >= rank) {
        error("E0243", at, "scan axis " + std::to_string(axis.i) + " is out of range for " +
                               what + " of rank " + std::to_string(rank))
            .withLabel("it has type " + ir::formatType(leaf.tensor.getType()))
            .note("the axis is given here", call.inAxesSpan);
        return Value::error();
      }
      xsAxes[i].push_back(k);
      lengths.push_back({typeOf(leaf).getDimSize(k), at, what});
    }
  }

  // 2. The number of steps.
  for (size_t i = 1; i < lengths.size(); ++i)
    if (lengths[i].extent != lengths[0].extent) {
      error("E0244", lengths[i].span, "scanned inputs have different lengths")
          .withLabel(lengths[i].what + " has " + std::to_string(lengths[i].extent) + " steps")
          .note(lengths[0].what + " has " + std::to_string(lengths[0].extent) + " steps",
                lengths[0].span);
      return Value::error();
    }
  int64_t length;
  if (call.length) {
    if (!lengths.empty() && lengths[0].extent != *call.length) {
      error("E0245", span, "`length=" + std::to_string(*call.length) +
                               "` but the scanned inputs have " +
                               std::to_string(lengths[0].extent) + " steps")
          .note(lengths[0].what + " is scanned here", lengths[0].span);
      return Value::error();
    }
    length = *call.length;
  } else if (!lengths.empty()) {
    length = lengths[0].extent;
  } else {
    error("E0245", span, "`scan` has nothing to scan over")
        .withLabel("no argument has an axis in in_axes")
        .help("give an input's axis, scan a stacked module, or set length=");
    return Value::error();
  }

  // 3. The carry's leaves.
  std::vector<Value> carryLeaves;
  if (carryIndex >= 0 && !flattenLeaves(call.args[carryIndex], carryLeaves,
                                        call.argSpans[carryIndex], "the carry"))
    return Value::error();

  // 4. Trace one step into a scope: carries, then slices, are its first block arguments.
  TraceScope scope;
  scope.sliced = sliced;
  openScope(scope);
  mlir::Block *block = scope.block.get();
  std::vector<Value> carryArgs, sliceArgs;
  for (const Value &leaf : carryLeaves)
    carryArgs.push_back(Value::tensorOf(block->addArgument(leaf.tensor.getType(), loc(span)),
                                        leaf.origin));
  std::vector<Value> stepArgs = call.args;
  for (size_t i = 0; i < call.args.size(); ++i) {
    if (static_cast<int>(i) == carryIndex) {
      size_t pos = 0;
      stepArgs[i] = rebuildLeaves(call.args[i], carryArgs, pos);
      continue;
    }
    if (xsLeaves[i].empty())
      continue;
    std::vector<Value> slices;
    for (size_t j = 0; j < xsLeaves[i].size(); ++j) {
      auto type = typeOf(xsLeaves[i][j]);
      SmallVector<int64_t> shape(type.getShape());
      shape.erase(shape.begin() + xsAxes[i][j]);
      auto sliceType = RankedTensorType::get(shape, type.getElementType());
      slices.push_back(Value::tensorOf(block->addArgument(sliceType, loc(call.argSpans[i])),
                                       Origin{call.argSpans[i], "", nullptr}));
    }
    sliceArgs.insert(sliceArgs.end(), slices.begin(), slices.end());
    size_t pos = 0;
    stepArgs[i] = rebuildLeaves(call.args[i], slices, pos);
  }
  unsigned errorsBefore = program_.diags().errorCount();
  Value result = callValue(call.f, stepArgs, {}, call.argSpans, span);
  auto abandon = [&]() {
    scopes_.pop_back();
    builder_.restoreInsertionPoint(scope.outer);
    block->dropAllDefinedValueUses();
    block->dropAllReferences();
    return Value::error();
  };
  if (result.isError() || program_.diags().errorCount() > errorsBefore)
    return abandon();

  // 5. Read the result through out_axes.
  Value outAxes = call.outAxes;
  if (call.inferOutAxes)
    outAxes = carryIndex >= 0 && result.kind == Value::Kind::Tuple && result.elems.size() == 2 &&
                      sameStructure(result.elems[0], call.args[carryIndex])
                  ? Value::tuple({Value::make(Value::Kind::Carry), Value::integer(call.shortAxis)})
                  : Value::make(Value::Kind::Carry);
  std::vector<Value> outEntries = outAxes.kind == Value::Kind::Tuple ? outAxes.elems
                                                                     : std::vector<Value>{outAxes};
  std::vector<Value> results = outAxes.kind == Value::Kind::Tuple
                                   ? (result.kind == Value::Kind::Tuple ? result.elems
                                                                        : std::vector<Value>{})
                                   : std::vector<Value>{result};
  if (results.size() != outEntries.size()) {
    error("E0240", call.outAxesSpan, "the scanned function returns " + describeValue(result) +
                                         " but `out_axes` has " +
                                         std::to_string(outEntries.size()) + " entries")
        .withLabel("one entry per element of the result: Carry or an axis");
    return abandon();
  }
  int outCarry = -1;
  for (size_t i = 0; i < outEntries.size(); ++i) {
    const Value &e = outEntries[i];
    if (e.kind == Value::Kind::Carry) {
      if (outCarry >= 0) {
        error("E0241", call.outAxesSpan, "`out_axes` marks more than one output as the carry")
            .withLabel("one Carry");
        return abandon();
      }
      outCarry = static_cast<int>(i);
    } else if (e.kind != Value::Kind::Int) {
      error("E0240", call.outAxesSpan, "an `out_axes` entry is " + describeValue(e))
          .withLabel("entries are Carry or the axis to stack an output along");
      return abandon();
    }
  }
  if ((outCarry >= 0) != (carryIndex >= 0)) {
    error("E0241", outCarry >= 0 ? call.outAxesSpan : call.inAxesSpan,
          outCarry >= 0 ? "`out_axes` has a Carry but `in_axes` has none"
                        : "`in_axes` has a Carry but `out_axes` has none")
        .withLabel("the carry goes in and comes out: mark it in both");
    return abandon();
  }

  // 6. The new carry must be shaped like the old one.
  std::vector<Value> newCarryLeaves;
  if (outCarry >= 0) {
    const Value &newCarry = results[outCarry];
    const Value &oldCarry = call.args[carryIndex];
    if (!sameStructure(newCarry, oldCarry)) {
      error("E0246", span, "the carry changes structure in one step")
          .withLabel("it starts as " + describeValue(oldCarry) + " and the step returns " +
                     describeValue(newCarry))
          .note("the initial carry is given here", call.argSpans[carryIndex]);
      return abandon();
    }
    if (!flattenLeaves(newCarry, newCarryLeaves, span, "the carry"))
      return abandon();
    for (size_t j = 0; j < carryLeaves.size(); ++j) {
      auto before = typeOf(carryLeaves[j]), after = typeOf(newCarryLeaves[j]);
      if (before == after)
        continue;
      // A number the step returns (`return 0.0`) takes the scalar carry's dtype.
      bool number = before.getRank() == 0 && after.getRank() == 0 &&
                    newCarryLeaves[j].tensor.getDefiningOp<ir::ConstantOp>() &&
                    isa<FloatType>(before.getElementType()) ==
                        isa<FloatType>(after.getElementType());
      if (number) {
        newCarryLeaves[j] =
            convert(newCarryLeaves[j], *ir::dtypeOf(before.getElementType()), span);
        continue;
      }
      Diagnostic &d = error("E0246", span, "the carry changes type in one step");
      d.withLabel("from " + ir::formatType(before) + " to " + ir::formatType(after) +
                  (carryLeaves.size() > 1 ? " (element " + std::to_string(j + 1) + ")" : ""));
      d.note("the initial carry is given here", call.argSpans[carryIndex]);
      noteOrigin(d, newCarryLeaves[j], "the new carry");
      d.help("a carry keeps its shape and dtype from step to step");
      return abandon();
    }
  }

  // 7. The stacked outputs and their axes.
  std::vector<Value> yLeaves;
  std::vector<int64_t> yAxes;
  std::vector<std::pair<Value, size_t>> yShapes; // (result element, its leaf count)
  for (size_t i = 0; i < results.size(); ++i) {
    if (static_cast<int>(i) == outCarry)
      continue;
    size_t before = yLeaves.size();
    if (!flattenLeaves(results[i], yLeaves, span, "the outputs of a scanned function"))
      return abandon();
    for (size_t j = before; j < yLeaves.size(); ++j) {
      int64_t rank = typeOf(yLeaves[j]).getRank() + 1, k = outEntries[i].i;
      int64_t kk = k < 0 ? k + rank : k;
      if (kk < 0 || kk >= rank) {
        error("E0243", call.outAxesSpan, "out axis " + std::to_string(k) + " is out of range")
            .withLabel("the stacked output has rank " + std::to_string(rank) + ", type " +
                       ir::formatType(ir::prependDim(yLeaves[j].tensor.getType(), length)));
        return abandon();
      }
      yAxes.push_back(kk);
    }
    yShapes.push_back({results[i], yLeaves.size() - before});
  }

  // 8. The body's terminator, then close the scope (captures become constants).
  std::vector<mlir::Value> yielded;
  for (const Value &v : newCarryLeaves)
    yielded.push_back(v.tensor);
  for (const TraceScope::Var &v : scope.vars)
    if (v.written && !v.sliced)
      yielded.push_back(v.current);
  for (const Value &v : yLeaves)
    yielded.push_back(v.tensor);
  for (const TraceScope::Var &v : scope.vars)
    if (v.written && v.sliced)
      yielded.push_back(v.current);
  builder_.create<ir::YieldOp>(loc(span), yielded);
  std::optional<ClosedScope> closed = closeScope(scope, /*captureArgs=*/true, span);
  if (!closed) {
    block->dropAllDefinedValueUses();
    block->dropAllReferences();
    return Value::error();
  }

  // 9. The scan op: operands and block arguments in the order the op defines.
  SmallVector<mlir::Value> init, xs, consts;
  SmallVector<BlockArgument> order;
  for (size_t j = 0; j < carryLeaves.size(); ++j) {
    init.push_back(carryLeaves[j].tensor);
    order.push_back(llvm::cast<BlockArgument>(carryArgs[j].tensor));
  }
  for (const ClosedScope::Var &v : closed->vars)
    if (v.written && !v.sliced) {
      init.push_back(v.outer);
      order.push_back(v.arg);
    }
  size_t slice = 0;
  for (size_t i = 0; i < call.args.size(); ++i)
    for (size_t j = 0; j < xsLeaves[i].size(); ++j) {
      xs.push_back(moveAxis(xsLeaves[i][j], xsAxes[i][j], 0, call.argSpans[i]).tensor);
      order.push_back(llvm::cast<BlockArgument>(sliceArgs[slice++].tensor));
    }
  for (const ClosedScope::Var &v : closed->vars)
    if (v.sliced) {
      xs.push_back(v.outer);
      order.push_back(v.arg);
    }
  for (const ClosedScope::Var &v : closed->vars)
    if (!v.written && !v.sliced) {
      consts.push_back(v.outer);
      order.push_back(v.arg);
    }
  for (const auto &[outer, arg] : closed->captures) {
    consts.push_back(outer);
    order.push_back(arg);
  }
  SmallVector<Type> stepTypes;
  auto yieldOp = llvm::cast<ir::YieldOp>(block->getTerminator());
  for (mlir::Value v : yieldOp.getValues().drop_front(init.size()))
    stepTypes.push_back(v.getType());
  auto scan = ir::createScan(builder_, loc(span), init, xs, consts, stepTypes, length,
                             call.reverse);
  mlir::Block &body = scan.getBodyBlock();
  for (auto [from, to] : llvm::zip(order, body.getArguments()))
    from.replaceAllUsesWith(to);
  body.getOperations().splice(body.end(), block->getOperations());

  // 10. Results: the carry, written state, stacked outputs.
  size_t r = 0;
  std::vector<Value> finalLeaves;
  for (const Value &leaf : carryLeaves)
    finalLeaves.push_back(Value::tensorOf(scan.getResult(r++), leaf.origin));
  for (const ClosedScope::Var &v : closed->vars)
    if (v.written && !v.sliced)
      writeVar(v.index, Value::tensorOf(scan.getResult(r++), Origin{span, "", nullptr}), span);
  std::vector<Value> stackedLeaves;
  for (size_t j = 0; j < yLeaves.size(); ++j) {
    Value stacked = Value::tensorOf(scan.getResult(r++), Origin{span, "", nullptr});
    stackedLeaves.push_back(moveAxis(stacked, 0, yAxes[j], span));
  }
  for (const ClosedScope::Var &v : closed->vars)
    if (v.written && v.sliced)
      writeVar(v.index, Value::tensorOf(scan.getResult(r++), Origin{span, "", nullptr}), span);

  std::vector<Value> outs;
  size_t carryPos = 0, yPos = 0, shape = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (static_cast<int>(i) == outCarry) {
      outs.push_back(rebuildLeaves(call.args[carryIndex], finalLeaves, carryPos));
      continue;
    }
    outs.push_back(rebuildLeaves(yShapes[shape++].first, stackedLeaves, yPos));
  }
  return outAxes.kind == Value::Kind::Tuple ? Value::tuple(std::move(outs)) : outs[0];
}

} // namespace nnx::lang
