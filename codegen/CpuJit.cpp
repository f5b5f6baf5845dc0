//===- CpuJit.cpp - The CPU JIT of nnx functions --------------------------===//
//
// compile() clones the module, keeps the requested function, lowers it with the pipeline of
// cpu/Pipeline.cpp and hands the LLVM dialect to mlir::ExecutionEngine (ORC), with an LLVM
// target machine for the host CPU (so -O3 vectorises for its vector width). run() builds one
// memref descriptor per argument over the rt::Tensor storage and one per result over freshly
// allocated tensors (the out-params of the bufferized function) and calls the packed
// `_mlir_ciface_<name>` entry point.
//
//===----------------------------------------------------------------------===//
#include "codegen/CpuJit.h"
#include "codegen/CompileCache.h"
#include "codegen/KernelLibrary.h"
#include "codegen/OrcObjects.h"
#include "codegen/Pipeline.h"
#include "codegen/gpu/GpuPipeline.h"

#include "ir/Types.h"
#include "runtime/gpu/CudaDriver.h"
#include "runtime/gpu/CudaLauncher.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <future>
#include <stdexcept>
#include <system_error>

// libomp's API (omp.h is the compiler's, not a system header).
extern "C" {
void omp_set_num_threads(int);
int omp_get_max_threads(void);
}

using namespace mlir;

namespace nnx::codegen {
namespace {

using Clock = std::chrono::steady_clock;

double millisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Captures the diagnostics of a context while alive, to return them in an llvm::Error.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(MLIRContext *context)
      : handler_(context, [this](Diagnostic &diagnostic) {
          llvm::raw_string_ostream os(text_);
          os << (text_.empty() ? "" : "\n") << diagnostic.getLocation() << ": "
             << diagnostic.str();
          for (const Diagnostic &note : diagnostic.getNotes())
            os << "\n  note: " << note.str();
          return success();
        }) {}

  const std::string &text() const { return text_; }

private:
  std::string text_;
  ScopedDiagnosticHandler handler_;
};

/// A copy of `module` that holds function `name` (made public) and the functions it uses.
OwningOpRef<ModuleOp> cloneForCompilation(ModuleOp module, llvm::StringRef name) {
  OwningOpRef<ModuleOp> clone(module.clone());
  for (auto func : llvm::make_early_inc_range(clone->getOps<func::FuncOp>())) {
    if (func.getSymName() == name)
      func.setPublic();
    else if (SymbolTable::symbolKnownUseEmpty(func, *clone))
      func.erase();
    else
      func.setPrivate();
  }
  return clone;
}

/// "f32[1, 784]".
std::string describe(rt::DType dtype, const rt::Shape &shape) {
  return std::string(rt::dtypeName(dtype)) + rt::formatShape(shape);
}

/// The memref descriptor of a tensor's storage: {allocated, aligned, offset, sizes...,
/// strides...}, every field 64 bits wide.
std::vector<int64_t> makeDescriptor(const rt::Tensor &tensor) {
  auto address = reinterpret_cast<int64_t>(tensor.raw());
  std::vector<int64_t> words = {address, address, 0};
  words.insert(words.end(), tensor.shape().begin(), tensor.shape().end());
  std::vector<int64_t> strides = rt::rowMajorStrides(tensor.shape());
  words.insert(words.end(), strides.begin(), strides.end());
  return words;
}

} // namespace

CpuJit::~CpuJit() = default;

llvm::Expected<std::vector<CpuJit::TensorSpec>> CpuJit::specsOf(TypeRange types,
                                                               llvm::StringRef what) {
  std::vector<TensorSpec> specs;
  for (auto [index, type] : llvm::enumerate(types)) {
    auto tensor = llvm::dyn_cast<RankedTensorType>(type);
    std::optional<rt::DType> dtype = tensor ? ir::dtypeOf(tensor.getElementType()) : std::nullopt;
    if (!dtype || !tensor.hasStaticShape())
      return makeError(what + " " + llvm::Twine(index) + " has type " + ir::formatType(type) +
                       ", not a static tensor of an nnx dtype");
    specs.push_back({*dtype, rt::Shape(tensor.getShape().begin(), tensor.getShape().end())});
  }
  return specs;
}

