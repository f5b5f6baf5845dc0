//===- LaunchToRuntimeCallsPass.cpp - The nnx-gpu-launch-to-runtime-calls pass ===//
//
// The host side of a GPU function, after kernel outlining, is ordinary code (allocations,
// loops of a scan, the ownership-based deallocation) around gpu.launch_func ops. Upstream
// lowers those through gpu.binary and a translation that loads the module, creates a stream
// and synchronises around every single launch; nnx loads its PTX once per compiled function
// and launches on one stream (runtime/gpu/CudaLauncher.h). Each launch becomes a call of the
// runtime's nnx_gpu_launch with the kernel's parameters packed into a stack array of 64-bit
// slots, in the order convert-gpu-to-nvvm gave the kernel's signature. What remains is plain
// func/memref/arith/scf for the CPU's loops-to-LLVM tail.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/MapVector.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_GPULAUNCHTORUNTIMECALLSPASS
#define GEN_PASS_DEF_GPULAUNCHTORUNTIMECALLSPASS
#include "codegen/gpu/Passes.h.inc"

namespace {

/// The runtime's launcher (runtime/gpu/CudaLauncher.h).
constexpr const char *kLaunchFunction = "nnx_gpu_launch";

/// `value` (index or an integer or float of at most 64 bits) as the i64 holding its bits,
/// zero-extended; null for another type.
mlir::Value toSlot(mlir::OpBuilder &b, mlir::Location loc, mlir::Value value) {
  mlir::Type i64 = b.getI64Type();
  mlir::Type type = value.getType();
  if (type.isIndex())
    return b.create<mlir::arith::IndexCastUIOp>(loc, i64, value);
  if (auto floatType = llvm::dyn_cast<mlir::FloatType>(type)) {
    if (floatType.getWidth() > 64)
      return nullptr;
    value = b.create<mlir::arith::BitcastOp>(loc, b.getIntegerType(floatType.getWidth()), value);
    type = value.getType();
  }
  auto intType = llvm::dyn_cast<mlir::IntegerType>(type);
  if (!intType || intType.getWidth() > 64)
    return nullptr;
  if (intType.getWidth() == 64)
    return value;
  return b.create<mlir::arith::ExtUIOp>(loc, i64, value);
}

/// The kernel parameters `launch` passes, as i64 slots in convert-gpu-to-nvvm's order;
/// fails (with an error on the launch) on an operand that is neither a memref nor a scalar.
mlir::FailureOr<llvm::SmallVector<mlir::Value>> packParameters(mlir::OpBuilder &b,
                                                               mlir::gpu::LaunchFuncOp launch) {
  mlir::Location loc = launch.getLoc();
  llvm::SmallVector<mlir::Value> slots;
  for (mlir::Value operand : launch.getKernelOperands()) {
    if (llvm::isa<mlir::MemRefType>(operand.getType())) {
      auto metadata = b.create<mlir::memref::ExtractStridedMetadataOp>(loc, operand);
      mlir::Value aligned = toSlot(
          b, loc, b.create<mlir::memref::ExtractAlignedPointerAsIndexOp>(loc, operand));
      slots.push_back(aligned); // in the allocated pointer's slot too
      slots.push_back(aligned);
      slots.push_back(toSlot(b, loc, metadata.getOffset()));
      for (mlir::Value size : metadata.getSizes())
        slots.push_back(toSlot(b, loc, size));
      for (mlir::Value stride : metadata.getStrides())
        slots.push_back(toSlot(b, loc, stride));
      continue;
    }
    mlir::Value slot = toSlot(b, loc, operand);
    if (!slot)
      return launch.emitError("a kernel operand of type ")
             << operand.getType() << " cannot be passed to the GPU launcher";
    slots.push_back(slot);
  }
  return slots;
}

struct GpuLaunchToRuntimeCallsPass
    : impl::GpuLaunchToRuntimeCallsPassBase<GpuLaunchToRuntimeCallsPass> {
  void runOnOperation() override {
    mlir::ModuleOp module = getOperation();
    mlir::OpBuilder b(&getContext());
    mlir::Type i64 = b.getI64Type();
    llvm::SmallVector<mlir::gpu::LaunchFuncOp> launches;
    module.walk([&](mlir::gpu::LaunchFuncOp launch) { launches.push_back(launch); });
    if (!launches.empty()) {
      b.setInsertionPointToEnd(module.getBody());
      auto type = b.getFunctionType(llvm::SmallVector<mlir::Type>(9, i64), {});
      b.create<mlir::func::FuncOp>(module.getLoc(), kLaunchFunction, type).setPrivate();
    }
    llvm::MapVector<mlir::StringAttr, int64_t> kernels;
    for (mlir::gpu::LaunchFuncOp launch : launches) {
      mlir::Location loc = launch.getLoc();
      b.setInsertionPoint(launch);
      mlir::FailureOr<llvm::SmallVector<mlir::Value>> slots = packParameters(b, launch);
      if (mlir::failed(slots))
        return signalPassFailure();
      // The slots live in the enclosing function's frame (an alloca at its entry, not in a
      // scan's loop body, which would grow the stack each step).
      auto function = launch->getParentOfType<mlir::func::FuncOp>();
      mlir::OpBuilder entry = mlir::OpBuilder::atBlockBegin(&function.getBody().front());
      int64_t count = static_cast<int64_t>(slots->size());
      mlir::Value array = entry.create<mlir::memref::AllocaOp>(
          loc, mlir::MemRefType::get({std::max<int64_t>(count, 1)}, i64));
      for (auto [i, slot] : llvm::enumerate(*slots)) {
        mlir::Value index = b.create<mlir::arith::ConstantIndexOp>(loc, int64_t(i));
        b.create<mlir::memref::StoreOp>(loc, slot, array, index);
      }
      auto constant = [&](int64_t v) -> mlir::Value {
        return b.create<mlir::arith::ConstantIntOp>(loc, v, 64);
      };
      int64_t kernel =
          kernels.insert({launch.getKernelModuleName(), int64_t(kernels.size())}).first->second;
      llvm::SmallVector<mlir::Value> operands{constant(kernel)};
      for (mlir::Value dim : {launch.getGridSizeX(), launch.getGridSizeY(),
                              launch.getGridSizeZ(), launch.getBlockSizeX(),
                              launch.getBlockSizeY(), launch.getBlockSizeZ()})
        operands.push_back(toSlot(b, loc, dim));
      operands.push_back(
          toSlot(b, loc, b.create<mlir::memref::ExtractAlignedPointerAsIndexOp>(loc, array)));
      operands.push_back(constant(count));
      b.create<mlir::func::CallOp>(loc, kLaunchFunction, mlir::TypeRange{}, operands);
      launch.erase();
    }
    llvm::SmallVector<mlir::Attribute> names;
    for (auto &[name, index] : kernels)
      names.push_back(name);
    module->setAttr("nnx.gpu_kernels", b.getArrayAttr(names));
    module->removeAttr(mlir::gpu::GPUDialect::getContainerModuleAttrName());
    for (auto gpuModule : llvm::make_early_inc_range(module.getOps<mlir::gpu::GPUModuleOp>()))
      gpuModule.erase();
  }
};

} // namespace
} // namespace nnx::codegen
