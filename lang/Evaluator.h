//===- Evaluator.h - Compile-time evaluation: instantiation and tracing ---===//
//
// The heart of the front end. nnx has no separate type checker: every hyper-parameter is a
// compile-time constant and every input shape is known when a method is compiled, so the
// Evaluator runs the code itself, at compile time, the way JAX traces a Python function:
//
//  - Instantiation runs a module body with static values only and records submodules and
//    variables (Instance.h). `Model(784, 256, 10)` yields the state tree.
//  - Tracing runs a method body with tensors that are SSA values of a func.func under
//    construction: every tensor operation checks shapes and dtypes (reporting diagnostics
//    with spans), inserts explicit broadcasts and emits one nnx op with a source location.
//    Calls to submodules and functions are inlined; `if` takes static conditions; state
//    variables read become function arguments and state written becomes extra results
//    (ir/Signature.h).
//
// Errors are reported to the Program's DiagnosticEngine; an erroneous expression evaluates
// to Value::error(), which later operations pass through silently (one fault, one error).
// Errors inside the stdlib are reported at the user's call site with a note naming the
// stdlib line, so messages point at code the user wrote.
//
// The implementation is split by concept: Evaluator.cpp (frames, statements, state
// variables), EvalCalls.cpp (names, members, calls), EvalOperators.cpp (unary/binary operators
// and indexing), EvalTensorOps.cpp (emitting nnx ops with shape checks), EvalBuiltins.cpp and
// EvalShapeBuiltins.cpp (built-in functions), Instantiate.cpp (module bodies and variable
// declarations), EvalTypes.cpp (type annotations and dimension variables), EvalState.cpp
// (state trees, grad), EvalLoops.cpp (static `for` loops, lists and comprehensions),
// EvalScope.cpp (tracing the body of a scan or vmap), EvalScan.cpp (`scan`) and EvalVmap.cpp
// (`vmap`: stacked modules and the batching transform).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Batching.h"
#include "lang/Instance.h"
#include "lang/Program.h"
#include "lang/Value.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nnx::lang {

/// Compile-time settings of one trace.
/// One call of a module's method during a trace (`nnxrun params --summary`, like
/// nnx.tabulate).
struct ModuleCall {
  /// The instance's path ("block.linear"; "" for the model).
  std::string path;
  /// The module ("Linear") and the method ("__call__").
  std::string module, method;
  /// Calls of modules enclosing this one.
  unsigned depth = 0;
  /// The arguments' and the result's types ("f32[1, 784]", a tuple as "(f32[2], f32[2])").
  std::vector<std::string> inputs;
  std::string output;
  /// Floating-point operations of the ops the call traced, its submodules' included: 2·M·N·K
  /// per matrix product, one per element of an elementwise op's result or a reduction's
  /// operand, five per element of a softmax. A scan's body counts once (one step).
  int64_t flops = 0;
};

/// Told what each expression and variable declaration of a trace evaluated to: the language
/// server records the concrete types the file's tests give, for shapes on hover.
class TraceObserver {
public:
  virtual ~TraceObserver() = default;
  /// `expr` evaluated to `value` (every evaluation, so an expression in a loop or a method
  /// called twice is reported each time).
  virtual void expression(const Expr &expr, const Value &value) = 0;
  /// A variable of `decl` was declared with `dtype` and `shape` (stacked axes included).
  virtual void variable(const VarDeclStmt &decl, rt::DType dtype, const rt::Shape &shape) = 0;
};

struct TraceOptions {
  /// `training` in the language: train mode (dropout active) vs eval mode.
  bool training = false;
  /// When set, every module method call of the trace is appended here.
  std::vector<ModuleCall> *callLog = nullptr;
  /// Variable kinds whose `sow(Kind, "name", x)` values a traced method returns after its
  /// outputs (`nnxrun run --capture intermediates`); the func's `nnx.captured` attribute
  /// names them by path. Empty: sow stores nothing.
  std::vector<std::string> captureKinds;
  /// When set, told every expression's value and every variable declared.
  TraceObserver *observer = nullptr;
};

