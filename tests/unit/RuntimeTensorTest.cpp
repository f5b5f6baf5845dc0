//===- RuntimeTensorTest.cpp - rt::Tensor, dtypes and formatting ----------===//
//
// Shapes and strides, storage (aligned, zero-filled, shared by copies), element access and the
// conversion rules of astype, the dtype tables, and numpy-style printing with elision.
//
//===----------------------------------------------------------------------===//
#include "runtime/Tensor.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>

using namespace nnx::rt;

TEST_CASE("shape helpers") {
  CHECK(numElements({}) == 1);
  CHECK(numElements({3, 4}) == 12);
  CHECK(numElements({3, 0, 2}) == 0);
  CHECK(formatShape({}) == "[]");
  CHECK(formatShape({784, 256}) == "[784, 256]");
  CHECK(rowMajorStrides({2, 3, 4}) == std::vector<int64_t>{12, 4, 1});
  CHECK(rowMajorStrides({}).empty());
}

TEST_CASE("dtype tables agree") {
  for (DType d : {DType::F32, DType::F64, DType::I32, DType::I64, DType::Bool}) {
    CHECK(parseDType(dtypeName(d)) == d);
    CHECK(parseNpyDescr(npyDescr(d)) == d);
    CHECK(parseSafetensorsDType(safetensorsDType(d)) == d);
  }
  CHECK(dtypeSize(DType::F32) == 4);
  CHECK(dtypeSize(DType::I64) == 8);
  CHECK(dtypeSize(DType::Bool) == 1);
  CHECK(dtypeName(DType::Bool) == "bool");
  CHECK(npyDescr(DType::Bool) == "|b1");
  CHECK(safetensorsDType(DType::F64) == "F64");
  CHECK_FALSE(parseDType("f16").has_value());
  CHECK_FALSE(parseNpyDescr(">f4").has_value());
  CHECK_FALSE(parseSafetensorsDType("BF16").has_value());
}

TEST_CASE("storage is aligned, zero-filled and shared by copies") {
  Tensor empty;
  CHECK(empty.dtype() == DType::F32);
  CHECK(empty.shape() == Shape{0});
  CHECK(empty.numel() == 0);
  CHECK(empty.raw() != nullptr);

  Tensor t(DType::F64, {3, 5});
  CHECK(reinterpret_cast<uintptr_t>(t.raw()) % 64 == 0);
  CHECK(t.nbytes() == 120);
  for (int64_t i = 0; i < t.numel(); ++i)
    CHECK(t.at(i) == 0.0);

  Tensor alias = t;
  alias.set(4, 2.5);
  CHECK(t.at(4) == 2.5);
  CHECK(alias.sharesStorageWith(t));

  Tensor copy = t.clone();
  copy.set(4, -1.0);
  CHECK(t.at(4) == 2.5);
  CHECK_FALSE(copy.sharesStorageWith(t));

  Tensor view = t.reshaped({5, 3});
  CHECK(view.shape() == Shape{5, 3});
  CHECK(view.sharesStorageWith(t));
}

TEST_CASE("uninitialized and withStorage tensors") {
  Tensor u = Tensor::uninitialized(DType::I32, {7, 3});
  CHECK(u.shape() == Shape{7, 3});
  CHECK(u.nbytes() == 84);
  CHECK(reinterpret_cast<uintptr_t>(u.raw()) % 64 == 0);
  CHECK_THROWS(Tensor::uninitialized(DType::F32, {1LL << 40, 1LL << 40}));

  // Storage owned elsewhere is released by its own deleter when the last tensor goes.
  int released = 0;
  {
    auto *bytes = static_cast<std::byte *>(std::aligned_alloc(64, 64));
    std::shared_ptr<std::byte> storage(bytes, [&released](std::byte *p) {
      ++released;
      std::free(p);
    });
    Tensor w = Tensor::withStorage(DType::F32, {2, 2}, std::move(storage));
    w.set(3, 1.5);
    Tensor alias = w;
    CHECK(alias.at(3) == 1.5);
    CHECK(released == 0);
  }
  CHECK(released == 1);
}

