//===- KernelLibrary.cpp - Kernels compiled once per process --------------===//
//
// Each kernel is built from its name (which encodes the blocking) in a module of its own, in
// a context of the library's own, lowered with lowerKernelsToLLVMDialect, compiled at -O1 to
// an object (compileObject) and linked into an LLJIT that lives as long as the process; the
// object goes to the compile cache under a key of its name (and, as every key, of the nnx
// binary), from which later processes link it without building any IR. The build ships the
// kernels of its own host (buildHostKernels) beside the binary: a first run there compiles
// none. CpuJit asks for a model's kernels on a second thread while it compiles the model
// itself.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelLibrary.h"
#include "codegen/CompileCache.h"
#include "codegen/CpuJit.h"
#include "codegen/OrcObjects.h"
#include "codegen/Pipeline.h"
#include "codegen/cpu/GemmKernel.h"
#include "codegen/cpu/GemvKernel.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace nnx::codegen {
namespace {

/// LLVM -O1 for the kernels: their loops are already explicit vector code (packed panels,
/// vector.fma on register accumulators), which -O3 does not improve. Measured on a Zen 3 core:
/// 256^3, 512^3 and 1024^3 products ran in 0.39, 3.01 and 24.9 ms at -O3 and in 0.40, 3.03 and
/// 24.6 ms at -O1, while compiling the two kernels of a first run took 210 ms at -O3 and
/// 150 ms at -O1 (on the path of every cold compile).
constexpr int kKernelOptLevel = 1;

/// One compiled kernel: the JIT that holds its code, and its address.
struct Kernel {
  std::unique_ptr<llvm::orc::LLJIT> loaded;
  void *address = nullptr;
};

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Links `object`, a stored object of kernel `name`; an empty Kernel when there is none or
/// it does not link.
Kernel loadCachedKernel(llvm::StringRef name, std::unique_ptr<llvm::MemoryBuffer> object) {
  Kernel kernel;
  if (!object)
    return kernel;
  auto lljit = linkObject(std::move(object));
  if (!lljit) {
    llvm::consumeError(lljit.takeError());
    return kernel;
  }
  auto symbol = (*lljit)->lookup(name);
  if (!symbol) {
    llvm::consumeError(symbol.takeError());
    return kernel;
  }
  kernel.address = symbol->toPtr<void *>();
  kernel.loaded = std::move(*lljit);
  return kernel;
}

/// The object file of kernel `name`, compiled: lowered in a context of its own (each build
/// has its own MLIRContext and LLVMContext, so kernels build in parallel).
llvm::Expected<std::string> compileKernelObject(llvm::StringRef name) {
  auto parsed = parseGemmKernelName(name);
  std::optional<GemvBlocking> gemv = parseGemvKernelName(name);
  if (!parsed && !gemv)
    return makeError("`" + name + "` is not a kernel of the kernel library");
  static mlir::DialectRegistry registry = [] {
    mlir::DialectRegistry r;
    registerCodegenDialects(r);
    return r;
  }();
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::UnknownLoc::get(&context));
  mlir::func::FuncOp kernel = parsed
                                  ? getOrCreateGemmKernel(*module, parsed->first, parsed->second)
                                  : getOrCreateGemvKernel(*module, *gemv);
  kernel.setPublic();
  if (mlir::failed(lowerKernelsToLLVMDialect(*module)))
    return makeError("cannot lower the kernel `" + name + "`");
  // To an object, then linked: no mlir::ExecutionEngine, whose object dump goes through a
  // temporary file and LLVM's signal handlers (an alternate signal stack per thread, which
  // ASan fails to unmap when a thread that compiled a kernel exits).
  return compileObject(*module, kKernelOptLevel);
}

