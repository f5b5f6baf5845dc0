//===- Dataset.h - Training data for nnxrun train -------------------------===//
//
// A data set is a list of arrays with one row per example, each bound to a parameter of the
// loss (`fn loss_fn(model, x, y)`); DataSpec.h reads them from files. This file checks class
// labels against the model's class count, splits off a seeded holdout set, orders the training
// examples of each epoch and gathers the rows of a minibatch. Every random choice is drawn from
// the counter-based RNG (Rng.h), so a run and a resumed run see the same split and the same
// epoch orders. Bad data is rt::Error E0505.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nnx::rt {

/// One array of a data set: N rows, one per example, bound to a parameter of the loss.
struct DataColumn {
  /// The loss parameter it binds to ("x", "y", "mask").
  std::string name;
  /// [N, ...] of any dtype.
  Tensor values;
  /// Where it came from, as messages name it: "`y.npy`", "`d.csv` column 64".
  std::string source;
};

/// Arrays with one row per example, all with the same N.
struct Dataset {
  std::vector<DataColumn> columns;
  /// Whether a float array holds nan or inf (a note says so when loading).
  bool hasNonFinite = false;

  /// N, the number of examples (0 without columns).
  int64_t size() const;
  /// The column bound to `name`, or null.
  const DataColumn *find(const std::string &name) const;
};

/// A number as a user wrote it, for data messages: "12", "-3", "2.5", "nan".
std::string formatDataNumber(double value);

/// Checks every value of `labels` (integer, any shape) is in [0, numClasses); else E0505
/// "label 12 in row 37 of `digits.csv.gz` is out of range: the model has 10 classes" (rows
/// count from 0; `source` as DataColumn::source).
void checkLabels(const Tensor &labels, const std::string &source, int64_t numClasses);

/// The training and holdout example indices of a split.
struct Split {
  std::vector<int64_t> train, holdout;
};

/// A seeded split: a permutation of [0, n) drawn with the counter-based RNG from
/// streamKey(seed, "holdout") (Fisher-Yates as in epochOrder); the last round(fraction * n)
/// indices (in permutation order) are the holdout, the rest (in permutation order) train.
/// fraction in [0, 1) else E0505; a holdout that would leave no training example -> E0505.
Split splitHoldout(int64_t n, double fraction, uint64_t seed);

/// The order of the training examples in epoch `epoch`: a permutation of `indices` that
/// depends only on (seed, epoch), so resuming at an epoch reproduces the same order.
/// Fisher-Yates (for i = n-1 down to 1, swap element i with a uniform j in [0, i]) with key
/// foldIn(streamKey(seed, "shuffle"), uint32(epoch)). The j are unbiased: 32-bit words are
/// taken in turn from threefry2x32(key, {low32(c), high32(c)}) for c = 0, 1, 2, ... (word 0,
/// then word 1), and a word w is accepted for bound b when w < 2^32 - (2^32 mod b), giving
/// j = w mod b (bounds beyond 2^32 combine two words, first one high, in the same way).
std::vector<int64_t> epochOrder(const std::vector<int64_t> &indices, uint64_t seed,
                                int64_t epoch);

/// The rows `order[begin, end)` of `t` (any dtype and rank >= 1) as a new tensor
/// [end - begin, ...]. Every index must be in [0, t.shape()[0]) and end <= order.size().
Tensor gatherRows(const Tensor &t, const std::vector<int64_t> &order, size_t begin,
                  size_t end);

} // namespace nnx::rt
