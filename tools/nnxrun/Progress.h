//===- Progress.h - Training progress on a terminal or in a log -----------===//
//
// On a terminal, `nnxrun train` redraws one status line (epoch, step, running loss, steps
// per second) a few times a second; otherwise (CI logs, pipes) it prints nothing until the
// epoch's summary line, so logs stay readable.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace nnx::tool {

/// Reports training progress.
class Progress {
public:
  /// `interactive`: draw the live status line (stdout is a terminal).
  explicit Progress(bool interactive) : interactive_(interactive) {}

  /// Starts an epoch of `steps` steps.
  void beginEpoch(int64_t epoch, int64_t epochs, int64_t steps);
  /// Records a finished step and its loss; redraws at most every 100 ms.
  void step(double loss);
  /// Clears the status line and prints `summary` on its own line.
  void endEpoch(const std::string &summary);
  /// Mean loss of the epoch so far.
  double meanLoss() const { return steps_ ? lossSum_ / double(steps_) : 0.0; }
  /// Steps per second in the epoch so far.
  double stepsPerSecond() const;

private:
  void draw();

  bool interactive_;
  int64_t epoch_ = 0, epochs_ = 0, total_ = 0, steps_ = 0;
  double lossSum_ = 0;
  std::chrono::steady_clock::time_point start_, lastDraw_;
};

} // namespace nnx::tool
