//===- LoweringUtils.h - Building blocks of the nnx-to-linalg patterns ----===//
//
// The pieces every lowering pattern assembles: init tensors in destination-passing style
// (tensor.empty, linalg.fill), all-parallel and reducing linalg.generic ops whose scalar body
// is given as a callback, and reshapes between static shapes with tensor.collapse_shape /
// tensor.expand_shape.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace nnx::codegen {

/// Builds the scalar body of a linalg.generic from its block arguments: the input elements,
/// then (for a reduction) the accumulator. Returns the value to yield.
using BodyBuilder =
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location, mlir::ValueRange)>;

/// `type` as a ranked tensor type of static shape, or null.
mlir::RankedTensorType getStaticTensorType(mlir::Type type);

/// A tensor.empty of `type`.
mlir::Value createEmptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::RankedTensorType type);

/// A tensor of `type` with every element `scalar` (tensor.empty + linalg.fill).
mlir::Value createFilledTensor(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::RankedTensorType type, mlir::Value scalar);

/// An all-parallel linalg.generic that computes a fresh tensor of `resultType`, element by
/// element, from `inputs` read through `inputMaps` (from the result's dimensions).
mlir::Value createParallelGeneric(mlir::OpBuilder &b, mlir::Location loc,
                                  mlir::RankedTensorType resultType, mlir::ValueRange inputs,
                                  llvm::ArrayRef<mlir::AffineMap> inputMaps, BodyBuilder body);

/// createParallelGeneric with identity maps: every input has the result's shape.
mlir::Value createElementwiseGeneric(mlir::OpBuilder &b, mlir::Location loc,
                                     mlir::RankedTensorType resultType, mlir::ValueRange inputs,
                                     BodyBuilder body);

/// The map from `rank` loop dimensions to those not in `axes` (sorted): how a reduction's
/// result, or a per-lane value such as softmax's maximum, is indexed.
mlir::AffineMap getDroppedAxesMap(int64_t rank, llvm::ArrayRef<int64_t> axes,
                                  mlir::MLIRContext *context);

/// A linalg.generic over a `rank`-dimensional loop space that reduces `axes` (sorted): the
/// inputs are read through `inputMaps`, the result (of `resultType`, the kept dimensions) is
/// initialised with `init` and updated by `body(inputs..., accumulator)`. The loops visit the
/// space in row-major order, so each result element combines its inputs in that order.
mlir::Value createReductionGeneric(mlir::OpBuilder &b, mlir::Location loc,
                                   mlir::RankedTensorType resultType, int64_t rank,
                                   llvm::ArrayRef<int64_t> axes, mlir::ValueRange inputs,
                                   llvm::ArrayRef<mlir::AffineMap> inputMaps, mlir::Value init,
                                   BodyBuilder body);

/// `input` zero-padded (stablehlo.pad): along dimension d, low[d] zeros, the elements with
/// interior[d] zeros between neighbours, high[d] zeros (all >= 0; `resultType` has the padded
/// shape). A filled tensor with the input inserted by a strided tensor.insert_slice.
mlir::Value createZeroPadded(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                             mlir::RankedTensorType resultType, llvm::ArrayRef<int64_t> low,
                             llvm::ArrayRef<int64_t> interior);

/// `input` with the static shape of `resultType` (same element count), by one
/// tensor.collapse_shape or tensor.expand_shape when the shapes nest, else by collapsing to
/// one dimension and expanding from it.
mlir::Value createReshape(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                          mlir::RankedTensorType resultType);

} // namespace nnx::codegen
