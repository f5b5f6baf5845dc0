//===- DatasetTest.cpp - Training data for nnxrun train/eval/predict ------===//
//
// Binding `--data` to a loss's parameters (runtime/DataSpec.h): CSV (plain, gzip, with a
// header, label columns by index or name), .npy files in order and by name, the dtype rules
// (annotations, f64 -> f32, i64 -> i32, CSV labels), every E0505 error with the numbers; class
// label checks; the seeded holdout split and epoch orders (permutations, determinism,
// uniformity, pinned values that fix the documented draw rule); and gathering minibatch rows of
// every rank and dtype.
//
//===----------------------------------------------------------------------===//
#include "runtime/DataSpec.h"
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

/// Loads `specs` for parameters `params` (dtypes from `dtypes`, default none).
Dataset load(const std::vector<std::string> &specs,
             const std::vector<std::string> &params = {"x", "y"},
             const std::string &labelCols = "",
             std::vector<std::optional<DType>> dtypes = {},
             std::vector<std::string> *notes = nullptr) {
  DataRequest request;
  request.specs = specs;
  request.params = params;
  dtypes.resize(params.size());
  request.dtypes = dtypes;
  request.labelCols = labelCols;
  std::vector<std::string> ignored;
  return loadDataset(request, notes ? *notes : ignored);
}

