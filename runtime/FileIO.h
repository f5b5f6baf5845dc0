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
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nnx::rt {

/// The whole content of the regular file at `path`, at most `maxBytes` long (default, -1: the
/// memory budget, rt::memoryBudget). Throws rt::Error E0500 when it is missing, unreadable,
/// larger, or not a regular file (a directory, FIFO, device or socket: `/dev/zero` would never
/// end, and opening a FIFO is not even left waiting for a writer).
std::string readFileBytes(const std::string &path, int64_t maxBytes = -1);

/// "a directory", "a FIFO (named pipe)", "a device", "a socket": what a `stat` mode is, for
/// messages that refuse anything but regular files.
std::string fileTypeName(unsigned mode);

/// One piece of a file being written.
struct ByteChunk {
  /// The first byte (may be null when size is 0).
  const void *data;
  /// Number of bytes.
  size_t size;
};

/// Writes the concatenated `chunks` to `path` atomically: to `path.tmp.<pid>`, fsync, rename
/// over `path`. A symlink is followed and its target written (the link stays); a file written
/// over keeps its permission bits; anything but a regular file or a new name (a directory,
/// device such as /dev/null, FIFO or socket) is refused before writing. On failure the
/// temporary file is removed, `path` is untouched, and rt::Error E0500 is thrown.
void writeFileAtomically(const std::string &path, const std::vector<ByteChunk> &chunks);

/// Checks, before a long run, that writeFileAtomically(path) can succeed: `path` is a regular
/// file or a new name in an existing, writable directory. Throws rt::Error E0500 otherwise.
void checkWritable(const std::string &path);

/// Creates `dir` (and its parents) when missing; E0500 when it cannot be made or is not a
/// writable directory.
void ensureDirectory(const std::string &dir);

/// The errno value `error` as a lowercase phrase ("no such file or directory").
std::string errnoMessage(int error);

/// nnx's per-user cache directory: $XDG_CACHE_HOME/nnx, else (or when XDG_CACHE_HOME is not
/// an absolute path, which the XDG Base Directory spec says to ignore) $HOME/.cache/nnx; ""
/// when neither is set. The compile cache and the language server's stdlib copy live there.
std::string userCacheDirectory();

} // namespace nnx::rt
