//===- MemoryBudget.cpp - Checked sizes and the --max-memory budget -------===//
//
// Overflow-checked products with the compiler's builtins, the physical memory from sysconf,
// and the budget as one process-wide value set once by the command line.
//
//===----------------------------------------------------------------------===//
#include "runtime/MemoryBudget.h"

#include "runtime/Error.h"
#include "runtime/Tensor.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace nnx::rt {

namespace {

/// 0 until set: then memoryBudget() falls back to the physical memory.
std::atomic<int64_t> budget{0};

int64_t physicalMemory() {
  long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || pageSize <= 0)
    return int64_t(1) << 40; // unknown: 1 TiB, which still stops wrapped sizes
  return static_cast<int64_t>(pages) * static_cast<int64_t>(pageSize);
}

} // namespace

std::optional<int64_t> checkedNumElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t extent : shape)
    if (extent < 0 || __builtin_mul_overflow(n, extent, &n))
      return std::nullopt;
  return n;
}

std::optional<int64_t> checkedByteSize(const std::vector<int64_t> &shape, DType dtype) {
  std::optional<int64_t> n = checkedNumElements(shape);
  int64_t bytes = 0;
  if (!n || __builtin_mul_overflow(*n, static_cast<int64_t>(dtypeSize(dtype)), &bytes))
    return std::nullopt;
  return bytes;
}

int64_t memoryBudget() {
  int64_t set = budget.load(std::memory_order_relaxed);
  return set > 0 ? set : physicalMemory();
}

void setMemoryBudget(int64_t bytes) { budget.store(bytes, std::memory_order_relaxed); }

std::optional<int64_t> parseByteSize(const std::string &text) {
  if (text.empty())
    return std::nullopt;
  char *end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(value) || value <= 0)
    return std::nullopt;
  std::string unit(end);
  double scale = 1;
  static const std::pair<const char *, int> units[] = {{"K", 1}, {"M", 2}, {"G", 3}, {"T", 4}};
  if (!unit.empty()) {
    bool known = false;
    for (auto [name, power] : units)
      for (const char *suffix : {"", "B", "iB"})
        if (unit == std::string(name) + suffix ||
            unit == std::string(1, char(std::tolower(*name))) + suffix) {
          scale = std::pow(1024.0, power);
          known = true;
        }
    if (!known && unit != "B")
      return std::nullopt;
  }
  double bytes = value * scale;
  if (bytes < 1 || bytes > 9.0e18)
    return std::nullopt;
  return static_cast<int64_t>(bytes);
}

std::string formatBytes(double bytes) {
  const char *units[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000 && u < 6) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string overBudget(int64_t bytes) {
  return "needs " + formatBytes(double(bytes)) + ", more than the memory budget of " +
         formatBytes(double(memoryBudget()));
}

void requireAllocatable(const std::vector<int64_t> &shape, DType dtype, const std::string &what) {
  std::optional<int64_t> bytes = checkedByteSize(shape, dtype);
  if (!bytes)
    throw Error("E0236", what + " of shape " + formatShape(shape) + " is too large: its size " +
                             "overflows 64-bit arithmetic");
  if (*bytes > memoryBudget())
    throw Error("E0236", what + " of shape " + formatShape(shape) + " " + overBudget(*bytes),
                {kBudgetNote});
}

} // namespace nnx::rt
