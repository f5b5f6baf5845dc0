//===- FileIO.cpp - Whole-file reads and atomic writes --------------------===//
//
// POSIX file handling for the runtime's formats: reads that refuse directories and report the
// errno in words, and writes that go through a temporary file, fsync and rename.
//
//===----------------------------------------------------------------------===//
#include "runtime/FileIO.h"

#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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

/// Writes the chunks to `tmp`, created with `mode` (exactly that mode when `exactMode`, for a
/// file that replaces one; else less the umask); on failure returns the errno (0 on success).
int writeTemporary(const std::string &tmp, const std::vector<ByteChunk> &chunks, mode_t mode,
                   bool exactMode) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return errno;
  FdCloser closer{fd};
  if (exactMode && ::fchmod(fd, mode) != 0)
    return errno;
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

std::string fileTypeName(unsigned mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO (named pipe)";
  if (S_ISCHR(mode) || S_ISBLK(mode))
    return "a device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

std::string readFileBytes(const std::string &path, int64_t maxBytes) {
  if (maxBytes < 0)
    maxBytes = memoryBudget();
  // O_NONBLOCK: opening a FIFO must not wait for a writer before we can refuse it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    throw Error("E0500", "cannot read `" + path + "`: " + errnoMessage(errno));
  FdCloser closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0)
    throw Error("E0500", "cannot read `" + path + "`: " + errnoMessage(errno));
  if (!S_ISREG(info.st_mode))
    throw Error("E0500", "cannot read `" + path + "`: it is " + fileTypeName(info.st_mode),
                {"nnxrun reads sources, checkpoints and data from regular files only"});
  if (info.st_size > maxBytes)
    throw Error("E0500",
                "cannot read `" + path + "`: it has " + formatBytes(double(info.st_size)) +
                    ", more than the limit of " + formatBytes(double(maxBytes)),
                {"the limit is the memory budget (--max-memory)"});
  std::string bytes;
  bytes.reserve(static_cast<size_t>(info.st_size));
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
    if (static_cast<int64_t>(bytes.size()) + got > maxBytes) // grew while being read
      throw Error("E0500", "cannot read `" + path + "`: it grew beyond " +
                               formatBytes(double(maxBytes)) + " while being read");
    bytes.append(buffer, static_cast<size_t>(got));
  }
  return bytes;
}

void writeFileAtomically(const std::string &requested, const std::vector<ByteChunk> &chunks) {
  // Through a symlink to its target, so the link stays a link; a target that does not exist
  // yet is created (a dangling link's target too).
  std::string path = requested;
  struct stat info;
  for (int hops = 0; ::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode); ++hops) {
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
    if (n < 0 || hops == 40)
      throw Error("E0500", "cannot write `" + requested + "`: " +
                               (n < 0 ? errnoMessage(errno) : "too many levels of symbolic links"));
    target[n] = '\0';
    std::string next(target);
    path = next.front() == '/' ? next : parentDirectory(path) + "/" + next;
  }
  bool exists = ::stat(path.c_str(), &info) == 0;
  if (exists && !S_ISREG(info.st_mode))
    throw Error("E0500", "cannot write `" + requested + "`: it is " + fileTypeName(info.st_mode),
                {"nnxrun writes outputs and checkpoints to regular files only; choose a file "
                 "name"});
  if (!exists)
    checkWritable(path); // a missing or read-only directory, said as such
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  // A file written over keeps its permissions; a new one gets 0666 less the umask.
  mode_t mode = exists ? (info.st_mode & 07777) : 0666;
  struct stat stale; // left by a killed run with the same pid
  if (::lstat(tmp.c_str(), &stale) == 0 && S_ISREG(stale.st_mode))
    ::unlink(tmp.c_str());
  if (int error = writeTemporary(tmp, chunks, mode, exists)) {
    struct stat tmpInfo;
    if (::lstat(tmp.c_str(), &tmpInfo) == 0 && S_ISREG(tmpInfo.st_mode))
      ::unlink(tmp.c_str());
    throw Error("E0500", "cannot write `" + requested + "`: " + errnoMessage(error),
                {"the temporary file was `" + tmp + "`; `" + path + "` was left unchanged"});
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int error = errno;
    ::unlink(tmp.c_str());
    throw Error("E0500", "cannot write `" + requested + "`: " + errnoMessage(error),
                {"renaming `" + tmp + "` over it failed; `" + path + "` was left unchanged"});
  }
  // Make the rename itself durable; a failure here leaves a complete file, so it is ignored.
  int dir = ::open(parentDirectory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void checkWritable(const std::string &path) {
  struct stat info;
  if (::stat(path.c_str(), &info) == 0) {
    if (!S_ISREG(info.st_mode))
      throw Error("E0500", "cannot write `" + path + "`: it is " + fileTypeName(info.st_mode),
                  {"nnxrun writes outputs and checkpoints to regular files only; choose a file "
                   "name"});
    return;
  }
  std::string dir = parentDirectory(path);
  if (::stat(dir.c_str(), &info) != 0)
    throw Error("E0500", "cannot write `" + path + "`: its directory `" + dir + "` " +
                             (errno == ENOENT ? std::string("does not exist") : errnoMessage(errno)));
  if (!S_ISDIR(info.st_mode))
    throw Error("E0500", "cannot write `" + path + "`: `" + dir + "` is " +
                             fileTypeName(info.st_mode) + ", not a directory");
  if (::access(dir.c_str(), W_OK) != 0)
    throw Error("E0500", "cannot write `" + path + "`: " + errnoMessage(errno) + " in `" + dir +
                             "`");
}

void ensureDirectory(const std::string &dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  struct stat info;
  if (error || ::stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    throw Error("E0500", "cannot use `" + dir + "` as a directory: " +
                             (error ? error.message() : std::string("it is not a directory")));
  if (::access(dir.c_str(), W_OK) != 0)
    throw Error("E0500", "cannot write in `" + dir + "`: " + errnoMessage(errno));
}

std::string userCacheDirectory() {
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/')
    return std::string(xdg) + "/nnx";
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/nnx";
  return "";
}

} // namespace nnx::rt
