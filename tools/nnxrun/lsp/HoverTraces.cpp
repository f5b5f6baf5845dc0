//===- HoverTraces.cpp - Types for hover where no test reaches ------------===//
//
// See Analysis::traceForHover. Each module of the document is instantiated (from the setting
// `nnx.instances`, or with a stand-in extent per `int` hyper-parameter) and its `__call__` traced
// with a stand-in per dimension variable of its annotated parameters. Stand-ins are primes that
// real models rarely use; the recorded types show each one by the name it stands for, so hover
// reads `f32[B, dmid] for Model(din, dmid, dout)`.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/lsp/Analysis.h"
#include "tools/nnxrun/lsp/Recorder.h"
#include "tools/nnxrun/Session.h"

#include "lang/Evaluator.h"
#include "lang/Instance.h"

#include "llvm/Support/Casting.h"

#include <cctype>

namespace nnx::tool::lsp {

using llvm::dyn_cast;
using llvm::dyn_cast_or_null;

namespace {

/// Extents that stand for a hyper-parameter or a dimension variable: primes that real models
/// rarely use, small enough that four of them multiplied stay well inside the memory budget of
/// a traced shape.
constexpr int64_t kStandIns[] = {211, 223, 227, 229, 233, 239, 241, 251, 263, 269,
                                 271, 277, 281, 283, 293, 307, 311, 313, 317, 331};

/// The stand-ins of one trace, by value, with the names they stand for.
struct StandIns {
  std::map<int64_t, std::string> names;

  /// The stand-in for `name` (the same one each time); none when all are used.
  std::optional<int64_t> of(const std::string &name) {
    for (const auto &[value, n] : names)
      if (n == name)
        return value;
    if (names.size() == std::size(kStandIns))
      return std::nullopt;
    int64_t value = kStandIns[names.size()];
    names[value] = name;
    return value;
  }

  /// `type` ("f32[227, 223]") with every stand-in extent replaced by its name.
  std::string rename(const std::string &type) const {
    size_t open = type.find('[');
    if (open == std::string::npos)
      return type;
    std::string out = type.substr(0, open + 1), extent;
    for (size_t i = open + 1; i < type.size(); ++i) {
      char c = type[i];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        extent += c;
        continue;
      }
      if (!extent.empty()) {
        auto it = names.find(std::stoll(extent));
        out += it != names.end() ? it->second : extent;
        extent.clear();
      }
      out += c;
    }
    return out;
  }
};

/// The instance expression of module `m` and how hover labels it: the setting's expression
/// for it, else `M(din=211, ...)` labelled `M(din, ...)`; nullopt when a hyper-parameter without
/// a default is not an `int`.
std::optional<std::pair<std::string, std::string>>
instanceOf(const lang::ModuleDecl &m, const std::vector<std::string> &instances, StandIns &standIns) {
  for (const std::string &instance : instances)
    if (instance.rfind(m.name + "(", 0) == 0)
      return std::make_pair(instance, instance);
  std::string args, shown;
  for (const lang::Param &p : m.params) {
    shown += (shown.empty() ? "" : ", ") + p.name;
    if (p.defaultValue)
      continue;
    std::optional<int64_t> v =
        p.type && p.type->name == "int" && !p.type->hasDims ? standIns.of(p.name) : std::nullopt;
    if (!v)
      return std::nullopt;
    args += (args.empty() ? "" : ", ") + p.name + "=" + std::to_string(*v);
  }
  return std::make_pair(m.name + "(" + args + ")", m.name + "(" + shown + ")");
}

/// `--input` specs for the parameters of `call` (`x=f32[211, 784]`): each annotated tensor
/// type with its extents from numbers, `root`'s hyper-parameters or stand-ins; nullopt when a
/// parameter without a default has no such type.
std::optional<std::vector<std::string>> inputsOf(const lang::FnDecl &call,
                                                 const lang::ModuleInstance &root,
                                                 StandIns &standIns) {
  std::vector<std::string> specs;
  for (const lang::Param &p : call.params) {
    if (p.defaultValue)
      continue;
    if (!p.type || !p.type->hasDims || p.variadic)
      return std::nullopt;
    std::string spec = p.name + "=" + p.type->name + "[";
    for (size_t d = 0; d < p.type->dims.size(); ++d) {
      const lang::Expr *dim = p.type->dims[d].expr.get();
      std::optional<int64_t> extent;
      if (auto *n = dyn_cast_or_null<lang::NumberExpr>(dim); n && n->isInt) {
        extent = n->intValue;
      } else if (auto *name = dyn_cast_or_null<lang::NameExpr>(dim)) {
        for (const auto &[param, value] : root.hyperParams)
          if (param == name->name && value.kind == lang::Value::Kind::Int)
            extent = value.i;
        if (!extent)
          extent = standIns.of(name->name);
      }
      if (!extent)
        return std::nullopt;
      spec += (d ? ", " : "") + std::to_string(*extent);
    }
    specs.push_back(spec + "]");
  }
  return specs;
}

/// The `__call__` method of `m`, or null.
const lang::FnDecl *callOf(const lang::ModuleDecl &m) {
  for (const lang::StmtPtr &stmt : m.body)
    if (auto *fn = dyn_cast<lang::FnStmt>(stmt.get()); fn && fn->fn->name == "__call__")
      return fn->fn.get();
  return nullptr;
}

} // namespace

void Analysis::traceForHover(const std::vector<std::string> &instances) {
  const lang::FileAST *ast = session_->program().fileAST(fileOf(path_));
  if (!ast)
    return;
  lang::DiagnosticEngine &diags = session_->program().diags();
  for (const auto &m : ast->modules) {
    StandIns standIns;
    auto instance = instanceOf(*m, instances, standIns);
    const lang::FnDecl *call = callOf(*m);
    if (!instance || !call)
      continue;
    size_t before = diags.diagnostics().size();
    std::map<SpanKey, std::vector<std::string>> found, unused;
    Recorder recorder(found, unused);
    lang::TraceOptions options;
    options.observer = &recorder;
    try {
      lang::ModuleInstance *root = session_->instantiate(instance->first, options, "<hover>");
      std::optional<std::vector<std::string>> specs =
          root ? inputsOf(*call, *root, standIns) : std::nullopt;
      if (!specs)
        continue;
      session_->traceMethod(root, "__call__", session_->parseInputs(*specs, 0), options);
    } catch (const std::exception &) {
      continue; // what cannot be traced is not shown
    }
    if (diags.diagnostics().size() != before)
      continue; // a failed trace records nothing
    for (const auto &[key, types] : found)
      for (const std::string &type : types) {
        if (type.find('[') == std::string::npos)
          continue; // a static number here is a stand-in's, not the program's
        std::string shown = standIns.rename(type) + " for " + instance->second;
        std::vector<std::string> &entry = hoverTypes_[key];
        if (entry.size() < 4 && std::find(entry.begin(), entry.end(), shown) == entry.end())
          entry.push_back(shown);
      }
  }
}

} // namespace nnx::tool::lsp
