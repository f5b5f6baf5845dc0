//===- CudaLauncher.cpp - Module loading, launches and memory on CUDA ------===//
//
// The JIT'd host code cannot take exceptions: nnx_gpu_launch and the allocation hooks record
// the first failure in the running module's state and return; CudaModule::run throws it once
// the host code is back. A failed allocation hands out host memory instead (the host code may
// write small buffers of its own there; no kernel runs after a failure, so none reads it) and
// remembers it, so that freeing it frees the right way.
//
//===----------------------------------------------------------------------===//
#include "runtime/gpu/CudaLauncher.h"
#include "runtime/Error.h"
#include "runtime/gpu/CudaDriver.h"

#include <cstdlib>
#include <exception>
#include <mutex>
#include <set>

namespace nnx::rt::gpu {
namespace {

/// CU_MEM_ATTACH_GLOBAL: managed memory any stream and the host may access.
constexpr unsigned kAttachGlobal = 1;
/// cuModuleLoadDataEx options (CUjit_option): the error log buffer and its size.
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSizeBytes = 6;

/// The note of every E0602.
constexpr const char *kStopNote = "the GPU run stopped here; --backend jit runs the model on the CPU";

/// The process's context and stream on device 0, created on first use.
struct Device {
  const CudaApi *api = nullptr;
  void *context = nullptr;
  void *stream = nullptr;
};

[[noreturn]] void fail(const std::string &call, int result, const std::string &detail = "") {
  const CudaApi *api = cudaApi();
  std::string name = api ? api->errorName(result) : "CUresult " + std::to_string(result);
  throw Error("E0602", call + " failed: " + name + detail, {kStopNote});
}

/// The device, its context current on this thread; throws E0601 or E0602.
const Device &device() {
  static std::mutex mutex;
  static Device found;
  std::lock_guard<std::mutex> lock(mutex);
  if (!found.api) {
    const CudaApi *api = cudaApi();
    if (!api) {
      CudaProbe probe = probeCuda();
      throw Error("E0601", "no usable CUDA driver for `--backend gpu`: " +
                               (probe.error.empty() ? cudaDriverLibrary() +
                                                          " lacks a driver call nnx needs"
                                                    : probe.error));
    }
    if (int r = api->devicePrimaryCtxRetain(&found.context, 0))
      fail("cuDevicePrimaryCtxRetain", r);
    if (int r = api->ctxSetCurrent(found.context))
      fail("cuCtxSetCurrent", r);
    if (int r = api->streamCreate(&found.stream, 0))
      fail("cuStreamCreate", r);
    found.api = api;
  }
  if (int r = found.api->ctxSetCurrent(found.context))
    fail("cuCtxSetCurrent", r);
  return found;
}

/// What the host code's calls record while CudaModule::run runs it.
struct RunState {
  const Device *device = nullptr; ///< set up before the host code runs: no throwing lookups
  const std::vector<void *> *functions = nullptr;
  const std::vector<std::string> *names = nullptr; ///< the kernels', for messages
  int64_t lastKernel = -1;                          ///< the last one launched
  std::string error; ///< the first failure, "" while none
};
RunState *running = nullptr;

/// Host memory handed out in place of managed memory after a failed allocation, and the
/// live managed allocations (for isManaged).
std::mutex allocationMutex;
std::set<void *> fallbacks;
std::set<const void *> managed;

void *allocate(size_t bytes) {
  const Device &d = running ? *running->device : device();
  uint64_t pointer = 0;
  int r = d.api->memAllocManaged(&pointer, bytes == 0 ? 1 : bytes, kAttachGlobal);
  if (r == 0) {
    std::lock_guard<std::mutex> lock(allocationMutex);
    managed.insert(reinterpret_cast<void *>(pointer));
    return reinterpret_cast<void *>(pointer);
  }
  std::string message = "cuMemAllocManaged of " + std::to_string(bytes) +
                        " bytes failed: " + d.api->errorName(r);
  if (!running)
    throw Error("E0602", message, {kStopNote});
  if (running->error.empty())
    running->error = message;
  void *host = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  std::lock_guard<std::mutex> lock(allocationMutex);
  fallbacks.insert(host);
  return host;
}

void release(void *pointer) {
  if (!pointer)
    return;
  {
    std::lock_guard<std::mutex> lock(allocationMutex);
    if (fallbacks.erase(pointer)) {
      std::free(pointer);
      return;
    }
    managed.erase(pointer);
  }
  // Frees run in tensors' deleters: never throw. Outside a run a context that cannot be
  // made current again leaks the allocation (the driver frees it with the process).
  const Device *d = running ? running->device : nullptr;
  if (!d) {
    try {
      d = &device();
    } catch (const std::exception &) {
      return;
    }
  }
  if (int r = d->api->memFree(reinterpret_cast<uint64_t>(pointer)); r && running &&
                                                                    running->error.empty())
    running->error = "cuMemFree failed: " + d->api->errorName(r);
}

extern "C" void *nnxGpuAlloc(int64_t bytes) { return allocate(static_cast<size_t>(bytes)); }
extern "C" void *nnxGpuAlignedAlloc(int64_t alignment, int64_t bytes) {
  // Managed memory is aligned to at least 256 bytes, more than any memref asks.
  (void)alignment;
  return allocate(static_cast<size_t>(bytes));
}
extern "C" void nnxGpuFree(void *pointer) { release(pointer); }

} // namespace

/// The host code's launch: kernel `kernel` of the running module on `grid` x `block` threads,
/// its parameters `count` 64-bit slots at `params` (each slot one parameter, low bytes first).
extern "C" void nnx_gpu_launch(int64_t kernel, int64_t gridX, int64_t gridY, int64_t gridZ,
                               int64_t blockX, int64_t blockY, int64_t blockZ, int64_t params,
                               int64_t count) {
  if (!running || !running->error.empty())
    return;
  if (kernel < 0 || size_t(kernel) >= running->functions->size()) {
    running->error = "launch of kernel " + std::to_string(kernel) + " of " +
                     std::to_string(running->functions->size());
    return;
  }
  const Device &d = *running->device;
  auto *slots = reinterpret_cast<uint64_t *>(params);
  // One pointer per parameter and a null after the last: the driver reads as many as the
  // kernel declares, and the stand-in driver of the tests checks that the null is there.
  std::vector<void *> pointers(static_cast<size_t>(count) + 1, nullptr);
  for (int64_t i = 0; i < count; ++i)
    pointers[size_t(i)] = &slots[i];
  int r = d.api->launchKernel((*running->functions)[size_t(kernel)], unsigned(gridX),
                              unsigned(gridY), unsigned(gridZ), unsigned(blockX), unsigned(blockY),
                              unsigned(blockZ), 0, d.stream, pointers.data(), nullptr);
  running->lastKernel = kernel;
  if (r)
    running->error = "cuLaunchKernel of `" + (*running->names)[size_t(kernel)] +
                     "` failed: " + d.api->errorName(r);
}

CudaModule::CudaModule(const std::string &ptx, const std::vector<std::string> &kernels) {
  // A function without kernels (empty tensors, shapes only) loads nothing.
  if (kernels.empty())
    return;
  const Device &d = device();
  char log[8192] = {};
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSizeBytes};
  void *values[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof(log) - 1))};
  if (int r = d.api->moduleLoadDataEx(&module_, ptx.c_str(), 2, options, values))
    fail("cuModuleLoadDataEx", r, log[0] ? std::string(": ") + log : "");
  for (const std::string &name : kernels) {
    void *function = nullptr;
    if (int r = d.api->moduleGetFunction(&function, module_, name.c_str())) {
      d.api->moduleUnload(module_);
      fail("cuModuleGetFunction(" + name + ")", r);
    }
    functions_.push_back(function);
  }
  names_ = kernels;
}

