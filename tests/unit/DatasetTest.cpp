//===- DatasetTest.cpp - Training data for nnxrun train -------------------===//
//
// Loading CSV (plain, gzip, the shipped digits set) and .npy pairs with their dtype
// conversions; every E0505 error and the CSV label errors with their exact locations; the
// seeded holdout split and epoch orders (permutations, determinism, uniformity, pinned values
// that fix the documented draw rule); and gathering minibatch rows of every rank and dtype.
//
//===----------------------------------------------------------------------===//
#include "runtime/Dataset.h"
#include "runtime/Error.h"
#include "runtime/Npy.h"

#include "TempDir.h"

#include <doctest/doctest.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#ifndef NNX_SOURCE_DIR
#define NNX_SOURCE_DIR "."
#endif

using namespace nnx::rt;
using nnx::test::TempDir;

namespace {

/// The rt::Error thrown by loadDataset(spec), or a failed check when none is thrown.
Error loadError(const std::string &spec) {
  try {
    loadDataset(spec);
  } catch (const Error &e) {
    return e;
  }
  FAIL("no error for " << spec);
  return Error("", "");
}

/// The rt::Error thrown by `fn`, or a failed check when none is thrown.
template <typename Fn> Error errorOf(Fn fn) {
  try {
    fn();
  } catch (const Error &e) {
    return e;
  }
  FAIL("no error");
  return Error("", "");
}

/// True when `text` occurs in the message of `e`.
bool says(const Error &e, const std::string &text) {
  return std::string(e.what()).find(text) != std::string::npos;
}

/// gzip-compresses `text` into `path`.
void writeGzip(const std::string &path, const std::string &text) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  gzwrite(file, text.data(), static_cast<unsigned>(text.size()));
  gzclose(file);
}

/// Writes `text` to `dir/name` and returns the path.
std::string csvFile(const TempDir &dir, const std::string &name, const std::string &text) {
  nnx::test::writeBytes(dir.file(name), text);
  return dir.file(name);
}

/// Writes x and y to `dir` and returns the spec "x.npy,y.npy".
std::string npyPair(const TempDir &dir, const Tensor &x, const Tensor &y) {
  writeNpy(dir.file("x.npy"), x);
  writeNpy(dir.file("y.npy"), y);
  return dir.file("x.npy") + "," + dir.file("y.npy");
}

/// 0, 1, ..., n-1.
std::vector<int64_t> iota(int64_t n) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t(0));
  return v;
}

/// `v` sorted.
std::vector<int64_t> sorted(std::vector<int64_t> v) {
  std::sort(v.begin(), v.end());
  return v;
}

} // namespace

TEST_CASE("csv data sets: the last column is the label") {
  TempDir dir;
  std::string path = csvFile(dir, "d.csv", "1,2.5,0\n3,4,1\n\n-5, 6 ,2.0\n");
  Dataset data = loadDataset(path);
  CHECK(data.size() == 3);
  CHECK(data.name == path);
  CHECK(data.x.dtype() == DType::F32);
  CHECK(data.x.shape() == Shape{3, 2});
  CHECK(data.x.toVector<float>() == std::vector<float>{1, 2.5f, 3, 4, -5, 6});
  CHECK(data.y.dtype() == DType::I32);
  CHECK(data.y.shape() == Shape{3});
  CHECK(data.y.toVector<int32_t>() == std::vector<int32_t>{0, 1, 2});

  writeGzip(dir.file("d.csv.gz"), "7,8,9,3\n");
  Dataset gz = loadDataset(dir.file("d.csv.gz"));
  CHECK(gz.x.shape() == Shape{1, 3});
  CHECK(gz.y.toVector<int32_t>() == std::vector<int32_t>{3});
}

