//===- Elementwise.cpp - Lowering of elementwise nnx ops ------------------===//
//
// Every elementwise nnx op (unary, binary, cmp, select, convert) becomes one all-parallel
// linalg.generic with identity maps whose body is the op's scalar rule; these generics are
// what linalg-fuse-elementwise-ops fuses. The scalar rules follow interp/ElementwiseKernels.cpp
// exactly: same operation order (gelu, sigmoid), relu keeping NaN, integer wrap-around, the
// guarded integer division. Transcendentals are math ops, which the pipeline lowers to the
// same libm calls the interpreter makes. Constants become arith.constant, iota a generic on
// linalg.index.
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/LoweringUtils.h"
#include "codegen/linalg/Patterns.h"
#include "codegen/linalg/ScalarOps.h"

#include "ir/NNXDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace nnx::ir;

namespace nnx::codegen {
namespace {

bool isFloat(Value v) { return llvm::isa<FloatType>(v.getType()); }

/// a + b, a - b, a * b on floats or (wrapping) integers.
template <typename FloatOp, typename IntOp>
Value createArithmetic(OpBuilder &b, Location loc, Value x, Value y) {
  if (isFloat(x))
    return b.create<FloatOp>(loc, x, y);
  return b.create<IntOp>(loc, x, y);
}

//===----------------------------------------------------------------------===//
// Scalar bodies, one overload per op: the block arguments in, the element out.
//===----------------------------------------------------------------------===//

Value emitScalar(NegOp, OpBuilder &b, Location loc, ValueRange args) {
  Value x = args[0];
  if (isFloat(x))
    return b.create<arith::NegFOp>(loc, x);
  return b.create<arith::SubIOp>(loc, createIntConstant(b, loc, x.getType(), 0), x);
}

Value emitScalar(AbsOp, OpBuilder &b, Location loc, ValueRange args) {
  Value x = args[0];
  if (isFloat(x))
    return b.create<math::AbsFOp>(loc, x);
  Value zero = createIntConstant(b, loc, x.getType(), 0);
  Value negative = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, x, zero);
  return b.create<arith::SelectOp>(loc, negative, b.create<arith::SubIOp>(loc, zero, x), x);
}

Value emitScalar(ExpOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<math::ExpOp>(loc, args[0]);
}
Value emitScalar(LogOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<math::LogOp>(loc, args[0]);
}
Value emitScalar(SqrtOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<math::SqrtOp>(loc, args[0]);
}
Value emitScalar(TanhOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<math::TanhOp>(loc, args[0]);
}
Value emitScalar(SinOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<math::SinOp>(loc, args[0]);
}
Value emitScalar(CosOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<math::CosOp>(loc, args[0]);
}
Value emitScalar(ErfOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<math::ErfOp>(loc, args[0]); // libm's erf, as the interpreter
}
Value emitScalar(FloorOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<math::FloorOp>(loc, args[0]);
}

/// 1 / sqrt(x), two roundings like the interpreter (not an approximate rsqrt).
Value emitScalar(RsqrtOp, OpBuilder &b, Location loc, ValueRange args) {
  Value one = createFloatConstant(b, loc, args[0].getType(), 1.0);
  return b.create<arith::DivFOp>(loc, one, b.create<math::SqrtOp>(loc, args[0]));
}

/// 1 / (1 + exp(-x)).
Value emitScalar(SigmoidOp, OpBuilder &b, Location loc, ValueRange args) {
  Value one = createFloatConstant(b, loc, args[0].getType(), 1.0);
  Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, args[0]));
  return b.create<arith::DivFOp>(loc, one, b.create<arith::AddFOp>(loc, one, e));
}

/// NaN stays NaN, else x > 0 ? x : 0; `ugt` is true for NaN.
Value emitScalar(ReluOp, OpBuilder &b, Location loc, ValueRange args) {
  Value x = args[0];
  Value zero = createFloatConstant(b, loc, x.getType(), 0.0);
  Value keep = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UGT, x, zero);
  return b.create<arith::SelectOp>(loc, keep, x, zero);
}

/// x * (0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * (x * x * x))))).
Value emitScalar(GeluOp, OpBuilder &b, Location loc, ValueRange args) {
  Value x = args[0];
  Type type = x.getType();
  Value cube = b.create<arith::MulFOp>(loc, b.create<arith::MulFOp>(loc, x, x), x);
  Value inner = b.create<arith::AddFOp>(
      loc, x, b.create<arith::MulFOp>(loc, createFloatConstant(b, loc, type, 0.044715), cube));
  inner = b.create<arith::MulFOp>(
      loc, createFloatConstant(b, loc, type, 0.79788456080286535588), inner);
  Value onePlus = b.create<arith::AddFOp>(loc, createFloatConstant(b, loc, type, 1.0),
                                          b.create<math::TanhOp>(loc, inner));
  Value half = b.create<arith::MulFOp>(loc, createFloatConstant(b, loc, type, 0.5), onePlus);
  return b.create<arith::MulFOp>(loc, x, half);
}

Value emitScalar(NotOp, OpBuilder &b, Location loc, ValueRange args) {
  Value trueValue = createIntConstant(b, loc, args[0].getType(), 1);
  return b.create<arith::XOrIOp>(loc, args[0], trueValue);
}

