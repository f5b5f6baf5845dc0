//===- Progress.cpp - Training progress on a terminal or in a log ---------===//
//
// See Progress.h.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Progress.h"

#include <cstdio>

namespace nnx::tool {

void Progress::beginEpoch(int64_t epoch, int64_t epochs, int64_t steps) {
  epoch_ = epoch;
  epochs_ = epochs;
  total_ = steps;
  steps_ = 0;
  lossSum_ = 0;
  start_ = lastDraw_ = std::chrono::steady_clock::now();
}

double Progress::stepsPerSecond() const {
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return seconds > 0 ? double(steps_) / seconds : 0.0;
}

void Progress::step(double loss) {
  ++steps_;
  lossSum_ += loss;
  auto now = std::chrono::steady_clock::now();
  if (interactive_ && (now - lastDraw_ > std::chrono::milliseconds(100) || steps_ == total_)) {
    lastDraw_ = now;
    draw();
  }
}

void Progress::draw() {
  const int width = 24;
  int filled = total_ ? int(width * steps_ / total_) : width;
  std::string bar(size_t(filled), '#');
  bar.resize(width, '.');
  std::printf("\r\033[Kepoch %lld/%lld [%s] step %lld/%lld  loss %.4f  %.0f steps/s",
              (long long)epoch_, (long long)epochs_, bar.c_str(), (long long)steps_,
              (long long)total_, meanLoss(), stepsPerSecond());
  std::fflush(stdout);
}

void Progress::endEpoch(const std::string &summary) {
  if (interactive_)
    std::printf("\r\033[K");
  std::printf("%s\n", summary.c_str());
  std::fflush(stdout);
}

} // namespace nnx::tool
