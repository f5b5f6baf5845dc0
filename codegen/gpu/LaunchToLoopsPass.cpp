//===- LaunchToLoopsPass.cpp - The nnx-gpu-launch-to-loops pass -----------===//
//
// A gpu.launch whose threads never talk to each other computes the same thing when its
// threads run one after another. This pass replaces each launch by loops over the grid and
// the block around its body, so that the mapped IR (tiles, index expressions, bound guards,
// everything the kernel will run) executes on the CPU and can be compared with the
// interpreter where there is no GPU. Launches it cannot emulate faithfully (barriers, shared
// memory, clusters, async tokens) are errors, not silently wrong results.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_GPULAUNCHTOLOOPSPASS
#define GEN_PASS_DEF_GPULAUNCHTOLOOPSPASS
#include "codegen/gpu/Passes.h.inc"

namespace {

/// Why `launch` cannot run as sequential loops, or an empty string when it can.
std::string unsupportedReason(mlir::gpu::LaunchOp launch) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty())
    return "asynchronous launches";
  if (launch.getClusterSizeX())
    return "thread block clusters";
  if (launch.getDynamicSharedMemorySize() || !launch.getWorkgroupAttributions().empty() ||
      !launch.getPrivateAttributions().empty())
    return "memory attributions";
  if (!launch.getBody().hasOneBlock())
    return "bodies of several blocks";
  mlir::WalkResult barrier = launch.getBody().walk([](mlir::gpu::BarrierOp) {
    return mlir::WalkResult::interrupt();
  });
  if (barrier.wasInterrupted())
    return "barriers";
  // The ids and sizes must come from the body's arguments, which the loops replace.
  mlir::WalkResult gpuOps = launch.getBody().walk([](mlir::Operation *op) {
    return llvm::isa<mlir::gpu::GPUDialect>(op->getDialect()) &&
                   !llvm::isa<mlir::gpu::TerminatorOp>(op)
               ? mlir::WalkResult::interrupt()
               : mlir::WalkResult::advance();
  });
  if (gpuOps.wasInterrupted())
    return "gpu dialect ops in the body";
  return "";
}

/// Replaces `launch` by loops over blocks (z, y, x) and threads (z, y, x) around its body.
void emulate(mlir::gpu::LaunchOp launch) {
  mlir::OpBuilder b(launch);
  mlir::Location loc = launch.getLoc();
  mlir::Value zero = b.create<mlir::arith::ConstantIndexOp>(loc, 0);
  mlir::Value one = b.create<mlir::arith::ConstantIndexOp>(loc, 1);
  mlir::gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  mlir::gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  llvm::SmallVector<mlir::Value> upper = {grid.z, grid.y, grid.x, block.z, block.y, block.x};
  llvm::SmallVector<mlir::Value> lower(upper.size(), zero), steps(upper.size(), one);
  mlir::scf::buildLoopNest(
      b, loc, lower, upper, steps,
      [&](mlir::OpBuilder &nested, mlir::Location, mlir::ValueRange ivs) {
        mlir::IRMapping map;
        auto bind = [&](mlir::gpu::KernelDim3 args, mlir::Value x, mlir::Value y, mlir::Value z) {
          map.map(args.x, x);
          map.map(args.y, y);
          map.map(args.z, z);
        };
        bind(launch.getBlockIds(), ivs[2], ivs[1], ivs[0]);
        bind(launch.getThreadIds(), ivs[5], ivs[4], ivs[3]);
        bind(launch.getGridSize(), grid.x, grid.y, grid.z);
        bind(launch.getBlockSize(), block.x, block.y, block.z);
        for (mlir::Operation &op : launch.getBody().front().without_terminator())
          nested.clone(op, map);
      });
  launch.erase();
}

struct GpuLaunchToLoopsPass : impl::GpuLaunchToLoopsPassBase<GpuLaunchToLoopsPass> {
  void runOnOperation() override {
    llvm::SmallVector<mlir::gpu::LaunchOp> launches;
    getOperation().walk([&](mlir::gpu::LaunchOp launch) { launches.push_back(launch); });
    for (mlir::gpu::LaunchOp launch : launches) {
      if (std::string reason = unsupportedReason(launch); !reason.empty()) {
        launch.emitError("cannot run this launch on the host: ") << reason << " need a GPU";
        return signalPassFailure();
      }
      emulate(launch);
    }
  }
};

} // namespace
} // namespace nnx::codegen
