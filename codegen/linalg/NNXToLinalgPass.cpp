//===- NNXToLinalgPass.cpp - The nnx-to-linalg conversion pass ------------===//
//
// Collects the lowering patterns of every op family (Patterns.h) and applies them as a
// partial conversion in which the nnx dialect is illegal: afterwards the module holds only
// func, linalg, tensor, arith and math ops (and nnx.scan, whose body is converted too, for
// nnx-scan-to-scf), or the pass has failed with a diagnostic on the first op it could not
// lower. Types do not change (tensors stay tensors), so no type
// converter is involved.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"
#include "codegen/linalg/Patterns.h"

#include "ir/NNXDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_NNXTOLINALGPASS
#define GEN_PASS_DEF_NNXTOLINALGPASS
#include "codegen/linalg/Passes.h.inc"

void populateNNXToLinalgPatterns(mlir::RewritePatternSet &patterns) {
  populateElementwiseLoweringPatterns(patterns);
  populateMatmulLoweringPatterns(patterns);
  populateConvLoweringPatterns(patterns);
  populateReductionLoweringPatterns(patterns);
  populateShapeLoweringPatterns(patterns);
  populateRandomLoweringPatterns(patterns);
  populateScanLoweringPatterns(patterns);
}

namespace {

struct NNXToLinalgPass : impl::NNXToLinalgPassBase<NNXToLinalgPass> {
  void runOnOperation() override {
    mlir::MLIRContext *context = &getContext();
    mlir::ConversionTarget target(*context);
    target.addIllegalDialect<ir::NNXDialect>();
    // Scans keep their region here; their bodies are converted, and nnx-scan-to-scf follows.
    target.addLegalOp<ir::ScanOp, ir::YieldOp>();
    target.addLegalDialect<mlir::arith::ArithDialect, mlir::func::FuncDialect,
                           mlir::linalg::LinalgDialect, mlir::math::MathDialect,
                           mlir::tensor::TensorDialect>();
    mlir::RewritePatternSet patterns(context);
    populateNNXToLinalgPatterns(patterns);
    if (mlir::failed(mlir::applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace nnx::codegen
