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

def GpuLaunchToLoopsPass : Pass<"nnx-gpu-launch-to-loops", "::mlir::ModuleOp"> {
  let summary = "Run gpu.launch bodies on the host, as loops over blocks and threads";
  let description = [{
    Replaces every gpu.launch by six nested scf.for loops (grid z, y, x, then block z, y,
    x) around a copy of its body, the body's block and thread ids, grid and block sizes
    bound to the loop variables and the launch's operands. The result computes what the
    kernel computes, one thread after another, on the CPU: the tests run the mapped IR this
    way against the interpreter, so that a wrong index expression or bound guard fails on a
    machine without a GPU. Kernels that synchronise threads (gpu.barrier), use shared
    memory or launch asynchronously are refused: sequential threads cannot emulate them.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
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
