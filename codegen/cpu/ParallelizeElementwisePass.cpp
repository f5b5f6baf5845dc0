//===- ParallelizeElementwisePass.cpp - The nnx-parallelize-elementwise pass ===//
//
// With --threads 2 the GEMMs ran on both cores while everything between them — the dropout
// mask's counter-based RNG (85 us for a 128 x 256 mask), bias and activation, the optimizer
// update — stayed on one. Every linalg op on buffers whose loops are all parallel and whose
// iteration space holds at least 2^18 points becomes an scf.parallel nest (OpenMP after convert-scf-to-openmp); smaller or
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

/// Points below which a loop nest stays serial. Each parallel nest costs a region start and
/// join at run time (~2 us) and an outlined OpenMP function at compile time: measured on the
/// seed's train step, parallelising its ~10 elementwise ops of 32K-200K points added 150-200 ms
/// of LLVM time for ~50 us per step. At 2^18 points (a 512 x 512 update, ~100 us of work) the
/// run time saved pays for the compile time within a few hundred steps.
constexpr int64_t kMinParallelPoints = 1 << 18;

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
