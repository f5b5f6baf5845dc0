//===- NNXOps.cpp - Verifiers, folders and syntax of nnx ops --------------===//
//
// The verifiers state each op's shape contract (the front end guarantees it; the verifier
// catches compiler bugs and hand-written IR in lit tests). Folders do only what is free and
// obviously right: constants, no-op reshapes/broadcasts/conversions, and conversions and
// broadcasts of splat constants (scalars written in the source).
//
//===----------------------------------------------------------------------===//
#include "ir/NNXDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/APSInt.h"
#include "llvm/ADT/STLExtras.h"

#include <algorithm>

using namespace mlir;
using namespace nnx::ir;

#include "ir/NNXEnums.cpp.inc"

Type nnx::ir::getI1SameShape(Type type) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  return RankedTensorType::get(tensor.getShape(), IntegerType::get(type.getContext(), 1));
}

#define GET_OP_CLASSES
#include "ir/NNXOps.cpp.inc"

namespace {

RankedTensorType rankedType(Value v) { return llvm::cast<RankedTensorType>(v.getType()); }

/// "[784, 256]" for diagnostics of the verifier.
std::string shapeString(ArrayRef<int64_t> shape) {
  std::string out = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    out += (i ? ", " : "") + std::to_string(d);
  return out + "]";
}

/// Checks that `axis` indexes a dimension of a tensor of rank `rank`.
LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank) {
  if (axis < 0 || axis >= rank)
    return op->emitOpError() << "axis " << axis << " is out of range for rank " << rank;
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

ParseResult ConstantOp::parse(OpAsmParser &parser, OperationState &result) {
  ElementsAttr value;
  if (parser.parseOptionalAttrDict(result.attributes) ||
      parser.parseAttribute(value, "value", result.attributes))
    return failure();
  result.addTypes(value.getType());
  return success();
}

void ConstantOp::print(OpAsmPrinter &printer) {
  printer.printOptionalAttrDict((*this)->getAttrs(), /*elidedAttrs=*/{"value"});
  printer << ' ';
  printer.printAttribute(getValue());
}

LogicalResult ConstantOp::verify() {
  if (getValue().getType() != getType())
    return emitOpError("value type ") << getValue().getType() << " differs from result type "
                                      << getType();
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// IotaOp, ConvertOp
//===----------------------------------------------------------------------===//

LogicalResult IotaOp::verify() {
  return verifyAxis(*this, getDim(), getType().getRank());
}

LogicalResult ConvertOp::verify() {
  if (rankedType(getInput()).getShape() != getType().getShape())
    return emitOpError("changes the shape from ")
           << shapeString(rankedType(getInput()).getShape()) << " to "
           << shapeString(getType().getShape());
  return success();
}

/// The conversion of one element, exactly as the runtime converts (rt::Tensor::astype, and
/// the JIT's lowering): float to float rounds to nearest; float to int truncates toward zero
/// and saturates at the type's range, NaN to 0 (XLA's rule); int to float rounds to nearest;
/// int to int wraps (two's complement); anything to bool is `x != 0` (NaN is true).
static Attribute convertElement(Attribute in, Type from, Type to) {
  auto toFloat = llvm::dyn_cast<FloatType>(to);
  if (llvm::isa<FloatType>(from)) {
    APFloat v = llvm::cast<FloatAttr>(in).getValue();
    if (toFloat) {
      bool lost;
      v.convert(toFloat.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      return FloatAttr::get(to, v);
    }
    if (to.isInteger(1))
      return BoolAttr::get(to.getContext(), !v.isZero());
    unsigned width = to.getIntOrFloatBitWidth();
    APSInt result(width, /*isUnsigned=*/false);
    if (v.isNaN())
      result = 0;
    else if (v.isNegative() && v.isInfinity())
      result = APSInt(APInt::getSignedMinValue(width), false);
    else if (v.isInfinity())
      result = APSInt(APInt::getSignedMaxValue(width), false);
    else {
      bool exact;
      // Out of range gives opInvalidOp with the result saturated toward the sign.
      if (v.convertToInteger(result, APFloat::rmTowardZero, &exact) == APFloat::opInvalidOp)
        result = APSInt(v.isNegative() ? APInt::getSignedMinValue(width)
                                       : APInt::getSignedMaxValue(width),
                        false);
    }
    return IntegerAttr::get(to, result);
  }
  APInt v = from.isInteger(1) ? APInt(1, llvm::cast<BoolAttr>(in).getValue())
                              : llvm::cast<IntegerAttr>(in).getValue();
  bool isSigned = !from.isInteger(1);
  if (toFloat) {
    APFloat f(toFloat.getFloatSemantics());
    f.convertFromAPInt(v, isSigned, APFloat::rmNearestTiesToEven);
    return FloatAttr::get(to, f);
  }
  if (to.isInteger(1))
    return BoolAttr::get(to.getContext(), !v.isZero());
  unsigned width = to.getIntOrFloatBitWidth();
  return IntegerAttr::get(to, isSigned ? v.sextOrTrunc(width) : v.zextOrTrunc(width));
}

OpFoldResult ConvertOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto splat = llvm::dyn_cast_if_present<SplatElementsAttr>(adaptor.getInput());
  if (!splat)
    return {};
  Type from = splat.getElementType(), to = getType().getElementType();
  Attribute element = convertElement(splat.getSplatValue<Attribute>(), from, to);
  return DenseElementsAttr::get(getType(), element);
}

//===----------------------------------------------------------------------===//
// BroadcastInDimOp and reductions
//===----------------------------------------------------------------------===//

LogicalResult BroadcastInDimOp::verify() {
  auto in = rankedType(getInput());
  ArrayRef<int64_t> dims = getDims(), out = getType().getShape();
  if (in.getElementType() != getType().getElementType())
    return emitOpError("changes the element type");
  if (static_cast<int64_t>(dims.size()) != in.getRank())
    return emitOpError("has ") << dims.size() << " dims for an operand of rank " << in.getRank();
  for (auto [i, d] : llvm::enumerate(dims)) {
    if (d < 0 || d >= static_cast<int64_t>(out.size()) || (i > 0 && d <= dims[i - 1]))
      return emitOpError("dims must be increasing result dimensions, got ")
             << shapeString(dims);
    if (in.getDimSize(i) != 1 && in.getDimSize(i) != out[d])
      return emitOpError("cannot broadcast operand dim ")
             << i << " of extent " << in.getDimSize(i) << " to extent " << out[d];
  }
  return success();
}

OpFoldResult BroadcastInDimOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto splat = llvm::dyn_cast_if_present<SplatElementsAttr>(adaptor.getInput()))
    return splat.resizeSplat(getType());
  return {};
}

