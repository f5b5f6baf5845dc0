//===- CudaDriver.h - The CUDA driver, loaded at run time -----------------===//
//
// nnx talks to NVIDIA GPUs through the CUDA driver API (libcuda.so.1, installed with the
// driver), opened with dlopen when a GPU is asked for: the binaries build and run where there
// is no driver, and need no CUDA toolkit. This file finds the driver and the devices; the
// launcher of compiled kernels builds on it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nnx::rt::gpu {

/// The library opened for the driver: NNX_CUDA_DRIVER when set (a path, for tests and
/// unusual installs), else "libcuda.so.1" from the loader's search path.
std::string cudaDriverLibrary();

/// One CUDA device: its name and compute capability (8.0 for an A100, 9.0 for an H100/H200).
struct CudaDevice {
  std::string name;
  int major = 0;
  int minor = 0;
  /// The PTX target of its compute capability ("sm_90").
  std::string arch() const { return "sm_" + std::to_string(major * 10 + minor); }
};

/// What looking for the driver and a device found.
struct CudaProbe {
  /// The driver library opened and cuInit succeeded.
  bool driverLoaded = false;
  /// Why not, or why no device is usable: dlopen's message, or the failing call with the CUDA
  /// error name ("cuInit: CUDA_ERROR_NO_DEVICE").
  std::string error;
  /// Devices the driver reports (0 when none, not loaded, or device 0 cannot be queried).
  int deviceCount = 0;
  /// Device 0, when there is one.
  CudaDevice device;
};

/// Opens the driver (once per process; the library stays loaded) and describes device 0.
/// Never throws: a missing driver or device is a CudaProbe with `error` set.
CudaProbe probeCuda();

/// The driver entry points the launcher (CudaLauncher.h) calls, looked up in the library
/// probeCuda opened. The driver's types are spelled plainly: CUresult is an int (0 is
/// CUDA_SUCCESS), CUdevice an int, every handle (context, module, function, stream) a
/// pointer, CUdeviceptr a 64-bit integer.
struct CudaApi {
  int (*devicePrimaryCtxRetain)(void **context, int device);
  int (*devicePrimaryCtxRelease)(int device);
  int (*ctxSetCurrent)(void *context);
  int (*streamCreate)(void **stream, unsigned flags);
  int (*streamSynchronize)(void *stream);
  int (*moduleLoadDataEx)(void **module, const void *image, unsigned numOptions, int *options,
                          void **optionValues);
  int (*moduleUnload)(void *module);
  int (*moduleGetFunction)(void **function, void *module, const char *name);
  int (*launchKernel)(void *function, unsigned gridX, unsigned gridY, unsigned gridZ,
                      unsigned blockX, unsigned blockY, unsigned blockZ,
                      unsigned sharedMemBytes, void *stream, void **kernelParams, void **extra);
  int (*memAllocManaged)(uint64_t *pointer, size_t bytes, unsigned flags);
  int (*memFree)(uint64_t pointer);
  /// "CUDA_ERROR_OUT_OF_MEMORY" for a CUresult, or "CUresult N" when the driver cannot name it.
  std::string errorName(int result) const;
  void *library = nullptr;
};

/// The driver's entry points, when probeCuda found a driver and a device and the driver has
/// every one of them; null otherwise (probeCuda().error says why, or this is a driver older
/// than CUDA 7, which lacks the primary-context calls).
const CudaApi *cudaApi();

} // namespace nnx::rt::gpu
