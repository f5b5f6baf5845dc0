//===- Dataset.cpp - Training data for nnxrun train -----------------------===//
//
// The shuffles are Fisher-Yates driven by a
// stream of Threefry words with rejection sampling, so every index is exactly uniform.
//
//===----------------------------------------------------------------------===//
#include "runtime/Dataset.h"

#include "runtime/Error.h"
#include "runtime/Rng.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace nnx::rt {
namespace {

/// "1 example", "3 examples", "10 classes".
std::string plural(int64_t count, const std::string &noun) {
  std::string suffix = noun.back() == 's' ? "es" : "s";
  return std::to_string(count) + " " + noun + (count == 1 ? "" : suffix);
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

std::string formatDataNumber(double value) {
  if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 1e18)
    return std::to_string(static_cast<int64_t>(value));
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

int64_t Dataset::size() const {
  return columns.empty() ? 0 : columns.front().values.shape()[0];
}

const DataColumn *Dataset::find(const std::string &name) const {
  for (const DataColumn &column : columns)
    if (column.name == name)
      return &column;
  return nullptr;
}

void checkLabels(const Tensor &labels, const std::string &source, int64_t numClasses) {
  assert(isInteger(labels.dtype()) && "labels are integers");
  int64_t perRow = labels.rank() == 0 ? 1 : labels.numel() / std::max<int64_t>(1, labels.shape()[0]);
  int64_t i = labels.findValue(
      [&](double label) { return !(label >= 0 && label < double(numClasses)); });
  if (i >= 0) {
    double label = labels.at(i);
    throw Error("E0505",
                "label " + formatDataNumber(label) + " in row " + std::to_string(i / perRow) +
                    " of " + source + " is out of range: the model has " +
                    plural(numClasses, "class"),
                {"labels must be in [0, " + std::to_string(numClasses) +
                 "); rows are counted from 0"});
  }
}

Split splitHoldout(int64_t n, double fraction, uint64_t seed) {
  assert(n >= 0 && "negative example count");
  if (!(fraction >= 0 && fraction < 1))
    throw Error("E0505", "the holdout fraction is " + formatDataNumber(fraction) +
                             ": it must be in [0, 1)");
  int64_t holdoutCount = std::llround(fraction * static_cast<double>(n));
  if (n - holdoutCount <= 0)
    throw Error("E0505", "a holdout fraction of " + formatDataNumber(fraction) + " holds out " +
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
  Tensor out = Tensor::uninitialized(t.dtype(), shape); // every row is copied below
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
