//===- NNXDialect.h - The nnx dialect and its ops -------------------------===//
//
// Include this to use the nnx dialect: the dialect class, the generated op classes
// (nnx::ir::MatmulOp, ...) and the comparison-predicate enum.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace nnx::ir {
/// The i1 tensor type with the shape of `type` (a ranked tensor): the type of comparisons.
mlir::Type getI1SameShape(mlir::Type type);
} // namespace nnx::ir

#include "ir/NNXDialect.h.inc"
#include "ir/NNXEnums.h.inc"

#define GET_OP_CLASSES
#include "ir/NNXOps.h.inc"

namespace mlir {
class DialectRegistry;
}

namespace nnx::ir {

/// Creates an nnx.scan at `b`'s insertion point with an empty body block whose arguments have
/// the types the verifier expects (the carries' types, the slices of `xs`, the consts' types).
/// `stackedTypes` are the types of the step outputs (without the leading dimension); the
/// results are the carries' types followed by them stacked to [length, ...]. The caller fills
/// the body and ends it with nnx.yield.
ScanOp createScan(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange init,
                  mlir::ValueRange xs, mlir::ValueRange consts, mlir::TypeRange stepOutputTypes,
                  int64_t length, bool reverse);

/// `type` (a ranked tensor) with a new leading dimension of extent `extent`.
mlir::RankedTensorType prependDim(mlir::Type type, int64_t extent);

/// `type` (a ranked tensor of rank >= 1) without its leading dimension.
mlir::RankedTensorType dropLeadingDim(mlir::Type type);

/// The output extent of a VALID sliding window over `extent` elements: the window covers
/// (window - 1) * dilation + 1 elements and moves by `stride` (all >= 1); 0 when it does not
/// fit. (lax.conv_general_dilated / reduce_window: (extent - span) / stride + 1.)
int64_t windowOutputExtent(int64_t extent, int64_t window, int64_t stride, int64_t dilation);

/// Registers the dialects nnx IR uses (nnx, func, arith for nothing else) in `registry`.
void registerNNXDialects(mlir::DialectRegistry &registry);

} // namespace nnx::ir