TEST_CASE("the digits data set loads as x [1797, 64] and labels 0..9") {
  Dataset data = loadDataset(NNX_SOURCE_DIR "/examples/data/digits.csv.gz");
  CHECK(data.size() == 1797);
  CHECK(data.x.shape() == Shape{1797, 64});
  CHECK(data.y.shape() == Shape{1797});
  std::vector<float> x = data.x.toVector<float>();
  CHECK(*std::min_element(x.begin(), x.end()) == 0);
  CHECK(*std::max_element(x.begin(), x.end()) == 16);
  std::vector<int32_t> y = data.y.toVector<int32_t>();
  CHECK(std::set<int32_t>(y.begin(), y.end()) == std::set<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(std::vector<float>(x.begin(), x.begin() + 8) ==
        std::vector<float>{0, 0, 5, 13, 9, 1, 0, 0});
  CHECK_NOTHROW(checkLabels(data, 10));
  Error e = errorOf([&] { checkLabels(data, 9); });
  CHECK(e.code() == "E0505");
  CHECK(says(e, "label 9 in row "));
  CHECK(says(e, "is out of range: the model has 9 classes"));
}

TEST_CASE("npy pairs: x becomes f32, y becomes i32") {
  TempDir dir;
  SUBCASE("f64 x of rank 3, i64 y") {
    Tensor x = Tensor::fromVector<double>({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8.5});
    Dataset data = loadDataset(npyPair(dir, x, Tensor::fromVector<int64_t>({2}, {4, 0})));
    CHECK(data.x.dtype() == DType::F32);
    CHECK(data.x.shape() == Shape{2, 2, 2});
    CHECK(data.x.toVector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8.5f});
    CHECK(data.y.dtype() == DType::I32);
    CHECK(data.y.toVector<int32_t>() == std::vector<int32_t>{4, 0});
    CHECK(data.name == dir.file("y.npy"));
  }
  SUBCASE("i32 x of rank 1, bool y") {
    Tensor x = Tensor::fromVector<int32_t>({3}, {-1, 0, 7});
    Dataset data = loadDataset(npyPair(dir, x, Tensor::fromVector<bool>({3}, {true, false, true})));
    CHECK(data.x.shape() == Shape{3});
    CHECK(data.x.toVector<float>() == std::vector<float>{-1, 0, 7});
    CHECK(data.y.toVector<int32_t>() == std::vector<int32_t>{1, 0, 1});
  }
  SUBCASE("f32 x, integer-valued f32 y, i32 y") {
    Tensor x = Tensor::fromVector<float>({2, 1}, {0.5f, 1.5f});
    Dataset data = loadDataset(npyPair(dir, x, Tensor::fromVector<float>({2}, {2, 0})));
    CHECK(data.y.toVector<int32_t>() == std::vector<int32_t>{2, 0});
    Dataset ints = loadDataset(npyPair(dir, x, Tensor::fromVector<int32_t>({2}, {1, 1})));
    CHECK(ints.y.toVector<int32_t>() == std::vector<int32_t>{1, 1});
  }
  SUBCASE("bool and i64 x") {
    Tensor y = Tensor::fromVector<int32_t>({2}, {0, 1});
    Dataset flags = loadDataset(npyPair(dir, Tensor::fromVector<bool>({2, 2}, {1, 0, 0, 1}), y));
    CHECK(flags.x.toVector<float>() == std::vector<float>{1, 0, 0, 1});
    Dataset wide = loadDataset(npyPair(dir, Tensor::fromVector<int64_t>({2, 1}, {-3, 1000}), y));
    CHECK(wide.x.toVector<float>() == std::vector<float>{-3, 1000});
  }
}

