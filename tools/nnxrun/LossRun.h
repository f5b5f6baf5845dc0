//===- LossRun.h - A loss, its metrics and its data, for train and eval ---===//
//
// `nnxrun train` and `nnxrun eval` both run a loss `fn loss_fn(model, x, y, ...)` whose
// parameters after the model name the data, and report metrics. This file binds `--data` to
// those parameters (names, order, annotated dtypes), finds out whether the model is a
// classifier (integer labels one rank below its output: class labels are then checked against
// the class count, and `accuracy` is the default metric), generates the nnx source of the
// train step and of the evaluation function, and evaluates a data set in chunks.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/nnxrun/Runner.h"
#include "tools/nnxrun/Session.h"

#include "runtime/Dataset.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nnx::tool {

/// The parameters of a function that data binds to.
struct DataParams {
  std::vector<std::string> names;
  /// The dtype each one's annotation names (`y: f32[B]`), else nullopt.
  std::vector<std::optional<rt::DType>> dtypes;
};

/// The parameters of `fn` after its first `skip` ones (the model).
DataParams dataParams(const lang::FnDecl &fn, size_t skip);

/// The method `name` of the module declaration `decl`, or null.
const lang::FnDecl *moduleMethod(const lang::ModuleDecl &decl, const std::string &name);

/// Reads `specs` (`--data` or `--val-data`, named by `flag`) for `params`; prints a note on
/// stderr for each dtype conversion. Throws rt::Error E0505 (see rt::loadDataset).
rt::Dataset loadData(const std::vector<std::string> &specs, const DataParams &params,
                     const std::string &labelCols, const std::string &flag);

/// "the data of --data: `x` f32[N, 3] from `d.csv` columns 0-2; `y` i32[N] from ...": the note
/// a diagnostic in generated code gets instead of a span there.
std::string describeData(const rt::Dataset &data, const std::string &flag);

/// A metric reported beside the loss.
struct Metric {
  std::string name;
  /// True when the function takes the model and the data like the loss (its first parameter
  /// is named `model`); else it takes (model(x), y): the model's output on the first data
  /// array and the last one, like the stdlib's `accuracy(logits, labels)`.
  bool takesModel = false;
  /// Lower is better (losses and errors); accuracy-like metrics are higher-better. Follows
  /// Keras's "auto" mode: a name containing "acc" is higher-better.
  bool lowerIsBetter() const;
};

/// A loss, its data parameters and its metrics, traced and compiled on demand.
class LossRun {
public:
  /// `loss` is a top-level function `fn loss(model, data...)`; `metrics` name top-level
  /// functions (E0407 via Session::findFunction when one does not exist). Adds the generated
  /// source to the session. `model` is the instantiated model, `opt` the optimizer (may be
  /// a None value for eval).
  LossRun(Session &s, const lang::FnDecl &loss, std::vector<Metric> metrics, lang::Value model,
          lang::Value opt, Backend backend);

  const DataParams &params() const { return params_; }
  const std::vector<Metric> &metrics() const { return metrics_; }

  /// When the last data array holds integer labels one rank below the model's output on the
  /// first (exactly two data arrays: x and y), the model is a classifier: its labels are
  /// checked against the class count (E0505) and, when no --metric was given, `accuracy` is
  /// reported. Returns the class count (nullopt for other models); sets `failed` after
  /// reporting a trace error of the model as a diagnostic.
  std::optional<int64_t> prepareClassifier(const rt::Dataset &data, bool &failed);

  /// The compiled train step (returns loss, learning rate) for a batch of `rows`; null after
  /// reporting errors.
  Runner *trainStep(const rt::Dataset &data, int64_t rows);
  /// The train step for a batch of `rows`, traced into the session's module but not
  /// compiled (`train --stage`); null after reporting errors.
  mlir::func::FuncOp traceTrainStep(const rt::Dataset &data, int64_t rows);

  /// The mean loss and metrics over rows `rows` of `data`, in eval mode, in chunks of at most
  /// 1024 rows, from a copy of `state` (a run saved and resumed equals one uninterrupted run).
  /// nullopt after reporting errors.
  std::optional<std::vector<double>> evaluate(const rt::State &state, const rt::Dataset &data,
                                              const std::vector<int64_t> &rows);

  /// The nnx source generated around the loss (exposed for tests and `emit`).
  std::string source() const;

private:
  /// The class count of a classifier (see prepareClassifier), without the checks.
  std::optional<int64_t> classes(const rt::Dataset &data, bool &failed);
  /// The inputs of a trace for a batch of `rows` of `data`.
  std::vector<InputSpec> batchInputs(const rt::Dataset &data, int64_t rows) const;
  Runner *compile(std::map<int64_t, std::unique_ptr<Runner>> &cache, const std::string &fn,
                  const rt::Dataset &data, int64_t rows, bool training);
  /// Traces `fn` of the generated source for a batch of `rows`; null after reporting errors.
  mlir::func::FuncOp trace(const std::string &fn, const rt::Dataset &data, int64_t rows,
                           bool training);

  Session &s_;
  std::string loss_;
  DataParams params_;
  std::vector<Metric> metrics_;
  lang::Value model_, opt_;
  Backend backend_;
  std::map<int64_t, std::unique_ptr<Runner>> steps_, evals_;
  bool sourceAdded_ = false;
};

/// What train and eval load first: the files, the --loss function, the --metric functions
/// and the instantiated --model.
struct LossProgram {
  const lang::FnDecl *loss = nullptr;
  std::vector<Metric> metrics;
  lang::ModuleInstance *root = nullptr;
};

/// Loads `files`, finds `lossName` and `metricNames`, instantiates `modelExpr` with
/// `options`; nullopt after reporting errors (the caller returns Session::fail()).
std::optional<LossProgram> loadLossProgram(Session &s, const std::vector<std::string> &files,
                                           const std::string &lossName,
                                           const std::vector<std::string> &metricNames,
                                           const std::string &modelExpr,
                                           const lang::TraceOptions &options);

/// Parses `--metric` names into metrics, looking each function up (E0407 when missing).
/// Null optional after reporting.
std::optional<std::vector<Metric>> findMetrics(Session &s, const std::vector<std::string> &names);

/// "loss 0.1234  accuracy 95.20%": a loss and its metrics, as train and eval print them.
std::string formatMetrics(const std::string &prefix, const std::vector<Metric> &metrics,
                          const std::vector<double> &values);

} // namespace nnx::tool
