//===- InputLimits.cpp - Checks on source text before it is parsed --------===//
//
// UTF-8 validation by RFC 3629's table of well-formed byte sequences, and one pass over the
// token stream that tracks bracket depth and, per bracket level, the operators of the
// expression being read: a comma, `=`, `:`, a keyword or the end of a statement starts a new
// expression at that level; a closed bracket group counts as one more operand step of the
// enclosing expression (so a postfix chain `f(a)(b)(c)...` counts its calls). The sum over
// open levels bounds the depth of the parse tree and of the AST built from it.
//
//===----------------------------------------------------------------------===//
#include "lang/syntax/InputLimits.h"
#include "lang/syntax/AstBuilder.h"

#include "NNXLexer.h"

#include <charconv>
#include <cstdio>
#include <vector>

namespace nnx::lang {

namespace {

using L = nnx_antlr::NNXLexer;

/// The length of the well-formed UTF-8 sequence at `text[i]`, or 0 when it is not one.
size_t utf8SequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) -> unsigned {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0x100;
  };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
    unsigned b = byte(k);
    return b >= lo && b <= hi;
  };
  unsigned b0 = byte(0);
  if (b0 < 0x80)
    return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    return cont(1) ? 2 : 0;
  if (b0 == 0xE0)
    return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if (b0 == 0xED) // no UTF-16 surrogates
    return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (b0 >= 0xE1 && b0 <= 0xEF)
    return cont(1) && cont(2) ? 3 : 0;
  if (b0 == 0xF0)
    return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3)
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 == 0xF4) // nothing above U+10FFFF
    return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

bool isOpenBracket(size_t type) {
  return type == L::LPAREN || type == L::LBRACK || type == L::LBRACE;
}

bool isCloseBracket(size_t type) {
  return type == L::RPAREN || type == L::RBRACK || type == L::RBRACE;
}

/// Tokens after which a new expression starts at the same bracket level.
bool startsNewExpression(size_t type) {
  switch (type) {
  case L::COMMA: case L::SEMI: case L::NL: case L::COLON: case L::ASSIGN: case L::ARROW:
  case L::PLUS_ASSIGN: case L::MINUS_ASSIGN: case L::STAR_ASSIGN: case L::SLASH_ASSIGN:
  case L::RETURN: case L::ASSERT: case L::IF: case L::ELSE: case L::FOR: case L::IN:
  case L::FN: case L::MODULE: case L::TEST: case L::IMPORT: case L::VARIABLE:
    return true;
  default:
    return false;
  }
}

/// Operators: each one nests the expression one level deeper in the worst case.
bool isOperator(size_t type) {
  switch (type) {
  case L::PLUS: case L::MINUS: case L::STAR: case L::SLASH: case L::FLOOR_DIV: case L::PERCENT:
  case L::AT: case L::POW: case L::EQ: case L::NE: case L::LT: case L::LE: case L::GT: case L::GE:
  case L::AND: case L::OR: case L::NOT: case L::DOT:
    return true;
  default:
    return false;
  }
}

/// Whether the NUMBER token `text` is an integer literal (no fraction, no exponent).
bool isIntegerLiteral(const std::string &text) {
  return text.find_first_of(".eE") == std::string::npos;
}

} // namespace

bool checkUtf8(std::string_view text, uint32_t fileId, DiagnosticEngine &diags) {
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8SequenceLength(text, i);
    if (n > 0) {
      i += n;
      continue;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(text[i]));
    auto at = static_cast<uint32_t>(i);
    diags.error("E0103", Span{fileId, at, at + 1}, "invalid UTF-8 at byte " + std::to_string(i))
        .withLabel(std::string("the byte ") + hex + " does not start a valid UTF-8 sequence")
        .help("source files are UTF-8; re-save the file as UTF-8");
    return false;
  }
  return true;
}

bool checkTokenLimits(antlr4::CommonTokenStream &tokens, uint32_t fileId, const OffsetMap &offsets,
                      DiagnosticEngine &diags) {
  auto spanOf = [&](antlr4::Token *tok) {
    uint32_t begin = offsets.byteOffset(tok->getStartIndex());
    uint32_t end = offsets.byteOffset(tok->getStopIndex() + 1);
    return Span{fileId, begin, std::max(end, begin + 1)};
  };
  bool ok = true;
  std::vector<unsigned> levels{0}; // operators of the current expression, per open bracket
  unsigned total = 0;              // sum of `levels` plus the open brackets
  for (antlr4::Token *tok : tokens.getTokens()) {
    size_t type = tok->getType();
    if (type == antlr4::Token::EOF)
      break;
    if (type == L::NUMBER && isIntegerLiteral(tok->getText())) {
      std::string text = tok->getText();
      int64_t value = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
      if (error != std::errc() || end != text.data() + text.size()) {
        diags.error("E0105", spanOf(tok), "integer literal " + text + " does not fit in i64")
            .withLabel("the largest is 9223372036854775807")
            .help("write a float (`" + text + ".0`) for a large real number");
        ok = false;
      }
      continue;
    }
    if (isOpenBracket(type)) {
      levels.push_back(0);
      ++total;
      if (levels.size() - 1 > kMaxBracketDepth) {
        diags.error("E0104", spanOf(tok), "brackets nested too deep")
            .withLabel("this `" + tok->getText() + "` opens level " +
                       std::to_string(levels.size() - 1) + "; the limit is " +
                       std::to_string(kMaxBracketDepth))
            .help("give the inner parts names with assignments");
        return false;
      }
    } else if (isCloseBracket(type)) {
      if (levels.size() > 1) {
        total -= levels.back() + 1;
        levels.pop_back();
      }
      ++levels.back(); // the group is one more step of the enclosing expression
      ++total;
    } else if (startsNewExpression(type)) {
      total -= levels.back();
      levels.back() = 0;
      continue;
    } else if (isOperator(type)) {
      ++levels.back();
      ++total;
    } else {
      continue;
    }
    if (total > kMaxExpressionDepth) {
      diags.error("E0104", spanOf(tok), "expression nested too deep")
          .withLabel("more than " + std::to_string(kMaxExpressionDepth) +
                     " operators, calls and brackets nest here")
          .help("split it with intermediate assignments (`h = ...`)");
      return false;
    }
  }
  return ok;
}

} // namespace nnx::lang
