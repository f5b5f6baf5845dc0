//===- LaunchToLoopsPass.cpp - The nnx-gpu-launch-to-loops pass -----------===//
//
// Runs gpu.launch bodies on the CPU, one thread after another, so that the mapped IR (tiles,
// index expressions, bound guards, shared-memory staging: everything the kernel will run)
// executes where there is no GPU and can be compared with the interpreter.
//
// A launch becomes loops over the grid (z, y, x). Inside a block, the body is cut at its
// gpu.barrier ops into segments, and each segment runs in its own loops over the block's
// threads (z, y, x): every thread finishes the code before a barrier before any thread starts
// the code after it, which is what the barrier guarantees. An scf.for that contains barriers
// (a k loop staging tiles) runs once per block, its body cut the same way; its bounds must
// not depend on the thread (every thread of a real block must reach the same barriers).
// Values a thread computed before a barrier and uses after it are computed again in the later
// segment when they are side-effect-free (the index arithmetic of thread ids); anything else
// that crosses a barrier (a loaded value) is refused. Workgroup attributions become one
// buffer, reused by block after block; private attributions one buffer per thread of the
// block (an extra leading index, the thread's linear id). Launches that cannot be emulated
// faithfully (a barrier under a condition, clusters, async tokens, dynamic shared memory) are
// errors, never silently wrong results.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/RegionUtils.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_GPULAUNCHTOLOOPSPASS
#define GEN_PASS_DEF_GPULAUNCHTOLOOPSPASS
#include "codegen/gpu/Passes.h.inc"

using namespace mlir;

namespace {

/// Whether `op` is or contains a gpu.barrier.
bool hasBarrier(Operation *op) {
  return op->walk([](gpu::BarrierOp) { return WalkResult::interrupt(); }).wasInterrupted();
}

/// Why `launch` cannot run as sequential loops, or an empty string when it can.
std::string unsupportedReason(gpu::LaunchOp launch) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty())
    return "asynchronous launches";
  if (launch.getClusterSizeX())
    return "thread block clusters";
  if (launch.getDynamicSharedMemorySize())
    return "dynamic shared memory";
  if (!launch.getBody().hasOneBlock())
    return "bodies of several blocks";
  // A private buffer gains a leading index per thread: only loads and stores can take it.
  for (BlockArgument buffer : launch.getPrivateAttributions())
    for (Operation *user : buffer.getUsers())
      if (!isa<memref::LoadOp, memref::StoreOp>(user) ||
          (isa<memref::StoreOp>(user) && cast<memref::StoreOp>(user).getValue() == buffer))
        return "private memory used other than by loads and stores";
  // The ids and sizes must come from the body's arguments, which the loops replace.
  WalkResult gpuOps = launch.getBody().walk([](Operation *op) {
    return isa<gpu::GPUDialect>(op->getDialect()) &&
                   !isa<gpu::TerminatorOp, gpu::BarrierOp>(op)
               ? WalkResult::interrupt()
               : WalkResult::advance();
  });
  if (gpuOps.wasInterrupted())
    return "gpu dialect ops in the body";
  return "";
}

/// `type` in the host's default memory space; with `perThread`, a dynamic leading dimension
/// in front (one slice per thread of the block).
MemRefType hostBufferType(MemRefType type, bool perThread) {
  SmallVector<int64_t> shape;
  if (perThread)
    shape.push_back(ShapedType::kDynamic);
  llvm::append_range(shape, type.getShape());
  return MemRefType::get(shape, type.getElementType());
}

/// One launch's emulation: the loops over the grid, and in each block the body's segments
/// between barriers, each in loops over the block's threads.
class Emulation {
public:
  explicit Emulation(gpu::LaunchOp launch) : launch(launch) {}

