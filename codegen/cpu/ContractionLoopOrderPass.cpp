//===- ContractionLoopOrderPass.cpp - The nnx-contraction-loop-order pass -===//
//
// linalg.matmul iterates (i, j, k): its innermost loop is a floating-point reduction, which
// LLVM may not vectorise without reassociating the sum (and changing the interpreter's
// bits). Generalised and interchanged to (i, k, j), the innermost loop updates a row of
// independent outputs and vectorises, while every output keeps its k-ascending accumulation,
// each step one fused multiply-add (as in the GEMM kernel).
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"


namespace nnx::codegen {

#define GEN_PASS_DECL_CONTRACTIONLOOPORDERPASS
#define GEN_PASS_DEF_CONTRACTIONLOOPORDERPASS
#include "codegen/cpu/Passes.h.inc"

namespace {

/// Replaces a (batch) matmul, plain or with a transposed operand, or a named window op, by
/// the equivalent generic whose last parallel loop comes last: (k, j) for a matmul.
mlir::LogicalResult reorderContraction(mlir::RewriterBase &rewriter, mlir::linalg::LinalgOp op) {
  rewriter.setInsertionPoint(op);
  mlir::FailureOr<mlir::linalg::GenericOp> generic =
      mlir::linalg::generalizeNamedOp(rewriter, op);
  if (mlir::failed(generic))
    return op->emitError("cannot generalize the contraction");
  // Each multiply-add of the accumulation may be one fused multiply-add (LLVM forms it from
  // `contract`), as in the GEMM kernel: one rounding per step, and a product gives the same
  // bits whether it runs here or in the kernel. The products stay in ascending k.
  auto contract = mlir::arith::FastMathFlagsAttr::get(rewriter.getContext(),
                                                      mlir::arith::FastMathFlags::contract);
  generic->getBody()->walk([&](mlir::Operation *body) {
    if (llvm::isa<mlir::arith::MulFOp, mlir::arith::AddFOp>(body))
      body->setAttr(llvm::cast<mlir::arith::ArithFastMathInterface>(body).getFastMathAttrName(),
                    contract);
  });
  auto iterators = generic->getIteratorTypesArray();
  unsigned loops = generic->getNumLoops(), last = loops;
  for (unsigned i = 0; i < loops; ++i)
    if (iterators[i] == mlir::utils::IteratorType::parallel)
      last = i;
  if (last == loops || last + 1 == loops)
    return mlir::success();
  // The loops after `last` (all reductions) move one place up; `last` goes innermost.
  llvm::SmallVector<unsigned> order;
  for (unsigned i = 0; i < loops; ++i)
    if (i != last)
      order.push_back(i);
  order.push_back(last);
  if (mlir::failed(mlir::linalg::interchangeGenericOp(rewriter, *generic, order)))
    return generic->emitError("cannot interchange the contraction's loops");
  return mlir::success();
}

struct ContractionLoopOrderPass
    : impl::ContractionLoopOrderPassBase<ContractionLoopOrderPass> {
  void runOnOperation() override {
    llvm::SmallVector<mlir::linalg::LinalgOp> contractions;
    getOperation().walk([&](mlir::linalg::LinalgOp op) {
      if (llvm::isa<mlir::linalg::MatmulOp, mlir::linalg::BatchMatmulOp,
                    mlir::linalg::MatmulTransposeAOp, mlir::linalg::MatmulTransposeBOp,
                    mlir::linalg::BatchMatmulTransposeAOp,
                    mlir::linalg::BatchMatmulTransposeBOp>(op.getOperation()) ||
          llvm::isa<mlir::linalg::ConvolutionOpInterface>(op.getOperation()))
        contractions.push_back(op);
    });
    mlir::IRRewriter rewriter(&getContext());
    for (mlir::linalg::LinalgOp op : contractions)
      if (mlir::failed(reorderContraction(rewriter, op)))
        return signalPassFailure();
  }
};

} // namespace
} // namespace nnx::codegen
