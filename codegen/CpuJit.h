//===- CpuJit.h - The CPU JIT of nnx functions ----------------------------===//
//
// CpuJit compiles one func.func of nnx IR to native code for the host CPU: the function is
// lowered with the pipeline of codegen/Pipeline.h, translated to LLVM IR, optimised and
// compiled by ORC (mlir::ExecutionEngine). run() then calls it on rt::Tensors, following the
// calling convention of ir/Signature.h (one tensor per argument in, one per result out).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/OrcObjects.h"
#include "runtime/Tensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/TypeRange.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace mlir {
class DialectRegistry;
class ExecutionEngine;
} // namespace mlir

namespace llvm {
class MemoryBuffer;
namespace orc {
class LLJIT;
} // namespace orc
} // namespace llvm

namespace nnx::rt::gpu {
class CudaModule;
} // namespace nnx::rt::gpu

namespace nnx::codegen {

/// Registers every dialect, external interface model and LLVM IR translation the CPU
/// pipeline needs. Call it on the registry of the MLIRContext before the nnx modules are
/// created (the tools do this once).
void registerCodegenDialects(mlir::DialectRegistry &registry);

/// Sets how many threads the compiled kernels may use (OpenMP's omp_set_num_threads; the
/// default is OMP_NUM_THREADS, else one per core). Results are bit-identical for any count:
/// threads split the columns of a product, never a sum.
void setThreadCount(int threads);

/// The thread count the compiled kernels use.
int threadCount();

/// A function compiled for the host CPU.
class CpuJit {
public:
  /// Compiles function `name` of `module` (nnx dialect, static shapes). The module is cloned,
  /// not modified. Failures (no such function, IR that cannot be lowered, LLVM errors) come
  /// back as an llvm::Error whose message carries the MLIR diagnostics.
  ///
  /// With `kernels` = GpuOnHost, the function is lowered the GPU's way instead (every op a
  /// launch of blocks and threads: gpu/GpuPipeline.h lowerToHostLoops) and the launches run
  /// as loops on the host, through the CPU's loops-to-LLVM tail: `--backend gpu-host` and the
  /// GPU mapping tests. Those compiles bypass the compile cache, and first pass
  /// checkGpuSupport: what the device cannot run fails with its std::errc::not_supported
  /// error, as `emit --stage ptx` does.
  ///
  /// With `kernels` = Gpu, the kernels are compiled to PTX (emitPtx) for device 0's
  /// architecture (gpuArchForDevice) and loaded there (rt::gpu::CudaModule); the host side
  /// (lowerToGpuHost) is compiled here, its launches and allocations bound to the launcher.
  /// run() copies into managed memory the arguments that are not there yet (results of an
  /// earlier run are: a train step's state stays on the device), runs the host code and
  /// waits for the device; the results are tensors over managed memory. Bypasses the
  /// compile cache; fails with E0601 / E0602 (rt::Error, thrown) when the device is missing
  /// or refuses the module.
  enum class Kernels { Cpu, GpuOnHost, Gpu };
  static llvm::Expected<std::unique_ptr<CpuJit>> compile(mlir::ModuleOp module,
                                                         llvm::StringRef name, int optLevel = 3,
                                                         Kernels kernels = Kernels::Cpu);

  ~CpuJit();
  CpuJit(const CpuJit &) = delete;
  CpuJit &operator=(const CpuJit &) = delete;

  /// Runs the function: one tensor per argument, of the dtype and shape the function type
  /// states; returns one fresh tensor per result. Throws std::invalid_argument when the
  /// arguments do not match. Thread-safe: calls share no mutable state.
  std::vector<rt::Tensor> run(const std::vector<rt::Tensor> &args) const;

