//===- CsvTest.cpp - Numeric CSV tables -----------------------------------===//
//
// The shipped digits data set (gzip), plain files, line-end and spacing variants, and the
// errors: non-numeric fields located by line and column, ragged rows, empty files, a corrupt
// gzip stream, a missing file.
//
//===----------------------------------------------------------------------===//
#include "runtime/Csv.h"
#include "runtime/Error.h"

#include "TempDir.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <random>

#ifndef NNX_SOURCE_DIR
#define NNX_SOURCE_DIR "."
#endif

using namespace nnx::rt;
using nnx::test::TempDir;

namespace {

/// The rt::Error thrown while parsing `text`.
Error csvError(const std::string &text) {
  try {
    parseCsv(text, "d.csv");
  } catch (const Error &e) {
    return e;
  }
  FAIL("no error");
  return Error("", "");
}

/// gzip-compresses `text` into `path`.
void writeGzip(const std::string &path, const std::string &text) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  gzwrite(file, text.data(), static_cast<unsigned>(text.size()));
  gzclose(file);
}

} // namespace

TEST_CASE("the digits data set reads as 1797 x 65") {
  CsvTable table = readCsv(NNX_SOURCE_DIR "/examples/data/digits.csv.gz");
  CHECK(table.rows == 1797);
  CHECK(table.cols == 65);
  REQUIRE(table.values.size() == 1797u * 65u);
  std::vector<int> labelCounts(10, 0);
  for (int64_t r = 0; r < table.rows; ++r) {
    for (int64_t c = 0; c < 64; ++c) {
      double v = table.values[r * 65 + c];
      REQUIRE((v >= 0 && v <= 16 && v == static_cast<int>(v)));
    }
    double label = table.values[r * 65 + 64];
    REQUIRE((label >= 0 && label <= 9));
    ++labelCounts[static_cast<int>(label)];
  }
  CHECK(labelCounts == std::vector<int>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180});
  // The first row as printed by `zcat digits.csv.gz | head -1`.
  CHECK(std::vector<double>(table.values.begin(), table.values.begin() + 8) ==
        std::vector<double>{0, 0, 5, 13, 9, 1, 0, 0});
}

TEST_CASE("plain csv with spaces, CRLF, blank lines and signs") {
  CsvTable t = parseCsv("1, 2.5 ,-3\r\n\r\n+4,5e-1,inf\n   \n7,8,9", "d.csv");
  CHECK(t.rows == 3);
  CHECK(t.cols == 3);
  CHECK(t.values[1] == 2.5);
  CHECK(t.values[2] == -3);
  CHECK(t.values[3] == 4);
  CHECK(t.values[4] == 0.5);
  CHECK(std::isinf(t.values[5]));
  CHECK(t.values[8] == 9);
}

TEST_CASE("csv errors locate the problem") {
  Error mixed = csvError("a,2,c\n1,2,3\n"); // a header names every column
  CHECK(mixed.code() == "E0504");
  CHECK(std::string(mixed.what()) == "`d.csv` line 1, column 1 (field 1): `a` is not a number");
  CHECK(std::string(csvError("a,b\n1,2,3\n").what()) ==
        "`d.csv` line 2 has 3 fields but the header (line 1) names 2 columns");
  CHECK(std::string(csvError("\n a , b \n").what()) ==
        "`d.csv` has a header line (2 column names) but no rows of numbers");
  Error inner = csvError("1,2,3\n4,5x,6\n");
  CHECK(std::string(inner.what()) == "`d.csv` line 2, column 3 (field 2): `5x` is not a number");
  CHECK(std::string(csvError("1,,3\n").what()).find("field 2): the field is empty") !=
        std::string::npos);
  std::string ragged;
  for (int line = 1; line <= 16; ++line)
    ragged += "1,2,3\n";
  ragged += "1,2\n";
  CHECK(std::string(csvError(ragged).what()) == "`d.csv` line 17 has 2 fields but line 1 has 3");
  CHECK(std::string(csvError("").what()).find("`d.csv` is empty") != std::string::npos);
  CHECK(csvError("\n \n").code() == "E0504");
  CHECK(std::string(csvError("+-3\n").what()).find("`+-3` is not a number") != std::string::npos);
}

TEST_CASE("a first line of names is a header") {
  CsvTable t = parseCsv("\nx0, x1 ,label\n1,2,0\n\n3,4,1\n", "d.csv");
  CHECK(t.header == std::vector<std::string>{"x0", "x1", "label"});
  CHECK(t.rows == 2);
  CHECK(t.cols == 3);
  CHECK(t.lines == std::vector<int64_t>{3, 5});
  CHECK(parseCsv("1,2\n", "d.csv").header.empty());
  CHECK(parseCsv("-1,+2\n", "d.csv").rows == 1); // signed numbers are not names
}

TEST_CASE("csv files: gzip detection, corrupt gzip, missing file") {
  TempDir dir;
  writeGzip(dir.file("small.csv.gz"), "1,2\n3,4\n");
  CsvTable t = readCsv(dir.file("small.csv.gz"));
  CHECK(t.rows == 2);
  CHECK(t.values == std::vector<double>{1, 2, 3, 4});

  nnx::test::writeBytes(dir.file("plain.csv"), "5,6,7\n");
  CHECK(readCsv(dir.file("plain.csv")).cols == 3);

  std::string gz = nnx::test::readBytes(NNX_SOURCE_DIR "/examples/data/digits.csv.gz");
  nnx::test::writeBytes(dir.file("cut.csv.gz"), gz.substr(0, gz.size() / 2));
  try {
    readCsv(dir.file("cut.csv.gz"));
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0500");
    CHECK(std::string(e.what()).find("cannot decompress") != std::string::npos);
  }

  try {
    readCsv(dir.file("absent.csv"));
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0500");
  }
}

TEST_CASE("csv never crashes on garbage") {
  std::mt19937 gen(5);
  const std::string alphabet = "0123456789,.-+e\n\r xn\t";
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    for (size_t i = 0, n = gen() % 80; i < n; ++i)
      text += trial % 2 ? alphabet[gen() % alphabet.size()] : static_cast<char>(gen());
    try {
      CsvTable table = parseCsv(text, "fuzz.csv");
      CHECK(table.values.size() == static_cast<size_t>(table.rows * table.cols));
    } catch (const Error &e) {
      CHECK(e.code() == "E0504");
    }
  }
}
