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

/// True when `a` and `b` have the same tuple/list/state-tree nesting (leaves of any kind
/// match; trees need the same paths).
bool sameStructure(const Value &a, const Value &b) {
  if (a.isSequence() != b.isSequence() || a.isTree() != b.isTree())
    return false;
  if (!a.isSequence() && !a.isTree())
    return true;
  if (a.elems.size() != b.elems.size() || a.keys != b.keys)
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

/// What a scan's arguments are (planScan).
struct Evaluator::ScanPlan {
  /// The carried argument, or -1.
  int carryIndex = -1;
  std::vector<Value> carryLeaves;
  /// Per argument: its scanned tensors and the axis each is scanned over (empty: not scanned).
  std::vector<std::vector<Value>> xsLeaves;
  std::vector<std::vector<int64_t>> xsAxes;
  /// Stacked modules scanned over their layers.
  std::vector<const ModuleInstance *> sliced;
  int64_t length = 0;
};

/// What one traced step returned, read through out_axes (readScanStep).
struct Evaluator::ScanStep {
  std::vector<Value> results;
  /// The element of `results` that is the new carry, or -1.
  int outCarry = -1;
  bool tuple = false;
  std::vector<Value> newCarryLeaves;
  /// The step's outputs, the axis each is stacked along, and the result elements they form.
  std::vector<Value> yLeaves;
  std::vector<int64_t> yAxes;
  std::vector<Value> yShapes;
};

bool Evaluator::planScan(const ScanCall &call, ScanPlan &plan) {
  switch (call.f.kind) {
  case Value::Kind::Module: case Value::Kind::Method: case Value::Kind::Function:
  case Value::Kind::Builtin: case Value::Kind::Transform: break;
  default: {
    Diagnostic &d = error("E0220", call.span, "`scan` runs a function or a module step by step")
                        .withLabel("it is given " + describeValue(call.f));
    if (call.f.isSequence() && !call.f.elems.empty() &&
        call.f.elems[0].kind == Value::Kind::Module)
      d.help("to scan over layers, create them stacked: `blocks = vmap(n) " +
             call.f.elems[0].module->decl->name + "(...)`, then scan(blocks, x)");
    return false;
  }
  }
  struct Length {
    int64_t extent;
    Span span;
    std::string what;
  };
  std::vector<Length> lengths;
  auto sliceModule = [&](ModuleInstance *m, Span at, const std::string &what) {
    plan.sliced.push_back(m);
    lengths.push_back({m->stack[consumedStack(m)], at, "the stacked layers of " + what});
  };
  // A stacked module (or its method) as the function scans over its layers.
  if ((call.f.kind == Value::Kind::Module || call.f.kind == Value::Kind::Method) &&
      call.f.module->stack.size() > consumedStack(call.f.module))
    sliceModule(call.f.module, call.span, "`" + call.f.module->decl->name + "`");
  plan.xsLeaves.resize(call.args.size());
  plan.xsAxes.resize(call.args.size());
  for (size_t i = 0; i < call.args.size(); ++i) {
    const Value &axis = call.inAxes[i], &arg = call.args[i];
    Span at = call.argSpans[i];
    std::string what = "`" +
                       shortText(program_.sources().text(at), "argument " + std::to_string(i + 1)) +
                       "`";
    if (axis.kind == Value::Kind::Carry) {
      if (plan.carryIndex >= 0) {
        error("E0241", call.inAxesSpan, "`in_axes` marks more than one argument as the carry")
            .withLabel("arguments " + std::to_string(plan.carryIndex + 1) + " and " +
                       std::to_string(i + 1) + " are both Carry")
            .help("carry several values as one tuple: (h, c)");
        return false;
      }
      plan.carryIndex = static_cast<int>(i);
      continue;
    }
    if (axis.kind == Value::Kind::None)
      continue;
    if (axis.kind != Value::Kind::Int) {
      error("E0240", call.inAxesSpan, "an `in_axes` entry is " + describeValue(axis))
          .withLabel("entries are Carry, None or an axis");
      return false;
    }
    if (arg.kind == Value::Kind::Module) {
      ModuleInstance *m = arg.module;
      if (m->stack.size() <= consumedStack(m)) {
        error("E0242", at, what + " is not stacked: there are no layers to scan over")
            .withLabel("its in_axes entry is " + std::to_string(axis.i))
            .help("give it to every step with None; stack layers with vmap(n) " +
                  m->decl->name + "(...)");
        return false;
      }
      if (axis.i != 0) {
        error("E0243", call.inAxesSpan, "a stacked module is scanned over axis 0, its layers")
            .withLabel("axis " + std::to_string(axis.i) + " given for " + what);
        return false;
      }
      sliceModule(m, at, what);
      continue;
    }
    if (!flattenLeaves(arg, plan.xsLeaves[i], at, "scanned arguments"))
      return false;
    for (const Value &leaf : plan.xsLeaves[i]) {
      int64_t rank = typeOf(leaf).getRank();
      int64_t k = axis.i < 0 ? axis.i + rank : axis.i;
      if (k < 0 || k >= rank) {
        error("E0243", at, "scan axis " + std::to_string(axis.i) + " is out of range for " +
                               what + " of rank " + std::to_string(rank))
            .withLabel("it has type " + ir::formatType(leaf.tensor.getType()))
            .note("the axis is given here", call.inAxesSpan);
        return false;
      }
      plan.xsAxes[i].push_back(k);
      lengths.push_back({typeOf(leaf).getDimSize(k), at, what});
    }
  }

  // The number of steps: every scanned input agrees, and so does length=.
  for (size_t i = 1; i < lengths.size(); ++i)
    if (lengths[i].extent != lengths[0].extent) {
      error("E0244", lengths[i].span, "scanned inputs have different lengths")
          .withLabel(lengths[i].what + " has " + std::to_string(lengths[i].extent) + " steps")
          .note(lengths[0].what + " has " + std::to_string(lengths[0].extent) + " steps",
                lengths[0].span);
      return false;
    }
  if (call.length && !lengths.empty() && lengths[0].extent != *call.length) {
    error("E0245", call.span, "`length=" + std::to_string(*call.length) +
                                  "` but the scanned inputs have " +
                                  std::to_string(lengths[0].extent) + " steps")
        .note(lengths[0].what + " is scanned here", lengths[0].span);
    return false;
  }
  if (!call.length && lengths.empty()) {
    Diagnostic &d = error("E0245", call.span, "`scan` has nothing to scan over");
    if (call.inferOutAxes)
      d.withLabel("no input follows the carry, and the function is not a stacked module")
          .help("pass the sequence, scan(f, init, xs, axis=k); or give the number of steps "
                "with length=");
    else
      d.withLabel("no argument has an axis in in_axes")
          .help("give an input's axis, scan a stacked module, or set length=");
    return false;
  }
  plan.length = call.length ? *call.length : lengths[0].extent;
  return plan.carryIndex < 0 || flattenLeaves(call.args[plan.carryIndex], plan.carryLeaves,
                                              call.argSpans[plan.carryIndex], "the carry");
}

bool Evaluator::readScanStep(const ScanCall &call, const ScanPlan &plan, const Value &result,
                             ScanStep &step) {
  // out_axes; the short form infers them: a pair shaped (carry, y), else the carry alone.
  Value outAxes = call.outAxes;
  if (call.inferOutAxes)
    outAxes = plan.carryIndex >= 0 && result.kind == Value::Kind::Tuple &&
                      result.elems.size() == 2 &&
                      sameStructure(result.elems[0], call.args[plan.carryIndex])
                  ? Value::tuple({Value::make(Value::Kind::Carry), Value::integer(call.shortAxis)})
                  : Value::make(Value::Kind::Carry);
  step.tuple = outAxes.kind == Value::Kind::Tuple;
  std::vector<Value> entries = step.tuple ? outAxes.elems : std::vector<Value>{outAxes};
  step.results = !step.tuple                            ? std::vector<Value>{result}
                 : result.kind == Value::Kind::Tuple ? result.elems
                                                     : std::vector<Value>{};
  if (step.results.size() != entries.size()) {
    error("E0240", call.outAxesSpan, "the scanned function returns " + describeValue(result) +
                                         " but `out_axes` has " +
                                         std::to_string(entries.size()) + " entries")
        .withLabel("one entry per element of the result: Carry or an axis");
    return false;
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].kind == Value::Kind::Carry) {
      if (step.outCarry >= 0) {
        error("E0241", call.outAxesSpan, "`out_axes` marks more than one output as the carry")
            .withLabel("one Carry");
        return false;
      }
      step.outCarry = static_cast<int>(i);
    } else if (entries[i].kind != Value::Kind::Int) {
      error("E0240", call.outAxesSpan, "an `out_axes` entry is " + describeValue(entries[i]))
          .withLabel("entries are Carry or the axis to stack an output along");
      return false;
    }
  }
  if ((step.outCarry >= 0) != (plan.carryIndex >= 0)) {
    error("E0241", step.outCarry >= 0 ? call.outAxesSpan : call.inAxesSpan,
          step.outCarry >= 0 ? "`out_axes` has a Carry but `in_axes` has none"
                             : "`in_axes` has a Carry but `out_axes` has none")
        .withLabel("the carry goes in and comes out: mark it in both");
    return false;
  }
  if (step.outCarry >= 0 && !checkNewCarry(call, plan, step.results[step.outCarry], step))
    return false;
  for (size_t i = 0; i < step.results.size(); ++i) {
    if (static_cast<int>(i) == step.outCarry)
      continue;
    size_t before = step.yLeaves.size();
    if (!flattenLeaves(step.results[i], step.yLeaves, call.span,
                       "the outputs of a scanned function"))
      return false;
    for (size_t j = before; j < step.yLeaves.size(); ++j) {
      int64_t rank = typeOf(step.yLeaves[j]).getRank() + 1, k = entries[i].i;
      int64_t kk = k < 0 ? k + rank : k;
      if (kk < 0 || kk >= rank) {
        error("E0243", call.outAxesSpan, "out axis " + std::to_string(k) + " is out of range")
            .withLabel("the stacked output has rank " + std::to_string(rank) + ", type " +
                       ir::formatType(
                           ir::prependDim(step.yLeaves[j].tensor.getType(), plan.length)));
        return false;
      }
      step.yAxes.push_back(kk);
    }
    step.yShapes.push_back(step.results[i]);
  }
  return true;
}

