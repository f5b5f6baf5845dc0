//===- Passes.td - Passes shared by the CPU and GPU code generators -*- tablegen -*-===//
//
// The target-independent half of code generation: nnx to linalg on tensors, fusion, scans
// to scf, and the passes around bufferization that both code generators run (codegen/cpu,
// codegen/gpu). Only the lowering of the nnx dialect is nnx's own; the rest of the road is
// upstream passes, in the order codegen/linalg/TensorPipeline.cpp writes down.
//
//===----------------------------------------------------------------------===//
#ifndef NNX_CODEGEN_LINALG_PASSES_TD
#define NNX_CODEGEN_LINALG_PASSES_TD

include "mlir/Pass/PassBase.td"

def NNXToLinalgPass : Pass<"nnx-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lower nnx ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Rewrites every nnx op into destination-passing-style linalg ops on tensors: elementwise
    ops, broadcasts, reductions, softmax and random draws become linalg.generic (so that
    linalg-fuse-elementwise-ops can fuse them), matmul becomes linalg.matmul or
    linalg.batch_matmul, and shape ops become tensor reshapes and slices or linalg.transpose.
    The scalar bodies follow the interpreter's semantics (interp/Kernels.h) bit for bit where
    it matters. nnx is an illegal dialect afterwards, except nnx.scan and its nnx.yield,
    whose bodies are converted like any code but which nnx-scan-to-scf turns into loops next;
    an op without a lowering fails the pass with a "failed to legalize" diagnostic.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ConvToGemmPass : Pass<"nnx-conv-to-gemm", "::mlir::ModuleOp"> {
  let summary = "Run single-group convolutions as im2col and one linalg.matmul";
  let description = [{
    Rewrites linalg.conv_1d_nwc_wcf, conv_2d_nhwc_hwcf and conv_3d_ndhwc_dhwcf on tensors
    into a parallel linalg.generic that gathers every window into a row of a patches tensor
    [N, O..., K..., C] and a linalg.matmul of its [N * prod(O), prod(K) * C] view with the
    filter's [prod(K) * C, F] view, accumulating into the convolution's own init. The sums
    keep the convolution's order (window row-major, then channels). Convolutions with fewer
    than `min-rows` output rows, `min-depth` window elements or `min-features` features stay
    as they are. Runs on tensors after nnx-to-linalg, so that nnx-gemm-schedule later sees
    the named matmul.
  }];
  let options = [
    Option<"minRows", "min-rows", "int64_t", /*default=*/"6",
           "the least N * prod(O) to rewrite (the GEMM's register tile has 6 rows)">,
    Option<"minDepth", "min-depth", "int64_t", /*default=*/"8",
           "the least prod(K) * C to rewrite">,
    Option<"minFeatures", "min-features", "int64_t", /*default=*/"8",
           "the least F to rewrite (one vector of f32 lanes)">,
  ];
  let dependentDialects = [
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ScanToScfPass : Pass<"nnx-scan-to-scf", "::mlir::ModuleOp"> {
  let summary = "Turn every nnx.scan (with a lowered body) into one scf.for";
  let description = [{
    Runs right after nnx-to-linalg. Each scan becomes an scf.for over its steps whose
    iteration arguments are the carries and one accumulator per stacked output: step t reads
    slice t of every scanned operand with tensor.extract_slice and writes its outputs into
    slice t of the accumulators with tensor.insert_slice (t counts down for a reverse scan).
    The body's ops move into the loop unchanged.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def FuseElementwisePass : Pass<"nnx-fuse-elementwise", "::mlir::ModuleOp"> {
  let summary = "Fuse elementwise linalg producers into consumers that read each element once";
  let description = [{
    linalg-fuse-elementwise-ops (the same patterns: producer-consumer fusion of generics,
    reshape folding, constant folding) with a control function that refuses a fusion that
    would recompute the producer: when the consumer reads the producer's result through an
    indexing map that is not a permutation of all its loops (a contraction reading A[i, k]
    for every j), the producer is fused only if its body computes nothing (a broadcast,
    transpose or copy). Runs after nnx-to-linalg and canonicalization.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def PrepareCpuEntryPass : Pass<"nnx-prepare-cpu-entry", "::mlir::ModuleOp"> {
  let summary = "Give public functions the calling convention of CpuJit";
  let description = [{
    Runs right before one-shot bufferization. Every public func.func gets
    `llvm.emit_c_interface` (so convert-func-to-llvm emits `_mlir_ciface_<name>`, taking one
    memref descriptor pointer per argument and out-param) and `bufferization.writable = false`
    on each tensor argument: the caller's input tensors are read-only, so bufferization copies
    before writing instead of clobbering them. The nnx signature attributes (nnx.state, ...) are
    dropped; LLVM has no use for them.
  }];
}

def SplitEmptyTensorsPass : Pass<"nnx-split-empty-tensors", "::mlir::ModuleOp"> {
  let summary = "Give every use of a tensor.empty its own tensor.empty";
  let description = [{
    Runs right before bufferization. CSE merges all tensor.empty ops of one type into one, so
    a chain of n fused elementwise loops all name the same destination, and one-shot
    bufferization then checks each write against the reads of all n aliases: quadratic
    (8,000 chained statements spent 2.3 s there). A tensor.empty with several uses is cloned
    before each user but the first; the values are undefined either way, so nothing changes
    but the analysis, which becomes local.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def MathApproximationPass : Pass<"nnx-math-approximation", "::mlir::ModuleOp"> {
  let summary = "Replace f32 exp, log and tanh by polynomial approximations that vectorise";
  let description = [{
    Applies upstream's polynomial approximations (populateMathPolynomialApproximationPatterns)
    to every f32 math.exp, math.log and math.tanh not marked `nnx.exact`, so that the loops
    around them vectorise instead of calling libm per element. Runs on loops, right before
    the math ops are lowered to LLVM. The error bound against glibc is asserted in
    tests/unit/CodegenTest.cpp.

    With `all` (for targets without libm: the GPU), every f32 math op that has a polynomial
    (exp, log, tanh, erf, and `nnx.exact` ones too) is approximated, sin and cos are
    reduced modulo pi/2 in f64 and evaluated with fdlibm's kernels (within 1 ulp for
    |x| < 1.6e6; bounded beyond), and powf is expanded to exp(y log|x|) with C's special
    cases, so that only ops the target has instructions for remain (sqrt, fabs, floor).
  }];
  let options = [
    Option<"all", "all", "bool", /*default=*/"false",
           "Approximate every f32 math op with a polynomial, nnx.exact ones included">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def ForwardResultAllocsPass : Pass<"nnx-forward-result-allocs", "::mlir::ModuleOp"> {
  let summary = "Compute results directly in their out-params";
  let description = [{
    Runs after buffer-results-to-out-params, which ends every function with
    `memref.copy %result, %out` for each result. When %result is a memref.alloc of the
    out-param's exact type, the allocation is replaced by the out-param itself and the copy
    disappears: the result is computed in the caller's tensor. (Upstream's
    hoist-static-allocs option does this too, but in LLVM 19 it crashes when a function
    returns an argument or one buffer twice, which nnx functions do.) An out-param fed by an
    argument, a constant or a view keeps its copy.
  }];
}

#endif // NNX_CODEGEN_LINALG_PASSES_TD
