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

struct MathApproximationPass : impl::MathApproximationPassBase<MathApproximationPass> {
  using MathApproximationPassBase::MathApproximationPassBase;

  void runOnOperation() override {
    llvm::SmallVector<mlir::Operation *> found, ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (op->getNumResults() != 1 || !op->getResult(0).getType().isF32())
        return;
      if (llvm::isa<mlir::math::ExpOp, mlir::math::LogOp, mlir::math::TanhOp>(op) &&
          (all || !op->hasAttr("nnx.exact")))
        found.push_back(op);
      else if (all && llvm::isa<mlir::math::ErfOp, mlir::math::SinOp, mlir::math::CosOp>(op))
        found.push_back(op);
    });
    if (all) {
      // Expanded first: its exp and log join the ops approximated below.
      llvm::SmallVector<mlir::math::PowFOp> pows;
      getOperation().walk([&](mlir::math::PowFOp op) {
        if (op.getType().isF32())
          pows.push_back(op);
      });
      for (mlir::math::PowFOp op : pows) {
        mlir::OpBuilder b(op);
        expandPow(b, op);
      }
      getOperation().walk([&](mlir::Operation *op) {
        if (llvm::isa<mlir::math::ExpOp, mlir::math::LogOp>(op) && pows.size() &&
            op->getResult(0).getType().isF32() && !llvm::is_contained(found, op))
          found.push_back(op);
      });
    }
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
