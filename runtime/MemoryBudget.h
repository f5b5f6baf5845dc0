//===- MemoryBudget.h - Checked sizes and the --max-memory budget ---------===//
//
// Every element count and byte size computed from a user's shape goes through the checked
// functions here (a shape like [3037000500, 3037000500] overflows i64, and a wrapped count
// once allocated 64 bytes for 2^62 elements). The budget is the most memory one tensor, or a
// model's whole state, may take: `--max-memory`, by default the machine's physical memory.
// Sizes are checked against it before anything is allocated, so a 52 GB model fails with its
// size instead of meeting the OOM killer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/DType.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nnx::rt {

/// The number of elements of `shape`; nullopt when an extent is negative or the product
/// overflows i64.
std::optional<int64_t> checkedNumElements(const std::vector<int64_t> &shape);

/// The bytes of a `dtype` tensor of `shape`; nullopt as checkedNumElements, or when the byte
/// count overflows i64.
std::optional<int64_t> checkedByteSize(const std::vector<int64_t> &shape, DType dtype);

/// The budget in bytes: what setMemoryBudget set, else the machine's physical memory.
int64_t memoryBudget();

/// Sets the budget (bytes > 0), from `--max-memory`.
void setMemoryBudget(int64_t bytes);

/// Parses a `--max-memory` value: bytes, or a number with a unit K, M, G, T (powers of 1024;
/// `KB`, `KiB`, `GB`, ... accepted alike), e.g. "512M", "1.5G". nullopt when malformed or not
/// positive.
std::optional<int64_t> parseByteSize(const std::string &text);

/// `bytes` for people: "581.9 MB", "52.0 GB" (powers of 1000, as `params` prints sizes).
std::string formatBytes(double bytes);

/// "needs 40.0 GB, more than the memory budget of 25.3 GB": the words of every E0236 for a
/// size within i64 but beyond the budget.
std::string overBudget(int64_t bytes);

/// The note every E0236 for the budget carries: where the budget comes from.
inline constexpr const char *kBudgetNote =
    "the budget is --max-memory, by default the machine's physical memory";

/// Throws rt::Error E0236 when a `dtype` tensor of `shape` overflows or exceeds the budget;
/// `what` names it ("a tensor", "variable `w`").
void requireAllocatable(const std::vector<int64_t> &shape, DType dtype, const std::string &what);

} // namespace nnx::rt
