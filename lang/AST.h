//===- AST.h - The abstract syntax tree of .nnx files ---------------------===//
//
// The front end's own tree (no ANTLR type appears here): declarations (import, variable kind,
// module, fn, test), statements and expressions, each with the Span of its source text.
// Nodes are owned by their parent through unique_ptr; kinds are told apart with LLVM-style
// isa/dyn_cast via the `kind` tag.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Source.h"

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nnx::lang {

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

/// Base of all expressions.
struct Expr {
  enum class Kind {
    Number, String, Bool, Name, Tuple, List, Call, Member, Index, Unary, Binary, Vmap,
    Transform, ListComp
  };
  Expr(Kind kind, Span span) : kind(kind), span(span) {}
  virtual ~Expr() = default;
  const Kind kind;
  Span span;
};
using ExprPtr = std::unique_ptr<Expr>;

/// `1`, `0.5`, `1e-3`. `isInt` when written without '.' or exponent.
struct NumberExpr : Expr {
  NumberExpr(Span s, double value, bool isInt, int64_t intValue = 0)
      : Expr(Kind::Number, s), value(value), isInt(isInt), intValue(intValue) {}
  /// The value as a double (rounded for integers beyond 2^53).
  double value;
  bool isInt;
  /// The exact value of an integer literal (the parser refuses those outside i64, E0105).
  int64_t intValue;
  static bool classof(const Expr *e) { return e->kind == Kind::Number; }
};

/// `"text"` with escapes resolved.
struct StringExpr : Expr {
  StringExpr(Span s, std::string value) : Expr(Kind::String, s), value(std::move(value)) {}
  std::string value;
  static bool classof(const Expr *e) { return e->kind == Kind::String; }
};

/// `true` / `false`.
struct BoolExpr : Expr {
  BoolExpr(Span s, bool value) : Expr(Kind::Bool, s), value(value) {}
  bool value;
  static bool classof(const Expr *e) { return e->kind == Kind::Bool; }
};

/// A bare name.
struct NameExpr : Expr {
  NameExpr(Span s, std::string name) : Expr(Kind::Name, s), name(std::move(name)) {}
  std::string name;
  static bool classof(const Expr *e) { return e->kind == Kind::Name; }
};

/// `(a, b)` (Tuple) or `[a, b]` (List).
struct SequenceExpr : Expr {
  SequenceExpr(Kind k, Span s) : Expr(k, s) {}
  std::vector<ExprPtr> elements;
  static bool classof(const Expr *e) { return e->kind == Kind::Tuple || e->kind == Kind::List; }
};

/// One argument of a call; `name` is empty for positional arguments.
struct Arg {
  std::string name;
  Span nameSpan;
  ExprPtr value;
};

/// `callee(args)`.
struct CallExpr : Expr {
  CallExpr(Span s, ExprPtr callee) : Expr(Kind::Call, s), callee(std::move(callee)) {}
  ExprPtr callee;
  std::vector<Arg> args;
  static bool classof(const Expr *e) { return e->kind == Kind::Call; }
};

/// `base.name`.
struct MemberExpr : Expr {
  MemberExpr(Span s, ExprPtr base, std::string name, Span nameSpan)
      : Expr(Kind::Member, s), base(std::move(base)), name(std::move(name)), nameSpan(nameSpan) {}
  ExprPtr base;
  std::string name;
  Span nameSpan;
  static bool classof(const Expr *e) { return e->kind == Kind::Member; }
};

/// One subscript: `i`, `a:b:c` (any part optional) or `...`.
struct Subscript {
  enum class Kind { Index, Slice, Ellipsis } kind = Kind::Index;
  ExprPtr index, lo, hi, step;
  Span span;
};

/// `base[subscripts]`.
struct IndexExpr : Expr {
  IndexExpr(Span s, ExprPtr base) : Expr(Kind::Index, s), base(std::move(base)) {}
  ExprPtr base;
  std::vector<Subscript> subscripts;
  static bool classof(const Expr *e) { return e->kind == Kind::Index; }
};

/// `-x`, `+x`, `not x`.
struct UnaryExpr : Expr {
  UnaryExpr(Span s, std::string op, ExprPtr operand)
      : Expr(Kind::Unary, s), op(std::move(op)), operand(std::move(operand)) {}
  std::string op;
  ExprPtr operand;
  static bool classof(const Expr *e) { return e->kind == Kind::Unary; }
};

/// `lhs op rhs` with op one of ** * / % @ + - == != < <= > >= and or.
struct BinaryExpr : Expr {
  BinaryExpr(Span s, std::string op, Span opSpan, ExprPtr lhs, ExprPtr rhs)
      : Expr(Kind::Binary, s), op(std::move(op)), opSpan(opSpan), lhs(std::move(lhs)),
        rhs(std::move(rhs)) {}
  std::string op;
  Span opSpan;
  ExprPtr lhs, rhs;
  static bool classof(const Expr *e) { return e->kind == Kind::Binary; }
};

/// `vmap(args) target`: create `target` stacked along a new leading axis.
struct VmapExpr : Expr {
  VmapExpr(Span s, ExprPtr target) : Expr(Kind::Vmap, s), target(std::move(target)) {}
  std::vector<Arg> args;
  ExprPtr target;
  static bool classof(const Expr *e) { return e->kind == Kind::Vmap; }
};

/// `[element for target in iterable if cond]`; the target is a name or a tuple of targets
/// (`for i, (x, y) in ...`), and `names` lists every name in it.
struct ListCompExpr : Expr {
  ListCompExpr(Span s) : Expr(Kind::ListComp, s) {}
  ExprPtr element;
  ExprPtr target;
  std::vector<std::string> names;
  ExprPtr iterable;
  ExprPtr cond; // may be null
  static bool classof(const Expr *e) { return e->kind == Kind::ListComp; }
};

/// `scan(...)`, `vmap(...)`, `grad(...)`, `value_and_grad(...)`.
struct TransformExpr : Expr {
  TransformExpr(Span s, std::string name) : Expr(Kind::Transform, s), name(std::move(name)) {}
  std::string name;
  std::vector<Arg> args;
  static bool classof(const Expr *e) { return e->kind == Kind::Transform; }
};

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

/// One dimension of a tensor type: an expression (a number, a hyper-parameter, a dimension
/// variable such as `B`) or `...`.
struct TypeDim {
  ExprPtr expr; // null for `...`
  Span span;
};

/// `int`, `Model`, `f32` (any shape), `f32[]` (scalar), `f32[B, 784]`.
struct TypeExpr {
  std::string name;
  Span span;
  bool hasDims = false;
  std::vector<TypeDim> dims;
};

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

struct FnDecl;

/// Base of all statements.
struct Stmt {
  enum class Kind { Fn, VarDecl, Return, Assert, If, For, Assign, AugAssign, Expr };
  Stmt(Kind kind, Span span) : kind(kind), span(span) {}
  virtual ~Stmt() = default;
  const Kind kind;
  Span span;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Block = std::vector<StmtPtr>;

/// A method inside a module body.
struct FnStmt : Stmt {
  FnStmt(Span s, std::unique_ptr<FnDecl> fn);
  ~FnStmt() override;
  std::unique_ptr<FnDecl> fn;
  static bool classof(const Stmt *s) { return s->kind == Kind::Fn; }
};

/// `Param kernel: f32[in, out] = lecun_normal()`.
struct VarDeclStmt : Stmt {
  VarDeclStmt(Span s) : Stmt(Kind::VarDecl, s) {}
  std::string kindName;
  Span kindSpan;
  std::string name;
  Span nameSpan;
  TypeExpr type;
  ExprPtr init; // may be null: zeros()
  static bool classof(const Stmt *s) { return s->kind == Kind::VarDecl; }
};

/// `return a, b`.
struct ReturnStmt : Stmt {
  ReturnStmt(Span s) : Stmt(Kind::Return, s) {}
  std::vector<ExprPtr> values;
  static bool classof(const Stmt *s) { return s->kind == Kind::Return; }
};

/// `assert cond, message`: the message is any expression giving a string (`"n is " +
/// str(n)`), evaluated only when the assertion fails, as Python's.
struct AssertStmt : Stmt {
  AssertStmt(Span s) : Stmt(Kind::Assert, s) {}
  ExprPtr cond;
  /// Null when no message is given.
  ExprPtr message;
  static bool classof(const Stmt *s) { return s->kind == Kind::Assert; }
};

/// `if cond { ... } else { ... }`; `elseBlock` holds a nested IfStmt for `else if`.
struct IfStmt : Stmt {
  IfStmt(Span s) : Stmt(Kind::If, s) {}
  ExprPtr cond;
  Block thenBlock;
  Block elseBlock;
  static bool classof(const Stmt *s) { return s->kind == Kind::If; }
};

/// `for target in iterable { body }`: a loop over a sequence known at compile time, unrolled.
/// The target is a name or a tuple of targets (`for i, (x, y) in ...`); `names` lists every
/// name in it.
struct ForStmt : Stmt {
  ForStmt(Span s) : Stmt(Kind::For, s) {}
  ExprPtr target;
  std::vector<std::string> names;
  ExprPtr iterable;
  Block body;
  static bool classof(const Stmt *s) { return s->kind == Kind::For; }
};

/// `a, b = x, y` (or a single target and value).
struct AssignStmt : Stmt {
  AssignStmt(Span s) : Stmt(Kind::Assign, s) {}
  std::vector<ExprPtr> targets;
  std::vector<ExprPtr> values;
  static bool classof(const Stmt *s) { return s->kind == Kind::Assign; }
};

/// `target op= value` with op one of + - * /.
struct AugAssignStmt : Stmt {
  AugAssignStmt(Span s) : Stmt(Kind::AugAssign, s) {}
  ExprPtr target;
  std::string op; // "+", "-", "*", "/"
  Span opSpan;
  ExprPtr value;
  static bool classof(const Stmt *s) { return s->kind == Kind::AugAssign; }
};

/// An expression evaluated for its effect.
struct ExprStmt : Stmt {
  ExprStmt(Span s, ExprPtr expr) : Stmt(Kind::Expr, s), expr(std::move(expr)) {}
  ExprPtr expr;
  static bool classof(const Stmt *s) { return s->kind == Kind::Expr; }
};

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

/// A parameter of a module or function: `name: type = default`, or `*name` (variadic: the
/// remaining positional arguments, as a list; the parameters after it are keyword-only).
struct Param {
  std::string name;
  Span span;
  std::optional<TypeExpr> type;
  ExprPtr defaultValue;
  bool variadic = false;
};

/// `fn name(params) -> type { body }` or `fn name(params) = expr` (then `body` holds one
/// ReturnStmt and `isExprBody` is set).
struct FnDecl {
  std::string name;
  Span span;
  Span nameSpan;
  std::vector<Param> params;
  std::optional<TypeExpr> returnType;
  Block body;
  bool isExprBody = false;
};

/// `module Name(params) { body }`.
struct ModuleDecl {
  std::string name;
  Span span;
  Span nameSpan;
  std::vector<Param> params;
  Block body;
};

/// `test "name" { body }`.
struct TestDecl {
  std::string name;
  Span span;
  Block body;
};

/// `variable Counter`.
struct KindDecl {
  std::string name;
  Span span;
};

/// `import "path.nnx"`.
struct ImportDecl {
  std::string path;
  Span span;
};

/// A parsed file.
struct FileAST {
  uint32_t fileId = 0;
  std::vector<ImportDecl> imports;
  std::vector<KindDecl> kinds;
  std::vector<std::unique_ptr<ModuleDecl>> modules;
  std::vector<std::unique_ptr<FnDecl>> functions;
  std::vector<std::unique_ptr<TestDecl>> tests;
};

/// Writes an indented, readable dump of the tree (`nnxrun emit --stage ast`).
void dumpAST(const FileAST &file, const SourceManager &sources, std::ostream &os);

} // namespace nnx::lang
