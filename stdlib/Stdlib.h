//===- Stdlib.h - The standard library sources, embedded in the binary ---===//
//
// The stdlib is written in .nnx (stdlib/*.nnx). The build embeds every file's text into the
// binary (stdlib/CMakeLists.txt generates the table), so nnxrun needs no installed data files
// and always runs with the stdlib it was built with.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>

namespace nnx::stdlib {

/// One embedded stdlib file.
struct File {
  /// File name relative to stdlib/, e.g. "nn.nnx".
  const char *name;
  /// Its full text.
  const char *text;
};

/// Every stdlib file, in load order.
extern const File kFiles[];
/// Number of entries of kFiles.
extern const size_t kNumFiles;

} // namespace nnx::stdlib