/// One input of an entry point, given on the command line.
struct EntryInput {
  std::string name;
  /// A tensor input has a type; otherwise `staticValue` is passed (e.g. `--input batch=3`).
  mlir::RankedTensorType type;
  Value staticValue;
  /// How the user gave it ("zeros(1,784)", "x.npy"), for messages.
  std::string description;
};

/// A runtime `assert` of a test block: output `outputIndex` must be all true.
struct TracedAssert {
  size_t outputIndex = 0;
  Span span;
  std::string message;
};

/// The outcome of tracing a test block.
struct TestTrace {
  mlir::func::FuncOp func;
  std::vector<TracedAssert> asserts;
  /// Static asserts that failed while tracing (the test fails without running).
  std::vector<std::pair<Span, std::string>> staticFailures;
};

/// Kinds of elementwise binary operations.
enum class BinOp {
  Add, Sub, Mul, Div, FloorDiv, Mod, Pow, Max, Min, And, Or, Eq, Ne, Lt, Le, Gt, Ge
};
/// Kinds of elementwise unary operations.
enum class UnOp {
  Neg, Not, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Relu, Gelu, Abs, Sin, Cos, Erf, Floor
};
/// Kinds of reductions.
enum class RedOp { Sum, Mean, Max, Min };

/// Evaluates .nnx code at compile time (see the file comment).
class Evaluator {
public:
  Evaluator(Program &program, mlir::ModuleOp module, StateSpace &space, TraceOptions options);

  /// Evaluates the --model expression (a module constructor call) and instantiates the root
  /// module at `path` ("" for the model itself), with `locals` visible to the expression (the
  /// CLI passes the model to an optimizer this way). Returns null after reporting an error.
  ModuleInstance *instantiateRoot(const Expr &expr, const std::string &path = "",
                                  const std::vector<std::pair<std::string, Value>> &locals = {});

  /// Traces `method` of `self` (null for a top-level function) for `inputs` into a new
  /// func.func called `name`; `bound` passes static arguments (modules) by parameter name.
  /// Returns null after reporting errors.
  mlir::func::FuncOp traceMethod(ModuleInstance *self, const FnDecl &method,
                                 const std::vector<EntryInput> &inputs, const std::string &name,
                                 const std::vector<std::pair<std::string, Value>> &bound = {});

  /// Traces a test block into a new func.func called `name` (no arguments but state).
  std::optional<TestTrace> traceTest(const TestDecl &test, const std::string &name);

  /// Checks a method call is possible: the method named `name` of `self`, or an error.
  const FnDecl *findMethod(ModuleInstance *self, const std::string &name, Span useSpan);

private:
  //===--- Frames and statements (Evaluator.cpp) ---------------------------===//
  struct Frame {
    std::map<std::string, Value> locals;
    ModuleInstance *self = nullptr;
    const FnDecl *fn = nullptr;
    Span callSite;
    /// True while running a module body (instantiation), where tensors do not exist.
    bool moduleBody = false;
    bool returned = false;
    Value returnValue;
  };

  ModuleInstance *instantiateRootInFrame(const Expr &expr, const std::string &path);
  void beginFunction(const std::string &name, mlir::Location loc);
  mlir::func::FuncOp finishFunction(const std::vector<Value> &outputs, Span span);
  void execBlock(const Block &block);
  void execStmt(const Stmt &stmt);
  void execAssign(const AssignStmt &stmt);
  void execAugAssign(const AugAssignStmt &stmt);
  void execIf(const IfStmt &stmt);
  void execAssert(const AssertStmt &stmt);
  /// A `fn` statement inside a function: a local closure.
  void execNestedFn(const FnDecl &fn);
  void assignTo(const Expr &target, Value value, Span span);

