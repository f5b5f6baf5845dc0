//===- AST.cpp - AST helpers and the `--stage ast` dump -------------------===//
//
// Out-of-line members of AST nodes and dumpAST(), an indented S-expression-like listing of
// the tree with the line:col of every declaration and statement.
//
//===----------------------------------------------------------------------===//
#include "lang/AST.h"

#include "llvm/Support/Casting.h"

#include <ostream>
#include <sstream>

namespace nnx::lang {

FnStmt::FnStmt(Span s, std::unique_ptr<FnDecl> fn) : Stmt(Kind::Fn, s), fn(std::move(fn)) {}
FnStmt::~FnStmt() = default;

namespace {

/// Writes the tree with two spaces of indentation per level.
class Dumper {
public:
  Dumper(const SourceManager &sources, std::ostream &os) : sources_(sources), os_(os) {}

  void file(const FileAST &f) {
    for (const ImportDecl &i : f.imports)
      line(0, i.span) << "import \"" << i.path << "\"\n";
    for (const KindDecl &k : f.kinds)
      line(0, k.span) << "variable " << k.name << "\n";
    for (const auto &m : f.modules) {
      line(0, m->span) << "module " << m->name << "(" << params(m->params) << ")\n";
      block(1, m->body);
    }
    for (const auto &fn : f.functions)
      function(0, *fn);
    for (const auto &t : f.tests) {
      line(0, t->span) << "test \"" << t->name << "\"\n";
      block(1, t->body);
    }
  }

private:
  std::ostream &line(int depth, Span span) {
    auto lc = sources_.lineCol(span.file, span.begin);
    os_ << std::string(depth * 2, ' ');
    return os_ << "[" << lc.line << ":" << lc.col << "] ";
  }

  std::string type(const TypeExpr &t) {
    std::string s = t.name;
    if (!t.hasDims)
      return s;
    s += "[";
    for (size_t i = 0; i < t.dims.size(); ++i)
      s += (i ? ", " : "") + (t.dims[i].expr ? expr(*t.dims[i].expr) : std::string("..."));
    return s + "]";
  }

  std::string params(const std::vector<Param> &ps) {
    std::string s;
    for (size_t i = 0; i < ps.size(); ++i) {
      s += (i ? ", " : "") + std::string(ps[i].variadic ? "*" : "") + ps[i].name;
      if (ps[i].type)
        s += ": " + type(*ps[i].type);
      if (ps[i].defaultValue)
        s += " = " + expr(*ps[i].defaultValue);
    }
    return s;
  }

  std::string args(const std::vector<Arg> &as) {
    std::string s;
    for (size_t i = 0; i < as.size(); ++i)
      s += (i ? ", " : "") + (as[i].name.empty() ? "" : as[i].name + "=") + expr(*as[i].value);
    return s;
  }

  std::string expr(const Expr &e) {
    using llvm::cast;
    switch (e.kind) {
    case Expr::Kind::Number: {
      const auto &n = cast<NumberExpr>(e);
      if (n.isInt)
        return std::to_string(n.intValue);
      std::ostringstream ss;
      ss << n.value;
      return ss.str();
    }
    case Expr::Kind::String: return "\"" + cast<StringExpr>(e).value + "\"";
    case Expr::Kind::Bool: return cast<BoolExpr>(e).value ? "true" : "false";
    case Expr::Kind::Name: return cast<NameExpr>(e).name;
    case Expr::Kind::Tuple:
    case Expr::Kind::List: {
      const auto &seq = cast<SequenceExpr>(e);
      std::string s = e.kind == Expr::Kind::Tuple ? "(tuple" : "(list";
      for (const auto &el : seq.elements)
        s += " " + expr(*el);
      return s + ")";
    }
    case Expr::Kind::Call: {
      const auto &c = cast<CallExpr>(e);
      return "(call " + expr(*c.callee) + (c.args.empty() ? "" : " " + args(c.args)) + ")";
    }
    case Expr::Kind::Member: {
      const auto &m = cast<MemberExpr>(e);
      return "(. " + expr(*m.base) + " " + m.name + ")";
    }
    case Expr::Kind::Index: return indexExpr(cast<IndexExpr>(e));
    case Expr::Kind::Unary: {
      const auto &u = cast<UnaryExpr>(e);
      return "(" + u.op + " " + expr(*u.operand) + ")";
    }
    case Expr::Kind::Binary: {
      const auto &b = cast<BinaryExpr>(e);
      return "(" + b.op + " " + expr(*b.lhs) + " " + expr(*b.rhs) + ")";
    }
    case Expr::Kind::Vmap: {
      const auto &v = cast<VmapExpr>(e);
      return "(vmap " + args(v.args) + " " + expr(*v.target) + ")";
    }
    case Expr::Kind::Transform: {
      const auto &t = cast<TransformExpr>(e);
      return "(" + t.name + " " + args(t.args) + ")";
    }
    case Expr::Kind::ListComp: {
      const auto &c = cast<ListCompExpr>(e);
      return "(listcomp " + expr(*c.element) + " for " + expr(*c.target) + " in " +
             expr(*c.iterable) + (c.cond ? " if " + expr(*c.cond) : "") + ")";
    }
    }
    return "?";
  }

