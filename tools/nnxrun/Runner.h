//===- Runner.h - A traced function, compiled once, run many times --------===//
//
// Binds a traced function's calling convention (ir/Signature.h) to a State and named input
// tensors, and runs it on the interpreter or on the CPU JIT (compiled once, at
// construction). Used for single calls (`run`, `test`) and for the thousands of train steps
// of `train`, where the JIT's per-call cost is a descriptor per argument and nothing else.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/State.h"
#include "runtime/Tensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nnx::codegen {
class CpuJit;
}

namespace nnx::tool {

enum class Backend;
struct Timings;

/// A traced function bound to a backend.
class Runner {
public:
  /// Prepares `func` (a function of `module`); compiles it when `backend` is the JIT,
  /// adding the compile time to `timings`. Throws std::logic_error if the JIT fails.
  Runner(mlir::ModuleOp module, mlir::func::FuncOp func, Backend backend, Timings &timings);
  ~Runner();

  /// Runs with state arguments from `state` and the named `inputs`; writes the new state
  /// back into `state` and returns the outputs (in order).
  std::vector<rt::Tensor> run(rt::State &state,
                              const std::vector<std::pair<std::string, rt::Tensor>> &inputs);

  /// The `nnx.name` label of every output ("" when unnamed).
  std::vector<std::string> outputLabels() const;

  /// Whether the JIT loaded the compiled function from the compile cache.
  bool fromCache() const;

private:
  mlir::func::FuncOp func_;
  std::unique_ptr<codegen::CpuJit> jit_;
  /// Per argument: state path or input name.
  std::vector<std::pair<bool, std::string>> args_;
  /// Per result: state path (isState) or output label.
  std::vector<std::pair<bool, std::string>> results_;
};

} // namespace nnx::tool
