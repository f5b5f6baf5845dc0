//===- Scan.cpp - Lowering of nnx.scan to scf.for, and of nnx.reverse -----===//
//
// nnx-to-linalg converts the ops inside a scan body like any others but leaves the scan
// itself (and its yield) in place; nnx-scan-to-scf, right after it, turns each scan into one
// scf.for over the steps. The loop carries the scan's carries and one accumulator per stacked
// output (a tensor.empty of the stacked type). Each step extracts slice t of every scanned
// operand (a rank-reducing tensor.extract_slice), runs the body's ops, which are moved into the
// loop unchanged, and inserts each output into slice t of its accumulator; with `reverse`,
// t = length - 1 - i. One-shot bufferization then updates the accumulators in place, so the
// stacked outputs are written once and never copied. The loop is one loop whatever the trip
// count: neither the IR nor LLVM's work grows with it.
//
// nnx.reverse is a linalg.generic that reads its operand through the map n - 1 - d on the
// reversed dimensions.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"
#include "codegen/linalg/LoweringUtils.h"
#include "codegen/linalg/Patterns.h"

#include "ir/NNXDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace nnx::ir;

namespace nnx::codegen {

#define GEN_PASS_DECL_SCANTOSCFPASS
#define GEN_PASS_DEF_SCANTOSCFPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

struct ReverseLowering : OpConversionPattern<ReverseOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(ReverseOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = getStaticTensorType(op.getType());
    if (!type)
      return rewriter.notifyMatchFailure(op, "needs a static shape");
    SmallVector<AffineExpr> exprs;
    for (int64_t d = 0; d < type.getRank(); ++d) {
      AffineExpr dim = rewriter.getAffineDimExpr(d);
      exprs.push_back(llvm::is_contained(op.getDims(), d) ? (type.getDimSize(d) - 1) - dim : dim);
    }
    auto map = AffineMap::get(type.getRank(), 0, exprs, rewriter.getContext());
    rewriter.replaceOp(op, createParallelGeneric(
                               rewriter, op.getLoc(), type, ValueRange{adaptor.getInput()}, {map},
                               [](OpBuilder &, Location, ValueRange args) { return args[0]; }));
    return success();
  }
};

/// Offsets [t, 0, ...], sizes [1, d1, ...] and unit strides of slice t of a stacked tensor.
void leadingSlice(OpBuilder &b, RankedTensorType stacked, Value t,
                  SmallVectorImpl<OpFoldResult> &offsets, SmallVectorImpl<OpFoldResult> &sizes,
                  SmallVectorImpl<OpFoldResult> &strides) {
  offsets.push_back(t);
  sizes.push_back(b.getIndexAttr(1));
  strides.push_back(b.getIndexAttr(1));
  for (int64_t d = 1; d < stacked.getRank(); ++d) {
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(b.getIndexAttr(stacked.getDimSize(d)));
    strides.push_back(b.getIndexAttr(1));
  }
}

/// Replaces `scan` by an scf.for (see the file comment).
void lowerScan(ScanOp scan, RewriterBase &rewriter) {
  Location loc = scan.getLoc();
  rewriter.setInsertionPoint(scan);
  size_t numInit = scan.getInit().size();
  SmallVector<Value> inits(scan.getInit());
  for (Value r : scan.getStackedResults())
    inits.push_back(createEmptyTensor(rewriter, loc, llvm::cast<RankedTensorType>(r.getType())));
  int64_t length = scan.getLength();
  Value lb = rewriter.create<arith::ConstantIndexOp>(loc, 0);
  Value ub = rewriter.create<arith::ConstantIndexOp>(loc, length);
  Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
  auto loop = rewriter.create<scf::ForOp>(loc, lb, ub, one, inits,
                                          [](OpBuilder &, Location, Value, ValueRange) {});
  Block *loopBody = loop.getBody();
  rewriter.setInsertionPointToStart(loopBody);
  Value t = loop.getInductionVar();
  if (scan.getReverse())
    t = rewriter.create<arith::SubIOp>(
        loc, rewriter.create<arith::ConstantIndexOp>(loc, length - 1), t);

  // Block arguments of the body: carries from the loop, slices of the scanned operands, and
  // the constants themselves.
  SmallVector<Value> args(loop.getRegionIterArgs().take_front(numInit));
  for (Value x : scan.getXs()) {
    auto stacked = llvm::cast<RankedTensorType>(x.getType());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    leadingSlice(rewriter, stacked, t, offsets, sizes, strides);
    auto sliceType = RankedTensorType::get(stacked.getShape().drop_front(),
                                           stacked.getElementType());
    args.push_back(rewriter.create<tensor::ExtractSliceOp>(loc, sliceType, x, offsets, sizes,
                                                           strides));
  }
  llvm::append_range(args, scan.getConsts());
  YieldOp yield = scan.getYield();
  rewriter.inlineBlockBefore(&scan.getBodyBlock(), loopBody, loopBody->end(), args);

  // The yield: carries go round the loop; outputs are inserted into slice t.
  rewriter.setInsertionPoint(yield);
  SmallVector<Value> next(yield.getValues().take_front(numInit));
  for (auto [value, acc] : llvm::zip(yield.getValues().drop_front(numInit),
                                     loop.getRegionIterArgs().drop_front(numInit))) {
    SmallVector<OpFoldResult> offsets, sizes, strides;
    leadingSlice(rewriter, llvm::cast<RankedTensorType>(acc.getType()), t, offsets, sizes,
                 strides);
    next.push_back(rewriter.create<tensor::InsertSliceOp>(loc, value, acc, offsets, sizes,
                                                          strides));
  }
  rewriter.create<scf::YieldOp>(loc, next);
  rewriter.eraseOp(yield);
  rewriter.replaceOp(scan, loop.getResults());
}

struct ScanToScfPass : impl::ScanToScfPassBase<ScanToScfPass> {
  void runOnOperation() override {
    // Inner scans first, so that moving an outer body moves finished loops.
    SmallVector<ScanOp> scans;
    getOperation()->walk<WalkOrder::PostOrder>([&](ScanOp scan) { scans.push_back(scan); });
    IRRewriter rewriter(&getContext());
    for (ScanOp scan : scans)
      lowerScan(scan, rewriter);
  }
};

} // namespace

void populateScanLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<ReverseLowering>(patterns.getContext());
}

} // namespace nnx::codegen