  /// Milliseconds compile() spent lowering MLIR (nnx to the LLVM dialect).
  double lowerMillis() const { return lowerMillis_; }
  /// Milliseconds compile() spent in LLVM: translation, optimisation and machine code, and
  /// the library kernels the module calls when they were not compiled yet.
  double llvmMillis() const { return llvmMillis_; }
  /// The parts of llvmMillis(): waiting for the library kernels (compiled beside the
  /// module's own code), translation to LLVM IR, LLVM's IR pipeline, and machine code (the
  /// rest).
  double kernelMillis() const { return kernelMillis_; }
  double translateMillis() const { return phases_.translate; }
  double optimizeMillis() const { return phases_.optimize; }
  double codegenMillis() const {
    return llvmMillis_ - kernelMillis_ - phases_.translate - phases_.optimize;
  }
  /// For Kernels::Gpu: milliseconds compile() spent compiling the kernels to PTX, and the
  /// driver loading them (its own JIT of the PTX); 0 otherwise. Not part of lowerMillis()
  /// and llvmMillis(), which are the host side's.
  double ptxMillis() const { return ptxMillis_; }
  double moduleLoadMillis() const { return moduleLoadMillis_; }
  /// Whether compile() loaded the object from the compile cache (CompileCache.h) instead of
  /// lowering and compiling; cacheMillis() is what that took (key, read, checks, linking).
  bool cacheHit() const { return cacheHit_; }
  double cacheMillis() const { return cacheMillis_; }

private:
  /// The dtype and shape of one argument or result.
  struct TensorSpec {
    rt::DType dtype;
    rt::Shape shape;
  };

  CpuJit() = default;

  /// The specs of function arguments or results; an error names the first that is not a
  /// static tensor of an nnx dtype (`what` is "argument" or "result").
  static llvm::Expected<std::vector<TensorSpec>> specsOf(mlir::TypeRange types,
                                                         llvm::StringRef what);
  /// Compiles a module in the LLVM dialect to an object (while the kernel library compiles
  /// the kernels it declares, on another thread), links it and looks up the packed C
  /// interface of function `name`. With `object`, the object is then there.
  llvm::Error createEngine(mlir::ModuleOp module, llvm::StringRef name, int optLevel,
                           std::string *object = nullptr);
  /// createEngine through an mlir::ExecutionEngine registered with perf (NNX_PERF=1), the
  /// kernels compiled first.
  llvm::Error createProfiledEngine(mlir::ModuleOp module, llvm::StringRef name, int optLevel,
                                   std::string *object = nullptr);
  /// Links a cached object into a fresh ORC LLJIT and looks up function `name`.
  llvm::Error loadObject(std::unique_ptr<llvm::MemoryBuffer> object, llvm::StringRef name);

  /// Kernels::Gpu's half of compile(): `module` lowered to its host side (LLVM dialect) and
  /// its kernels' PTX loaded on the device; the launcher's symbols noted for linking.
  llvm::Error compileForGpu(mlir::ModuleOp module);

  /// run() on the GPU: the arguments and results in managed memory around the host code.
  std::vector<rt::Tensor> runOnGpu(const std::vector<rt::Tensor> &args) const;

  std::unique_ptr<mlir::ExecutionEngine> engine_;
  /// The loaded kernels, for Kernels::Gpu.
  std::unique_ptr<rt::gpu::CudaModule> gpu_;
  /// Symbols defined for the host code before the process's (the GPU launcher's).
  llvm::StringMap<void *> extraSymbols_;
  std::unique_ptr<llvm::orc::LLJIT> loaded_;
  /// The packed entry point `_mlir__mlir_ciface_<name>`: one pointer per memref descriptor.
  void (*entry_)(void **) = nullptr;
  std::vector<TensorSpec> args_, results_;
  double lowerMillis_ = 0.0, llvmMillis_ = 0.0, cacheMillis_ = 0.0, kernelMillis_ = 0.0;
  double ptxMillis_ = 0.0, moduleLoadMillis_ = 0.0;
  LlvmPhaseMillis phases_;
  bool cacheHit_ = false;
};

} // namespace nnx::codegen
