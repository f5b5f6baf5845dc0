//===- Pipeline.cpp - The GPU lowering pipeline, in order -----------------===//
//
// The GPU's road from buffers to kernels, written down once with the reason each pass stands
// where it does, after the half shared with the CPU (linalg/TensorPipeline.cpp). Launches
// first (lowerToGpuLaunches), then either the kernels to NVVM (for Ptx.cpp) or the launches
// to host loops (lowerToHostLoops, for the tests that run the mapping on the CPU).
//
//===----------------------------------------------------------------------===//
#include "codegen/gpu/GpuPipeline.h"
#include "codegen/gpu/KernelPasses.h"
#include "codegen/linalg/TensorPipeline.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <chrono>

using namespace mlir;

namespace nnx::codegen {

#define GEN_PASS_DECL_GPULAUNCHTOLOOPSPASS
#define GEN_PASS_DECL_GPULAUNCHTORUNTIMECALLSPASS
#define GEN_PASS_DECL_GPUMAPLOOPSPASS
#define GEN_PASS_DECL_GPUSINKHOSTSCALARSPASS
#define GEN_PASS_DECL_GPUTILEMATMULPASS
#include "codegen/gpu/Passes.h.inc"
#define GEN_PASS_DECL_MATHAPPROXIMATIONPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

/// nnx IR to host functions of gpu.launch ops.
void addLaunchPasses(OpPassManager &pm) {
  // nnx to linalg on tensors to buffers: the half shared with the CPU.
  addTensorPasses(pm);
  addBufferizationPasses(pm);
  // Matrix products first, while they are still named linalg ops: each becomes a kernel of
  // 64 x 64 tiles staged in shared memory, a 4 x 4 register tile per thread (the one-thread-
  // per-output loops map-loops would give re-read A and B from global memory for every
  // output). Their zero fills fold into them here.
  pm.addPass(createGpuTileMatmulPass());
  // Each linalg op becomes one scf.parallel nest over all its parallel dimensions (moved
  // ahead of the reductions), its reductions scf.for loops inside: one kernel per op, each
  // thread owning whole outputs, so no sum is split across threads and results do not depend
  // on the launch shape. The nest is tiled into blocks and threads (innermost dimension on
  // threadIdx.x) and marked with its mapping.
  pm.addPass(createGpuMapLoopsPass());
  // The device has no libm (and nnx ships no libdevice): every f32 math op with a polynomial
  // becomes one, on loops still, so the host emulation runs the same arithmetic as the PTX.
  MathApproximationPassOptions math;
  math.all = true;
  pm.addPass(createMathApproximationPass(math));
  // The mapped nests become gpu.launch ops with bound guards.
  pm.addPass(createParallelLoopToGpuPass());
  // Scalars the host derived from inputs (a dropout key) are computed in the launches that
  // use them instead: the host cannot read device memory.
  pm.addPass(createGpuSinkHostScalarsPass());
  // Tiling and the launch conversion leave constant index arithmetic to fold.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Outlined kernels (the gpu.modules) to the LLVM dialect and NVVM; the host code stays.
void addKernelToNVVMPasses(OpPassManager &pm) {
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  // Structured control flow to branches, subviews to explicit offsets and strides, and the
  // affine arithmetic both leave, before the conversion to the LLVM dialect.
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createConvertSCFToCFPass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  // gpu.func, thread and block ids, arith, memref, cf to the LLVM dialect and NVVM. The math
  // the approximations left (sqrt, fabs, floor) becomes calls to libdevice's __nv_*, which
  // Ptx.cpp turns into the LLVM intrinsics NVPTX has instructions for.
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  // It leaves the fused multiply-adds of the approximations: llvm.intr.fma (fma.rn).
  kernels.addPass(createConvertMathToLLVMPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
}

} // namespace

bool isSupportedGpuArch(llvm::StringRef arch) {
  return arch == "sm_80" || arch == "sm_86" || arch == "sm_89" || arch == "sm_90";
}

/// Fails, with an error on each, where a parallel loop was not turned into a launch (the
/// conversion leaves loops it cannot map on the host, where a GPU run would compute them on
/// the CPU or not at all).
LogicalResult checkAllMapped(ModuleOp module) {
  bool mapped = true;
  module.walk([&](scf::ParallelOp loop) {
    loop.emitError("this parallel loop could not be mapped to GPU blocks and threads");
    mapped = false;
  });
  return success(mapped);
}

LogicalResult lowerToGpuLaunches(ModuleOp module) {
  if (failed(runPasses(module, addLaunchPasses)))
    return failure();
  return checkAllMapped(module);
}

LogicalResult lowerToHostLoops(ModuleOp module) {
  if (failed(lowerToGpuLaunches(module)))
    return failure();
  // Blocks and threads as sequential loops, the body unchanged.
  return runPasses(module, [](OpPassManager &pm) { pm.addPass(createGpuLaunchToLoopsPass()); });
}

LogicalResult lowerToOutlinedKernels(ModuleOp module) {
  if (failed(lowerToGpuLaunches(module)))
    return failure();
  // Each launch body becomes a gpu.func in a gpu.module of its own, launched by
  // gpu.launch_func; the host code keeps allocations and launches.
  return runPasses(module, [](OpPassManager &pm) {
    // Constants (tile sizes, loop bounds) move into the launch bodies first: captured, they
    // would become kernel parameters, and a k loop bounded by a parameter is neither
    // unrolled nor its register tile promoted out of local memory.
    pm.addPass(createGpuLauchSinkIndexComputationsPass());
    pm.addPass(createGpuKernelOutliningPass());
  });
}

LogicalResult lowerKernelsToNVVM(ModuleOp module) {
  return runPasses(module, addKernelToNVVMPasses);
}

llvm::Expected<std::string> lowerToGpuHost(ModuleOp module, llvm::StringRef arch,
                                           double *ptxMillis) {
  if (failed(lowerToOutlinedKernels(module)))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot lower the module to GPU kernels");
  // The PTX from these very kernels (emitPtx would lower and outline once more), then the
  // launches of the host side become calls naming them.
  auto start = std::chrono::steady_clock::now();
  llvm::Expected<std::string> ptx = emitOutlinedPtx(module, arch);
  if (ptxMillis)
    *ptxMillis =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count();
  if (!ptx)
    return ptx.takeError();
  if (failed(runPasses(module, [](OpPassManager &pm) {
        pm.addPass(createGpuLaunchToRuntimeCallsPass());
      })))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot lower the GPU launches to launcher calls");
  return ptx;
}

std::string gpuArchForDevice(int major, int minor) {
  int capability = major * 10 + minor;
  for (int arch : {90, 89, 86, 80})
    if (capability >= arch)
      return "sm_" + std::to_string(arch);
  return "";
}

LogicalResult lowerToNVVM(ModuleOp module) {
  return success(succeeded(lowerToOutlinedKernels(module)) &&
                 succeeded(lowerKernelsToNVVM(module)));
}

} // namespace nnx::codegen
