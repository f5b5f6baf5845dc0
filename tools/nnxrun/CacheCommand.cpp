//===- CacheCommand.cpp - `nnxrun cache`: the compile cache ---------------===//
//
// Shows where compiled objects are kept: the user's compile cache ($XDG_CACHE_HOME/nnx, else
// ~/.cache/nnx) with its entries and size, and the kernels the build shipped beside the binary
// (<prefix>/lib/nnx/kernels), with how many of this host's kernels it holds intact under this
// binary's keys. `--build-kernels DIR` compiles this host's GEMM kernels into DIR: the build
// runs it after linking nnxrun, so that a first run compiles only the model's own code
// (codegen/CompileCache.h).
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"

#include "codegen/CompileCache.h"
#include "codegen/KernelLibrary.h"
#include "codegen/Pipeline.h"
#include "runtime/Error.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstdint>
#include <iomanip>
#include <iostream>

namespace nnx::tool {
namespace {

/// The entries of `directory` (files named like one) and their total size in bytes (0, 0
/// when it does not exist).
std::pair<int64_t, uint64_t> countEntries(const std::string &directory) {
  int64_t entries = 0;
  uint64_t bytes = 0;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(directory, ec), end; it != end && !ec;
       it.increment(ec)) {
    if (!codegen::CompileCache::isEntryName(llvm::sys::path::filename(it->path())))
      continue;
    ++entries;
    uint64_t size = 0;
    if (!llvm::sys::fs::file_size(it->path(), size))
      bytes += size;
  }
  return {entries, bytes};
}

} // namespace

int runCache(const CacheOptions &options) {
  codegen::CompileCache &cache = codegen::CompileCache::get();
  if (!options.buildKernels.empty()) {
    if (llvm::Error error = codegen::buildHostKernels(options.buildKernels))
      throw rt::Error("E0500", "cannot build the kernels into `" + options.buildKernels +
                                   "`: " + llvm::toString(std::move(error)));
    std::cout << "compiled " << codegen::getHostKernelNames().size()
              << " kernels for this host into " << options.buildKernels << "\n";
    return 0;
  }
  if (cache.directory().empty()) {
    std::cout << "compile cache: none (neither XDG_CACHE_HOME nor HOME is set)\n";
  } else {
    auto [entries, bytes] = countEntries(cache.directory());
    std::cout << "compile cache: " << cache.directory() << " (" << entries
              << (entries == 1 ? " entry, " : " entries, ") << std::fixed
              << std::setprecision(1) << bytes / 1048576.0 << " MiB)"
              << (cache.enabled() ? "" : ", not used by this run") << "\n";
  }
  const std::string &shipped = codegen::CompileCache::shippedKernelDirectory();
  std::vector<std::string> names = codegen::getHostKernelNames();
  // Read and checked as a run reads them: a damaged one is a note and does not count.
  int64_t present = 0;
  for (const std::string &name : names)
    present += cache.loadShippedKernel(codegen::getKernelCacheKey(name)) != nullptr;
  std::cout << "shipped kernels: " << (shipped.empty() ? "unknown" : shipped) << " (" << present
            << " of this host's " << names.size() << " kernels"
            << (cache.bypassed() ? ", not used by this run" : "") << ")\n";
  return 0;
}

} // namespace nnx::tool
