//===- CudaLauncher.h - Running compiled GPU functions on a CUDA device ---===//
//
// What the host code of a function compiled for the GPU calls at run time, on the CUDA driver
// API (CudaDriver.h): its kernels come as one PTX text, loaded once (CudaModule); its
// launches are calls of nnx_gpu_launch, which CudaModule::run routes to its kernels on the
// process's one stream; its buffers come from nnx_gpu_alloc, managed memory that both the
// host code and the kernels address (the host code only allocates, frees and passes them
// on; every read and write of tensor data is a kernel). No MLIR: codegen/ binds these
// symbols into the JIT'd host code.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace nnx::rt::gpu {

/// The kernels of one compiled function, loaded on device 0 (its primary context, retained
/// for the process; one stream). Construction and run() throw rt::Error: E0601 when there
/// is no usable driver or device, E0602 naming the failing driver call, its CUDA error
/// name and, for a module that does not load, the driver's JIT log.
class CudaModule {
public:
  /// Loads `ptx` (cuModuleLoadDataEx) and looks up each of `kernels`, the entry names that
  /// nnx_gpu_launch's `kernel` argument indexes.
  CudaModule(const std::string &ptx, const std::vector<std::string> &kernels);
  ~CudaModule();
  CudaModule(const CudaModule &) = delete;
  CudaModule &operator=(const CudaModule &) = delete;

  /// Calls `hostCode`, whose nnx_gpu_launch calls launch this module's kernels, then waits
  /// for the stream. The first failing launch is reported after `hostCode` returns (no
  /// exception crosses JIT'd frames); the launches after it are skipped. One run at a time
  /// per process.
  void run(const std::function<void()> &hostCode) const;

  /// Managed memory of `bytes` bytes (cuMemAllocManaged, at least 256-byte aligned, or a
  /// pooled block freed earlier); freed with freeManaged, which keeps the block in the pool
  /// while a CudaModule lives (cuMemFree would synchronise the device). Throws E0602 when the
  /// device has no room, even after the pool is given back.
  static void *allocateManaged(size_t bytes);
  static void freeManaged(void *pointer);
  /// Whether `pointer` is the start of a live allocateManaged (or host code) allocation:
  /// a tensor there is passed to the kernels as it is, without a copy.
  static bool isManaged(const void *pointer);

private:
  void *module_ = nullptr;
  std::vector<void *> functions_;
  std::vector<std::string> names_;
};

/// The symbols JIT'd host code resolves to the launcher: nnx_gpu_launch and the allocation
/// functions finalize-memref-to-llvm calls with use-generic-functions
/// (_mlir_memref_to_llvm_alloc, _mlir_memref_to_llvm_aligned_alloc, _mlir_memref_to_llvm_free),
/// which allocate managed memory.
std::vector<std::pair<std::string, void *>> launcherSymbols();

} // namespace nnx::rt::gpu
