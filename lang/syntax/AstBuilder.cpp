//===- AstBuilder.cpp - ANTLR parse tree to lang::AST ---------------------===//
//
// One function per grammar rule. The tree is known to be complete (the parser reported no
// error), so every mandatory child is present; optional ones are checked.
//
//===----------------------------------------------------------------------===//
#include "lang/syntax/AstBuilder.h"

#include <charconv>

#include <cstdlib>

namespace nnx::lang {

Span AstBuilder::span(antlr4::ParserRuleContext *ctx) const {
  antlr4::Token *start = ctx->getStart(), *stop = ctx->getStop();
  uint32_t begin = offsets_.byteOffset(start->getStartIndex());
  uint32_t end = stop ? offsets_.byteOffset(stop->getStopIndex() + 1) : begin;
  return Span{fileId_, begin, std::max(begin, end)};
}

Span AstBuilder::span(antlr4::Token *tok) const {
  return Span{fileId_, offsets_.byteOffset(tok->getStartIndex()),
              offsets_.byteOffset(tok->getStopIndex() + 1)};
}

std::string AstBuilder::unescape(const std::string &quoted) const {
  std::string out;
  for (size_t i = 1; i + 1 < quoted.size(); ++i) {
    char c = quoted[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    char e = quoted[++i];
    out += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
  }
  return out;
}

std::unique_ptr<FileAST> AstBuilder::buildFile(P::FileContext *ctx) {
  auto file = std::make_unique<FileAST>();
  file->fileId = fileId_;
  for (P::TopItemContext *item : ctx->topItem()) {
    if (auto *imp = item->importDecl())
      file->imports.push_back({unescape(imp->STRING()->getText()), span(imp)});
    else if (auto *kind = item->kindDecl())
      file->kinds.push_back({kind->IDENT()->getText(), span(kind->IDENT())});
    else if (auto *mod = item->moduleDecl())
      file->modules.push_back(buildModule(mod));
    else if (auto *fn = item->fnDecl())
      file->functions.push_back(buildFn(fn));
    else if (auto *test = item->testDecl())
      file->tests.push_back(buildTest(test));
  }
  return file;
}

std::unique_ptr<ModuleDecl> AstBuilder::buildModule(P::ModuleDeclContext *ctx) {
  auto mod = std::make_unique<ModuleDecl>();
  mod->name = ctx->IDENT()->getText();
  mod->span = span(ctx);
  mod->nameSpan = span(ctx->IDENT());
  if (ctx->paramList())
    mod->params = buildParams(ctx->paramList());
  mod->body = buildBlock(ctx->block());
  return mod;
}

std::unique_ptr<FnDecl> AstBuilder::buildFn(P::FnDeclContext *ctx) {
  auto fn = std::make_unique<FnDecl>();
  fn->name = ctx->IDENT()->getText();
  fn->span = span(ctx);
  fn->nameSpan = span(ctx->IDENT());
  if (ctx->paramList())
    fn->params = buildParams(ctx->paramList());
  if (ctx->typeExpr())
    fn->returnType = buildType(ctx->typeExpr());
  if (ctx->block()) {
    fn->body = buildBlock(ctx->block());
  } else {
    auto ret = std::make_unique<ReturnStmt>(span(ctx->expr()));
    ret->values.push_back(buildExpr(ctx->expr()));
    fn->body.push_back(std::move(ret));
    fn->isExprBody = true;
  }
  return fn;
}

std::unique_ptr<TestDecl> AstBuilder::buildTest(P::TestDeclContext *ctx) {
  auto test = std::make_unique<TestDecl>();
  test->name = unescape(ctx->STRING()->getText());
  test->span = span(ctx);
  test->body = buildBlock(ctx->block());
  return test;
}

std::vector<Param> AstBuilder::buildParams(P::ParamListContext *ctx) {
  std::vector<Param> params;
  for (P::ParamContext *p : ctx->param()) {
    Param param;
    param.name = p->IDENT()->getText();
    param.span = span(p->IDENT());
    param.variadic = p->variadic != nullptr;
    if (p->typeExpr())
      param.type = buildType(p->typeExpr());
    if (p->expr())
      param.defaultValue = buildExpr(p->expr());
    params.push_back(std::move(param));
  }
  return params;
}

TypeExpr AstBuilder::buildType(P::TypeExprContext *ctx) {
  TypeExpr type;
  type.name = ctx->IDENT()->getText();
  type.span = span(ctx);
  type.hasDims = ctx->LBRACK() != nullptr;
  for (P::DimContext *d : ctx->dim())
    type.dims.push_back({d->expr() ? buildExpr(d->expr()) : nullptr, span(d)});
  return type;
}

Block AstBuilder::buildBlock(P::BlockContext *ctx) {
  Block block;
  for (P::StmtContext *s : ctx->stmt())
    block.push_back(buildStmt(s));
  return block;
}

StmtPtr AstBuilder::buildStmt(P::StmtContext *ctx) {
  Span s = span(ctx);
  if (auto *fn = dynamic_cast<P::FnStmtContext *>(ctx))
    return std::make_unique<FnStmt>(s, buildFn(fn->fnDecl()));
  if (auto *var = dynamic_cast<P::VarDeclStmtContext *>(ctx)) {
    auto decl = std::make_unique<VarDeclStmt>(s);
    decl->kindName = var->kind->getText();
    decl->kindSpan = span(var->kind);
    decl->name = var->name->getText();
    decl->nameSpan = span(var->name);
    decl->type = buildType(var->typeExpr());
    if (var->expr())
      decl->init = buildExpr(var->expr());
    return decl;
  }
  if (auto *ret = dynamic_cast<P::ReturnStmtContext *>(ctx)) {
    auto stmt = std::make_unique<ReturnStmt>(s);
    if (ret->exprList())
      for (P::ExprContext *e : ret->exprList()->expr())
        stmt->values.push_back(buildExpr(e));
    return stmt;
  }
  if (auto *as = dynamic_cast<P::AssertStmtContext *>(ctx)) {
    auto stmt = std::make_unique<AssertStmt>(s);
    stmt->cond = buildExpr(as->cond);
    if (as->msg)
      stmt->message = buildExpr(as->msg);
    return stmt;
  }
  if (auto *ifs = dynamic_cast<P::IfStatementContext *>(ctx))
    return buildIf(ifs->ifStmt());
  if (auto *loop = dynamic_cast<P::ForStmtContext *>(ctx)) {
    auto stmt = std::make_unique<ForStmt>(s);
    stmt->target = buildTargets(loop->targets, stmt->names);
    stmt->iterable = buildExpr(loop->expr());
    stmt->body = buildBlock(loop->block());
    return stmt;
  }
  if (auto *assign = dynamic_cast<P::AssignStmtContext *>(ctx)) {
    auto stmt = std::make_unique<AssignStmt>(s);
    for (P::ExprContext *e : assign->exprList(0)->expr())
      stmt->targets.push_back(buildExpr(e));
    for (P::ExprContext *e : assign->exprList(1)->expr())
      stmt->values.push_back(buildExpr(e));
    return stmt;
  }
  if (auto *aug = dynamic_cast<P::AugAssignStmtContext *>(ctx)) {
    auto stmt = std::make_unique<AugAssignStmt>(s);
    stmt->target = buildExpr(aug->expr(0));
    stmt->op = aug->op->getText().substr(0, 1);
    stmt->opSpan = span(aug->op);
    stmt->value = buildExpr(aug->expr(1));
    return stmt;
  }
  auto *es = dynamic_cast<P::ExprStmtContext *>(ctx);
  return std::make_unique<ExprStmt>(s, buildExpr(es->expr()));
}

ExprPtr AstBuilder::buildTargets(P::LoopTargetsContext *ctx, std::vector<std::string> &names) {
  if (ctx->loopTarget().size() == 1)
    return buildTarget(ctx->loopTarget(0), names);
  auto tuple = std::make_unique<SequenceExpr>(Expr::Kind::Tuple, span(ctx));
  for (P::LoopTargetContext *t : ctx->loopTarget())
    tuple->elements.push_back(buildTarget(t, names));
  return tuple;
}

ExprPtr AstBuilder::buildTarget(P::LoopTargetContext *ctx, std::vector<std::string> &names) {
  if (ctx->IDENT()) {
    names.push_back(ctx->IDENT()->getText());
    return std::make_unique<NameExpr>(span(ctx), ctx->IDENT()->getText());
  }
  auto tuple = std::make_unique<SequenceExpr>(Expr::Kind::Tuple, span(ctx));
  for (P::LoopTargetContext *t : ctx->loopTarget())
    tuple->elements.push_back(buildTarget(t, names));
  return tuple;
}

StmtPtr AstBuilder::buildIf(P::IfStmtContext *ctx) {
  auto stmt = std::make_unique<IfStmt>(span(ctx));
  stmt->cond = buildExpr(ctx->expr());
  stmt->thenBlock = buildBlock(ctx->block(0));
  if (ctx->ifStmt())
    stmt->elseBlock.push_back(buildIf(ctx->ifStmt()));
  else if (ctx->block().size() > 1)
    stmt->elseBlock = buildBlock(ctx->block(1));
  return stmt;
}

ExprPtr AstBuilder::buildExpr(P::ExprContext *ctx) {
  if (auto *pf = dynamic_cast<P::PostfixExprContext *>(ctx))
    return buildPostfix(pf->postfix());
  if (auto *un = dynamic_cast<P::UnaryExprContext *>(ctx))
    return std::make_unique<UnaryExpr>(span(ctx), un->op->getText(), buildExpr(un->expr()));
  auto *bin = dynamic_cast<P::BinaryExprContext *>(ctx);
  return std::make_unique<BinaryExpr>(span(ctx), bin->op->getText(), span(bin->op),
                                      buildExpr(bin->lhs), buildExpr(bin->rhs));
}

ExprPtr AstBuilder::buildPostfix(P::PostfixContext *ctx) {
  Span s = span(ctx);
  if (auto *prim = dynamic_cast<P::PrimaryPostfixContext *>(ctx))
    return buildPrimary(prim->primary());
  if (auto *call = dynamic_cast<P::CallPostfixContext *>(ctx)) {
    auto expr = std::make_unique<CallExpr>(s, buildPostfix(call->postfix()));
    if (call->argList())
      expr->args = buildArgs(call->argList());
    return expr;
  }
  if (auto *index = dynamic_cast<P::IndexPostfixContext *>(ctx)) {
    auto expr = std::make_unique<IndexExpr>(s, buildPostfix(index->postfix()));
    for (P::SubscriptContext *sub : index->subscript())
      expr->subscripts.push_back(buildSubscript(sub));
    return expr;
  }
  auto *member = dynamic_cast<P::MemberPostfixContext *>(ctx);
  return std::make_unique<MemberExpr>(s, buildPostfix(member->postfix()),
                                      member->IDENT()->getText(), span(member->IDENT()));
}

ExprPtr AstBuilder::buildPrimary(P::PrimaryContext *ctx) {
  Span s = span(ctx);
  if (auto *num = dynamic_cast<P::NumberLitContext *>(ctx)) {
    std::string text = num->NUMBER()->getText();
    bool isInt = text.find_first_of(".eE") == std::string::npos;
    int64_t exact = 0;
    if (isInt) // in range: checkTokenLimits refused the others
      std::from_chars(text.data(), text.data() + text.size(), exact);
    return std::make_unique<NumberExpr>(s, std::strtod(text.c_str(), nullptr), isInt, exact);
  }
  if (auto *str = dynamic_cast<P::StringLitContext *>(ctx))
    return std::make_unique<StringExpr>(s, unescape(str->STRING()->getText()));
  if (auto *b = dynamic_cast<P::BoolLitContext *>(ctx))
    return std::make_unique<BoolExpr>(s, b->TRUE() != nullptr);
  if (dynamic_cast<P::EllipsisLitContext *>(ctx)) // `...`: "every other kind" in split()
    return std::make_unique<NameExpr>(s, "...");
  if (auto *name = dynamic_cast<P::NameRefContext *>(ctx))
    return std::make_unique<NameExpr>(s, name->IDENT()->getText());
  if (auto *paren = dynamic_cast<P::ParenExprContext *>(ctx)) {
    if (paren->expr().size() == 1 && !paren->trailing) // `(x)` groups
      return buildExpr(paren->expr(0));
    auto expr = std::make_unique<SequenceExpr>(Expr::Kind::Tuple, s);
    for (P::ExprContext *e : paren->expr())
      expr->elements.push_back(buildExpr(e));
    return expr;
  }
  if (auto *comp = dynamic_cast<P::ListCompExprContext *>(ctx)) {
    auto expr = std::make_unique<ListCompExpr>(s);
    expr->element = buildExpr(comp->elem);
    expr->target = buildTargets(comp->targets, expr->names);
    expr->iterable = buildExpr(comp->iter);
    if (comp->cond)
      expr->cond = buildExpr(comp->cond);
    return expr;
  }
  if (auto *list = dynamic_cast<P::ListExprContext *>(ctx)) {
    auto expr = std::make_unique<SequenceExpr>(Expr::Kind::List, s);
    for (P::ExprContext *e : list->expr())
      expr->elements.push_back(buildExpr(e));
    return expr;
  }
  if (auto *vmap = dynamic_cast<P::VmapExprContext *>(ctx)) {
    auto expr = std::make_unique<VmapExpr>(s, buildPostfix(vmap->postfix()));
    expr->args = buildArgs(vmap->argList());
    return expr;
  }
  auto *tr = dynamic_cast<P::TransformExprContext *>(ctx);
  auto expr = std::make_unique<TransformExpr>(s, tr->op->getText());
  expr->args = buildArgs(tr->argList());
  return expr;
}

std::vector<Arg> AstBuilder::buildArgs(P::ArgListContext *ctx) {
  std::vector<Arg> args;
  for (P::ArgContext *a : ctx->arg()) {
    Arg arg;
    if (a->IDENT()) {
      arg.name = a->IDENT()->getText();
      arg.nameSpan = span(a->IDENT());
    }
    arg.value = buildExpr(a->expr());
    args.push_back(std::move(arg));
  }
  return args;
}

Subscript AstBuilder::buildSubscript(P::SubscriptContext *ctx) {
  Subscript sub;
  sub.span = span(ctx);
  if (ctx->ELLIPSIS()) {
    sub.kind = Subscript::Kind::Ellipsis;
  } else if (!ctx->COLON().empty()) {
    sub.kind = Subscript::Kind::Slice;
    if (ctx->lo)
      sub.lo = buildExpr(ctx->lo);
    if (ctx->hi)
      sub.hi = buildExpr(ctx->hi);
    if (ctx->step)
      sub.step = buildExpr(ctx->step);
  } else {
    sub.index = buildExpr(ctx->expr(0));
  }
  return sub;
}

} // namespace nnx::lang
