//===- ScalarOps.cpp - Scalar semantics of nnx ops in arith/math ----------===//
//
// See ScalarOps.h. Each function mirrors one rule of interp/ElementwiseKernels.cpp or of
// rt::Tensor::astype; where LLVM would make an operation poison or trap (fptosi out of range,
// sdiv by zero or MIN / -1) the operand is first replaced by a harmless one and the rule's
// result is selected afterwards.
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/ScalarOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>

using namespace mlir;

namespace nnx::codegen {

Value createFloatConstant(OpBuilder &b, Location loc, Type type, double value) {
  return b.create<arith::ConstantOp>(loc, b.getFloatAttr(type, value));
}

Value createIntConstant(OpBuilder &b, Location loc, Type type, int64_t value) {
  return b.create<arith::ConstantOp>(loc, b.getIntegerAttr(type, value));
}

Value createNumericConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (llvm::isa<FloatType>(type))
    return createFloatConstant(b, loc, type, value);
  return createIntConstant(b, loc, type, static_cast<int64_t>(value));
}

/// x > y ? x : y (or <), with the float NaN rule: either NaN gives x + y.
static Value createExtremum(OpBuilder &b, Location loc, Value x, Value y, bool isMax) {
  if (!llvm::isa<FloatType>(x.getType())) {
    auto pred = isMax ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::slt;
    Value pick = b.create<arith::CmpIOp>(loc, pred, x, y);
    return b.create<arith::SelectOp>(loc, pick, x, y);
  }
  auto pred = isMax ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT;
  Value pick = b.create<arith::CmpFOp>(loc, pred, x, y);
  Value extremum = b.create<arith::SelectOp>(loc, pick, x, y);
  Value eitherNaN = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNO, x, y);
  Value sum = b.create<arith::AddFOp>(loc, x, y);
  return b.create<arith::SelectOp>(loc, eitherNaN, sum, extremum);
}

Value createMaximum(OpBuilder &b, Location loc, Value x, Value y) {
  return createExtremum(b, loc, x, y, /*isMax=*/true);
}

Value createMinimum(OpBuilder &b, Location loc, Value x, Value y) {
  return createExtremum(b, loc, x, y, /*isMax=*/false);
}

Value createIntDivision(OpBuilder &b, Location loc, Value x, Value y) {
  Type type = x.getType();
  unsigned width = type.getIntOrFloatBitWidth();
  Value zero = createIntConstant(b, loc, type, 0);
  Value one = createIntConstant(b, loc, type, 1);
  Value minusOne = createIntConstant(b, loc, type, -1);
  Value min = b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(type, APInt::getSignedMinValue(width)));
  Value byZero = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, y, zero);
  Value overflows = b.create<arith::AndIOp>(
      loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, x, min),
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, y, minusOne));
  // MIN / 1 is MIN, the wanted result of MIN / -1; the quotient by 1 is discarded for x / 0.
  Value unsafe = b.create<arith::OrIOp>(loc, byZero, overflows);
  Value divisor = b.create<arith::SelectOp>(loc, unsafe, one, y);
  Value quotient = b.create<arith::DivSIOp>(loc, x, divisor);
  return b.create<arith::SelectOp>(loc, byZero, zero, quotient);
}

Value createIntRemainder(OpBuilder &b, Location loc, Value x, Value y) {
  Type type = x.getType();
  unsigned width = type.getIntOrFloatBitWidth();
  Value zero = createIntConstant(b, loc, type, 0);
  Value one = createIntConstant(b, loc, type, 1);
  Value minusOne = createIntConstant(b, loc, type, -1);
  Value min = b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(type, APInt::getSignedMinValue(width)));
  Value byZero = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, y, zero);
  Value overflows = b.create<arith::AndIOp>(
      loc, b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, x, min),
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, y, minusOne));
  // Both cases give 0; the remainder by 1 (also 0) stands in for the trapping one.
  Value unsafe = b.create<arith::OrIOp>(loc, byZero, overflows);
  Value divisor = b.create<arith::SelectOp>(loc, unsafe, one, y);
  return b.create<arith::RemSIOp>(loc, x, divisor);
}

