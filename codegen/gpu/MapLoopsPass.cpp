//===- MapLoopsPass.cpp - The nnx-gpu-map-loops pass ----------------------===//
//
// Each linalg op on buffers becomes one kernel: its parallel dimensions are moved ahead of its
// reductions (so that one scf.parallel holds them all and every thread owns whole outputs),
// it is lowered to that scf.parallel nest, the nest is tiled into thread blocks
// (scf::tileParallelLoop) and mapped to the grid with the `mapping` attribute of the gpu
// dialect, which convert-parallel-loops-to-gpu turns into a gpu.launch. The block's threads
// come from the innermost dimensions, innermost on threadIdx.x, so that neighbouring threads
// read neighbouring elements (coalesced loads): the opposite of upstream's
// gpu-map-parallel-loops, which puts the outermost dimension on x.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_GPUMAPLOOPSPASS
#define GEN_PASS_DEF_GPUMAPLOOPSPASS
#include "codegen/gpu/Passes.h.inc"

namespace {

using mlir::gpu::Processor;

/// The constant trip counts of `loop`'s dimensions, or nothing when one is not a constant.
std::optional<llvm::SmallVector<int64_t>> tripCounts(mlir::scf::ParallelOp loop) {
  llvm::SmallVector<int64_t> counts;
  for (auto [lower, upper, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> lb = mlir::getConstantIntValue(lower);
    std::optional<int64_t> ub = mlir::getConstantIntValue(upper);
    std::optional<int64_t> st = mlir::getConstantIntValue(step);
    if (!lb || !ub || !st || *st <= 0)
      return std::nullopt;
    counts.push_back(*ub > *lb ? (*ub - *lb + *st - 1) / *st : 0);
  }
  return counts;
}

/// Tile sizes giving a block of at most `maxThreads` threads, taken from the innermost
/// dimensions first (at most three of them: threadIdx has x, y, z). A dimension that fits
/// whole is taken whole, so that its tile needs no bound guard.
llvm::SmallVector<int64_t> blockTile(llvm::ArrayRef<int64_t> counts, int64_t maxThreads) {
  llvm::SmallVector<int64_t> tile(counts.size(), 1);
  int64_t threads = 1;
  int used = 0;
  for (int64_t d = static_cast<int64_t>(counts.size()) - 1; d >= 0 && used < 3; --d) {
    int64_t room = maxThreads / threads;
    if (room < 2)
      break;
    tile[d] = std::max<int64_t>(1, std::min(counts[d], room));
    threads *= tile[d];
    ++used;
  }
  return tile;
}

/// Sets `loop`'s mapping: from the innermost dimension out, x, y and z of a level (blocks or
/// threads), the rest sequential. Dimensions of one iteration (`counts` says, where known)
/// are sequential too, leaving x, y and z to those that have several.
void mapLoop(mlir::scf::ParallelOp loop, Processor x, Processor y, Processor z,
             llvm::ArrayRef<int64_t> counts = {}) {
  mlir::Builder b(loop.getContext());
  unsigned rank = loop.getNumLoops();
  llvm::SmallVector<Processor> processors(rank, Processor::Sequential);
  Processor next[] = {x, y, z};
  unsigned used = 0;
  for (unsigned d = rank; d-- > 0 && used < 3;)
    if (counts.empty() || counts[d] > 1)
      processors[d] = next[used++];
  // A launch needs one dimension on the hardware, even of one iteration.
  if (used == 0 && rank > 0)
    processors[rank - 1] = x;
  llvm::SmallVector<mlir::gpu::ParallelLoopDimMappingAttr> attrs;
  for (Processor processor : processors)
    attrs.push_back(b.getAttr<mlir::gpu::ParallelLoopDimMappingAttr>(
        processor, b.getDimIdentityMap(), b.getDimIdentityMap()));
  (void)mlir::gpu::setMappingAttr(loop, attrs);
}

/// CUDA's grid limits: gridDim.x up to 2^31 - 1 blocks, y and z up to 65535.
constexpr int64_t kMaxGridY = 65535;

/// Sets the block loop's mapping: the dimension with the most blocks on x (whose limit is
/// 2^31 - 1), the next two on y and z where they fit 65535 blocks; the others sequential (each
/// block loops over them). With unknown counts, the innermost dimensions on x, y, z.
void mapBlocks(mlir::scf::ParallelOp loop, llvm::ArrayRef<int64_t> counts) {
  if (counts.empty())
    return mapLoop(loop, Processor::BlockX, Processor::BlockY, Processor::BlockZ);
  unsigned rank = loop.getNumLoops();
  llvm::SmallVector<unsigned> order;
  for (unsigned d = rank; d-- > 0;)
    if (counts[d] > 1)
      order.push_back(d);
  // Most blocks first; among equals, the innermost.
  llvm::sort(order, [&](unsigned a, unsigned b) {
    return counts[a] != counts[b] ? counts[a] > counts[b] : a > b;
  });
  llvm::SmallVector<Processor> processors(rank, Processor::Sequential);
  Processor next[] = {Processor::BlockX, Processor::BlockY, Processor::BlockZ};
  unsigned used = 0;
  for (unsigned d : order) {
    if (used == 3)
      break;
    if (used > 0 && counts[d] > kMaxGridY)
      continue;
    processors[d] = next[used++];
  }
  if (used == 0 && rank > 0)
    processors[rank - 1] = Processor::BlockX;
  mlir::Builder b(loop.getContext());
  llvm::SmallVector<mlir::gpu::ParallelLoopDimMappingAttr> attrs;
  for (Processor processor : processors)
    attrs.push_back(b.getAttr<mlir::gpu::ParallelLoopDimMappingAttr>(
        processor, b.getDimIdentityMap(), b.getDimIdentityMap()));
  (void)mlir::gpu::setMappingAttr(loop, attrs);
}

/// Moves `op`'s parallel dimensions ahead of its reductions, keeping each group's order.
void parallelDimsFirst(mlir::RewriterBase &rewriter, mlir::linalg::GenericOp op) {
  llvm::SmallVector<unsigned> order;
  llvm::SmallVector<mlir::utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < iterators.size(); ++d)
    if (iterators[d] == mlir::utils::IteratorType::parallel)
      order.push_back(d);
  for (unsigned d = 0; d < iterators.size(); ++d)
    if (iterators[d] != mlir::utils::IteratorType::parallel)
      order.push_back(d);
  if (llvm::is_sorted(order))
    return;
  rewriter.setInsertionPoint(op);
  (void)mlir::linalg::interchangeGenericOp(rewriter, op, order);
}

/// Replaces `loop` (inside a thread: no reductions) by a nest of scf.for loops.
void serialize(mlir::RewriterBase &rewriter, mlir::scf::ParallelOp loop) {
  rewriter.setInsertionPoint(loop);
  mlir::scf::buildLoopNest(
      rewriter, loop.getLoc(), loop.getLowerBound(), loop.getUpperBound(), loop.getStep(),
      [&](mlir::OpBuilder &b, mlir::Location, mlir::ValueRange ivs) {
        mlir::IRMapping map;
        map.map(loop.getInductionVars(), ivs);
        for (mlir::Operation &op : loop.getBody()->without_terminator())
          b.clone(op, map);
      });
  rewriter.eraseOp(loop);
}

/// Moves `op`, which has no parallel dimension (a scalar op, a full reduction), into an
/// scf.parallel of one iteration: it becomes a launch of one thread instead of host code,
/// since the host cannot read device memory. The thread runs the reduction serially.
void runInOneThread(mlir::RewriterBase &rewriter, mlir::linalg::LinalgOp op) {
  mlir::Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  mlir::Value zero = rewriter.create<mlir::arith::ConstantIndexOp>(loc, 0);
  mlir::Value one = rewriter.create<mlir::arith::ConstantIndexOp>(loc, 1);
  auto loop = rewriter.create<mlir::scf::ParallelOp>(loc, mlir::ValueRange{zero},
                                                     mlir::ValueRange{one}, mlir::ValueRange{one});
  rewriter.moveOpBefore(op, loop.getBody()->getTerminator());
}

struct GpuMapLoopsPass : impl::GpuMapLoopsPassBase<GpuMapLoopsPass> {
  using GpuMapLoopsPassBase::GpuMapLoopsPassBase;