/// Shared verifier of reduce_sum/max/min: axes sorted, unique, in range; result drops them.
static LogicalResult verifyReduce(Operation *op, RankedTensorType in, ArrayRef<int64_t> axes,
                                  RankedTensorType out) {
  SmallVector<int64_t> expected;
  for (auto [i, a] : llvm::enumerate(axes)) {
    if (failed(verifyAxis(op, a, in.getRank())))
      return failure();
    if (i > 0 && a <= axes[i - 1])
      return op->emitOpError("axes must be sorted and unique, got ") << shapeString(axes);
  }
  for (int64_t d = 0; d < in.getRank(); ++d)
    if (!llvm::is_contained(axes, d))
      expected.push_back(in.getDimSize(d));
  if (out.getShape() != ArrayRef<int64_t>(expected) ||
      out.getElementType() != in.getElementType())
    return op->emitOpError("result must have shape ") << shapeString(expected);
  return success();
}

LogicalResult ReduceSumOp::verify() {
  return verifyReduce(*this, rankedType(getInput()), getAxes(), getType());
}
LogicalResult ReduceMaxOp::verify() {
  return verifyReduce(*this, rankedType(getInput()), getAxes(), getType());
}
LogicalResult ReduceMinOp::verify() {
  return verifyReduce(*this, rankedType(getInput()), getAxes(), getType());
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = rankedType(getInput());
  if (in.getNumElements() != getType().getNumElements() ||
      in.getElementType() != getType().getElementType())
    return emitOpError("cannot reshape ") << shapeString(in.getShape()) << " to "
                                          << shapeString(getType().getShape());
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto producer = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(producer.getInput());
    return getResult();
  }
  if (auto dense = llvm::dyn_cast_if_present<DenseElementsAttr>(adaptor.getInput()))
    return dense.reshape(getType());
  return {};
}

