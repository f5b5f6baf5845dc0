//===- Dataset.cpp - Training data for nnxrun train -----------------------===//
//
// Loading reads the files with the .npy and CSV readers, converts the examples to f32 and the
// labels to i32, and rejects labels that are not non-negative integers fitting i32. A bad CSV
// label is located by its line: the (rare) error path reads the file again to map the row to
// the line, since the CSV reader skips blank lines. The shuffles are Fisher-Yates driven by a
// stream of Threefry words with rejection sampling, so every index is exactly uniform.
//
//===----------------------------------------------------------------------===//
#include "runtime/Dataset.h"

#include "runtime/Csv.h"
#include "runtime/Error.h"
#include "runtime/Npy.h"
#include "runtime/Rng.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <zlib.h>

namespace nnx::rt {
namespace {

/// `name` in backquotes, as messages show file names.
std::string quoted(const std::string &name) { return "`" + name + "`"; }

/// A number as a user wrote it: "12", "-3", "2.5", "nan".
std::string formatNumber(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e18)
    return std::to_string(static_cast<int64_t>(value));
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

/// "1 example", "3 examples", "10 classes".
std::string plural(int64_t count, const std::string &noun) {
  std::string suffix = noun.back() == 's' ? "es" : "s";
  return std::to_string(count) + " " + noun + (count == 1 ? "" : suffix);
}

/// What is wrong with a label value, if anything.
enum class LabelFault { None, NotInteger, Negative, TooLarge };

LabelFault classifyLabel(double value) {
  if (!std::isfinite(value) || value != std::floor(value))
    return LabelFault::NotInteger;
  if (value < 0)
    return LabelFault::Negative;
  if (value > std::numeric_limits<int32_t>::max())
    return LabelFault::TooLarge;
  return LabelFault::None;
}

/// Throws E0505 for a negative, too large or (in a .npy file) non-integer label; `where` is
/// "in row 4 of `y.npy`" or "on line 5 of `d.csv`".
[[noreturn]] void throwLabelFault(LabelFault fault, double value, const std::string &where) {
  std::string label = "label " + formatNumber(value) + " " + where;
  if (fault == LabelFault::Negative)
    throw Error("E0505", label + " is negative", {"labels are class indices: 0, 1, 2, ..."});
  if (fault == LabelFault::TooLarge)
    throw Error("E0505", label + " is too large: labels must fit in i32 (at most " +
                             std::to_string(std::numeric_limits<int32_t>::max()) + ")");
  throw Error("E0505", label + " is not an integer",
              {"labels are class indices: a float label file must hold whole numbers"});
}

/// The 1-based line of the `row`-th (0-based) row of the CSV file at `path`, counting lines
/// as readCsv does (blank lines skipped but counted); 0 when the file cannot be read again.
int64_t csvLineOfRow(const std::string &path, int64_t row) {
  // gzread passes plain files through unchanged.
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file)
    return 0;
  std::string text;
  char buffer[1 << 16];
  int got;
  while ((got = gzread(file, buffer, sizeof buffer)) > 0)
    text.append(buffer, static_cast<size_t>(got));
  gzclose(file);
  int64_t lineNo = 0, seen = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t newline = text.find('\n', pos);
    size_t end = newline == std::string::npos ? text.size() : newline;
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
    if (!blank && seen++ == row)
      return lineNo;
  }
  return 0;
}

/// The label `value` of row `row` of the CSV file `path` (in field `field`), or the error.
int32_t csvLabel(double value, int64_t row, const std::string &path, int64_t field) {
  LabelFault fault = classifyLabel(value);
  if (fault == LabelFault::None)
    return static_cast<int32_t>(value);
  int64_t lineNo = csvLineOfRow(path, row);
  std::string place = lineNo > 0 ? "line " + std::to_string(lineNo) : "row " + std::to_string(row);
  if (fault == LabelFault::NotInteger)
    throw Error("E0504",
                quoted(path) + " " + place + ", field " + std::to_string(field) +
                    " (the label): `" + formatNumber(value) + "` is not an integer",
                {"the last column of a csv data set is the class label: 0, 1, 2, ..."});
  throwLabelFault(fault, value, (lineNo > 0 ? "on " : "in ") + place + " of " + quoted(path));
}

