//===- DataSpec.h - Data files bound to a loss's parameters ---------------===//
//
// `nnxrun train/eval/predict --data ...` names the arrays a loss (or a model) takes, one row per
// example: `.npy` files bound in order to the parameters after the model (`--data
// x.npy,y.npy,mask.npy`), or by name (`--data x=a.npy --data y=b.npy`), or a CSV/CSV.gz table
// that gives two arrays, the features and the label columns (`--label-cols`, default the last;
// a header line of names is allowed). This file reads them, converts dtypes (to the dtype a
// parameter's annotation names, else f64 -> f32 and i64 -> i32 with a note) and checks that
// every array has the same number of rows. Every failure is rt::Error E0505 naming the flag and
// the file (E0500/E0501/E0504 come from the file readers).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/DType.h"
#include "runtime/Dataset.h"

#include <optional>
#include <string>
#include <vector>

namespace nnx::rt {

/// What `--data` names and what it binds to.
struct DataRequest {
  /// The `--data` values, in order: "X.npy,Y.npy", "y=b.npy", "d.csv.gz".
  std::vector<std::string> specs;
  /// The parameters the arrays bind to, in order ("x", "y").
  std::vector<std::string> params;
  /// Per parameter, the dtype its annotation names (`y: f32[B]`); nullopt: the data's own.
  std::vector<std::optional<DType>> dtypes;
  /// `--label-cols`: the label columns of a CSV file, 0-based indices (negative count from the
  /// end) or header names, comma-separated; "none": every column is a feature; "": the last.
  std::string labelCols;
  /// The flag messages name.
  std::string flag = "--data";
  /// A CSV file gives its features only, its label columns dropped (`predict` on the file
  /// a model was trained on).
  bool dropLabels = false;
};

/// Reads and binds the arrays of `request`. Appends a note per conversion the user should know
/// of ("`x.npy` holds f64: converted to f32") to `notes`.
/// Errors (E0505): more or fewer arrays than parameters (listing both); a name that is not a
/// parameter, or bound twice; a named CSV that gives two arrays; a label column out of range or
/// not in the header; a CSV without feature columns; arrays whose row counts differ (naming
/// both files); an empty data set; a scalar array; an i64 value beyond i32; a non-integer value
/// for an integer parameter (naming the row, or the CSV line).
Dataset loadDataset(const DataRequest &request, std::vector<std::string> &notes);

} // namespace nnx::rt
