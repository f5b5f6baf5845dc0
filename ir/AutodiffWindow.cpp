//===- AutodiffWindow.cpp - VJP rules of conv and the window pools --------===//
//
// A convolution's adjoints are convolutions again (JAX's _conv_general_dilated_transpose_lhs
// and _rhs, for channels-last operands):
//
//   input:  the adjoint dilated by the strides and padded by the kernel's dilated reach less
//           the forward padding, convolved (stride 1, the same kernel dilation and groups) with
//           the kernel flipped in space and its in/out channels swapped per group: only the
//           unpadded input's adjoint is computed;
//   kernel: the input with batch and channels swapped (one group of batch elements per
//           feature group), with the forward padding, convolved with the adjoint as its
//           kernel, with the roles of strides and dilation exchanged, cut to the kernel's
//           extent.
//
// pool_sum's adjoint is a pool_sum of the adjoint, dilated by the strides and padded by the
// window. pool_max/min send each window's adjoint to one element, the one XLA's
// select_and_scatter (jax.grad of reduce_window max/min) selects: scanning the window
// row-major, a later element replaces the one held unless held >= it (<= for min) — the first
// maximum, and after a NaN the next element. Per window offset, a strided slice of the input
// takes part in that scan (as whole tensors, one element per window), and each offset's share
// of the adjoint is padded back into place (the transpose of the slice).
//
//===----------------------------------------------------------------------===//
#include "ir/AutodiffRules.h"

#include "llvm/ADT/TypeSwitch.h"

#include <vector>

using namespace mlir;