/// Lowers an nnx module to the LLVM dialect for `kernels`.
static LogicalResult lowerForHost(ModuleOp module, CpuJit::Kernels kernels) {
  if (kernels == CpuJit::Kernels::GpuOnHost)
    return success(succeeded(lowerToHostLoops(module)) &&
                   succeeded(lowerKernelsToLLVMDialect(module)));
  return success(succeeded(lowerToLinalg(module)) && succeeded(lowerToLLVMDialect(module)));
}

llvm::Expected<std::unique_ptr<CpuJit>> CpuJit::compile(ModuleOp module, llvm::StringRef name,
                                                        int optLevel, Kernels kernels) {
  MLIRContext *context = module.getContext();
  if (!context->getDialectRegistry().getDialectAllocator("linalg"))
    return makeError("the MLIR context lacks the code generator's dialects "
                     "(call nnx::codegen::registerCodegenDialects on its registry)");
  auto func = module.lookupSymbol<func::FuncOp>(name);
  if (!func || func.isExternal())
    return makeError("no function named '" + name + "' to compile");
  std::unique_ptr<CpuJit> jit(new CpuJit());
  auto args = specsOf(func.getArgumentTypes(), "argument");
  if (!args)
    return args.takeError();
  auto results = specsOf(func.getResultTypes(), "result");
  if (!results)
    return results.takeError();
  jit->args_ = std::move(*args);
  jit->results_ = std::move(*results);

  DiagnosticCollector diagnostics(context);
  Clock::time_point start = Clock::now();
  OwningOpRef<ModuleOp> lowered = cloneForCompilation(module, name);
  // The compile cache: the key is over the nnx IR about to be lowered (no locations, so the
  // same model in another file hits too).
  CompileCache &cache = CompileCache::get();
  std::string key;
  if (cache.enabled() && kernels == Kernels::Cpu) {
    std::string text;
    llvm::raw_string_ostream os(text);
    lowered->print(os);
    key = cache.key(text, name, optLevel);
    if (std::unique_ptr<llvm::MemoryBuffer> object = cache.load(key)) {
      if (llvm::Error error = jit->loadObject(std::move(object), name)) {
        // An object that does not link (it passed the checksum: a foreign toolchain) is
        // compiled again and replaced.
        llvm::consumeError(std::move(error));
        jit->loaded_.reset();
      } else {
        jit->cacheHit_ = true;
        jit->cacheMillis_ = millisSince(start);
        return jit;
      }
    }
  }
  // The GPU's kernels on the host run only what the device would: the same refusals as
  // emitPtx (their error code, std::errc::not_supported, kept for the caller).
  if (kernels == Kernels::GpuOnHost)
    if (llvm::Error error = checkGpuSupport(*lowered))
      return error;
  if (kernels == Kernels::Gpu) {
    if (llvm::Error error = jit->compileForGpu(*lowered)) {
      // What the GPU backend does not compile yet keeps its code (std::errc::not_supported).
      std::error_code code;
      std::string text;
      llvm::handleAllErrors(std::move(error), [&](const llvm::ErrorInfoBase &info) {
        code = info.convertToErrorCode();
        text = info.message();
      });
      if (code == std::errc::not_supported)
        return llvm::createStringError(code, text);
      return makeError("cannot compile '" + name + "' for the GPU: " + text + "\n" +
                       diagnostics.text());
    }
  } else if (failed(lowerForHost(*lowered, kernels))) {
    return makeError("cannot compile '" + name + "' for the CPU:\n" + diagnostics.text());
  }
  // The kernels' PTX and the driver's load are timed apart (ptxMillis, moduleLoadMillis).
  jit->lowerMillis_ = millisSince(start) - jit->ptxMillis_ - jit->moduleLoadMillis_;
  start = Clock::now();
  std::string object;
  if (llvm::Error error =
          jit->createEngine(*lowered, name, optLevel, key.empty() ? nullptr : &object))
    return makeError("cannot compile '" + name + "' with LLVM: " +
                     llvm::toString(std::move(error)) + "\n" + diagnostics.text());
  jit->llvmMillis_ = millisSince(start);
  if (!object.empty())
    cache.store(key, object);
  return jit;
}

