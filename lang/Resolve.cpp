//===- Resolve.cpp - Static name resolution before any evaluation ---------===//
//
// The evaluator finds most faults, but only in code it runs. This pass checks every body of
// every loaded file without running it: each name must denote something (a local, a
// parameter, a member of the enclosing module, a top-level declaration or a built-in), each
// direct call to a module or function must fit its parameter list, each annotation must
// name a type and each variable declaration a variable kind. Scoping is Python's: a name
// assigned anywhere in a function is local to the whole function; a dimension variable in a
// parameter's type (`x: f32[B, 784]`) is a local too.
//
//===----------------------------------------------------------------------===//
#include "lang/Resolve.h"
#include "lang/PythonHints.h"

#include "runtime/DType.h"

#include "llvm/Support/Casting.h"

#include <set>

using llvm::cast;
using llvm::dyn_cast;
using llvm::isa;

namespace nnx::lang {

namespace {

/// The names the prelude defines.
const std::set<std::string> &builtinNames() {
  static const std::set<std::string> names = [] {
    std::set<std::string> s;
#define NNX_BUILTIN_FN(name) s.insert(#name);
#define NNX_INITIALIZER(name) s.insert(#name);
#define NNX_VARIABLE_KIND(name) s.insert(#name);
#define NNX_DTYPE(name) s.insert(#name);
#define NNX_CONSTANT(name) s.insert(#name);
#define NNX_SCALAR_TYPE(name) s.insert(#name);
#include "lang/Builtins.def"
    s.insert("...");
    return s;
  }();
  return names;
}

bool isBuiltinKind(const std::string &name) {
#define NNX_VARIABLE_KIND(kind)                                                                  \
  if (name == #kind)                                                                             \
    return true;
#include "lang/Builtins.def"
  return false;
}

/// Checks the bodies of one file.
class Resolver {
public:
  Resolver(Program &program) : program_(program), diags_(program.diags()) {}

  void file(const FileAST &f) {
    for (const auto &m : f.modules)
      module(*m);
    for (const auto &fn : f.functions)
      function(*fn, {});
    for (const auto &t : f.tests) {
      std::set<std::string> scope;
      collectAssigned(t->body, scope);
      block(t->body, scope);
    }
  }

private:
  void module(const ModuleDecl &m) {
    std::set<std::string> members;
    for (const Param &p : m.params) {
      members.insert(p.name);
      annotation(p.type, {});
      if (p.defaultValue)
        expr(*p.defaultValue, {});
    }
    collectMembers(m.body, members);
    moduleBody(m.body, members);
  }

  void collectMembers(const Block &body, std::set<std::string> &out) {
    for (const StmtPtr &s : body) {
      if (const auto *fn = dyn_cast<FnStmt>(s.get()))
        out.insert(fn->fn->name);
      else if (const auto *v = dyn_cast<VarDeclStmt>(s.get()))
        out.insert(v->name);
      else if (const auto *a = dyn_cast<AssignStmt>(s.get()))
        for (const ExprPtr &t : a->targets)
          if (const auto *n = dyn_cast<NameExpr>(t.get()))
            out.insert(n->name);
      if (const auto *i = dyn_cast<IfStmt>(s.get())) {
        collectMembers(i->thenBlock, out);
        collectMembers(i->elseBlock, out);
      }
      if (const auto *f = dyn_cast<ForStmt>(s.get()))
        collectMembers(f->body, out);
    }
  }

  void moduleBody(const Block &body, const std::set<std::string> &members) {
    for (const StmtPtr &s : body) {
      if (const auto *fn = dyn_cast<FnStmt>(s.get())) {
        function(*fn->fn, members);
      } else if (const auto *v = dyn_cast<VarDeclStmt>(s.get())) {
        variableKind(*v);
        for (const TypeDim &d : v->type.dims)
          if (d.expr)
            expr(*d.expr, members);
        if (v->init)
          expr(*v->init, members);
      } else if (const auto *i = dyn_cast<IfStmt>(s.get())) {
        expr(*i->cond, members);
        moduleBody(i->thenBlock, members);
        moduleBody(i->elseBlock, members);
      } else if (const auto *f = dyn_cast<ForStmt>(s.get())) {
        expr(*f->iterable, members);
        std::set<std::string> inner = members;
        inner.insert(f->names.begin(), f->names.end());
        moduleBody(f->body, inner);
      } else {
        stmt(*s, members);
      }
    }
  }

  void function(const FnDecl &fn, const std::set<std::string> &outer) {
    std::set<std::string> scope = outer;
    for (const Param &p : fn.params) {
      scope.insert(p.name);
      if (p.type)
        for (const TypeDim &d : p.type->dims)
          if (const auto *n = d.expr ? dyn_cast<NameExpr>(d.expr.get()) : nullptr)
            if (!known(n->name, scope))
              scope.insert(n->name); // a dimension variable
    }
    for (const Param &p : fn.params) {
      annotation(p.type, scope);
      if (p.defaultValue)
        expr(*p.defaultValue, outer);
    }
    annotation(fn.returnType, scope);
    collectAssigned(fn.body, scope);
    block(fn.body, scope);
  }

  void collectAssigned(const Block &body, std::set<std::string> &scope) {
    for (const StmtPtr &s : body) {
      if (const auto *a = dyn_cast<AssignStmt>(s.get()))
        for (const ExprPtr &t : a->targets)
          collectTargets(*t, scope);
      if (const auto *fn = dyn_cast<FnStmt>(s.get()))
        scope.insert(fn->fn->name);
      if (const auto *i = dyn_cast<IfStmt>(s.get())) {
        collectAssigned(i->thenBlock, scope);
        collectAssigned(i->elseBlock, scope);
      }
      if (const auto *f = dyn_cast<ForStmt>(s.get())) {
        scope.insert(f->names.begin(), f->names.end());
        collectAssigned(f->body, scope);
      }
    }
  }

  void collectTargets(const Expr &e, std::set<std::string> &scope) {
    if (const auto *n = dyn_cast<NameExpr>(&e))
      scope.insert(n->name);
    else if (const auto *seq = dyn_cast<SequenceExpr>(&e))
      for (const ExprPtr &el : seq->elements)
        collectTargets(*el, scope);
  }

  void block(const Block &b, const std::set<std::string> &scope) {
    for (const StmtPtr &s : b)
      stmt(*s, scope);
  }

  void stmt(const Stmt &s, const std::set<std::string> &scope) {
    switch (s.kind) {
    case Stmt::Kind::Fn: // a nested function sees the enclosing scope (a closure)
      function(*cast<FnStmt>(s).fn, scope);
      return;
    case Stmt::Kind::VarDecl: return; // reported by the evaluator where it is misplaced
    case Stmt::Kind::For: {
      const auto &f = cast<ForStmt>(s);
      expr(*f.iterable, scope);
      block(f.body, scope);
      return;
    }
    case Stmt::Kind::Return:
      for (const ExprPtr &e : cast<ReturnStmt>(s).values)
        expr(*e, scope);
      return;
    case Stmt::Kind::Assert: {
      const auto &as = cast<AssertStmt>(s);
      expr(*as.cond, scope);
      if (as.message)
        expr(*as.message, scope);
      return;
    }
    case Stmt::Kind::If: {
      const auto &i = cast<IfStmt>(s);
      expr(*i.cond, scope);
      block(i.thenBlock, scope);
      block(i.elseBlock, scope);
      return;
    }
    case Stmt::Kind::Assign: {
      const auto &a = cast<AssignStmt>(s);
      // `embed = Embd(3, 4)`: the name being defined is never the suggestion for a typo in
      // its own value.
      for (const ExprPtr &t : a.targets)
        if (const auto *n = dyn_cast<NameExpr>(t.get()))
          defining_.insert(n->name);
      for (const ExprPtr &e : a.values)
        expr(*e, scope);
      defining_.clear();
      for (const ExprPtr &t : a.targets)
        if (!isa<NameExpr>(*t))
          expr(*t, scope);
      return;
    }
    case Stmt::Kind::AugAssign: {
      const auto &a = cast<AugAssignStmt>(s);
      expr(*a.target, scope);
      expr(*a.value, scope);
      return;
    }
    case Stmt::Kind::Expr: expr(*cast<ExprStmt>(s).expr, scope); return;
    }
  }

  bool known(const std::string &name, const std::set<std::string> &scope) const {
    return scope.count(name) || program_.lookup(name) || builtinNames().count(name);
  }

  void expr(const Expr &e, const std::set<std::string> &scope) {
    switch (e.kind) {
    case Expr::Kind::Name: {
      const auto &n = cast<NameExpr>(e);
      if (!known(n.name, scope))
        unknown(n.name, n.span, scope);
      return;
    }
    case Expr::Kind::Tuple:
    case Expr::Kind::List:
      for (const ExprPtr &el : cast<SequenceExpr>(e).elements)
        expr(*el, scope);
      return;
    case Expr::Kind::Call: call(cast<CallExpr>(e), scope); return;
    case Expr::Kind::Member: expr(*cast<MemberExpr>(e).base, scope); return;
    case Expr::Kind::Index: {
      const auto &ix = cast<IndexExpr>(e);
      expr(*ix.base, scope);
      for (const Subscript &sub : ix.subscripts)
        for (const ExprPtr *part : {&sub.index, &sub.lo, &sub.hi, &sub.step})
          if (*part)
            expr(**part, scope);
      return;
    }
    case Expr::Kind::Unary: expr(*cast<UnaryExpr>(e).operand, scope); return;
    case Expr::Kind::Binary:
      expr(*cast<BinaryExpr>(e).lhs, scope);
      expr(*cast<BinaryExpr>(e).rhs, scope);
      return;
    case Expr::Kind::Vmap:
      for (const Arg &a : cast<VmapExpr>(e).args)
        expr(*a.value, scope);
      expr(*cast<VmapExpr>(e).target, scope);
      return;
    case Expr::Kind::Transform:
      for (const Arg &a : cast<TransformExpr>(e).args)
        expr(*a.value, scope);
      return;
    case Expr::Kind::ListComp: {
      const auto &c = cast<ListCompExpr>(e);
      expr(*c.iterable, scope);
      std::set<std::string> inner = scope;
      inner.insert(c.names.begin(), c.names.end());
      expr(*c.element, inner);
      if (c.cond)
        expr(*c.cond, inner);
      return;
    }
    default: return;
    }
  }

  void call(const CallExpr &c, const std::set<std::string> &scope) {
    expr(*c.callee, scope);
    for (const Arg &a : c.args)
      expr(*a.value, scope);
    const auto *name = dyn_cast<NameExpr>(c.callee.get());
    const GlobalDecl *g = name && !scope.count(name->name) ? program_.lookup(name->name) : nullptr;
    if (!g || g->kind == GlobalDecl::Kind::VariableKind)
      return;
    const std::vector<Param> &params =
        g->kind == GlobalDecl::Kind::Module ? g->module->params : g->function->params;
    arity(name->name, params, c);
  }

  void arity(const std::string &what, const std::vector<Param> &params, const CallExpr &c) {
    size_t positional = 0, required = 0;
    std::set<std::string> given;
    for (const Arg &a : c.args) {
      if (a.name.empty()) {
        ++positional;
        continue;
      }
      bool exists = false;
      for (const Param &p : params)
        exists |= p.name == a.name;
      if (!exists) {
        std::vector<std::string> names;
        for (const Param &p : params)
          names.push_back(p.name);
        Diagnostic &d = diags_.error("E0209", a.nameSpan,
                                     "`" + what + "` has no parameter `" + a.name + "`");
        d.withLabel("unknown keyword argument");
        std::string close = closestName(a.name, names);
        if (!close.empty())
          d.help("did you mean `" + close + "`?");
        return;
      }
      given.insert(a.name);
    }
    bool variadic = false;
    for (const Param &p : params) {
      required += p.defaultValue || p.variadic ? 0 : 1;
      variadic |= p.variadic;
    }
    std::string missing;
    for (size_t i = positional; i < params.size(); ++i)
      if (!params[i].defaultValue && !params[i].variadic && !given.count(params[i].name) &&
          missing.empty())
        missing = params[i].name;
    if ((positional <= params.size() || variadic) && missing.empty())
      return;
    std::string takes = required == params.size()
                            ? std::to_string(required)
                            : std::to_string(required) + " to " + std::to_string(params.size());
    size_t n = c.args.size();
    diags_.error("E0202", c.span, "wrong number of arguments to `" + what + "`")
        .withLabel("it takes " + takes + " argument" + (params.size() == 1 ? "" : "s") + " but " +
                   std::to_string(n) + (n == 1 ? " was" : " were") + " given" +
                   (missing.empty() ? "" : "; `" + missing + "` is missing"))
        .note("`" + what + "` is declared here", program_.lookup(what)->span);
  }

  void annotation(const std::optional<TypeExpr> &type, const std::set<std::string> &scope) {
    if (!type)
      return;
    const std::string &n = type->name;
    bool ok = n == "int" || n == "float" || n == "bool" || n == "str" || rt::parseDType(n) ||
              (program_.lookup(n) && program_.lookup(n)->kind == GlobalDecl::Kind::Module);
    if (!ok) {
      std::vector<std::string> names = {"int", "float", "bool", "str", "f32", "f64", "i32", "i64"};
      for (const std::string &g : program_.globalNames())
        if (program_.lookup(g)->kind == GlobalDecl::Kind::Module)
          names.push_back(g);
      Diagnostic &d = diags_.error("E0221", type->span, "unknown type `" + n + "`");
      d.withLabel("not a type");
      std::string close = closestName(n, names);
      if (!close.empty())
        d.help("did you mean `" + close + "`?");
    }
    for (const TypeDim &dim : type->dims)
      if (dim.expr && !isa<NameExpr>(*dim.expr))
        expr(*dim.expr, scope);
  }

  void variableKind(const VarDeclStmt &v) {
    const GlobalDecl *g = program_.lookup(v.kindName);
    if (isBuiltinKind(v.kindName) || (g && g->kind == GlobalDecl::Kind::VariableKind))
      return;
    std::vector<std::string> kinds = {"Param", "BatchStat", "Intermediate", "OptState", "Variable"};
    for (const std::string &n : program_.globalNames())
      if (program_.lookup(n)->kind == GlobalDecl::Kind::VariableKind)
        kinds.push_back(n);
    Diagnostic &d = diags_.error("E0225", v.kindSpan, "unknown variable kind `" + v.kindName + "`");
    d.withLabel(g && g->kind == GlobalDecl::Kind::Module ? "this is a module, not a variable kind"
                                                         : "not a variable kind");
    std::string close = closestName(v.kindName, kinds);
    if (!close.empty())
      d.help("did you mean `" + close + "`?");
    else
      d.help("declare a new kind with `variable " + v.kindName + "` at the top level");
  }

  void unknown(const std::string &name, Span span, const std::set<std::string> &scope) {
    std::vector<std::string> candidates(scope.begin(), scope.end());
    for (const std::string &g : program_.globalNames())
      candidates.push_back(g);
    candidates.insert(candidates.end(), builtinNames().begin(), builtinNames().end());
    Diagnostic &d = diags_.error("E0201", span, "unknown name `" + name + "`");
    d.withLabel("not defined here");
    if (std::optional<std::string> hint = pythonHint(name)) {
      d.help(*hint);
      return;
    }
    std::string close = closestName(name, candidates, defining_);
    if (!close.empty())
      d.help("did you mean `" + close + "`?");
  }

  Program &program_;
  DiagnosticEngine &diags_;
  /// The names the assignment being resolved defines.
  std::set<std::string> defining_;
};

} // namespace

bool resolveProgram(Program &program) {
  unsigned before = program.diags().errorCount();
  Resolver resolver(program);
  for (const FileAST *f : program.allFiles())
    resolver.file(*f);
  return program.diags().errorCount() == before;
}

} // namespace nnx::lang
