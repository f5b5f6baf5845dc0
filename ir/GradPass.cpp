//===- GradPass.cpp - The nnx-grad pass -----------------------------------===//
//
// For every func.func marked `nnx.differentiate` whose first result is a float scalar, adds
// `<name>_grad`: the same arguments, the body recomputed, and the results (value, d value /
// d arg for each float argument, in argument order). The backward ops come from
// buildGradients seeded with 1, so the gradient function is plain nnx IR that both executors
// run. The original function is left as it is.
//
//===----------------------------------------------------------------------===//
#include "ir/Autodiff.h"
#include "ir/NNXDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Pass/Pass.h"

using namespace mlir;

namespace nnx::ir {
namespace {

/// The unit attribute that asks for a gradient function.
constexpr const char *kDifferentiateAttr = "nnx.differentiate";

/// True for a ranked tensor of f32 or f64.
bool isFloatTensor(Type type) {
  auto tensor = llvm::dyn_cast<RankedTensorType>(type);
  return tensor && llvm::isa<FloatType>(tensor.getElementType());
}

/// Checks that `func` can be differentiated: one block, a float scalar first result.
LogicalResult checkDifferentiable(func::FuncOp func) {
  if (func.isExternal() || !func.getBody().hasOneBlock())
    return func.emitError("nnx.differentiate needs a function body of one block");
  ArrayRef<Type> results = func.getFunctionType().getResults();
  if (results.empty() || !isFloatTensor(results.front()) ||
      llvm::cast<RankedTensorType>(results.front()).getRank() != 0)
    return func.emitError("nnx.differentiate needs a float scalar (rank-0 tensor) first result");
  return success();
}

/// Builds `<name>_grad` for `func` right after it; fails with a diagnostic.
LogicalResult buildGradFunction(func::FuncOp func, SymbolTable &symbols) {
  if (failed(checkDifferentiable(func)))
    return failure();
  std::string name = (func.getSymName() + "_grad").str();
  if (symbols.lookup(name))
    return func.emitError("cannot add the gradient function: '") << name << "' exists";
  OpBuilder builder(func);
  builder.setInsertionPointAfter(func);
  SmallVector<Type> resultTypes{func.getFunctionType().getResult(0)};
  for (Type type : func.getArgumentTypes())
    if (isFloatTensor(type))
      resultTypes.push_back(type);
  auto grad = builder.create<func::FuncOp>(
      func.getLoc(), name, builder.getFunctionType(func.getArgumentTypes(), resultTypes));
  if (ArrayAttr argAttrs = func.getAllArgAttrs())
    grad.setAllArgAttrs(argAttrs);
  symbols.insert(grad);

  // Recompute the body, then differentiate it with respect to every float argument.
  Block *entry = grad.addEntryBlock();
  IRMapping mapping;
  mapping.map(func.getArguments(), entry->getArguments());
  builder.setInsertionPointToEnd(entry);
  SmallVector<Operation *> forward;
  for (Operation &op : func.getBody().front().without_terminator())
    forward.push_back(builder.clone(op, mapping));
  Value output = mapping.lookup(func.getBody().front().getTerminator()->getOperand(0));
  SmallVector<Value> wrt;
  for (BlockArgument arg : entry->getArguments())
    if (isFloatTensor(arg.getType()))
      wrt.push_back(arg);
  auto seedAttr = DenseElementsAttr::get(llvm::cast<RankedTensorType>(output.getType()),
                                         builder.getFloatAttr(getElementTypeOrSelf(output), 1.0));
  Value seed = builder.create<ConstantOp>(func.getLoc(), llvm::cast<ElementsAttr>(seedAttr));
  FailureOr<SmallVector<Value>> grads = buildGradients(builder, forward, output, seed, wrt);
  if (failed(grads)) {
    symbols.erase(grad);
    return failure();
  }
  SmallVector<Value> results{output};
  results.append(grads->begin(), grads->end());
  builder.create<func::ReturnOp>(func.getLoc(), results);
  return success();
}

/// The pass: one gradient function per marked function of the module.
struct GradPass : PassWrapper<GradPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(GradPass)

  StringRef getArgument() const override { return "nnx-grad"; }
  StringRef getDescription() const override {
    return "add <name>_grad (value and gradients) for each function marked nnx.differentiate";
  }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<NNXDialect, func::FuncDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<func::FuncOp> marked;
    for (auto func : module.getOps<func::FuncOp>())
      if (func->hasAttr(kDifferentiateAttr))
        marked.push_back(func);
    bool ok = true;
    for (func::FuncOp func : marked)
      ok &= succeeded(buildGradFunction(func, symbols));
    if (!ok)
      signalPassFailure();
  }
};

} // namespace

std::unique_ptr<Pass> createGradPass() { return std::make_unique<GradPass>(); }

} // namespace nnx::ir