  /// The value of `expr`, told to options_.observer when there is one.
  Value eval(const Expr &expr);
  Value evalUnobserved(const Expr &expr);
  Value evalName(const NameExpr &expr);
  Value evalMember(const MemberExpr &expr);
  Value memberOf(const Value &base, const std::string &name, Span nameSpan, Span whole);
  Value evalCall(const CallExpr &expr);
  Value callValue(const Value &callee, std::vector<Value> args,
                  std::vector<std::pair<std::string, Value>> kwargs,
                  const std::vector<Span> &argSpans, Span span);
  /// A value's type for the call log: "f32[1, 784]", "(f32[2], 3)", "Linear".
  static std::string typeText(const Value &v);
  Value callFunction(const FnDecl &fn, ModuleInstance *self, std::vector<Value> args,
                     std::vector<std::pair<std::string, Value>> kwargs,
                     const std::vector<Span> &argSpans, Span span,
                     const Closure *closure = nullptr);
  /// int(x), float(x), str(x) of a static value.
  Value pythonConversion(const std::string &name, const std::vector<Value> &args,
                         const std::vector<std::pair<std::string, Value>> &kwargs,
                         const std::vector<Span> &argSpans, Span span);
  bool bindParams(const std::vector<Param> &params, const std::string &what,
                  std::vector<Value> &args, std::vector<std::pair<std::string, Value>> &kwargs,
                  const std::vector<Span> &argSpans, Span span,
                  std::vector<std::pair<std::string, std::optional<Value>>> &bound);
  Value lookupGlobal(const std::string &name, Span span, bool report);
  std::vector<std::string> visibleNames() const;

  //===--- State variables ---------------------------------------------------===//
  Value readVar(size_t varIndex, Span use);
  void writeVar(size_t varIndex, Value value, Span span);

  //===--- State trees and differentiation (EvalState.cpp) -------------------===//
  Value stateTree(const ModuleInstance *inst, const std::vector<std::string> &kinds);
  Value materialize(const Value &v, Span span);
  Value treeBinary(BinOp op, const Value &a, const Value &b, Span opSpan, Span span);
  Value treeMap(const Value &tree, const std::function<Value(const Value &)> &fn, Span span);
  bool isVariableTree(const Value &v) const;
  void writeTree(const Value &target, const Value &value, Span span);
  Value variablesLike(const Value &tree, const std::string &kind, Span span);
  /// nnx.split(model, filters...): (model, one tree per filter), each a snapshot of the
  /// variables' values; `...` takes every kind the filters before it did not.
  Value splitState(const std::vector<Value> &args, Span span);
  /// nnx.merge(graphdef, trees...), nnx.update(model, trees...): write the trees' leaves to
  /// the model's variables of the same paths; merge returns the model. merge_state(trees...)
  /// joins trees (later leaves win).
  Value mergeState(BuiltinId id, const std::vector<Value> &args, Span span);
  Value differentiate(const Value &transform, std::vector<Value> args,
                      std::vector<std::pair<std::string, Value>> kwargs,
                      const std::vector<Span> &argSpans, Span span);
  Value evalTransform(const TransformExpr &expr);
  /// Flattens a returned value (tensors, tuples, trees) into labelled outputs.
  void flattenOutputs(const Value &v, const std::string &label,
                      std::vector<std::pair<std::string, Value>> &out, Span span);

  //===--- Static loops and lists (EvalLoops.cpp) ---------------------------===//
  void execFor(const ForStmt &stmt);
  Value evalListComp(const ListCompExpr &expr);
  Value evalSequence(const SequenceExpr &expr);
  /// The elements a `for` goes through: a list or tuple (its elements) or, for error
  /// messages, nothing after reporting E0248.
  std::optional<std::vector<Value>> iterate(const Value &v, Span span);
  /// Binds a loop's target (a name or nested tuple of names) to one element, unpacking it.
  bool bindLoopTarget(const Expr &target, const Value &item, Span span,
                      std::map<std::string, Value> &locals);
  /// Evaluates `expr`, an element of a sequence being assigned to `path`, with the element's
  /// path `path.index` for a module it creates.
  Value evalElement(const Expr &expr, const std::optional<std::string> &path, size_t index);