llvm::Error CpuJit::compileForGpu(ModuleOp module) {
  // parseBackend refused devices nnx does not compile for before anything was traced.
  rt::gpu::CudaProbe cuda = rt::gpu::probeCuda();
  std::string arch = gpuArchForDevice(cuda.device.major, cuda.device.minor);
  if (arch.empty())
    return makeError("no CUDA device of sm_80 or newer");
  auto ptx = lowerToGpuHost(module, arch, &ptxMillis_);
  if (!ptx)
    return ptx.takeError();
  if (failed(lowerGpuHostToLLVMDialect(module)))
    return makeError("cannot lower the GPU function's host side");
  std::vector<std::string> names;
  if (auto list = module->getAttrOfType<ArrayAttr>("nnx.gpu_kernels"))
    for (Attribute entry : list)
      names.push_back(llvm::cast<StringAttr>(entry).str());
  Clock::time_point loadStart = Clock::now();
  gpu_ = std::make_unique<rt::gpu::CudaModule>(*ptx, names);
  moduleLoadMillis_ = millisSince(loadStart);
  for (auto &[symbol, address] : rt::gpu::launcherSymbols())
    extraSymbols_[symbol] = address;
  return llvm::Error::success();
}

llvm::Error CpuJit::loadObject(std::unique_ptr<llvm::MemoryBuffer> object,
                               llvm::StringRef name) {
  auto lljit = linkObject(std::move(object), extraSymbols_);
  if (!lljit)
    return lljit.takeError();
  loaded_ = std::move(*lljit);
  auto entry = loaded_->lookup(("_mlir__mlir_ciface_" + name).str());
  if (!entry)
    return entry.takeError();
  entry_ = entry->toPtr<void (*)(void **)>();
  return llvm::Error::success();
}

llvm::Error CpuJit::createEngine(ModuleOp module, llvm::StringRef name, int optLevel,
                                 std::string *object) {
  // NNX_PERF=1 needs mlir::ExecutionEngine's perf listener: compile in it, kernels first.
  if (const char *perf = std::getenv("NNX_PERF"); perf && *perf == '1')
    return createProfiledEngine(module, name, optLevel, object);
  // The GEMM kernels the module declares come from the kernel library. Each one not compiled
  // yet is compiled on a thread of its own while this one compiles the module (each takes
  // 100-300 ms, the seed's train step 200-300 ms); the object is then linked, its kernel
  // symbols resolved (linkObject), once they are ready. kernelMillis_ is the wait for them.
  std::vector<std::future<std::string>> kernels;
  for (auto func : module.getOps<LLVM::LLVMFuncOp>())
    if (func.isExternal() && isKernelName(func.getName()))
      kernels.push_back(std::async(std::launch::async, [name = func.getName().str()] {
        auto address = getKernelAddress(name);
        return address ? std::string() : llvm::toString(address.takeError());
      }));
  auto compiled = compileObject(module, optLevel, &phases_);
  Clock::time_point wait = Clock::now();
  std::string kernelError;
  for (std::future<std::string> &kernel : kernels)
    if (std::string error = kernel.get(); kernelError.empty())
      kernelError = std::move(error);
  kernelMillis_ = millisSince(wait);
  if (!compiled)
    return compiled.takeError();
  if (!kernelError.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), kernelError);
  if (llvm::Error error =
          loadObject(llvm::MemoryBuffer::getMemBufferCopy(*compiled, "nnx-object"), name))
    return error;
  if (object)
    *object = std::move(*compiled);
  return llvm::Error::success();
}

llvm::Error CpuJit::createProfiledEngine(ModuleOp module, llvm::StringRef name, int optLevel,
                                         std::string *object) {
  llvm::StringMap<void *> kernels = extraSymbols_;
  Clock::time_point start = Clock::now();
  for (auto func : module.getOps<LLVM::LLVMFuncOp>())
    if (func.isExternal() && isKernelName(func.getName())) {
      auto address = getKernelAddress(func.getName());
      if (!address)
        return address.takeError();
      kernels[func.getName()] = *address;
    }
  kernelMillis_ = millisSince(start);
  auto engine = createHostEngine(module, optLevel, object != nullptr, kernels, &phases_);
  if (!engine)
    return engine.takeError();
  engine_ = std::move(*engine);
  auto entry = engine_->lookupPacked(("_mlir_ciface_" + name).str());
  if (!entry)
    return entry.takeError();
  entry_ = *entry;
  if (object)
    *object = dumpObject(*engine_);
  return llvm::Error::success();
}

