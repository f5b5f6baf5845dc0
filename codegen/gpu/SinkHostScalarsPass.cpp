//===- SinkHostScalarsPass.cpp - The nnx-gpu-sink-host-scalars pass -------===//
//
// After convert-parallel-loops-to-gpu, a launch can capture scalars the host computed from
// loads of buffers (a random op's key and counter, derived with Threefry): on a GPU those
// buffers are device memory the host cannot read. Where every such load reads an input of the
// function (never written by it) or a constant global, the value is the same wherever it is
// read, so the whole chain is computed again inside each launch that uses it. (Upstream's
// sinkOperationsIntoLaunchOp will not do it: it sinks nothing that would capture a value the
// launch does not capture already, such as the buffer of a load.)
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/RegionUtils.h"

#include <functional>

namespace nnx::codegen {

#define GEN_PASS_DECL_GPUSINKHOSTSCALARSPASS
#define GEN_PASS_DEF_GPUSINKHOSTSCALARSPASS
#include "codegen/gpu/Passes.h.inc"

namespace {

/// The buffer a memref value views: through subviews, reshapes and casts to its source.
mlir::Value rootOf(mlir::Value memref) {
  while (mlir::Operation *op = memref.getDefiningOp()) {
    if (auto view = llvm::dyn_cast<mlir::ViewLikeOpInterface>(op))
      memref = view.getViewSource();
    else if (auto cast = llvm::dyn_cast<mlir::memref::CastOp>(op))
      memref = cast.getSource();
    else
      break;
  }
  return memref;
}

/// The arguments of `function` some op writes (or may write: an op of unknown effects
/// touching a view of it), through views, launch bodies included.
llvm::DenseSet<mlir::Value> writtenArguments(mlir::func::FuncOp function) {
  llvm::DenseSet<mlir::Value> written;
  auto touch = [&](mlir::Value value) {
    if (llvm::isa<mlir::MemRefType>(value.getType()))
      if (auto argument = llvm::dyn_cast<mlir::BlockArgument>(rootOf(value)))
        written.insert(argument);
  };
  function.walk([&](mlir::Operation *op) {
    auto effects = llvm::dyn_cast<mlir::MemoryEffectOpInterface>(op);
    if (!effects) {
      if (!op->hasTrait<mlir::OpTrait::HasRecursiveMemoryEffects>())
        for (mlir::Value operand : op->getOperands())
          touch(operand);
      return;
    }
    llvm::SmallVector<mlir::MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const mlir::MemoryEffects::EffectInstance &effect : instances) {
      if (!llvm::isa<mlir::MemoryEffects::Write, mlir::MemoryEffects::Free>(effect.getEffect()))
        continue;
      if (mlir::Value value = effect.getValue())
        touch(value);
      else
        for (mlir::Value operand : op->getOperands())
          touch(operand);
    }
  });
  return written;
}

/// Computes the values `launch` captures again at the start of its body, from the chains of
/// `sinkable` ops that define them (operands of an op that is not sinkable stay captured).
void sinkChains(mlir::gpu::LaunchOp launch,
                const std::function<bool(mlir::Operation *)> &sinkable) {
  llvm::SetVector<mlir::Value> captured;
  mlir::getUsedValuesDefinedAbove(launch.getBody(), captured);
  // Definitions before uses: each op goes in after the ops defining its operands.
  llvm::SetVector<mlir::Operation *> chain;
  std::function<bool(mlir::Operation *)> collect = [&](mlir::Operation *op) {
    if (chain.contains(op))
      return true;
    if (!sinkable(op))
      return false;
    for (mlir::Value operand : op->getOperands())
      if (mlir::Operation *definition = operand.getDefiningOp())
        collect(definition);
    chain.insert(op);
    return true;
  };
  for (mlir::Value value : captured)
    if (mlir::Operation *definition = value.getDefiningOp())
      collect(definition);
  mlir::OpBuilder b = mlir::OpBuilder::atBlockBegin(&launch.getBody().front());
  mlir::IRMapping map;
  for (mlir::Operation *op : chain) {
    mlir::Operation *copy = b.clone(*op, map);
    for (auto [from, to] : llvm::zip(op->getResults(), copy->getResults()))
      from.replaceUsesWithIf(to, [&](mlir::OpOperand &use) {
        return launch->isProperAncestor(use.getOwner());
      });
  }
}

struct GpuSinkHostScalarsPass : impl::GpuSinkHostScalarsPassBase<GpuSinkHostScalarsPass> {
  void runOnOperation() override {
    mlir::SymbolTableCollection symbols;
    for (auto function : getOperation().getOps<mlir::func::FuncOp>()) {
      if (function.isExternal())
        continue;
      llvm::DenseSet<mlir::Value> written = writtenArguments(function);
      mlir::Block &entry = function.getBody().front();
      // A load is safe to move when its buffer holds the same value throughout the function.
      auto unchanging = [&](mlir::memref::LoadOp load) {
        mlir::Value root = rootOf(load.getMemRef());
        if (auto argument = llvm::dyn_cast<mlir::BlockArgument>(root))
          return argument.getOwner() == &entry && !written.contains(argument);
        if (auto global = root.getDefiningOp<mlir::memref::GetGlobalOp>()) {
          auto definition = symbols.lookupNearestSymbolFrom<mlir::memref::GlobalOp>(
              global, global.getNameAttr());
          return definition && definition.getConstant();
        }
        return false;
      };
      auto sinkable = [&](mlir::Operation *op) {
        if (op->getNumRegions() != 0)
          return false;
        if (auto load = llvm::dyn_cast<mlir::memref::LoadOp>(op))
          return unchanging(load);
        return mlir::isMemoryEffectFree(op);
      };
      llvm::SmallVector<mlir::gpu::LaunchOp> launches;
      function.walk([&](mlir::gpu::LaunchOp launch) { launches.push_back(launch); });
      for (mlir::gpu::LaunchOp launch : launches)
        sinkChains(launch, sinkable);
    }
  }
};

} // namespace
} // namespace nnx::codegen
