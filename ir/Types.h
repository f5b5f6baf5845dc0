//===- Types.h - nnx dtypes and shapes as MLIR types ----------------------===//
//
// The mapping between runtime dtypes (rt::DType) and MLIR element types (f32, f64, i32, i64,
// i1), and the spelling of tensor types in messages ("f32[1, 784]"). Shared by the front end
// and both executors.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/DType.h"

#include "mlir/IR/BuiltinTypes.h"

#include <optional>
#include <string>

namespace nnx::ir {

/// The MLIR element type of a dtype.
mlir::Type elementType(mlir::MLIRContext *ctx, rt::DType dtype);

/// The dtype of an MLIR element type; nullopt for types nnx does not use.
std::optional<rt::DType> dtypeOf(mlir::Type elementType);

/// The ranked tensor type of a dtype and shape.
mlir::RankedTensorType tensorType(mlir::MLIRContext *ctx, rt::DType dtype,
                                  llvm::ArrayRef<int64_t> shape);

/// "[784, 256]".
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// "f32[1, 784]" (or the MLIR spelling for a type that is not a ranked nnx tensor).
std::string formatType(mlir::Type type);

} // namespace nnx::ir
