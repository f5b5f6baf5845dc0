//===- FuzzJit.cpp - The differential fuzzer: the CPU JIT vs the interpreter ---===//
//
// Each input chooses a well-typed program (ProgramGenerator.h); it is traced once and run on
// the interpreter (the oracle) and on the JIT with the same standard-normal inputs. A finding:
// any output element that differs beyond 1e-4 relative to the output's scale (the JIT uses
// fused multiply-adds and polynomial exp/log/tanh, the interpreter libm), a diagnostic for a
// program the generator made well-typed, an internal error, or a crash. The program is
// printed before aborting, so a finding is a .nnx file to keep in tests/ (NNX_FUZZ_JIT_PRINT=1
// prints every program).
//
//===----------------------------------------------------------------------===//
#include "tests/fuzz/ProgramGenerator.h"
#include "tools/nnxrun/Session.h"

#include "codegen/CompileCache.h"
#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <unistd.h>

namespace {

[[noreturn]] void finding(const nnx::fuzz::GeneratedProgram &program, const std::string &what) {
  std::fprintf(stderr, "fuzz_jit finding: %s\n--- program ---\n%s--- inputs ---\n", what.c_str(),
               program.source.c_str());
  for (const std::string &input : program.inputs)
    std::fprintf(stderr, "--input '%s'\n", input.c_str());
  std::abort();
}

/// Runs the traced method on `backend`.
std::vector<nnx::rt::Tensor> runOn(nnx::tool::Session &session, mlir::func::FuncOp func,
                                   nnx::tool::Backend backend,
                                   const std::vector<nnx::tool::InputSpec> &inputs) {
  nnx::rt::State state; // M() has no variables
  return session.execute(func, backend, state, inputs, 1);
}

/// The first element where `jit` differs from `interp` beyond tolerance, as text; "" if none.
std::string difference(const nnx::rt::Tensor &interp, const nnx::rt::Tensor &jit) {
  if (interp.shape() != jit.shape())
    return "shapes " + nnx::rt::formatShape(interp.shape()) + " vs " +
           nnx::rt::formatShape(jit.shape());
  double scale = 0;
  for (int64_t i = 0; i < interp.numel(); ++i)
    if (std::isfinite(interp.at(i)))
      scale = std::max(scale, std::fabs(interp.at(i)));
  for (int64_t i = 0; i < interp.numel(); ++i) {
    double a = interp.at(i), b = jit.at(i);
    if (!std::isfinite(a) || std::fabs(a) > 1e30) // overflow: the approximations may differ
      continue;
    if (std::isnan(b) || std::fabs(a - b) > 1e-4 * (1 + scale))
      return "element " + std::to_string(i) + ": interpreter " + std::to_string(a) + ", JIT " +
             std::to_string(b) + " (scale " + std::to_string(scale) + ")";
  }
  return "";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nnx::rt::setMemoryBudget(int64_t(256) << 20);
  nnx::codegen::CompileCache::get().setEnabled(false); // do not fill the disk cache
  nnx::fuzz::GeneratedProgram program = nnx::fuzz::generateProgram(data, size);
  if (std::getenv("NNX_FUZZ_JIT_PRINT")) // to see what a corpus entry tests
    std::fprintf(stderr, "%s", program.source.c_str());
  std::string path = "/tmp/nnx-fuzz-jit-" + std::to_string(::getpid()) + ".nnx";
  {
    std::ofstream out(path);
    out << program.source;
  }
  try {
    nnx::tool::Session session;
    if (!session.loadFiles({path}))
      finding(program, "the program does not load");
    nnx::lang::ModuleInstance *root = session.instantiate("M()", {});
    if (!root)
      finding(program, "M() does not instantiate");
    std::vector<nnx::tool::InputSpec> inputs = session.parseInputs(program.inputs, 0);
    mlir::func::FuncOp func = session.traceMethod(root, "__call__", inputs, {});
    if (!func) {
      session.flushDiagnostics();
      finding(program, "the program does not trace");
    }
    std::vector<nnx::rt::Tensor> expected =
        runOn(session, func, nnx::tool::Backend::Interp, inputs);
    std::vector<nnx::rt::Tensor> actual = runOn(session, func, nnx::tool::Backend::Jit, inputs);
    for (size_t i = 0; i < expected.size(); ++i) {
      std::string diff = difference(expected[i], actual[i]);
      if (!diff.empty())
        finding(program, "output " + std::to_string(i) + " differs: " + diff);
    }
  } catch (const std::exception &error) {
    finding(program, std::string("exception: ") + error.what());
  }
  return 0;
}
