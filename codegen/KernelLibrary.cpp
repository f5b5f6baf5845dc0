//===- KernelLibrary.cpp - Kernels compiled once per process --------------===//
//
// Each kernel is built from its name (which encodes the blocking) in a module of its own, in
// a context of the library's own, lowered with lowerKernelsToLLVMDialect and compiled at -O3
// by an ExecutionEngine that lives as long as the process; its object goes to the compile
// cache under a key of its name (and, as every key, of the nnx binary), from which later
// processes link it without building any IR.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelLibrary.h"
#include "codegen/CompileCache.h"
#include "codegen/CpuJit.h"
#include "codegen/OrcObjects.h"
#include "codegen/Pipeline.h"
#include "codegen/cpu/GemmKernel.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
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

/// One compiled kernel: whichever JIT holds its code, and its address.
struct Kernel {
  std::unique_ptr<mlir::ExecutionEngine> engine;
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
  auto engine = createHostEngine(*module, kKernelOptLevel, !key.empty());
  if (!engine)
    return engine.takeError();
  auto address = (*engine)->lookup(name);
  if (!address)
    return address.takeError();
  Kernel built;
  built.address = *address;
  if (!key.empty())
    if (std::string object = dumpObject(**engine); !object.empty())
      cache.store(key, object);
  built.engine = std::move(*engine);
  return built;
}

} // namespace

bool isKernelName(llvm::StringRef name) { return name.starts_with("nnx_sgemm_"); }

llvm::Expected<void *> getKernelAddress(llvm::StringRef name) {
  static std::recursive_mutex mutex;
  // Never destroyed: the kernels' code must outlive every caller, including static
  // destructors, and tearing down JITs at exit races with LLVM's own teardown (seen as a
  // SIGSEGV after the last train step).
  static auto *kernels = new std::map<std::string, Kernel, std::less<>>();
  std::lock_guard<std::recursive_mutex> lock(mutex);
  if (auto it = kernels->find(name); it != kernels->end())
    return it->second.address;
  auto kernel = buildKernel(name);
  if (!kernel)
    return kernel.takeError();
  void *address = kernel->address;
  kernels->emplace(name.str(), std::move(*kernel));
  return address;
}

} // namespace nnx::codegen
