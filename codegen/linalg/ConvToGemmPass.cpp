//===- ConvToGemmPass.cpp - The nnx-conv-to-gemm pass ---------------------===//
//
// A convolution of one feature group is a matrix product once its windows are laid out as
// rows (im2col): for input [N, S..., C], filter [K..., C, F] and output [N, O..., F],
//
//   patches[n, o..., k..., c] = input[n, o * stride + k * dilation, c]    (a parallel generic)
//   output [N * prod(O), F]   = patches [N * prod(O), prod(K) * C] @ filter [prod(K) * C, F]
//
// so the products run on the GEMM kernel (nnx-gemm-schedule) instead of a direct loop nest.
// Each output still sums over the window row-major, then the channels, in ascending order:
// the interpreter's order. The patches cost prod(K) copies of the input, which is what pays
// for the kernel's speed at the small windows of the models nnx is for. Convolutions too thin
// for the kernel (fewer than `min-rows` rows, `min-depth` window elements or `min-features`
// features) stay direct. Runs on tensors, right after nnx-to-linalg.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"
#include "codegen/linalg/LoweringUtils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_CONVTOGEMMPASS
#define GEN_PASS_DEF_CONVTOGEMMPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

using namespace mlir;

/// The values of a named convolution's `strides` or `dilations` (1 where absent).
SmallVector<int64_t> windowAttr(Operation *op, StringRef name, int64_t count) {
  SmallVector<int64_t> values(count, 1);
  if (auto attr = op->getAttrOfType<DenseIntElementsAttr>(name))
    for (auto [i, v] : llvm::enumerate(attr.getValues<int64_t>()))
      values[i] = v;
  return values;
}

/// im2col of `conv` (a conv_{1,2,3}d with channels last and the filter [K..., C, F]) when it
/// is large enough; `conv` is left alone otherwise.
void rewriteConv(RewriterBase &rewriter, linalg::LinalgOp conv, int64_t minRows,
                 int64_t minDepth, int64_t minFeatures) {
  Value input = conv.getDpsInputs()[0], filter = conv.getDpsInputs()[1];
  Value init = conv.getDpsInits()[0];
  auto inType = llvm::dyn_cast<RankedTensorType>(input.getType());
  auto fType = llvm::dyn_cast<RankedTensorType>(filter.getType());
  auto outType = llvm::dyn_cast<RankedTensorType>(init.getType());
  if (!inType || !fType || !outType || !inType.hasStaticShape() || !fType.hasStaticShape() ||
      !outType.hasStaticShape())
    return;
  int64_t nd = fType.getRank() - 2;
  int64_t channels = fType.getDimSize(nd), features = fType.getDimSize(nd + 1);
  int64_t rows = outType.getNumElements() / features;
  int64_t depth = fType.getNumElements() / features;
  if (rows < minRows || depth < minDepth || features < minFeatures)
    return;
  SmallVector<int64_t> strides = windowAttr(conv, "strides", nd);
  SmallVector<int64_t> dilations = windowAttr(conv, "dilations", nd);
  Location loc = conv.getLoc();
  MLIRContext *ctx = rewriter.getContext();
  Type elem = outType.getElementType();
  rewriter.setInsertionPoint(conv);
  // patches [N, O..., K..., C]; loops (n, o..., k..., c).
  int64_t loops = 2 * nd + 2;
  auto dim = [&](int64_t i) { return getAffineDimExpr(static_cast<unsigned>(i), ctx); };
  SmallVector<AffineExpr> read{dim(0)};
  SmallVector<int64_t> shape{outType.getDimSize(0)};
  for (int64_t d = 0; d < nd; ++d) {
    read.push_back(dim(1 + d) * strides[d] + dim(1 + nd + d) * dilations[d]);
    shape.push_back(outType.getDimSize(1 + d));
  }
  for (int64_t d = 0; d < nd; ++d)
    shape.push_back(fType.getDimSize(d));
  read.push_back(dim(loops - 1));
  shape.push_back(channels);
  auto patchesType = RankedTensorType::get(shape, elem);
  Value patches = createParallelGeneric(
      rewriter, loc, patchesType, {input}, {AffineMap::get(loops, 0, read, ctx)},
      [](OpBuilder &, Location, ValueRange args) { return args[0]; });
  Value lhs = createReshape(rewriter, loc, patches, RankedTensorType::get({rows, depth}, elem));
  Value rhs = createReshape(rewriter, loc, filter, RankedTensorType::get({depth, features}, elem));
  Value acc = createReshape(rewriter, loc, init, RankedTensorType::get({rows, features}, elem));
  Value product =
      rewriter.create<linalg::MatmulOp>(loc, ValueRange{lhs, rhs}, ValueRange{acc})->getResult(0);
  rewriter.replaceOp(conv, createReshape(rewriter, loc, product, outType));
}

struct ConvToGemmPass : impl::ConvToGemmPassBase<ConvToGemmPass> {
  using ConvToGemmPassBase::ConvToGemmPassBase;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> convs;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (llvm::isa<linalg::Conv1DNwcWcfOp, linalg::Conv2DNhwcHwcfOp,
                    linalg::Conv3DNdhwcDhwcfOp>(op.getOperation()) &&
          op.hasPureTensorSemantics())
        convs.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp conv : convs)
      rewriteConv(rewriter, conv, minRows, minDepth, minFeatures);
  }
};

} // namespace
} // namespace nnx::codegen