bool Evaluator::checkNewCarry(const ScanCall &call, const ScanPlan &plan, const Value &newCarry,
                              ScanStep &step) {
  const Value &oldCarry = call.args[plan.carryIndex];
  Span initSpan = call.argSpans[plan.carryIndex];
  if (!sameStructure(newCarry, oldCarry)) {
    error("E0246", call.span, "the carry changes structure in one step")
        .withLabel("it starts as " + describeValue(oldCarry) + " and the step returns " +
                   describeValue(newCarry))
        .note("the initial carry is given here", initSpan);
    return false;
  }
  if (!flattenLeaves(newCarry, step.newCarryLeaves, call.span, "the carry"))
    return false;
  for (size_t j = 0; j < plan.carryLeaves.size(); ++j) {
    auto before = typeOf(plan.carryLeaves[j]), after = typeOf(step.newCarryLeaves[j]);
    if (before == after)
      continue;
    // A number the step returns (`return 0.0`) takes the scalar carry's dtype.
    if (before.getRank() == 0 && after.getRank() == 0 &&
        step.newCarryLeaves[j].tensor.getDefiningOp<ir::ConstantOp>() &&
        isa<FloatType>(before.getElementType()) == isa<FloatType>(after.getElementType())) {
      step.newCarryLeaves[j] =
          convert(step.newCarryLeaves[j], *ir::dtypeOf(before.getElementType()), call.span);
      continue;
    }
    Diagnostic &d = error("E0246", call.span, "the carry changes type in one step");
    d.withLabel("from " + ir::formatType(before) + " to " + ir::formatType(after) +
                (plan.carryLeaves.size() > 1 ? " (element " + std::to_string(j + 1) + ")" : ""));
    d.note("the initial carry is given here", initSpan);
    noteOrigin(d, step.newCarryLeaves[j], "the new carry");
    d.help("a carry keeps its shape and dtype from step to step");
    return false;
  }
  return true;
}

