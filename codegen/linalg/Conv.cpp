//===- Conv.cpp - Lowering of nnx.conv and the window pools ----------------===//
//
// nnx.conv (its input zero-padded first, as nnx.pad lowers) and nnx.pool_sum/max/min (VALID,
// channels last) become linalg's named window ops on a filled init tensor, with the op's
// strides and kernel dilation as their attributes:
//
//   conv, one group             conv_1d_nwc_wcf, conv_2d_nhwc_hwcf, conv_3d_ndhwc_dhwcf
//   conv, one channel per group depthwise_conv_{1d_nwc_wcm,2d_nhwc_hwcm,3d_ndhwc_dhwcm}: the
//   (depthwise)                 kernel [K..., 1, C * M] is read as [K..., C, M]
//   conv, other groups          a linalg.generic with the same loops, on the input read as
//                               [N, S..., G, C/G] and the kernel as [K..., C/G, G, F/G]
//                               (linalg has no channels-last grouped convolution)
//   pools                       pooling_{nwc,nhwc,ndhwc}_{sum,max,min}: zero, -inf or +inf
//                               (the lowest/highest integer) initial values
//
// More than three spatial axes take generic forms (loops as the named ops'). Every form
// accumulates each output over the window row-major, then the channels, as the interpreter
// does. The named ops keep
// the convolution recognisable for nnx-conv-to-gemm (im2col onto the GEMM kernel) and for the
// loop order of nnx-contraction-loop-order.
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/LoweringUtils.h"
#include "codegen/linalg/Patterns.h"
#include "codegen/linalg/ScalarOps.h"

#include "ir/NNXDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

using namespace mlir;
using namespace nnx::ir;