/// A CSV data set: every column but the last is a feature, the last the label.
Dataset loadCsv(const std::string &path) {
  CsvTable table = readCsv(path);
  if (table.cols < 2)
    throw Error("E0505", quoted(path) + " has 1 column: a data set needs feature columns "
                                        "before the label column");
  int64_t features = table.cols - 1;
  Dataset data;
  data.name = path;
  data.x = Tensor(DType::F32, {table.rows, features});
  data.y = Tensor(DType::I32, {table.rows});
  float *x = data.x.data<float>();
  int32_t *y = data.y.data<int32_t>();
  for (int64_t r = 0; r < table.rows; ++r) {
    const double *row = table.values.data() + r * table.cols;
    for (int64_t c = 0; c < features; ++c)
      x[r * features + c] = static_cast<float>(row[c]);
    y[r] = csvLabel(row[features], r, path, table.cols);
  }
  return data;
}

/// The labels of `y` (rank 1, any dtype) as i32, or E0505 naming the first bad one.
Tensor npyLabels(const Tensor &y, const std::string &yPath) {
  if (y.dtype() == DType::Bool)
    return y.astype(DType::I32);
  Tensor labels(DType::I32, y.shape());
  int32_t *out = labels.data<int32_t>();
  for (int64_t i = 0; i < y.numel(); ++i) {
    double value = y.at(i);
    LabelFault fault = classifyLabel(value);
    if (fault != LabelFault::None)
      throwLabelFault(fault, value, "in row " + std::to_string(i) + " of " + quoted(yPath));
    out[i] = static_cast<int32_t>(value);
  }
  return labels;
}

/// Checks the shapes of an x/y pair: x rank >= 1, y rank 1, equal non-zero row counts.
void checkPairShapes(const Tensor &x, const Tensor &y, const std::string &xPath,
                     const std::string &yPath) {
  if (x.rank() == 0)
    throw Error("E0505", quoted(xPath) + " holds a scalar (shape []): the examples need one row "
                                         "each, shape [N, ...features]");
  if (y.rank() != 1)
    throw Error("E0505",
                quoted(yPath) + " has shape " + formatShape(y.shape()) +
                    " but the labels must be a vector [N]",
                {y.rank() > 1 ? "flatten it, e.g. with y.reshape(-1)" : "give one label per row"});
  if (x.shape()[0] != y.shape()[0])
    throw Error("E0505", quoted(xPath) + " has " + std::to_string(x.shape()[0]) + " rows but " +
                             quoted(yPath) + " has " + std::to_string(y.shape()[0]));
  if (x.shape()[0] == 0)
    throw Error("E0505", quoted(xPath) + " and " + quoted(yPath) +
                             " hold no examples: both have 0 rows");
}

/// A data set given as "X.npy,Y.npy".
Dataset loadNpyPair(const std::string &xPath, const std::string &yPath) {
  Tensor x = readNpy(xPath);
  Tensor y = readNpy(yPath);
  checkPairShapes(x, y, xPath, yPath);
  Dataset data;
  data.name = yPath;
  data.x = x.dtype() == DType::F32 ? x : x.astype(DType::F32);
  data.y = npyLabels(y, yPath);
  return data;
}

/// Successive 32-bit words of threefry2x32(key, {low32(c), high32(c)}), c = 0, 1, 2, ...
class WordStream {
public:
  explicit WordStream(Key key) : key_(key) {}

  uint32_t next() {
    if (used_ == 2) {
      block_ = threefry2x32(key_, {static_cast<uint32_t>(counter_),
                                   static_cast<uint32_t>(counter_ >> 32)});
      ++counter_;
      used_ = 0;
    }
    return block_[used_++];
  }

private:
  Key key_;
  uint64_t counter_ = 0;
  std::array<uint32_t, 2> block_{};
  int used_ = 2;
};

/// A uniform integer in [0, bound) by rejection sampling (bound >= 1).
uint64_t uniformBelow(WordStream &words, uint64_t bound) {
  constexpr uint64_t kTwo32 = uint64_t(1) << 32;
  if (bound <= kTwo32) {
    uint64_t limit = kTwo32 - kTwo32 % bound;
    while (true) {
      uint64_t word = words.next();
      if (word < limit)
        return word % bound;
    }
  }
  uint64_t remainder = (std::numeric_limits<uint64_t>::max() % bound + 1) % bound;
  while (true) {
    uint64_t high = words.next();
    uint64_t word = high << 32 | words.next();
    if (word <= std::numeric_limits<uint64_t>::max() - remainder)
      return word % bound;
  }
}

