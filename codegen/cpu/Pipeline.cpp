//===- Pipeline.cpp - The CPU lowering pipeline, in order -----------------===//
//
// The CPU's road from buffers to the LLVM dialect is written down once, in buildCpuPipeline,
// with the reason each pass stands where it does (the IREE / Halide Lower.cpp style), after
// the half shared with the GPU (linalg/TensorPipeline.cpp: nnx to linalg to buffers).
// lowerToLLVMDialect runs both; lowerKernelsToLLVMDialect the loops-to-LLVM tail for the
// kernel library. Passes are created with their C++ constructors; only the dialects
// registered by registerCodegenDialects are needed.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"
#include "codegen/cpu/GemmKernel.h"
#include "codegen/cpu/GemvKernel.h"
#include "codegen/linalg/TensorPipeline.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/OpenMPToLLVM/ConvertOpenMPToLLVM.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToOpenMP/SCFToOpenMP.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/TargetParser/Host.h"

#include <cstdlib>

using namespace mlir;

namespace nnx::codegen {

#define GEN_PASS_DECL_CONTRACTIONLOOPORDERPASS
#define GEN_PASS_DECL_GEMMSCHEDULEPASS
#define GEN_PASS_DECL_INLINEALLOCASCOPESPASS
#define GEN_PASS_DECL_PARALLELIZEELEMENTWISEPASS
#define GEN_PASS_DECL_WIDENBOOLMEMORYPASS
#include "codegen/cpu/Passes.h.inc"
#define GEN_PASS_DECL_MATHAPPROXIMATIONPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

/// What the pipeline lowers: a model on buffers (after the shared half), or the kernel
/// library's GEMM kernels.
enum class PipelineHalf { Buffers, Kernels, GpuHost };

/// The GEMM blocking for the host: BLIS's 6 x 16 register tile of 8-lane vectors with AVX2
/// (12 of the 16 ymm registers hold accumulators), 8 x 32 of 16-lane vectors with AVX-512
/// (16 of 32 zmm). Cache blocks as in the pass's defaults.
GemmSchedulePassOptions hostGemmOptions() {
  GemmSchedulePassOptions options;
  // The kernels are compiled once per process by the kernel library (and cached on disk);
  // modules only declare them.
  options.externalKernels = true;
  if (llvm::sys::getHostCPUFeatures().lookup("avx512f")) {
    options.vectorWidth = 16;
    options.mr = 8;
    options.nr = 32;
  }
  return options;
}

/// The GEMM schedule for the host (hostGemmOptions). NNX_GEMM_BLOCKING, in the pass's option
/// syntax ("vector-width=16 mr=8 nr=32 kc=128"), overrides the blocking: for tests and tuning.
std::unique_ptr<Pass> createHostGemmSchedulePass() {
  std::unique_ptr<Pass> pass = createGemmSchedulePass(hostGemmOptions());
  if (const char *override = std::getenv("NNX_GEMM_BLOCKING"); override && *override)
    if (failed(pass->initializeOptions(override, [](const llvm::Twine &message) {
          llvm::errs() << "NNX_GEMM_BLOCKING: " << message << "\n";
          return failure();
        })))
      llvm::errs() << "NNX_GEMM_BLOCKING ignored in part\n";
  return pass;
}

/// From scf/memref/vector/arith loops to the LLVM dialect: the tail of the CPU pipeline,
/// and all that the kernel library's GEMM kernels need. `vectorOps`: the module holds vector
/// dialect ops (the kernels do; models, which only declare the kernels, do not, and skip the
/// 10 ms the vector conversion takes on a train step).
void addLoopsToLLVMPasses(OpPassManager &pm, bool vectorOps, bool genericAllocs = false) {
  pm.addPass(createLowerAffinePass());
  // The GEMMs' parallel panel loops become OpenMP worksharing loops (libomp's threads, as
  // many as --threads says), before SCF is flattened into branches.
  pm.addPass(createConvertSCFToOpenMPPass());
  // That wraps each loop body in a memref.alloca_scope, which must hold one block: inline
  // the scopes (the kernels' bodies allocate nothing) before SCF becomes a CFG.
  pm.addPass(createInlineAllocaScopesPass());
  pm.addPass(createConvertSCFToCFPass());
  // Subviews and reshapes of memrefs become explicit offset/stride arithmetic (affine) that
  // finalize-memref-to-llvm can lower; lower that affine arithmetic again.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // f32 exp, log and tanh become polynomials that LLVM vectorises (libm per element would
  // keep softmax, sigmoid and tanh loops scalar); random draws keep libm (`nnx.exact`).
  pm.addPass(createMathApproximationPass());
  // Math: LLVM intrinsics where LLVM 19 has one (exp, log, sin, cos, pow, sqrt, fabs),
  // which become the same libm calls as the interpreter's; the rest (tanh) calls libm directly.
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // The GEMM micro-kernels' vector ops (loads, broadcasts, fma) to LLVM vector intrinsics.
  if (vectorOps)
    pm.addPass(createConvertVectorToLLVMPass());
  // To the LLVM dialect; func last, since it needs the converted bodies, then the casts that
  // the partial conversions left between them cancel out.
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  FinalizeMemRefToLLVMConversionPassOptions memrefOptions;
  memrefOptions.useGenericFunctions = genericAllocs;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefOptions));
  pm.addPass(createConvertFuncToLLVMPass());
  // The OpenMP regions' block arguments and operands to LLVM types, after their bodies.
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // Bool buffers (dropout masks, comparisons) accessed as bytes rather than i1, which LLVM's
  // vectorizer would scalarise; last, once every memory access is an llvm.load/store.
  pm.addPass(createWidenBoolMemoryPass());
}

