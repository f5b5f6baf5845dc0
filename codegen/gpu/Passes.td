//===- Passes.td - Passes of the GPU code generator ------------*- tablegen -*-===//
//
// The GPU half's own passes, on buffers, after the shared lowering of codegen/linalg: parallel
// loops tiled into thread blocks and mapped to the grid, and the host execution of mapped
// launches that lets a machine without a GPU check the mapping. The order, with reasons, is
// in gpu/Pipeline.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef NNX_CODEGEN_GPU_PASSES_TD
#define NNX_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def GpuMapLoopsPass : Pass<"nnx-gpu-map-loops", "::mlir::ModuleOp"> {
  let summary = "Tile outermost scf.parallel loops into thread blocks and map them to the grid";
  let description = [{
    Every outermost scf.parallel loop nest (one per linalg op, from
    convert-linalg-to-parallel-loops) is tiled with scf::tileParallelLoop into an outer loop
    over thread blocks and an inner loop over the threads of one block, and both get the
    `mapping` attribute that convert-parallel-loops-to-gpu reads. The block holds up to
    `max-threads` threads, taken from the innermost (contiguous) dimensions first, so that
    consecutive threads (threadIdx.x) touch consecutive elements and global memory accesses
    coalesce: the innermost dimension maps to x, the next to y, then z; further dimensions
    run sequentially in each thread. Parallel loops nested deeper (after a reduction loop)
    run sequentially inside the thread. Loops with bounds that are not constants are mapped
    without tiling, one thread per block. Every memref.copy becomes a linalg.copy first, so
    that copies run as kernels too (on the host they would touch device memory).
  }];
  let options = [
    Option<"maxThreads", "max-threads", "int64_t", /*default=*/"256",
           "Most threads per block (CUDA allows 1024; 256 keeps several blocks per SM)">,
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def GpuTileMatmulPass : Pass<"nnx-gpu-tile-matmul", "::mlir::ModuleOp"> {
  let summary = "f32 matmuls as kernels with shared-memory tiles and per-thread register tiles";
  let description = [{
    Replaces every linalg matmul on buffers (matmul, batch_matmul and their transpose_a /
    transpose_b forms) of f32 with static shapes and at least `min-size` rows and columns
    by a gpu.launch: blocks of 16 x 16 threads each compute a 64 x 64 tile of C, staging
    16-deep slices of A and B in workgroup memory between two gpu.barrier ops, each thread
    accumulating a 4 x 4 tile of C in a private attribution. A zero fill of C right before
    the product is folded into it. Every output is still summed by one thread in ascending
    k, so results match the untiled kernels. Runs before nnx-gpu-map-loops, which lowers
    the other linalg ops.
  }];
  let options = [
    Option<"minSize", "min-size", "int64_t", /*default=*/"16",
           "Fewest rows and columns of C for the tiled kernel (smaller: one thread per output)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def GpuLaunchToLoopsPass : Pass<"nnx-gpu-launch-to-loops", "::mlir::ModuleOp"> {
  let summary = "Run gpu.launch bodies on the host, as loops over blocks and threads";
  let description = [{
    Replaces every gpu.launch by scf.for loops over the grid (z, y, x) and, inside a
    block, loops over the block's threads (z, y, x) around each segment of its body
    between gpu.barrier ops, so that all threads finish a segment before any starts the
    next. An scf.for holding barriers runs once per block with its body cut the same way
    (its bounds must not depend on the thread). Side-effect-free values computed before a
    barrier and used after it are computed again; other values crossing a barrier are
    refused. Workgroup attributions become a host buffer reused by every block, private
    attributions a buffer with one slice per thread (only loads and stores may use them).
    The result computes what the kernel computes, on the CPU: the tests run the mapped IR
    this way against the interpreter, so that a wrong index expression, bound guard or
    tile staging fails on a machine without a GPU. Barriers under conditions, thread block
    clusters, dynamic shared memory and asynchronous launches are refused.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def GpuSinkHostScalarsPass : Pass<"nnx-gpu-sink-host-scalars", "::mlir::ModuleOp"> {
  let summary = "Compute the scalars a launch uses inside it, where they read device memory";
  let description = [{
    Scalar work the lowering leaves on the host (the dropout key derived from the key and
    counter arguments, with Threefry) reads buffers that live on the device. Each launch
    computes again, at the start of its body, the chains of side-effect-free ops and loads
    its captured values come from, where every load reads a function argument that the
    function never writes (an input: its value is the same at any point) or a constant
    global; the host copies then die. Loads from buffers that may be written in between
    stay on the host.
  }];
  let dependentDialects = [
    "::mlir::gpu::GPUDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def GpuLaunchToRuntimeCallsPass
    : Pass<"nnx-gpu-launch-to-runtime-calls", "::mlir::ModuleOp"> {
  let summary = "Replace gpu.launch_func by calls of the nnx GPU runtime's launcher";
  let description = [{
    Runs on the host side after kernel outlining. Each gpu.launch_func becomes a call of
    `nnx_gpu_launch(kernel, gridX, gridY, gridZ, blockX, blockY, blockZ, params, count)`
    (all i64; runtime/gpu/CudaLauncher.h): `kernel` indexes the module attribute
    `nnx.gpu_kernels`, the kernels' names in order of first launch (each the name of its
    gpu.module, which is the kernel's entry in the PTX), and `params` is the address of a
    stack array of `count` 64-bit slots holding the kernel's parameters as
    convert-gpu-to-nvvm lays them out: per memref operand its descriptor expanded
    (allocated pointer, aligned pointer, offset, sizes, strides; the aligned pointer stands
    for both, kernels never free), per scalar its bits zero-extended to 64. The gpu.module
    ops are erased: the kernels travel as PTX. Fails on an operand of another type.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

#endif // NNX_CODEGEN_GPU_PASSES_TD
