//===- TrainLog.h - Metrics logs of a training run ------------------------===//
//
// `nnxrun train --log run.jsonl --log run.csv` writes one record per step and one per epoch:
// JSON Lines (one object per line, the format TensorBoard exporters and pandas.read_json(lines=
// True) read) or CSV with a header, chosen by the file's extension. `train` checks the paths
// before it starts (rt::checkWritable); each file is opened (truncated, or appended to by a
// resumed run) only with the first record, so a run that fails before its first step leaves
// an old log alone. A record holds `kind`
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

  /// The logs `paths`: `.jsonl`/`.json` -> JSON Lines, `.csv` -> CSV whose columns are the
  /// record fields and `val_` + each of `valNames`. Each file is opened with the first record:
  /// truncated, or with `append` (a resumed run) appended to (a CSV header only into an empty
  /// file). Throws rt::Error E0406 for another extension.
  TrainLog(const std::vector<std::string> &paths, const std::vector<std::string> &valNames,
           bool append);
  ~TrainLog();

  /// Appends `record` to every file, opening it first with the first record. Throws
  /// rt::Error E0500 when a file cannot be opened.
  void write(const LogRecord &record);

private:
  struct File {
    std::string path;
    bool csv = false;
    std::ofstream out; ///< open from the first record on
  };
  /// Opens `file` (truncated, or appended to) and writes a new CSV file's header.
  void open(File &file);
  std::vector<std::unique_ptr<File>> files_;
  std::vector<std::string> valNames_;
  bool append_ = false; ///< a resumed run: append rather than truncate
};

} // namespace nnx::tool
