//===- Session.h - The pipeline shared by nnxrun's commands ---------------===//
//
// One nnxrun invocation: an MLIRContext with the dialects we use, a Program (stdlib + files),
// and the steps every command strings together — load files, instantiate the --model,
// create or load its state, parse inputs, trace a method, execute it on a backend, and write
// results back. Failures are diagnostics: the step returns false/null after reporting, and
// the command renders them and exits 1.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Evaluator.h"
#include "lang/Program.h"
#include "runtime/SafeTensors.h"
#include "runtime/State.h"
#include "tools/nnxrun/InputSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nnx::tool {

/// Which executor runs traced functions: the interpreter, the CPU JIT, the GPU's kernels
/// with their blocks and threads run as loops on the CPU (`gpu-host`: the GPU lowering,
/// checkable without a GPU; codegen/gpu/GpuPipeline.h), or the kernels on a CUDA device.
enum class Backend { Interp, Jit, GpuHost, Gpu };

/// The backend `name` (--backend) names: interp, jit, gpu-host or gpu. `gpu` throws
/// rt::Error E0601 without a CUDA driver or device (the driver's error named), or when the
/// device is older than sm_80.
Backend parseBackend(const std::string &name);

/// Throws the diagnostic for a failed compile: E0302 ("not supported on the GPU yet", with
/// `note`) when the error's code is std::errc::not_supported (emitPtx, checkGpuSupport),
/// else std::logic_error ("`what` failed (stage: `stage`)"): a fault of nnx, not of the
/// model.
[[noreturn]] void throwCompileError(llvm::Error error, const std::string &what,
                                    const std::string &stage, const std::string &note);

/// Wall-clock milliseconds of pipeline stages, printed by --timings.
struct Timings {
  std::vector<std::pair<std::string, double>> stages;
  void add(const std::string &stage, double ms) { stages.push_back({stage, ms}); }
  void print() const;
};

/// Milliseconds since `start`.
double millisSince(std::chrono::steady_clock::time_point start);

/// The state of one nnxrun invocation.
/// Throws rt::Error E0236, with the total and the largest variable, when the state of
/// `specs` does not fit in the memory budget (checked before anything is allocated).
void requireStateFits(const std::vector<rt::VarSpec> &specs);

class Session {
public:
  Session();
  ~Session();

  lang::Program &program() { return *program_; }
  mlir::MLIRContext &context() { return *context_; }
  mlir::ModuleOp module() { return *module_; }
  lang::StateSpace &space() { return space_; }
  Timings &timings() { return timings_; }

  /// Loads the stdlib and `files`. False after reporting errors.
  bool loadFiles(const std::vector<std::string> &files);

  /// Parses and instantiates the --model expression (registered as source `sourceName`) at
  /// `path`, with `locals` visible to it. Null after reporting errors.
  lang::ModuleInstance *instantiate(const std::string &modelExpr,
                                    const lang::TraceOptions &options,
                                    const std::string &sourceName = "<--model>",
                                    const std::string &path = "",
                                    const std::vector<std::pair<std::string, lang::Value>> &locals = {});

  /// The top-level function `name` (given by option `flag`, e.g. "--loss"), or null after
  /// reporting E0407.
  const lang::FnDecl *findFunction(const std::string &name, const std::string &flag);

  /// Checks the variable kinds of `--filter`: each a built-in kind or one the program declares
  /// with `variable Name`; false after reporting E0409 (with "did you mean") for each other.
  bool checkKinds(const std::vector<std::string> &kinds, const std::string &flag);

  /// Adds `source` (code nnxrun generates, e.g. a train step) to the program, once.
  void addSource(const std::string &source);

  /// Traces the top-level function `fnName` with static arguments `bound` (by parameter
  /// name) and tensor `inputs`. Null after reporting errors.
  mlir::func::FuncOp traceFunction(const std::string &fnName,
                                   const std::vector<std::pair<std::string, lang::Value>> &bound,
                                   const std::vector<InputSpec> &inputs,
                                   const lang::TraceOptions &options);

  /// --allow-missing / --allow-extra, for every makeState() of the process (set by main).
  static void setLoadPolicy(bool allowMissing, bool allowExtra);

  /// Creates the state of the instantiated model with `seed`, then overrides it from the
  /// checkpoint `loadPath` when given (OptState, RngKey and RngCount may be absent; notes on
  /// stderr say what was converted, filled or ignored). Throws rt::Error for a bad checkpoint.
  rt::State makeState(uint64_t seed, const std::string &loadPath);

  /// Parses `--input` arguments. Throws rt::Error for malformed ones.
  std::vector<InputSpec> parseInputs(const std::vector<std::string> &args, uint64_t seed);

  /// Traces `method` of `root` for `inputs`. Null after reporting errors (including inputs
  /// that do not fit the method's parameters).
  mlir::func::FuncOp traceMethod(lang::ModuleInstance *root, const std::string &method,
                                 const std::vector<InputSpec> &inputs,
                                 const lang::TraceOptions &options);

  /// Runs `func` with arguments taken from `state` and `inputs`; writes the new state back
  /// into `state` and returns the outputs. With `repeat` > 1, first times `repeat` calls from
  /// copies of `state` and adds their min and median to the timings.
  std::vector<rt::Tensor> execute(mlir::func::FuncOp func, Backend backend, rt::State &state,
                                  const std::vector<InputSpec> &inputs, int repeat = 1);

  /// Renders pending diagnostics to stderr.
  void flushDiagnostics();
  /// Renders pending diagnostics and returns exit code 1.
  int fail();

  /// Colours in diagnostics when stderr is a terminal and NO_COLOR is unset.
  static bool useColor();

private:
  std::unique_ptr<mlir::MLIRContext> context_;
  std::unique_ptr<lang::Program> program_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  lang::StateSpace space_;
  Timings timings_;
  unsigned traceCounter_ = 0;
};

/// Renders a runtime error (bad file, bad checkpoint) as a diagnostic on stderr.
void reportRuntimeError(const std::exception &error);

} // namespace nnx::tool