TEST_CASE("npy pair errors: shapes, sizes and labels") {
  TempDir dir;
  Tensor x100 = Tensor::zeros(DType::F32, {100, 3});
  writeNpy(dir.file("x.npy"), x100);
  writeNpy(dir.file("y.npy"), Tensor::zeros(DType::I32, {99}));
  Error rows = loadError(dir.file("x.npy") + "," + dir.file("y.npy"));
  CHECK(rows.code() == "E0505");
  CHECK(std::string(rows.what()) ==
        "`" + dir.file("x.npy") + "` has 100 rows but `" + dir.file("y.npy") + "` has 99");

  Error matrix = loadError(npyPair(dir, x100, Tensor::zeros(DType::I32, {100, 1})));
  CHECK(matrix.code() == "E0505");
  CHECK(says(matrix, "has shape [100, 1] but the labels must be a vector [N]"));
  CHECK(matrix.notes() == std::vector<std::string>{"flatten it, e.g. with y.reshape(-1)"});
  CHECK(says(loadError(npyPair(dir, x100, Tensor::scalar(DType::I32, 1))), "has shape []"));

  Error scalar =
      loadError(npyPair(dir, Tensor::scalar(DType::F32, 1), Tensor::zeros(DType::I32, {1})));
  CHECK(scalar.code() == "E0505");
  CHECK(says(scalar, "x.npy` holds a scalar (shape [])"));

  Error empty =
      loadError(npyPair(dir, Tensor::zeros(DType::F32, {0, 4}), Tensor::zeros(DType::I32, {0})));
  CHECK(empty.code() == "E0505");
  CHECK(says(empty, "hold no examples: both have 0 rows"));

  Tensor x3 = Tensor::zeros(DType::F32, {3, 2});
  Error negative = loadError(npyPair(dir, x3, Tensor::fromVector<int64_t>({3}, {0, 2, -1})));
  CHECK(negative.code() == "E0505");
  CHECK(std::string(negative.what()) ==
        "label -1 in row 2 of `" + dir.file("y.npy") + "` is negative");
  Error fraction = loadError(npyPair(dir, x3, Tensor::fromVector<double>({3}, {0, 2.5, 1})));
  CHECK(fraction.code() == "E0505");
  CHECK(std::string(fraction.what()) ==
        "label 2.5 in row 1 of `" + dir.file("y.npy") + "` is not an integer");
  CHECK(says(loadError(npyPair(dir, x3, Tensor::fromVector<float>({3}, {0, NAN, 1}))),
             "label nan in row 1"));
  Error large = loadError(npyPair(dir, x3, Tensor::fromVector<int64_t>({3}, {0, 1, 3000000000})));
  CHECK(large.code() == "E0505");
  CHECK(says(large, "label 3000000000 in row 2 of"));
  CHECK(says(large, "too large: labels must fit in i32 (at most 2147483647)"));
}

TEST_CASE("data spec and file errors") {
  TempDir dir;
  Error missing = loadError(dir.file("absent.npy") + "," + dir.file("y.npy"));
  CHECK(missing.code() == "E0500");
  CHECK(loadError(dir.file("absent.csv")).code() == "E0500");
  nnx::test::writeBytes(dir.file("bad.npy"), "not an npy file");
  writeNpy(dir.file("y.npy"), Tensor::zeros(DType::I32, {1}));
  CHECK(loadError(dir.file("bad.npy") + "," + dir.file("y.npy")).code() == "E0501");

  Error three = loadError("a.npy,b.npy,c.npy");
  CHECK(three.code() == "E0505");
  CHECK(std::string(three.what()) ==
        "data spec `a.npy,b.npy,c.npy` names 3 files: expected `X.npy,Y.npy` or one csv file");
  CHECK(says(loadError("x.npy,"), "names 2 files"));
  Error single = loadError("x.npy");
  CHECK(single.code() == "E0505");
  CHECK(says(single, "`x.npy` is a single .npy file"));
}

TEST_CASE("csv label errors name the line and the value") {
  TempDir dir;
  // Blank lines do not count as rows but do count as lines.
  std::string text = "1,2,0\n\n3,4,1\n5,6,2.5\n";
  Error fraction = loadError(csvFile(dir, "d.csv", text));
  CHECK(fraction.code() == "E0504");
  CHECK(std::string(fraction.what()) ==
        "`" + dir.file("d.csv") + "` line 4, field 3 (the label): `2.5` is not an integer");
  writeGzip(dir.file("d.csv.gz"), text);
  CHECK(says(loadError(dir.file("d.csv.gz")), "d.csv.gz` line 4, field 3 (the label): `2.5`"));
  CHECK(says(loadError(csvFile(dir, "n.csv", "1,nan\n")), "line 1, field 2 (the label): `nan`"));

  Error negative = loadError(csvFile(dir, "neg.csv", "1,0\r\n  \r\n2,-3\r\n"));
  CHECK(negative.code() == "E0505");
  CHECK(std::string(negative.what()) ==
        "label -3 on line 3 of `" + dir.file("neg.csv") + "` is negative");
  Error large = loadError(csvFile(dir, "big.csv", "1,5e9\n"));
  CHECK(large.code() == "E0505");
  CHECK(says(large, "label 5000000000 on line 1 of"));

  Error column = loadError(csvFile(dir, "one.csv", "1\n2\n"));
  CHECK(column.code() == "E0505");
  CHECK(says(column, "one.csv` has 1 column"));
  CHECK(loadError(csvFile(dir, "text.csv", "a,b\n")).code() == "E0504");
}

