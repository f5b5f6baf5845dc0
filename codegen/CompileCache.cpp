//===- CompileCache.cpp - The on-disk cache of compiled objects -----------===//
//
// Entry layout (little-endian, as the host):
//   "NNXOBJ1\n"             8 bytes of magic
//   key                      64 hex digits: the entry must be the one asked for
//   payload size             8 bytes
//   SHA-256 of the payload   32 bytes
//   payload                  the relocatable object file ORC produced
//
//===----------------------------------------------------------------------===//
#include "codegen/CompileCache.h"
#include "runtime/FileIO.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <vector>

namespace nnx::codegen {
namespace {

constexpr char kMagic[8] = {'N', 'N', 'X', 'O', 'B', 'J', '1', '\n'};
constexpr size_t kKeySize = 64, kHashSize = 32;
constexpr size_t kHeaderSize = sizeof(kMagic) + kKeySize + sizeof(uint64_t) + kHashSize;

/// The real path of the executable holding this code (nnx_codegen is a static library: the
/// nnx binary, or a test's), whatever path and symlinks it was started through
/// (/proc/self/exe); "" when it cannot be found.
std::string binaryPath() {
  static int anchor;
  std::string path = llvm::sys::fs::getMainExecutable(nullptr, &anchor);
  llvm::SmallString<256> real;
  if (path.empty() || llvm::sys::fs::real_path(path, real))
    return "";
  return std::string(real);
}

/// What identifies the machine code this binary generates: the file holding this code (its
/// path, size and modification time: a rebuild changes them), the LLVM version and the host.
std::string buildAndHostIdentity() {
  std::string id = "llvm " LLVM_VERSION_STRING "\n";
  std::string binary = binaryPath();
  struct stat st;
  if (!binary.empty() && stat(binary.c_str(), &st) == 0)
    id += binary + " " + std::to_string(st.st_size) + " " +
          std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n";
  id += "cpu " + llvm::sys::getHostCPUName().str() + "\n";
  std::vector<std::string> features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    if (feature.getValue())
      features.push_back(feature.getKey().str());
  std::sort(features.begin(), features.end());
  for (const std::string &f : features)
    id += "+" + f;
  return id;
}

/// <prefix>/lib/nnx/kernels for the binary <prefix>/bin/<name> holding this code (its real
/// path): where the build puts the kernels it compiled for its host ("" when the binary
/// cannot be found).
std::string shippedDirectory() {
  llvm::SmallString<256> path(binaryPath());
  if (path.empty())
    return "";
  llvm::sys::path::remove_filename(path); // <prefix>/bin
  llvm::sys::path::remove_filename(path); // <prefix>
  llvm::sys::path::append(path, "lib", "nnx", "kernels");
  return std::string(path);
}

/// The payload of the entry at `path` if it holds `key` intact; null when there is no file,
/// with `corrupt` set when there is one that fails the checks.
std::unique_ptr<llvm::MemoryBuffer> readEntry(const std::string &path, const std::string &key,
                                              bool &corrupt) {
  corrupt = false;
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!file)
    return nullptr; // a miss
  llvm::StringRef data = (*file)->getBuffer();
  uint64_t size = 0;
  bool valid = data.size() >= kHeaderSize &&
               std::memcmp(data.data(), kMagic, sizeof(kMagic)) == 0 &&
               data.substr(sizeof(kMagic), kKeySize) == key;
  if (valid) {
    std::memcpy(&size, data.data() + sizeof(kMagic) + kKeySize, sizeof(size));
    valid = data.size() == kHeaderSize + size;
  }
  llvm::StringRef payload = valid ? data.substr(kHeaderSize) : llvm::StringRef();
  if (valid) {
    std::array<uint8_t, 32> digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(payload));
    valid = std::memcmp(digest.data(), data.data() + kHeaderSize - kHashSize, kHashSize) == 0;
  }
  if (!valid) {
    corrupt = true;
    return nullptr;
  }
  return llvm::MemoryBuffer::getMemBufferCopy(payload, path);
}

} // namespace

CompileCache &CompileCache::get() {
  static CompileCache cache;
  return cache;
}

