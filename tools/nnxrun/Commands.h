//===- Commands.h - nnxrun's subcommands ----------------------------------===//
//
// One function per subcommand of DESIGN §3 (check, params, run, test, emit), each taking its
// parsed options and returning the process exit code: 0 ok, 1 user error (a diagnostic was
// printed), 2 usage error. Internal errors propagate as exceptions to main(), which prints
// "internal compiler error" with the stage and exits 70.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nnx::tool {

/// Options shared by the commands that compile a model.
struct ModelOptions {
  std::vector<std::string> files;
  std::string model;
  std::string method = "__call__";
  std::vector<std::string> inputs;
  std::string mode = "eval";
  std::string backend = "interp";
  uint64_t seed = 0;
  std::string load;
  std::string save;
  std::vector<std::string> outputs;
  std::vector<std::string> filter;
  /// run --capture: variable kinds (or `intermediates`) whose sown values are returned.
  std::vector<std::string> capture;
  /// run --capture-save: a safetensors file for the captured values.
  std::string captureSave;
  /// run --repeat: timed warm calls before the kept one (their min and median in --timings).
  int repeat = 1;
  /// --max-memory: the memory budget as given ("8G"); empty: the physical memory.
  std::string maxMemory;
  /// --threads: the JIT's thread count (0: libomp's default).
  int threads = 0;
  /// --no-cache: bypass the compile cache.
  bool noCache = false;
  std::string stage;
  std::string loss;
  std::string data;
  std::string optimizer = "sgd";
  std::string lr;
  double momentum = 0.0;
  int64_t batch = 32;
  int64_t epochs = 0;
  int64_t steps = 0;
  double holdout = 0.0;
  bool json = false;
  bool timings = false;
  bool verify = false;
};

int runCheck(const ModelOptions &options);
int runParams(const ModelOptions &options);
int runRun(const ModelOptions &options);
int runTest(const ModelOptions &options);
int runEmit(const ModelOptions &options);
int runGrad(const ModelOptions &options);
int runTrain(const ModelOptions &options);

} // namespace nnx::tool
