//===- GpuPipeline.h - Lowering nnx IR for NVIDIA GPUs --------------------===//
//
// The GPU half of code generation: after the lowering both targets share (nnx to linalg to
// buffers, linalg/TensorPipeline.h), every linalg op becomes a kernel launch (gpu.launch,
// blocks and threads mapped from its parallel loops), and the kernels become PTX through
// NVVM and LLVM's NVPTX back end. The same mapped IR can run on the host (lowerToHostLoops)
// so that machines without a GPU test the mapping against the interpreter.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace nnx::codegen {

/// The GPU architectures PTX is generated for (`--gpu-arch`): Ampere (A100) and Hopper
/// (H100/H200). `sm_80` when nothing chooses.
bool isSupportedGpuArch(llvm::StringRef arch);
inline constexpr const char *kDefaultGpuArch = "sm_80";

/// Lowers an nnx module to host functions whose linalg ops are gpu.launch ops: one launch
/// per op, its parallel dimensions tiled into blocks of up to 256 threads (innermost
/// dimension on threadIdx.x), reductions run by each thread over its outputs, f32 math as
/// polynomials (no libm or libdevice on the device). Fails with MLIR diagnostics.
mlir::LogicalResult lowerToGpuLaunches(mlir::ModuleOp module);

/// lowerToGpuLaunches, then every launch as loops over its blocks and threads on the host
/// (nnx-gpu-launch-to-loops): scf/memref/arith on buffers, for the CPU's loops-to-LLVM tail
/// (lowerKernelsToLLVMDialect). Runs the kernels' exact index arithmetic on the CPU.
mlir::LogicalResult lowerToHostLoops(mlir::ModuleOp module);

/// Lowers `module` to the host side of a GPU function and returns the PTX of its kernels for
/// `arch`, both from one lowering: lowerToGpuLaunches, kernel outlining, the kernels compiled
/// as emitPtx does (its errors, std::errc::not_supported included), then every launch a call
/// of the runtime's launcher (nnx-gpu-launch-to-runtime-calls), for lowerGpuHostToLLVMDialect.
/// The module attribute `nnx.gpu_kernels` lists the kernels' names (their PTX entries) in the
/// order the calls index them. `ptxMillis`, when given, receives the PTX compile's time.
llvm::Expected<std::string> lowerToGpuHost(mlir::ModuleOp module, llvm::StringRef arch,
                                           double *ptxMillis = nullptr);

/// The newest architecture of isSupportedGpuArch a device of compute capability
/// `major`.`minor` runs (PTX is forward compatible: an sm_100 device runs sm_90 PTX), or ""
/// below sm_80.
std::string gpuArchForDevice(int major, int minor);

/// The PTX of every kernel of an nnx module, for `arch` (isSupportedGpuArch): the kernels are
/// outlined from lowerToGpuLaunches' IR, lowered to NVVM and compiled by LLVM's NVPTX back
/// end at -O3 (PTX ISA 7.8). Each kernel's entry is named after its gpu.module. The host
/// side (allocations, launches) is not part of the text. IR the backend does not compile yet
/// (math with no GPU lowering: f64 transcendentals; a kernel whose parameters exceed the
/// 4352 bytes of a launch) fails with an error whose code is std::errc::not_supported;
/// anything else is a fault.
llvm::Expected<std::string> emitPtx(mlir::ModuleOp module, llvm::StringRef arch);

/// Succeeds when emitPtx would compile `module`: the same lowering and checks, without the
/// NVPTX back end. `--backend gpu-host` calls it first, so that the emulation refuses what
/// the device cannot run (f64 transcendentals, oversized launches) with emitPtx's errors
/// (std::errc::not_supported) instead of running them with the CPU's libm.
llvm::Error checkGpuSupport(mlir::ModuleOp module);

} // namespace nnx::codegen
