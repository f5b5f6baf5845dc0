//===- Commands.h - nnxrun's subcommands ----------------------------------===//
//
// One function per subcommand of DESIGN §3 (check, params, run, test, emit, grad, train,
// eval, predict, plot, fmt, lsp), each taking its parsed options and returning the process exit code: 0 ok,
// 1 user error (a diagnostic was printed), 2 usage error. Internal errors propagate as exceptions to main(), which prints
// "internal compiler error" with the stage and exits 70.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace nnx::lang {
struct TraceOptions;
} // namespace nnx::lang

namespace nnx::tool {

class Session;

/// Options shared by the commands that compile a model.
struct ModelOptions {
  /// The options given on the command line ("--clip-norm"), to tell a default from a choice.
  std::set<std::string> given;
  bool has(const std::string &flag) const { return given.count(flag) > 0; }
  std::vector<std::string> files;
  std::string model;
  std::string method = "__call__";
  std::vector<std::string> inputs;
  std::string mode = "eval";
  std::string backend = "interp";
  uint64_t seed = 0;
  std::string load;
  /// --allow-missing / --allow-extra: what a --load checkpoint may lack or hold beyond the model.
  bool allowMissing = false;
  bool allowExtra = false;
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
  /// --gpu-arch (emit, train): the GPU architecture PTX is generated for (not given: sm_80).
  std::string gpuArch;
  std::string loss;
  /// --data: the arrays the loss (train, eval) or the method (predict) takes.
  std::vector<std::string> data;
  /// --val-data: evaluation arrays for train, bound like --data.
  std::vector<std::string> valData;
  /// --label-cols: the label columns of CSV data ("" = the last; "none").
  std::string labelCols;
  /// --metric: functions reported beside the loss.
  std::vector<std::string> metrics;
  /// --log: JSONL/CSV metrics logs.
  std::vector<std::string> logs;
  /// --checkpoint-every: "N" steps or "Nepochs"; --checkpoint-dir, --keep.
  std::string checkpointEvery;
  std::string checkpointDir;
  int keep = 3;
  /// --best: the evaluation value whose best epoch is kept as best.safetensors (and
  /// --early-stopping watches).
  std::string best;
  /// --early-stopping: epochs without improvement of --best before stopping (0: never).
  int64_t patience = 0;
  /// --resume: a checkpoint to continue from; --epochs/--steps then count from the start.
  std::string resume;
  /// --weight-decay (adamw; < 0: optax's default 1e-4) and --weight-decay-mask (decay only
  /// Params of rank >= 2).
  double weightDecay = -1;
  bool weightDecayMask = false;
  /// --clip-norm: optax.clip_by_global_norm before the optimizer (0: none).
  double clipNorm = 0.0;
  /// predict --argmax: write the index of the largest output along the last axis.
  bool argmax = false;
  std::string optimizer = "sgd";
  std::string lr;
  double momentum = 0.0;
  int64_t batch = 32;
  int64_t epochs = 0;
  int64_t steps = 0;
  double holdout = 0.0;
  bool json = false;
  /// params --summary: a per-module table of a traced call (nnx.tabulate).
  bool summary = false;
  bool timings = false;
  bool verify = false;
};

int runCheck(const ModelOptions &options);
/// check's deep pass over loaded file `fileId` of `s` (resolved): traces every `test` block and
/// every top-level function whose parameters all have concrete types, reporting what they
/// find to the session's diagnostics.
void traceChecks(Session &s, uint32_t fileId, const lang::TraceOptions &options);
int runParams(const ModelOptions &options);
int runRun(const ModelOptions &options);
int runTest(const ModelOptions &options);
/// Prints `--stage` (nnx, linalg, llvm, gpu, or ptx for `--gpu-arch`) of the traced functions of
/// `module` (not modified): for emit, and for train's step (`train --stage`).
void printStage(mlir::ModuleOp module, const ModelOptions &o);
/// Checks --stage's options before any work: E0406 (--gpu-arch without `--stage ptx`),
/// E0410 (an unsupported --gpu-arch).
void checkStageOptions(const ModelOptions &o);
int runEmit(const ModelOptions &options);
int runGrad(const ModelOptions &options);
int runTrain(const ModelOptions &options);

/// Options of `nnxrun plot`.
struct PlotOptions {
  /// The `train --log` JSON Lines file.
  std::string log;
  /// The PNG to write (default: the log's name with .png).
  std::string output;
  /// WIDTHxHEIGHT in pixels.
  std::string size = "900x700";
};
int runPlot(const PlotOptions &options);

/// Options of `nnxrun fmt`.
struct FmtOptions {
  /// Files and directories (their .nnx files, recursively).
  std::vector<std::string> paths;
  /// Write nothing; exit 1 when a file is not formatted.
  bool check = false;
  /// Print the formatted text instead of writing the files.
  bool toStdout = false;
};
int runFmt(const FmtOptions &options);
/// Options of `nnxrun cache`.
struct CacheOptions {
  /// --build-kernels: the directory to compile this host's GEMM kernels into ("": only show
  /// the cache's directories).
  std::string buildKernels;
};
/// `nnxrun cache`: the compile cache's directory and entries, and the shipped kernels; with
/// --build-kernels, compiles the host's kernels into a directory (E0500 when it cannot be
/// written).
int runCache(const CacheOptions &options);

/// `nnxrun lsp`: the language server on stdin/stdout until `exit`.
int runLsp();
int runEval(const ModelOptions &options);
int runPredict(const ModelOptions &options);

} // namespace nnx::tool
