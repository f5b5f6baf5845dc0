//===- BufferMatmul.h - f32 matrix products on buffers, as the schedules see them -===//
//
// Both code generators replace the named linalg matmuls on buffers by kernels of their own
// (cpu/GemmSchedulePass.cpp: calls of the GEMM and few-rows kernels; gpu/TileMatmulPass.cpp:
// shared-memory tiled launches). This is what they match: the product's operands, form and
// sizes, and the zero fill right before it that a kernel can fold into its first step.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace nnx::codegen {

/// One product C[b] (+)= op(A[b]) op(B[b]) on f32 buffers of static shapes: linalg.matmul,
/// batch_matmul or their transpose_a / transpose_b forms (those autodiff produces).
struct BufferMatmul {
  mlir::linalg::LinalgOp op;
  mlir::Value a, b, c;
  bool batched = false, transA = false, transB = false;
  int64_t batch = 1, m = 0, n = 0, k = 0; ///< C is [batch,] m x n; the sums have k terms
  bool zeroInit = false; ///< C's zero fill was folded (foldZeroFill): the kernel starts at 0
};

/// The product `op` computes, or nullopt when it is not such a matmul (another op, another
/// element type, tensors, a dynamic shape).
std::optional<BufferMatmul> matchBufferMatmul(mlir::linalg::LinalgOp op);

/// Erases a `linalg.fill 0` of C that comes before the product with nothing touching memory in
/// between (allocations aside), and sets `zeroInit`: the kernel starts its sums at zero
/// instead of reading C.
void foldZeroFill(BufferMatmul &product);

} // namespace nnx::codegen