CudaModule::~CudaModule() {
  if (module_ && cudaApi())
    cudaApi()->moduleUnload(module_);
}

void CudaModule::run(const std::function<void()> &hostCode) const {
  static std::mutex oneRun;
  std::lock_guard<std::mutex> lock(oneRun);
  const Device &d = device();
  RunState state;
  state.device = &d;
  state.functions = &functions_;
  state.names = &names_;
  running = &state;
  try {
    hostCode();
  } catch (...) {
    running = nullptr;
    throw;
  }
  running = nullptr;
  int r = d.api->streamSynchronize(d.stream);
  if (!state.error.empty())
    throw Error("E0602", state.error, {kStopNote});
  if (r)
    fail("cuStreamSynchronize", r,
         state.lastKernel < 0 ? std::string(" (a kernel failed)")
                              : " (a kernel failed; the last launched was `" +
                                    names_[size_t(state.lastKernel)] + "`)");
}

void *CudaModule::allocateManaged(size_t bytes) { return allocate(bytes); }

void CudaModule::freeManaged(void *pointer) { release(pointer); }

bool CudaModule::isManaged(const void *pointer) {
  std::lock_guard<std::mutex> lock(allocationMutex);
  return managed.count(pointer) != 0;
}

std::vector<std::pair<std::string, void *>> launcherSymbols() {
  return {{"nnx_gpu_launch", reinterpret_cast<void *>(&nnx_gpu_launch)},
          {"_mlir_memref_to_llvm_alloc", reinterpret_cast<void *>(&nnxGpuAlloc)},
          {"_mlir_memref_to_llvm_aligned_alloc", reinterpret_cast<void *>(&nnxGpuAlignedAlloc)},
          {"_mlir_memref_to_llvm_free", reinterpret_cast<void *>(&nnxGpuFree)}};
}

} // namespace nnx::rt::gpu
