//===- Random.cpp - Lowering of random draws ------------------------------===//
//
// random_uniform and random_normal re-implement the counter-based generator of
// runtime/Rng.cpp (docs/rng.md) in arith ops, so the JIT draws the interpreter's bits:
//   drawKey = threefry2x32(key, {0, counter})            -- scalar ops before the generic
//   element i: (w0, w1) = threefry2x32(drawKey, {u32(i), u32(i >> 32)})
// where i is the row-major flat index, rebuilt inside a linalg.generic from linalg.index.
// Uniform is uniformFromBits(w0); normal is Box-Muller on both words in f32 with math.log,
// math.cos and math.sqrt, which the pipeline lowers to the same libm logf/cosf and the exact
// sqrt instruction. f64 results widen the f32 draw.
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/LoweringUtils.h"
#include "codegen/linalg/Patterns.h"
#include "codegen/linalg/ScalarOps.h"

#include "ir/NNXDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace nnx::ir;

namespace nnx::codegen {
namespace {

/// Two 32-bit words: a Threefry key, counter or output.
struct Words {
  Value w0, w1;
};

Value createU32(OpBuilder &b, Location loc, uint32_t value) {
  return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(static_cast<int32_t>(value)));
}

/// (x << r) | (x >> (32 - r)) on i32.
Value createRotateLeft(OpBuilder &b, Location loc, Value x, uint32_t r) {
  Value left = b.create<arith::ShLIOp>(loc, x, createU32(b, loc, r));
  Value right = b.create<arith::ShRUIOp>(loc, x, createU32(b, loc, 32 - r));
  return b.create<arith::OrIOp>(loc, left, right);
}

/// Threefry-2x32 with 20 rounds, exactly rt::threefry2x32 (wrapping i32 arithmetic).
Words createThreefry2x32(OpBuilder &b, Location loc, Words key, Words counter) {
  static constexpr uint32_t kRotations[2][4] = {{13, 15, 26, 6}, {17, 29, 16, 24}};
  Value parity = createU32(b, loc, 0x1BD11BDA);
  Value schedule[3] = {key.w0, key.w1,
                       b.create<arith::XOrIOp>(
                           loc, b.create<arith::XOrIOp>(loc, key.w0, key.w1), parity)};
  Value x0 = b.create<arith::AddIOp>(loc, counter.w0, schedule[0]);
  Value x1 = b.create<arith::AddIOp>(loc, counter.w1, schedule[1]);
  for (uint32_t group = 0; group < 5; ++group) {
    for (uint32_t rotation : kRotations[group % 2]) {
      x0 = b.create<arith::AddIOp>(loc, x0, x1);
      x1 = createRotateLeft(b, loc, x1, rotation);
      x1 = b.create<arith::XOrIOp>(loc, x1, x0);
    }
    uint32_t injection = group + 1;
    x0 = b.create<arith::AddIOp>(loc, x0, schedule[injection % 3]);
    Value keyPlusInjection = b.create<arith::AddIOp>(loc, schedule[(injection + 1) % 3],
                                                     createU32(b, loc, injection));
    x1 = b.create<arith::AddIOp>(loc, x1, keyPlusInjection);
  }
  return {x0, x1};
}

/// bit_cast<f32>((bits >> 9) | 0x3f800000) - 1: a float in [0, 1).
Value createUniformFromBits(OpBuilder &b, Location loc, Value bits) {
  Value mantissa = b.create<arith::ShRUIOp>(loc, bits, createU32(b, loc, 9));
  Value pattern = b.create<arith::OrIOp>(loc, mantissa, createU32(b, loc, 0x3f800000u));
  Value oneToTwo = b.create<arith::BitcastOp>(loc, b.getF32Type(), pattern);
  return b.create<arith::SubFOp>(loc, oneToTwo, createFloatConstant(b, loc, b.getF32Type(), 1));
}

/// sqrt(-2 log(1 - uniform(w0))) * cos(2 pi uniform(w1)), in f32 like rt::fillNormal.
Value createBoxMuller(OpBuilder &b, Location loc, Words words) {
  Type f32 = b.getF32Type();
  Value one = createFloatConstant(b, loc, f32, 1.0);
  Value u1 = b.create<arith::SubFOp>(loc, one, createUniformFromBits(b, loc, words.w0));
  Value u2 = createUniformFromBits(b, loc, words.w1);
  // `nnx.exact`: libm's log, not nnx-math-approximation's polynomial, so that normal draws
  // stay bit-identical to the interpreter's.
  auto log = b.create<math::LogOp>(loc, u1);
  log->setAttr("nnx.exact", b.getUnitAttr());
  Value radius = b.create<math::SqrtOp>(
      loc, b.create<arith::MulFOp>(loc, createFloatConstant(b, loc, f32, -2.0), log));
  Value angle = b.create<arith::MulFOp>(
      loc, createFloatConstant(b, loc, f32, 6.28318530717958647692), u2);
  return b.create<arith::MulFOp>(loc, radius, b.create<math::CosOp>(loc, angle));
}

/// The counter words of the element at the generic's current position: its row-major flat
/// index split into {low 32 bits, high 32 bits}.
Words createElementCounter(OpBuilder &b, Location loc, ArrayRef<int64_t> shape) {
  Type i64 = b.getI64Type(), i32 = b.getI32Type();
  Value flat = createIntConstant(b, loc, i64, 0);
  int64_t stride = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    Value index = b.create<arith::IndexCastOp>(loc, i64, b.create<linalg::IndexOp>(loc, d));
    Value scaled = b.create<arith::MulIOp>(loc, index, createIntConstant(b, loc, i64, stride));
    flat = b.create<arith::AddIOp>(loc, flat, scaled);
    stride *= shape[d];
  }
  Value high = b.create<arith::ShRUIOp>(loc, flat, createIntConstant(b, loc, i64, 32));
  return {b.create<arith::TruncIOp>(loc, i32, flat), b.create<arith::TruncIOp>(loc, i32, high)};
}