Value createCompare(OpBuilder &b, Location loc, ir::CmpPredicate predicate, Value x, Value y) {
  if (llvm::isa<FloatType>(x.getType())) {
    // C++ comparisons: all false on NaN except !=.
    arith::CmpFPredicate pred = arith::CmpFPredicate::OEQ;
    switch (predicate) {
    case ir::CmpPredicate::eq: pred = arith::CmpFPredicate::OEQ; break;
    case ir::CmpPredicate::ne: pred = arith::CmpFPredicate::UNE; break;
    case ir::CmpPredicate::lt: pred = arith::CmpFPredicate::OLT; break;
    case ir::CmpPredicate::le: pred = arith::CmpFPredicate::OLE; break;
    case ir::CmpPredicate::gt: pred = arith::CmpFPredicate::OGT; break;
    case ir::CmpPredicate::ge: pred = arith::CmpFPredicate::OGE; break;
    }
    return b.create<arith::CmpFOp>(loc, pred, x, y);
  }
  arith::CmpIPredicate pred = arith::CmpIPredicate::eq;
  switch (predicate) {
  case ir::CmpPredicate::eq: pred = arith::CmpIPredicate::eq; break;
  case ir::CmpPredicate::ne: pred = arith::CmpIPredicate::ne; break;
  case ir::CmpPredicate::lt: pred = arith::CmpIPredicate::slt; break;
  case ir::CmpPredicate::le: pred = arith::CmpIPredicate::sle; break;
  case ir::CmpPredicate::gt: pred = arith::CmpIPredicate::sgt; break;
  case ir::CmpPredicate::ge: pred = arith::CmpIPredicate::sge; break;
  }
  return b.create<arith::CmpIOp>(loc, pred, x, y);
}

/// Float to a wider-than-bool integer: truncation toward zero, saturated at the type's range,
/// NaN to 0. 2^(width-1) is exact in f32 and f64, so the range checks are exact.
static Value createSaturatingFloatToInt(OpBuilder &b, Location loc, Value x, Type to) {
  Type from = x.getType();
  unsigned width = to.getIntOrFloatBitWidth();
  double bound = std::ldexp(1.0, static_cast<int>(width) - 1);
  Value upper = createFloatConstant(b, loc, from, bound);
  Value lower = createFloatConstant(b, loc, from, -bound);
  Value tooHigh = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE, x, upper);
  Value tooLow = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, x, lower);
  // Ordered comparisons: false for NaN, which therefore converts the safe 0.
  Value inRange = b.create<arith::AndIOp>(
      loc, b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE, x, lower),
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, x, upper));
  Value safe = b.create<arith::SelectOp>(loc, inRange, x, createFloatConstant(b, loc, from, 0));
  Value converted = b.create<arith::FPToSIOp>(loc, to, safe);
  Value max = b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(to, APInt::getSignedMaxValue(width)));
  Value min = b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(to, APInt::getSignedMinValue(width)));
  converted = b.create<arith::SelectOp>(loc, tooHigh, max, converted);
  return b.create<arith::SelectOp>(loc, tooLow, min, converted);
}

Value createConversion(OpBuilder &b, Location loc, Value x, Type to) {
  Type from = x.getType();
  if (from == to)
    return x;
  bool fromFloat = llvm::isa<FloatType>(from), toFloat = llvm::isa<FloatType>(to);
  if (to.isInteger(1)) {
    if (fromFloat) // NaN != 0 is true, hence the unordered predicate.
      return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, x,
                                     createFloatConstant(b, loc, from, 0));
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, x,
                                   createIntConstant(b, loc, from, 0));
  }
  if (from.isInteger(1))
    return toFloat ? b.create<arith::UIToFPOp>(loc, to, x).getResult()
                   : b.create<arith::ExtUIOp>(loc, to, x).getResult();
  if (fromFloat && toFloat)
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? b.create<arith::ExtFOp>(loc, to, x).getResult()
               : b.create<arith::TruncFOp>(loc, to, x).getResult();
  if (fromFloat)
    return createSaturatingFloatToInt(b, loc, x, to);
  if (toFloat)
    return b.create<arith::SIToFPOp>(loc, to, x);
  return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
             ? b.create<arith::ExtSIOp>(loc, to, x).getResult()
             : b.create<arith::TruncIOp>(loc, to, x).getResult();
}

} // namespace nnx::codegen