/// The rt::Error thrown by load(...), or a failed check when none is thrown.
Error loadError(const std::vector<std::string> &specs,
                const std::vector<std::string> &params = {"x", "y"},
                const std::string &labelCols = "",
                std::vector<std::optional<DType>> dtypes = {}) {
  try {
    load(specs, params, labelCols, dtypes);
  } catch (const Error &e) {
    return e;
  }
  FAIL("no error");
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

TEST_CASE("csv data: features, then the label column") {
  TempDir dir;
  std::string path = csvFile(dir, "d.csv", "1,2.5,0\n3,4,1\n\n-5, 6 ,2.0\n");
  Dataset data = load({path});
  REQUIRE(data.columns.size() == 2);
  CHECK(data.size() == 3);
  const Tensor &x = data.columns[0].values, &y = data.columns[1].values;
  CHECK(data.columns[0].name == "x");
  CHECK(data.columns[1].name == "y");
  CHECK(x.dtype() == DType::F32);
  CHECK(x.shape() == Shape{3, 2});
  CHECK(x.toVector<float>() == std::vector<float>{1, 2.5f, 3, 4, -5, 6});
  CHECK(y.dtype() == DType::I32); // whole numbers: class labels
  CHECK(y.toVector<int32_t>() == std::vector<int32_t>{0, 1, 2});
  CHECK(data.columns[1].source == "`" + path + "` column 2 (labels)");

  writeGzip(dir.file("d.csv.gz"), "7,8,9,3\n");
  Dataset gz = load({dir.file("d.csv.gz")});
  CHECK(gz.columns[0].values.shape() == Shape{1, 3});
  CHECK(gz.columns[1].values.toVector<int32_t>() == std::vector<int32_t>{3});
}

TEST_CASE("csv data: float targets, a header, label columns by index and name") {
  TempDir dir;
  std::string path = csvFile(dir, "h.csv", "a,b,price,rooms\n1,2,0.5,3\n4,5,-1.25,2\n");
  Dataset data = load({path}, {"x", "y"}, "price");
  CHECK(data.columns[0].values.shape() == Shape{2, 3});
  CHECK(data.columns[0].values.toVector<float>() == std::vector<float>{1, 2, 3, 4, 5, 2});
  CHECK(data.columns[1].values.dtype() == DType::F32); // not whole numbers: regression targets
  CHECK(data.columns[1].values.toVector<float>() == std::vector<float>{0.5f, -1.25f});
  Dataset two = load({path}, {"x", "y"}, "-1,2");
  CHECK(two.columns[1].values.shape() == Shape{2, 2});
  CHECK(two.columns[1].values.toVector<float>() == std::vector<float>{0.5f, 3, -1.25f, 2});
  // An annotation `y: f32[B]` makes whole-number targets floats.
  Dataset typed = load({path}, {"x", "y"}, "rooms", {std::nullopt, DType::F32});
  CHECK(typed.columns[1].values.dtype() == DType::F32);
  Dataset features = load({path}, {"x"}, "none");
  CHECK(features.columns.size() == 1);
  CHECK(features.columns[0].values.shape() == Shape{2, 4});

  Error name = loadError({path}, {"x", "y"}, "prize");
  CHECK(name.code() == "E0505");
  CHECK(says(name, "no column named `prize` in the header"));
  CHECK(name.notes() == std::vector<std::string>{"the header names: a, b, price, rooms"});
  CHECK(says(loadError({path}, {"x", "y"}, "4"), "column 4 is out of range: `" + path +
                                                     "` has 4 columns"));
  CHECK(says(loadError({path}, {"x", "y"}, "0,1,2,3"), "all are labels"));
  std::string plain = csvFile(dir, "p.csv", "1,2\n");
  CHECK(says(loadError({plain}, {"x", "y"}, "label"), "has no header line"));
}

TEST_CASE("the digits data set loads as x [1797, 64] and labels 0..9") {
  Dataset data = load({NNX_SOURCE_DIR "/examples/data/digits.csv.gz"});
  CHECK(data.size() == 1797);
  const Tensor &x = data.columns[0].values, &y = data.columns[1].values;
  CHECK(x.shape() == Shape{1797, 64});
  CHECK(y.shape() == Shape{1797});
  std::vector<float> xs = x.toVector<float>();
  CHECK(*std::min_element(xs.begin(), xs.end()) == 0);
  CHECK(*std::max_element(xs.begin(), xs.end()) == 16);
  std::vector<int32_t> ys = y.toVector<int32_t>();
  CHECK(std::set<int32_t>(ys.begin(), ys.end()) == std::set<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(std::vector<float>(xs.begin(), xs.begin() + 8) ==
        std::vector<float>{0, 0, 5, 13, 9, 1, 0, 0});
  CHECK_NOTHROW(checkLabels(y, data.columns[1].source, 10));
  Error e = errorOf([&] { checkLabels(y, data.columns[1].source, 9); });
  CHECK(e.code() == "E0505");
  CHECK(says(e, "label 9 in row "));
  CHECK(says(e, "is out of range: the model has 9 classes"));
}

TEST_CASE("npy arrays: bound in order or by name, f64 -> f32 and i64 -> i32 with a note") {
  TempDir dir;
  Tensor x = Tensor::fromVector<double>({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8.5});
  std::vector<std::string> notes;
  Dataset data = load({npyPair(dir, x, Tensor::fromVector<int64_t>({2}, {4, 0}))}, {"x", "y"}, "",
                      {}, &notes);
  CHECK(data.columns[0].values.dtype() == DType::F32);
  CHECK(data.columns[0].values.toVector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8.5f});
  CHECK(data.columns[1].values.dtype() == DType::I32);
  CHECK(data.columns[1].values.toVector<int32_t>() == std::vector<int32_t>{4, 0});
  CHECK(notes == std::vector<std::string>{
                     "`" + dir.file("x.npy") + "` holds f64: converted to f32 for `x`",
                     "`" + dir.file("y.npy") + "` holds i64: converted to i32 for `y`"});

  // Integer and bool arrays keep their dtype (token ids, masks); sequence labels [N, T].
  writeNpy(dir.file("ids.npy"), Tensor::fromVector<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6}));
  writeNpy(dir.file("mask.npy"), Tensor::fromVector<bool>({2, 3}, {1, 1, 0, 1, 0, 0}));
  writeNpy(dir.file("t.npy"), Tensor::fromVector<int32_t>({2, 3}, {0, 1, 2, 2, 1, 0}));
  Dataset seq = load({"mask=" + dir.file("mask.npy"), dir.file("ids.npy") + "," + dir.file("t.npy")},
                     {"x", "y", "mask"});
  CHECK(seq.columns[0].values.dtype() == DType::I32);
  CHECK(seq.columns[1].values.shape() == Shape{2, 3});
  CHECK(seq.columns[2].name == "mask");
  CHECK(seq.columns[2].values.dtype() == DType::Bool);
  // An annotation converts: `x: f32[B, T]`.
  Dataset typed = load({dir.file("ids.npy"), dir.file("t.npy")}, {"x", "y"}, "", {DType::F32});
  CHECK(typed.columns[0].values.toVector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
}

