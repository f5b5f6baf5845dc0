//===- Session.cpp - The pipeline shared by nnxrun's commands -------------===//
//
// See Session.h. The MLIRContext registers the nnx dialect and the dialects the CPU code
// generator lowers to, nothing more (InitAllDialects would cost a minute of compile time and
// milliseconds at every start).
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Session.h"

#include "codegen/CpuJit.h"
#include "interp/Interpreter.h"
#include "ir/NNXDialect.h"
#include "ir/Signature.h"
#include "ir/Types.h"
#include "lang/syntax/Parser.h"
#include "runtime/Error.h"
#include "runtime/SafeTensors.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <iostream>
#include <unistd.h>

using namespace mlir;

namespace nnx::tool {

double millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void Timings::print() const {
  for (const auto &[stage, ms] : stages)
    std::fprintf(stderr, "timing: %-12s %9.2f ms\n", stage.c_str(), ms);
}

bool Session::useColor() {
  return isatty(STDERR_FILENO) && !std::getenv("NO_COLOR");
}

void reportRuntimeError(const std::exception &error) {
  lang::SourceManager none;
  lang::DiagnosticEngine diags(none);
  const auto *rtError = dynamic_cast<const rt::Error *>(&error);
  lang::Diagnostic &d = diags.error(rtError ? rtError->code() : "E0500", {}, error.what());
  if (rtError)
    for (const std::string &n : rtError->notes())
      d.note(n);
  diags.flush(std::cerr, Session::useColor());
}

Session::Session() {
  DialectRegistry registry;
  ir::registerNNXDialects(registry);
  codegen::registerCodegenDialects(registry);
  context_ = std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
  context_->loadDialect<ir::NNXDialect, func::FuncDialect>();
  program_ = std::make_unique<lang::Program>();
  module_ = ModuleOp::create(UnknownLoc::get(context_.get()));
}

Session::~Session() = default;

void Session::flushDiagnostics() { program_->diags().flush(std::cerr, useColor()); }

int Session::fail() {
  flushDiagnostics();
  unsigned n = program_->diags().errorCount();
  if (n > 1)
    std::cerr << "error: " << n << " errors\n";
  return 1;
}

bool Session::loadFiles(const std::vector<std::string> &files) {
  auto start = std::chrono::steady_clock::now();
  bool ok = program_->loadStdlib();
  for (const std::string &f : files)
    ok &= program_->loadFile(f);
  timings_.add("parse", millisSince(start));
  return ok && !program_->diags().hasErrors();
}

lang::ModuleInstance *Session::instantiate(const std::string &modelExpr,
                                           const lang::TraceOptions &options) {
  auto start = std::chrono::steady_clock::now();
  uint32_t id = program_->addText("<--model>", modelExpr);
  lang::ExprPtr expr = lang::parseExpression(id, program_->sources(), program_->diags());
  if (!expr)
    return nullptr;
  lang::Evaluator evaluator(*program_, *module_, space_, options);
  lang::ModuleInstance *root = evaluator.instantiateRoot(*expr);
  timings_.add("instantiate", millisSince(start));
  return root;
}

rt::State Session::makeState(uint64_t seed, const std::string &loadPath) {
  auto start = std::chrono::steady_clock::now();
  rt::State state = rt::initializeState(space_.specs(), seed);
  if (!loadPath.empty())
    rt::loadState(state, rt::readSafeTensors(loadPath), loadPath);
  timings_.add("init-state", millisSince(start));
  return state;
}

std::vector<InputSpec> Session::parseInputs(const std::vector<std::string> &args, uint64_t seed) {
  std::vector<InputSpec> specs;
  for (const std::string &a : args) {
    specs.push_back(parseInputSpec(a, seed));
    for (size_t i = 0; i + 1 < specs.size(); ++i)
      if (specs[i].name == specs.back().name)
        throw rt::Error("E0403", "input `" + specs.back().name + "` is given twice");
  }
  return specs;
}

func::FuncOp Session::traceMethod(lang::ModuleInstance *root, const std::string &method,
                                  const std::vector<InputSpec> &inputs,
                                  const lang::TraceOptions &options) {
  auto start = std::chrono::steady_clock::now();
  lang::Evaluator evaluator(*program_, *module_, space_, options);
  uint32_t id = program_->addText("<--method>", method);
  lang::Span methodSpan{id, 0, static_cast<uint32_t>(method.size())};
  const lang::FnDecl *fn = evaluator.findMethod(root, method, methodSpan);
  if (!fn)
    return nullptr;
  std::string what = root->decl->name + "." + method;
  std::vector<lang::EntryInput> entries;
  for (const InputSpec &in : inputs) {
    auto param = std::find_if(fn->params.begin(), fn->params.end(),
                              [&](const lang::Param &p) { return p.name == in.name; });
    if (param == fn->params.end()) {
      std::string names;
      for (const lang::Param &p : fn->params)
        names += (names.empty() ? "" : ", ") + p.name;
      evaluator.error("E0402", fn->nameSpan, "input `" + in.name + "` matches no parameter of `" + what + "`")
          .withLabel(fn->params.empty() ? "it takes no inputs" : "its parameters are: " + names);
      return nullptr;
    }
    lang::EntryInput entry;
    entry.name = in.name;
    entry.description = in.text;
    if (in.tensor) {
      entry.type = ir::tensorType(context_.get(), in.tensor->dtype(), in.tensor->shape());
    } else {
      entry.staticValue = in.isInt ? lang::Value::integer(static_cast<int64_t>(*in.number))
                                   : lang::Value::real(*in.number);
    }
    entries.push_back(entry);
  }
  for (const lang::Param &p : fn->params) {
    bool given = std::any_of(inputs.begin(), inputs.end(),
                             [&](const InputSpec &in) { return in.name == p.name; });
    if (!given && !p.defaultValue) {
      evaluator.error("E0402", p.span, "missing input for parameter `" + p.name + "` of `" + what + "`")
          .withLabel("no --input " + p.name + "=... was given")
          .help("pass it with --input " + p.name + "=zeros(...), =ones(...), =randn(...) or =file.npy");
      return nullptr;
    }
  }
  std::string name = root->decl->name + "_" + method;
  if (traceCounter_++ > 0)
    name += "_" + std::to_string(traceCounter_);
  func::FuncOp func = evaluator.traceMethod(root, *fn, entries, name);
  timings_.add("trace", millisSince(start));
  if (func && failed(verify(func))) {
    throw std::logic_error("the traced IR of `" + what + "` does not verify (stage: trace)");
  }
  return func;
}

std::vector<rt::Tensor> Session::execute(func::FuncOp func, Backend backend, rt::State &state,
                                         const std::vector<InputSpec> &inputs) {
  ir::FunctionSignature sig = ir::getSignature(func);
  std::vector<rt::Tensor> args;
  for (const ir::SignatureSlot &slot : sig.args) {
    if (slot.isState) {
      rt::StateVar *var = state.find(slot.name);
      if (!var)
        throw std::logic_error("state variable `" + slot.name + "` is missing (stage: execute)");
      args.push_back(var->value);
      continue;
    }
    auto in = std::find_if(inputs.begin(), inputs.end(),
                           [&](const InputSpec &s) { return s.name == slot.name; });
    if (in == inputs.end() || !in->tensor)
      throw std::logic_error("input `" + slot.name + "` is missing (stage: execute)");
    args.push_back(*in->tensor);
  }
  std::vector<rt::Tensor> results;
  if (backend == Backend::Interp) {
    auto start = std::chrono::steady_clock::now();
    results = interp::run(func, args);
    timings_.add("interpret", millisSince(start));
  } else {
    auto start = std::chrono::steady_clock::now();
    auto jit = codegen::CpuJit::compile(*module_, func.getSymName());
    if (!jit)
      throw std::logic_error("JIT compilation failed (stage: codegen): " +
                             llvm::toString(jit.takeError()));
    timings_.add("jit-lower", (*jit)->lowerMillis());
    timings_.add("jit-llvm", (*jit)->llvmMillis());
    timings_.add("jit-total", millisSince(start));
    start = std::chrono::steady_clock::now();
    results = (*jit)->run(args);
    timings_.add("run", millisSince(start));
  }
  std::vector<rt::Tensor> outputs;
  for (size_t i = 0; i < sig.results.size(); ++i) {
    if (!sig.results[i].isState) {
      outputs.push_back(results[i]);
      continue;
    }
    rt::StateVar *var = state.find(sig.results[i].name);
    if (var)
      var->value = results[i];
  }
  return outputs;
}

} // namespace nnx::tool
