//===- MathApproximationPass.cpp - The nnx-math-approximation pass --------===//
//
// math.exp, math.log and math.tanh on f32 become libm calls per element (LLVM 19 has no
// vector form of them for x86), which keeps LLVM from vectorising the loops around them:
// softmax, sigmoid, tanh and log-softmax ran one element at a time. Upstream's polynomial
// approximations (mlir/Dialect/Math/Transforms/PolynomialApproximation.cpp: Cephes-style
// range reduction and minimax polynomials, with exact handling of 0, +-inf and NaN) turn them
// into arithmetic that vectorises. Those flush subnormals (exp of x < ln FLT_MIN gave 0, log
// of a subnormal gave log FLT_MIN), so both are range-reduced there first. Measured
// against glibc (the interpreter's libm) on millions of f32 inputs over the whole range
// (tests/unit/CodegenTest.cpp asserts it): exp within 4 ulp (1 ulp for 99.98% of inputs),
// log within 1 ulp, tanh within 5 ulp; 0, +-inf and NaN exactly.
//
// Ops carrying the unit attribute `nnx.exact` keep libm: the random-normal lowering marks its
// log and cos so that normal draws stay bit-identical to the interpreter's (docs/rng.md).
// The `all` option (the GPU, which has no libm) approximates those too, and expands sin, cos
// and pow (expandSinCos, expandPow).
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace nnx::codegen {

#define GEN_PASS_DECL_MATHAPPROXIMATIONPASS
#define GEN_PASS_DEF_MATHAPPROXIMATIONPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

/// ln(2^23): the shift that moves a subnormal f32 into the normal range.
constexpr double kLn2Pow23 = 15.942385152878742;

/// exp(x) for x below ln(FLT_MIN) is subnormal, which the polynomial flushes to 0:
/// exp(x) = exp(x + 32) e^-32 there. Adding 32 to x in [-104, -87.3] is exact (the sum keeps
/// x's ulp), so the only extra roundings are e^-32's and the product's. Returns the new exp op
/// to approximate.
mlir::Operation *rangeReduceExp(mlir::OpBuilder &b, mlir::math::ExpOp op) {
  mlir::Location loc = op.getLoc();
  mlir::Value x = op.getOperand();
  auto constant = [&](double v) {
    return b.create<mlir::arith::ConstantOp>(loc, b.getF32FloatAttr(static_cast<float>(v)));
  };
  mlir::Value tiny =
      b.create<mlir::arith::CmpFOp>(loc, mlir::arith::CmpFPredicate::OLT, x, constant(-87.33654));
  mlir::Value shifted = b.create<mlir::arith::SelectOp>(
      loc, tiny, b.create<mlir::arith::AddFOp>(loc, x, constant(32.0)), x);
  auto exp = b.create<mlir::math::ExpOp>(loc, shifted);
  mlir::Value scaled = b.create<mlir::arith::MulFOp>(loc, exp, constant(1.2664165549094176e-14));
  op.replaceAllUsesWith(b.create<mlir::arith::SelectOp>(loc, tiny, scaled, exp).getResult());
  op.erase();
  return exp;
}

/// log(x) of a subnormal x: the polynomial treats it as FLT_MIN; log(x) = log(x 2^23) - 23 ln 2.
mlir::Operation *rangeReduceLog(mlir::OpBuilder &b, mlir::math::LogOp op) {
  mlir::Location loc = op.getLoc();
  mlir::Value x = op.getOperand();
  auto constant = [&](double v) {
    return b.create<mlir::arith::ConstantOp>(loc, b.getF32FloatAttr(static_cast<float>(v)));
  };
  mlir::Value tiny =
      b.create<mlir::arith::CmpFOp>(loc, mlir::arith::CmpFPredicate::OLT, x, constant(0x1p-126));
  mlir::Value scaled = b.create<mlir::arith::SelectOp>(
      loc, tiny, b.create<mlir::arith::MulFOp>(loc, x, constant(0x1p23)), x);
  auto log = b.create<mlir::math::LogOp>(loc, scaled);
  mlir::Value shifted = b.create<mlir::arith::SubFOp>(loc, log, constant(kLn2Pow23));
  op.replaceAllUsesWith(b.create<mlir::arith::SelectOp>(loc, tiny, shifted, log).getResult());
  op.erase();
  return log;
}

/// pow(x, y) as exp(y log|x|) with C's special cases (C11 F.10.4.4), for targets without
/// libm: x^0 = 1 and 1^y = 1 even for NaN; (-1)^+-inf = 1; a negative x (or -0) takes its
/// sign for an odd integer y; a finite negative x gives NaN for a non-integer y. The exp and log it
/// creates are approximated like any other.
void expandPow(mlir::OpBuilder &b, mlir::math::PowFOp op) {
  using namespace mlir;
  Location loc = op.getLoc();
  Value x = op.getLhs(), y = op.getRhs();
  auto constant = [&](double v) {
    return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(static_cast<float>(v)));
  };
  auto cmp = [&](arith::CmpFPredicate predicate, Value l, Value r) {
    return b.create<arith::CmpFOp>(loc, predicate, l, r);
  };
  Value absX = b.create<math::AbsFOp>(loc, x);
  Value magnitude = b.create<math::ExpOp>(
      loc, b.create<arith::MulFOp>(loc, y, b.create<math::LogOp>(loc, absX)));
  // y is an integer when floor(y) == y (inf included); odd when y/2 is not one.
  Value integer = cmp(arith::CmpFPredicate::OEQ, b.create<math::FloorOp>(loc, y), y);
  Value half = b.create<arith::MulFOp>(loc, y, constant(0.5));
  Value odd = b.create<arith::AndIOp>(
      loc, integer, cmp(arith::CmpFPredicate::ONE, b.create<math::FloorOp>(loc, half), half));
  Value bits = b.create<arith::BitcastOp>(loc, b.getI32Type(), x);
  Value negative = b.create<arith::CmpIOp>(
      loc, arith::CmpIPredicate::slt, bits, b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(0)));
  Value signed_ = b.create<arith::SelectOp>(loc, odd, b.create<arith::NegFOp>(loc, magnitude),
                                            magnitude);
  // A non-integer power of a negative number is NaN, but of -0 or -inf it is +0 or +inf.
  Value zeroOrInf = b.create<arith::OrIOp>(
      loc, cmp(arith::CmpFPredicate::OEQ, absX, constant(0.0)),
      cmp(arith::CmpFPredicate::OEQ, absX, constant(INFINITY)));
  Value nan = b.create<arith::SelectOp>(loc, zeroOrInf, magnitude,
                                        constant(std::numeric_limits<double>::quiet_NaN()));
  Value forNegative = b.create<arith::SelectOp>(loc, integer, signed_, nan);
  Value result = b.create<arith::SelectOp>(loc, negative, forNegative, magnitude);
  // |x| == 1 with y = +-inf, x == 1, y == 0: exactly 1.
  Value one = constant(1.0);
  Value unitBase = cmp(arith::CmpFPredicate::OEQ, absX, one);
  Value infiniteY =
      cmp(arith::CmpFPredicate::OEQ, b.create<math::AbsFOp>(loc, y), constant(INFINITY));
  Value isOne = b.create<arith::OrIOp>(
      loc, b.create<arith::OrIOp>(loc, cmp(arith::CmpFPredicate::OEQ, x, one),
                                  cmp(arith::CmpFPredicate::OEQ, y, constant(0.0))),
      b.create<arith::AndIOp>(loc, unitBase, infiniteY));
  op.replaceAllUsesWith(b.create<arith::SelectOp>(loc, isOne, one, result).getResult());
  op.erase();
}