LogicalResult TransposeOp::verify() {
  auto in = rankedType(getInput());
  ArrayRef<int64_t> perm = getPerm();
  if (static_cast<int64_t>(perm.size()) != in.getRank())
    return emitOpError("perm has ") << perm.size() << " entries for rank " << in.getRank();
  SmallVector<int64_t> expected;
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= in.getRank() || seen[p])
      return emitOpError("perm ") << shapeString(perm) << " is not a permutation";
    seen[p] = true;
    expected.push_back(in.getDimSize(p));
  }
  if (getType().getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("result must have shape ") << shapeString(expected);
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one operand");
  auto out = getType();
  int64_t axis = static_cast<int64_t>(getAxis());
  if (failed(verifyAxis(*this, axis, out.getRank())))
    return failure();
  int64_t total = 0;
  for (Value v : getInputs()) {
    auto t = rankedType(v);
    if (t.getRank() != out.getRank() || t.getElementType() != out.getElementType())
      return emitOpError("operands must have the result's rank and element type");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != out.getDimSize(d))
        return emitOpError("operand shape ") << shapeString(t.getShape())
                                             << " differs from the result off the axis";
    total += t.getDimSize(axis);
  }
  if (total != out.getDimSize(axis))
    return emitOpError("result extent along the axis must be ") << total;
  return success();
}

LogicalResult SliceOp::verify() {
  auto in = rankedType(getInput());
  ArrayRef<int64_t> start = getStart(), limit = getLimit(), stride = getStride();
  int64_t rank = in.getRank();
  if (static_cast<int64_t>(start.size()) != rank || static_cast<int64_t>(limit.size()) != rank ||
      static_cast<int64_t>(stride.size()) != rank)
    return emitOpError("start, limit and stride need ") << rank << " entries each";
  for (int64_t d = 0; d < rank; ++d) {
    if (stride[d] <= 0 || start[d] < 0 || start[d] > limit[d] || limit[d] > in.getDimSize(d))
      return emitOpError("bad bounds on dim ") << d << ": " << start[d] << ":" << limit[d]
                                               << ":" << stride[d] << " of extent "
                                               << in.getDimSize(d);
    int64_t extent = (limit[d] - start[d] + stride[d] - 1) / stride[d];
    if (getType().getDimSize(d) != extent)
      return emitOpError("result extent on dim ") << d << " must be " << extent;
  }
  return success();
}