  void runOnOperation() override {
    if (mlir::failed(lowerLinalgOps()))
      return signalPassFailure();
    llvm::SmallVector<mlir::scf::ParallelOp> outermost;
    getOperation().walk([&](mlir::scf::ParallelOp loop) {
      if (!loop->getParentOfType<mlir::scf::ParallelOp>())
        outermost.push_back(loop);
    });
    for (mlir::scf::ParallelOp loop : outermost)
      tileAndMap(loop);
    foldTileArithmetic();
  }

  /// Every linalg op to one scf.parallel nest: parallel dimensions first; ops without one in
  /// a loop of one iteration.
  mlir::LogicalResult lowerLinalgOps() {
    mlir::IRRewriter rewriter(&getContext());
    copiesToLinalg(rewriter);
    llvm::SmallVector<mlir::linalg::LinalgOp> linalgOps;
    getOperation().walk([&](mlir::linalg::LinalgOp op) { linalgOps.push_back(op); });
    for (mlir::linalg::LinalgOp op : linalgOps)
      if (auto generic = llvm::dyn_cast<mlir::linalg::GenericOp>(op.getOperation()))
        parallelDimsFirst(rewriter, generic);
    linalgOps.clear();
    getOperation().walk([&](mlir::linalg::LinalgOp op) { linalgOps.push_back(op); });
    for (mlir::linalg::LinalgOp op : linalgOps) {
      if (op.getNumParallelLoops() == 0)
        runInOneThread(rewriter, op);
      rewriter.setInsertionPoint(op);
      if (mlir::failed(mlir::linalg::linalgOpToParallelLoops(rewriter, op)))
        return op.emitError("cannot lower this op to parallel loops for the GPU");
      rewriter.eraseOp(op);
    }
    return mlir::success();
  }