Value emitScalar(AddOp, OpBuilder &b, Location loc, ValueRange args) {
  return createArithmetic<arith::AddFOp, arith::AddIOp>(b, loc, args[0], args[1]);
}
Value emitScalar(SubOp, OpBuilder &b, Location loc, ValueRange args) {
  return createArithmetic<arith::SubFOp, arith::SubIOp>(b, loc, args[0], args[1]);
}
Value emitScalar(MulOp, OpBuilder &b, Location loc, ValueRange args) {
  return createArithmetic<arith::MulFOp, arith::MulIOp>(b, loc, args[0], args[1]);
}

Value emitScalar(DivOp, OpBuilder &b, Location loc, ValueRange args) {
  if (isFloat(args[0]))
    return b.create<arith::DivFOp>(loc, args[0], args[1]);
  return createIntDivision(b, loc, args[0], args[1]);
}

Value emitScalar(RemOp, OpBuilder &b, Location loc, ValueRange args) {
  if (isFloat(args[0]))
    return b.create<arith::RemFOp>(loc, args[0], args[1]);
  return createIntRemainder(b, loc, args[0], args[1]);
}

Value emitScalar(PowOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<math::PowFOp>(loc, args[0], args[1]);
}
Value emitScalar(MaxOp, OpBuilder &b, Location loc, ValueRange args) {
  return createMaximum(b, loc, args[0], args[1]);
}
Value emitScalar(MinOp, OpBuilder &b, Location loc, ValueRange args) {
  return createMinimum(b, loc, args[0], args[1]);
}
Value emitScalar(AndOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<arith::AndIOp>(loc, args[0], args[1]);
}
Value emitScalar(OrOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<arith::OrIOp>(loc, args[0], args[1]);
}

Value emitScalar(CmpOp op, OpBuilder &b, Location loc, ValueRange args) {
  return createCompare(b, loc, op.getPredicate(), args[0], args[1]);
}
Value emitScalar(SelectOp, OpBuilder &b, Location loc, ValueRange args) {
  return b.create<arith::SelectOp>(loc, args[0], args[1], args[2]);
}
Value emitScalar(ConvertOp op, OpBuilder &b, Location loc, ValueRange args) {
  return createConversion(b, loc, args[0], op.getType().getElementType());
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// Any elementwise op: a linalg.generic over the result's shape, reading every operand
/// through the identity map, with the body emitScalar(op, ...).
template <typename OpTy> struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType resultType = getStaticTensorType(op->getResult(0).getType());
    if (!resultType)
      return rewriter.notifyMatchFailure(op, "needs a static tensor result");
    for (Value operand : adaptor.getOperands()) {
      RankedTensorType type = getStaticTensorType(operand.getType());
      if (!type || type.getShape() != resultType.getShape())
        return rewriter.notifyMatchFailure(op, "operands must have the result's shape");
    }
    Value result = createElementwiseGeneric(
        rewriter, op.getLoc(), resultType, adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) { return emitScalar(op, b, loc, args); });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// nnx.constant -> arith.constant of the same elements.
struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(ConstantOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto value = llvm::dyn_cast<TypedAttr>(op.getValue());
    if (!value)
      return rewriter.notifyMatchFailure(op, "constant value is not a typed attribute");
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, value);
    return success();
  }
};

/// nnx.iota -> a generic yielding linalg.index(dim) converted to the element type.
struct IotaLowering : OpConversionPattern<IotaOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(IotaOp op, OpAdaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = getStaticTensorType(op.getType());
    if (!type)
      return rewriter.notifyMatchFailure(op, "needs a static tensor result");
    int64_t dim = op.getDim();
    Value result = createElementwiseGeneric(
        rewriter, op.getLoc(), type, ValueRange{},
        [&](OpBuilder &b, Location loc, ValueRange) -> Value {
          Value index = b.create<linalg::IndexOp>(loc, dim);
          Value i64 = b.create<arith::IndexCastOp>(loc, b.getI64Type(), index);
          return createConversion(b, loc, i64, type.getElementType());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateElementwiseLoweringPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<ElementwiseLowering<NegOp>, ElementwiseLowering<AbsOp>,
               ElementwiseLowering<ExpOp>, ElementwiseLowering<LogOp>,
               ElementwiseLowering<SqrtOp>, ElementwiseLowering<RsqrtOp>,
               ElementwiseLowering<TanhOp>, ElementwiseLowering<SigmoidOp>,
               ElementwiseLowering<ReluOp>, ElementwiseLowering<GeluOp>,
               ElementwiseLowering<SinOp>, ElementwiseLowering<CosOp>,
               ElementwiseLowering<ErfOp>, ElementwiseLowering<FloorOp>,
               ElementwiseLowering<NotOp>>(context);
  patterns.add<ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>,
               ElementwiseLowering<MulOp>, ElementwiseLowering<DivOp>,
               ElementwiseLowering<RemOp>,
               ElementwiseLowering<PowOp>, ElementwiseLowering<MaxOp>,
               ElementwiseLowering<MinOp>, ElementwiseLowering<AndOp>,
               ElementwiseLowering<OrOp>>(context);
  patterns.add<ElementwiseLowering<CmpOp>, ElementwiseLowering<SelectOp>,
               ElementwiseLowering<ConvertOp>, ConstantLowering, IotaLowering>(context);
}

} // namespace nnx::codegen