/// Loads kernel `name` from the user's compile cache, else from the kernels the build
/// shipped, else compiles it (and stores it in the user's cache).
llvm::Expected<Kernel> buildKernel(llvm::StringRef name) {
  if (!parseGemmKernelName(name) && !parseGemvKernelName(name))
    return makeError("`" + name + "` is not a kernel of the kernel library");
  // The kernel is a function of its name and of the code generator, whose binary identity
  // is part of every key: no IR is built to look it up.
  CompileCache &cache = CompileCache::get();
  std::string key = getKernelCacheKey(name);
  if (Kernel cached = loadCachedKernel(name, cache.load(key)); cached.address)
    return cached;
  if (!cache.bypassed())
    if (Kernel shipped = loadCachedKernel(name, cache.loadShippedKernel(key)); shipped.address)
      return shipped;
  auto object = compileKernelObject(name);
  if (!object)
    return object.takeError();
  cache.store(key, *object);
  auto lljit = linkObject(llvm::MemoryBuffer::getMemBufferCopy(*object, name));
  if (!lljit)
    return lljit.takeError();
  auto address = (*lljit)->lookup(name);
  if (!address)
    return address.takeError();
  Kernel built;
  built.address = address->toPtr<void *>();
  built.loaded = std::move(*lljit);
  return built;
}

} // namespace

std::string getKernelCacheKey(llvm::StringRef name) {
  return CompileCache::get().key("kernel library", name, kKernelOptLevel);
}

bool isKernelName(llvm::StringRef name) {
  return name.starts_with("nnx_sgemm_") || name.starts_with("nnx_sgemv_");
}

llvm::Expected<void *> getKernelAddress(llvm::StringRef name) {
  /// One kernel's build, done once (by the first caller; the others wait for it): its code,
  /// or why it failed.
  struct Entry {
    std::once_flag built;
    Kernel kernel;
    std::string error;
  };
  static std::mutex mutex;
  // Never destroyed: the kernels' code must outlive every caller, including static
  // destructors, and tearing down JITs at exit races with LLVM's own teardown (seen as a
  // SIGSEGV after the last train step).
  static auto *entries = new std::map<std::string, std::unique_ptr<Entry>, std::less<>>();
  Entry *entry;
  {
    // Held only to find the entry: different kernels build at once (each in its own
    // MLIRContext and LLVMContext), so a cold start compiles a model's two kernels in
    // parallel rather than one after the other.
    std::lock_guard<std::mutex> lock(mutex);
    std::unique_ptr<Entry> &slot = (*entries)[std::string(name)];
    if (!slot)
      slot = std::make_unique<Entry>();
    entry = slot.get();
  }
  std::call_once(entry->built, [&] {
    auto kernel = buildKernel(name);
    if (kernel)
      entry->kernel = std::move(*kernel);
    else
      entry->error = llvm::toString(kernel.takeError());
  });
  if (!entry->error.empty())
    return makeError(entry->error);
  return entry->kernel.address;
}

llvm::Error buildHostKernels(llvm::StringRef directory) {
  // The directory's old entries are removed below: never the user's cache, whose entries are
  // named the same way.
  const std::string &cache = CompileCache::get().directory();
  if (!cache.empty() && llvm::sys::fs::equivalent(directory, cache))
    return makeError("it is the compile cache directory; give the directory to ship the "
                     "kernels in (the build uses <prefix>/lib/nnx/kernels)");
  std::vector<std::string> names = getHostKernelNames();
  std::vector<std::string> objects(names.size()), errors(names.size());
  {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < names.size(); ++i)
      threads.emplace_back([&, i] {
        if (auto object = compileKernelObject(names[i]))
          objects[i] = std::move(*object);
        else
          errors[i] = llvm::toString(object.takeError());
      });
    for (std::thread &thread : threads)
      thread.join();
  }
  // Entries of an earlier build (another binary identity) are never loaded again: remove
  // them, and only them (a name of 64 hex digits and .o; other files in DIR stay).
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(directory, ec), end; it != end && !ec;
       it.increment(ec)) {
    if (CompileCache::isEntryName(llvm::sys::path::filename(it->path())))
      llvm::sys::fs::remove(it->path());
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (!errors[i].empty())
      return makeError(errors[i]);
    std::string key = getKernelCacheKey(names[i]);
    if (std::string why = CompileCache::writeEntry(directory.str(), key, objects[i]);
        !why.empty())
      return makeError("cannot write the kernel `" + names[i] + "`: " + why);
  }
  return llvm::Error::success();
}

} // namespace nnx::codegen