/// Fisher-Yates shuffle of `values` with draws from `key`.
void shuffle(std::vector<int64_t> &values, Key key) {
  WordStream words(key);
  for (size_t i = values.size(); i > 1; --i) {
    uint64_t j = uniformBelow(words, i);
    std::swap(values[i - 1], values[j]);
  }
}

} // namespace

int64_t Dataset::size() const { return y.numel(); }

Dataset loadDataset(const std::string &spec) {
  size_t commas = static_cast<size_t>(std::count(spec.begin(), spec.end(), ','));
  if (commas == 0) {
    if (spec.size() >= 4 && spec.compare(spec.size() - 4, 4, ".npy") == 0)
      throw Error("E0505", quoted(spec) + " is a single .npy file: give the examples and the "
                                          "labels as `X.npy,Y.npy`");
    return loadCsv(spec);
  }
  size_t comma = spec.find(',');
  std::string xPath = spec.substr(0, comma), yPath = spec.substr(comma + 1);
  if (commas > 1 || xPath.empty() || yPath.empty())
    throw Error("E0505", "data spec " + quoted(spec) + " names " +
                             plural(static_cast<int64_t>(commas) + 1, "file") +
                             ": expected `X.npy,Y.npy` or one csv file");
  return loadNpyPair(xPath, yPath);
}

void checkLabels(const Dataset &data, int64_t numClasses) {
  assert(data.y.dtype() == DType::I32 && "labels are i32");
  const int32_t *labels = data.y.data<int32_t>();
  for (int64_t i = 0; i < data.y.numel(); ++i) {
    if (labels[i] >= 0 && labels[i] < numClasses)
      continue;
    throw Error("E0505",
                "label " + std::to_string(labels[i]) + " in row " + std::to_string(i) + " of " +
                    quoted(data.name) + " is out of range: the model has " +
                    plural(numClasses, "class"),
                {"labels must be in [0, " + std::to_string(numClasses) +
                 "); rows are counted from 0"});
  }
}

Split splitHoldout(int64_t n, double fraction, uint64_t seed) {
  assert(n >= 0 && "negative example count");
  if (!(fraction >= 0 && fraction < 1))
    throw Error("E0505", "the holdout fraction is " + formatNumber(fraction) +
                             ": it must be in [0, 1)");
  int64_t holdoutCount = std::llround(fraction * static_cast<double>(n));
  if (n - holdoutCount <= 0)
    throw Error("E0505", "a holdout fraction of " + formatNumber(fraction) + " holds out " +
                             std::to_string(holdoutCount) + " of " + plural(n, "example") +
                             " and leaves no training example");
  std::vector<int64_t> permutation(static_cast<size_t>(n));
  std::iota(permutation.begin(), permutation.end(), int64_t(0));
  shuffle(permutation, streamKey(seed, "holdout"));
  auto cut = permutation.begin() + (n - holdoutCount);
  return Split{std::vector<int64_t>(permutation.begin(), cut),
               std::vector<int64_t>(cut, permutation.end())};
}

std::vector<int64_t> epochOrder(const std::vector<int64_t> &indices, uint64_t seed,
                                int64_t epoch) {
  std::vector<int64_t> order = indices;
  shuffle(order, foldIn(streamKey(seed, "shuffle"), static_cast<uint32_t>(epoch)));
  return order;
}

Tensor gatherRows(const Tensor &t, const std::vector<int64_t> &order, size_t begin,
                  size_t end) {
  assert(t.rank() >= 1 && begin <= end && end <= order.size());
  Shape shape = t.shape();
  int64_t rows = shape[0];
  shape[0] = static_cast<int64_t>(end - begin);
  Tensor out(t.dtype(), shape);
  size_t rowBytes = dtypeSize(t.dtype()) *
                    static_cast<size_t>(numElements(Shape(shape.begin() + 1, shape.end())));
  const auto *src = static_cast<const std::byte *>(t.raw());
  auto *dst = static_cast<std::byte *>(out.raw());
  for (size_t k = begin; k < end; ++k) {
    int64_t row = order[k];
    assert(row >= 0 && row < rows && "row index out of range");
    (void)rows;
    if (rowBytes != 0)
      std::memcpy(dst + (k - begin) * rowBytes, src + static_cast<size_t>(row) * rowBytes,
                  rowBytes);
  }
  return out;
}

} // namespace nnx::rt
