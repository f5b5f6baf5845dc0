//===- TensorPipeline.cpp - nnx to linalg to buffers, for every target ----===//
//
// The shared half of the road from nnx IR to machine code, written down once with the reason
// each pass stands where it does (the IREE / Halide Lower.cpp style): the tensor passes end in
// fused linalg (`--stage linalg`), the bufferization passes in memref/linalg/scf, where
// cpu/Pipeline.cpp and gpu/Pipeline.cpp take over. Passes are created with their C++
// constructors; only the dialects registered by registerCodegenDialects are needed.
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/TensorPipeline.h"
#include "codegen/Pipeline.h"

#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <cstdlib>

using namespace mlir;

namespace nnx::codegen {

#define GEN_PASS_DECL_CONVTOGEMMPASS
#define GEN_PASS_DECL_FORWARDRESULTALLOCSPASS
#define GEN_PASS_DECL_FUSEELEMENTWISEPASS
#define GEN_PASS_DECL_PREPARECPUENTRYPASS
#define GEN_PASS_DECL_SCANTOSCFPASS
#define GEN_PASS_DECL_SPLITEMPTYTENSORSPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

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

} // namespace

void addTensorPasses(OpPassManager &pm) {
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
}

void addBufferizationPasses(OpPassManager &pm) {
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
}

LogicalResult runPasses(ModuleOp module, const std::function<void(OpPassManager &)> &build) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  build(pm);
  // Verifying the IR after every pass is half of the lowering time (45 of 90 ms on the seed's
  // train step): on wherever NNX_VERIFY_PASSES is set (every test sets it), off for users,
  // whose runs take the passes the tests have verified.
  pm.enableVerifier(std::getenv("NNX_VERIFY_PASSES") != nullptr);
  // NNX_PASS_TIMING=1 prints MLIR's per-pass timing report to stderr (for tuning).
  if (const char *timing = std::getenv("NNX_PASS_TIMING"); timing && *timing == '1')
    pm.enableTiming();
  return pm.run(module);
}

LogicalResult lowerToLinalg(ModuleOp module) { return runPasses(module, addTensorPasses); }

} // namespace nnx::codegen
