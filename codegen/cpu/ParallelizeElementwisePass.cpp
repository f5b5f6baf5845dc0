//===- ParallelizeElementwisePass.cpp - The nnx-parallelize-elementwise pass ===//
//
// With --threads 2 the GEMMs ran on both cores while everything between them — the dropout
// mask's counter-based RNG (85 us for a 128 x 256 mask), bias and activation, the optimizer
// update — stayed on one. Every linalg op on buffers whose loops are all parallel and that
// has at least 2^18 points, or at least 2^19 arithmetic operations (points times body ops),
// is tiled along its leading loops into an scf.parallel (OpenMP after convert-scf-to-openmp)
// of at least kMinTasks tiles; each tile keeps its inner loops as a linalg op on subviews,
// which convert-linalg-to-loops makes serial, vectorisable loops. (Parallelising every loop
// instead made OpenMP collapse the nest into one loop that recomputed each element's indices
// with divisions, unvectorised: the im2col copy of a 32 x 8 x 8 x 16 convolution took 1 ms.)
// Smaller or reducing ops are left to convert-linalg-to-loops. Each point is computed as
// before, by one thread, so results do not depend on the thread count.
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

/// Points from which an op is parallel whatever its body: 2^18 points are 1 MiB per f32
/// operand, so a copy or an update of that size streams from beyond one core's L2 and both
/// cores' bandwidth helps. Each parallel nest costs a region start and join at run time (~2-5
/// us) and an outlined OpenMP function at compile time (~10 ms of LLVM time).
constexpr int64_t kMinParallelPoints = 1 << 18;

/// Arithmetic operations (points times arithmeticPerPoint) from which a smaller op is parallel
/// too: compute-bound work that gains from a second core wherever its data lies. On the seed's
/// train step at batch 128 that is the dropout mask's hash (32K points, ~130 integer
/// operations each, 55 us on one core); its 32K-point bias, activation and mask ops (~10 us
/// each) stay serial. Memory-bound ops below kMinParallelPoints stay serial: threading the
/// seed's 784 x 256 SGD update made the step at batch 1 (its gradient computed on one core,
/// hot in that core's L2) 22% slower at 1 and at 2 threads, and at batch 128 no faster.
constexpr int64_t kMinParallelArithmetic = 1 << 19;

/// Arithmetic operations one point of `op` costs, roughly: one per operation of its body
/// (loads and stores of its operands not counted), a transcendental counted as the ~20 its
/// polynomial approximation or libm call costs.
int64_t arithmeticPerPoint(mlir::linalg::LinalgOp op) {
  int64_t ops = 0;
  op.getBlock()->walk([&](mlir::Operation *inner) {
    if (inner->hasTrait<mlir::OpTrait::IsTerminator>() ||
        inner->hasTrait<mlir::OpTrait::ConstantLike>())
      return;
    bool transcendental = inner->getName().getDialectNamespace() == "math";
    ops += transcendental ? 20 : 1;
  });
  return ops;
}

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
/// parallel, and enough points or enough arithmetic.
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
  return points >= kMinParallelPoints ||
         points * arithmeticPerPoint(op) >= kMinParallelArithmetic;
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
