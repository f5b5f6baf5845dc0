//===- OrcObjects.h - Host execution engines and cached objects -----------===//
//
// What CpuJit and the kernel library share about ORC: an mlir::ExecutionEngine for the host
// CPU with nnx's LLVM pipeline (no loop unrolling), the object file it produced (for the
// compile cache), and an LLJIT that links a cached object with the process's symbols (libm,
// libc, libomp) and the GEMM kernels of the kernel library.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace mlir {
class ExecutionEngine;
} // namespace mlir

namespace llvm {
class MemoryBuffer;
namespace orc {
class LLJIT;
} // namespace orc
} // namespace llvm

namespace nnx::codegen {

/// Where an ExecutionEngine's compile spent its time, in milliseconds: translating the LLVM
/// dialect to LLVM IR, and LLVM's IR pipeline. Machine code is the rest of the compile.
struct LlvmPhaseMillis {
  double translate = 0.0;
  double optimize = 0.0;
};

/// An ExecutionEngine compiling `module` (LLVM dialect) for the host CPU at `optLevel`: LLVM's
/// default pipeline without loop unrolling at -O0 and -O1, the hand-picked pipeline of model
/// code from -O2 up (OrcObjects.cpp kModelPipeline). `symbols` are defined in it first (the
/// kernels `module` declares). With `keepObject`, its object can then be read by dumpObject.
/// With `phases`, the translation and the IR pipeline add their times there: `phases` must
/// outlive the first lookup, which is when ORC compiles.
llvm::Expected<std::unique_ptr<mlir::ExecutionEngine>>
createHostEngine(mlir::ModuleOp module, int optLevel, bool keepObject,
                 const llvm::StringMap<void *> &symbols = {}, LlvmPhaseMillis *phases = nullptr);

/// The object file of `module` (LLVM dialect) compiled for the host CPU at `optLevel` with the
/// pipeline of createHostEngine, with a packed wrapper `_mlir__mlir_ciface_<name>(void **)` for
/// every C interface (mlir::ExecutionEngine's convention): for linkObject, so that compiling
/// needs no symbol of the kernel library, which can be compiled meanwhile. With `phases`, the
/// translation and the IR pipeline add their times there.
llvm::Expected<std::string> compileObject(mlir::ModuleOp module, int optLevel,
                                          LlvmPhaseMillis *phases = nullptr);

/// The object file `engine` (created with keepObject, after a lookup compiled it) produced;
/// empty when it cannot be read.
std::string dumpObject(mlir::ExecutionEngine &engine);

/// A fresh LLJIT for the host holding `object`, whose undefined symbols resolve to
/// `symbols` (the GPU launcher's, for a GPU function's host code), to the process's and to
/// the kernel library's (KernelLibrary.h).
llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
linkObject(std::unique_ptr<llvm::MemoryBuffer> object,
           const llvm::StringMap<void *> &symbols = {});

} // namespace nnx::codegen
