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

#include "llvm/Support/Casting.h"

#include "runtime/Error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iostream>
#include <optional>

namespace nnx::tool {

/// Loads, resolves and traces one file; diagnostics stay in the session.
/// The `--input` spec standing for parameter `p` when its type is a tensor type with every
/// extent a literal (`x: f32[3, 4]` gives "x=zeros(3,4,dtype=f32)"); nullopt otherwise (no
/// type, any shape, or a symbolic extent like `B`).
static std::optional<std::string> concreteInput(const lang::Param &p) {
  static const char *kDtypes[] = {"f32", "f64", "i32", "i64", "bool"};
  if (!p.type || !p.type->hasDims || p.variadic ||
      std::find(std::begin(kDtypes), std::end(kDtypes), p.type->name) == std::end(kDtypes))
    return std::nullopt;
  std::string spec = p.name + "=zeros(";
  for (const lang::TypeDim &dim : p.type->dims) {
    auto *n = llvm::dyn_cast_or_null<lang::NumberExpr>(dim.expr.get());
    if (!n || !n->isInt)
      return std::nullopt;
    spec += std::to_string(n->intValue) + ",";
  }
  return spec + "dtype=" + p.type->name + ")";
}

/// Traces every top-level function of `ast` whose parameters all have concrete tensor types,
/// so that `check` finds shape faults in it without a test or a --model (a function is
/// traced as `nnxrun run` would trace it; one returning no tensor is left alone).
static void traceTypedFunctions(Session &s, const lang::FileAST &ast,
                                const lang::TraceOptions &options) {
  for (const auto &fn : ast.functions) {
    std::vector<std::string> specs;
    bool concrete = !fn->params.empty();
    for (const lang::Param &p : fn->params) {
      std::optional<std::string> spec = concreteInput(p);
      concrete &= spec.has_value();
      if (spec)
        specs.push_back(*spec);
    }
    if (concrete)
      s.traceFunction(fn->name, {}, s.parseInputs(specs, 0), options);
  }
}

void traceChecks(Session &s, uint32_t fileId, const lang::TraceOptions &options) {
  const lang::FileAST *ast = s.program().fileAST(fileId);
  if (!ast)
    return;
  unsigned n = 0;
  for (const auto &test : ast->tests) {
    lang::Evaluator evaluator(s.program(), s.module(), s.space(), options);
    evaluator.traceTest(*test, "test_" + std::to_string(n++));
  }
  traceTypedFunctions(s, *ast, options);
}

static void checkFile(Session &s, const std::string &file, const ModelOptions &o) {
  if (!s.loadFiles({file}))
    return;
  if (!lang::resolveProgram(s.program()))
    return;
  // --mode train checks the code paths of train mode (BatchNorm's batch statistics, Dropout):
  // tests, the model and the method are traced with `training` true.
  lang::TraceOptions eval;
  eval.training = o.mode == "train";
  traceChecks(s, s.program().sources().findFile(file), eval);
  if (o.model.empty())
    return;
  lang::ModuleInstance *root = s.instantiate(o.model, eval);
  if (root && !o.inputs.empty())
    s.traceMethod(root, o.method, s.parseInputs(o.inputs, o.seed), eval);
}

/// `check --json`: one JSON document on stdout, {"files": [...], "error_count": N,
/// "warning_count": M, "diagnostics": [each as DiagnosticEngine::toJson]}; exit 1 on errors.
static int checkJson(const ModelOptions &o) {
  nlohmann::ordered_json diagnostics = nlohmann::ordered_json::array();
  unsigned errors = 0, warnings = 0;
  for (const std::string &file : o.files) {
    Session s;
    try {
      checkFile(s, file, o);
    } catch (const rt::Error &e) { // an unreadable file: a diagnostic without a span
      lang::Diagnostic &d = s.program().diags().error(e.code(), {}, e.what());
      for (const std::string &n : e.notes())
        d.note(n);
    }
    const lang::DiagnosticEngine &diags = s.program().diags();
    for (const lang::Diagnostic &d : diags.diagnostics()) {
      diagnostics.push_back(nlohmann::ordered_json::parse(diags.toJson(d)));
      (d.severity == lang::Severity::Error ? errors : warnings) += 1;
    }
  }
  nlohmann::ordered_json doc{{"files", o.files},
                             {"error_count", errors},
                             {"warning_count", warnings},
                             {"diagnostics", diagnostics}};
  std::cout << doc.dump(2) << "\n";
  return errors ? 1 : 0;
}

int runCheck(const ModelOptions &o) {
  if (o.json)
    return checkJson(o);
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
