//===- Formatter.cpp - The canonical layout of .nnx source ----------------===//
//
// See Formatter.h. The file is parsed once to vouch for it, then lexed again with its comments
// (on the lexer's hidden channel) and laid out token by token: a Layout holds the output lines,
// the open braces and brackets, and decides each token's line, indentation and the space
// before it from the token before and the bracket it is in. Line breaks come only from the
// source: NL tokens between statements, and a token on a later source line than its
// predecessor inside brackets (where the lexer drops newlines).
//
//===----------------------------------------------------------------------===//
#include "lang/syntax/Formatter.h"
#include "lang/syntax/Parser.h"

#include "NNXLexer.h"
#include "antlr4-runtime.h"

#include <stdexcept>

namespace nnx::lang {

namespace {

using L = nnx_antlr::NNXLexer;

/// One token of the source: its type, text and (first) source line.
struct Tok {
  size_t type;
  std::string text;
  size_t line;
};

/// Every token of `text` but spaces and newlines inside brackets, comments included.
std::vector<Tok> lexAll(const std::string &text) {
  antlr4::ANTLRInputStream input(text);
  L lexer(&input);
  lexer.removeErrorListeners();
  std::vector<Tok> toks;
  for (const std::unique_ptr<antlr4::Token> &t : lexer.getAllTokens())
    toks.push_back({t->getType(), t->getText(), t->getLine()});
  return toks;
}

/// `text` without trailing spaces and tabs (comments keep their words, not their padding).
std::string rtrim(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.pop_back();
  return text;
}

/// Display width of UTF-8 `text`: its code points.
size_t width(const std::string &text) {
  size_t n = 0;
  for (unsigned char c : text)
    n += (c & 0xC0) != 0x80;
  return n;
}

/// Binary operators, after which a newline continues the expression (grammar: `op NL* rhs`).
bool isBinaryOperator(size_t type) {
  switch (type) {
  case L::PLUS: case L::MINUS: case L::STAR: case L::SLASH: case L::FLOOR_DIV:
  case L::PERCENT: case L::AT: case L::POW: case L::EQ: case L::NE: case L::LT: case L::LE:
  case L::GT: case L::GE: case L::AND: case L::OR:
    return true;
  default:
    return false;
  }
}

/// Tokens after which `-`, `+` and `*` are unary (prefix) operators.
bool startsOperand(size_t type) {
  switch (type) {
  case L::IDENT: case L::NUMBER: case L::STRING: case L::TRUE: case L::FALSE:
  case L::ELLIPSIS: case L::RPAREN: case L::RBRACK:
    return false;
  default:
    return true;
  }
}

/// Tokens a call's `(` or an index's `[` follows without a space.
bool endsCallee(size_t type) {
  switch (type) {
  case L::IDENT: case L::RPAREN: case L::RBRACK: case L::NUMBER: case L::STRING: case L::TRUE:
  case L::FALSE:
    return true;
  default:
    return false;
  }
}

/// What an open `(` or `[` holds, which decides the spacing of `=` and `:` inside it.
enum class Bracket { Params, Call, Group, Index, List };

/// An open bracket: its kind, the output column just after it, the indentation of the line
/// it opened on, and whether a token follows it on that line (continuation lines then line up
/// with that token; otherwise they hang 4 columns in).
struct Open {
  Bracket kind;
  size_t column;
  size_t lineIndent;
  bool visual = false;
};

/// One output line: indentation, code, and a comment at its end (or alone when no code).
struct Line {
  size_t indent = 0;
  std::string code;
  std::string comment;
  bool blank = false;
};

/// The output being laid out.
class Layout {
public:
  /// Lays out `toks` (lexAll of a file that parses).
  std::string run(const std::vector<Tok> &toks) {
    for (const Tok &t : toks) {
      if (t.type == L::NL) {
        ++pendingNewlines_;
        continue;
      }
      if (t.type == L::COMMENT)
        comment(t);
      else
        code(t);
      lastLine_ = t.line;
    }
    return render();
  }

private:
  /// A comment: at the end of the current line when it was on the line of the token before,
  /// else on a line of its own, indented like the code there.
  void comment(const Tok &t) {
    if (!lines_.empty() && !lines_.back().code.empty() && t.line == lastLine_ &&
        pendingNewlines_ == 0) {
      lines_.back().comment = rtrim(t.text);
      return;
    }
    startLine(L::COMMENT, t.line);
    lines_.back().comment = rtrim(t.text);
  }

