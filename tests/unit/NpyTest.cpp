//===- NpyTest.cpp - Reading and writing .npy files -----------------------===//
//
// Round trips for every dtype and rank 0, byte-exact agreement with numpy.save's header, the
// other header versions, and every malformed input: each must throw rt::Error with the right
// code and a precise message, and none may crash.
//
//===----------------------------------------------------------------------===//
#include "runtime/Error.h"
#include "runtime/Npy.h"

#include "TempDir.h"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <unistd.h>

using namespace nnx::rt;
using nnx::test::TempDir;

namespace {

/// The rt::Error thrown by parseNpy(bytes), or a failed check when none is thrown.
Error npyError(const std::string &bytes, const std::string &name = "x.npy") {
  try {
    parseNpy(bytes, name);
  } catch (const Error &e) {
    return e;
  }
  FAIL("no error for " << name);
  return Error("", "");
}

/// A .npy file with a hand-written header dict (version 1.0, unpadded) and `data`.
std::string rawNpy(const std::string &dict, const std::string &data, char major = 1) {
  std::string bytes = "\x93NUMPY";
  bytes += major;
  bytes += '\0';
  size_t n = dict.size();
  bytes += static_cast<char>(n & 0xff);
  bytes += static_cast<char>(n >> 8);
  if (major != 1)
    bytes += std::string(2, '\0');
  return bytes + dict + data;
}

bool sameBytes(const Tensor &a, const Tensor &b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

} // namespace

TEST_CASE("npy round trips every dtype, rank 0 and empty tensors") {
  TempDir dir;
  std::vector<Tensor> tensors = {
      Tensor::fromVector<float>({2, 3}, {1.5f, -2, 3, 4, 5, 6e-8f}),
      Tensor::fromVector<double>({3}, {1e300, -0.0, 3.25}),
      Tensor::fromVector<int32_t>({1, 2, 2}, {1, -2, INT32_MAX, INT32_MIN}),
      Tensor::fromVector<int64_t>({2}, {INT64_MIN, 42}),
      Tensor::fromVector<bool>({4}, {true, false, false, true}),
      Tensor::scalar(DType::F32, 3.5),
      Tensor::scalar(DType::Bool, 1),
      Tensor(DType::F64, {0, 5}),
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::string path = dir.file("t" + std::to_string(i) + ".npy");
    writeNpy(path, tensors[i]);
    Tensor back = readNpy(path);
    CAPTURE(i);
    CHECK(sameBytes(back, tensors[i]));
    CHECK(nnx::test::readBytes(path).size() % 64 == tensors[i].nbytes() % 64);
  }
}

TEST_CASE("npy header is byte-identical to numpy.save") {
  // numpy 2.4: np.save(f, np.zeros((2, 3), np.float32)) writes this 128-byte header... the dict
  // padded with 21 - len("2") growth spaces, then spaces to a multiple of 64, then '\n'.
  std::string bytes = serializeNpy(Tensor(DType::F32, {2, 3}));
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  CHECK(static_cast<uint8_t>(bytes[8]) + 256 * static_cast<uint8_t>(bytes[9]) == 118);
  CHECK(bytes.substr(10, dict.size()) == dict);
  CHECK(bytes[127] == '\n');
  CHECK(bytes.size() == 128 + 24);
  std::string scalar = serializeNpy(Tensor::scalar(DType::I64, 1));
  CHECK(scalar.find("'shape': (), }") != std::string::npos);
  CHECK(serializeNpy(Tensor(DType::Bool, {7})).find("'descr': '|b1'") != std::string::npos);
  CHECK(serializeNpy(Tensor(DType::Bool, {7})).find("(7,)") != std::string::npos);
}

TEST_CASE("npy reads versions 2.0 and 3.0 and liberal headers") {
  std::string data(8, '\0');
  Tensor v2 = parseNpy(rawNpy("{'descr': '<i4', 'fortran_order': False, 'shape': (2,)}", data, 2),
                       "v2.npy");
  CHECK(v2.shape() == Shape{2});
  Tensor v3 = parseNpy(
      rawNpy("{\"shape\": (1, 2L), \"descr\": \"<f4\", \"fortran_order\": False}\n", data, 3),
      "v3.npy");
  CHECK(v3.shape() == Shape{1, 2});
  Tensor b = parseNpy(rawNpy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }",
                             std::string("\x00\x07", 2)),
                      "b.npy");
  CHECK(b.toVector<int>() == std::vector<int>{0, 1});
}

