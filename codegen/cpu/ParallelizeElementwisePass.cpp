//===- ParallelizeElementwisePass.cpp - The nnx-parallelize-elementwise pass ===//
//
// With --threads 2 the GEMMs ran on both cores while everything between them — the dropout
// mask's counter-based RNG (85 us for a 128 x 256 mask), bias and activation, the optimizer
// update — stayed on one. Every linalg op on buffers whose loops are all parallel and whose
// iteration space holds at least 2^18 points is tiled along its leading loops into an
// scf.parallel (OpenMP after convert-scf-to-openmp) of at least kMinTasks tiles; each tile
// keeps its inner loops as a linalg op on subviews, which convert-linalg-to-loops makes
// serial, vectorisable loops. (Parallelising every loop instead made OpenMP collapse the nest
// into one loop that recomputed each element's indices with divisions, unvectorised: the
// im2col copy of a 32 x 8 x 8 x 16 convolution took 1 ms.) Smaller or reducing ops are left
// to convert-linalg-to-loops. Each point is computed as before, by one thread, so results
// do not depend on the thread count.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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

/// Tiles a parallel op is split into, at least: enough for any thread count of these
/// machines to share evenly, few enough that each tile's inner loops stay long.
constexpr int64_t kMinTasks = 64;

/// Tile sizes: 1 on the leading loops until they hold kMinTasks iterations (never the
/// innermost loop); a one-loop op is cut into kMinTasks chunks of whole vectors.
llvm::SmallVector<int64_t> tileSizes(llvm::ArrayRef<int64_t> ranges) {
  llvm::SmallVector<int64_t> sizes(ranges.size(), 0);
  if (ranges.size() == 1) {
    int64_t chunk = (ranges[0] + kMinTasks - 1) / kMinTasks;
    sizes[0] = (chunk + 15) / 16 * 16;
    return sizes;
  }
  int64_t tasks = 1;
  for (size_t d = 0; d + 1 < ranges.size() && tasks < kMinTasks; ++d) {
    sizes[d] = 1;
    tasks *= ranges[d];
  }
  return sizes;
}

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
      auto options = mlir::linalg::LinalgTilingOptions()
                         .setTileSizes(tileSizes(op.getStaticLoopRanges()))
                         .setLoopType(mlir::linalg::LinalgTilingLoopType::ParallelLoops);
      if (mlir::failed(mlir::linalg::tileLinalgOp(rewriter, op, options)))
        continue; // convert-linalg-to-loops takes it whole
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
} // namespace nnx::codegen