TEST_CASE("checkLabels: every label in [0, numClasses)") {
  Dataset data;
  data.name = "digits.csv.gz";
  std::vector<int32_t> labels(40, 3);
  labels[37] = 12;
  data.x = Tensor::zeros(DType::F32, {40, 2});
  data.y = Tensor::fromVector<int32_t>({40}, labels);
  Error e = errorOf([&] { checkLabels(data, 10); });
  CHECK(e.code() == "E0505");
  CHECK(std::string(e.what()) ==
        "label 12 in row 37 of `digits.csv.gz` is out of range: the model has 10 classes");
  CHECK(e.notes() ==
        std::vector<std::string>{"labels must be in [0, 10); rows are counted from 0"});
  CHECK_NOTHROW(checkLabels(data, 13));
  CHECK(std::string(errorOf([&] { checkLabels(data, 1); }).what()) ==
        "label 3 in row 0 of `digits.csv.gz` is out of range: the model has 1 class");
  data.y.set(5, -2);
  CHECK(says(errorOf([&] { checkLabels(data, 13); }), "label -2 in row 5"));
}

TEST_CASE("splitHoldout: a seeded partition") {
  Split split = splitHoldout(1000, 0.2, 42);
  CHECK(split.train.size() == 800);
  CHECK(split.holdout.size() == 200);
  std::vector<int64_t> all = split.train;
  all.insert(all.end(), split.holdout.begin(), split.holdout.end());
  CHECK(sorted(all) == iota(1000));
  std::set<int64_t> train(split.train.begin(), split.train.end());
  for (int64_t i : split.holdout)
    CHECK(train.count(i) == 0);

  Split again = splitHoldout(1000, 0.2, 42);
  CHECK(again.train == split.train);
  CHECK(again.holdout == split.holdout);
  CHECK(splitHoldout(1000, 0.2, 43).holdout != split.holdout);
  // The same permutation cut at another place.
  Split tenth = splitHoldout(1000, 0.1, 42);
  CHECK(std::vector<int64_t>(split.holdout.end() - 100, split.holdout.end()) == tenth.holdout);

  CHECK(splitHoldout(7, 0.5, 1).holdout.size() == 4); // round(3.5) = 4
  CHECK(splitHoldout(10, 0.04, 1).holdout.empty());
  Split none = splitHoldout(5, 0, 9);
  CHECK(none.holdout.empty());
  CHECK(sorted(none.train) == iota(5));
}

TEST_CASE("splitHoldout errors") {
  for (double bad : {1.0, 1.5, -0.1, double(NAN)}) {
    Error e = errorOf([&] { splitHoldout(10, bad, 0); });
    CHECK(e.code() == "E0505");
    CHECK(says(e, "it must be in [0, 1)"));
  }
  CHECK(std::string(errorOf([] { splitHoldout(10, 1.5, 0); }).what()) ==
        "the holdout fraction is 1.5: it must be in [0, 1)");
  Error none = errorOf([] { splitHoldout(1, 0.9, 0); });
  CHECK(none.code() == "E0505");
  CHECK(std::string(none.what()) ==
        "a holdout fraction of 0.9 holds out 1 of 1 example and leaves no training example");
  CHECK(says(errorOf([] { splitHoldout(0, 0, 0); }), "holds out 0 of 0 examples"));
  CHECK(splitHoldout(2, 0.5, 0).train.size() == 1);
}

