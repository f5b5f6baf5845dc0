//===- GemmKernel.h - The f32 GEMM kernel function nnx-gemm-schedule calls -===//
//
// One function per module (per blocking, serial or threaded) computes every scheduled
// product: C (+)= A B on strided 2-D views, with the GotoBLAS/BLIS loop nest in the vector
// dialect. Call sites pass views (transposed and batch-sliced operands are just strides), so
// LLVM compiles the kernel once however many products a train step has.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <string>
#include <utility>

namespace nnx::codegen {

/// The register and cache blocking of the kernel (see GemmKernel.cpp for the loop nest).
struct GemmBlocking {
  int64_t vectorWidth; ///< f32 lanes of one vector register (8: AVX2, 16: AVX-512)
  int64_t mr;          ///< rows of the register tile
  int64_t nr;          ///< columns of the register tile, a multiple of vectorWidth
  int64_t mc, kc, nc;  ///< cache blocks of M, K and N (mc a multiple of mr, nc of nr)
};

/// The type of the kernel's A and B: memref<?x?xf32, strided<[?, ?], offset: ?>>.
mlir::MemRefType getGemmOperandType(mlir::MLIRContext *context);

/// The type of the kernel's C, whose rows must be contiguous:
/// memref<?x?xf32, strided<[?, 1], offset: ?>>.
mlir::MemRefType getGemmResultType(mlir::MLIRContext *context);

/// The kernel `func.func private @name(%a, %b, %c, %zero_init: i1)` of `module`, created on
/// first use: C[M, N] = (zero_init ? 0 : C) + A[M, K] B[K, N], each element summed in ascending
/// k with fused multiply-adds. `parallel` spreads the column panels and the packing over
/// threads with scf.parallel. The function is marked noinline. With `declarationOnly` it has
/// no body: the CPU JIT links the kernel library's compiled copy (KernelLibrary.h).
mlir::func::FuncOp getOrCreateGemmKernel(mlir::ModuleOp module, const GemmBlocking &blocking,
                                         bool parallel, bool declarationOnly = false);

/// Marks `kernel` as a kernel of the library: noinline (one copy for LLVM to compile, not one
/// per call site) and, for 16-lane vectors, 512-bit vector types kept legal (x86 cores tuned
/// to prefer 256-bit vectors would otherwise split every zmm operation in two).
void markKernelFunction(mlir::func::FuncOp kernel, int64_t vectorWidth);

/// The kernel's symbol name, which encodes its blocking and variant:
/// nnx_sgemm_<mr>x<nr>_v<vectorWidth>_<mc>_<kc>_<nc>[_mt].
std::string getGemmKernelName(const GemmBlocking &blocking, bool parallel);

/// The blocking and variant a kernel name encodes; nullopt when `name` is not one.
std::optional<std::pair<GemmBlocking, bool>> parseGemmKernelName(llvm::StringRef name);

} // namespace nnx::codegen