TEST_CASE("constructors and element access") {
  Tensor s = Tensor::scalar(DType::I32, 7);
  CHECK(s.rank() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.at(0) == 7.0);

  Tensor f = Tensor::full(DType::Bool, {2, 2}, 3.0);
  CHECK(f.toVector<int>() == std::vector<int>{1, 1, 1, 1});

  Tensor v = Tensor::fromVector<int64_t>({2, 2}, {1, -2, 3, -4});
  CHECK(v.dtype() == DType::I64);
  CHECK(v.toVector<double>() == std::vector<double>{1, -2, 3, -4});
  CHECK(v.data<int64_t>()[3] == -4);
}

TEST_CASE("astype follows the conversion rules") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor x = Tensor::fromVector<double>({6}, {1.9, -1.9, nan, 1e20, -1e20, 0.0});
  CHECK(x.astype(DType::I32).toVector<int64_t>() ==
        std::vector<int64_t>{1, -1, 0, INT32_MAX, INT32_MIN, 0});
  CHECK(x.astype(DType::I64).toVector<int64_t>()[3] == INT64_MAX);
  CHECK(x.astype(DType::Bool).toVector<int>() == std::vector<int>{1, 1, 1, 1, 1, 0});
  Tensor b = Tensor::fromVector<bool>({2}, {true, false});
  CHECK(b.astype(DType::F32).toVector<float>() == std::vector<float>{1.0f, 0.0f});
  Tensor big = Tensor::fromVector<int64_t>({1}, {(int64_t(1) << 62) + 1});
  CHECK(big.astype(DType::I64).data<int64_t>()[0] == (int64_t(1) << 62) + 1);
  CHECK(x.astype(DType::F64).sharesStorageWith(x) == false);
}

TEST_CASE("formatTensor prints like numpy") {
  CHECK(formatTensor(Tensor::fromVector<float>({2, 2}, {1, 2, 3, 4})) == "[[1., 2.],\n [3., 4.]]");
  CHECK(formatTensor(Tensor::fromVector<float>({3}, {0.5f, -10, 0.25f})) ==
        "[ 0.5, -10., 0.25]");
  CHECK(formatTensor(Tensor::fromVector<int32_t>({3}, {1, -20, 300})) == "[  1, -20, 300]");
  CHECK(formatTensor(Tensor::fromVector<bool>({2}, {true, false})) == "[ true, false]");
  CHECK(formatTensor(Tensor::scalar(DType::F64, 2.5)) == "2.5");
  CHECK(formatTensor(Tensor(DType::F32, {2, 0})) == "[[],\n []]");
  CHECK(formatTensor(Tensor::fromVector<double>({2}, {1.0 / 3, 1e-7}), {3, 1000, 3}) ==
        "[0.333, 1e-07]");
  Tensor special = Tensor::fromVector<float>(
      {3}, {std::nanf(""), std::numeric_limits<float>::infinity(),
            -std::numeric_limits<float>::infinity()});
  CHECK(formatTensor(special) == "[ nan,  inf, -inf]");
}

TEST_CASE("formatTensor elides large tensors") {
  Tensor line(DType::I32, {2000});
  for (int64_t i = 0; i < line.numel(); ++i)
    line.set(i, double(i));
  CHECK(formatTensor(line) == "[   0,    1,    2, ..., 1997, 1998, 1999]");

  Tensor grid(DType::I32, {40, 40});
  for (int64_t i = 0; i < grid.numel(); ++i)
    grid.set(i, double(i % 10));
  FormatOptions two;
  two.edgeItems = 2;
  CHECK(formatTensor(grid, two) == "[[0, 1, ..., 8, 9],\n [0, 1, ..., 8, 9],\n ...,\n"
                                   " [0, 1, ..., 8, 9],\n [0, 1, ..., 8, 9]]");

  Tensor cube = Tensor::fromVector<int32_t>({2, 1, 2}, {1, 2, 3, 4});
  CHECK(formatTensor(cube) == "[[[1, 2]],\n\n [[3, 4]]]");
}
