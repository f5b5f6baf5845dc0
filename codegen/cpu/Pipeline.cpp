//===- Pipeline.cpp - The CPU lowering pipeline, in order -----------------===//
//
// The whole road from nnx IR to the LLVM dialect is written down once, in buildCpuPipeline,
// with the reason each pass stands where it does (the IREE / Halide Lower.cpp style). The
// public entry points run its two halves: lowerToLinalg (the tensor half, `--stage linalg`)
// and lowerToLLVMDialect (bufferization onwards). Passes are created with their C++
// constructors; only the dialects registered by registerCodegenDialects are needed.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
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
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
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
#define GEN_PASS_DECL_CONVTOGEMMPASS
#define GEN_PASS_DECL_FORWARDRESULTALLOCSPASS
#define GEN_PASS_DECL_FUSEELEMENTWISEPASS
#define GEN_PASS_DECL_GEMMSCHEDULEPASS
#define GEN_PASS_DECL_INLINEALLOCASCOPESPASS
#define GEN_PASS_DECL_MATHAPPROXIMATIONPASS
#define GEN_PASS_DECL_PARALLELIZEELEMENTWISEPASS
#define GEN_PASS_DECL_PREPARECPUENTRYPASS
#define GEN_PASS_DECL_SCANTOSCFPASS
#define GEN_PASS_DECL_SPLITEMPTYTENSORSPASS
#include "codegen/cpu/Passes.h.inc"

namespace {

/// The two halves of the pipeline.
enum class PipelineHalf { Tensors, Buffers, Kernels };

/// Options of one-shot bufferization across function boundaries.
bufferization::OneShotBufferizationOptions getBufferizationOptions() {
  bufferization::OneShotBufferizationOptions options;
  options.bufferizeFunctionBoundaries = true;
  // Arguments and results are plain contiguous row-major buffers, like rt::Tensor storage.
  options.setFunctionBoundaryTypeConversion(bufferization::LayoutMapOption::IdentityLayoutMap);
  // A scan's loop yields a carry computed in a new buffer each step (the step's result is
  // not the buffer it started from); ownership-based deallocation frees the old ones.
  options.allowReturnAllocsFromLoops = true;
  // Copies become linalg.copy, lowered to loops below, rather than memref.copy, whose
  // strided form needs the memrefCopy function of the MLIR C runner library.
  options.memCpyFn = [](OpBuilder &b, Location loc, Value from, Value to) {
    b.create<linalg::CopyOp>(loc, from, to);
    return success();
  };
  return options;
}

/// The GEMM blocking for the host: BLIS's 6 x 16 register tile of 8-lane vectors with AVX2
/// (12 of the 16 ymm registers hold accumulators), 8 x 32 of 16-lane vectors with AVX-512
/// (16 of 32 zmm). Cache blocks as in the pass's defaults. NNX_GEMM_BLOCKING, in the pass's
/// option syntax ("vector-width=16 mr=8 nr=32 kc=128"), overrides them: for tests and tuning.
std::unique_ptr<Pass> createHostGemmSchedulePass() {
  GemmSchedulePassOptions options;
  // The kernels are compiled once per process by the kernel library (and cached on disk);
  // modules only declare them.
  options.externalKernels = true;
  if (llvm::sys::getHostCPUFeatures().lookup("avx512f")) {
    options.vectorWidth = 16;
    options.mr = 8;
    options.nr = 32;
  }
  std::unique_ptr<Pass> pass = createGemmSchedulePass(options);
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
void addLoopsToLLVMPasses(OpPassManager &pm, bool vectorOps) {
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
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  // The OpenMP regions' block arguments and operands to LLVM types, after their bodies.
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

/// The CPU pipeline. `half` selects the passes on tensors (ending in fused linalg) or the
/// passes from bufferization to the LLVM dialect.
void buildCpuPipeline(OpPassManager &pm, PipelineHalf half) {
  if (half == PipelineHalf::Kernels)
    return addLoopsToLLVMPasses(pm, /*vectorOps=*/true);
  if (half == PipelineHalf::Tensors) {
    // Every nnx op becomes linalg/tensor/arith/math on tensors, elementwise ops as generics.
    pm.addPass(createNNXToLinalgPass());
    // Scans (whose bodies are now linalg) become scf.for loops, before fusion and
    // canonicalization, which then work inside the loop bodies like anywhere else.
    pm.addPass(createScanToScfPass());
    // Convolutions of one feature group become im2col and a linalg.matmul, on tensors, so
    // that the GEMM schedule later runs them (and the patches' generic can fuse its producers).
    pm.addPass(createConvToGemmPass());
    // Fold constants and drop dead values first, so that fusion sees single-use producers.
    pm.addPass(createCanonicalizerPass());
    // Fuse producer generics (broadcasts, elementwise chains) into their consumers: the
    // Linear layer's bias broadcast, add and relu become one generic after the matmul. A
    // producer a consumer would read several times (exp(h) @ w) is not fused: it would be
    // recomputed per output column.
    pm.addPass(createFuseElementwisePass());
    // Fusion leaves duplicated constants and tensor.empty ops behind.
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
    return;
  }
  // Read-only arguments and a C interface on the entry points; must precede bufferization,
  // which reads `bufferization.writable`.
  pm.addPass(createPrepareCpuEntryPass());
  // CSE left one tensor.empty per type for every destination; split again, so that the
  // bufferization analysis below stays linear in the program's length.
  pm.addPass(createSplitEmptyTensorsPass());
  // A tensor.empty whose value ends up in an insert_slice (concat) is replaced by that slice
  // of the destination where the destination dominates it, so the producer writes straight
  // into the concatenation instead of a temporary that is then copied.
  pm.addPass(bufferization::createEmptyTensorEliminationPass());
  pm.addPass(bufferization::createOneShotBufferizePass(getBufferizationOptions()));
  // Results become caller-allocated out-params (rt::Tensors the JIT allocates), before
  // deallocation, so that no buffer escapes a function and every allocation is freed inside.
  pm.addPass(bufferization::createBufferResultsToOutParamsPass());
  // Results freshly allocated are then computed in their out-params, without a final copy.
  pm.addPass(createForwardResultAllocsPass());
  pm.addPass(createCanonicalizerPass());
  bufferization::buildBufferDeallocationPipeline(pm, {});
  pm.addPass(createBufferizationToMemRefPass());
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
/// Runs one half of the pipeline on `module`.
LogicalResult runPipeline(ModuleOp module, PipelineHalf half) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  buildCpuPipeline(pm, half);
  // Verifying the IR after every pass is half of the lowering time (45 of 90 ms on the seed's
  // train step): on wherever NNX_VERIFY_PASSES is set (every test sets it), off for users,
  // whose runs take the passes the tests have verified.
  pm.enableVerifier(std::getenv("NNX_VERIFY_PASSES") != nullptr);
  // NNX_PASS_TIMING=1 prints MLIR's per-pass timing report to stderr (for tuning).
  if (const char *timing = std::getenv("NNX_PASS_TIMING"); timing && *timing == '1')
    pm.enableTiming();
  return pm.run(module);
}

} // namespace

LogicalResult lowerToLinalg(ModuleOp module) {
  return runPipeline(module, PipelineHalf::Tensors);
}

LogicalResult lowerToLLVMDialect(ModuleOp module) {
  return runPipeline(module, PipelineHalf::Buffers);
}

LogicalResult lowerKernelsToLLVMDialect(ModuleOp module) {
  return runPipeline(module, PipelineHalf::Kernels);
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
