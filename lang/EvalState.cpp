//===- EvalState.cpp - State trees and differentiation --------------------===//
//
// A state tree is the language's nnx.State: leaves keyed by dotted paths relative to a
// module. `model.params` and `state(model, Param, BatchStat)` are trees of the variables
// themselves (assigning to them writes the variables); `grad(loss_fn)(model, x, y)` returns a
// tree of gradient tensors with the same keys. Arithmetic and elementwise built-ins apply
// leaf by leaf, so an optimizer update is written once for the whole model:
//
//   model.params -= learning_rate * grads
//
// `grad`/`value_and_grad` trace the function inline, then hand the ops it emitted to the
// IR autodiff transform (ir/Autodiff.h), which emits the backward ops right after them.
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/Autodiff.h"
#include "ir/NNXDialect.h"
#include "ir/Types.h"

#include "llvm/Support/Casting.h"

#include <algorithm>

using namespace mlir;

namespace nnx::lang {

Value Evaluator::stateTree(const ModuleInstance *inst, const std::vector<std::string> &kinds) {
  Value tree = Value::make(Value::Kind::Tree);
  std::string prefix = inst->path.empty() ? "" : inst->path + ".";
  for (size_t i = 0; i < space_.vars().size(); ++i) {
    const VarInfo &v = space_.var(i);
    if (!v.owner || v.owner->root != inst->root || v.spec.path.compare(0, prefix.size(), prefix))
      continue;
    if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), v.spec.kind) == kinds.end())
      continue;
    Value ref = Value::make(Value::Kind::VarRef);
    ref.i = static_cast<int64_t>(i);
    tree.keys.push_back(v.spec.path.substr(prefix.size()));
    tree.elems.push_back(ref);
  }
  return tree;
}

Value Evaluator::materialize(const Value &v, Span span) {
  if (v.kind == Value::Kind::VarRef)
    return readVar(static_cast<size_t>(v.i), span);
  if (!v.isTree())
    return v;
  Value out = v;
  for (Value &leaf : out.elems) {
    leaf = materialize(leaf, span);
    if (leaf.isError())
      return leaf;
  }
  return out;
}

Value Evaluator::treeBinary(BinOp op, const Value &a, const Value &b, Span opSpan, Span span) {
  const Value &tree = a.isTree() ? a : b;
  Value out = Value::make(Value::Kind::Tree);
  out.keys = tree.keys;
  for (size_t i = 0; i < tree.keys.size(); ++i) {
    Value left = a, right = b;
    if (a.isTree())
      left = materialize(a.elems[i], span);
    if (b.isTree()) {
      auto it = std::find(b.keys.begin(), b.keys.end(), tree.keys[i]);
      if (!a.isTree()) {
        right = materialize(b.elems[i], span);
      } else if (it == b.keys.end() || a.keys.size() != b.keys.size()) {
        std::string missing = it == b.keys.end() ? tree.keys[i] : "";
        for (const std::string &k : b.keys)
          if (missing.empty() && std::find(a.keys.begin(), a.keys.end(), k) == a.keys.end())
            missing = k;
        error("E0233", opSpan, "the state trees have different variables")
            .withLabel(std::to_string(a.keys.size()) + " vs " + std::to_string(b.keys.size()) +
                       " variables" + (missing.empty() ? "" : "; `" + missing + "` is in only one"));
        return Value::error();
      } else {
        right = materialize(b.elems[it - b.keys.begin()], span);
      }
    }
    Value leaf = binary(op, left, right, opSpan, span);
    if (leaf.isError())
      return leaf;
    out.elems.push_back(leaf);
  }
  return out;
}

Value Evaluator::treeMap(const Value &tree, const std::function<Value(const Value &)> &fn,
                         Span span) {
  Value out = Value::make(Value::Kind::Tree);
  out.keys = tree.keys;
  for (const Value &leaf : tree.elems) {
    Value mapped = fn(materialize(leaf, span));
    if (mapped.isError())
      return mapped;
    out.elems.push_back(mapped);
  }
  return out;
}

bool Evaluator::isVariableTree(const Value &v) const {
  return v.isTree() && std::all_of(v.elems.begin(), v.elems.end(), [](const Value &leaf) {
           return leaf.kind == Value::Kind::VarRef;
         });
}