/// sin(x) or cos(x) of an f32 for targets without libm: x is reduced modulo pi/2 in f64 with
/// fdlibm's three-part pi/2 (Cody-Waite: exact for |x| < 2^19 pi, about 1.6e6), and the
/// quadrant's sine or cosine is fdlibm's __kernel_sin/__kernel_cos polynomial in f64 on
/// |r| <= pi/4, rounded to f32 once: within 1 ulp of glibc there. Beyond 1.6e6 the reduction
/// loses accuracy (Payne-Hanek's is not implemented) and r is clamped, so results stay in
/// [-1, 1]. NaN and +-inf give NaN; sin(+-0) is +-0.
void expandSinCos(mlir::OpBuilder &b, mlir::Operation *op, bool isSin) {
  using namespace mlir;
  Location loc = op->getLoc();
  Type f64 = b.getF64Type();
  auto c = [&](double v) { return b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(v)); };
  auto add = [&](Value l, Value r) { return b.create<arith::AddFOp>(loc, l, r).getResult(); };
  auto sub = [&](Value l, Value r) { return b.create<arith::SubFOp>(loc, l, r).getResult(); };
  auto mul = [&](Value l, Value r) { return b.create<arith::MulFOp>(loc, l, r).getResult(); };
  /// a0 + z (a1 + z (a2 + ...)).
  auto horner = [&](Value z, llvm::ArrayRef<double> coefficients) {
    Value sum = c(coefficients.back());
    for (double a : llvm::reverse(coefficients.drop_back()))
      sum = add(c(a), mul(z, sum));
    return sum;
  };
  Value x = b.create<arith::ExtFOp>(loc, f64, op->getOperand(0));
  Value k = b.create<math::FloorOp>(loc, add(mul(x, c(0.63661977236758134308)), c(0.5)));
  // pio2_1 (33 bits), pio2_2 (the next 33), pio2_2t: k * pio2_1 is exact for |k| < 2^20.
  Value r = sub(sub(sub(x, mul(k, c(1.57079632673412561417e+00))),
                    mul(k, c(6.07710050630396597660e-11))),
                mul(k, c(2.02226624879595063154e-21)));
  r = b.create<arith::MinimumFOp>(loc, b.create<arith::MaximumFOp>(loc, r, c(-0.8)), c(0.8));
  Value z = mul(r, r);
  // __kernel_sin: r + r^3 (S1 + z S2 + ... + z^5 S6); __kernel_cos: 1 - z/2 + z^2 (C1 + ...).
  Value sine = add(r, mul(mul(z, r),
                          horner(z, {-1.66666666666666324348e-01, 8.33333333332248946124e-03,
                                     -1.98412698298579493134e-04, 2.75573137070700676789e-06,
                                     -2.50507602534068634195e-08, 1.58969099521155010221e-10})));
  Value cosine = add(sub(c(1.0), mul(z, c(0.5))),
                     mul(mul(z, z),
                         horner(z, {4.16666666666666019037e-02, -1.38888888888741095749e-03,
                                    2.48015872894767294178e-05, -2.75573143513906633035e-07,
                                    2.08757232129817482790e-09, -1.13596475577881948265e-11})));
  // The quadrant k mod 4 (two's complement keeps the low bits right for negative k); cos
  // is sin a quadrant on.
  Value quadrant = b.create<arith::AndIOp>(
      loc, b.create<arith::FPToSIOp>(loc, b.getI64Type(), k),
      b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(3)));
  if (!isSin)
    quadrant = b.create<arith::AndIOp>(
        loc, b.create<arith::AddIOp>(loc, quadrant,
                                     b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(1))),
        b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(3)));
  auto is = [&](int64_t q) {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, quadrant,
                                   b.create<arith::ConstantOp>(loc, b.getI64IntegerAttr(q)));
  };
  Value negSine = b.create<arith::NegFOp>(loc, sine), negCosine = b.create<arith::NegFOp>(loc, cosine);
  Value result = b.create<arith::SelectOp>(
      loc, is(0), sine,
      b.create<arith::SelectOp>(loc, is(1), cosine,
                                b.create<arith::SelectOp>(loc, is(2), negSine, negCosine)));
  Value rounded = b.create<arith::TruncFOp>(loc, b.getF32Type(), result);
  if (isSin) {
    // sin(+-0) = +-0: the polynomial's sum would lose the sign of -0.
    Value input = op->getOperand(0);
    Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0.0f));
    rounded = b.create<arith::SelectOp>(
        loc, b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OEQ, input, zero), input, rounded);
  }
  op->getResult(0).replaceAllUsesWith(rounded);
  op->erase();
}