  //===--- Traced bodies of scan and vmap (EvalScope.cpp) --------------------===//
  /// A body being traced: its ops go into a detached block, and every state variable it
  /// touches is seen through a block argument (sliced when the variable belongs to a module
  /// the transform maps over its layers).
  struct TraceScope {
    std::unique_ptr<mlir::Block> block = std::make_unique<mlir::Block>();
    /// Where the builder was when the scope opened.
    mlir::OpBuilder::InsertPoint outer;
    /// Stacked modules whose variables the body sees one slice of.
    std::vector<const ModuleInstance *> sliced;
    struct Var {
      size_t index = 0;
      mlir::BlockArgument arg;
      mlir::Value current;
      bool written = false;
      bool sliced = false;
    };
    /// The variables the body read or wrote, in order of first use.
    std::vector<Var> vars;
  };
  /// A closed scope: each variable with its value outside, and the outside values the body
  /// used directly (captured), each with the block argument that replaced it.
  struct ClosedScope {
    struct Var {
      size_t index = 0;
      mlir::BlockArgument arg;
      mlir::Value outer;
      mlir::Value current;
      bool written = false;
      bool sliced = false;
    };
    std::vector<Var> vars;
    std::vector<std::pair<mlir::Value, mlir::BlockArgument>> captures;
  };
  /// Opens a scope whose ops go to its block; `sliced` lists the modules mapped over.
  void openScope(TraceScope &scope);
  /// Closes the innermost scope (the builder returns to where it was when it opened) and
  /// reads each variable's outside value. With `captureArgs`, outside values used in the body
  /// become new block arguments (a scan's constants). Null after reporting an error.
  std::optional<ClosedScope> closeScope(TraceScope &scope, bool captureArgs, Span span);
  /// True when scope `s` slices variable `index` (its owner is within a sliced module).
  bool scopeSlices(const TraceScope &s, size_t index) const;
  /// The type of variable `index` as seen inside the first `depth` scopes.
  mlir::RankedTensorType scopedVarType(size_t index, size_t depth) const;
  /// How many of `inst`'s stacked dimensions the open scopes slice.
  size_t consumedStack(const ModuleInstance *inst) const;
  Value readScopedVar(size_t index, Span use);
  void writeScopedVar(size_t index, Value value, Span span);
  /// The tensors of a value made of tensors, numbers and tuples/lists (numbers become f32 or
  /// i32 scalars); false after reporting E0220 for anything else.
  bool flattenLeaves(const Value &v, std::vector<Value> &leaves, Span span,
                     const std::string &what);
  /// `like`'s structure rebuilt from `leaves` (consumed from `pos`).
  Value rebuildLeaves(const Value &like, const std::vector<Value> &leaves, size_t &pos);

  //===--- scan (EvalScan.cpp) -----------------------------------------------===//
  /// One application of scan, in nnx.scan's terms.
  struct ScanCall {
    Value f;
    std::vector<Value> args;
    std::vector<Span> argSpans;
    /// Per argument: Carry, None or an int axis.
    std::vector<Value> inAxes;
    /// Carry, an int, or a tuple of those; unused when `inferOutAxes` (the short form).
    Value outAxes;
    bool inferOutAxes = false;
    /// The short form's axis, for its stacked outputs.
    int64_t shortAxis = 0;
    std::optional<int64_t> length;
    bool reverse = false;
    Span span, inAxesSpan, outAxesSpan;
  };
  struct ScanPlan;
  struct ScanStep;
  /// Traces `call`'s function for one step and emits the nnx.scan: planScan (what each
  /// argument is, the number of steps), the trace, readScanStep (the result through
  /// out_axes, checkNewCarry), emitScan (the op, its results, the written state).
  Value scanCall(ScanCall &call);
  bool planScan(const ScanCall &call, ScanPlan &plan);
  bool readScanStep(const ScanCall &call, const ScanPlan &plan, const Value &result,
                    ScanStep &step);
  bool checkNewCarry(const ScanCall &call, const ScanPlan &plan, const Value &newCarry,
                     ScanStep &step);
  Value emitScan(const ScanCall &call, const ScanPlan &plan, const ScanStep &step,
                 TraceScope &scope, const std::vector<Value> &carryArgs,
                 const std::vector<Value> &sliceArgs);
  /// `scan(f, in_axes=..., out_axes=..., length=..., reverse=...)`: a transformed function;
  /// `scan(f, init, xs..., axis=..., reverse=...)`: the short form, applied at once.
  Value evalScan(const TransformExpr &expr);
  Value callScan(const Value &transform, std::vector<Value> args,
                 std::vector<std::pair<std::string, Value>> kwargs,
                 const std::vector<Span> &argSpans, Span span);
  /// Parses in_axes/out_axes/length/reverse (or vmap's in_axes/out_axes/axis_size).
  std::optional<TransformSpec> transformSpec(const TransformExpr &expr, const std::string &name,
                                             std::vector<Value> &positional,
                                             std::vector<Span> &positionalSpans);

