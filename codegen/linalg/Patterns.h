//===- Patterns.h - nnx-to-linalg rewrite patterns by op family -----------===//
//
// Each op family of the nnx dialect has its own file of conversion patterns (the
// torch-mlir TorchToLinalg layout); the nnx-to-linalg pass collects them all through these
// populate functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/PatternMatch.h"

namespace nnx::codegen {

/// Unary, binary, compare, select and convert ops, constants and iota (Elementwise.cpp).
void populateElementwiseLoweringPatterns(mlir::RewritePatternSet &patterns);

/// nnx.matmul to linalg.matmul / linalg.batch_matmul (Matmul.cpp).
void populateMatmulLoweringPatterns(mlir::RewritePatternSet &patterns);

/// conv, pool_sum, pool_max and pool_min to linalg's named window ops (Conv.cpp).
void populateConvLoweringPatterns(mlir::RewritePatternSet &patterns);

/// Reductions, softmax and log_softmax (Reduction.cpp).
void populateReductionLoweringPatterns(mlir::RewritePatternSet &patterns);

/// broadcast_in_dim, reshape, transpose, concat, slice, pad and gather (Shape.cpp).
void populateShapeLoweringPatterns(mlir::RewritePatternSet &patterns);

/// random_uniform and random_normal (Random.cpp).
void populateRandomLoweringPatterns(mlir::RewritePatternSet &patterns);

/// reverse (Scan.cpp, beside the scan-to-scf pass).
void populateScanLoweringPatterns(mlir::RewritePatternSet &patterns);

/// All of the above.
void populateNNXToLinalgPatterns(mlir::RewritePatternSet &patterns);

} // namespace nnx::codegen
