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
#include <algorithm>
#include <exception>
#include <map>
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

/// Host memory handed out in place of managed memory after a failed allocation, the live
/// managed allocations (for isManaged) with their pooled sizes, and the pool of freed blocks.
///
/// cuMemFree synchronises the device, and a train step's host code frees every temporary it
/// allocated: freed blocks are kept for reuse instead (PyTorch's caching allocator does the
/// same for the same reason), by size rounded up (to 512 bytes below 1 MiB, to 1 MiB above),
/// so a step's temporaries come from the pool from the second step on. A block freed while
/// host code runs may still be in use by a kernel queued before the free, and the host code
/// writes some of its blocks itself (the deallocation helper's bookkeeping): it becomes
/// reusable only after the run's final stream synchronisation (`pending`). Blocks freed
/// between runs (results, replaced states) are reusable at once. The pool gives its blocks
/// back to the driver when an allocation fails (then retries), when it holds more than
/// kMaxPooledBytes, and when the last CudaModule is destroyed.
std::mutex allocationMutex;
std::set<void *> fallbacks;
std::map<const void *, size_t> managed;
std::multimap<size_t, void *> pooled;
std::vector<std::pair<size_t, void *>> pending;
size_t pooledBytes = 0;
int liveModules = 0;

/// The most bytes the pool keeps between runs.
constexpr size_t kMaxPooledBytes = size_t(4) << 30;

/// `bytes` rounded up to the pool's size classes.
size_t poolSize(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(1) << 20;
  size_t unit = bytes < kLarge ? kSmall : kLarge;
  return std::max<size_t>(unit, (bytes + unit - 1) / unit * unit);
}

/// The device for an allocation call: the running module's, else the process's (throws).
const Device *currentDevice() { return running ? running->device : &device(); }

/// Gives every pooled block back to the driver (the device must be idle, or cuMemFree
/// waits for it). With `pendingToo`, also the blocks of an unfinished run. Returns whether
/// there was any.
bool drainPool(bool pendingToo) {
  std::vector<void *> blocks;
  {
    std::lock_guard<std::mutex> lock(allocationMutex);
    for (auto &[size, block] : pooled)
      blocks.push_back(block);
    pooled.clear();
    pooledBytes = 0;
    if (pendingToo) {
      for (auto &[size, block] : pending)
        blocks.push_back(block);
      pending.clear();
    }
  }
  if (blocks.empty() || !cudaApi())
    return false;
  for (void *block : blocks)
    cudaApi()->memFree(reinterpret_cast<uint64_t>(block));
  return true;
}

/// A pooled block of `size` (a pool size), or null.
void *takePooled(size_t size) {
  std::lock_guard<std::mutex> lock(allocationMutex);
  auto it = pooled.find(size);
  if (it == pooled.end())
    return nullptr;
  void *block = it->second;
  pooled.erase(it);
  pooledBytes -= size;
  managed.emplace(block, size);
  return block;
}

void *allocate(size_t bytes) {
  size_t size = poolSize(bytes);
  if (void *block = takePooled(size))
    return block;
  const Device &d = *currentDevice();
  uint64_t pointer = 0;
  int r = d.api->memAllocManaged(&pointer, size, kAttachGlobal);
  // The pool's blocks may be what is missing: give them back and try once more.
  if (r != 0 && drainPool(/*pendingToo=*/false))
    r = d.api->memAllocManaged(&pointer, size, kAttachGlobal);
  if (r == 0) {
    std::lock_guard<std::mutex> lock(allocationMutex);
    managed.emplace(reinterpret_cast<void *>(pointer), size);
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
    auto it = managed.find(pointer);
    if (it != managed.end()) {
      size_t size = it->second;
      managed.erase(it);
      if (running) {
        pending.emplace_back(size, pointer);
        return;
      }
      if (liveModules > 0 && pooledBytes + size <= kMaxPooledBytes) {
        pooled.emplace(size, pointer);
        pooledBytes += size;
        return;
      }
    }
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

/// After a run's final synchronisation: the blocks its host code freed become reusable, up
/// to kMaxPooledBytes in the pool; the rest go back to the driver (the device is idle).
void recyclePending() {
  std::vector<void *> surplus;
  {
    std::lock_guard<std::mutex> lock(allocationMutex);
    for (auto &[size, block] : pending) {
      if (pooledBytes + size > kMaxPooledBytes) {
        surplus.push_back(block);
        continue;
      }
      pooled.emplace(size, block);
      pooledBytes += size;
    }
    pending.clear();
  }
  for (void *block : surplus)
    cudaApi()->memFree(reinterpret_cast<uint64_t>(block));
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
  std::lock_guard<std::mutex> lock(allocationMutex);
  ++liveModules;
}

CudaModule::~CudaModule() {
  if (!module_)
    return;
  if (cudaApi())
    cudaApi()->moduleUnload(module_);
  bool last;
  {
    std::lock_guard<std::mutex> lock(allocationMutex);
    last = --liveModules == 0;
  }
  // Nothing runs any more: the pool's blocks go back to the driver.
  if (last)
    drainPool(/*pendingToo=*/true);
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
  if (r == 0)
    recyclePending();
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