/// The CPU pipeline from bufferization to the LLVM dialect (`Buffers`), or its loops-to-LLVM
/// tail alone (`Kernels`; `GpuHost`: with allocations through the generic functions).
void buildCpuPipeline(OpPassManager &pm, PipelineHalf half) {
  if (half == PipelineHalf::Kernels)
    return addLoopsToLLVMPasses(pm, /*vectorOps=*/true);
  if (half == PipelineHalf::GpuHost)
    return addLoopsToLLVMPasses(pm, /*vectorOps=*/false, /*genericAllocs=*/true);
  // nnx to linalg on tensors to buffers: the half shared with the GPU (linalg/TensorPipeline.cpp).
  addBufferizationPasses(pm);
  // f32 matmuls big enough become packed, register-tiled FMA loop nests. On buffers, so that
  // the packing buffers it allocates and frees itself are not seen by deallocation, and
  // while the products are still named linalg ops.
  pm.addPass(createHostGemmSchedulePass());
  // The remaining matmuls loop (i, k, j), convolutions and pools with the features or
  // channels innermost: same sums, but the innermost loop vectorises.
  pm.addPass(createContractionLoopOrderPass());
  // Large elementwise ops (dropout's RNG, bias and activation, optimizer updates) become
  // parallel loops, spread over the threads like the GEMMs.
  pm.addPass(createParallelizeElementwisePass());
  // Linalg on buffers to scf loops; LLVM's loop vectorizer works on them at -O3.
  pm.addPass(createConvertLinalgToLoopsPass());
  addLoopsToLLVMPasses(pm, /*vectorOps=*/false);
}
} // namespace

std::vector<std::string> getHostKernelNames() {
  GemmSchedulePassOptions options = hostGemmOptions();
  GemmBlocking blocking{options.vectorWidth, options.mr, options.nr,
                        options.mc,          options.kc, options.nc};
  return {getGemmKernelName(blocking, /*parallel=*/false),
          getGemmKernelName(blocking, /*parallel=*/true),
          getGemvKernelName(getGemvBlocking(options.vectorWidth))};
}

LogicalResult lowerToLLVMDialect(ModuleOp module) {
  return runPasses(module, [](OpPassManager &pm) { buildCpuPipeline(pm, PipelineHalf::Buffers); });
}

LogicalResult lowerKernelsToLLVMDialect(ModuleOp module) {
  return runPasses(module, [](OpPassManager &pm) { buildCpuPipeline(pm, PipelineHalf::Kernels); });
}

LogicalResult lowerGpuHostToLLVMDialect(ModuleOp module) {
  return runPasses(module, [](OpPassManager &pm) { buildCpuPipeline(pm, PipelineHalf::GpuHost); });
}

std::string translateToLLVMIR(ModuleOp module) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return "";
  std::string text;
  llvm::raw_string_ostream os(text);
  llvmModule->print(os, nullptr);
  return text;
}

} // namespace nnx::codegen
