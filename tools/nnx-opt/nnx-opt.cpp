//===- nnx-opt.cpp - mlir-opt for the nnx dialect -------------------------===//
//
// The driver of the IR transforms' lit tests: MlirOptMain with the dialects of the CPU
// pipeline (registerCodegenDialects: nnx, func, linalg, tensor, arith, math, ...), the nnx
// passes whose lit tests run on it (nnx-grad, nnx-fuse-elementwise) and the two generic
// clean-ups worth running after them (canonicalize, cse), so `nnx-opt --nnx-grad f.mlir`
// prints the module with its gradient functions. Only these are registered, not every
// upstream dialect and pass, so the tool starts fast and a test cannot depend on a dialect nnx
// does not use.
//
//===----------------------------------------------------------------------===//
#include "codegen/CpuJit.h"
#include "ir/Autodiff.h"
#include "ir/NNXDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

namespace nnx::codegen {
#define GEN_PASS_DECL_CONVTOGEMMPASS
#define GEN_PASS_DECL_FUSEELEMENTWISEPASS
#define GEN_PASS_DECL_SPLITEMPTYTENSORSPASS
#define GEN_PASS_DECL_MATHAPPROXIMATIONPASS
#include "codegen/linalg/Passes.h.inc"
#define GEN_PASS_DECL_CONTRACTIONLOOPORDERPASS
#define GEN_PASS_DECL_GEMMSCHEDULEPASS
#define GEN_PASS_DECL_INLINEALLOCASCOPESPASS
#define GEN_PASS_DECL_PARALLELIZEELEMENTWISEPASS
#define GEN_PASS_DECL_WIDENBOOLMEMORYPASS
#include "codegen/cpu/Passes.h.inc"
#define GEN_PASS_DECL_GPULAUNCHTOLOOPSPASS
#define GEN_PASS_DECL_GPULAUNCHTORUNTIMECALLSPASS
#define GEN_PASS_DECL_GPUMAPLOOPSPASS
#define GEN_PASS_DECL_GPUSINKHOSTSCALARSPASS
#define GEN_PASS_DECL_GPUTILEMATMULPASS
#include "codegen/gpu/Passes.h.inc"
} // namespace nnx::codegen

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  nnx::codegen::registerCodegenDialects(registry);
  mlir::registerPass([] { return nnx::ir::createGradPass(); });
  mlir::registerPass([] { return nnx::codegen::createContractionLoopOrderPass(); });
  mlir::registerPass([] { return nnx::codegen::createConvToGemmPass(); });
  mlir::registerPass([] { return nnx::codegen::createFuseElementwisePass(); });
  mlir::registerPass([] { return nnx::codegen::createGemmSchedulePass(); });
  mlir::registerPass([] { return nnx::codegen::createGpuLaunchToLoopsPass(); });
  mlir::registerPass([] { return nnx::codegen::createGpuLaunchToRuntimeCallsPass(); });
  mlir::registerPass([] { return nnx::codegen::createGpuMapLoopsPass(); });
  mlir::registerPass([] { return nnx::codegen::createGpuSinkHostScalarsPass(); });
  mlir::registerPass([] { return nnx::codegen::createGpuTileMatmulPass(); });
  mlir::registerPass([] { return nnx::codegen::createInlineAllocaScopesPass(); });
  mlir::registerPass([] { return nnx::codegen::createSplitEmptyTensorsPass(); });
  mlir::registerPass([] { return nnx::codegen::createMathApproximationPass(); });
  mlir::registerPass([] { return nnx::codegen::createParallelizeElementwisePass(); });
  mlir::registerPass([] { return nnx::codegen::createWidenBoolMemoryPass(); });
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "nnx optimizer driver\n", registry));
}