TEST_CASE("epochOrder: a per-epoch permutation") {
  std::vector<int64_t> indices = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
  std::vector<int64_t> first = epochOrder(indices, 7, 0);
  CHECK(sorted(first) == indices);
  CHECK(epochOrder(indices, 7, 0) == first);
  CHECK(epochOrder(indices, 7, 1) != first);
  CHECK(epochOrder(indices, 8, 0) != first);
  // Resuming at epoch 5 sees what an uninterrupted run saw.
  std::vector<std::vector<int64_t>> run;
  for (int64_t epoch = 0; epoch < 6; ++epoch)
    run.push_back(epochOrder(indices, 7, epoch));
  CHECK(epochOrder(indices, 7, 5) == run[5]);
  CHECK(std::set<std::vector<int64_t>>(run.begin(), run.end()).size() == 6);

  CHECK(epochOrder({}, 1, 0).empty());
  CHECK(epochOrder({4}, 1, 0) == std::vector<int64_t>{4});
  std::vector<int64_t> big = epochOrder(iota(5000), 3, 2);
  CHECK(sorted(big) == iota(5000));
}

TEST_CASE("shuffles are uniform and follow the documented draw rule") {
  std::map<std::vector<int64_t>, int> counts;
  for (int64_t epoch = 0; epoch < 6000; ++epoch)
    ++counts[epochOrder({0, 1, 2}, 11, epoch)];
  CHECK(counts.size() == 6);
  for (const auto &[order, count] : counts)
    CHECK((count > 850 && count < 1150));
  // Independent reference implementation of Dataset.h's rule (Python, Threefry from RngTest's
  // known answers): Fisher-Yates over 32-bit words with rejection sampling.
  CHECK(epochOrder(iota(10), 42, 3) == std::vector<int64_t>{8, 4, 7, 6, 5, 0, 1, 2, 9, 3});
  Split pinned = splitHoldout(10, 0.3, 7);
  CHECK(pinned.train == std::vector<int64_t>{8, 3, 5, 6, 9, 7, 1});
  CHECK(pinned.holdout == std::vector<int64_t>{2, 4, 0});
}

TEST_CASE("gatherRows: rows of any rank and dtype") {
  Tensor flags = Tensor::fromVector<bool>({4}, {true, false, false, true});
  Tensor picked = gatherRows(flags, {3, 1, 0, 3}, 0, 4);
  CHECK(picked.dtype() == DType::Bool);
  CHECK(picked.shape() == Shape{4});
  CHECK(picked.toVector<bool>() == std::vector<bool>{true, false, true, true});

  Tensor labels = Tensor::fromVector<int32_t>({3, 2}, {0, 1, 10, 11, 20, 21});
  Tensor rows = gatherRows(labels, {2, 0, 1}, 1, 3);
  CHECK(rows.dtype() == DType::I32);
  CHECK(rows.shape() == Shape{2, 2});
  CHECK(rows.toVector<int32_t>() == std::vector<int32_t>{0, 1, 10, 11});
  CHECK(!rows.sharesStorageWith(labels));

  std::vector<float> values(3 * 2 * 3);
  std::iota(values.begin(), values.end(), 0.0f);
  Tensor images = Tensor::fromVector<float>({3, 2, 3}, values);
  Tensor batch = gatherRows(images, {1, 2}, 0, 2);
  CHECK(batch.shape() == Shape{2, 2, 3});
  std::vector<float> expected(values.begin() + 6, values.end());
  CHECK(batch.toVector<float>() == expected);

  Tensor none = gatherRows(images, {1, 2}, 1, 1);
  CHECK(none.shape() == Shape{0, 2, 3});
  Tensor wide = gatherRows(Tensor::fromVector<double>({2, 1}, {1.5, 2.5}), {1}, 0, 1);
  CHECK(wide.toVector<double>() == std::vector<double>{2.5});
  Tensor hollow = gatherRows(Tensor::zeros(DType::F32, {3, 0}), {2, 0}, 0, 2);
  CHECK(hollow.shape() == Shape{2, 0});
}
