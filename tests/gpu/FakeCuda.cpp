//===- FakeCuda.cpp - A stand-in CUDA driver for tests without a GPU -------===//
//
// Loaded by nnxrun in place of libcuda.so.1 (NNX_CUDA_DRIVER=<this library>) so that the GPU
// launcher's host side runs where there is no GPU: the calls nnx makes are answered with
// plausible values, managed memory is zero-filled host memory, and launches run nothing
// (outputs stay zero). What it checks: each launch names a kernel of the loaded PTX, its
// grid and block fit CUDA's limits, and the parameter array nnx passes holds exactly as many
// pointers as the PTX entry declares parameters (nnx ends it with a null), each read.
//
// NNX_FAKE_CUDA_TRACE=FILE appends one line per module load, launch (and managed allocation,
// with NNX_FAKE_CUDA_TRACE_ALLOCS=1) and, at exit, the count of allocations still live. NNX_FAKE_CUDA_FAIL=NAME[@N] makes the N-th call (first
// by default) of driver function NAME fail with a fitting CUDA error.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace {

std::mutex mutex;
std::set<void *> live;                  // managed allocations
std::map<std::string, int> calls;       // calls per driver function

/// One kernel entry of a loaded module: its name and the bytes of each parameter.
struct Kernel {
  std::string name;
  std::vector<int> paramBytes;
};
struct Module {
  std::vector<Kernel> kernels;
};

void trace(const std::string &line) {
  const char *path = std::getenv("NNX_FAKE_CUDA_TRACE");
  if (!path || !*path)
    return;
  if (FILE *f = std::fopen(path, "a")) {
    std::fprintf(f, "%s\n", line.c_str());
    std::fclose(f);
  }
}

/// Whether this call of `name` is the one NNX_FAKE_CUDA_FAIL asks to fail.
bool failing(const char *name) {
  std::lock_guard<std::mutex> lock(mutex);
  int n = ++calls[name];
  const char *spec = std::getenv("NNX_FAKE_CUDA_FAIL");
  if (!spec || !*spec)
    return false;
  std::string s = spec;
  size_t at = s.find('@');
  int which = at == std::string::npos ? 1 : std::atoi(s.c_str() + at + 1);
  return s.substr(0, at) == name && n == which;
}

/// The entries of `ptx` with their parameter sizes (.u64/.b64/.f64 8 bytes, .u32/.b32/.f32/
/// .s32 4, .u16/.b16 2, .u8/.b8 1).
std::vector<Kernel> parseEntries(const std::string &ptx) {
  std::vector<Kernel> kernels;
  std::regex entry(R"(\.entry\s+([A-Za-z0-9_$]+)\s*\(([^)]*)\))");
  std::regex param(R"(\.param\s+\.([a-z])(\d+))");
  for (auto it = std::sregex_iterator(ptx.begin(), ptx.end(), entry); it != std::sregex_iterator();
       ++it) {
    Kernel k{(*it)[1].str(), {}};
    std::string params = (*it)[2].str();
    for (auto p = std::sregex_iterator(params.begin(), params.end(), param);
         p != std::sregex_iterator(); ++p)
      k.paramBytes.push_back(std::atoi((*p)[2].str().c_str()) / 8);
    kernels.push_back(std::move(k));
  }
  return kernels;
}

struct AtExit {
  ~AtExit() { trace("exit: " + std::to_string(live.size()) + " managed allocations live"); }
} atExit;

int dummyContext, dummyStream;

} // namespace