void setThreadCount(int threads) { omp_set_num_threads(threads); }

int threadCount() { return omp_get_max_threads(); }

std::vector<rt::Tensor> CpuJit::run(const std::vector<rt::Tensor> &args) const {
  if (args.size() != args_.size())
    throw std::invalid_argument("the compiled function takes " + std::to_string(args_.size()) +
                                " arguments, got " + std::to_string(args.size()));
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].dtype() != args_[i].dtype || args[i].shape() != args_[i].shape)
      throw std::invalid_argument("argument " + std::to_string(i) + " must be " +
                                  describe(args_[i].dtype, args_[i].shape) + ", got " +
                                  describe(args[i].dtype(), args[i].shape()));
  if (gpu_)
    return runOnGpu(args);
  std::vector<rt::Tensor> results;
  // The bufferized function writes every element of its out-params (a result is a whole
  // tensor value); no zero fill first.
  for (const TensorSpec &spec : results_)
    results.push_back(rt::Tensor::uninitialized(spec.dtype, spec.shape));
  // Arguments, then out-params: one descriptor each, passed by pointer; the packed entry
  // point takes a pointer to each of those pointers.
  std::vector<std::vector<int64_t>> descriptors;
  for (const rt::Tensor &tensor : args)
    descriptors.push_back(makeDescriptor(tensor));
  for (const rt::Tensor &tensor : results)
    descriptors.push_back(makeDescriptor(tensor));
  std::vector<void *> pointers, packed;
  for (std::vector<int64_t> &descriptor : descriptors)
    pointers.push_back(descriptor.data());
  for (void *&pointer : pointers)
    packed.push_back(&pointer);
  entry_(packed.data());
  return results;
}

std::vector<rt::Tensor> CpuJit::runOnGpu(const std::vector<rt::Tensor> &args) const {
  using rt::gpu::CudaModule;
  // Arguments already in managed memory (the results of an earlier run: a train step's
  // state) are passed as they are; others are copied into managed buffers freed after the
  // run, however it ends. Results stay in managed memory, owned by their tensors: the state
  // a train step returns is on the device for the next step, and the host reads a result
  // (the loss) only when it asks for it, after the run.
  struct Staged {
    std::vector<void *> pointers;
    ~Staged() {
      for (void *pointer : pointers)
        CudaModule::freeManaged(pointer);
    }
  } staged;
  std::vector<std::vector<int64_t>> descriptors;
  auto describeAt = [&](const rt::Tensor &like, const void *pointer) {
    std::vector<int64_t> words = makeDescriptor(like);
    words[0] = words[1] = reinterpret_cast<int64_t>(pointer);
    descriptors.push_back(std::move(words));
  };
  for (const rt::Tensor &tensor : args) {
    if (CudaModule::isManaged(tensor.raw())) {
      describeAt(tensor, tensor.raw());
      continue;
    }
    void *copy = CudaModule::allocateManaged(tensor.nbytes());
    staged.pointers.push_back(copy);
    std::memcpy(copy, tensor.raw(), tensor.nbytes());
    describeAt(tensor, copy);
  }
  std::vector<rt::Tensor> results;
  for (const TensorSpec &spec : results_) {
    size_t bytes = static_cast<size_t>(rt::numElements(spec.shape)) * rt::dtypeSize(spec.dtype);
    std::shared_ptr<std::byte> storage(
        static_cast<std::byte *>(CudaModule::allocateManaged(bytes)),
        [](std::byte *pointer) { CudaModule::freeManaged(pointer); });
    results.push_back(rt::Tensor::withStorage(spec.dtype, spec.shape, std::move(storage)));
    describeAt(results.back(), results.back().raw());
  }
  std::vector<void *> pointers, packed;
  for (std::vector<int64_t> &descriptor : descriptors)
    pointers.push_back(descriptor.data());
  for (void *&pointer : pointers)
    packed.push_back(&pointer);
  gpu_->run([&] { entry_(packed.data()); });
  return results;
}

} // namespace nnx::codegen