  /// A code token: on a new line where the source broke the line, else after the space the
  /// rules give; then the braces and brackets it opens or closes.
  void code(const Tok &t) {
    size_t type = t.type;
    if (type == L::RBRACE && depth_ > 0)
      --depth_;
    if (lines_.empty() || pendingNewlines_ > 0 || t.line > lastLine_)
      startLine(type, t.line);
    else if (spaceBefore(type))
      lines_.back().code += ' ';
    // A token right after a bracket on its line: the bracket's continuation lines align to it.
    if (openedOnThisLine_ && !lines_.back().code.empty())
      brackets_.back().visual = true;
    openedOnThisLine_ = false;
    unaryBefore_ = (type == L::MINUS || type == L::PLUS || type == L::STAR) && startsOperand(prev_);
    lines_.back().code += t.text;
    pendingNewlines_ = 0;
    switch (type) {
    case L::LBRACE:
      ++depth_;
      expressionIndent_ = std::nullopt;
      brackets_.clear();
      break;
    case L::RBRACE:
      brackets_.clear();
      break;
    case L::LPAREN:
    case L::LBRACK:
      brackets_.push_back({kindOf(type), column(), lines_.back().indent});
      openedOnThisLine_ = true;
      break;
    case L::RPAREN:
    case L::RBRACK:
      if (!brackets_.empty())
        brackets_.pop_back();
      break;
    default:
      break;
    }
    prevPrev_ = prev_;
    prev_ = type;
  }

  /// The kind of the bracket `type` ((or [) opens after the tokens before it.
  Bracket kindOf(size_t type) const {
    if (type == L::LBRACK)
      return endsCallee(prev_) ? Bracket::Index : Bracket::List;
    if (prev_ == L::IDENT && (prevPrev_ == L::MODULE || prevPrev_ == L::FN))
      return Bracket::Params;
    if (endsCallee(prev_) || prev_ == L::SCAN || prev_ == L::VMAP || prev_ == L::GRAD ||
        prev_ == L::VALUE_AND_GRAD)
      return Bracket::Call;
    return Bracket::Group;
  }

  /// Whether the token `type` follows the previous one on its line after a space.
  bool spaceBefore(size_t type) const {
    Bracket in = brackets_.empty() ? Bracket::Group : brackets_.back().kind;
    if (prev_ == L::LPAREN || prev_ == L::LBRACK || prev_ == L::DOT)
      return false;
    if (type == L::RPAREN || type == L::RBRACK || type == L::COMMA || type == L::SEMI ||
        type == L::DOT || (type == L::RBRACE && prev_ == L::LBRACE))
      return false;
    if (prev_ == L::COMMA)
      return true;
    if (unaryBefore_)
      return false;
    if ((type == L::ASSIGN || prev_ == L::ASSIGN) && in == Bracket::Call)
      return false; // a keyword argument: axis=[1, 2]
    if (type == L::LPAREN)
      return !(endsCallee(prev_) || prev_ == L::SCAN || prev_ == L::VMAP || prev_ == L::GRAD ||
               prev_ == L::VALUE_AND_GRAD);
    if (type == L::LBRACK)
      return !endsCallee(prev_);
    if (type == L::COLON)
      return false;
    if (prev_ == L::COLON)
      return in != Bracket::Index;
    return true;
  }

