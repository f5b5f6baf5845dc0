//===- KernelLibrary.cpp - Kernels compiled once per process --------------===//
//
// Each kernel is built from its name (which encodes the blocking) in a module of its own, in
// a context of the library's own, lowered with lowerKernelsToLLVMDialect, compiled at -O1 to
// an object (compileObject) and linked into an LLJIT that lives as long as the process; the
// object goes to the compile cache under a key of its name (and, as every key, of the nnx
// binary), from which later processes link it without building any IR. CpuJit asks for a
// model's kernels on a second thread while it compiles the model itself.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelLibrary.h"
#include "codegen/CompileCache.h"
#include "codegen/CpuJit.h"
#include "codegen/OrcObjects.h"
#include "codegen/Pipeline.h"
#include "codegen/cpu/GemmKernel.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"

#include <map>
#include <mutex>

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

/// Links the cached object of kernel `name` (under `key`); an empty Kernel when there is none
/// or it does not link.
Kernel loadCachedKernel(llvm::StringRef name, const std::string &key) {
  Kernel kernel;
  std::unique_ptr<llvm::MemoryBuffer> object = CompileCache::get().load(key);
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

/// Compiles (or loads from the cache) the kernel `name` encodes.
llvm::Expected<Kernel> buildKernel(llvm::StringRef name) {
  auto parsed = parseGemmKernelName(name);
  if (!parsed)
    return makeError("`" + name + "` is not a kernel of the kernel library");
  // The kernel is a function of its name and of the code generator, whose binary identity
  // is part of every key: no IR is built to look it up.
  CompileCache &cache = CompileCache::get();
  std::string key;
  if (cache.enabled()) {
    key = cache.key("kernel library", name, kKernelOptLevel);
    if (Kernel cached = loadCachedKernel(name, key); cached.address)
      return cached;
  }
  static mlir::DialectRegistry registry = [] {
    mlir::DialectRegistry r;
    registerCodegenDialects(r);
    return r;
  }();
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::UnknownLoc::get(&context));
  mlir::func::FuncOp kernel = getOrCreateGemmKernel(*module, parsed->first, parsed->second);
  kernel.setPublic();
  if (mlir::failed(lowerKernelsToLLVMDialect(*module)))
    return makeError("cannot lower the kernel `" + name + "`");
  // To an object, then linked: no mlir::ExecutionEngine, whose object dump goes through a
  // temporary file and LLVM's signal handlers (an alternate signal stack per thread, which
  // ASan fails to unmap when a thread that compiled a kernel exits).
  auto object = compileObject(*module, kKernelOptLevel);
  if (!object)
    return object.takeError();
  if (!key.empty())
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

bool isKernelName(llvm::StringRef name) { return name.starts_with("nnx_sgemm_"); }

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

} // namespace nnx::codegen
