//===- FuseElementwisePass.cpp - The nnx-fuse-elementwise pass ------------===//
//
// Upstream's linalg-fuse-elementwise-ops with one more rule: a producer is fused into its
// consumer only if that does not recompute it. When the consumer reads the producer's result
// through an indexing map that leaves out some of its loops — `exp(h) @ w`, where the
// contraction reads h[b, i, k] for every output column j — the fused body would evaluate the
// producer's arithmetic once per column: measured on exp(h) @ w with h f32[32, 64, 128] and
// w f32[128, 512], 56 ms fused against 7 ms for the matmul alone, and 219 ms for gelu. Such a
// producer stays a separate loop nest that writes its result once. Producers that compute
// nothing (a broadcast, transpose or copy: their body yields a block argument) are still
// fused everywhere, as are producers whose every element the consumer reads once.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_FUSEELEMENTWISEPASS
#define GEN_PASS_DEF_FUSEELEMENTWISEPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

/// Whether `generic` only moves data: its body is a yield of block arguments.
bool computesNothing(mlir::linalg::GenericOp generic) {
  mlir::Block &body = generic.getRegion().front();
  if (!llvm::hasSingleElement(body))
    return false;
  return llvm::all_of(body.getTerminator()->getOperands(),
                      [](mlir::Value v) { return llvm::isa<mlir::BlockArgument>(v); });
}

/// The most operations one fused body may hold. Each fusion copies both bodies into a new
/// generic, so fusing a chain of n elementwise ops into one body costs O(n^2): 2,000 chained
/// statements took 22 s to lower. Capped, a chain becomes loop nests of at most this many
/// operations each, built in O(n * cap); one more pass over memory per 256 operations costs
/// nothing measurable.
constexpr size_t kMaxFusedBodyOps = 64;

/// The operations in the body of a linalg op (0 for other ops).
size_t bodySize(mlir::Operation *op) {
  auto linalgOp = llvm::dyn_cast_or_null<mlir::linalg::LinalgOp>(op);
  if (!linalgOp || linalgOp->getNumRegions() == 0 || linalgOp->getRegion(0).empty())
    return 0;
  return linalgOp->getRegion(0).front().getOperations().size();
}

/// Fuse the producer of `fusedOperand` into its consumer? Upstream's rule (a producer with one
/// use), the fused body within kMaxFusedBodyOps, and the consumer must read each produced
/// element once — its indexing map of the operand is a permutation of all its loops — unless
/// the producer computes nothing.
bool fusesWithoutRecomputation(mlir::OpOperand *fusedOperand) {
  mlir::Operation *producer = fusedOperand->get().getDefiningOp();
  if (!producer || !producer->hasOneUse())
    return false;
  if (bodySize(producer) + bodySize(fusedOperand->getOwner()) > kMaxFusedBodyOps)
    return false;
  auto consumer = llvm::dyn_cast<mlir::linalg::LinalgOp>(fusedOperand->getOwner());
  auto generic = llvm::dyn_cast<mlir::linalg::GenericOp>(producer);
  if (!consumer || !generic)
    return true;
  if (consumer.getMatchingIndexingMap(fusedOperand).isPermutation())
    return true;
  return computesNothing(generic);
}

/// The producer of a reshape must have one use, as upstream.
bool hasOneUseProducer(mlir::OpOperand *fusedOperand) {
  mlir::Operation *producer = fusedOperand->get().getDefiningOp();
  return producer && producer->hasOneUse();
}

/// Whether `op` is a named linalg op (a matmul), which reshape folding would generalise.
bool isNamedLinalg(mlir::Operation *op) {
  return op && llvm::isa<mlir::linalg::LinalgOp>(op) && !llvm::isa<mlir::linalg::GenericOp>(op);
}

/// Reshapes fold into generics only: folded into a matmul ([4, 128, K] @ [K, N] collapsed to
/// rows and expanded back), they would turn it into a 4-d generic that nnx-gemm-schedule no
/// longer recognises (measured: 100x slower than the scheduled matmul).
bool foldsReshapeIntoGeneric(mlir::OpOperand *fusedOperand) {
  if (isNamedLinalg(fusedOperand->getOwner()) ||
      isNamedLinalg(fusedOperand->get().getDefiningOp()))
    return false;
  return hasOneUseProducer(fusedOperand);
}

struct FuseElementwisePass : impl::FuseElementwisePassBase<FuseElementwisePass> {
  void runOnOperation() override {
    // The pattern set of upstream's LinalgElementwiseOpFusionPass (LLVM 19), with our
    // control function for producer-consumer fusion.
    mlir::MLIRContext *context = &getContext();
    mlir::RewritePatternSet patterns(context);
    mlir::linalg::populateElementwiseOpsFusionPatterns(patterns, fusesWithoutRecomputation);
    mlir::linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, foldsReshapeIntoGeneric);
    mlir::affine::AffineApplyOp::getCanonicalizationPatterns(patterns, context);
    mlir::linalg::GenericOp::getCanonicalizationPatterns(patterns, context);
    mlir::tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, context);
    mlir::tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, context);
    context->getLoadedDialect<mlir::linalg::LinalgDialect>()->getCanonicalizationPatterns(
        patterns);
    mlir::linalg::populateConstantFoldLinalgOperations(patterns, hasOneUseProducer);
    mlir::GreedyRewriteConfig config;
    config.useTopDownTraversal = true; // for compile time, as upstream
    (void)mlir::applyPatternsAndFoldGreedily(getOperation(), std::move(patterns), config);
  }
};

} // namespace
} // namespace nnx::codegen
