//===- Tokens.cpp - The tokens of a text, classified for editors ----------===//
//
// See Tokens.h. The classes follow the grammar's token sections: the KEYWORDS section, the
// operators, and the literals.
//
//===----------------------------------------------------------------------===//
#include "lang/syntax/Tokens.h"
#include "lang/syntax/AstBuilder.h"

#include "NNXLexer.h"
#include "antlr4-runtime.h"

namespace nnx::lang {

namespace {

using L = nnx_antlr::NNXLexer;

TokenClass classify(size_t type) {
  switch (type) {
  case L::IMPORT: case L::VARIABLE: case L::MODULE: case L::FN: case L::TEST: case L::RETURN:
  case L::ASSERT: case L::IF: case L::ELSE: case L::FOR: case L::IN: case L::AND: case L::OR:
  case L::NOT: case L::TRUE: case L::FALSE: case L::VMAP: case L::SCAN: case L::GRAD:
  case L::VALUE_AND_GRAD:
    return TokenClass::Keyword;
  case L::IDENT:
    return TokenClass::Identifier;
  case L::NUMBER:
    return TokenClass::Number;
  case L::STRING:
    return TokenClass::String;
  case L::COMMENT:
    return TokenClass::Comment;
  case L::ARROW: case L::PLUS_ASSIGN: case L::MINUS_ASSIGN: case L::STAR_ASSIGN:
  case L::SLASH_ASSIGN: case L::POW: case L::FLOOR_DIV: case L::EQ: case L::NE: case L::LE:
  case L::GE: case L::LT: case L::GT: case L::ASSIGN: case L::PLUS: case L::MINUS: case L::STAR:
  case L::SLASH: case L::PERCENT: case L::AT:
    return TokenClass::Operator;
  default:
    return TokenClass::Punctuation;
  }
}

} // namespace

std::vector<LexedToken> lexTokens(const std::string &text) {
  antlr4::ANTLRInputStream input(text);
  L lexer(&input);
  lexer.removeErrorListeners();
  OffsetMap offsets(text);
  std::vector<LexedToken> out;
  for (const std::unique_ptr<antlr4::Token> &t : lexer.getAllTokens()) {
    if (t->getType() == L::NL)
      continue;
    out.push_back({classify(t->getType()), offsets.byteOffset(t->getStartIndex()),
                   offsets.byteOffset(t->getStopIndex() + 1)});
  }
  return out;
}

} // namespace nnx::lang
