//===- Pipeline.h - Lowering nnx IR to the LLVM dialect -------------------===//
//
// The stages of the CPU code generator, each a function on a module so that the command line
// (`nnxrun emit --stage linalg|llvm`) and CpuJit share them: nnx to linalg on tensors (with
// elementwise fusion), then bufferization, loops and the LLVM dialect, then LLVM IR text.
// The passes run in the order written down, with reasons, in cpu/Pipeline.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir {
class Pass;
} // namespace mlir

namespace nnx::codegen {

/// Lowers the nnx ops of every function to linalg/tensor/arith/math on tensors, then fuses
/// elementwise ops and canonicalises: the IR of `nnxrun emit --stage linalg`. Fails, with an
/// MLIR diagnostic, only on IR it cannot lower.
mlir::LogicalResult lowerToLinalg(mlir::ModuleOp module);

/// Lowers a module produced by lowerToLinalg to the LLVM dialect: one-shot bufferization
/// across function boundaries, results turned into caller-allocated out-params, buffer
/// deallocation, loops, and the conversions to LLVM. Every public function gets a C
/// interface (`_mlir_ciface_<name>`) taking one memref descriptor per argument, then one per
/// result.
mlir::LogicalResult lowerToLLVMDialect(mlir::ModuleOp module);

/// Lowers a module of GEMM kernel functions (cpu/GemmKernel.h: scf, memref, vector, arith on
/// buffers) to the LLVM dialect, with the tail of the same pipeline: for the kernel library.
mlir::LogicalResult lowerKernelsToLLVMDialect(mlir::ModuleOp module);

/// Lowers the host side of a function compiled for the GPU (gpu/GpuPipeline.h lowerToGpuHost:
/// loops, allocations and calls of the launcher) to the LLVM dialect with the same tail, but
/// with every allocation through _mlir_memref_to_llvm_alloc/_free, which the GPU launcher
/// binds to managed memory (runtime/gpu/CudaLauncher.h) so that its kernels can address it.
mlir::LogicalResult lowerGpuHostToLLVMDialect(mlir::ModuleOp module);

/// The kernel library's kernels a model compiled on this host may call: the serial and the
/// parallel GEMM kernel of the host's default blocking (cpu/Pipeline.cpp hostGemmOptions;
/// NNX_GEMM_BLOCKING is not applied). What the build ships (`nnxrun cache --build-kernels`).
std::vector<std::string> getHostKernelNames();

/// The LLVM IR text of a module already in the LLVM dialect (`--stage llvm`); empty, with an
/// MLIR diagnostic, when translation fails.
std::string translateToLLVMIR(mlir::ModuleOp module);

/// The `nnx-to-linalg` pass alone (conversion only, no fusion).
std::unique_ptr<mlir::Pass> createNNXToLinalgPass();

} // namespace nnx::codegen