LogicalResult PadOp::verify() {
  auto in = rankedType(getInput());
  ArrayRef<int64_t> low = getLow(), high = getHigh(), interior = getInterior();
  int64_t rank = in.getRank();
  if (static_cast<int64_t>(low.size()) != rank || static_cast<int64_t>(high.size()) != rank ||
      static_cast<int64_t>(interior.size()) != rank)
    return emitOpError("low, high and interior need ") << rank << " entries each";
  if (in.getElementType() != getType().getElementType() || getType().getRank() != rank)
    return emitOpError("changes the element type or the rank");
  for (int64_t d = 0; d < rank; ++d) {
    if (low[d] < 0 || high[d] < 0 || interior[d] < 0)
      return emitOpError("negative padding on dim ") << d;
    int64_t n = in.getDimSize(d);
    int64_t extent = low[d] + n + std::max<int64_t>(n - 1, 0) * interior[d] + high[d];
    if (getType().getDimSize(d) != extent)
      return emitOpError("result extent on dim ") << d << " must be " << extent;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ConvOp, pooling
//===----------------------------------------------------------------------===//

int64_t nnx::ir::windowOutputExtent(int64_t extent, int64_t window, int64_t stride,
                                    int64_t dilation) {
  int64_t span = (window - 1) * dilation + 1;
  return extent < span ? 0 : (extent - span) / stride + 1;
}

namespace {

/// Checks `values` (one per spatial axis, `count` of them) are >= 1.
LogicalResult checkWindowAttr(Operation *op, StringRef name, ArrayRef<int64_t> values,
                              int64_t count) {
  if (static_cast<int64_t>(values.size()) != count)
    return op->emitOpError() << name << " needs " << count << " entries (one per spatial axis)";
  if (llvm::any_of(values, [](int64_t v) { return v < 1; }))
    return op->emitOpError() << name << " must be positive, got " << shapeString(values);
  return success();
}

/// Checks a sliding window's result: [N, O..., `last`] where O are the VALID output extents
/// of input [N, S..., C] padded by `padding` (per spatial axis, or none); the window must fit
/// in every spatial axis.
LogicalResult checkWindowResult(Operation *op, RankedTensorType in, RankedTensorType out,
                                ArrayRef<int64_t> window, ArrayRef<int64_t> strides,
                                ArrayRef<int64_t> dilation, int64_t last,
                                ArrayRef<int64_t> padding = {}) {
  int64_t nd = in.getRank() - 2;
  SmallVector<int64_t> expected{in.getDimSize(0)};
  for (int64_t d = 0; d < nd; ++d) {
    int64_t extent = in.getDimSize(d + 1) + (padding.empty() ? 0 : padding[d]);
    int64_t span = (window[d] - 1) * dilation[d] + 1;
    if (extent < span)
      return op->emitOpError("the window spans ")
             << span << " elements of spatial axis " << d << ", which has " << extent;
    expected.push_back(windowOutputExtent(extent, window[d], strides[d], dilation[d]));
  }
  expected.push_back(last);
  if (out.getShape() != ArrayRef<int64_t>(expected))
    return op->emitOpError("result must have shape ") << shapeString(expected);
  if (out.getElementType() != in.getElementType())
    return op->emitOpError("changes the element type");
  return success();
}

/// The checks shared by pool_sum, pool_max and pool_min.
LogicalResult verifyPool(Operation *op, RankedTensorType in, RankedTensorType out,
                         ArrayRef<int64_t> window, ArrayRef<int64_t> strides) {
  int64_t nd = in.getRank() - 2;
  if (nd < 1)
    return op->emitOpError("needs an input [N, spatial..., C] of rank >= 3, got rank ")
           << in.getRank();
  if (failed(checkWindowAttr(op, "window", window, nd)) ||
      failed(checkWindowAttr(op, "strides", strides, nd)))
    return failure();
  SmallVector<int64_t> ones(nd, 1);
  return checkWindowResult(op, in, out, window, strides, ones, in.getShape().back());
}

} // namespace

LogicalResult ConvOp::verify() {
  auto in = rankedType(getInput()), kernel = rankedType(getKernel());
  int64_t nd = kernel.getRank() - 2, groups = getFeatureGroupCount();
  if (nd < 1 || in.getRank() != nd + 2)
    return emitOpError("needs an input [N, spatial..., C] and a kernel [spatial..., C/G, F] "
                       "with as many spatial axes, got ranks ")
           << in.getRank() << " and " << kernel.getRank();
  if (in.getElementType() != kernel.getElementType())
    return emitOpError("input and kernel must share one element type");
  if (failed(checkWindowAttr(*this, "window_strides", getWindowStrides(), nd)) ||
      failed(checkWindowAttr(*this, "rhs_dilation", getRhsDilation(), nd)))
    return failure();
  ArrayRef<int64_t> low = getPaddingLow(), high = getPaddingHigh();
  if (static_cast<int64_t>(low.size()) != nd || static_cast<int64_t>(high.size()) != nd)
    return emitOpError("padding needs ") << nd << " low and high entries (one per spatial axis)";
  if (llvm::any_of(low, [](int64_t v) { return v < 0; }) ||
      llvm::any_of(high, [](int64_t v) { return v < 0; }))
    return emitOpError("negative padding ") << shapeString(low) << ", " << shapeString(high);
  SmallVector<int64_t> padding;
  for (int64_t d = 0; d < nd; ++d)
    padding.push_back(low[d] + high[d]);
  int64_t channels = in.getShape().back(), perGroup = kernel.getDimSize(nd),
          features = kernel.getShape().back();
  if (groups < 1 || channels != perGroup * groups || features % groups != 0)
    return emitOpError("input channels ")
           << channels << " must be the kernel's " << perGroup << " x feature_group_count "
           << groups << ", and its " << features << " features a multiple of it";
  return checkWindowResult(*this, in, getType(), kernel.getShape().take_front(nd),
                           getWindowStrides(), getRhsDilation(), features, padding);
}

LogicalResult PoolSumOp::verify() {
  return verifyPool(*this, rankedType(getInput()), getType(), getWindow(), getStrides());
}

LogicalResult PoolMaxOp::verify() {
  return verifyPool(*this, rankedType(getInput()), getType(), getWindow(), getStrides());
}

LogicalResult PoolMinOp::verify() {
  return verifyPool(*this, rankedType(getInput()), getType(), getWindow(), getStrides());
}

//===----------------------------------------------------------------------===//
// MatmulOp, softmax
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::verify() {
  auto a = rankedType(getLhs()), b = rankedType(getRhs());
  if (a.getRank() < 2 || (b.getRank() != 2 && b.getRank() != a.getRank()))
    return emitOpError("needs lhs rank >= 2 and rhs rank 2 or equal to lhs rank, got ")
           << a.getRank() << " and " << b.getRank();
  if (a.getElementType() != b.getElementType() ||
      a.getElementType() != getType().getElementType())
    return emitOpError("operands and result must share one element type");
  int64_t k = a.getShape().back(), kb = b.getDimSize(b.getRank() - 2);
  if (k != kb)
    return emitOpError("inner dimensions differ: ") << k << " vs " << kb;
  SmallVector<int64_t> expected(a.getShape().drop_back());
  expected.push_back(b.getShape().back());
  if (b.getRank() > 2 && a.getShape().drop_back(2) != b.getShape().drop_back(2))
    return emitOpError("batch dimensions differ: ") << shapeString(a.getShape().drop_back(2))
                                                    << " vs "
                                                    << shapeString(b.getShape().drop_back(2));
  if (getType().getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("result must have shape ") << shapeString(expected);
  return success();
}

LogicalResult SoftmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getType().getRank());
}
LogicalResult LogSoftmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getType().getRank());
}

