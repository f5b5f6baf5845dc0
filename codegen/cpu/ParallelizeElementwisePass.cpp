//===- ParallelizeElementwisePass.cpp - The nnx-parallelize-elementwise pass ===//
//
// With --threads 2 the GEMMs ran on both cores while everything between them — the dropout
// mask's counter-based RNG (85 us for a 128 x 256 mask), bias and activation, the optimizer
// update — stayed on one, which held the seed train step's 2-thread speed-up at 1.54x. Every
// linalg op on buffers whose loops are all parallel and whose iteration space holds at least
// 32768 points becomes an scf.parallel nest (OpenMP after convert-scf-to-openmp); smaller or
// reducing ops are left to convert-linalg-to-loops. Each point is computed as before, by one
// thread, so results do not depend on the thread count.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_PARALLELIZEELEMENTWISEPASS
#define GEN_PASS_DEF_PARALLELIZEELEMENTWISEPASS
#include "codegen/cpu/Passes.h.inc"

namespace {

/// Points below which a loop nest stays serial: starting and joining a parallel region costs
/// about as much as 32768 simple elementwise points on one core.
constexpr int64_t kMinParallelPoints = 32768;

/// Whether `op` is worth running on several threads: buffers, static loop ranges, all loops
/// parallel, and enough points.
bool worthParallelizing(mlir::linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumLoops() == 0 ||
      op.getNumLoops() != op.getNumParallelLoops())
    return false;
  int64_t points = 1;
  for (int64_t range : op.getStaticLoopRanges()) {
    if (mlir::ShapedType::isDynamic(range))
      return false;
    points *= range;
  }
  return points >= kMinParallelPoints;
}

struct ParallelizeElementwisePass
    : impl::ParallelizeElementwisePassBase<ParallelizeElementwisePass> {
  void runOnOperation() override {
    llvm::SmallVector<mlir::linalg::LinalgOp> ops;
    getOperation().walk([&](mlir::linalg::LinalgOp op) {
      if (worthParallelizing(op))
        ops.push_back(op);
    });
    mlir::IRRewriter rewriter(&getContext());
    for (mlir::linalg::LinalgOp op : ops) {
      rewriter.setInsertionPoint(op);
      if (mlir::failed(mlir::linalg::linalgOpToParallelLoops(rewriter, op)))
        continue; // convert-linalg-to-loops takes it
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
} // namespace nnx::codegen