TEST_CASE("data errors name the files and the numbers") {
  TempDir dir;
  Tensor x100 = Tensor::zeros(DType::F32, {100, 3});
  writeNpy(dir.file("x.npy"), x100);
  writeNpy(dir.file("y.npy"), Tensor::zeros(DType::I32, {99}));
  Error rows = loadError({dir.file("x.npy") + "," + dir.file("y.npy")});
  CHECK(rows.code() == "E0505");
  CHECK(std::string(rows.what()) ==
        "`" + dir.file("x.npy") + "` has 100 rows but `" + dir.file("y.npy") + "` has 99");

  Error scalar =
      loadError({npyPair(dir, Tensor::scalar(DType::F32, 1), Tensor::zeros(DType::I32, {1}))});
  CHECK(says(scalar, "x.npy` holds a scalar (shape [])"));
  Error empty =
      loadError({npyPair(dir, Tensor::zeros(DType::F32, {0, 4}), Tensor::zeros(DType::I32, {0}))});
  CHECK(says(empty, "holds no examples: it has 0 rows"));

  Tensor x3 = Tensor::zeros(DType::F32, {3, 2});
  Error large = loadError({npyPair(dir, x3, Tensor::fromVector<int64_t>({3}, {0, 1, 3000000000}))});
  CHECK(says(large, "value 3000000000 on row 2 of"));
  CHECK(says(large, "does not fit in i32"));
  Error fraction = loadError({npyPair(dir, x3, Tensor::fromVector<double>({3}, {0, 2.5, 1}))},
                             {"x", "y"}, "", {std::nullopt, DType::I32});
  CHECK(says(fraction, "value 2.5 on row 1"));

  Error count = loadError({dir.file("x.npy")}, {"x", "y"});
  CHECK(count.code() == "E0505");
  CHECK(std::string(count.what()) == "no data for y: `--data` gives 1 array in order for 2 "
                                     "parameters (x, y) (of `" + dir.file("x.npy") + "`)");
  Error more = loadError({dir.file("x.npy"), "y=" + dir.file("x.npy"), "x=" + dir.file("x.npy")});
  CHECK(says(more, "gives 1 array more than the 2 parameters (x, y) take: `" + dir.file("x.npy") +
                       "` (x, y given by name)"));
  CHECK(says(loadError({"z=" + dir.file("x.npy")}, {"x"}), "`z` is not a parameter"));
  CHECK(says(loadError({"x=" + dir.file("x.npy"), "x=" + dir.file("x.npy")}, {"x"}),
             "`x` is given twice"));
  std::string csv = csvFile(dir, "d.csv", "1,2\n");
  CHECK(load({"x=" + csv}, {"x"}).columns[0].values.shape() == Shape{1, 2}); // named: features
  CHECK(says(loadError({dir.file("absent.npy"), dir.file("y.npy")}), "absent.npy"));
  CHECK(loadError({dir.file("absent.csv")}).code() == "E0500");
  nnx::test::writeBytes(dir.file("bad.npy"), "not npy");
  CHECK(loadError({dir.file("bad.npy") + "," + dir.file("y.npy")}).code() == "E0501");
}

TEST_CASE("csv errors: header only, text in the data") {
  TempDir dir;
  Error header = loadError({csvFile(dir, "h.csv", "a,b,label\n")});
  CHECK(header.code() == "E0504");
  CHECK(says(header, "has a header line (3 column names) but no rows of numbers"));
  Error text = loadError({csvFile(dir, "t.csv", "1,2,0\n1,x3,1\n")});
  CHECK(says(text, "line 2, column 3 (field 2): `x3` is not a number"));
  Error column = loadError({csvFile(dir, "one.csv", "1\n2\n")});
  CHECK(says(column, "has 1 column and all are labels"));
  // An integer annotation on a column of fractions names the line of the file.
  Error fraction = loadError({csvFile(dir, "f.csv", "1,0\n\n2,0.5\n")}, {"x", "y"}, "",
                             {std::nullopt, DType::I32});
  CHECK(says(fraction, "value 0.5 on line 3 of"));
}

TEST_CASE("checkLabels: every label in [0, numClasses), any shape") {
  std::vector<int32_t> labels(40, 3);
  labels[37] = 12;
  Tensor y = Tensor::fromVector<int32_t>({40}, labels);
  Error e = errorOf([&] { checkLabels(y, "`digits.csv.gz`", 10); });
  CHECK(e.code() == "E0505");
  CHECK(std::string(e.what()) ==
        "label 12 in row 37 of `digits.csv.gz` is out of range: the model has 10 classes");
  CHECK(e.notes() ==
        std::vector<std::string>{"labels must be in [0, 10); rows are counted from 0"});
  CHECK_NOTHROW(checkLabels(y, "`d`", 13));
  CHECK(std::string(errorOf([&] { checkLabels(y, "`digits.csv.gz`", 1); }).what()) ==
        "label 3 in row 0 of `digits.csv.gz` is out of range: the model has 1 class");
  y.set(5, -2);
  CHECK(says(errorOf([&] { checkLabels(y, "`d`", 13); }), "label -2 in row 5"));
  Tensor seq = Tensor::fromVector<int32_t>({2, 3}, {0, 1, 2, 2, 7, 0});
  CHECK(says(errorOf([&] { checkLabels(seq, "`t.npy`", 3); }), "label 7 in row 1 of `t.npy`"));
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