namespace nnx::codegen {
namespace {

/// The i64 elements attribute of linalg's `strides` / `dilations`.
DenseIntElementsAttr windowAttr(OpBuilder &b, ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({static_cast<int64_t>(values.size())}, b.getI64Type());
  return DenseIntElementsAttr::get(type, values);
}

/// A named linalg window op of class OpTy on `inputs`, accumulating into `init`.
template <typename OpTy>
Value createWindowOp(OpBuilder &b, Location loc, ValueRange inputs, Value init,
                     ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations) {
  return b
      .create<OpTy>(loc, TypeRange{init.getType()}, inputs, ValueRange{init},
                    windowAttr(b, strides), windowAttr(b, dilations))
      ->getResult(0);
}

/// The generic form of a grouped convolution: input [N, S..., G, Cg], kernel
/// [K..., Cg, G, Fg], init [N, O..., G, Fg]; loops (n, o..., g, k..., c, f), the features
/// innermost as nnx-contraction-loop-order orders the named ones.
Value createGroupedConv(OpBuilder &b, Location loc, Value input, Value kernel, Value init,
                        ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations) {
  int64_t nd = static_cast<int64_t>(strides.size());
  int64_t loops = 2 * nd + 4;
  MLIRContext *ctx = b.getContext();
  auto dim = [&](int64_t i) { return getAffineDimExpr(static_cast<unsigned>(i), ctx); };
  int64_t g = nd + 1, k = nd + 2, c = 2 * nd + 2, f = 2 * nd + 3;
  SmallVector<AffineExpr> in{dim(0)}, w, out{dim(0)};
  for (int64_t d = 0; d < nd; ++d) {
    in.push_back(dim(1 + d) * strides[d] + dim(k + d) * dilations[d]);
    w.push_back(dim(k + d));
    out.push_back(dim(1 + d));
  }
  in.append({dim(g), dim(c)});
  w.append({dim(c), dim(g), dim(f)});
  out.append({dim(g), dim(f)});
  SmallVector<AffineMap> maps{AffineMap::get(loops, 0, in, ctx), AffineMap::get(loops, 0, w, ctx),
                              AffineMap::get(loops, 0, out, ctx)};
  SmallVector<utils::IteratorType> iterators(nd + 2, utils::IteratorType::parallel);
  iterators.append(nd + 1, utils::IteratorType::reduction);
  iterators.push_back(utils::IteratorType::parallel);
  auto generic = b.create<linalg::GenericOp>(
      loc, TypeRange{init.getType()}, ValueRange{input, kernel}, ValueRange{init}, maps,
      iterators, [](OpBuilder &nb, Location nloc, ValueRange args) {
        Value product = nb.create<arith::MulFOp>(nloc, args[0], args[1]);
        nb.create<linalg::YieldOp>(nloc, ValueRange{nb.create<arith::AddFOp>(nloc, args[2],
                                                                             product)});
      });
  return generic->getResult(0);
}

/// `input` [N, S..., C] zero-padded by low/high on its spatial axes (itself when both are
/// zero), as nnx.pad lowers.
Value padSpatial(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> low,
                 ArrayRef<int64_t> high) {
  if (llvm::all_of(low, [](int64_t v) { return v == 0; }) &&
      llvm::all_of(high, [](int64_t v) { return v == 0; }))
    return input;
  auto type = llvm::cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape(type.getShape()), lowAll{0};
  for (size_t d = 0; d < low.size(); ++d) {
    shape[d + 1] += low[d] + high[d];
    lowAll.push_back(low[d]);
  }
  lowAll.push_back(0);
  SmallVector<int64_t> interior(type.getRank(), 0);
  return createZeroPadded(b, loc, input, RankedTensorType::get(shape, type.getElementType()),
                          lowAll, interior);
}

struct ConvLowering : OpConversionPattern<ConvOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(ConvOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType inType = getStaticTensorType(adaptor.getInput().getType());
    RankedTensorType kType = getStaticTensorType(adaptor.getKernel().getType());
    RankedTensorType resultType = getStaticTensorType(op.getType());
    if (!inType || !kType || !resultType)
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    int64_t nd = kType.getRank() - 2, groups = op.getFeatureGroupCount();
    int64_t perGroup = kType.getDimSize(nd), features = kType.getShape().back();
    Type elem = resultType.getElementType();
    Value zero = createFloatConstant(rewriter, loc, elem, 0.0);
    ArrayRef<int64_t> strides = op.getWindowStrides(), dilations = op.getRhsDilation();
    Value input = padSpatial(rewriter, loc, adaptor.getInput(), op.getPaddingLow(),
                             op.getPaddingHigh());
    inType = llvm::cast<RankedTensorType>(input.getType());
    Value kernel = adaptor.getKernel(), result;
    ArrayRef<int64_t> window = kType.getShape().take_front(nd);
    if (groups == 1 && nd <= 3) {
      Value init = createFilledTensor(rewriter, loc, resultType, zero);
      if (nd == 1)
        result = createWindowOp<linalg::Conv1DNwcWcfOp>(rewriter, loc, {input, kernel}, init,
                                                        strides, dilations);
      else if (nd == 2)
        result = createWindowOp<linalg::Conv2DNhwcHwcfOp>(rewriter, loc, {input, kernel}, init,
                                                          strides, dilations);
      else
        result = createWindowOp<linalg::Conv3DNdhwcDhwcfOp>(rewriter, loc, {input, kernel},
                                                            init, strides, dilations);
      rewriter.replaceOp(op, result);
      return success();
    }
    // Output features split as [G, F/G]; depthwise reads the kernel as [K..., C, M].
    int64_t perFeature = features / groups;
    SmallVector<int64_t> splitOut(resultType.getShape().drop_back());
    splitOut.append({groups, perFeature});
    auto splitOutType = RankedTensorType::get(splitOut, elem);
    Value init = createFilledTensor(rewriter, loc, splitOutType, zero);
    if (perGroup == 1 && nd <= 3) {
      SmallVector<int64_t> kShape(window);
      kShape.append({groups, perFeature});
      Value k = createReshape(rewriter, loc, kernel, RankedTensorType::get(kShape, elem));
      if (nd == 1)
        result = createWindowOp<linalg::DepthwiseConv1DNwcWcmOp>(rewriter, loc, {input, k}, init,
                                                                 strides, dilations);
      else if (nd == 2)
        result = createWindowOp<linalg::DepthwiseConv2DNhwcHwcmOp>(rewriter, loc, {input, k},
                                                                   init, strides, dilations);
      else
        result = createWindowOp<linalg::DepthwiseConv3DNdhwcDhwcmOp>(rewriter, loc, {input, k},
                                                                     init, strides, dilations);
    } else {
      SmallVector<int64_t> inShape(inType.getShape().drop_back());
      inShape.append({groups, perGroup});
      SmallVector<int64_t> kShape(window);
      kShape.append({perGroup, groups, perFeature});
      result = createGroupedConv(
          rewriter, loc, createReshape(rewriter, loc, input, RankedTensorType::get(inShape, elem)),
          createReshape(rewriter, loc, kernel, RankedTensorType::get(kShape, elem)), init,
          strides, dilations);
    }
    rewriter.replaceOp(op, createReshape(rewriter, loc, result, resultType));
    return success();
  }
};

/// The initial value of a pool: 0, or the identity of max/min (-inf/+inf, integer limits).
Value poolInit(OpBuilder &b, Location loc, Type elem, int kind) {
  if (kind == 0)
    return createNumericConstant(b, loc, elem, 0.0);
  bool isMax = kind > 0;
  if (llvm::isa<FloatType>(elem))
    return createFloatConstant(b, loc, elem,
                               isMax ? -std::numeric_limits<double>::infinity()
                                     : std::numeric_limits<double>::infinity());
  unsigned width = elem.getIntOrFloatBitWidth();
  APInt bound = isMax ? APInt::getSignedMinValue(width) : APInt::getSignedMaxValue(width);
  return b.create<arith::ConstantOp>(loc, b.getIntegerAttr(elem, bound));
}

/// A pool over any number of spatial axes as a reduction generic: loops (n, o..., k..., c),
/// the window row-major, the channels innermost.
Value createGenericPool(OpBuilder &b, Location loc, Value input, RankedTensorType resultType,
                        Value identity, ArrayRef<int64_t> window, ArrayRef<int64_t> strides,
                        int kind) {
  int64_t nd = static_cast<int64_t>(window.size()), loops = 2 * nd + 2;
  MLIRContext *ctx = b.getContext();
  auto dim = [&](int64_t i) { return getAffineDimExpr(static_cast<unsigned>(i), ctx); };
  SmallVector<AffineExpr> in{dim(0)};
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < nd; ++d) {
    in.push_back(dim(1 + d) * strides[d] + dim(nd + 1 + d));
    axes.push_back(nd + 1 + d);
  }
  in.push_back(dim(loops - 1));
  // The window's extents come from a shape-only operand, as for the named pools.
  SmallVector<AffineExpr> taps;
  for (int64_t axis : axes)
    taps.push_back(dim(axis));
  Value shape = createEmptyTensor(b, loc, RankedTensorType::get(window, resultType.getElementType()));
  return createReductionGeneric(
      b, loc, resultType, loops, axes, {input, shape},
      {AffineMap::get(loops, 0, in, ctx), AffineMap::get(loops, 0, taps, ctx)}, identity,
      [kind](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
        Value x = args[0], acc = args[2];
        if (kind > 0)
          return createMaximum(nb, nloc, acc, x);
        if (kind < 0)
          return createMinimum(nb, nloc, acc, x);
        if (llvm::isa<FloatType>(x.getType()))
          return nb.create<arith::AddFOp>(nloc, acc, x);
        return nb.create<arith::AddIOp>(nloc, acc, x);
      });
}