  /// Emits the emulation before the launch (which the caller erases): the host buffers, the
  /// loops over the grid around the block's body, the buffers' deallocation. Fails, with an
  /// error on the offending op, where the body cannot be emulated faithfully.
  LogicalResult run() {
    OpBuilder b(launch);
    Location loc = launch.getLoc();
    zero = b.create<arith::ConstantIndexOp>(loc, 0);
    one = b.create<arith::ConstantIndexOp>(loc, 1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    block = launch.getBlockSizeOperandValues();
    IRMapping blockMap;
    SmallVector<Value> buffers;
    for (BlockArgument arg : launch.getWorkgroupAttributions()) {
      buffers.push_back(b.create<memref::AllocOp>(
          loc, hostBufferType(cast<MemRefType>(arg.getType()), false)));
      blockMap.map(arg, buffers.back());
    }
    if (!launch.getPrivateAttributions().empty()) {
      Value threads = b.create<arith::MulIOp>(
          loc, b.create<arith::MulIOp>(loc, block.x, block.y), block.z);
      for (BlockArgument arg : launch.getPrivateAttributions()) {
        buffers.push_back(b.create<memref::AllocOp>(
            loc, hostBufferType(cast<MemRefType>(arg.getType()), true), ValueRange{threads}));
        privatize(arg, buffers.back());
      }
    }
    LogicalResult result = success();
    buildNest(b, {grid.z, grid.y, grid.x}, [&](OpBuilder &nested, ValueRange ids) {
      bind(blockMap, launch.getBlockIds(), ids[2], ids[1], ids[0]);
      bind(blockMap, launch.getGridSize(), grid.x, grid.y, grid.z);
      bind(blockMap, launch.getBlockSize(), block.x, block.y, block.z);
      result = emitRegion(nested, launch.getBody().front(), blockMap);
    });
    for (Value buffer : buffers)
      b.create<memref::DeallocOp>(loc, buffer);
    return result;
  }

private:
  gpu::LaunchOp launch;
  gpu::KernelDim3 block;
  Value zero, one;

  static void bind(IRMapping &map, gpu::KernelDim3 args, Value x, Value y, Value z) {
    map.map(args.x, x);
    map.map(args.y, y);
    map.map(args.z, z);
  }

  /// Rewrites every load and store of private attribution `arg` in the body into one of
  /// `buffer`, indexed first by the thread's linear id (computed from the body's thread ids
  /// and block size, so segments recompute it like any index arithmetic).
  void privatize(BlockArgument arg, Value buffer) {
    for (Operation *access : llvm::make_early_inc_range(arg.getUsers())) {
      OpBuilder b(access);
      Location loc = access->getLoc();
      gpu::KernelDim3 ids = launch.getThreadIds(), size = launch.getBlockSize();
      Value zy = b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, ids.z, size.y),
                                         ids.y);
      SmallVector<Value> indices = {
          b.create<arith::AddIOp>(loc, b.create<arith::MulIOp>(loc, zy, size.x), ids.x)};
      if (auto load = dyn_cast<memref::LoadOp>(access)) {
        llvm::append_range(indices, load.getIndices());
        load.replaceAllUsesWith(b.create<memref::LoadOp>(loc, buffer, indices).getResult());
      } else {
        auto store = cast<memref::StoreOp>(access);
        llvm::append_range(indices, store.getIndices());
        b.create<memref::StoreOp>(loc, store.getValue(), buffer, indices);
      }
      access->erase();
    }
  }

  /// Loops from 0 to each of `upper` (outermost first) around what `body` builds.
  void buildNest(OpBuilder &b, ValueRange upper,
                 llvm::function_ref<void(OpBuilder &, ValueRange)> body) {
    SmallVector<Value> lower(upper.size(), zero), steps(upper.size(), one);
    scf::buildLoopNest(b, launch.getLoc(), lower, upper, steps,
                       [&](OpBuilder &nested, Location, ValueRange ivs) { body(nested, ivs); });
  }

  /// The body of a block: ordinary ops gathered into segments, cut at barriers; loops with
  /// barriers emulated once per block.
  LogicalResult emitRegion(OpBuilder &b, Block &body, IRMapping &blockMap) {
    SmallVector<Operation *> segment;
    for (Operation &op : body.without_terminator()) {
      if (!hasBarrier(&op)) {
        segment.push_back(&op);
        continue;
      }
      if (failed(emitSegment(b, segment, blockMap)))
        return failure();
      segment.clear();
      if (isa<gpu::BarrierOp>(op))
        continue;
      auto loop = dyn_cast<scf::ForOp>(op);
      if (!loop)
        return op.emitError("cannot run this launch on the host: a barrier inside '")
               << op.getName() << "' (only scf.for loops may hold barriers)";
      if (loop.getNumResults() != 0)
        return op.emitError(
            "cannot run this launch on the host: a loop with a barrier carries values");
      if (failed(emitBarrierLoop(b, loop, blockMap)))
        return failure();
    }
    return emitSegment(b, segment, blockMap);
  }

  /// `loop` (which holds barriers) once per block, its body cut into segments.
  LogicalResult emitBarrierLoop(OpBuilder &b, scf::ForOp loop, IRMapping &blockMap) {
    SmallVector<Value> bounds;
    for (Value bound : {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()}) {
      FailureOr<Value> value = rematerialize(b, bound, blockMap);
      if (failed(value))
        return loop.emitError("cannot run this launch on the host: the bounds of a loop "
                              "with a barrier depend on the thread");
      bounds.push_back(*value);
    }
    LogicalResult result = success();
    b.create<scf::ForOp>(loop.getLoc(), bounds[0], bounds[1], bounds[2], ValueRange{},
                         [&](OpBuilder &nested, Location loc, Value iv, ValueRange) {
                           IRMapping bodyMap = blockMap;
                           bodyMap.map(loop.getInductionVar(), iv);
                           result = emitRegion(nested, *loop.getBody(), bodyMap);
                           nested.create<scf::YieldOp>(loc);
                         });
    return result;
  }

  /// `ops` (no barriers) in loops over the block's threads.
  LogicalResult emitSegment(OpBuilder &b, ArrayRef<Operation *> ops, IRMapping &blockMap) {
    if (ops.empty())
      return success();
    LogicalResult result = success();
    buildNest(b, {block.z, block.y, block.x}, [&](OpBuilder &nested, ValueRange ids) {
      IRMapping map = blockMap;
      bind(map, launch.getThreadIds(), ids[2], ids[1], ids[0]);
      for (Operation *op : ops)
        if (failed(result = cloneInThread(nested, op, map)))
          return;
    });
    return result;
  }

  /// Clones `op` into the thread's loop body, the values it uses from earlier segments
  /// computed again first.
  LogicalResult cloneInThread(OpBuilder &b, Operation *op, IRMapping &map) {
    SetVector<Value> used;
    getUsedValuesDefinedAbove(op->getRegions(), used);
    used.insert(op->operand_begin(), op->operand_end());
    for (Value value : used)
      if (failed(rematerialize(b, value, map)))
        return op->emitError("cannot run this launch on the host: a value computed before "
                             "a barrier (not recomputable) is used after it");
    b.clone(*op, map);
    return success();
  }

  /// `value` as available at `b` under `map`: itself when defined outside the launch, its
  /// mapped value, or the side-effect-free ops it comes from cloned again. Fails for values
  /// of other ops and for the launch's unmapped arguments (thread ids at block level).
  FailureOr<Value> rematerialize(OpBuilder &b, Value value, IRMapping &map) {
    if (Value mapped = map.lookupOrNull(value))
      return mapped;
    if (!launch.getBody().isAncestor(value.getParentRegion()))
      return value;
    Operation *def = value.getDefiningOp();
    if (!def || def->getNumRegions() != 0 || !isMemoryEffectFree(def))
      return failure();
    for (Value operand : def->getOperands())
      if (failed(rematerialize(b, operand, map)))
        return failure();
    b.clone(*def, map);
    return map.lookup(value);
  }
};

struct GpuLaunchToLoopsPass : impl::GpuLaunchToLoopsPassBase<GpuLaunchToLoopsPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp launch) { launches.push_back(launch); });
    for (gpu::LaunchOp launch : launches) {
      if (std::string reason = unsupportedReason(launch); !reason.empty()) {
        launch.emitError("cannot run this launch on the host: ") << reason << " need a GPU";
        return signalPassFailure();
      }
      if (failed(Emulation(launch).run()))
        return signalPassFailure();
      launch.erase();
    }
  }
};

} // namespace
} // namespace nnx::codegen