void Evaluator::writeTree(const Value &target, const Value &value, Span span) {
  if (value.isError())
    return;
  for (size_t i = 0; i < target.keys.size(); ++i) {
    if (!value.isTree()) { // a tensor or number assigned to every leaf
      writeVar(static_cast<size_t>(target.elems[i].i), value, span);
      continue;
    }
    auto it = std::find(value.keys.begin(), value.keys.end(), target.keys[i]);
    if (it == value.keys.end() || value.keys.size() != target.keys.size()) {
      error("E0233", span, "the state trees have different variables")
          .withLabel("assigning " + std::to_string(value.keys.size()) + " values to " +
                     std::to_string(target.keys.size()) + " variables" +
                     (it == value.keys.end() ? "; `" + target.keys[i] + "` has no value" : ""));
      return;
    }
    writeVar(static_cast<size_t>(target.elems[i].i), value.elems[it - value.keys.begin()], span);
  }
}

Value Evaluator::variablesLike(const Value &tree, const std::string &kind, Span span) {
  bool inBody = !frames_.empty() && frames_.back().moduleBody;
  std::optional<std::string> base = std::exchange(pendingPath_, std::nullopt);
  if (!inBody || !base) {
    error("E0214", span, "variables are created in module bodies")
        .withLabel("write `name = zeros_like(model.params, kind=" + kind + ")` in a module body");
    return Value::error();
  }
  Value out = Value::make(Value::Kind::Tree);
  for (size_t i = 0; i < tree.elems.size(); ++i) {
    const Value &leaf = tree.elems[i];
    if (leaf.kind != Value::Kind::VarRef) {
      error("E0228", span, "`zeros_like(..., kind=...)` takes a tree of variables")
          .withLabel("e.g. zeros_like(model.params, kind=OptState)");
      return Value::error();
    }
    const VarInfo &like = space_.var(static_cast<size_t>(leaf.i));
    VarInfo info;
    info.spec.path = *base + "." + tree.keys[i];
    info.spec.kind = kind;
    info.spec.dtype = like.spec.dtype;
    info.spec.shape = stacked(like.spec.shape);
    info.spec.stack = stack_;
    info.declSpan = span;
    info.owner = frames_.back().self;
    Value ref = Value::make(Value::Kind::VarRef);
    ref.i = static_cast<int64_t>(space_.addVar(std::move(info)));
    out.keys.push_back(tree.keys[i]);
    out.elems.push_back(ref);
  }
  return out;
}

Value Evaluator::differentiate(const Value &transform, std::vector<Value> args,
                               std::vector<std::pair<std::string, Value>> kwargs,
                               const std::vector<Span> &argSpans, Span span) {
  if (!requireTracing(span, "`" + transform.s + "`"))
    return Value::error();
  if (args.empty() || args[0].kind != Value::Kind::Module) {
    error("E0234", args.empty() ? span : argSpans[0],
          "`" + transform.s + "(f)` differentiates with respect to a module's variables")
        .withLabel(args.empty() ? "no arguments given"
                                : "the first argument is " + describeValue(args[0]))
        .help("call it as " + transform.s + "(loss_fn)(model, x, y)");
    return Value::error();
  }
  // The variables to differentiate: Params by default, like nnx.grad.
  std::vector<std::string> kinds = transform.keys.empty() ? std::vector<std::string>{"Param"}
                                                          : transform.keys;
  Value wrtTree = stateTree(args[0].module, kinds);
  SmallVector<mlir::Value> wrt;
  Value wrtValues = materialize(wrtTree, span);
  if (wrtValues.isError())
    return wrtValues;
  for (const Value &leaf : wrtValues.elems)
    wrt.push_back(leaf.tensor);

  // Trace f inline and collect the ops it emitted.
  mlir::Block *block = builder_.getInsertionBlock();
  Operation *before = block->empty() ? nullptr : &block->back();
  Value loss = callValue(transform.elems[0], std::move(args), std::move(kwargs), argSpans, span);
  if (loss.isError())
    return loss;
  if (!loss.isTensor() || typeOf(loss).getRank() != 0 ||
      !isa<FloatType>(typeOf(loss).getElementType())) {
    error("E0234", span, "the function given to `" + transform.s + "` must return a float scalar")
        .withLabel("it returns " + describeValue(loss))
        .help("reduce the loss, e.g. mean(softmax_cross_entropy(logits, labels))");
    return Value::error();
  }
  SmallVector<Operation *> forward;
  for (Operation &op : before ? llvm::make_range(std::next(before->getIterator()), block->end())
                              : llvm::make_range(block->begin(), block->end()))
    forward.push_back(&op);
  Value seed = splat(1.0, typeOf(loss), span);
  FailureOr<SmallVector<mlir::Value>> grads =
      ir::buildGradients(builder_, forward, loss.tensor, seed.tensor, wrt);
  if (failed(grads))
    throw std::logic_error("autodiff failed on IR the front end emitted (stage: grad)");
  Value tree = Value::make(Value::Kind::Tree);
  tree.keys = wrtTree.keys;
  for (mlir::Value g : *grads)
    tree.elems.push_back(Value::tensorOf(g, Origin{span, "", nullptr}));
  if (transform.s == "grad")
    return tree;
  return Value::tuple({loss, tree});
}

} // namespace nnx::lang