TEST_CASE("npy errors: truncated data states the numbers") {
  std::string full = serializeNpy(Tensor(DType::F32, {784}));
  std::string truncated = full.substr(0, full.size() - 3136 + 100);
  Error e = npyError(truncated);
  CHECK(e.code() == "E0501");
  CHECK(std::string(e.what()) == "`x.npy` is truncated: its header promises 784 elements of f32 "
                                 "(3136 bytes) but only 100 bytes follow");
  Error trailing = npyError(full + "xy");
  CHECK(std::string(trailing.what()).find("2 bytes of trailing data") != std::string::npos);
  for (size_t cut : {0, 3, 7, 9, 20, 127})
    CHECK(npyError(full.substr(0, cut)).code() == "E0501");
}

TEST_CASE("npy errors: magic, version, dtype, fortran order, header syntax") {
  CHECK(std::string(npyError("PK\x03\x04 not numpy").what()).find("magic") != std::string::npos);
  std::string v4 = rawNpy("{}", "");
  v4[6] = 4;
  CHECK(std::string(npyError(v4).what()).find("version 4.0") != std::string::npos);

  Error dtype = npyError(rawNpy("{'descr': '<f2', 'fortran_order': False, 'shape': (2,)}",
                                std::string(4, '\0')));
  CHECK(dtype.code() == "E0501");
  CHECK(std::string(dtype.what()).find("'<f2'") != std::string::npos);
  REQUIRE(dtype.notes().size() == 1);
  CHECK(dtype.notes()[0].find("'<f4' (f32)") != std::string::npos);
  CHECK(npyError(rawNpy("{'descr': '>f4', 'fortran_order': False, 'shape': ()}", "abcd"))
            .code() == "E0501");

  Error fortran = npyError(rawNpy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}",
                                  std::string(16, '\0')));
  CHECK(std::string(fortran.what()).find("Fortran order") != std::string::npos);

  for (const char *dict : {"", "{", "{'descr': '<f4'}", "{'descr': [('a', '<f4')]}",
                           "{'descr': '<f4', 'fortran_order': Maybe, 'shape': ()}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (2,}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}",
                           "{'descr: '<f4'}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': "
                           "(99999999999999999999,)}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': "
                           "(4294967296, 4294967296, 4294967296)}"}) {
    CAPTURE(dict);
    CHECK(npyError(rawNpy(dict, std::string(8, '\0'))).code() == "E0501");
  }
}

TEST_CASE("npy never crashes on garbage") {
  std::mt19937 gen(7);
  std::string good = serializeNpy(Tensor::fromVector<float>({3, 2}, {1, 2, 3, 4, 5, 6}));
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes = good;
    int flips = 1 + trial % 8;
    for (int f = 0; f < flips; ++f)
      bytes[gen() % bytes.size()] = static_cast<char>(gen());
    if (trial % 3 == 0)
      bytes.resize(gen() % bytes.size());
    try {
      Tensor t = parseNpy(bytes, "fuzz.npy");
      CHECK(t.nbytes() <= bytes.size());
    } catch (const Error &e) {
      CHECK(e.code() == "E0501");
    }
  }
}

TEST_CASE("npy file errors and atomic writes") {
  TempDir dir;
  try {
    readNpy(dir.file("missing.npy"));
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0500");
    CHECK(std::string(e.what()).find("no such file or directory") != std::string::npos);
  }
  CHECK_THROWS_AS(readNpy(dir.path()), Error);
  CHECK_THROWS_AS(writeNpy(dir.file("no/such/dir.npy"), Tensor()), Error);
  std::string path = dir.file("keep.npy");
  writeNpy(path, Tensor::scalar(DType::F32, 1));
  writeNpy(path, Tensor::scalar(DType::F32, 2));
  CHECK(readNpy(path).at(0) == 2.0);
  CHECK(nnx::test::readBytes(path + ".tmp." + std::to_string(::getpid())).empty());
}
