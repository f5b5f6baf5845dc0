//===- KernelPasses.h - The GPU pipeline's internal stages ----------------===//
//
// Between gpu/Pipeline.cpp, which orders the passes, and gpu/Ptx.cpp, which compiles the
// NVVM kernels they produce to PTX. Not for use outside codegen/gpu.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

namespace nnx::codegen {

/// lowerToGpuLaunches, then kernel outlining and every gpu.module lowered to the LLVM
/// dialect with NVVM ops (convert-gpu-to-nvvm); the host functions stay as they were.
mlir::LogicalResult lowerToNVVM(mlir::ModuleOp module);

} // namespace nnx::codegen