extern "C" {

int cuInit(unsigned) { return failing("cuInit") ? 100 : 0; } // CUDA_ERROR_NO_DEVICE
int cuDeviceGetCount(int *count) {
  *count = 1;
  return 0;
}
int cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return 0;
}
int cuDeviceGetName(char *name, int length, int) {
  std::snprintf(name, size_t(length), "nnx fake GPU");
  return 0;
}
int cuDeviceGetAttribute(int *value, int attribute, int) {
  const char *cc = std::getenv("NNX_FAKE_CUDA_CC"); // "90" by default
  int capability = cc && *cc ? std::atoi(cc) : 90;
  *value = attribute == 75 ? capability / 10 : attribute == 76 ? capability % 10 : 0;
  return 0;
}
int cuGetErrorName(int result, const char **name) {
  switch (result) {
  case 2: *name = "CUDA_ERROR_OUT_OF_MEMORY"; return 0;
  case 100: *name = "CUDA_ERROR_NO_DEVICE"; return 0;
  case 200: *name = "CUDA_ERROR_INVALID_IMAGE"; return 0;
  case 218: *name = "CUDA_ERROR_INVALID_PTX"; return 0;
  case 500: *name = "CUDA_ERROR_NOT_FOUND"; return 0;
  case 700: *name = "CUDA_ERROR_ILLEGAL_ADDRESS"; return 0;
  case 719: *name = "CUDA_ERROR_LAUNCH_FAILED"; return 0;
  default: return 1; // CUDA_ERROR_INVALID_VALUE
  }
}
int cuDevicePrimaryCtxRetain(void **context, int) {
  *context = &dummyContext;
  return failing("cuDevicePrimaryCtxRetain") ? 2 : 0;
}
int cuDevicePrimaryCtxRelease_v2(int) { return 0; }
int cuCtxSetCurrent(void *) { return 0; }
int cuStreamCreate(void **stream, unsigned) {
  *stream = &dummyStream;
  return 0;
}
int cuStreamSynchronize(void *) { return failing("cuStreamSynchronize") ? 700 : 0; }

int cuModuleLoadDataEx(void **module, const void *image, unsigned numOptions, int *options,
                       void **values) {
  std::string ptx = static_cast<const char *>(image);
  if (failing("cuModuleLoadDataEx") || ptx.find(".version") == std::string::npos) {
    for (unsigned i = 0; i < numOptions; ++i)
      if (options[i] == 5) // CU_JIT_ERROR_LOG_BUFFER
        std::snprintf(static_cast<char *>(values[i]), 64, "ptxas fatal   : fake load failure");
    return 218;
  }
  auto *m = new Module{parseEntries(ptx)};
  *module = m;
  trace("load: " + std::to_string(m->kernels.size()) + " kernels");
  return 0;
}
int cuModuleUnload(void *module) {
  delete static_cast<Module *>(module);
  return 0;
}
int cuModuleGetFunction(void **function, void *module, const char *name) {
  for (Kernel &k : static_cast<Module *>(module)->kernels)
    if (k.name == name) {
      *function = &k;
      return 0;
    }
  return 500;
}
int cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned, void *, void **params, void **) {
  auto *k = static_cast<Kernel *>(function);
  if (failing("cuLaunchKernel"))
    return 719;
  if (gx == 0 || gy == 0 || gz == 0 || gy > 65535 || gz > 65535 || bx * by * bz == 0 ||
      bx * by * bz > 1024 || bz > 64)
    return 1;
  // nnx passes one pointer per parameter, then a null: as many as the PTX entry declares.
  size_t declared = k->paramBytes.size();
  for (size_t i = 0; i <= declared; ++i)
    if ((params[i] == nullptr) != (i == declared)) {
      trace("launch " + k->name + ": " + std::to_string(declared) +
            " parameters declared, the array differs at " + std::to_string(i));
      return 1;
    }
  uint64_t checksum = 0;
  for (size_t i = 0; i < declared; ++i) {
    unsigned char bytes[8] = {};
    std::memcpy(bytes, params[i], size_t(k->paramBytes[i]));
    checksum += bytes[0];
  }
  (void)checksum;
  trace("launch " + k->name + " grid " + std::to_string(gx) + "x" + std::to_string(gy) + "x" +
        std::to_string(gz) + " block " + std::to_string(bx) + "x" + std::to_string(by) + "x" +
        std::to_string(bz) + " params " + std::to_string(k->paramBytes.size()));
  return 0;
}
int cuMemAllocManaged(uint64_t *pointer, size_t bytes, unsigned) {
  if (failing("cuMemAllocManaged"))
    return 2;
  void *p = std::calloc(1, bytes);
  if (const char *allocs = std::getenv("NNX_FAKE_CUDA_TRACE_ALLOCS"); allocs && *allocs == '1')
    trace("alloc " + std::to_string(bytes));
  std::lock_guard<std::mutex> lock(mutex);
  live.insert(p);
  *pointer = reinterpret_cast<uint64_t>(p);
  return 0;
}
int cuMemFree_v2(uint64_t pointer) {
  void *p = reinterpret_cast<void *>(pointer);
  std::lock_guard<std::mutex> lock(mutex);
  if (!live.erase(p))
    return 1; // not an allocation of this driver
  std::free(p);
  return 0;
}

} // extern "C"