Value Evaluator::scanCall(ScanCall &call) {
  if (!requireTracing(call.span, "`scan`"))
    return Value::error();
  ScanPlan plan;
  if (!planScan(call, plan))
    return Value::error();

  // Trace one step into a scope: the carries, then the slices, are its first arguments.
  TraceScope scope;
  scope.sliced = plan.sliced;
  openScope(scope);
  mlir::Block *block = scope.block.get();
  std::vector<Value> carryArgs, sliceArgs;
  for (const Value &leaf : plan.carryLeaves)
    carryArgs.push_back(Value::tensorOf(
        block->addArgument(leaf.tensor.getType(), loc(call.span)), leaf.origin));
  std::vector<Value> stepArgs = call.args;
  for (size_t i = 0; i < call.args.size(); ++i) {
    size_t pos = 0;
    if (static_cast<int>(i) == plan.carryIndex) {
      stepArgs[i] = rebuildLeaves(call.args[i], carryArgs, pos);
      continue;
    }
    if (plan.xsLeaves[i].empty())
      continue;
    std::vector<Value> slices;
    for (size_t j = 0; j < plan.xsLeaves[i].size(); ++j) {
      auto type = typeOf(plan.xsLeaves[i][j]);
      SmallVector<int64_t> shape(type.getShape());
      shape.erase(shape.begin() + plan.xsAxes[i][j]);
      BlockArgument arg = block->addArgument(RankedTensorType::get(shape, type.getElementType()),
                                             loc(call.argSpans[i]));
      std::string text = shortText(program_.sources().text(call.argSpans[i]), "the input");
      slices.push_back(Value::tensorOf(
          arg, Origin{call.argSpans[i],
                      "one step of `" + text + "` (axis " + std::to_string(plan.xsAxes[i][j]) +
                          ") has type " + ir::formatType(arg.getType()),
                      nullptr}));
    }
    sliceArgs.insert(sliceArgs.end(), slices.begin(), slices.end());
    stepArgs[i] = rebuildLeaves(call.args[i], slices, pos);
  }
  unsigned errorsBefore = program_.diags().errorCount();
  Value result = callValue(call.f, stepArgs, {}, call.argSpans, call.span);
  ScanStep step;
  if (result.isError() || program_.diags().errorCount() > errorsBefore ||
      !readScanStep(call, plan, result, step)) {
    scopes_.pop_back();
    builder_.restoreInsertionPoint(scope.outer);
    block->dropAllDefinedValueUses();
    block->dropAllReferences();
    return Value::error();
  }
  return emitScan(call, plan, step, scope, carryArgs, sliceArgs);
}