namespace nnx::ir::detail {
namespace {

RankedTensorType rankedType(Value v) { return llvm::cast<RankedTensorType>(v.getType()); }

/// `shape` with `value` appended.
SmallVector<int64_t> with(ArrayRef<int64_t> shape, int64_t value) {
  SmallVector<int64_t> out(shape);
  out.push_back(value);
  return out;
}

/// The adjoint `g` [N, O..., F] of a window op over x [N, X..., *] dilated by `strides` and
/// padded so that a stride-1 window of `reach[d] + 1` elements (reach: the dilated window's
/// extent minus one) sums every output that read an input element.
Value spreadAdjoint(Value g, RankedTensorType x, ArrayRef<int64_t> strides,
                    ArrayRef<int64_t> reach, AdjointBuilder &adj) {
  RankedTensorType gType = rankedType(g);
  int64_t nd = gType.getRank() - 2;
  SmallVector<int64_t> low(nd + 2, 0), high(nd + 2, 0), interior(nd + 2, 0);
  SmallVector<int64_t> shape(gType.getShape());
  for (int64_t d = 0; d < nd; ++d) {
    int64_t out = gType.getDimSize(d + 1), extent = x.getDimSize(d + 1);
    int64_t covered = (out - 1) * strides[d] + reach[d] + 1; // input elements any window read
    low[d + 1] = reach[d];
    interior[d + 1] = strides[d] - 1;
    high[d + 1] = reach[d] + (extent - covered);
    shape[d + 1] = extent + reach[d];
  }
  auto type = RankedTensorType::get(shape, gType.getElementType());
  return adj.create<PadOp>(type, g, low, high, interior);
}

/// The input adjoint of conv x [N, X..., C] (padded by lo/hi to P) * w [K..., C/G, F] ->
/// g [N, O..., F]: g dilated by the strides, padded so that a stride-1 window of the dilated
/// kernel covers every output that read an element, and convolved with w flipped in space and
/// its in/out channels swapped per group. The padding that would be negative (a forward pad
/// wider than the kernel's reach) is cropped from the result instead.
Value convInputAdjoint(ConvOp op, Value g, AdjointBuilder &adj) {
  Value x = op.getInput(), w = op.getKernel();
  RankedTensorType xType = rankedType(x), wType = rankedType(w), gType = rankedType(g);
  int64_t nd = wType.getRank() - 2, groups = op.getFeatureGroupCount();
  ArrayRef<int64_t> strides = op.getWindowStrides(), dilation = op.getRhsDilation();
  ArrayRef<int64_t> lo = op.getPaddingLow(), hi = op.getPaddingHigh();
  ArrayRef<int64_t> window = wType.getShape().take_front(nd);
  int64_t perGroup = wType.getDimSize(nd), features = wType.getShape().back();
  Type elem = xType.getElementType();
  SmallVector<int64_t> spatial = llvm::to_vector(llvm::seq<int64_t>(0, nd));
  // g dilated by the strides (interior zeros), then padded through the convolution.
  SmallVector<int64_t> zeros(nd + 2, 0), interior(nd + 2, 0), dilated(gType.getShape());
  SmallVector<int64_t> padLow, padHigh, start(nd + 2, 0), limit(xType.getShape()),
      step(nd + 2, 1);
  bool crop = false;
  for (int64_t d = 0; d < nd; ++d) {
    int64_t out = gType.getDimSize(d + 1), extent = xType.getDimSize(d + 1);
    int64_t reach = (window[d] - 1) * dilation[d];
    int64_t padded = lo[d] + extent + hi[d];
    int64_t covered = (out - 1) * strides[d] + reach + 1; // padded elements any window read
    interior[d + 1] = strides[d] - 1;
    dilated[d + 1] = (out - 1) * strides[d] + 1;
    int64_t low = reach - lo[d], high = reach + (padded - covered) - hi[d];
    padLow.push_back(std::max<int64_t>(low, 0));
    padHigh.push_back(std::max<int64_t>(high, 0));
    start[d + 1] = padLow.back() - low;
    limit[d + 1] = start[d + 1] + extent;
    crop |= low < 0 || high < 0;
  }
  Value spread = g;
  if (llvm::any_of(interior, [](int64_t v) { return v > 0; }))
    spread = adj.create<PadOp>(RankedTensorType::get(dilated, elem), g, zeros, zeros, interior);
  // [K..., C/G, G, F/G] -> [K..., F/G, G, C/G] -> [K..., F/G, C], flipped in space.
  SmallVector<int64_t> split = with(with(with(window, perGroup), groups), features / groups);
  SmallVector<int64_t> perm = with(with(with(spatial, nd + 2), nd + 1), nd);
  Value swapped = adj.transpose(adj.reshape(w, RankedTensorType::get(split, elem)), perm);
  auto flippedType = RankedTensorType::get(
      with(with(window, features / groups), xType.getShape().back()), elem);
  Value flipped = adj.create<ReverseOp>(flippedType, adj.reshape(swapped, flippedType), spatial);
  SmallVector<int64_t> outShape(xType.getShape()), ones(nd, 1);
  for (int64_t d = 0; d < nd; ++d)
    outShape[d + 1] = windowOutputExtent(padLow[d] + dilated[d + 1] + padHigh[d], window[d], 1,
                                         dilation[d]);
  Value dx = adj.create<ConvOp>(RankedTensorType::get(outShape, elem), spread, flipped, ones,
                                padLow, padHigh, dilation, groups);
  return crop ? adj.slice(dx, start, limit, step) : dx;
}

/// conv x [N, X..., C] * w [K..., C/G, F] -> [N, O..., F] (strides S, padding, dilation D,
/// G groups).
void convVjp(ConvOp op, Value g, AdjointBuilder &adj) {
  Value x = op.getInput(), w = op.getKernel();
  RankedTensorType xType = rankedType(x), wType = rankedType(w);
  int64_t nd = wType.getRank() - 2, groups = op.getFeatureGroupCount();
  ArrayRef<int64_t> strides = op.getWindowStrides(), dilation = op.getRhsDilation();
  ArrayRef<int64_t> lo = op.getPaddingLow(), hi = op.getPaddingHigh();
  ArrayRef<int64_t> window = wType.getShape().take_front(nd);
  int64_t batch = xType.getDimSize(0), perGroup = wType.getDimSize(nd),
          features = wType.getShape().back();
  Type elem = xType.getElementType();
  if (adj.wants(x))
    adj.accumulate(x, convInputAdjoint(op, g, adj));
  if (!adj.wants(w))
    return;
  // x [N, X..., G, C/G] -> [C/G, X..., G, N] -> [C/G, X..., G * N]: batch and channels swap.
  ArrayRef<int64_t> extents = xType.getShape().slice(1, nd);
  SmallVector<int64_t> split{batch};
  split.append(extents.begin(), extents.end());
  split.push_back(groups);
  split.push_back(perGroup);
  SmallVector<int64_t> perm{nd + 2};
  for (int64_t d = 1; d <= nd; ++d)
    perm.push_back(d);
  perm.push_back(nd + 1);
  perm.push_back(0);
  Value xs = adj.transpose(adj.reshape(x, RankedTensorType::get(split, elem)), perm);
  SmallVector<int64_t> lhsShape{perGroup};
  lhsShape.append(extents.begin(), extents.end());
  lhsShape.push_back(groups * batch);
  xs = adj.reshape(xs, RankedTensorType::get(lhsShape, elem));
  // g [N, O..., F] -> [O..., N, F], the kernel of this convolution; the same permutation
  // takes its result [C/G, K..., F] to the kernel's layout [K..., C/G, F].
  SmallVector<int64_t> firstBehindSpatial;
  for (int64_t d = 1; d <= nd; ++d)
    firstBehindSpatial.push_back(d);
  firstBehindSpatial.push_back(0);
  firstBehindSpatial.push_back(nd + 1);
  Value gs = adj.transpose(g, firstBehindSpatial);
  RankedTensorType gsType = rankedType(gs);
  // Windows of the adjoint's extent O at stride D, dilated by S: [C/G, K'..., F], K' >= K.
  SmallVector<int64_t> outShape{perGroup}, start(nd + 2, 0), limit{perGroup}, step(nd + 2, 1);
  bool cut = false;
  for (int64_t d = 0; d < nd; ++d) {
    int64_t extent = windowOutputExtent(lo[d] + extents[d] + hi[d], gsType.getDimSize(d),
                                        dilation[d], strides[d]);
    outShape.push_back(extent);
    limit.push_back(window[d]);
    cut |= extent != window[d];
  }
  outShape.push_back(features);
  limit.push_back(features);
  Value dw = adj.create<ConvOp>(RankedTensorType::get(outShape, elem), xs, gs, dilation, lo, hi,
                                strides, groups);
  if (cut)
    dw = adj.slice(dw, start, limit, step);
  adj.accumulate(w, adj.transpose(dw, firstBehindSpatial));
}

/// pool_sum: every input element receives the sum of the adjoints of the windows reading it.
void poolSumVjp(PoolSumOp op, Value g, AdjointBuilder &adj) {
  RankedTensorType xType = rankedType(op.getInput());
  SmallVector<int64_t> reach, ones(op.getWindow().size(), 1);
  for (int64_t k : op.getWindow())
    reach.push_back(k - 1);
  Value spread = spreadAdjoint(g, xType, op.getStrides(), reach, adj);
  adj.accumulate(op.getInput(),
                 adj.create<PoolSumOp>(xType, spread, op.getWindow(), ones));
}

/// pool_max/min: each window's adjoint goes to the element XLA's select_and_scatter selects
/// (see the file comment).
void poolChooserVjp(Operation *op, bool isMax, ArrayRef<int64_t> window,
                    ArrayRef<int64_t> strides, Value g, AdjointBuilder &adj) {
  Value x = op->getOperand(0);
  RankedTensorType xType = rankedType(x), yType = rankedType(op->getResult(0));
  int64_t nd = static_cast<int64_t>(window.size()), taps = 1;
  for (int64_t k : window)
    taps *= k;
  // Tap k's strided slice of x (one element per window), and where it pads back to.
  struct Tap {
    SmallVector<int64_t> start, limit, stride, low, high, interior;
  };
  std::vector<Tap> geometry;
  for (int64_t tap = 0; tap < taps; ++tap) {
    Tap t{SmallVector<int64_t>(nd + 2, 0), SmallVector<int64_t>(xType.getShape()),
          SmallVector<int64_t>(nd + 2, 1), SmallVector<int64_t>(nd + 2, 0),
          SmallVector<int64_t>(nd + 2, 0), SmallVector<int64_t>(nd + 2, 0)};
    int64_t rest = tap;
    for (int64_t d = nd; d-- > 0;) {
      int64_t k = rest % window[d];
      rest /= window[d];
      int64_t last = k + (yType.getDimSize(d + 1) - 1) * strides[d];
      t.start[d + 1] = t.low[d + 1] = k;
      t.limit[d + 1] = last + 1;
      t.stride[d + 1] = strides[d];
      t.interior[d + 1] = strides[d] - 1;
      t.high[d + 1] = xType.getDimSize(d + 1) - last - 1;
    }
    geometry.push_back(std::move(t));
  }
  // The scan: `held` and its tap `index`; tap k replaces them unless held >= x_k (<= for min).
  auto indexType = RankedTensorType::get(yType.getShape(),
                                         IntegerType::get(adj.builder().getContext(), 32));
  Type mask = getI1SameShape(yType);
  const Tap &first = geometry.front();
  Value held = adj.slice(x, first.start, first.limit, first.stride);
  Value index = adj.splat(indexType, 0.0);
  for (int64_t tap = 1; tap < taps; ++tap) {
    const Tap &t = geometry[tap];
    Value xk = adj.slice(x, t.start, t.limit, t.stride);
    Value keep = adj.cmp(isMax ? CmpPredicate::ge : CmpPredicate::le, held, xk);
    Value take = adj.create<NotOp>(mask, keep);
    if (tap + 1 < taps)
      held = adj.select(take, xk, held);
    index = adj.select(take, adj.splat(indexType, double(tap)), index);
  }
  Value zero = adj.zeros(yType), total;
  for (int64_t tap = 0; tap < taps; ++tap) {
    const Tap &t = geometry[tap];
    Value chosen = adj.cmp(CmpPredicate::eq, index, adj.splat(indexType, double(tap)));
    Value part =
        adj.create<PadOp>(xType, adj.select(chosen, g, zero), t.low, t.high, t.interior);
    total = total ? adj.add(total, part) : part;
  }
  adj.accumulate(x, total);
}

} // namespace

bool emitWindowVjp(Operation *op, Value grad, AdjointBuilder &adj) {
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case([&](ConvOp o) { convVjp(o, grad, adj); return true; })
      .Case([&](PoolSumOp o) { poolSumVjp(o, grad, adj); return true; })
      .Case([&](PoolMaxOp o) {
        poolChooserVjp(o, /*isMax=*/true, o.getWindow(), o.getStrides(), grad, adj);
        return true;
      })
      .Case([&](PoolMinOp o) {
        poolChooserVjp(o, /*isMax=*/false, o.getWindow(), o.getStrides(), grad, adj);
        return true;
      })
      .Default([](Operation *) { return false; });
}

} // namespace nnx::ir::detail
