//===- main.cpp - The nnxrun command line ---------------------------------===//
//
// Parses the command line with CLI11 (DESIGN §3) and dispatches to a subcommand. Exit codes:
// 0 ok, 1 user error, 2 usage error, 70 internal error — an internal error prints "internal
// compiler error: please report" with the stage it happened in, never a bare crash.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"

#include "codegen/CompileCache.h"
#include "codegen/CpuJit.h"
#include "tools/nnxrun/Session.h"

#include "lang/Diagnostics.h"
#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"
#include "llvm/Support/ErrorHandling.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <iostream>
#include <malloc.h>

using namespace nnx::tool;

namespace {

/// Keeps freed memory for reuse. Compiled functions allocate their temporaries (a scan's
/// stacked outputs, transposed inputs) on every call; above glibc's default 128 KiB mmap
/// threshold each one was a fresh mapping, faulted in page by page and unmapped on free. A
/// 1000-step RNN took ~520 page faults per call and ran 1.6x slower than with the memory kept
/// (bench/transforms.py). 64 MiB covers such temporaries; larger ones are still mapped.
void keepFreedMemory() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

/// Adds the options that select and instantiate a model.
void addModelOptions(CLI::App *cmd, ModelOptions &o, bool requireModel) {
  cmd->add_option("FILE", o.files, "the .nnx file")->required();
  auto *model = cmd->add_option("--model", o.model, "the model, e.g. 'Model(784, 256, 10)'");
  if (requireModel)
    model->required();
  cmd->add_option("--seed", o.seed, "seed of the rng streams, like nnx.Rngs(N)");
  cmd->add_option("--load", o.load, "initial state from a safetensors checkpoint");
  cmd->add_flag("--allow-missing", o.allowMissing,
                "with --load: variables the checkpoint lacks keep their initial values");
  cmd->add_flag("--allow-extra", o.allowExtra,
                "with --load: ignore tensors of the checkpoint the model does not have");
}

/// Adds --max-memory: the most one tensor or a model's state may take (runtime/MemoryBudget.h).
void addMemoryOption(CLI::App *cmd, ModelOptions &o) {
  cmd->add_option("--max-memory", o.maxMemory,
                  "most memory one tensor or the model's state may take, e.g. 8G "
                  "(default: the machine's physical memory)");
}

/// Adds the JIT's options: --threads, its thread count, and --no-cache.
void addThreadsOption(CLI::App *cmd, ModelOptions &o) {
  cmd->add_option("--threads", o.threads,
                  "threads of the JIT's kernels (default: OMP_NUM_THREADS, else every core); "
                  "results do not depend on it")
      ->check(CLI::Range(1, 1024));
  cmd->add_flag("--no-cache", o.noCache,
                "compile without the on-disk cache of compiled objects (~/.cache/nnx)");
}

/// Adds --data, --label-cols and --metric (train, eval).
void addDataOptions(CLI::App *cmd, ModelOptions &o) {
  cmd->add_option("--data", o.data,
                  "the loss's data: X.npy,Y.npy (in order), NAME=FILE, or a CSV/CSV.gz file "
                  "(features, then labels)")
      ->required();
  cmd->add_option("--label-cols", o.labelCols,
                  "label columns of CSV data: indices (negative from the end) or header names "
                  "(default: the last)");
  cmd->add_option("--metric", o.metrics,
                  "functions reported beside the loss, e.g. accuracy (default for classifiers)");
}

/// Adds the options of the commands that run a compiled loss or model over data (train,
/// eval, predict): --backend (default jit), --timings, --threads, --no-cache, --max-memory.
void addDataRunOptions(CLI::App *cmd, ModelOptions &o) {
  cmd->add_option("--backend", o.backend,
                  "interp, jit (default) or gpu; gpu-host runs the GPU kernels on the CPU")
      ->check(CLI::IsMember({"interp", "jit", "gpu", "gpu-host"}));
  cmd->add_flag("--timings", o.timings, "print how long each stage took");
  addThreadsOption(cmd, o);
  addMemoryOption(cmd, o);
}

/// Adds the options of commands that run a method.
void addRunOptions(CLI::App *cmd, ModelOptions &o) {
  cmd->add_option("--method", o.method, "the method to call (default __call__)");
  cmd->add_option("--input", o.inputs, "NAME=SPEC: a .npy file, zeros(..), ones(..), randn(..)");
  cmd->add_option("--mode", o.mode, "eval or train (dropout active)")
      ->check(CLI::IsMember({"eval", "train"}));
  cmd->add_option("--backend", o.backend,
                  "interp, jit (default) or gpu; gpu-host runs the GPU kernels on the CPU")
      ->check(CLI::IsMember({"interp", "jit", "gpu", "gpu-host"}));
  cmd->add_flag("--timings", o.timings, "print how long each stage took");
  addThreadsOption(cmd, o);
  addMemoryOption(cmd, o);
}

/// After "The following arguments were not expected": "did you mean `--epochs`?" for each
/// unknown `--flag` close to an option of the subcommand given.
void suggestOption(CLI::App &app, int argc, char **argv) {
  CLI::App *cmd = &app;
  for (CLI::App *sub : app.get_subcommands())
    cmd = sub;
  std::vector<std::string> names;
  for (const CLI::App *a : {&app, cmd})
    for (const CLI::Option *opt : a->get_options())
      for (const std::string &n : opt->get_lnames())
        names.push_back("--" + n);
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0)
      continue;
    std::string flag = arg.substr(0, arg.find('='));
    if (std::find(names.begin(), names.end(), flag) != names.end())
      continue;
    std::string close = nnx::lang::closestName(flag, names);
    if (!close.empty())
      std::cerr << "`" << flag << "`: did you mean `" << close << "`?\n";
  }
}