  //===--- vmap (EvalVmap.cpp) -----------------------------------------------===//
  /// `vmap(n) Module(...)`: the module's variables stacked n deep.
  Value evalStackedModule(const VmapExpr &expr);
  Value evalVmap(const TransformExpr &expr);
  /// Traces f for one element and batches its ops: planVmap (the mapped arguments and the
  /// batch size), the trace, ir::batchOps, finishVmap (outputs by out_axes, written state).
  Value callVmap(const Value &transform, std::vector<Value> args,
                 std::vector<std::pair<std::string, Value>> kwargs,
                 const std::vector<Span> &argSpans, Span span);
  struct VmapPlan;
  bool planVmap(const TransformSpec &spec, const std::vector<Value> &args,
                const std::vector<Span> &argSpans, Span span, VmapPlan &plan);
  Value finishVmap(const TransformSpec &spec, const VmapPlan &plan, const Value &result,
                   const std::vector<Value> &resultLeaves, const ClosedScope &closed,
                   const llvm::DenseMap<mlir::Value, ir::BatchedValue> &map, Span span);

  //===--- Instantiation (Instantiate.cpp) -----------------------------------===//
  ModuleInstance *instantiate(const ModuleDecl &decl, std::vector<Value> args,
                              std::vector<std::pair<std::string, Value>> kwargs,
                              const std::vector<Span> &argSpans, Span span,
                              ModuleInstance *parent, const std::string &path);
  void execModuleBody(const Block &body, ModuleInstance *inst);
  void declareVariable(const VarDeclStmt &decl, ModuleInstance *inst);
  void bindMember(ModuleInstance *inst, const std::string &name, Value value, Span span);
  /// Makes the modules created as a constructor argument (at `path`, or its elements' paths)
  /// submodules of `inst`.
  void adoptArgumentModules(ModuleInstance *inst, const Value &value, const std::string &path);
  Value makeVariableFromKind(const Value &kind, std::vector<Value> args, Span span);
  Value registerRngs(const std::string &stream, Span span);
  bool isVariableKind(const std::string &name) const;
  /// `shape` behind the extents of the stacks being instantiated (stack_).
  rt::Shape stacked(const rt::Shape &shape) const;

  //===--- Type annotations (EvalTypes.cpp) ----------------------------------===//
  bool checkAnnotation(const TypeExpr &type, Value &value, const std::string &what,
                       Span valueSpan);
  bool matchTensorType(const TypeExpr &type, const Value &value, const std::string &what,
                       Span valueSpan);
  std::optional<rt::DType> dtypeFromName(const std::string &name) const;

  //===--- Operators (EvalOperators.cpp) -------------------------------------===//
  Value evalUnary(const UnaryExpr &expr);
  Value evalBinary(const BinaryExpr &expr);
  Value staticBinary(BinOp op, const Value &a, const Value &b, Span span);
  /// Python's int operators on static i64 values (and bools), exact: comparisons, `+ - *`,
  /// floored `//` and `%`, `**` by squaring. Overflow is E0235 with both operands, division
  /// by zero E0230.
  Value staticIntBinary(BinOp op, const Value &a, const Value &b, Span span);
  Value evalIndex(const IndexExpr &expr);
  Value indexTensor(const Value &tensor, const IndexExpr &expr);

