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

/// Registers the dialects nnx IR uses (nnx, func, arith for nothing else) in `registry`.
void registerNNXDialects(mlir::DialectRegistry &registry);

} // namespace nnx::ir