namespace nnx::lang {

Value Evaluator::splitState(const std::vector<Value> &args, Span span) {
  ModuleInstance *model = args[0].module;
  Value all = stateTree(model, {});
  std::vector<bool> taken(all.keys.size(), false);
  std::vector<Value> out{args[0]};
  if (args.size() == 1) { // split(model): every variable in one tree
    out.push_back(materialize(all, span));
    return Value::tuple(std::move(out));
  }
  for (size_t f = 1; f < args.size(); ++f) {
    if (args[f].kind != Value::Kind::VariableKind) {
      error("E0231", span, "`split` filters are variable kinds or `...`")
          .withLabel("argument " + std::to_string(f + 1) + " is " + describeValue(args[f]))
          .help("e.g. split(model, Param, BatchStat, ...)");
      return Value::error();
    }
    Value tree = Value::make(Value::Kind::Tree);
    for (size_t i = 0; i < all.keys.size(); ++i) {
      const std::string &kind = space_.var(static_cast<size_t>(all.elems[i].i)).spec.kind;
      if (taken[i] || (args[f].s != "..." && kind != args[f].s))
        continue;
      taken[i] = true;
      tree.keys.push_back(all.keys[i]);
      tree.elems.push_back(all.elems[i]);
    }
    Value values = materialize(tree, span);
    if (values.isError())
      return values;
    out.push_back(values);
  }
  return Value::tuple(std::move(out));
}

Value Evaluator::mergeState(BuiltinId id, const std::vector<Value> &args, Span span) {
  bool join = id == BuiltinId::merge_state;
  const char *name = id == BuiltinId::merge ? "merge" : id == BuiltinId::update ? "update"
                                                                                : "merge_state";
  if (!join && (args.empty() || args[0].kind != Value::Kind::Module)) {
    error("E0231", span, "`" + std::string(name) + "` takes a module and state trees")
        .withLabel(args.empty() ? "no arguments given" : "the first is " + describeValue(args[0]))
        .help(std::string("e.g. ") + name + "(model, params, batch_stats)");
    return Value::error();
  }
  Value joined = Value::make(Value::Kind::Tree);
  for (size_t a = join ? 0 : 1; a < args.size(); ++a) {
    if (!args[a].isTree()) {
      error("E0231", span, "`" + std::string(name) + "` takes state trees")
          .withLabel("argument " + std::to_string(a + 1) + " is " + describeValue(args[a]));
      return Value::error();
    }
    for (size_t i = 0; i < args[a].keys.size(); ++i) {
      auto it = std::find(joined.keys.begin(), joined.keys.end(), args[a].keys[i]);
      Value leaf = materialize(args[a].elems[i], span);
      if (it == joined.keys.end()) {
        joined.keys.push_back(args[a].keys[i]);
        joined.elems.push_back(leaf);
      } else {
        joined.elems[it - joined.keys.begin()] = leaf;
      }
    }
  }
  if (join)
    return joined;
  Value target = stateTree(args[0].module, {});
  for (size_t i = 0; i < joined.keys.size(); ++i) {
    auto it = std::find(target.keys.begin(), target.keys.end(), joined.keys[i]);
    if (it == target.keys.end()) {
      error("E0233", span, "`" + joined.keys[i] + "` is not a variable of `" +
                               args[0].module->decl->name + "`")
          .withLabel("the state tree has a leaf the model does not");
      return Value::error();
    }
    writeVar(static_cast<size_t>(target.elems[it - target.keys.begin()].i), joined.elems[i],
             span);
  }
  return id == BuiltinId::merge ? args[0] : Value::none();
}

Value Evaluator::builtinSow(std::vector<Value> &args, Span span) {
  // Module.sow(nnx.Intermediate, "name", value): Flax appends value to a tuple variable `name`
  // of the module; here the value of each call is a path `<module>.name.<i>` the entry
  // function returns when its kind is captured (nnxrun run --capture), and nothing otherwise.
  if (args.size() != 3 || args[0].kind != Value::Kind::VariableKind ||
      args[1].kind != Value::Kind::Str) {
    error("E0231", span, "`sow` takes a variable kind, a name and a value")
        .withLabel("e.g. sow(Intermediate, \"hidden\", h)");
    return Value::error();
  }
  ModuleInstance *self = nullptr;
  for (auto it = frames_.rbegin(); it != frames_.rend() && !self; ++it)
    self = it->self;
  if (!self || frames_.back().moduleBody) {
    error("E0231", span, "`sow` is called in a method of a module")
        .withLabel("it stores the value under the module's path");
    return Value::error();
  }
  const std::vector<std::string> &kinds = options_.captureKinds;
  if (std::find(kinds.begin(), kinds.end(), args[0].s) == kinds.end())
    return Value::boolean(false);
  Value value = args[2];
  if (value.isStaticScalar())
    value = toTensor(value, value.kind == Value::Kind::Float ? rt::DType::F32
                            : value.kind == Value::Kind::Bool ? rt::DType::Bool
                                                              : rt::DType::I32,
                     span);
  if (!value.isTensor()) {
    error("E0231", span, "`sow` stores a tensor").withLabel("this is " + describeValue(value));
    return Value::error();
  }
  if (value.tensor.getParentRegion() != &func_.getBody()) {
    error("E0304", span, "`sow` inside a scan, vmap or grad is not supported yet")
        .withLabel("the value exists only inside the transformed function")
        .help("return it from the step, or sow it outside the transform");
    return Value::error();
  }
  std::string base = (self->path.empty() ? "" : self->path + ".") + args[1].s;
  size_t n = 0;
  for (const auto &[path, v] : captured_)
    n += path.rfind(base + ".", 0) == 0;
  captured_.push_back({base + "." + std::to_string(n), value});
  return Value::boolean(true);
}

Value Evaluator::builtinGlobalNorm(std::vector<Value> &args,
                                   std::vector<std::pair<std::string, Value>> &kwargs,
                                   Span span) {
  if (args.size() != 1 || !kwargs.empty() || !(args[0].isTree() || args[0].isTensor())) {
    error("E0231", span, "`global_norm` takes a state tree or a tensor")
        .withLabel(args.size() == 1 && kwargs.empty()
                       ? "this is " + describeValue(args[0])
                       : std::to_string(args.size() + kwargs.size()) + " arguments given")
        .help("e.g. global_norm(grads), as optax.global_norm");
    return Value::error();
  }
  Value tree = materialize(args[0], span);
  if (tree.isError())
    return tree;
  std::vector<Value> leaves = tree.isTree() ? tree.elems : std::vector<Value>{tree};
  Value total = Value::real(0.0);
  for (const Value &leaf : leaves) {
    Value squares = binary(BinOp::Mul, leaf, leaf, span, span);
    if (squares.isError())
      return squares;
    total = binary(BinOp::Add, total, reduce(RedOp::Sum, squares, std::nullopt, false, span),
                   span, span);
    if (total.isError())
      return total;
  }
  return unary(UnOp::Sqrt, total, span);
}

Value Evaluator::builtinTreeMap(std::vector<Value> &args,
                                std::vector<std::pair<std::string, Value>> &kwargs,
                                const std::vector<Span> &argSpans, Span span) {
  bool ok = args.size() >= 2 && kwargs.empty();
  for (size_t i = 1; ok && i < args.size(); ++i)
    ok = args[i].isTree();
  if (!ok) {
    error("E0231", span, "`tree_map` takes a function and one or more state trees")
        .withLabel(args.size() >= 2 ? "argument " + std::to_string(args.size()) + " is " +
                                          describeValue(args.back())
                                    : std::to_string(args.size()) + " arguments given")
        .help("e.g. tree_map(f, model.params), as jax.tree.map");
    return Value::error();
  }
  const Value &tree = args[1];
  Value out = Value::make(Value::Kind::Tree);
  out.keys = tree.keys;
  for (size_t i = 0; i < tree.keys.size(); ++i) {
    std::vector<Value> leaves = {materialize(tree.elems[i], span)};
    for (size_t t = 2; t < args.size(); ++t) {
      const Value &other = args[t];
      auto it = std::find(other.keys.begin(), other.keys.end(), tree.keys[i]);
      if (it == other.keys.end() || other.keys.size() != tree.keys.size()) {
        error("E0233", argSpans.size() > t ? argSpans[t] : span,
              "the state trees have different variables")
            .withLabel(std::to_string(tree.keys.size()) + " vs " +
                       std::to_string(other.keys.size()) + " variables" +
                       (it == other.keys.end() ? "; `" + tree.keys[i] + "` is in only one" : ""));
        return Value::error();
      }
      leaves.push_back(materialize(other.elems[size_t(it - other.keys.begin())], span));
    }
    std::vector<Span> spans(leaves.size(), span);
    Value mapped = callValue(args[0], leaves, {}, spans, span);
    if (mapped.isError())
      return mapped;
    out.elems.push_back(mapped);
  }
  return out;
}

} // namespace nnx::lang
