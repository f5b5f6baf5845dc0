//===- EvalVmap.cpp - `vmap`: stacked modules and the batching transform --===//
//
// vmap has two uses, as in the seed guide's scan-over-layers:
//
//   blocks = vmap(num_layers) Block(features, features)   # in a module body
//
// creates a Block whose every variable has a leading axis of num_layers (`blocks.linear.kernel`
// is f32[5, 64, 64], Flax's path and shape), each slice initialised as its own layer would be:
// its own rng key and the slice's fans (rt::initializeState). The layers run with scan, or
// with vmap over axis 0.
//
//   ys = vmap(f, in_axes=(0, None), out_axes=0)(xs, model)
//
// is jax.vmap: f is traced once for one element into a scope (EvalScope.cpp), then
// ir::batchOps rewrites those ops into ops on the whole batch (ir/Batching.h) in the
// enclosing function. in_axes gives per argument the axis to map over (a module: 0, over its
// stacked layers) or None to give it whole to every element; out_axes where the batch goes in
// each output. Written state of a mapped module comes back stacked; state of a shared module
// may be written only with a value that is the same for every element.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/Batching.h"
#include "ir/NNXDialect.h"
#include "ir/Types.h"

#include "llvm/Support/Casting.h"

using namespace mlir;

namespace nnx::lang {

Value Evaluator::evalStackedModule(const VmapExpr &expr) {
  const auto *call = llvm::dyn_cast<CallExpr>(expr.target.get());
  if (expr.args.size() != 1 || !expr.args[0].name.empty()) {
    error("E0202", expr.span, "`vmap(n) Module(...)` takes the number of layers")
        .withLabel(std::to_string(expr.args.size()) + " arguments given")
        .help("e.g. blocks = vmap(5) Block(64, 64)");
    return Value::error();
  }
  if (!pendingPath_) {
    error("E0219", expr.span, "stacked modules are created as members or in a test")
        .withLabel("declare it in the module body: `blocks = vmap(n) Block(...)`");
    return Value::error();
  }
  std::optional<std::string> path = std::exchange(pendingPath_, std::nullopt);
  Value n = eval(*expr.args[0].value);
  if (n.isError())
    return n;
  if (n.kind != Value::Kind::Int || n.i < 1) {
    error("E0231", expr.args[0].value->span, "the number of stacked layers must be a positive "
                                             "int known at compile time")
        .withLabel("this is " + describeValue(n));
    return Value::error();
  }
  Value callee = call ? eval(*call->callee) : Value::none();
  if (callee.isError())
    return callee;
  if (!call || callee.kind != Value::Kind::ModuleType) {
    error("E0231", expr.target->span, "`vmap(n)` stacks a module created here")
        .withLabel(call ? "this calls " + describeValue(callee) : "this is not a constructor call")
        .help("write blocks = vmap(" + std::to_string(n.i) + ") Block(...)");
    return Value::error();
  }
  stack_.push_back(n.i);
  pendingPath_ = path;
  Value module = eval(*expr.target);
  pendingPath_.reset();
  stack_.pop_back();
  return module;
}

Value Evaluator::evalVmap(const TransformExpr &expr) {
  std::vector<Value> positional;
  std::vector<Span> spans;
  std::optional<TransformSpec> spec = transformSpec(expr, "vmap", positional, spans);
  if (!spec)
    return Value::error();
  if (positional.size() != 1) {
    Diagnostic &d = error("E0202", expr.span, "`vmap(f, in_axes=..., out_axes=...)` takes "
                                              "one function");
    d.withLabel(std::to_string(positional.size()) + " positional arguments given");
    if (!positional.empty() && positional[0].kind == Value::Kind::Int)
      d.help("to stack modules, write `blocks = vmap(" + std::to_string(positional[0].i) +
             ") Block(...)` in a module body");
    else
      d.help("apply the mapped function to the inputs: vmap(f, in_axes=0)(xs)");
    return Value::error();
  }
  if (positional[0].kind == Value::Kind::Int) {
    error("E0231", spans[0], "`vmap(" + std::to_string(positional[0].i) +
                                 ")` stacks the module written after it")
        .withLabel("no module follows")
        .help("write `blocks = vmap(" + std::to_string(positional[0].i) +
              ") Block(...)` in a module body");
    return Value::error();
  }
  Value t = Value::make(Value::Kind::Transform);
  t.s = "vmap";
  t.elems = {positional[0]};
  t.transform = std::make_shared<const TransformSpec>(std::move(*spec));
  return t;
}

/// What a vmap's arguments are (planVmap).
struct Evaluator::VmapPlan {
  /// Per argument: its mapped tensors (moved so the mapped axis is 0; empty: not mapped).
  std::vector<std::vector<Value>> leaves;
  /// Stacked modules mapped over their layers.
  std::vector<const ModuleInstance *> sliced;
  int64_t batch = 0;
};

bool Evaluator::planVmap(const TransformSpec &spec, const std::vector<Value> &args,
                         const std::vector<Span> &argSpans, Span span, VmapPlan &plan) {
  Span inSpan = spec.inAxesGiven ? spec.inAxesSpan : span;
  std::vector<Value> inAxes =
      !spec.inAxesGiven ? std::vector<Value>(args.size(), Value::integer(0))
      : spec.inAxesForAll ? std::vector<Value>(args.size(), spec.inAxes[0])
                          : spec.inAxes;
  if (inAxes.size() != args.size()) {
    error("E0240", inSpan, "`in_axes` has " + std::to_string(inAxes.size()) + " entries for " +
                               std::to_string(args.size()) + " arguments")
        .withLabel("one entry per argument: None or an axis")
        .note("called with " + std::to_string(args.size()) + " arguments here", span);
    return false;
  }
  struct Size {
    int64_t extent;
    Span span;
    std::string what;
  };
  std::vector<Size> sizes;
  plan.leaves.resize(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    const Value &axis = inAxes[i];
    Span at = i < argSpans.size() ? argSpans[i] : span;
    std::string what = "argument " + std::to_string(i + 1);
    if (axis.kind == Value::Kind::None)
      continue;
    if (axis.kind != Value::Kind::Int) {
      error("E0240", inSpan, "a vmap `in_axes` entry is " + describeValue(axis))
          .withLabel("entries are None or an axis");
      return false;
    }
    if (args[i].kind == Value::Kind::Module) {
      ModuleInstance *m = args[i].module;
      bool stacked = m->stack.size() > consumedStack(m);
      if (!stacked || axis.i != 0) {
        error("E0242", at, !stacked ? "`" + m->decl->name + "` is not stacked: there are no "
                                                            "layers to map over"
                                    : "a stacked module is mapped over axis 0, its layers")
            .withLabel("its in_axes entry is " + std::to_string(axis.i))
            .help("give it whole to every element with None");
        return false;
      }
      plan.sliced.push_back(m);
      sizes.push_back({m->stack[consumedStack(m)], at, "the stacked layers of " + what});
      continue;
    }
    std::vector<Value> leaves;
    if (!flattenLeaves(args[i], leaves, at, "mapped arguments"))
      return false;
    for (const Value &leaf : leaves) {
      int64_t rank = typeOf(leaf).getRank();
      int64_t k = axis.i < 0 ? axis.i + rank : axis.i;
      if (k < 0 || k >= rank) {
        error("E0243", at, "vmap axis " + std::to_string(axis.i) + " is out of range for " +
                               what + " of rank " + std::to_string(rank))
            .withLabel("it has type " + ir::formatType(leaf.tensor.getType()))
            .note("the axis is given here", inSpan);
        return false;
      }
      sizes.push_back({typeOf(leaf).getDimSize(k), at, what});
      plan.leaves[i].push_back(moveAxis(leaf, k, 0, span));
    }
  }
  for (size_t i = 1; i < sizes.size(); ++i)
    if (sizes[i].extent != sizes[0].extent) {
      error("E0244", sizes[i].span, "mapped inputs have different sizes")
          .withLabel(sizes[i].what + " has " + std::to_string(sizes[i].extent) +
                     " elements along its axis")
          .note(sizes[0].what + " has " + std::to_string(sizes[0].extent), sizes[0].span);
      return false;
    }
  if (sizes.empty() && !spec.length) {
    error("E0245", span, "`vmap` has nothing to map over")
        .withLabel("no argument has an axis in in_axes")
        .help("give an input's axis, or the batch size with axis_size=");
    return false;
  }
  plan.batch = sizes.empty() ? *spec.length : sizes[0].extent;
  if (spec.length && *spec.length != plan.batch) {
    error("E0245", span, "`axis_size=" + std::to_string(*spec.length) +
                             "` but the mapped inputs have " + std::to_string(plan.batch))
        .note(sizes[0].what + " is mapped here", sizes[0].span);
    return false;
  }
  return true;
}

Value Evaluator::callVmap(const Value &transform, std::vector<Value> args,
                          std::vector<std::pair<std::string, Value>> kwargs,
                          const std::vector<Span> &argSpans, Span span) {
  const TransformSpec &spec = *transform.transform;
  if (!requireTracing(span, "`vmap`"))
    return Value::error();
  if (!kwargs.empty()) {
    error("E0209", span, "a mapped function takes its arguments by position")
        .withLabel("`" + kwargs[0].first + "=` given by name");
    return Value::error();
  }
  VmapPlan plan;
  if (!planVmap(spec, args, argSpans, span, plan))
    return Value::error();

  // Trace one element: each mapped tensor is a block argument of one element's type.
  ir::BatchMap map;
  std::vector<Value> elementArgs = args;
  TraceScope scope;
  scope.sliced = plan.sliced;
  openScope(scope);
  mlir::Block *block = scope.block.get();
  for (size_t i = 0; i < args.size(); ++i) {
    if (plan.leaves[i].empty())
      continue;
    std::vector<Value> elements;
    for (const Value &leaf : plan.leaves[i]) {
      BlockArgument arg = block->addArgument(ir::dropLeadingDim(leaf.tensor.getType()),
                                             loc(span));
      map[arg] = {leaf.tensor, true};
      Span at = i < argSpans.size() ? argSpans[i] : span;
      std::string text(program_.sources().text(at));
      if (text.empty() || text.size() > 30 || text.find('\n') != std::string::npos)
        text = "argument " + std::to_string(i + 1);
      elements.push_back(Value::tensorOf(
          arg, Origin{at, "one element of `" + text + "` has type " + ir::formatType(arg.getType()),
                      nullptr}));
    }
    size_t pos = 0;
    elementArgs[i] = rebuildLeaves(args[i], elements, pos);
  }
  unsigned errorsBefore = program_.diags().errorCount();
  Value result = callValue(transform.elems[0], elementArgs, {}, argSpans, span);
  std::vector<Value> resultLeaves;
  bool ok = !result.isError() && program_.diags().errorCount() == errorsBefore &&
            flattenLeaves(result, resultLeaves, span, "the outputs of a mapped function");
  std::optional<ClosedScope> closed;
  if (ok) {
    closed = closeScope(scope, /*captureArgs=*/false, span);
  } else {
    scopes_.pop_back();
    builder_.restoreInsertionPoint(scope.outer);
  }
  Value out = Value::error();
  if (closed) {
    // Batch the element's ops into the enclosing function, then read the outputs.
    for (const ClosedScope::Var &v : closed->vars)
      map[v.arg] = {v.outer, v.sliced};
    SmallVector<Operation *> ops;
    for (Operation &op : *block)
      ops.push_back(&op);
    if (failed(ir::batchOps(builder_, ops, plan.batch, map)))
      throw std::logic_error("vmap: the batching transform failed on IR the front end emitted");
    out = finishVmap(spec, plan, result, resultLeaves, *closed, map, span);
  }
  block->dropAllDefinedValueUses();
  block->dropAllReferences();
  return out;
}

Value Evaluator::finishVmap(const TransformSpec &spec, const VmapPlan &plan, const Value &result,
                            const std::vector<Value> &resultLeaves, const ClosedScope &closed,
                            const ir::BatchMap &map, Span span) {
  auto lookup = [&](mlir::Value v) {
    auto it = map.find(v);
    return it == map.end() ? ir::BatchedValue{v, false} : it->second;
  };
  auto whole = [&](ir::BatchedValue bv) {
    return bv.batched ? bv.value : ir::broadcastToBatch(builder_, loc(span), bv.value, plan.batch);
  };
  // out_axes: one for every output, or one per element of the result.
  Value outAxes = spec.outAxesGiven ? spec.outAxes : Value::integer(0);
  std::vector<Value> perLeaf;
  if (outAxes.kind == Value::Kind::Tuple) {
    if (result.kind != Value::Kind::Tuple || result.elems.size() != outAxes.elems.size()) {
      error("E0240", spec.outAxesSpan, "the mapped function returns " + describeValue(result) +
                                           " but `out_axes` has " +
                                           std::to_string(outAxes.elems.size()) + " entries")
          .withLabel("one entry per element of the result");
      return Value::error();
    }
    for (size_t i = 0; i < result.elems.size(); ++i) {
      std::vector<Value> sub;
      flattenLeaves(result.elems[i], sub, span, "outputs");
      perLeaf.insert(perLeaf.end(), sub.size(), outAxes.elems[i]);
    }
  } else {
    perLeaf.assign(resultLeaves.size(), outAxes);
  }
  std::vector<Value> outLeaves;
  for (size_t j = 0; j < resultLeaves.size(); ++j) {
    ir::BatchedValue bv = lookup(resultLeaves[j].tensor);
    const Value &axis = perLeaf[j];
    if (axis.kind == Value::Kind::None) {
      if (bv.batched) {
        error("E0247", spec.outAxesSpan, "an output with `out_axes` None differs per element")
            .withLabel("it depends on the mapped inputs; give the axis to stack it along");
        return Value::error();
      }
      outLeaves.push_back(Value::tensorOf(bv.value, resultLeaves[j].origin));
      continue;
    }
    if (axis.kind != Value::Kind::Int) {
      error("E0240", spec.outAxesSpan, "an `out_axes` entry is " + describeValue(axis))
          .withLabel("entries are None or an axis");
      return Value::error();
    }
    mlir::Value full = whole(bv);
    int64_t rank = llvm::cast<RankedTensorType>(full.getType()).getRank();
    int64_t k = axis.i < 0 ? axis.i + rank : axis.i;
    if (k < 0 || k >= rank) {
      error("E0243", spec.outAxesSpan, "out axis " + std::to_string(axis.i) +
                                           " is out of range for an output of rank " +
                                           std::to_string(rank))
          .withLabel("the batched output has type " + ir::formatType(full.getType()));
      return Value::error();
    }
    outLeaves.push_back(moveAxis(Value::tensorOf(full, resultLeaves[j].origin), 0, k, span));
  }
  // Written state: a mapped module's comes back stacked; a shared module's must not differ.
  for (const ClosedScope::Var &v : closed.vars) {
    if (!v.written)
      continue;
    ir::BatchedValue bv = lookup(v.current);
    if (!v.sliced && bv.batched) {
      const VarInfo &info = space_.var(v.index);
      error("E0247", span, "`vmap` writes variable `" + info.spec.path +
                               "` with a different value per element")
          .withLabel("its module is not mapped over (given with in_axes None, or used from "
                     "outside the function)")
          .note("declared here", info.declSpan)
          .help("map the module over stacked layers with in_axes 0, or do not update it "
                "inside vmap");
      return Value::error();
    }
    writeVar(v.index, Value::tensorOf(v.sliced ? whole(bv) : bv.value, Origin{span, "", nullptr}),
             span);
  }
  size_t pos = 0;
  return rebuildLeaves(result, outLeaves, pos);
}

} // namespace nnx::lang
