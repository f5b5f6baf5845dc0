//===- CheckCommand.cpp - `nnxrun check` ----------------------------------===//
//
// Reports every diagnostic of the given files without running anything: syntax, names,
// and — by tracing every `test` block and, with --model/--input, the given method — shapes
// and dtypes. With --verify-diagnostics the diagnostics are compared with the files'
// `expected-error` comments instead of printed (the form lit tests use).
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

#include "lang/Resolve.h"
#include "lang/Verify.h"

#include <iostream>

namespace nnx::tool {

/// Loads, resolves and traces one file; diagnostics stay in the session.
static void checkFile(Session &s, const std::string &file, const ModelOptions &o) {
  if (!s.loadFiles({file}))
    return;
  if (!lang::resolveProgram(s.program()))
    return;
  // --mode train checks the code paths of train mode (BatchNorm's batch statistics, Dropout):
  // tests, the model and the method are traced with `training` true.
  lang::TraceOptions eval;
  eval.training = o.mode == "train";
  uint32_t fileId = s.program().sources().findFile(file);
  if (const lang::FileAST *ast = s.program().fileAST(fileId)) {
    unsigned n = 0;
    for (const auto &test : ast->tests) {
      lang::Evaluator evaluator(s.program(), s.module(), s.space(), eval);
      evaluator.traceTest(*test, "test_" + std::to_string(n++));
    }
  }
  if (o.model.empty())
    return;
  lang::ModuleInstance *root = s.instantiate(o.model, eval);
  if (root && !o.inputs.empty())
    s.traceMethod(root, o.method, s.parseInputs(o.inputs, o.seed), eval);
}

int runCheck(const ModelOptions &o) {
  int status = 0;
  for (const std::string &file : o.files) {
    Session s;
    checkFile(s, file, o);
    if (o.verify) {
      std::vector<uint32_t> ids;
      uint32_t id = s.program().sources().findFile(file);
      if (id)
        ids.push_back(id);
      if (!lang::verifyDiagnostics(s.program().diags(), ids, std::cerr))
        status = 1;
      continue;
    }
    if (s.program().diags().hasErrors())
      status = s.fail();
    else
      s.flushDiagnostics();
  }
  return status;
}

} // namespace nnx::tool