CompileCache::CompileCache() : directory_(rt::userCacheDirectory()) {
  // NNX_NO_CACHE set to anything but "", 0, false, no or off bypasses the cache.
  if (const char *off = std::getenv("NNX_NO_CACHE"); off && *off) {
    std::string value = llvm::StringRef(off).lower();
    bypassed_ = value != "0" && value != "false" && value != "no" && value != "off";
  }
  enabled_ = !bypassed_ && !directory_.empty();
}

void CompileCache::setEnabled(bool enabled) {
  bypassed_ = !enabled;
  enabled_ = enabled && !directory_.empty();
}

std::string CompileCache::key(llvm::StringRef irText, llvm::StringRef entry,
                              int optLevel) const {
  static const std::string identity = buildAndHostIdentity();
  llvm::SHA256 hash;
  hash.update(identity);
  hash.update("\nentry ");
  hash.update(entry);
  hash.update("\nopt " + std::to_string(optLevel) + "\ngemm ");
  if (const char *blocking = std::getenv("NNX_GEMM_BLOCKING"))
    hash.update(blocking);
  hash.update("\nir\n");
  hash.update(irText);
  return llvm::toHex(hash.final(), /*LowerCase=*/true);
}

std::string CompileCache::entryPath(llvm::StringRef directory, llvm::StringRef key) {
  llvm::SmallString<256> path(directory);
  llvm::sys::path::append(path, key + ".o");
  return std::string(path);
}

bool CompileCache::isEntryName(llvm::StringRef file) {
  return file.consume_back(".o") && file.size() == kKeySize &&
         llvm::all_of(file, [](char c) { return llvm::isHexDigit(c); });
}

void CompileCache::note(const std::string &message) {
  if (noted_)
    return;
  noted_ = true;
  llvm::errs() << "note: " << message << "\n";
}

std::unique_ptr<llvm::MemoryBuffer> CompileCache::load(const std::string &key) {
  if (!enabled_)
    return nullptr;
  std::string path = entryPath(directory_, key);
  bool corrupt = false;
  std::unique_ptr<llvm::MemoryBuffer> payload = readEntry(path, key, corrupt);
  if (corrupt) {
    std::lock_guard<std::mutex> lock(mutex_);
    llvm::errs() << "note: the compile cache entry " << path
                 << " is truncated or corrupt; compiling again\n";
  }
  return payload;
}

const std::string &CompileCache::shippedKernelDirectory() {
  static const std::string directory = shippedDirectory();
  return directory;
}

std::unique_ptr<llvm::MemoryBuffer> CompileCache::loadShippedKernel(const std::string &key) {
  if (shippedKernelDirectory().empty())
    return nullptr;
  std::string path = entryPath(shippedKernelDirectory(), key);
  bool corrupt = false;
  std::unique_ptr<llvm::MemoryBuffer> payload = readEntry(path, key, corrupt);
  if (corrupt) {
    std::lock_guard<std::mutex> lock(mutex_);
    llvm::errs() << "note: the shipped kernel " << path
                 << " is truncated or corrupt; compiling it again\n";
  }
  return payload;
}

void CompileCache::store(const std::string &key, llvm::StringRef object) {
  if (!enabled_)
    return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (std::string why = writeEntry(directory_, key, object); !why.empty()) {
    note("the compile cache directory " + directory_ + " cannot be written (" + why +
         "); running without it");
    enabled_ = false;
  }
}

std::string CompileCache::writeEntry(const std::string &directory, const std::string &key,
                                     llvm::StringRef object) {
  if (std::error_code error = llvm::sys::fs::create_directories(directory))
    return error.message();
  std::string path = entryPath(directory, key);
  llvm::SmallString<256> temporary;
  int fd = -1;
  if (std::error_code error =
          llvm::sys::fs::createUniqueFile(path + ".tmp-%%%%%%%%", fd, temporary))
    return error.message();
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    uint64_t size = object.size();
    std::array<uint8_t, 32> digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(object));
    os.write(kMagic, sizeof(kMagic));
    os << key;
    os.write(reinterpret_cast<const char *>(&size), sizeof(size));
    os.write(reinterpret_cast<const char *>(digest.data()), digest.size());
    os << object;
    os.close();
    if (os.has_error()) {
      std::string why = os.error().message();
      os.clear_error();
      llvm::sys::fs::remove(temporary);
      return why;
    }
  }
  if (std::error_code error = llvm::sys::fs::rename(temporary, path)) {
    llvm::sys::fs::remove(temporary);
    return error.message();
  }
  return "";
}

} // namespace nnx::codegen
