//===- AstBuilder.h - ANTLR parse tree to lang::AST (internal) ------------===//
//
// Internal to lang/syntax: walks a parse tree that parsed without errors and builds the
// front end's own AST with byte-offset spans. Nothing outside lang/syntax includes this.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/AST.h"

#include "NNXParser.h"

#include <string>
#include <vector>

namespace nnx::lang {

/// Maps ANTLR's code-point indices to byte offsets (identity for ASCII text).
class OffsetMap {
public:
  explicit OffsetMap(const std::string &text);
  uint32_t byteOffset(size_t codePoint) const;

private:
  std::vector<uint32_t> starts_;
};

/// Builds AST nodes from parse-tree contexts.
class AstBuilder {
public:
  AstBuilder(uint32_t fileId, const OffsetMap &offsets, const SourceManager &sources)
      : fileId_(fileId), offsets_(offsets), sources_(sources) {}

  std::unique_ptr<FileAST> buildFile(nnx_antlr::NNXParser::FileContext *ctx);
  ExprPtr buildExpr(nnx_antlr::NNXParser::ExprContext *ctx);

private:
  using P = nnx_antlr::NNXParser;

  Span span(antlr4::ParserRuleContext *ctx) const;
  Span span(antlr4::Token *tok) const;
  Span span(antlr4::tree::TerminalNode *node) const { return span(node->getSymbol()); }

  std::unique_ptr<ModuleDecl> buildModule(P::ModuleDeclContext *ctx);
  std::unique_ptr<FnDecl> buildFn(P::FnDeclContext *ctx);
  std::unique_ptr<TestDecl> buildTest(P::TestDeclContext *ctx);
  std::vector<Param> buildParams(P::ParamListContext *ctx);
  TypeExpr buildType(P::TypeExprContext *ctx);
  Block buildBlock(P::BlockContext *ctx);
  StmtPtr buildStmt(P::StmtContext *ctx);
  StmtPtr buildIf(P::IfStmtContext *ctx);
  /// The target of a `for` loop or comprehension (a name or a tuple of targets), collecting
  /// every name in it.
  ExprPtr buildTargets(P::LoopTargetsContext *ctx, std::vector<std::string> &names);
  ExprPtr buildTarget(P::LoopTargetContext *ctx, std::vector<std::string> &names);
  ExprPtr buildPostfix(P::PostfixContext *ctx);
  ExprPtr buildPrimary(P::PrimaryContext *ctx);
  std::vector<Arg> buildArgs(P::ArgListContext *ctx);
  Subscript buildSubscript(P::SubscriptContext *ctx);
  std::string unescape(const std::string &quoted) const;

  uint32_t fileId_;
  const OffsetMap &offsets_;
  const SourceManager &sources_;
};

} // namespace nnx::lang
