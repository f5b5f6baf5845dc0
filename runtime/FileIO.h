//===- FileIO.h - Whole-file reads and atomic writes ----------------------===//
//
// The file formats of the runtime (.npy, safetensors, csv) read a file whole and write one
// atomically: the bytes go to a temporary file beside the target, which is flushed to disk and
// renamed over the target, so a failed or interrupted write never leaves a partial file and
// never touches a good one. Failures are rt::Error E0500 naming the file and the reason.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nnx::rt {

/// The whole content of the regular file at `path`; throws rt::Error E0500 when it is missing,
/// a directory, or unreadable.
std::string readFileBytes(const std::string &path);

/// One piece of a file being written.
struct ByteChunk {
  /// The first byte (may be null when size is 0).
  const void *data;
  /// Number of bytes.
  size_t size;
};

/// Writes the concatenated `chunks` to `path` atomically: to `path.tmp.<pid>`, fsync, rename
/// over `path`. On failure the temporary file is removed, `path` is untouched, and rt::Error
/// E0500 is thrown.
void writeFileAtomically(const std::string &path, const std::vector<ByteChunk> &chunks);

/// The errno value `error` as a lowercase phrase ("no such file or directory").
std::string errnoMessage(int error);

} // namespace nnx::rt