//===----------------------------------------------------------------------===//
// Random draws
//===----------------------------------------------------------------------===//

/// Shared verifier: key is i32[2], counter is i32[].
static LogicalResult verifyRandom(Operation *op, Value key, Value counter) {
  if (rankedType(key).getShape() != ArrayRef<int64_t>{2})
    return op->emitOpError("key must be tensor<2xi32>");
  if (rankedType(counter).getRank() != 0)
    return op->emitOpError("counter must be tensor<i32>");
  return success();
}

LogicalResult RandomUniformOp::verify() { return verifyRandom(*this, getKey(), getCounter()); }
LogicalResult RandomNormalOp::verify() { return verifyRandom(*this, getKey(), getCounter()); }

//===----------------------------------------------------------------------===//
// ReverseOp
//===----------------------------------------------------------------------===//

LogicalResult ReverseOp::verify() {
  int64_t rank = getType().getRank(), previous = -1;
  for (int64_t d : getDims()) {
    if (failed(verifyAxis(*this, d, rank)))
      return failure();
    if (d <= previous)
      return emitOpError("dims must be sorted and distinct");
    previous = d;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// GatherOp
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::verify() {
  RankedTensorType in = rankedType(getInput()), idx = rankedType(getIndices());
  int64_t axis = static_cast<int64_t>(getAxis()), batch = static_cast<int64_t>(getBatchDims());
  if (failed(verifyAxis(*this, axis, in.getRank())))
    return failure();
  if (batch < 0 || batch > axis || batch > idx.getRank())
    return emitOpError("batch_dims must be in [0, min(axis, indices rank)], got ") << batch;
  if (in.getShape().take_front(batch) != idx.getShape().take_front(batch))
    return emitOpError("the indices' first ")
           << batch << " dims must equal the input's, got " << shapeString(idx.getShape())
           << " and " << shapeString(in.getShape());
  SmallVector<int64_t> expected(in.getShape().take_front(axis));
  llvm::append_range(expected, idx.getShape().drop_front(batch));
  llvm::append_range(expected, in.getShape().drop_front(axis + 1));
  if (getType().getShape() != ArrayRef<int64_t>(expected) ||
      getType().getElementType() != in.getElementType())
    return emitOpError("result must have shape ") << shapeString(expected)
                                                  << " and the input's element type";
  return success();
}

//===----------------------------------------------------------------------===//
// ScanOp
//===----------------------------------------------------------------------===//

YieldOp ScanOp::getYield() { return llvm::cast<YieldOp>(getBodyBlock().getTerminator()); }

Block::BlockArgListType ScanOp::getCarryArgs() {
  return getBodyBlock().getArguments().take_front(getInit().size());
}

Block::BlockArgListType ScanOp::getSliceArgs() {
  return getBodyBlock().getArguments().slice(getInit().size(), getXs().size());
}

Block::BlockArgListType ScanOp::getConstArgs() {
  return getBodyBlock().getArguments().drop_front(getInit().size() + getXs().size());
}

RankedTensorType nnx::ir::prependDim(Type type, int64_t extent) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  SmallVector<int64_t> shape{extent};
  llvm::append_range(shape, tensor.getShape());
  return RankedTensorType::get(shape, tensor.getElementType());
}

RankedTensorType nnx::ir::dropLeadingDim(Type type) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  return RankedTensorType::get(tensor.getShape().drop_front(), tensor.getElementType());
}

