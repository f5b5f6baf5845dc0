//===- CompileCache.h - The on-disk cache of compiled objects -------------===//
//
// A repeated `nnxrun run` or `train` of the same model should not pay for MLIR lowering and
// LLVM again. CpuJit keys each compilation by a SHA-256 of everything that decides the machine
// code — the function's nnx IR, the entry name, the optimisation level, the host CPU and its
// features, the LLVM version, the GEMM blocking override and the identity of the nnx binary —
// and stores the object file ORC produced under `$XDG_CACHE_HOME/nnx` (else `~/.cache/nnx`).
// A hit loads that object straight into ORC (no lowering, no LLVM).
//
// Entries are written atomically (a temporary file, then rename) with a header: a magic
// string, the key, the payload size and the payload's SHA-256. A truncated, corrupt or
// foreign entry fails those checks and is recompiled and replaced, never loaded. A cache
// directory that cannot be created or written makes the JIT run uncached, with one note on
// stderr.
//
// The build also ships the GEMM kernels it compiled for its own host (`nnxrun cache
// --build-kernels`, run after linking) in <prefix>/lib/nnx/kernels beside <prefix>/bin: same
// keys, same entry format, read-only. A first run on that host then compiles only the model's
// own code. On another host, or after a rebuild, the keys differ and the kernels compile (and
// go to the user's cache) as before.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <mutex>
#include <string>

namespace nnx::codegen {

/// The process-wide compile cache. Thread-safe.
class CompileCache {
public:
  /// The cache of this process: enabled, in the default directory.
  static CompileCache &get();

  /// Turns the cache off (`--no-cache`: the shipped kernels too) or on. Called before any
  /// compile.
  void setEnabled(bool enabled);
  bool enabled() const { return enabled_; }
  /// Whether --no-cache or NNX_NO_CACHE asked for nothing on disk to be read.
  bool bypassed() const { return bypassed_; }

  /// The directory entries live in ($XDG_CACHE_HOME/nnx, else $HOME/.cache/nnx).
  const std::string &directory() const { return directory_; }

  /// The key of compiling function `entry` of `irText` at `optLevel` on this host with this
  /// binary: 64 hex digits.
  std::string key(llvm::StringRef irText, llvm::StringRef entry, int optLevel) const;

  /// The object stored under `key`, or null when there is none or it fails the checks (a
  /// corrupt entry is reported once as a note and will be overwritten).
  std::unique_ptr<llvm::MemoryBuffer> load(const std::string &key);

  /// Stores `object` under `key`. A failure to write disables the cache for the rest of the
  /// process with one note on stderr; it is never an error.
  void store(const std::string &key, llvm::StringRef object);

  /// Where the build ships its host's kernels: <prefix>/lib/nnx/kernels for the binary
  /// <prefix>/bin/<name> ("" when the binary's path is unknown).
  static const std::string &shippedKernelDirectory();

  /// The shipped kernel object stored under `key`, or null when there is none or the entry
  /// fails the checks (reported as a note). The kernel library reads them unless the cache is
  /// bypassed (`--no-cache`, NNX_NO_CACHE: every kernel compiles); a user cache that is missing
  /// or cannot be written does not stop it.
  std::unique_ptr<llvm::MemoryBuffer> loadShippedKernel(const std::string &key);

  /// Writes `object` under `key` into `directory` (created if missing) atomically, in the
  /// cache's entry format. Returns why it failed ("" on success).
  static std::string writeEntry(const std::string &directory, const std::string &key,
                                llvm::StringRef object);

  /// The file of the entry `key` in `directory`: <directory>/<key>.o.
  static std::string entryPath(llvm::StringRef directory, llvm::StringRef key);

  /// Whether `file` (a file name, no directory) is named like an entry: 64 hex digits, `.o`.
  static bool isEntryName(llvm::StringRef file);

private:
  CompileCache();
  void note(const std::string &message);

  bool enabled_ = true;
  /// --no-cache or NNX_NO_CACHE: nothing on disk is read, shipped kernels included.
  bool bypassed_ = false;
  std::string directory_;
  std::mutex mutex_;
  bool noted_ = false;
};

} // namespace nnx::codegen