/// pool_sum (kind 0), pool_max (1), pool_min (-1) on named ops for 1-3 spatial axes.
template <typename PoolOp, int Kind, typename Named1, typename Named2, typename Named3>
struct PoolLowering : OpConversionPattern<PoolOp> {
  using OpConversionPattern<PoolOp>::OpConversionPattern;
  using OpAdaptor = typename PoolOp::Adaptor;

  LogicalResult matchAndRewrite(PoolOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    RankedTensorType resultType = getStaticTensorType(op.getType());
    if (!resultType || !getStaticTensorType(adaptor.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    ArrayRef<int64_t> window = op.getWindow(), strides = op.getStrides();
    int64_t nd = static_cast<int64_t>(window.size());
    Location loc = op.getLoc();
    Type elem = resultType.getElementType();
    Value identity = poolInit(rewriter, loc, elem, Kind);
    if (nd > 3) {
      rewriter.replaceOp(op, createGenericPool(rewriter, loc, adaptor.getInput(), resultType,
                                               identity, window, strides, Kind));
      return success();
    }
    Value init = createFilledTensor(rewriter, loc, resultType, identity);
    // The named pools read the window's extents from a shape-only operand.
    Value shape = createEmptyTensor(rewriter, loc, RankedTensorType::get(window, elem));
    SmallVector<int64_t> ones(nd, 1);
    Value result;
    if (nd == 1)
      result = createWindowOp<Named1>(rewriter, loc, {adaptor.getInput(), shape}, init, strides,
                                      ones);
    else if (nd == 2)
      result = createWindowOp<Named2>(rewriter, loc, {adaptor.getInput(), shape}, init, strides,
                                      ones);
    else
      result = createWindowOp<Named3>(rewriter, loc, {adaptor.getInput(), shape}, init, strides,
                                      ones);
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateConvLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<ConvLowering,
               PoolLowering<PoolSumOp, 0, linalg::PoolingNwcSumOp, linalg::PoolingNhwcSumOp,
                            linalg::PoolingNdhwcSumOp>,
               PoolLowering<PoolMaxOp, 1, linalg::PoolingNwcMaxOp, linalg::PoolingNhwcMaxOp,
                            linalg::PoolingNdhwcMaxOp>,
               PoolLowering<PoolMinOp, -1, linalg::PoolingNwcMinOp, linalg::PoolingNhwcMinOp,
                            linalg::PoolingNdhwcMinOp>>(patterns.getContext());
}

} // namespace nnx::codegen
