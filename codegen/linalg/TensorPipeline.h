//===- TensorPipeline.h - The half of code generation both targets share --===//
//
// nnx IR becomes linalg on tensors (fused), then buffers, the same way for the CPU and the GPU
// code generators: these functions add those passes to a pass manager, in the order (with
// reasons) TensorPipeline.cpp writes down. codegen/cpu and codegen/gpu continue from buffers.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <functional>

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace nnx::codegen {

/// Adds the tensor half: every nnx op to linalg/tensor/arith/math on tensors, scans to
/// scf.for, single-group convolutions to im2col + linalg.matmul, elementwise fusion.
void addTensorPasses(mlir::OpPassManager &pm);

/// Adds bufferization of a module produced by the tensor half: the host entry's calling
/// convention (read-only arguments, a C interface), one-shot bufferization across function
/// boundaries, results as caller-allocated out-params computed in place, ownership-based
/// deallocation. Ends on memref/linalg/scf, before any target's own passes.
void addBufferizationPasses(mlir::OpPassManager &pm);

/// Runs the passes `build` adds on `module`, with the verifier after each pass where
/// NNX_VERIFY_PASSES is set and MLIR's timing report where NNX_PASS_TIMING=1. Fails with the
/// passes' MLIR diagnostics.
mlir::LogicalResult runPasses(mlir::ModuleOp module,
                              const std::function<void(mlir::OpPassManager &)> &build);

} // namespace nnx::codegen