  /// Every memref.copy (a result copied into its out-param, a carry between scan steps)
  /// becomes a linalg.copy, and so a kernel like any op: on the host it would read and write
  /// device memory, unordered with the launches around it.
  void copiesToLinalg(mlir::IRRewriter &rewriter) {
    llvm::SmallVector<mlir::memref::CopyOp> copies;
    getOperation().walk([&](mlir::memref::CopyOp copy) { copies.push_back(copy); });
    for (mlir::memref::CopyOp copy : copies) {
      rewriter.setInsertionPoint(copy);
      rewriter.create<mlir::linalg::CopyOp>(copy.getLoc(), copy.getSource(), copy.getTarget());
      rewriter.eraseOp(copy);
    }
  }

  /// Tiles `loop` into blocks and threads and sets both mappings.
  void tileAndMap(mlir::scf::ParallelOp loop) {
    std::optional<llvm::SmallVector<int64_t>> counts = tripCounts(loop);
    if (!counts) {
      // One thread per block: correct for any bounds, and rare (static shapes throughout).
      mapBlocks(loop, {});
      mapNested(loop);
      return;
    }
    llvm::SmallVector<int64_t> tile = blockTile(*counts, maxThreads);
    llvm::SmallVector<int64_t> blockCounts;
    for (auto [count, size] : llvm::zip(*counts, tile))
      blockCounts.push_back((count + size - 1) / size);
    mlir::scf::ParallelOp threads =
        mlir::scf::tileParallelLoop(loop, tile, /*noMinMaxBounds=*/false).second;
    // The loop over blocks is the one around the threads' (tileParallelLoop's first result
    // is not always it when a dimension is tiled whole).
    auto blocks = threads->getParentOfType<mlir::scf::ParallelOp>();
    mapBlocks(blocks, blocks.getNumLoops() == blockCounts.size() ? llvm::ArrayRef(blockCounts)
                                                                 : llvm::ArrayRef<int64_t>());
    mapLoop(threads, Processor::ThreadX, Processor::ThreadY, Processor::ThreadZ, tile);
    mapNested(threads);
  }

  /// Tiling computes the block steps with arith.muli and bounds the threads' loop with
  /// affine.min(step, upper - iv): fold the steps to constants and the constants into the
  /// min's map, since convert-parallel-loops-to-gpu takes a launch's size from a constant
  /// result of that min. Only these ops: the canonicalizer would also collapse single-
  /// iteration dimensions, rebuilding the loops without their mapping.
  void foldTileArithmetic() {
    mlir::RewritePatternSet patterns(&getContext());
    mlir::affine::AffineMinOp::getCanonicalizationPatterns(patterns, &getContext());
    llvm::SmallVector<mlir::Operation *> ops;
    getOperation().walk([&](mlir::Operation *op) {
      if (llvm::isa<mlir::arith::MulIOp, mlir::affine::AffineMinOp>(op))
        ops.push_back(op);
    });
    mlir::GreedyRewriteConfig config;
    config.strictMode = mlir::GreedyRewriteStrictness::ExistingAndNewOps;
    (void)mlir::applyOpPatternsAndFold(ops, std::move(patterns), config);
  }

  /// Parallel loops inside a mapped one (after a reduction's scf.for, in named ops whose
  /// reductions come between parallel dimensions) run in the thread, as scf.for loops.
  static void mapNested(mlir::scf::ParallelOp mapped) {
    llvm::SmallVector<mlir::scf::ParallelOp> nested;
    mapped.getBody()->walk([&](mlir::scf::ParallelOp loop) { nested.push_back(loop); });
    mlir::IRRewriter rewriter(mapped.getContext());
    // Innermost first (walk order): an outer loop's body then copies serial loops.
    for (mlir::scf::ParallelOp loop : nested)
      serialize(rewriter, loop);
  }
};

} // namespace
} // namespace nnx::codegen