/// The type of one slice of a scanned tensor: `type` without its leading dimension.
static RankedTensorType dropLeading(RankedTensorType type) { return dropLeadingDim(type); }

ScanOp nnx::ir::createScan(OpBuilder &b, Location loc, ValueRange init, ValueRange xs,
                           ValueRange consts, TypeRange stepOutputTypes, int64_t length,
                           bool reverse) {
  SmallVector<Type> resultTypes(init.getTypes());
  for (Type t : stepOutputTypes)
    resultTypes.push_back(prependDim(t, length));
  OperationState state(loc, ScanOp::getOperationName());
  state.addOperands(init);
  state.addOperands(xs);
  state.addOperands(consts);
  state.addTypes(resultTypes);
  state.addAttribute("operandSegmentSizes",
                     b.getDenseI32ArrayAttr({static_cast<int32_t>(init.size()),
                                             static_cast<int32_t>(xs.size()),
                                             static_cast<int32_t>(consts.size())}));
  state.addAttribute("length", b.getI64IntegerAttr(length));
  if (reverse)
    state.addAttribute("reverse", b.getUnitAttr());
  state.addRegion();
  auto scan = llvm::cast<ScanOp>(b.create(state));
  Block *block = new Block();
  scan.getBody().push_back(block);
  for (Value v : init)
    block->addArgument(v.getType(), loc);
  for (Value v : xs)
    block->addArgument(dropLeadingDim(v.getType()), loc);
  for (Value v : consts)
    block->addArgument(v.getType(), loc);
  return scan;
}

LogicalResult ScanOp::verify() {
  int64_t length = getLength();
  if (length < 0)
    return emitOpError("length must be non-negative, got ") << length;
  Block &body = getBodyBlock();
  size_t numInit = getInit().size(), numXs = getXs().size(), numConsts = getConsts().size();
  if (body.getNumArguments() != numInit + numXs + numConsts)
    return emitOpError("body takes ") << body.getNumArguments() << " arguments, expected "
                                      << numInit + numXs + numConsts;
  for (auto [i, v] : llvm::enumerate(getInit()))
    if (body.getArgument(i).getType() != v.getType())
      return emitOpError("carry ") << i << " has type " << v.getType() << " but the body takes "
                                   << body.getArgument(i).getType();
  for (auto [i, v] : llvm::enumerate(getXs())) {
    RankedTensorType type = rankedType(v);
    if (type.getRank() == 0 || type.getDimSize(0) != length)
      return emitOpError("scanned operand ") << i << " of type " << type
                                             << " must have leading dimension " << length;
    if (body.getArgument(numInit + i).getType() != dropLeading(type))
      return emitOpError("the body's slice of scanned operand ") << i << " must have type "
                                                                 << dropLeading(type);
  }
  for (auto [i, v] : llvm::enumerate(getConsts()))
    if (body.getArgument(numInit + numXs + i).getType() != v.getType())
      return emitOpError("constant ") << i << " has type " << v.getType()
                                      << " but the body takes "
                                      << body.getArgument(numInit + numXs + i).getType();
  auto yielded = getYield().getValues();
  if (yielded.size() != getNumResults())
    return emitOpError("the body yields ") << yielded.size() << " values for " << getNumResults()
                                           << " results";
  for (size_t i = 0; i < getNumResults(); ++i) {
    Type yieldType = yielded[i].getType();
    if (i < numInit) {
      if (yieldType != getInit()[i].getType() || getResult(i).getType() != yieldType)
        return emitOpError("carry ") << i << " changes type: " << getInit()[i].getType()
                                     << " in, " << yieldType << " yielded";
      continue;
    }
    auto stacked = rankedType(getResult(i));
    if (stacked.getRank() == 0 || stacked.getDimSize(0) != length ||
        dropLeading(stacked) != yieldType)
      return emitOpError("result ") << i << " of type " << stacked << " must stack the yielded "
                                    << yieldType << " along a leading dimension of " << length;
  }
  return success();
}
