//===- Session.cpp - The pipeline shared by nnxrun's commands -------------===//
//
// See Session.h. The MLIRContext registers the nnx dialect and the dialects the CPU code
// generator lowers to, nothing more (InitAllDialects would cost a minute of compile time and
// milliseconds at every start).
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Session.h"

#include "runtime/MemoryBudget.h"
#include "tools/nnxrun/Runner.h"

#include "codegen/CpuJit.h"
#include "codegen/gpu/GpuPipeline.h"
#include "ir/NNXDialect.h"
#include "ir/Signature.h"
#include "ir/Types.h"
#include "lang/syntax/Parser.h"
#include "runtime/Error.h"
#include "runtime/SafeTensors.h"
#include "runtime/gpu/CudaDriver.h"

#include "mlir/IR/DialectRegistry.h"

#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <system_error>
#include <unistd.h>

using namespace mlir;

namespace nnx::tool {

void throwCompileError(llvm::Error error, const std::string &what, const std::string &stage,
                       const std::string &note) {
  std::string message;
  bool unsupported = false;
  llvm::handleAllErrors(std::move(error), [&](const llvm::ErrorInfoBase &info) {
    message += (message.empty() ? "" : "\n") + info.message();
    unsupported |= info.convertToErrorCode() == std::errc::not_supported;
  });
  if (unsupported)
    throw rt::Error("E0302", "not supported on the GPU yet: " + message, {note});
  throw std::logic_error(what + " failed (stage: " + stage + "): " + message);
}

double millisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void Timings::print() const {
  for (const auto &[stage, ms] : stages)
    std::fprintf(stderr, "timing: %-13s %10.3f ms\n", stage.c_str(), ms);
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
  if (n > 1 && lang::diagnosticFormat() == lang::DiagnosticFormat::Text)
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
                                           const lang::TraceOptions &options,
                                           const std::string &sourceName,
                                           const std::string &path,
                                           const std::vector<std::pair<std::string, lang::Value>> &locals) {
  auto start = std::chrono::steady_clock::now();
  uint32_t id = program_->addText(sourceName, modelExpr);
  lang::ExprPtr expr = lang::parseExpression(id, program_->sources(), program_->diags());
  if (!expr)
    return nullptr;
  lang::Evaluator evaluator(*program_, *module_, space_, options);
  lang::ModuleInstance *root = evaluator.instantiateRoot(*expr, path, locals);
  timings_.add("instantiate", millisSince(start));
  return root;
}

const lang::FnDecl *Session::findFunction(const std::string &name, const std::string &flag) {
  const lang::GlobalDecl *g = program_->lookup(name);
  if (g && g->kind == lang::GlobalDecl::Kind::Function)
    return g->function;
  std::vector<std::string> functions;
  for (const std::string &n : program_->globalNames())
    if (program_->lookup(n)->kind == lang::GlobalDecl::Kind::Function && n.rfind("__", 0) != 0)
      functions.push_back(n);
  std::string close = lang::closestName(name, functions);
  uint32_t id = program_->addText("<" + flag + ">", name);
  lang::Diagnostic &d = program_->diags().error(
      "E0407", lang::Span{id, 0, static_cast<uint32_t>(name.size())},
      "`" + name + "` is not a top-level function of the program");
  d.withLabel(g ? "it is a " + std::string(g->kind == lang::GlobalDecl::Kind::Module
                                                ? "module"
                                                : "variable kind")
                : "no function has this name");
  if (!close.empty()) {
    d.help("did you mean `" + close + "`?");
  } else {
    // Otherwise the candidates the user wrote (not the stdlib's).
    std::vector<std::string> own;
    for (const std::string &n : functions)
      if (program_->sources().file(program_->lookup(n)->function->span.file).name.rfind(
              "<stdlib>", 0) != 0)
        own.push_back(n);
    std::sort(own.begin(), own.end());
    std::string list;
    for (size_t i = 0; i < own.size() && i < 12; ++i)
      list += std::string(i ? ", " : "") + "`" + own[i] + "`";
    if (!own.empty())
      d.note("the functions of the program: " + list + (own.size() > 12 ? ", ..." : ""));
  }
  return nullptr;
}

bool Session::checkKinds(const std::vector<std::string> &kinds, const std::string &flag) {
  std::vector<std::string> known = {
#define NNX_VARIABLE_KIND(kind) #kind,
#include "lang/Builtins.def"
  };
  for (const std::string &n : program_->globalNames())
    if (program_->lookup(n)->kind == lang::GlobalDecl::Kind::VariableKind)
      known.push_back(n);
  bool ok = true;
  for (const std::string &kind : kinds) {
    if (std::find(known.begin(), known.end(), kind) != known.end())
      continue;
    ok = false;
    uint32_t id = program_->addText("<" + flag + ">", kind);
    lang::Diagnostic &d = program_->diags().error(
        "E0409", lang::Span{id, 0, static_cast<uint32_t>(kind.size())},
        "unknown variable kind `" + kind + "` in " + flag);
    std::string list;
    for (const std::string &k : known)
      list += (list.empty() ? "" : ", ") + k;
    d.withLabel("the kinds are " + list);
    std::string close = lang::closestName(kind, known);
    if (!close.empty())
      d.help("did you mean `" + close + "`?");
  }
  return ok;
}

void Session::addSource(const std::string &source) {
  if (!program_->loadText("<nnxrun>", source))
    throw std::logic_error("nnxrun generated code that does not parse (stage: trace)");
}

func::FuncOp Session::traceFunction(const std::string &fnName,
                                    const std::vector<std::pair<std::string, lang::Value>> &bound,
                                    const std::vector<InputSpec> &inputs,
                                    const lang::TraceOptions &options) {
  const lang::GlobalDecl *g = program_->lookup(fnName);
  if (!g || g->kind != lang::GlobalDecl::Kind::Function)
    throw std::logic_error("nnxrun lost its generated function `" + fnName + "` (stage: trace)");
  lang::Evaluator evaluator(*program_, *module_, space_, options);
  std::vector<lang::EntryInput> entries;
  for (const InputSpec &in : inputs) {
    lang::EntryInput entry;
    entry.name = in.name;
    entry.description = in.text;
    entry.type = ir::tensorType(context_.get(), in.tensor->dtype(), in.tensor->shape());
    entries.push_back(entry);
  }
  auto start = std::chrono::steady_clock::now();
  std::string name = fnName + "_" + std::to_string(traceCounter_++);
  func::FuncOp func = evaluator.traceMethod(nullptr, *g->function, entries, name, bound);
  timings_.add("trace", millisSince(start));
  if (func && failed(verify(func)))
    throw std::logic_error("the traced IR of `" + fnName + "` does not verify (stage: trace)");
  return func;
}

void requireStateFits(const std::vector<rt::VarSpec> &specs) {
  int64_t total = 0;
  const rt::VarSpec *largest = nullptr;
  int64_t largestBytes = -1;
  for (const rt::VarSpec &spec : specs) {
    int64_t bytes = rt::checkedByteSize(spec.shape, spec.dtype).value_or(INT64_MAX);
    if (bytes > largestBytes) {
      largest = &spec;
      largestBytes = bytes;
    }
    if (__builtin_add_overflow(total, bytes, &total))
      total = INT64_MAX;
  }
  if (total <= rt::memoryBudget())
    return;
  throw rt::Error("E0236", "the model's state " + rt::overBudget(total),
                  {"its largest variable is `" + largest->path + "` (" + largest->kind + ", " +
                       std::string(rt::dtypeName(largest->dtype)) +
                       rt::formatShape(largest->shape) + ", " +
                       rt::formatBytes(double(largestBytes)) + ")",
                   rt::kBudgetNote});
}

namespace {
/// The process's --allow-missing / --allow-extra.
rt::LoadOptions loadPolicy;
} // namespace

void Session::setLoadPolicy(bool allowMissing, bool allowExtra) {
  loadPolicy.allowMissing = allowMissing;
  loadPolicy.allowExtra = allowExtra;
}

rt::State Session::makeState(uint64_t seed, const std::string &loadPath) {
  auto start = std::chrono::steady_clock::now();
  requireStateFits(space_.specs());
  rt::State state = rt::initializeState(space_.specs(), seed);
  if (!loadPath.empty()) {
    // Optimizer state and rng streams may be on either side only (a `params` checkpoint, a
    // Flax `nnx.state(model, nnx.Param)` export): absent ones start fresh from --seed.
    rt::LoadOptions options = loadPolicy;
    options.optionalKinds = {"OptState", "RngKey", "RngCount"};
    for (const std::string &note :
         rt::loadState(state, rt::readSafeTensors(loadPath), loadPath, options))
      std::cerr << "note: " << note << "\n";
  }
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
  // A top-level function whose first parameter takes the model: `run --method evaluate`.
  const lang::GlobalDecl *global = program_->lookup(method);
  bool isMethod = std::any_of(root->decl->body.begin(), root->decl->body.end(), [&](auto &stmt) {
    auto *fs = llvm::dyn_cast<lang::FnStmt>(stmt.get());
    return fs && fs->fn->name == method;
  });
  const lang::FnDecl *fn = nullptr;
  size_t skip = 0;
  if (!isMethod && global && global->kind == lang::GlobalDecl::Kind::Function &&
      !global->function->params.empty()) {
    fn = global->function;
    skip = 1;
  } else {
    fn = evaluator.findMethod(root, method, methodSpan);
  }
  if (!fn)
    return nullptr;
  std::string what = skip ? method : root->decl->name + "." + method;
  std::vector<lang::EntryInput> entries;
  for (const InputSpec &in : inputs) {
    auto param = std::find_if(fn->params.begin() + skip, fn->params.end(),
                              [&](const lang::Param &p) { return p.name == in.name; });
    if (param == fn->params.end()) {
      std::string names;
      for (const lang::Param &p : llvm::drop_begin(fn->params, skip))
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
  for (const lang::Param &p : llvm::drop_begin(fn->params, skip)) {
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
  func::FuncOp func;
  if (skip) {
    lang::Value model = lang::Value::make(lang::Value::Kind::Module);
    model.module = root;
    func = evaluator.traceMethod(nullptr, *fn, entries, name, {{fn->params[0].name, model}});
  } else {
    func = evaluator.traceMethod(root, *fn, entries, name);
  }
  timings_.add("trace", millisSince(start));
  if (func && failed(verify(func))) {
    throw std::logic_error("the traced IR of `" + what + "` does not verify (stage: trace)");
  }
  return func;
}

Backend parseBackend(const std::string &name) {
  if (name == "interp")
    return Backend::Interp;
  if (name == "jit")
    return Backend::Jit;
  if (name == "gpu-host")
    return Backend::GpuHost;
  rt::gpu::CudaProbe cuda = rt::gpu::probeCuda();
  if (!cuda.driverLoaded || cuda.deviceCount == 0)
    throw rt::Error("E0601", "no CUDA device for `--backend gpu`: " + cuda.error,
                    {"--backend gpu needs an NVIDIA GPU and its driver (" +
                         rt::gpu::cudaDriverLibrary() + ")",
                     "use --backend jit for the CPU; `nnxrun emit --stage ptx` compiles the "
                     "GPU kernels without a GPU"});
  if (codegen::gpuArchForDevice(cuda.device.major, cuda.device.minor).empty())
    throw rt::Error("E0601",
                    "the GPU " + cuda.device.name + " (" + cuda.device.arch() +
                        ") is older than sm_80, the oldest architecture nnx compiles for",
                    {"use --backend jit for the CPU"});
  return Backend::Gpu;
}

std::vector<rt::Tensor> Session::execute(func::FuncOp func, Backend backend, rt::State &state,
                                         const std::vector<InputSpec> &inputs, int repeat) {
  Runner runner(*module_, func, backend, timings_);
  std::vector<std::pair<std::string, rt::Tensor>> named;
  for (const InputSpec &in : inputs)
    if (in.tensor)
      named.push_back({in.name, *in.tensor});
  // Timed repeats first, each from the same starting state, so that the call whose outputs
  // and state are kept is the same as without --repeat.
  if (repeat > 1) {
    std::vector<double> ms;
    for (int i = 0; i < repeat; ++i) {
      rt::State scratch = state;
      auto start = std::chrono::steady_clock::now();
      runner.run(scratch, named);
      ms.push_back(millisSince(start));
    }
    std::sort(ms.begin(), ms.end());
    timings_.add("run-min", ms.front());
    timings_.add("run-median", ms[ms.size() / 2]);
  }
  auto start = std::chrono::steady_clock::now();
  std::vector<rt::Tensor> outputs = runner.run(state, named);
  timings_.add(backend == Backend::Interp ? "interpret" : "run", millisSince(start));
  return outputs;
}

} // namespace nnx::tool
