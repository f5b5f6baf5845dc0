//===- FuzzFrontend.cpp - libFuzzer target for the front end --------------===//
//
// `nnxrun check` on a buffer: parse, resolve, and trace every `test` block of the input as one
// .nnx file (with the stdlib loaded), in process; and `nnxrun fmt` on it: an input that parses
// must format to a text that parses and formats to itself (the formatter itself throws if it
// changed a token). Any input must end in diagnostics or none; a crash, hang, sanitizer report,
// trap or escaping exception is a finding. The memory budget is small, so a fuzzed shape
// cannot make the fuzzer itself run out of memory.
//
//===----------------------------------------------------------------------===//
#include "ir/NNXDialect.h"
#include "lang/Evaluator.h"
#include "lang/Instance.h"
#include "lang/Program.h"
#include "lang/Resolve.h"
#include "lang/syntax/Formatter.h"
#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nnx::rt::setMemoryBudget(int64_t(64) << 20);
  // One context for the whole run (making one per input halved the executions per second);
  // each input traces into a module of its own.
  static mlir::MLIRContext *context = [] {
    mlir::DialectRegistry registry;
    nnx::ir::registerNNXDialects(registry);
    auto *created = new mlir::MLIRContext(registry, mlir::MLIRContext::Threading::DISABLED);
    created->loadDialect<nnx::ir::NNXDialect, mlir::func::FuncDialect>();
    return created;
  }();
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(mlir::UnknownLoc::get(context));
  std::string text(reinterpret_cast<const char *>(data), size);
  {
    nnx::lang::SourceManager sources;
    nnx::lang::DiagnosticEngine diags(sources);
    uint32_t id = sources.addFile("fmt.nnx", text);
    if (std::optional<std::string> once = nnx::lang::formatFile(id, sources, diags)) {
      std::optional<std::string> twice =
          nnx::lang::formatFile(sources.addFile("fmt2.nnx", *once), sources, diags);
      if (!twice || *twice != *once)
        __builtin_trap(); // the layout does not parse, or is not idempotent
    }
  }
  nnx::lang::Program program;
  nnx::lang::StateSpace space;
  try {
    if (!program.loadStdlib() ||
        !program.loadText("fuzz.nnx", text) ||
        !nnx::lang::resolveProgram(program))
      return 0;
    for (const nnx::lang::FileAST *file : program.userFiles()) {
      unsigned n = 0;
      for (const auto &test : file->tests) {
        nnx::lang::Evaluator evaluator(program, *module, space, nnx::lang::TraceOptions{});
        evaluator.traceTest(*test, "test_" + std::to_string(n++));
      }
    }
  } catch (const nnx::rt::Error &) { // reported as a diagnostic by nnxrun
  }
  return 0;
}
