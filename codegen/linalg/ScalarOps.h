//===- ScalarOps.h - Scalar semantics of nnx ops in arith/math ------------===//
//
// The element-level rules of nnx (interp/Kernels.h) written as arith and math ops, for the
// bodies of linalg.generic: constants, NaN-propagating max/min, guarded integer division,
// comparisons and the saturating conversions of rt::Tensor::astype. Elementwise ops and
// reductions share them so both agree with the interpreter.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/NNXDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/APInt.h"

namespace nnx::codegen {

/// A float constant of the float type `type`.
mlir::Value createFloatConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                                double value);

/// An integer constant of the integer type `type` (i1 included), from a signed value.
mlir::Value createIntConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                              int64_t value);

/// A constant of the float or integer type `type` with the numeric value `value`.
mlir::Value createNumericConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type type,
                                  double value);

/// max(x, y) as the interpreter computes it: floats give x + y when either is NaN, else
/// (x > y ? x : y); integers compare signed.
mlir::Value createMaximum(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y);

/// min(x, y), the mirror of createMaximum.
mlir::Value createMinimum(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y);

/// Signed integer division truncating toward zero, with x / 0 = 0 and MIN / -1 = MIN. The
/// divisor is made safe before the division, which is never executed on a trapping pair.
mlir::Value createIntDivision(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                              mlir::Value y);

/// x rem y on integers with the interpreter's rule: the sign of x (C++ `%`); x rem 0 and
/// INT_MIN rem -1 are 0 (LLVM's srem would trap).
mlir::Value createIntRemainder(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                               mlir::Value y);

/// The i1 result of comparing x and y (floats ordered except `ne`, integers signed).
mlir::Value createCompare(mlir::OpBuilder &b, mlir::Location loc, ir::CmpPredicate predicate,
                          mlir::Value x, mlir::Value y);

/// `x` converted to `to` by the rules of rt::Tensor::astype: float to integer truncates and
/// saturates (NaN to 0), anything to bool is x != 0, bool to a number is 0 or 1.
mlir::Value createConversion(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                             mlir::Type to);

} // namespace nnx::codegen
