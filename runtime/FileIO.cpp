//===- FileIO.cpp - Whole-file reads and atomic writes --------------------===//
//
// POSIX file handling for the runtime's formats: reads that refuse directories and report the
// errno in words, and writes that go through a temporary file, fsync and rename.
//
//===----------------------------------------------------------------------===//
#include "runtime/FileIO.h"

#include "runtime/Error.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nnx::rt {
namespace {

/// Closes a file descriptor on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0)
      ::close(fd);
  }
};

/// Writes all of `size` bytes, retrying short writes; false on error (errno set).
bool writeAll(int fd, const char *data, size_t size) {
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return true;
}

/// The directory part of `path` ("." when it has none).
std::string parentDirectory(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

/// Writes the chunks to `tmp`; on failure returns the errno (0 on success).
int writeTemporary(const std::string &tmp, const std::vector<ByteChunk> &chunks) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  FdCloser closer{fd};
  for (const ByteChunk &chunk : chunks)
    if (!writeAll(fd, static_cast<const char *>(chunk.data), chunk.size))
      return errno;
  if (::fsync(fd) != 0)
    return errno;
  closer.fd = -1;
  if (::close(fd) != 0)
    return errno;
  return 0;
}

} // namespace

std::string errnoMessage(int error) {
  std::string text = std::strerror(error);
  if (!text.empty())
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::string readFileBytes(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error("E0500", "cannot open `" + path + "`: " + errnoMessage(errno));
  FdCloser closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0)
    throw Error("E0500", "cannot read `" + path + "`: " + errnoMessage(errno));
  if (S_ISDIR(info.st_mode))
    throw Error("E0500", "cannot read `" + path + "`: it is a directory");
  std::string bytes;
  char buffer[1 << 16];
  for (;;) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      throw Error("E0500", "cannot read `" + path + "`: " + errnoMessage(errno));
    }
    if (got == 0)
      break;
    bytes.append(buffer, static_cast<size_t>(got));
  }
  return bytes;
}

void writeFileAtomically(const std::string &path, const std::vector<ByteChunk> &chunks) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  if (int error = writeTemporary(tmp, chunks)) {
    struct stat info;
    if (::lstat(tmp.c_str(), &info) == 0 && S_ISREG(info.st_mode))
      ::unlink(tmp.c_str());
    throw Error("E0500", "cannot write `" + path + "`: " + errnoMessage(error),
                {"the temporary file was `" + tmp + "`; `" + path + "` was left unchanged"});
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(tmp.c_str());
    throw Error("E0500", "cannot write `" + path + "`: " + errnoMessage(error),
                {"renaming `" + tmp + "` over it failed; `" + path + "` was left unchanged"});
  }
  // Make the rename itself durable; a failure here leaves a complete file, so it is ignored.
  int dir = ::open(parentDirectory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

} // namespace nnx::rt
