//===- Dataset.h - Training data for nnxrun train -------------------------===//
//
// `nnxrun train --data SPEC` learns from examples with integer class labels. SPEC is either a
// pair of .npy files "X.npy,Y.npy" or one CSV file (plain or gzip) whose last column is the
// label. This file loads such data into a Dataset, checks its labels against the model's class
// count, splits off a seeded holdout set, orders the training examples of each epoch and
// gathers the rows of a minibatch. Every random choice is drawn from the counter-based RNG
// (Rng.h), so a run and a resumed run see the same split and the same epoch orders. Bad data
// is rt::Error E0505 (E0500/E0501/E0504 come from the file readers).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nnx::rt {

/// Examples and integer labels.
struct Dataset {
  /// The examples: f32 [N, ...features].
  Tensor x;
  /// The labels: i32 [N], each >= 0.
  Tensor y;
  /// The file the labels were read from (the CSV file, or Y.npy of a pair), as given; error
  /// messages name it.
  std::string name;

  /// N, the number of examples.
  int64_t size() const;
};

/// Loads `spec`: either "X.npy,Y.npy" (x any float/int dtype (bool too) -> converted to f32;
/// y integer or bool -> i32; a float y whose values are all integers is accepted) or a CSV /
/// CSV.gz file whose LAST column is the label (integer-valued, else E0504 with line number and
/// the value) and the other columns the features (x [N, columns - 1]).
/// Errors (rt::Error): unreadable files E0500 (malformed .npy E0501, malformed CSV E0504);
/// x and y row counts differ -> E0505 "`x.npy` has 100 rows but `y.npy` has 99"; y not rank 1
/// -> E0505; x rank 0 -> E0505; an empty dataset -> E0505; a CSV without feature columns ->
/// E0505; a spec with more than one comma -> E0505; a non-integer .npy label, a negative label
/// or one beyond i32 -> E0505 naming the row (rows count from 0, CSV lines from 1).
Dataset loadDataset(const std::string &spec);

/// Checks every label is in [0, numClasses); else E0505 "label 12 in row 37 of
/// `digits.csv.gz` is out of range: the model has 10 classes" (rows count from 0).
void checkLabels(const Dataset &data, int64_t numClasses);

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