  //===--- Tensor ops with checks (EvalTensorOps.cpp) ------------------------===//
public:
  /// The MLIR location of a span.
  mlir::Location loc(Span span);
  mlir::MLIRContext *context() { return module_.getContext(); }

private:
  bool requireTracing(Span span, const std::string &what);
  mlir::RankedTensorType typeOf(const Value &tensor) const;
  /// `a op b` with the language's rules: dtypes checked and promoted, numpy broadcasting,
  /// static operands folded, state trees leaf by leaf, numpy's integer `/`, `//` and `%`.
  Value binary(BinOp op, const Value &a, const Value &b, Span opSpan, Span span);
  /// The nnx op of `op` on operands of dtype `dt`, broadcast (Mod is nnx.rem, Div on integers
  /// nnx.div: both truncate).
  Value binaryOp(BinOp op, const Value &a, const Value &b, rt::DType dt, Span opSpan,
                 Span span);
  /// Python's floored `//` and `%` (jnp.floor_divide, jnp.remainder) on tensors of dtype `dt`.
  Value floorDivMod(BinOp op, const Value &a, const Value &b, rt::DType dt, Span opSpan,
                    Span span);
  Value unary(UnOp op, const Value &x, Span span);
  Value matmul(const Value &a, const Value &b, Span opSpan, Span span);
  Value reduce(RedOp op, const Value &x, std::optional<std::vector<int64_t>> axes, bool keepDims,
               Span span);
  Value convert(const Value &x, rt::DType dtype, Span span);
  Value toTensor(const Value &x, rt::DType dtype, Span span);
  /// jnp.array of nested static lists (E0231 when ragged or not numbers): f32 with a float,
  /// bool when all bools, else i32, unless `dtype` is given.
  Value arrayFromList(const Value &list, std::optional<rt::DType> dtype, Span span);
  Value splat(double value, mlir::RankedTensorType type, Span span);
  Value broadcastTo(const Value &x, llvm::ArrayRef<int64_t> shape, Span span);
  Value reshape(const Value &x, llvm::ArrayRef<int64_t> shape, Span span);
  Value transpose(const Value &x, llvm::ArrayRef<int64_t> perm, Span span);
  Value concat(const std::vector<Value> &xs, int64_t axis, Span span);
  /// x with the order of elements reversed along `axes` (any order, repeats ignored).
  Value reverse(const Value &x, std::vector<int64_t> axes, Span span);
  /// x with axis `from` moved to position `to` (x itself when they are equal).
  Value moveAxis(const Value &x, int64_t from, int64_t to, Span span);
  /// x as one dimension.
  Value flatten(const Value &x, Span span);
  /// nnx.gather of x along `axis` at integer `indices` (clamped); the first `batchDims` dims
  /// of x and the indices are shared (tf.gather's batch_dims).
  Value gather(const Value &x, const Value &indices, int64_t axis, Span span,
               int64_t batchDims = 0);
  /// The running sum of x along `axis` (one nnx.scan).
  Value cumsum(const Value &x, int64_t axis, Span span);
  Value slice(const Value &x, llvm::ArrayRef<int64_t> start, llvm::ArrayRef<int64_t> limit,
              llvm::ArrayRef<int64_t> stride, Span span);
  Value softmax(const Value &x, int64_t axis, bool log, Span span);
  Value select(const Value &cond, const Value &a, const Value &b, Span span);
  Value iota(rt::DType dtype, llvm::ArrayRef<int64_t> shape, int64_t dim, Span span);
  Value randomDraw(const Value &rngs, bool normal, llvm::ArrayRef<int64_t> shape, Span span);
  std::optional<rt::DType> commonDType(const Value &a, const Value &b, Span opSpan);
  std::optional<rt::DType> resultDType(const Value &a, const Value &b, BinOp op, Span opSpan);
  std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank, Span span);

  //===--- Built-in functions (EvalBuiltins.cpp, EvalShapeBuiltins.cpp) ------===//
  Value callBuiltin(BuiltinId id, std::vector<Value> &args,
                    std::vector<std::pair<std::string, Value>> &kwargs,
                    const std::vector<Span> &argSpans, Span span);
  Value builtinInitializer(BuiltinId id, std::vector<Value> &args,
                           std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinCreation(BuiltinId id, std::vector<Value> &args,
                        std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinShapeOp(BuiltinId id, std::vector<Value> &args,
                       std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinReshape(std::vector<Value> &args,
                       std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinTranspose(std::vector<Value> &args,
                         std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinConcat(std::vector<Value> &args,
                      std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinReduce(BuiltinId id, std::vector<Value> &args,
                      std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinTreeLike(BuiltinId id, std::vector<Value> &args,
                        std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinOneHot(std::vector<Value> &args,
                      std::vector<std::pair<std::string, Value>> &kwargs, rt::DType dtype,
                      Span span);
  Value builtinMath(BuiltinId id, std::vector<Value> &args,
                    std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinRandom(BuiltinId id, std::vector<Value> &args,
                      std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  /// numpy's array functions (EvalArrayBuiltins.cpp): square, clip, var, std, logsumexp,
  /// argmax, argmin, cumsum; then stack, expand_dims, squeeze, split, take,
  /// take_along_axis, pad.
  Value builtinArray(BuiltinId id, std::vector<Value> &args,
                     std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinArrayShape(BuiltinId id, std::vector<Value> &args,
                          std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value argExtremum(bool isMax, std::vector<Value> &args,
                    std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinSplit(std::vector<Value> &args,
                     std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinTake(BuiltinId id, std::vector<Value> &args,
                    std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  Value builtinPad(std::vector<Value> &args,
                   std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  /// Integer indices into an axis of `extent` from a tensor, an int or a list of ints, with
  /// negative ones counted from the end; E0231 for other values, E0222 for known indices out
  /// of -extent..extent-1.
  Value indicesTensor(const Value &v, int64_t extent, Span span);
  /// jax.lax.conv_general_dilated with Flax's layout, as nnx.pad and one nnx.conv
  /// (EvalConv.cpp): input [N, spatial..., C], kernel [spatial..., C / groups, F] ->
  /// [N, out..., F]. E0232 for ranks that do not fit or a window larger than the padded input,
  /// E0203 for channels that do not match or non-float operands.
  Value builtinConv(std::vector<Value> &args,
                    std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  /// max_pool, min_pool, avg_pool (flax.linen.pooling) (EvalConv.cpp).
  Value builtinPool(BuiltinId id, std::vector<Value> &args,
                    std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  /// `n` ints from an int (repeated) or a list of n positive ints; `fallback` when absent/None.
  std::optional<std::vector<int64_t>> windowInts(const std::optional<Value> &v, size_t n,
                                                 int64_t fallback, const std::string &what,
                                                 Span span);
  /// (low, high) per spatial axis for padding "SAME" / "VALID" (lax.padtype_to_pads) / an int
  /// / pairs, given the (dilated) extents, window sizes and strides.
  std::optional<std::vector<std::pair<int64_t, int64_t>>>
  windowPadding(const Value &padding, const std::vector<int64_t> &extents,
                const std::vector<int64_t> &window, const std::vector<int64_t> &strides,
                Span span);
  /// x padded with `value` (nnx.pad, then a select for a non-zero value).
  Value padWith(const Value &x, llvm::ArrayRef<int64_t> low, llvm::ArrayRef<int64_t> high,
                llvm::ArrayRef<int64_t> interior, double value, Span span);
  /// einsum with one or two operands as transposes, reshapes and one nnx.matmul
  /// (EvalEinsum.cpp).
  Value builtinEinsum(std::vector<Value> &args, Span span);
  /// range, enumerate, zip (EvalLoops.cpp).
  Value builtinSequence(BuiltinId id, std::vector<Value> &args,
                        std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  /// A shape given by the user (`zeros(shape)`, `normal(shape, rngs)`): a static list of
  /// ints, each extent >= 0 (E0227). nullopt after reporting. Sizes (overflow, the memory
  /// budget) are SizeGuard's, on the tensor type the op then creates.
  std::optional<std::vector<int64_t>> staticShape(const Value &v, const std::string &what,
                                                  Span span);
  std::optional<std::vector<int64_t>> staticInts(const Value &v, const std::string &what,
                                                 Span span);
  std::optional<int64_t> staticInt(const Value &v, const std::string &what, Span span);
  std::optional<double> staticNumber(const Value &v, const std::string &what, Span span);

  //===--- Diagnostics ---------------------------------------------------------===//
public:
  /// Reports an error at `span`, moved to the user's call site when `span` is in the stdlib.
  Diagnostic &error(const std::string &code, Span span, const std::string &message);

private:
  /// Adds notes saying where a tensor came from.
  void noteOrigin(Diagnostic &diag, const Value &value, const std::string &name);

  Program &program_;
  mlir::ModuleOp module_;
  StateSpace &space_;
  TraceOptions options_;
  /// Checks every tensor type the trace creates against the memory budget (and for negative
  /// extents no formation site caught): one E0236/E0227 per trace, at `currentSpan_`.
  struct SizeGuard : mlir::OpBuilder::Listener {
    explicit SizeGuard(Evaluator &evaluator) : evaluator(evaluator) {}
    void notifyOperationInserted(mlir::Operation *op, mlir::OpBuilder::InsertPoint) override;
    Evaluator &evaluator;
    bool reported = false;
  };
  SizeGuard sizeGuard_{*this};
  /// Indices into options_.callLog of the module calls in progress (their FLOPs grow).
  std::vector<size_t> activeCalls_;
  /// The innermost expression being evaluated (where a too-large tensor is reported).
  Span currentSpan_;
  mlir::OpBuilder builder_;

  /// The function being traced (null while instantiating a model outside a trace).
  mlir::func::FuncOp func_;
  /// Current SSA value of every state variable touched by the trace.
  struct StateBinding {
    mlir::Value current;
    unsigned argIndex = 0;
    bool written = false;
  };
  std::map<size_t, StateBinding> state_;
  /// Block arguments that are inputs, with their names (attributes set when finishing).
  std::vector<std::pair<unsigned, std::string>> inputArgs_;
  /// Call frames; a deque so references to a frame survive calls that push more.
  std::deque<Frame> frames_;
  /// Runtime asserts of a test trace: (bool tensor, span, message).
  std::vector<std::tuple<mlir::Value, Span, std::string>> dynamicAsserts_;
  std::vector<std::pair<Span, std::string>> staticFailures_;
  bool inTest_ = false;
  /// Values sown into captured kinds while tracing the entry function: (path, tensor).
  std::vector<std::pair<std::string, Value>> captured_;
  /// `sow(Kind, "name", value)` (Module.sow): records value at `<module path>.name.<i>`.
  Value builtinSow(std::vector<Value> &args, Span span);
  /// tree_map(f, tree, *rest): the tree of f(leaf, rest leaves with the same path...), like
  /// jax.tree.map. E0231 when `f` is not callable or an argument is not a tree; E0233 when the
  /// trees have different variables.
  /// global_norm(tree or tensor): sqrt(sum over leaves of sum(leaf ** 2)), an f32 scalar, like
  /// optax.global_norm. E0231 for anything but a tree or a float tensor.
  Value builtinTreeMap(std::vector<Value> &args, std::vector<std::pair<std::string, Value>> &kwargs,
                       const std::vector<Span> &argSpans, Span span);
  Value builtinGlobalNorm(std::vector<Value> &args,
                          std::vector<std::pair<std::string, Value>> &kwargs, Span span);
  /// Modules created in a test without a name (`LayerNorm(4)(x)`): paths `_LayerNorm0`, ...
  int temporaryModules_ = 0;
  /// Open scan/vmap bodies, innermost last.
  std::vector<TraceScope *> scopes_;
  /// The extents of the `vmap(n)` stacks being instantiated, outermost first.
  std::vector<int64_t> stack_;
  /// Path for the module or variable the expression being evaluated will be assigned to
  /// (`block = Block(...)` in a module body sets "block"); consumed by the first constructor.
  std::optional<std::string> pendingPath_;
};

} // namespace nnx::lang
