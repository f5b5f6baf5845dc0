//===- TrainLog.h - Metrics logs of a training run ------------------------===//
//
// `nnxrun train --log run.jsonl --log run.csv` writes one record per step and one per epoch:
// JSON Lines (one object per line, the format TensorBoard exporters and pandas.read_json(lines=
// True) read) or CSV with a header, chosen by the file's extension. The files are opened only
// once the train step compiled (a failed run leaves an old log alone), and a resumed run
// appends to them. A record holds `kind`
// ("step" or "epoch"), `step` (updates so far), `epoch` (1-based), `loss`, `lr`, `steps_per_s`,
// and per epoch the evaluation's `val_loss` and `val_<metric>`. Lines are flushed as written, so
// a run cut short keeps its log. `nnxrun plot` reads the JSONL form.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nnx::tool {

/// One record of the log; absent values are left out (JSON) or empty (CSV).
struct LogRecord {
  std::string kind;
  int64_t step = 0;
  int64_t epoch = 0;
  double loss = 0;
  std::optional<double> lr;
  std::optional<double> stepsPerSecond;
  /// Evaluation values, named without the `val_` prefix ("loss", "accuracy").
  std::vector<std::pair<std::string, double>> val;
};

/// The log files of a run.
class TrainLog {
public:
  /// Checks the extension of every path (E0406 unless .jsonl, .json or .csv), before a run.
  static void checkPaths(const std::vector<std::string> &paths);

  /// Opens each of `paths`: `.jsonl`/`.json` -> JSON Lines, `.csv` -> CSV whose columns are
  /// the record fields and `val_` + each of `valNames`. Truncates, or with `append` (a resumed
  /// run) appends (a CSV header only into an empty file). Throws rt::Error E0500 when a file
  /// cannot be opened, E0406 for another extension.
  TrainLog(const std::vector<std::string> &paths, const std::vector<std::string> &valNames,
           bool append);
  ~TrainLog();

  /// Appends `record` to every file.
  void write(const LogRecord &record);

private:
  struct File {
    std::string path;
    bool csv = false;
    std::ofstream out;
  };
  std::vector<std::unique_ptr<File>> files_;
  std::vector<std::string> valNames_;
};

} // namespace nnx::tool
