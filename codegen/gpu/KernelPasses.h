//===- KernelPasses.h - The GPU pipeline's internal stages ----------------===//
//
// Between gpu/Pipeline.cpp, which orders the passes, and gpu/Ptx.cpp, which compiles the
// NVVM kernels they produce to PTX. Not for use outside codegen/gpu.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace nnx::codegen {

/// lowerToGpuLaunches, then kernel outlining: each launch a gpu.launch_func of a gpu.module
/// of its own (named after it: the kernel's PTX entry).
mlir::LogicalResult lowerToOutlinedKernels(mlir::ModuleOp module);

/// The gpu.modules of an outlined module lowered to the LLVM dialect with NVVM ops
/// (convert-gpu-to-nvvm); the host functions stay as they were.
mlir::LogicalResult lowerKernelsToNVVM(mlir::ModuleOp module);

/// lowerToOutlinedKernels, then lowerKernelsToNVVM.
mlir::LogicalResult lowerToNVVM(mlir::ModuleOp module);

/// emitPtx of a module already outlined (lowerToOutlinedKernels), which is not modified.
llvm::Expected<std::string> emitOutlinedPtx(mlir::ModuleOp module, llvm::StringRef arch);

} // namespace nnx::codegen
