//===- TestCommand.cpp - `nnxrun test` ------------------------------------===//
//
// Runs the `test` blocks of each file. A test is traced like a method with no inputs: the
// models it creates get their state from --seed, static asserts (shapes, hyper-parameters)
// are decided while tracing, and asserts on tensor values become outputs checked after the
// run. A test that does not compile, or whose compile or run ends in a diagnostic (E0302
// under --backend gpu-host), fails with its diagnostics and the others still run. The last
// line is "N passed, M failed".
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

#include "lang/Resolve.h"
#include "runtime/Error.h"

#include <iostream>

namespace nnx::tool {

/// Runs one test; prints its line and returns whether it passed. A diagnostic while compiling
/// or running it (the GPU refusing an op under --backend gpu-host, a memory budget) fails this
/// test only.
static bool runOneTest(Session &s, const lang::TestDecl &test, const std::string &file,
                       unsigned index, Backend backend, const ModelOptions &o) {
  std::cout << "test " << file << " \"" << test.name << "\" ... " << std::flush;
  lang::Evaluator evaluator(s.program(), s.module(), s.space(), {});
  std::optional<lang::TestTrace> trace = evaluator.traceTest(test, "test_" + std::to_string(index));
  if (!trace) {
    std::cout << "FAILED (does not compile)\n";
    s.flushDiagnostics();
    return false;
  }
  const lang::SourceManager &sources = s.program().sources();
  if (!trace->staticFailures.empty()) {
    std::cout << "FAILED\n";
    for (auto &[span, message] : trace->staticFailures)
      std::cout << "  " << sources.location(span) << ": " << message << "\n";
    return false;
  }
  std::vector<rt::Tensor> outputs;
  try {
    rt::State state = rt::initializeState(s.space().specs(), o.seed);
    outputs = s.execute(trace->func, backend, state, {});
  } catch (const rt::Error &error) {
    std::cout << "FAILED (" << error.code() << ")\n" << std::flush;
    reportRuntimeError(error);
    return false;
  }
  bool ok = true;
  for (const lang::TracedAssert &a : trace->asserts) {
    if (outputs.at(a.outputIndex).at(0) != 0)
      continue;
    if (ok)
      std::cout << "FAILED\n";
    ok = false;
    std::cout << "  " << sources.location(a.span) << ": " << a.message << "\n";
  }
  if (ok)
    std::cout << "ok\n";
  return ok;
}

int runTest(const ModelOptions &o) {
  Backend backend = parseBackend(o.backend); // an unusable backend (E0601) stops the run
  unsigned passed = 0, failed = 0;
  for (const std::string &file : o.files) {
    Session s;
    if (!s.loadFiles({file}) || !lang::resolveProgram(s.program())) {
      s.fail();
      std::cout << "test " << file << " ... FAILED (does not compile)\n";
      ++failed;
      continue;
    }
    const lang::FileAST *ast = s.program().fileAST(s.program().sources().findFile(file));
    unsigned index = 0;
    for (const auto &test : ast->tests)
      (runOneTest(s, *test, file, index++, backend, o) ? passed : failed)++;
  }
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}

} // namespace nnx::tool