  std::string indexExpr(const IndexExpr &ix) {
    std::string s = "(index " + expr(*ix.base);
    for (const Subscript &sub : ix.subscripts) {
      if (sub.kind == Subscript::Kind::Ellipsis)
        s += " ...";
      else if (sub.kind == Subscript::Kind::Index)
        s += " " + expr(*sub.index);
      else
        s += " " + (sub.lo ? expr(*sub.lo) : "") + ":" + (sub.hi ? expr(*sub.hi) : "") + ":" +
             (sub.step ? expr(*sub.step) : "");
    }
    return s + ")";
  }

  void function(int depth, const FnDecl &fn) {
    line(depth, fn.span) << "fn " << fn.name << "(" << params(fn.params) << ")"
                         << (fn.returnType ? " -> " + type(*fn.returnType) : "") << "\n";
    block(depth + 1, fn.body);
  }

  std::string exprs(const std::vector<ExprPtr> &es) {
    std::string s;
    for (size_t i = 0; i < es.size(); ++i)
      s += (i ? ", " : "") + expr(*es[i]);
    return s;
  }

  void block(int depth, const Block &b) {
    for (const StmtPtr &s : b)
      stmt(depth, *s);
  }

  void stmt(int depth, const Stmt &s) {
    using llvm::cast;
    switch (s.kind) {
    case Stmt::Kind::Fn: function(depth, *cast<FnStmt>(s).fn); return;
    case Stmt::Kind::VarDecl: {
      const auto &v = cast<VarDeclStmt>(s);
      line(depth, s.span) << v.kindName << " " << v.name << ": " << type(v.type)
                          << (v.init ? " = " + expr(*v.init) : "") << "\n";
      return;
    }
    case Stmt::Kind::Return:
      line(depth, s.span) << "return " << exprs(cast<ReturnStmt>(s).values) << "\n";
      return;
    case Stmt::Kind::Assert:
      line(depth, s.span) << "assert " << expr(*cast<AssertStmt>(s).cond) << "\n";
      return;
    case Stmt::Kind::If: {
      const auto &i = cast<IfStmt>(s);
      line(depth, s.span) << "if " << expr(*i.cond) << "\n";
      block(depth + 1, i.thenBlock);
      if (!i.elseBlock.empty()) {
        os_ << std::string(depth * 2, ' ') << "else\n";
        block(depth + 1, i.elseBlock);
      }
      return;
    }
    case Stmt::Kind::For: {
      const auto &f = cast<ForStmt>(s);
      line(depth, s.span) << "for " << expr(*f.target) << " in " << expr(*f.iterable) << "\n";
      block(depth + 1, f.body);
      return;
    }
    case Stmt::Kind::Assign: {
      const auto &a = cast<AssignStmt>(s);
      line(depth, s.span) << exprs(a.targets) << " = " << exprs(a.values) << "\n";
      return;
    }
    case Stmt::Kind::AugAssign: {
      const auto &a = cast<AugAssignStmt>(s);
      line(depth, s.span) << expr(*a.target) << " " << a.op << "= " << expr(*a.value) << "\n";
      return;
    }
    case Stmt::Kind::Expr:
      line(depth, s.span) << expr(*cast<ExprStmt>(s).expr) << "\n";
      return;
    }
  }

  const SourceManager &sources_;
  std::ostream &os_;
};

} // namespace

void dumpAST(const FileAST &file, const SourceManager &sources, std::ostream &os) {
  Dumper(sources, os).file(file);
}

} // namespace nnx::lang
