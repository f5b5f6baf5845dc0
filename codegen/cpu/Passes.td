//===- Passes.td - Passes of the CPU code generator ------------*- tablegen -*-===//
//
// The passes nnx adds to the upstream MLIR ones on the way to the CPU. Only the lowering of
// the nnx dialect is nnx's own; everything after it is an upstream pass (cpu/Pipeline.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef NNX_CODEGEN_CPU_PASSES_TD
#define NNX_CODEGEN_CPU_PASSES_TD

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

def GemmSchedulePass : Pass<"nnx-gemm-schedule", "::mlir::ModuleOp"> {
  let summary = "Run f32 matmuls as packed, register-tiled FMA loop nests (GotoBLAS/BLIS)";
  let description = [{
    Replaces linalg.matmul, batch_matmul and their transpose_a / transpose_b forms on f32
    buffers with static shapes by the BLIS loop nest: cache blocks NC x KC x MC, B and A packed
    into zero-padded panels of NR columns and MR rows, and an MR x NR micro-kernel that keeps
    its accumulators in vector registers across the k loop and updates them with vector.fma
    (tiles on the edges of C load and store it with masks).
    A `linalg.fill 0` of the result right before the product is folded into its first k block.
    Products too small to pay for packing (M < mr, N < vector-width, K < 8, or fewer than
    32^3 multiply-adds) are left alone. Each output element still sums its products in
    ascending k, in one thread: the panels of C a product spreads over threads (scf.parallel)
    split no sum, so results are bit-identical for any thread count. Runs on buffers, after
    deallocation (it frees its own packing buffers) and before nnx-contraction-loop-order; the
    pipeline picks the blocking for the host CPU.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"8",
           "f32 lanes of a vector register (8 for AVX2, 16 for AVX-512)">,
    Option<"mr", "mr", "int64_t", /*default=*/"6", "rows of the register tile">,
    Option<"nr", "nr", "int64_t", /*default=*/"16",
           "columns of the register tile (a multiple of vector-width)">,
    Option<"mc", "mc", "int64_t", /*default=*/"144", "rows of A's cache block (a multiple of mr)">,
    Option<"kc", "kc", "int64_t", /*default=*/"256", "depth of a cache block">,
    Option<"nc", "nc", "int64_t", /*default=*/"3072",
           "columns of B's cache block (a multiple of nr)">,
    Option<"threads", "threads", "bool", /*default=*/"true",
           "run the column panels of products of at least 64^3 multiply-adds as an "
           "scf.parallel loop (to OpenMP)">,
    Option<"externalKernels", "external-kernels", "bool", /*default=*/"false",
           "declare the kernel functions without a body (the CPU JIT links the kernel "
           "library's compiled copies) instead of defining them in the module">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
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

def InlineAllocaScopesPass : Pass<"nnx-inline-alloca-scopes", "::mlir::ModuleOp"> {
  let summary = "Inline memref.alloca_scope ops that allocate nothing on the stack";
  let description = [{
    Runs right after convert-scf-to-openmp, which wraps every parallel loop body in a
    memref.alloca_scope; the scope must hold one block, which convert-scf-to-cf would break.
    A scope without results and without a memref.alloca of its own (outside nested scopes)
    is replaced by its body. Scopes that do allocate are kept.
  }];
}

def MathApproximationPass : Pass<"nnx-math-approximation", "::mlir::ModuleOp"> {
  let summary = "Replace f32 exp, log and tanh by polynomial approximations that vectorise";
  let description = [{
    Applies upstream's polynomial approximations (populateMathPolynomialApproximationPatterns)
    to every f32 math.exp, math.log and math.tanh not marked `nnx.exact`, so that the loops
    around them vectorise instead of calling libm per element. Runs on loops, right before
    the math ops are lowered to LLVM. The error bound against glibc is asserted in
    tests/unit/CodegenTest.cpp.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect",
  ];
}

def ParallelizeElementwisePass : Pass<"nnx-parallelize-elementwise", "::mlir::ModuleOp"> {
  let summary = "Run large all-parallel linalg ops as scf.parallel loop nests";
  let description = [{
    Every linalg op on buffers with static loop ranges, only parallel loops and at least
    2^18 points is tiled (linalg's tileLinalgOp) into an scf.parallel loop over its leading
    loops, tile size 1 until they hold 64 tiles (a one-loop op: 64 chunks of whole 16-lane
    vectors), each tile the same op on subviews; convert-scf-to-openmp then spreads the tiles
    over threads, and convert-linalg-to-loops makes each tile's inner loops serial and
    vectorisable. Reductions, contractions and small ops are left for convert-linalg-to-loops.
    Runs on buffers, after the GEMM schedule.
  }];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def ContractionLoopOrderPass : Pass<"nnx-contraction-loop-order", "::mlir::ModuleOp"> {
  let summary = "Run matmul and window loops with a parallel loop innermost, to vectorise";
  let description = [{
    Rewrites linalg.matmul and linalg.batch_matmul into linalg.generic with the reduction
    loop k moved outside the last parallel loop j, and the named convolutions and poolings
    (linalg's ConvolutionOpInterface) with their last parallel loop (the features or the
    channels) moved innermost, behind the window and channel reductions. Each result element
    still accumulates its products for k ascending, in the element type, exactly as the interpreter does, so the
    results do not change by a bit; but the innermost loop now runs over independent output
    elements, which LLVM's loop vectorizer turns into vector code without reassociating
    floating-point sums. Runs on buffers, right before the loops are materialised.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
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

#endif // NNX_CODEGEN_CPU_PASSES_TD
