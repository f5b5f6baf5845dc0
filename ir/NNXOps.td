//===- NNXOps.td - Ops of the nnx dialect -----------------------*- tablegen -*-===//
//
// Families: constants and fills; elementwise unary, binary, compare and select; conversion;
// broadcast; reductions; shape ops (reshape, transpose, concat, slice, pad, reverse); matmul;
// convolution and window pooling;
// softmax and log-softmax; iota; random draws from a counter-based key; and the one op with a
// region, `scan` (a loop over a leading axis, with its `yield`). All are pure: a random draw is
// a function of its key and counter operands, and a scan is as pure as its body.
//
//===----------------------------------------------------------------------===//
#ifndef NNX_OPS_TD
#define NNX_OPS_TD

include "ir/NNXDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def NNX_ConstantOp : NNX_Op<"constant", [ConstantLike, Pure]> {
  let summary = "a tensor constant";
  let arguments = (ins ElementsAttr:$value);
  let results = (outs NNX_AnyTensor:$result);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let hasFolder = 1;
  let builders = [OpBuilder<(ins "::mlir::ElementsAttr":$value), [{
    build($_builder, $_state, ::llvm::cast<::mlir::TensorType>(value.getType()), value);
  }]>];
}

def NNX_IotaOp : NNX_Op<"iota", [Pure]> {
  let summary = "each element is its index along `dim`";
  let arguments = (ins I64Attr:$dim);
  let results = (outs NNX_NumericTensor:$result);
  let assemblyFormat = "`dim` `=` $dim attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class NNX_UnaryOp<string mnemonic, Type type, string doc>
    : NNX_Op<mnemonic, [Pure, SameOperandsAndResultType, Elementwise]> {
  let summary = doc;
  let arguments = (ins type:$input);
  let results = (outs type:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def NNX_NegOp : NNX_UnaryOp<"neg", NNX_NumericTensor, "negation">;
def NNX_AbsOp : NNX_UnaryOp<"abs", NNX_NumericTensor, "absolute value">;
def NNX_ExpOp : NNX_UnaryOp<"exp", NNX_FloatTensor, "e to the power x">;
def NNX_LogOp : NNX_UnaryOp<"log", NNX_FloatTensor, "natural logarithm">;
def NNX_SqrtOp : NNX_UnaryOp<"sqrt", NNX_FloatTensor, "square root">;
def NNX_RsqrtOp : NNX_UnaryOp<"rsqrt", NNX_FloatTensor, "reciprocal square root">;
def NNX_TanhOp : NNX_UnaryOp<"tanh", NNX_FloatTensor, "hyperbolic tangent">;
def NNX_SigmoidOp : NNX_UnaryOp<"sigmoid", NNX_FloatTensor, "logistic sigmoid 1/(1+e^-x)">;
def NNX_ReluOp : NNX_UnaryOp<"relu", NNX_FloatTensor, "max(x, 0)">;
def NNX_GeluOp : NNX_UnaryOp<"gelu", NNX_FloatTensor,
    "GELU, tanh approximation (jax.nn.gelu with approximate=True)">;
def NNX_SinOp : NNX_UnaryOp<"sin", NNX_FloatTensor, "sine">;
def NNX_CosOp : NNX_UnaryOp<"cos", NNX_FloatTensor, "cosine">;
def NNX_ErfOp : NNX_UnaryOp<"erf", NNX_FloatTensor, "the error function (libm's erf)">;
def NNX_FloorOp : NNX_UnaryOp<"floor", NNX_FloatTensor, "rounding toward negative infinity">;
def NNX_NotOp : NNX_UnaryOp<"not", NNX_BoolTensor, "logical not">;

class NNX_BinaryOp<string mnemonic, Type type, string doc>
    : NNX_Op<mnemonic, [Pure, SameOperandsAndResultType, Elementwise]> {
  let summary = doc;
  let arguments = (ins type:$lhs, type:$rhs);
  let results = (outs type:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def NNX_AddOp : NNX_BinaryOp<"add", NNX_NumericTensor, "addition">;
def NNX_SubOp : NNX_BinaryOp<"sub", NNX_NumericTensor, "subtraction">;
def NNX_MulOp : NNX_BinaryOp<"mul", NNX_NumericTensor, "multiplication">;
def NNX_DivOp : NNX_BinaryOp<"div", NNX_NumericTensor,
    "division (integers: truncated toward zero)">;
def NNX_RemOp : NNX_BinaryOp<"rem", NNX_NumericTensor,
    "remainder of the truncated division, with the sign of lhs (C's % and fmod); integers: "
    "x rem 0 is 0">;
def NNX_PowOp : NNX_BinaryOp<"pow", NNX_FloatTensor, "lhs to the power rhs">;
def NNX_MaxOp : NNX_BinaryOp<"max", NNX_NumericTensor, "elementwise maximum">;
def NNX_MinOp : NNX_BinaryOp<"min", NNX_NumericTensor, "elementwise minimum">;
def NNX_AndOp : NNX_BinaryOp<"and", NNX_BoolTensor, "logical and">;
def NNX_OrOp : NNX_BinaryOp<"or", NNX_BoolTensor, "logical or">;

def NNX_CmpOp : NNX_Op<"cmp", [Pure, Elementwise, AllTypesMatch<["lhs", "rhs"]>,
    TypesMatchWith<"result is the i1 tensor of the operands' shape", "lhs", "result",
                   "::nnx::ir::getI1SameShape($_self)">]> {
  let summary = "elementwise comparison";
  let arguments = (ins NNX_CmpPredicateAttr:$predicate, NNX_NumericTensor:$lhs,
                       NNX_NumericTensor:$rhs);
  let results = (outs NNX_BoolTensor:$result);
  let assemblyFormat = "$predicate `,` $lhs `,` $rhs attr-dict `:` type($lhs)";
}

def NNX_SelectOp : NNX_Op<"select", [Pure, Elementwise,
    AllTypesMatch<["on_true", "on_false", "result"]>,
    TypesMatchWith<"condition is the i1 tensor of the result's shape", "result", "cond",
                   "::nnx::ir::getI1SameShape($_self)">]> {
  let summary = "cond ? on_true : on_false, elementwise";
  let arguments = (ins NNX_BoolTensor:$cond, NNX_AnyTensor:$on_true, NNX_AnyTensor:$on_false);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = "$cond `,` $on_true `,` $on_false attr-dict `:` type($result)";
}

def NNX_ConvertOp : NNX_Op<"convert", [Pure, Elementwise]> {
  let summary = "elementwise dtype conversion (float to int truncates; to bool: x != 0)";
  let arguments = (ins NNX_AnyTensor:$input);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Broadcast and reductions
//===----------------------------------------------------------------------===//

def NNX_BroadcastInDimOp : NNX_Op<"broadcast_in_dim", [Pure]> {
  let summary = "broadcast: operand dim i becomes result dim dims[i] (extent 1 or equal)";
  let arguments = (ins NNX_AnyTensor:$input, DenseI64ArrayAttr:$dims);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = "$input `,` `dims` `=` $dims attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

class NNX_ReduceOp<string mnemonic, string doc> : NNX_Op<mnemonic, [Pure]> {
  let summary = doc;
  let arguments = (ins NNX_NumericTensor:$input, DenseI64ArrayAttr:$axes);
  let results = (outs NNX_NumericTensor:$result);
  let assemblyFormat = "$input `,` `axes` `=` $axes attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NNX_ReduceSumOp : NNX_ReduceOp<"reduce_sum", "sum over the axes (which disappear)">;
def NNX_ReduceMaxOp : NNX_ReduceOp<"reduce_max", "maximum over the axes (which disappear)">;
def NNX_ReduceMinOp : NNX_ReduceOp<"reduce_min", "minimum over the axes (which disappear)">;

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

def NNX_ReshapeOp : NNX_Op<"reshape", [Pure]> {
  let summary = "same elements in row-major order, another shape";
  let arguments = (ins NNX_AnyTensor:$input);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def NNX_TransposeOp : NNX_Op<"transpose", [Pure]> {
  let summary = "permute dimensions: result dim i is operand dim perm[i]";
  let arguments = (ins NNX_AnyTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = "$input `,` `perm` `=` $perm attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def NNX_ConcatOp : NNX_Op<"concat", [Pure]> {
  let summary = "join tensors along an axis";
  let arguments = (ins Variadic<NNX_AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = "`(` $inputs `)` `axis` `=` $axis attr-dict `:` functional-type($inputs, $result)";
  let hasVerifier = 1;
}

def NNX_SliceOp : NNX_Op<"slice", [Pure]> {
  let summary = "elements start, start+stride, ... below limit along every dimension";
  let arguments = (ins NNX_AnyTensor:$input, DenseI64ArrayAttr:$start,
                       DenseI64ArrayAttr:$limit, DenseI64ArrayAttr:$stride);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = [{
    $input `[` $start `:` $limit `:` $stride `]` attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def NNX_PadOp : NNX_Op<"pad", [Pure]> {
  let summary = "zero padding: low/high elements at the ends, interior between neighbours";
  let description = [{
    Along every dimension d the result holds `low[d]` zeros, then the operand's elements
    with `interior[d]` zeros between each two neighbours, then `high[d]` zeros (all
    non-negative; stablehlo.pad with a zero padding value). The result extent is
    low + n + max(n - 1, 0) * interior + high for an operand extent n. It is the transpose
    of a strided slice, which is how autodiff uses it.
  }];
  let arguments = (ins NNX_AnyTensor:$input, DenseI64ArrayAttr:$low, DenseI64ArrayAttr:$high,
                       DenseI64ArrayAttr:$interior);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = [{
    $input `low` $low `high` $high `interior` $interior attr-dict `:` type($input) `->`
    type($result)
  }];
  let hasVerifier = 1;
}

def NNX_ReverseOp : NNX_Op<"reverse", [Pure, SameOperandsAndResultType]> {
  let summary = "reverse the order of elements along the given dimensions";
  let description = [{
    Element i of a reversed dimension of extent n comes from element n - 1 - i (stablehlo.reverse,
    numpy's `x[::-1]`). `dims` are distinct, sorted and in range.
  }];
  let arguments = (ins NNX_AnyTensor:$input, DenseI64ArrayAttr:$dims);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = "$input `,` `dims` `=` $dims attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NNX_GatherOp : NNX_Op<"gather", [Pure]> {
  let summary = "elements picked along one axis by integer indices (numpy's take)";
  let description = [{
    For an operand [B..., P..., n, Q...] (n at `axis`, the first `batch_dims` dims B shared
    with the indices) and indices [B..., I...], the result is [B..., P..., I..., Q...] with
    result[b, p, i, q] = input[b, p, clamp(indices[b, i], 0, n - 1), q]: out-of-range indices
    are clamped, as XLA's gather does. `batch_dims` follows tf.gather's (XLA's
    operand_batching_dims): each batch element gathers from its own slice, so
    take_along_axis and vmap's batched gathers need no flat positions, and the VJP's one-hot
    stays [B, I, n] instead of [B I, B n]. Embedding lookups, x[idx] and
    take/take_along_axis are this op. Its VJP is a one-hot select or contraction (no scatter).
  }];
  let arguments = (ins NNX_AnyTensor:$input, NNX_IntegerTensor:$indices, I64Attr:$axis,
                   DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs NNX_AnyTensor:$result);
  let assemblyFormat = [{
    $input `[` $indices `]` `axis` `=` $axis (`batch_dims` `=` $batch_dims^)? attr-dict `:`
    type($input) `,` type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Contractions and normalisations
//===----------------------------------------------------------------------===//

def NNX_MatmulOp : NNX_Op<"matmul", [Pure]> {
  let summary = "matrix product: [..., M, K] x [K, N] or [..., K, N] -> [..., M, N]";
  let description = [{
    The left operand has rank >= 2. The right operand is either a matrix shared by every
    batch element, or has the left operand's batch dimensions.
  }];
  let arguments = (ins NNX_FloatTensor:$lhs, NNX_FloatTensor:$rhs);
  let results = (outs NNX_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
  let hasVerifier = 1;
}

def NNX_ConvOp : NNX_Op<"conv", [Pure]> {
  let summary = "convolution over the spatial axes, channels last, with zero padding";
  let description = [{
    `input` [N, S_1..S_d, C], zero-padded by `padding_low`/`padding_high` (>= 0) elements on
    each spatial axis to P_i = low_i + S_i + high_i, and `kernel` [K_1..K_d, C / G, F]
    (Flax's layout; G is `feature_group_count`, dividing C and F) give [N, O_1..O_d, F] with
    O_i = (P_i - D_i (K_i - 1) - 1) / W_i + 1 (floor, at least 1) for the window strides W
    and the kernel (rhs) dilation D:

      result[n, o, f] = sum over k, c < C/G of
                        padded[n, o * W + k * D, g * C/G + c] * kernel[k, c, f],  g = f / (F/G)

    summed with k row-major, then c, ascending (the im2col order). This is
    jax.lax.conv_general_dilated without lhs dilation: the front end dilates the input of a
    transposed convolution with nnx.pad and crops negative padding with nnx.slice. Its VJPs
    are convolutions again (JAX's conv transpose rules), over the unpadded input; the CPU JIT
    pads and lowers it to linalg's named convolutions (conv_1d_nwc_wcf, conv_2d_nhwc_hwcf,
    conv_3d_ndhwc_dhwcf, the depthwise and grouped forms).
  }];
  let arguments = (ins NNX_FloatTensor:$input, NNX_FloatTensor:$kernel,
                       DenseI64ArrayAttr:$window_strides, DenseI64ArrayAttr:$padding_low,
                       DenseI64ArrayAttr:$padding_high, DenseI64ArrayAttr:$rhs_dilation,
                       I64Attr:$feature_group_count);
  let results = (outs NNX_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $kernel `strides` $window_strides `padding` $padding_low `,` $padding_high
    `dilation` $rhs_dilation `groups` $feature_group_count attr-dict `:` type($input) `,`
    type($kernel) `->` type($result)
  }];
  let hasVerifier = 1;
}

class NNX_PoolOp<string mnemonic, string doc> : NNX_Op<mnemonic, [Pure]> {
  let summary = doc;
  let description = [{
    `input` [N, S_1..S_d, C] gives [N, O_1..O_d, C], O_i = (S_i - K_i) / W_i + 1 (floor, at
    least 1) for the window K and the strides W: each output reduces the window
    input[n, o * W + k, c] over k (row-major, ascending). lax.reduce_window with VALID
    padding on the spatial axes; the front end pads (with -inf/+inf for max/min). Float max
    and min propagate NaN. The CPU JIT lowers these to linalg's pooling_{nwc,nhwc,ndhwc} ops.
  }];
  let arguments = (ins NNX_NumericTensor:$input, DenseI64ArrayAttr:$window,
                       DenseI64ArrayAttr:$strides);
  let results = (outs NNX_NumericTensor:$result);
  let assemblyFormat = [{
    $input `window` $window `strides` $strides attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def NNX_PoolSumOp : NNX_PoolOp<"pool_sum", "sum over a sliding window (sum/avg pooling)">;
def NNX_PoolMaxOp : NNX_PoolOp<"pool_max", "maximum over a sliding window (max pooling)">;
def NNX_PoolMinOp : NNX_PoolOp<"pool_min", "minimum over a sliding window (min pooling)">;

class NNX_SoftmaxLikeOp<string mnemonic, string doc>
    : NNX_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = doc;
  let arguments = (ins NNX_FloatTensor:$input, I64Attr:$axis);
  let results = (outs NNX_FloatTensor:$result);
  let assemblyFormat = "$input `,` `axis` `=` $axis attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def NNX_SoftmaxOp : NNX_SoftmaxLikeOp<"softmax", "exp(x - max) / sum(exp(x - max)) along axis">;
def NNX_LogSoftmaxOp : NNX_SoftmaxLikeOp<"log_softmax", "x - max - log(sum(exp(x - max))) along axis">;

//===----------------------------------------------------------------------===//
// Random draws
//===----------------------------------------------------------------------===//

class NNX_RandomOp<string mnemonic, string doc> : NNX_Op<mnemonic, [Pure]> {
  let summary = doc;
  let description = [{
    A draw from the stream whose key is `key` (the two 32-bit words of a Threefry-2x32 key,
    stored as i32) at call counter `counter`: the draw key is threefry(key, (0, counter)) and
    element i comes from threefry(drawKey, (i mod 2^32, i div 2^32)). docs/rng.md gives the
    bits; the interpreter and the JIT produce the same ones.
  }];
  let arguments = (ins RankedTensorOf<[I32]>:$key, RankedTensorOf<[I32]>:$counter);
  let results = (outs NNX_FloatTensor:$result);
  let assemblyFormat = [{
    $key `,` $counter attr-dict `:` type($key) `,` type($counter) `->` type($result)
  }];
  let hasVerifier = 1;
}

def NNX_RandomUniformOp : NNX_RandomOp<"random_uniform", "uniform draws in [0, 1)">;
def NNX_RandomNormalOp : NNX_RandomOp<"random_normal", "standard normal draws (Box-Muller)">;

//===----------------------------------------------------------------------===//
// Loops
//===----------------------------------------------------------------------===//

def NNX_ScanOp : NNX_Op<"scan", [RecursiveMemoryEffects, RecursivelySpeculatable,
    IsolatedFromAbove, AttrSizedOperandSegments, SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "a loop over the leading axis of its scanned operands (jax.lax.scan)";
  let description = [{
    Runs `body` `length` times. The body's block arguments are, in order: the carries (typed
    like `init`), the step's slice of every scanned operand (`xs`, each of extent `length` along
    dimension 0, without that dimension), and the loop-invariant `consts`. It yields the new
    carries followed by the step's outputs. The op returns the final carries followed by the
    outputs stacked along a new leading dimension of extent `length`.

    Step t reads slice t of every xs and writes slice t of every stacked output; with `reverse`
    the steps run t = length - 1 down to 0 (jax.lax.scan's `reverse=True`: the output of the
    step that read x[t] is still at index t). The body is isolated from above: everything it
    uses is a block argument, so the interpreter runs it as a loop, the JIT lowers it to one
    scf.for, and autodiff and batching transform it as a whole. Neither the IR nor its compile
    time grows with `length`.
  }];
  let arguments = (ins Variadic<NNX_AnyTensor>:$init, Variadic<NNX_AnyTensor>:$xs,
                       Variadic<NNX_AnyTensor>:$consts, I64Attr:$length, UnitAttr:$reverse);
  let results = (outs Variadic<NNX_AnyTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `length` `=` $length (`reverse` $reverse^)?
    (`init` `(` $init^ `:` type($init) `)`)?
    (`xs` `(` $xs^ `:` type($xs) `)`)?
    (`consts` `(` $consts^ `:` type($consts) `)`)?
    $body attr-dict (`->` type($results)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The body's single block.
    ::mlir::Block &getBodyBlock() { return getBody().front(); }
    /// The yield that ends the body.
    YieldOp getYield();
    /// The final carries (the first results).
    ::mlir::ResultRange getCarryResults() { return getResults().take_front(getInit().size()); }
    /// The stacked outputs (the results after the carries).
    ::mlir::ResultRange getStackedResults() { return getResults().drop_front(getInit().size()); }
    /// Block arguments: carries, scanned slices and constants.
    ::mlir::Block::BlockArgListType getCarryArgs();
    ::mlir::Block::BlockArgListType getSliceArgs();
    ::mlir::Block::BlockArgListType getConstArgs();
  }];
}

def NNX_YieldOp : NNX_Op<"yield", [Pure, Terminator, HasParent<"ScanOp">]> {
  let summary = "ends a scan body: the new carries, then the step's outputs";
  let arguments = (ins Variadic<NNX_AnyTensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ build($_builder, $_state, ::mlir::ValueRange()); }]>];
}

#endif // NNX_OPS_TD
