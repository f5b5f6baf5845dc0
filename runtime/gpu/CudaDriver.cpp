//===- CudaDriver.cpp - Finding the CUDA driver and devices ---------------===//
//
// The driver API is called through function pointers looked up with dlsym; only the few
// entry points used are declared, with the driver's C types spelled as plain ints and
// pointers (CUresult is an int, CUdevice an int), so no CUDA header is needed to build.
//
//===----------------------------------------------------------------------===//
#include "runtime/gpu/CudaDriver.h"
#include "runtime/FileIO.h"

#include <dlfcn.h>
#include <elf.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <cstdlib>
#include <mutex>
#include <type_traits>

namespace nnx::rt::gpu {
namespace {

using CuInit = int (*)(unsigned);
using CuDeviceGetCount = int (*)(int *);
using CuDeviceGet = int (*)(int *, int);
using CuDeviceGetName = int (*)(char *, int, int);
using CuDeviceGetAttribute = int (*)(int *, int, int);
using CuGetErrorName = int (*)(int, const char **);

/// CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR (cuda.h).
constexpr int kComputeCapabilityMajor = 75;
constexpr int kComputeCapabilityMinor = 76;

/// "CUDA_ERROR_NO_DEVICE" for a CUresult, or its number when the driver cannot name it.
std::string errorName(void *library, int result) {
  auto name = reinterpret_cast<CuGetErrorName>(dlsym(library, "cuGetErrorName"));
  const char *text = nullptr;
  if (name && name(result, &text) == 0 && text)
    return text;
  return "CUresult " + std::to_string(result);
}

/// The library probe() opened, kept for cudaApi().
void *openedLibrary = nullptr;

/// Why the ELF shared object at `path` (`size` bytes) would fault the loader, or "": its
/// segments and section headers must lie inside the file. dlopen maps a truncated library
/// and the process dies of SIGBUS when the loader touches a page past its end.
std::string checkElf(const std::string &path, off_t size) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file)
    return errnoMessage(errno);
  Elf64_Ehdr header;
  bool ok = std::fread(&header, sizeof header, 1, file) == 1 &&
            std::memcmp(header.e_ident, ELFMAG, SELFMAG) == 0 &&
            header.e_ident[EI_CLASS] == ELFCLASS64;
  std::string problem = ok ? "" : "not a 64-bit ELF shared library";
  auto inside = [&](uint64_t offset, uint64_t bytes) {
    return offset <= uint64_t(size) && bytes <= uint64_t(size) - offset;
  };
  if (ok && !inside(header.e_shoff, uint64_t(header.e_shnum) * header.e_shentsize))
    problem = "truncated (its section headers lie past the end of the file)";
  for (unsigned i = 0; ok && problem.empty() && i < header.e_phnum; ++i) {
    Elf64_Phdr segment;
    if (!inside(header.e_phoff + uint64_t(i) * header.e_phentsize, sizeof segment) ||
        std::fseek(file, long(header.e_phoff + uint64_t(i) * header.e_phentsize), SEEK_SET) != 0 ||
        std::fread(&segment, sizeof segment, 1, file) != 1)
      problem = "truncated (its program headers lie past the end of the file)";
    else if (segment.p_type == PT_LOAD && !inside(segment.p_offset, segment.p_filesz))
      problem = "truncated (a segment lies past the end of the file)";
  }
  std::fclose(file);
  return problem;
}