Value Evaluator::emitScan(const ScanCall &call, const ScanPlan &plan, const ScanStep &step,
                          TraceScope &scope, const std::vector<Value> &carryArgs,
                          const std::vector<Value> &sliceArgs) {
  // The body's terminator, then close the scope (captured tensors become constants).
  mlir::Block *block = scope.block.get();
  std::vector<mlir::Value> yielded;
  for (const Value &v : step.newCarryLeaves)
    yielded.push_back(v.tensor);
  for (const TraceScope::Var &v : scope.vars)
    if (v.written && !v.sliced)
      yielded.push_back(v.current);
  for (const Value &v : step.yLeaves)
    yielded.push_back(v.tensor);
  for (const TraceScope::Var &v : scope.vars)
    if (v.written && v.sliced)
      yielded.push_back(v.current);
  builder_.create<ir::YieldOp>(loc(call.span), yielded);
  std::optional<ClosedScope> closed = closeScope(scope, /*captureArgs=*/true, call.span);
  if (!closed) {
    block->dropAllDefinedValueUses();
    block->dropAllReferences();
    return Value::error();
  }

  // Operands and block arguments in the op's order: carries (the user's, then written
  // state), scanned operands (the user's, moved to axis 0, then sliced state), constants
  // (state read only, then captured tensors).
  SmallVector<mlir::Value> init, xs, consts;
  SmallVector<BlockArgument> order;
  for (size_t j = 0; j < plan.carryLeaves.size(); ++j) {
    init.push_back(plan.carryLeaves[j].tensor);
    order.push_back(llvm::cast<BlockArgument>(carryArgs[j].tensor));
  }
  for (const ClosedScope::Var &v : closed->vars)
    if (v.written && !v.sliced) {
      init.push_back(v.outer);
      order.push_back(v.arg);
    }
  size_t slice = 0;
  for (size_t i = 0; i < call.args.size(); ++i)
    for (size_t j = 0; j < plan.xsLeaves[i].size(); ++j) {
      xs.push_back(moveAxis(plan.xsLeaves[i][j], plan.xsAxes[i][j], 0, call.argSpans[i]).tensor);
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
  auto scan = ir::createScan(builder_, loc(call.span), init, xs, consts, stepTypes, plan.length,
                             call.reverse);
  mlir::Block &body = scan.getBodyBlock();
  for (auto [from, to] : llvm::zip(order, body.getArguments()))
    from.replaceAllUsesWith(to);
  body.getOperations().splice(body.end(), block->getOperations());

  // Results: the carry, written state, stacked outputs (moved to their axes), sliced state.
  Origin origin{call.span, "", nullptr};
  size_t r = 0;
  std::vector<Value> finalLeaves, stackedLeaves;
  for (const Value &leaf : plan.carryLeaves)
    finalLeaves.push_back(Value::tensorOf(scan.getResult(r++), leaf.origin));
  for (const ClosedScope::Var &v : closed->vars)
    if (v.written && !v.sliced)
      writeVar(v.index, Value::tensorOf(scan.getResult(r++), origin), call.span);
  for (size_t j = 0; j < step.yLeaves.size(); ++j)
    stackedLeaves.push_back(
        moveAxis(Value::tensorOf(scan.getResult(r++), origin), 0, step.yAxes[j], call.span));
  for (const ClosedScope::Var &v : closed->vars)
    if (v.written && v.sliced)
      writeVar(v.index, Value::tensorOf(scan.getResult(r++), origin), call.span);

  std::vector<Value> outs;
  size_t carryPos = 0, yPos = 0, shape = 0;
  for (size_t i = 0; i < step.results.size(); ++i)
    outs.push_back(static_cast<int>(i) == step.outCarry
                       ? rebuildLeaves(call.args[plan.carryIndex], finalLeaves, carryPos)
                       : rebuildLeaves(step.yShapes[shape++], stackedLeaves, yPos));
  return step.tuple ? Value::tuple(std::move(outs)) : outs[0];
}

} // namespace nnx::lang
