//===- KernelLibrary.h - Kernels compiled once per process ----------------===//
//
// The GEMM kernel (cpu/GemmKernel.cpp) does not depend on the model: modules only declare it
// (nnx-gemm-schedule with external-kernels) and the JIT links this library's copy, compiled
// once per process for each blocking and variant the modules name, and kept in the compile
// cache like any function. A model's compile then pays LLVM only for its own code, however many
// products it has.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace nnx::codegen {

/// Whether `name` is the symbol of a library kernel (nnx_sgemm_...).
bool isKernelName(llvm::StringRef name);

/// The address of kernel `name`, compiled (or loaded from the compile cache) on first use and
/// kept for the life of the process. Thread-safe. Errors: a name that encodes no valid
/// blocking, a failure to lower or compile.
llvm::Expected<void *> getKernelAddress(llvm::StringRef name);

/// The compile cache key of kernel `name` (the same in the user's cache and in the shipped
/// directory).
std::string getKernelCacheKey(llvm::StringRef name);

/// Compiles this host's kernels (getHostKernelNames) into `directory`, as compile cache entries
/// under this binary's keys, after removing the entries already there (files named
/// <64 hex digits>.o; nothing else is touched): what the build ships beside the binary
/// (CompileCache::shippedKernelDirectory). Errors: `directory` is the user's compile cache,
/// a kernel that does not compile, a directory that cannot be written (with the reason).
llvm::Error buildHostKernels(llvm::StringRef directory);

} // namespace nnx::codegen