CudaProbe probe() {
  CudaProbe found;
  std::string path = cudaDriverLibrary();
  // dlopen of a FIFO or device blocks or reads forever: a path must name a regular file; and
  // of a truncated library faults (checkElf). A bare name is the loader's to find.
  struct stat info;
  if (path.find('/') != std::string::npos) {
    if (stat(path.c_str(), &info) != 0) {
      found.error = "cannot load " + path + ": " + errnoMessage(errno);
      return found;
    }
    if (!S_ISREG(info.st_mode)) {
      found.error = "cannot load " + path + ": not a regular file";
      return found;
    }
    if (std::string problem = checkElf(path, info.st_size); !problem.empty()) {
      found.error = "cannot load " + path + ": " + problem;
      return found;
    }
  }
  void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *message = dlerror();
    found.error = "cannot load " + path + (message ? std::string(": ") + message : "");
    return found;
  }
  auto init = reinterpret_cast<CuInit>(dlsym(library, "cuInit"));
  auto count = reinterpret_cast<CuDeviceGetCount>(dlsym(library, "cuDeviceGetCount"));
  auto get = reinterpret_cast<CuDeviceGet>(dlsym(library, "cuDeviceGet"));
  auto getName = reinterpret_cast<CuDeviceGetName>(dlsym(library, "cuDeviceGetName"));
  auto attribute = reinterpret_cast<CuDeviceGetAttribute>(dlsym(library, "cuDeviceGetAttribute"));
  if (!init || !count || !get || !getName || !attribute) {
    found.error = path + " is not a CUDA driver (it lacks cuInit or the device queries)";
    return found;
  }
  if (int result = init(0); result != 0) {
    found.error = "cuInit: " + errorName(library, result);
    return found;
  }
  found.driverLoaded = true;
  openedLibrary = library;
  if (int result = count(&found.deviceCount); result != 0) {
    found.error = "cuDeviceGetCount: " + errorName(library, result);
    found.deviceCount = 0;
    return found;
  }
  if (found.deviceCount <= 0) {
    found.error = "the driver reports no CUDA device";
    found.deviceCount = 0;
    return found;
  }
  int device = 0;
  char name[256] = {};
  auto fail = [&](const char *call, int result) {
    found.error = std::string(call) + ": " + errorName(library, result);
    found.deviceCount = 0;
    return found;
  };
  if (int result = get(&device, 0); result != 0)
    return fail("cuDeviceGet", result);
  if (int result = getName(name, sizeof(name) - 1, device); result != 0)
    return fail("cuDeviceGetName", result);
  if (int result = attribute(&found.device.major, kComputeCapabilityMajor, device); result != 0)
    return fail("cuDeviceGetAttribute", result);
  if (int result = attribute(&found.device.minor, kComputeCapabilityMinor, device); result != 0)
    return fail("cuDeviceGetAttribute", result);
  // The name goes into messages: printable ASCII only.
  for (const char *c = name; *c; ++c)
    found.device.name += std::isprint(static_cast<unsigned char>(*c)) ? *c : '?';
  return found;
}

} // namespace

std::string cudaDriverLibrary() {
  const char *path = std::getenv("NNX_CUDA_DRIVER");
  return path && *path ? path : "libcuda.so.1";
}

CudaProbe probeCuda() {
  static std::once_flag once;
  static CudaProbe found;
  std::call_once(once, [] { found = probe(); });
  return found;
}

std::string CudaApi::errorName(int result) const { return nnx::rt::gpu::errorName(library, result); }

const CudaApi *cudaApi() {
  static std::once_flag once;
  static CudaApi api;
  static bool complete = false;
  std::call_once(once, [] {
    CudaProbe found = probeCuda();
    if (!found.driverLoaded || found.deviceCount == 0)
      return;
    void *library = openedLibrary;
    api.library = library;
    // The _v2 entry points are the ones cuda.h maps the plain names to since CUDA 4.
    auto lookup = [&](auto &pointer, const char *name) {
      pointer = reinterpret_cast<std::remove_reference_t<decltype(pointer)>>(dlsym(library, name));
      return pointer != nullptr;
    };
    complete = lookup(api.devicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain") &&
               lookup(api.devicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2") &&
               lookup(api.ctxSetCurrent, "cuCtxSetCurrent") &&
               lookup(api.streamCreate, "cuStreamCreate") &&
               lookup(api.streamSynchronize, "cuStreamSynchronize") &&
               lookup(api.moduleLoadDataEx, "cuModuleLoadDataEx") &&
               lookup(api.moduleUnload, "cuModuleUnload") &&
               lookup(api.moduleGetFunction, "cuModuleGetFunction") &&
               lookup(api.launchKernel, "cuLaunchKernel") &&
               lookup(api.memAllocManaged, "cuMemAllocManaged") &&
               lookup(api.memFree, "cuMemFree_v2");
  });
  return complete ? &api : nullptr;
}

} // namespace nnx::rt::gpu