struct MathApproximationPass : impl::MathApproximationPassBase<MathApproximationPass> {
  using MathApproximationPassBase::MathApproximationPassBase;

  /// f32 sin and cos reduced in f64 (upstream's polynomials lose the sign of tiny negatives
  /// and overflow for large arguments), f32 pow as exp(y log|x|).
  void expandWithoutLibm() {
    llvm::SmallVector<mlir::Operation *> ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (llvm::isa<mlir::math::SinOp, mlir::math::CosOp, mlir::math::PowFOp>(op) &&
          op->getResult(0).getType().isF32())
        ops.push_back(op);
    });
    for (mlir::Operation *op : ops) {
      mlir::OpBuilder b(op);
      if (auto pow = llvm::dyn_cast<mlir::math::PowFOp>(op))
        expandPow(b, pow);
      else
        expandSinCos(b, op, llvm::isa<mlir::math::SinOp>(op));
    }
  }

  void runOnOperation() override {
    // Without libm, sin, cos and pow become arithmetic on exp, log and f64 first: the exp and
    // log they create are then approximated like any other.
    if (all)
      expandWithoutLibm();
    llvm::SmallVector<mlir::Operation *> found, ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (op->getNumResults() != 1 || !op->getResult(0).getType().isF32())
        return;
      if (llvm::isa<mlir::math::ExpOp, mlir::math::LogOp, mlir::math::TanhOp>(op) &&
          (all || !op->hasAttr("nnx.exact")))
        found.push_back(op);
      else if (all && llvm::isa<mlir::math::ErfOp>(op))
        found.push_back(op);
    });
    if (found.empty())
      return;
    for (mlir::Operation *op : found) {
      mlir::OpBuilder b(op);
      if (auto exp = llvm::dyn_cast<mlir::math::ExpOp>(op))
        ops.push_back(rangeReduceExp(b, exp));
      else if (auto log = llvm::dyn_cast<mlir::math::LogOp>(op))
        ops.push_back(rangeReduceLog(b, log));
      else
        ops.push_back(op);
    }
    mlir::RewritePatternSet patterns(&getContext());
    mlir::populateMathPolynomialApproximationPatterns(patterns);
    if (all) {
      // Everything the approximations create (erf's exp) is approximated too.
      (void)mlir::applyPatternsAndFoldGreedily(getOperation(), std::move(patterns));
      return;
    }
    mlir::GreedyRewriteConfig config;
    config.strictMode = mlir::GreedyRewriteStrictness::ExistingOps;
    (void)mlir::applyOpPatternsAndFold(ops, std::move(patterns), config);
  }
};

} // namespace
} // namespace nnx::codegen
