//===- Passes.td - Passes of the CPU code generator ------------*- tablegen -*-===//
//
// The CPU half's own passes, on buffers: the GEMM schedule, loop orders that vectorise,
// parallel loops for OpenMP. They follow the shared lowering of codegen/linalg
// (linalg/Passes.td); the order, with reasons, is in cpu/Pipeline.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef NNX_CODEGEN_CPU_PASSES_TD
#define NNX_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def GemmSchedulePass : Pass<"nnx-gemm-schedule", "::mlir::ModuleOp"> {
  let summary = "Run f32 matmuls as packed, register-tiled FMA loop nests (GotoBLAS/BLIS)";
  let description = [{
    Replaces linalg.matmul, batch_matmul and their transpose_a / transpose_b forms on f32
    buffers with static shapes by the BLIS loop nest: cache blocks NC x KC x MC, B and A packed
    into zero-padded panels of NR columns and MR rows, and an MR x NR micro-kernel that keeps
    its accumulators in vector registers across the k loop and updates them with vector.fma
    (tiles on the edges of C load and store it with masks).
    A `linalg.fill 0` of the result right before the product is folded into its first k block.
    Products with fewer rows than the register tile (M < mr: a batch-1 forward) and B as
    stored call the few-rows kernel instead (GemvKernel.cpp: a row's block of C in vector
    registers across k, no packing); the other products too small to pay for packing (N <
    8, K < 8, or fewer than 32^3 multiply-adds) are left alone. Each output element still sums its products in
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

def InlineAllocaScopesPass : Pass<"nnx-inline-alloca-scopes", "::mlir::ModuleOp"> {
  let summary = "Inline memref.alloca_scope ops that allocate nothing on the stack";
  let description = [{
    Runs right after convert-scf-to-openmp, which wraps every parallel loop body in a
    memref.alloca_scope; the scope must hold one block, which convert-scf-to-cf would break.
    A scope without results and without a memref.alloca of its own (outside nested scopes)
    is replaced by its body. Scopes that do allocate are kept.
  }];
}

def ParallelizeElementwisePass : Pass<"nnx-parallelize-elementwise", "::mlir::ModuleOp"> {
  let summary = "Run large all-parallel linalg ops as scf.parallel loop nests";
  let description = [{
    Every linalg op on buffers with static loop ranges, only parallel loops and at least 2^18
    points, or at least 2^19 arithmetic operations (points times body ops, 20 per math op),
    is tiled (linalg's tileLinalgOp) into an scf.parallel loop over its leading
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

def WidenBoolMemoryPass : Pass<"nnx-widen-bool-memory", "::mlir::ModuleOp"> {
  let summary = "Load and store i1 values in memory as i8";
  let description = [{
    Runs on the LLVM dialect, at the end of the CPU pipeline. A bool tensor (a dropout mask,
    a comparison) lives in memory one byte per element, 0 or 1, and the memref lowering reads
    and writes it as `load i1` / `store i1`. LLVM's loop vectorizer treats i1 as an irregular
    type in memory (its size in bits differs from its allocation size) and scalarises every
    such access, packing lanes into a mask register one at a time: the seed's dropout mask
    loops ran that way. Each `llvm.load` of i1 becomes a load of i8 and an `llvm.trunc`,
    each `llvm.store` of i1 an `llvm.zext` and a store of i8, keeping the access's
    attributes. The bytes in memory are the same (i1 is stored as a 0/1 byte), so buffers
    shared with the runtime or with code outside the module read alike.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // NNX_CODEGEN_CPU_PASSES_TD