/// LLVM's fatal errors (report_fatal_error: a pass that aborts, a backend that cannot select
/// an instruction) are nnx's bugs, not the user's: reported as such, with exit code 70, not
/// LLVM's exit 1. Output written so far is flushed first; no destructor runs (LLVM's state
/// may be inconsistent, libomp's threads may be alive).
void reportLlvmFatalError(void *, const char *reason, bool) {
  std::cout.flush();
  std::cerr << "internal compiler error: please report\n  LLVM: " << reason << "\n";
  std::cerr.flush();
  std::_Exit(70);
}

} // namespace

int main(int argc, char **argv) {
  keepFreedMemory();
  llvm::install_fatal_error_handler(reportLlvmFatalError);
  CLI::App app{"nnxrun — compile and run .nnx neural-network models", "nnxrun"};
  app.require_subcommand(1);
  app.fallthrough(); // --diagnostics may follow the subcommand
  app.set_version_flag("--version", "nnxrun 0.1.0");
  ModelOptions o;
  std::string diagnosticFormat = "text";
  app.add_option("--diagnostics", diagnosticFormat,
                 "text, or json: one JSON object per diagnostic on stderr (JSON Lines)")
      ->check(CLI::IsMember({"text", "json"}));

  CLI::App *check = app.add_subcommand("check", "report diagnostics; exit 0 when clean");
  check->add_option("FILE", o.files, "the .nnx files")->required();
  check->add_option("--model", o.model, "also instantiate this model");
  check->add_option("--method", o.method, "with --input: also trace this method");
  check->add_option("--input", o.inputs, "NAME=SPEC inputs to trace the method with");
  check->add_option("--mode", o.mode, "eval or train: the mode to trace in (default eval)")
      ->check(CLI::IsMember({"eval", "train"}));
  check->add_flag("--json", o.json,
                  "print the diagnostics as one JSON document on stdout (for editors and CI)");
  check->add_flag("--verify-diagnostics", o.verify,
                  "compare diagnostics with `# expected-error {{...}}` comments");
  addMemoryOption(check, o);

  CLI::App *params = app.add_subcommand("params", "print the model's state tree");
  addModelOptions(params, o, true);
  params->add_option("--filter", o.filter, "only these kinds, e.g. Param,BatchStat")
      ->delimiter(',');
  params->add_flag("--json", o.json, "print JSON, with the parameter count and bytes");
  params->add_flag("--summary", o.summary,
                   "a table of every module call of --method for --input: shapes, params, "
                   "FLOPs (like nnx.tabulate)");
  params->add_option("--method", o.method, "with --summary: the method (default __call__)");
  params->add_option("--input", o.inputs, "with --summary: NAME=SPEC inputs of the method");
  params->add_option("--mode", o.mode, "with --summary: eval or train")
      ->check(CLI::IsMember({"eval", "train"}));
  params->add_option("--save", o.save, "also write the initial state to a safetensors file");
  addMemoryOption(params, o);

  CLI::App *run = app.add_subcommand("run", "run a method of the model");
  addModelOptions(run, o, true);
  addRunOptions(run, o);
  run->add_option("--save", o.save, "write the state after the call to a safetensors file");
  run->add_option("--output", o.outputs, "write output i to the i-th .npy file");
  run->add_flag("--json", o.json, "print outputs as JSON");
  run->add_option("--capture", o.capture,
                  "return the values sown into these kinds, e.g. intermediates (Intermediate)")
      ->delimiter(',');
  run->add_option("--capture-save", o.captureSave,
                  "write the captured values to a safetensors file");
  run->add_option("--repeat", o.repeat,
                  "time N more calls, each from the same state (min and median in --timings)")
      ->check(CLI::Range(1, 1000000));

  CLI::App *grad = app.add_subcommand("grad", "write the gradients of a loss to safetensors");
  addModelOptions(grad, o, true);
  addRunOptions(grad, o);
  grad->add_option("--loss", o.loss, "the loss function: loss(model, inputs...) -> scalar")
      ->required();
  grad->add_option("--output", o.outputs, "the safetensors file to write")->required();

  CLI::App *train = app.add_subcommand("train", "train the model on a data set");
  addModelOptions(train, o, true);
  train->add_option("--loss", o.loss, "the loss function: loss(model, x, y, ...) -> scalar")
      ->required();
  addDataOptions(train, o);
  train->add_option("--val-data", o.valData, "evaluation data after every epoch, like --data");
  train->add_option("--holdout", o.holdout, "fraction held out for evaluation, e.g. 0.2");
  train->add_option("--optimizer", o.optimizer, "sgd, adam or adamw (default sgd)");
  // --learning-rate: optax's name for it.
  train->add_option("--lr,--learning-rate", o.lr,
                    "learning rate or schedule, e.g. 0.01 or 'cosine_decay_schedule(0.01, 1000)' "
                    "(default 0.1 for sgd, 0.001 otherwise)");
  train->add_option("--momentum", o.momentum, "sgd momentum (default none)");
  train->add_option("--weight-decay", o.weightDecay, "adamw's weight decay (default 1e-4)")
      ->check(CLI::NonNegativeNumber);
  train->add_flag("--weight-decay-mask", o.weightDecayMask,
                  "adamw: decay kernels and embeddings only, not biases and norm scales");
  train->add_option("--clip-norm", o.clipNorm,
                    "clip the gradients' global norm to this (optax.clip_by_global_norm)");
  train->add_option("--batch", o.batch, "examples per step (default 32)");
  train->add_option("--stage", o.stage,
                    "print the train step at this stage (nnx, linalg, llvm, gpu or ptx) instead "
                    "of training")
      ->check(CLI::IsMember({"nnx", "linalg", "llvm", "gpu", "ptx"}));
  train->add_option("--gpu-arch", o.gpuArch,
                    "the GPU for --stage ptx (default: the device's, else sm_80)");
  train->add_option("--epochs", o.epochs, "passes over the training data");
  train->add_option("--steps", o.steps, "train steps (instead of --epochs)");
  train->add_option("--resume", o.resume,
                    "continue a run from its checkpoint: --epochs/--steps count from the start");
  train->add_option("--log", o.logs, "write metrics per step and epoch to .jsonl or .csv");
  train->add_option("--checkpoint-dir", o.checkpointDir, "directory of periodic checkpoints");
  train->add_option("--checkpoint-every", o.checkpointEvery,
                    "write a checkpoint every N steps (`500`) or epochs (`2epochs`)");
  train->add_option("--keep", o.keep, "periodic checkpoints kept (default 3; 0: all)");
  train->add_option("--best", o.best,
                    "keep best.safetensors by this evaluation value (loss or a --metric)");
  train->add_option("--early-stopping", o.patience,
                    "stop after N epochs without improvement of --best (default loss)");
  train->add_option("--save", o.save, "write all state after training (or when interrupted)");
  addDataRunOptions(train, o);

  CLI::App *evalCmd = app.add_subcommand("eval", "loss and metrics of a model on a data set");
  addModelOptions(evalCmd, o, true);
  evalCmd->add_option("--loss", o.loss, "the loss function: loss(model, x, y, ...) -> scalar")
      ->required();
  addDataOptions(evalCmd, o);
  addDataRunOptions(evalCmd, o);

  CLI::App *predict = app.add_subcommand("predict", "the model's outputs for a data set");
  addModelOptions(predict, o, true);
  predict->add_option("--data", o.data, "the inputs: X.npy, NAME=X.npy or a CSV/CSV.gz file")
      ->required();
  predict->add_option("--label-cols", o.labelCols,
                      "label columns of a CSV to leave out (indices or header names)");
  predict->add_option("--method", o.method,
                      "the method, or a top-level function taking the model first (default "
                      "__call__)");
  predict->add_option("--output", o.outputs, "write the predictions to a .npy or .csv file")
      ->expected(1);
  predict->add_flag("--argmax", o.argmax, "write the index of the largest output (the class)");
  predict->add_option("--batch", o.batch, "examples per call (default 256)");
  addDataRunOptions(predict, o);

  PlotOptions plotOptions;
  CLI::App *plot = app.add_subcommand("plot", "draw the loss and metric curves of a train --log");
  plot->add_option("LOG", plotOptions.log, "the .jsonl log of nnxrun train --log")->required();
  plot->add_option("-o,--output", plotOptions.output, "the PNG to write (default: LOG.png)");
  plot->add_option("--size", plotOptions.size, "WIDTHxHEIGHT in pixels (default 900x700)");

  FmtOptions fmtOptions;
  CLI::App *fmt = app.add_subcommand("fmt", "rewrite .nnx files in the canonical layout");
  fmt->add_option("PATH", fmtOptions.paths, "files, directories of .nnx files, or - for stdin")
      ->required();
  fmt->add_flag("--check", fmtOptions.check,
                "write nothing; exit 1 and name the files that are not formatted");
  fmt->add_flag("--stdout", fmtOptions.toStdout, "print the formatted text instead of writing");

  CLI::App *lsp = app.add_subcommand("lsp", "the language server (LSP over stdin/stdout)");
  bool stdio = true;
  lsp->add_flag("--stdio", stdio, "talk over stdin/stdout (the only transport; editors pass it)");

  CLI::App *test = app.add_subcommand("test", "run the `test` blocks of files");
  test->add_option("FILE", o.files, "the .nnx files")->required();
  test->add_option("--backend", o.backend, "interp (default), jit, gpu or gpu-host")
      ->check(CLI::IsMember({"interp", "jit", "gpu", "gpu-host"}));
  test->add_option("--seed", o.seed, "seed for models created in tests");
  addThreadsOption(test, o);
  addMemoryOption(test, o);

  CacheOptions cacheOptions;
  CLI::App *cacheCmd = app.add_subcommand(
      "cache", "show the compile cache and the kernels shipped with this binary");
  cacheCmd->add_option("--build-kernels", cacheOptions.buildKernels,
                       "compile this host's GEMM kernels into DIR (the build ships them in "
                       "<prefix>/lib/nnx/kernels)")
      ->check(CLI::Validator(
          [](std::string &dir) { return dir.empty() ? std::string("DIR is empty") : ""; },
          "DIR"));

  CLI::App *emit = app.add_subcommand("emit", "print an intermediate stage");
  addModelOptions(emit, o, false);
  addRunOptions(emit, o);
  emit->add_option("--stage", o.stage, "ast, nnx, linalg, llvm, gpu (launches) or ptx")
      ->required()
      ->check(CLI::IsMember({"ast", "nnx", "linalg", "llvm", "gpu", "ptx"}));
  emit->add_option("--gpu-arch", o.gpuArch,
                   "the GPU for --stage ptx: sm_80, sm_86, sm_89 or sm_90 (default: the "
                   "device's, else sm_80)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int code = app.exit(e);
    if (dynamic_cast<const CLI::ExtrasError *>(&e))
      suggestOption(app, argc, argv);
    return code == 0 ? 0 : 2;
  }

  for (CLI::App *sub : app.get_subcommands())
    for (const CLI::Option *opt : sub->get_options())
      if (opt->count() > 0)
        o.given.insert(opt->get_name());
  if (!o.maxMemory.empty()) {
    std::optional<int64_t> bytes = nnx::rt::parseByteSize(o.maxMemory);
    if (!bytes) {
      std::cerr << "--max-memory: `" << o.maxMemory
                << "` is not a size (bytes, or a number with K, M, G or T, e.g. 8G)\n"
                << "Run with --help for more information.\n";
      return 2;
    }
    nnx::rt::setMemoryBudget(*bytes);
  }
  Session::setLoadPolicy(o.allowMissing, o.allowExtra);
  if (diagnosticFormat == "json")
    nnx::lang::setDiagnosticFormat(nnx::lang::DiagnosticFormat::Json);
  if (o.threads > 0)
    nnx::codegen::setThreadCount(o.threads);
  if (o.noCache)
    nnx::codegen::CompileCache::get().setEnabled(false);
  try {
    if (*check)
      return runCheck(o);
    if (*params)
      return runParams(o);
    // run, grad, train, eval and predict default to the JIT; test and emit to the
    // interpreter (the reference semantics, and IR without a backend).
    if ((*run || *grad) && (*run ? run : grad)->count("--backend") == 0)
      o.backend = "jit";
    if (*run)
      return runRun(o);
    if (*test)
      return runTest(o);
    if (*grad)
      return runGrad(o);
    if (*plot)
      return runPlot(plotOptions);
    if (*cacheCmd)
      return runCache(cacheOptions);
    if (*fmt)
      return runFmt(fmtOptions);
    if (*lsp)
      return runLsp();
    if (*train || *evalCmd || *predict) {
      CLI::App *cmd = *train ? train : *evalCmd ? evalCmd : predict;
      if (cmd->count("--backend") == 0)
        o.backend = "jit";
      if (*train)
        return runTrain(o);
      if (*evalCmd)
        return runEval(o);
      if (predict->count("--batch") == 0)
        o.batch = 256;
      return runPredict(o);
    }
    return runEmit(o);
  } catch (const nnx::rt::Error &e) {
    reportRuntimeError(e);
    return 1;
  } catch (const std::exception &e) {
    std::cerr << "internal compiler error: please report\n  " << e.what() << "\n";
    return 70;
  }
}
