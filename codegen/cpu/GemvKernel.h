//===- GemvKernel.h - The f32 few-rows product kernel nnx-gemm-schedule calls -===//
//
// Products with fewer rows than the GEMM's register tile (a batch-1 forward: one row of x
// times the kernel) do not pay for packing, and as plain loops they load and store C once per
// k. This kernel keeps a row's block of C in vector registers across the whole k loop and
// streams B once per row. Like the GEMM kernel it is one function, called on strided 2-D
// views, compiled once by the kernel library.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <string>

namespace nnx::codegen {

/// The register blocking of the few-rows kernel: each pass over k accumulates `accumulators`
/// vectors of `vectorWidth` f32 lanes, split between the rows of a group (4, 2 or 1 rows).
struct GemvBlocking {
  int64_t vectorWidth;  ///< f32 lanes of one vector register (8: AVX2, 16: AVX-512)
  int64_t accumulators; ///< vector registers holding C, at least 4 (one per row of a group)
};

/// The blocking for vectors of `vectorWidth` lanes: 16 of AVX-512's 32 registers hold C, 12 of
/// AVX2's 16 (as the GEMM's register tiles).
inline GemvBlocking getGemvBlocking(int64_t vectorWidth) {
  return {vectorWidth, vectorWidth >= 16 ? 16 : 12};
}

/// The kernel `func.func private @name(%a, %b, %c, %zero_init: i1)` of `module`, created on
/// first use: C[M, N] = (zero_init ? 0 : C) + A[M, K] B[K, N] for any M (meant for M below
/// the GEMM's register tile), each element summed in ascending k with fused multiply-adds
/// (as the GEMM kernel: results equal its). A: getGemmOperandType (any strides); B and C:
/// getGemmResultType (rows contiguous: B's rows are loaded as vectors). Marked noinline. With
/// `declarationOnly` it has no body (the kernel library's compiled copy is linked).
mlir::func::FuncOp getOrCreateGemvKernel(mlir::ModuleOp module, const GemvBlocking &blocking,
                                         bool declarationOnly = false);

/// The kernel's symbol name: nnx_sgemv_<accumulators>xv<vectorWidth>.
std::string getGemvKernelName(const GemvBlocking &blocking);

/// The blocking a kernel name encodes; nullopt when `name` is not one.
std::optional<GemvBlocking> parseGemvKernelName(llvm::StringRef name);

} // namespace nnx::codegen
