//===- MemoryBudgetTest.cpp - Checked sizes and the memory budget ---------===//
//
// The checked element counts and byte sizes at the edges of i64 (issue 13's shapes that
// wrapped), --max-memory's parsing, and a tensor beyond the budget refused before allocation.
//
//===----------------------------------------------------------------------===//
#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"
#include "runtime/Tensor.h"

#include <doctest/doctest.h>

using namespace nnx::rt;

TEST_CASE("checked element counts and byte sizes") {
  CHECK(checkedNumElements({}) == 1);
  CHECK(checkedNumElements({3, 0, 5}) == 0);
  CHECK(checkedNumElements({3037000499, 3037000499}) == int64_t(3037000499) * 3037000499);
  CHECK_FALSE(checkedNumElements({3037000500, 3037000500}).has_value()); // > 2^63
  CHECK_FALSE(checkedNumElements({4, -1}).has_value());
  CHECK(checkedByteSize({1 << 20}, DType::F32) == 4 << 20);
  // 2^62 elements fit in i64, their f32 bytes do not (the count once wrapped to 0 bytes).
  CHECK(checkedNumElements({int64_t(1) << 62}).has_value());
  CHECK_FALSE(checkedByteSize({int64_t(1) << 62}, DType::F32).has_value());
  CHECK(checkedByteSize({int64_t(1) << 62}, DType::Bool) == int64_t(1) << 62);
}

TEST_CASE("--max-memory sizes") {
  CHECK(parseByteSize("1024") == 1024);
  CHECK(parseByteSize("8G") == int64_t(8) << 30);
  CHECK(parseByteSize("8GB") == int64_t(8) << 30);
  CHECK(parseByteSize("8GiB") == int64_t(8) << 30);
  CHECK(parseByteSize("512m") == int64_t(512) << 20);
  CHECK(parseByteSize("1.5K") == 1536);
  CHECK(parseByteSize("100B") == 100);
  for (const char *bad : {"", "G", "-1G", "0", "8X", "1e30T", "nan", "inf"})
    CHECK_MESSAGE(!parseByteSize(bad).has_value(), bad);
  CHECK(formatBytes(581.9e6) == "581.9 MB");
  CHECK(formatBytes(999) == "999 B");
  CHECK(formatBytes(4e12) == "4.0 TB");
}

TEST_CASE("a tensor beyond the budget is refused before allocation") {
  int64_t saved = memoryBudget();
  setMemoryBudget(1 << 20);
  CHECK_NOTHROW(Tensor(DType::F32, {256, 1024}));
  try {
    Tensor(DType::F32, {257, 1024});
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0236");
    CHECK(std::string(e.what()).find("needs 1.1 MB, more than the memory budget of 1.0 MB") !=
          std::string::npos);
  }
  CHECK_THROWS_AS(Tensor(DType::F32, {int64_t(1) << 62}), Error);
  setMemoryBudget(saved);
}