/// random_uniform (IsNormal false) or random_normal (IsNormal true).
template <typename OpTy, bool IsNormal> struct RandomLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;

  LogicalResult matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = getStaticTensorType(op.getType());
    auto keyType = llvm::dyn_cast<RankedTensorType>(adaptor.getKey().getType());
    auto counterType = llvm::dyn_cast<RankedTensorType>(adaptor.getCounter().getType());
    if (!type || !keyType || keyType.getShape() != ArrayRef<int64_t>{2} || !counterType ||
        counterType.getRank() != 0)
      return rewriter.notifyMatchFailure(op, "needs a static result, key i32[2], counter i32[]");
    Location loc = op.getLoc();
    auto extract = [&](Value tensor, ArrayRef<int64_t> indices) -> Value {
      SmallVector<Value> ivs;
      for (int64_t i : indices)
        ivs.push_back(rewriter.create<arith::ConstantIndexOp>(loc, i));
      return rewriter.create<tensor::ExtractOp>(loc, tensor, ivs);
    };
    Words key = {extract(adaptor.getKey(), {0}), extract(adaptor.getKey(), {1})};
    Words drawKey = createThreefry2x32(
        rewriter, loc, key, {createU32(rewriter, loc, 0), extract(adaptor.getCounter(), {})});
    Value result = createElementwiseGeneric(
        rewriter, loc, type, ValueRange{}, [&](OpBuilder &b, Location nl, ValueRange) {
          Words counter = createElementCounter(b, nl, type.getShape());
          Words bits = createThreefry2x32(b, nl, drawKey, counter);
          Value draw = IsNormal ? createBoxMuller(b, nl, bits)
                                : createUniformFromBits(b, nl, bits.w0);
          return draw.getType() == type.getElementType()
                     ? draw
                     : b.create<arith::ExtFOp>(nl, type.getElementType(), draw).getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateRandomLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<RandomLowering<RandomUniformOp, false>, RandomLowering<RandomNormalOp, true>>(
      patterns.getContext());
}

} // namespace nnx::codegen