  /// Starts a new output line for a token of `type` from source line `line` (NL tokens or a
  /// later source line came before it), with a blank line before it when the source had one
  /// and it is not the first or last line of a block.
  void startLine(size_t type, size_t line) {
    bool inBrackets = !brackets_.empty() && pendingNewlines_ == 0;
    bool continues = !inBrackets && prev_ != 0 && pendingNewlines_ > 0 && type != L::COMMENT &&
                     (isBinaryOperator(prev_) || prev_ == L::ASSIGN);
    // A blank line in the source stays one, except at the start or end of a block or inside a
    // statement continued on the next line.
    size_t gap = inBrackets ? line - lastLine_ : size_t(pendingNewlines_);
    bool closes = type == L::RBRACE || type == L::RPAREN || type == L::RBRACK;
    bool opened = !lines_.empty() && !lines_.back().code.empty() &&
                  std::string("{([").find(lines_.back().code.back()) != std::string::npos;
    bool blank = !lines_.empty() && gap >= 2 && !continues && !closes && !opened;
    if (blank && !lines_.back().blank)
      lines_.push_back(Line{0, "", "", true});
    Line next;
    if (inBrackets) {
      // Inside brackets (the lexer drops newlines there).
      const Open &top = brackets_.back();
      bool closing = type == L::RPAREN || type == L::RBRACK;
      next.indent = closing ? top.lineIndent : top.visual ? top.column : top.lineIndent + 4;
    } else if (continues) {
      // A statement continued after `fn ... =` (2 in, like a body) or after a binary operator
      // (4 in from the line the expression started on).
      if (prev_ == L::ASSIGN) {
        next.indent = size_t(depth_) * 2 + 2;
        expressionIndent_ = next.indent;
      } else {
        if (!expressionIndent_)
          expressionIndent_ = lines_.back().indent;
        next.indent = *expressionIndent_ + 4;
      }
    } else {
      if (type != L::COMMENT)
        expressionIndent_ = std::nullopt;
      next.indent = size_t(depth_) * 2;
    }
    lines_.push_back(next);
    pendingNewlines_ = 0;
  }

  /// The output column after the text of the current line.
  size_t column() const { return lines_.back().indent + width(lines_.back().code); }

  /// The text: each line indented, comments at the ends of consecutive lines lined up.
  std::string render() {
    while (!lines_.empty() && lines_.back().blank)
      lines_.pop_back();
    std::vector<size_t> commentColumn(lines_.size(), 0);
    for (size_t i = 0; i < lines_.size();) {
      if (lines_[i].code.empty() || lines_[i].comment.empty()) {
        ++i;
        continue;
      }
      size_t end = i, widest = 0;
      while (end < lines_.size() && !lines_[end].code.empty() && !lines_[end].comment.empty() &&
             lines_[end].indent == lines_[i].indent) {
        widest = std::max(widest, lines_[end].indent + width(lines_[end].code));
        ++end;
      }
      for (; i < end; ++i)
        commentColumn[i] = widest + 2;
    }
    std::string out;
    for (size_t i = 0; i < lines_.size(); ++i) {
      const Line &line = lines_[i];
      if (line.blank) {
        out += '\n';
        continue;
      }
      std::string text = std::string(line.indent, ' ') + line.code;
      if (!line.comment.empty()) {
        if (!line.code.empty())
          text += std::string(commentColumn[i] - width(text), ' ');
        text += line.comment;
      }
      out += rtrim(text) + '\n';
    }
    return out;
  }

  std::vector<Line> lines_;
  std::vector<Open> brackets_;
  int depth_ = 0;
  size_t prev_ = 0, prevPrev_ = 0;
  size_t lastLine_ = 0;
  int pendingNewlines_ = 0;
  bool unaryBefore_ = false;
  bool openedOnThisLine_ = false;
  /// The indentation of the line a statement's expression started on, while it continues.
  std::optional<size_t> expressionIndent_;
};

/// The tokens that carry meaning: code and comments in order, each run of newlines as one,
/// none at the ends (what a layout may not change).
std::vector<std::pair<size_t, std::string>> meaning(const std::vector<Tok> &toks) {
  std::vector<std::pair<size_t, std::string>> out;
  for (const Tok &t : toks) {
    if (t.type == L::NL && (out.empty() || out.back().first == L::NL))
      continue;
    out.push_back({t.type, t.type == L::NL ? "\n" : t.type == L::COMMENT ? rtrim(t.text) : t.text});
  }
  if (!out.empty() && out.back().first == L::NL)
    out.pop_back();
  return out;
}

} // namespace

std::optional<std::string> formatFile(uint32_t fileId, const SourceManager &sources,
                                      DiagnosticEngine &diags) {
  if (!parseFile(fileId, sources, diags))
    return std::nullopt;
  std::vector<Tok> toks = lexAll(sources.file(fileId).text);
  std::string out = Layout().run(toks);
  if (meaning(lexAll(out)) != meaning(toks))
    throw std::logic_error("the formatter changed the tokens of " + sources.file(fileId).name +
                           " (stage: fmt)");
  return out;
}

} // namespace nnx::lang
