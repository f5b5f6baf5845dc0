//===- Parser.cpp - Running the ANTLR parser and reporting syntax errors --===//
//
// Sets up lexer and parser on a source text, replaces ANTLR's console error listeners with
// one that turns each syntax error into an E0101/E0102 diagnostic with a span, and hands a
// clean parse tree to AstBuilder. Token positions in ANTLR count code points; OffsetMap turns
// them back into byte offsets so spans stay right after non-ASCII comments and strings.
//
//===----------------------------------------------------------------------===//
#include "lang/syntax/Parser.h"
#include "lang/syntax/AstBuilder.h"
#include "lang/syntax/InputLimits.h"

#include "NNXLexer.h"
#include "NNXParser.h"
#include "antlr4-runtime.h"

namespace nnx::lang {

namespace {

/// Human names for tokens in "expected ..." labels.
std::string tokenDisplay(const antlr4::dfa::Vocabulary &vocab, size_t type) {
  if (type == antlr4::Token::EOF)
    return "end of file";
  if (type == nnx_antlr::NNXLexer::NL)
    return "end of line";
  if (type == nnx_antlr::NNXLexer::IDENT)
    return "a name";
  if (type == nnx_antlr::NNXLexer::NUMBER)
    return "a number";
  if (type == nnx_antlr::NNXLexer::STRING)
    return "a string";
  std::string lit = vocab.getLiteralName(type);
  if (lit.size() >= 2 && lit.front() == '\'')
    return "`" + lit.substr(1, lit.size() - 2) + "`";
  return vocab.getSymbolicName(type);
}

/// Reports ANTLR syntax errors as diagnostics.
class DiagnosticErrorListener : public antlr4::BaseErrorListener {
public:
  DiagnosticErrorListener(uint32_t fileId, const OffsetMap &offsets, DiagnosticEngine &diags)
      : fileId_(fileId), offsets_(offsets), diags_(diags) {}

  void syntaxError(antlr4::Recognizer *recognizer, antlr4::Token *offending, size_t line,
                   size_t column, const std::string &msg, std::exception_ptr) override {
    if (offending && offending->getStartIndex() == lastStart_ && count > 0)
      return; // the same token, seen again while unwinding: one fault, one error
    lastStart_ = offending ? offending->getStartIndex() : lastStart_;
    ++count;
    if (!offending) { // lexer error; BAD_CHAR makes these rare
      diags_.error("E0102", Span{fileId_, 0, 0}, "invalid character")
          .withLabel(msg);
      return;
    }
    Span span = tokenSpan(offending);
    std::string text = offending->getText();
    size_t type = offending->getType();
    if (type == nnx_antlr::NNXLexer::BAD_CHAR) {
      if (text == "\"")
        diags_.error("E0102", span, "unterminated string literal")
            .withLabel("the string starting here has no closing `\"` on this line");
      else
        diags_.error("E0102", span, "invalid character `" + text + "`")
            .withLabel("not part of any token");
      return;
    }
    std::string what = type == antlr4::Token::EOF                 ? "end of file"
                       : type == nnx_antlr::NNXLexer::NL          ? "end of line"
                                                                  : "`" + text + "`";
    Diagnostic &d = diags_.error("E0101", span, "unexpected " + what);
    auto *parser = dynamic_cast<antlr4::Parser *>(recognizer);
    if (parser)
      d.withLabel(expectedLabel(parser));
  }

  Span tokenSpan(antlr4::Token *tok) const {
    if (tok->getType() == antlr4::Token::EOF) {
      uint32_t end = offsets_.byteOffset(tok->getStartIndex());
      return Span{fileId_, end, end};
    }
    uint32_t begin = offsets_.byteOffset(tok->getStartIndex());
    uint32_t end = offsets_.byteOffset(tok->getStopIndex() + 1);
    return Span{fileId_, begin, std::max(end, begin + 1)};
  }

  unsigned count = 0;

private:
  std::string expectedLabel(antlr4::Parser *parser) const {
    antlr4::misc::IntervalSet expected = parser->getExpectedTokens();
    if (expected.contains(static_cast<size_t>(nnx_antlr::NNXLexer::IDENT)) &&
        expected.contains(static_cast<size_t>(nnx_antlr::NNXLexer::NUMBER)))
      return "expected an expression";
    std::vector<std::string> names;
    for (size_t type : expected.toList())
      if (type != nnx_antlr::NNXLexer::NL || expected.size() == 1)
        names.push_back(tokenDisplay(parser->getVocabulary(), type));
    if (names.empty())
      return "not expected here";
    if (names.size() > 6)
      return "not expected here";
    std::string label = "expected ";
    for (size_t i = 0; i < names.size(); ++i)
      label += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return label;
  }

  uint32_t fileId_;
  const OffsetMap &offsets_;
  DiagnosticEngine &diags_;
  size_t lastStart_ = static_cast<size_t>(-1);
};

/// Panic-mode recovery, as in clox: after a syntax error, skip to the end of the statement
/// (a newline, `;` or `}` outside brackets) and go on, so each fault gives one error and
/// later statements are still checked.
class StatementRecovery : public antlr4::DefaultErrorStrategy {
public:
  void recover(antlr4::Parser *parser, std::exception_ptr) override {
    size_t index = parser->getInputStream()->index();
    if (lastErrorIndex == static_cast<int>(index) && lastErrorStates.contains(parser->getState()))
      parser->consume(); // no progress since the last error: skip one token
    lastErrorIndex = static_cast<int>(parser->getInputStream()->index());
    lastErrorStates.add(parser->getState());
    consumeUntil(parser, statementEnds());
  }

  antlr4::Token *recoverInline(antlr4::Parser *parser) override {
    throw antlr4::InputMismatchException(parser);
  }

  /// At the entry and back edge of loops and sub-rules (statements of a block, items of a
  /// file), an unexpected token is reported and the statement skipped without leaving the
  /// loop, so the rest of the block is still parsed.
  void sync(antlr4::Parser *parser) override {
    if (inErrorRecoveryMode(parser))
      return;
    antlr4::atn::ATNState *state = parser->getATN().states[parser->getState()];
    size_t la = parser->getTokenStream()->LA(1);
    antlr4::misc::IntervalSet next = parser->getATN().nextTokens(state);
    if (next.contains(antlr4::Token::EPSILON) || next.contains(la))
      return;
    // Only the statement loops (they continue at `;`) resynchronise here; elsewhere the
    // fault surfaces where matching fails and recover() skips the statement.
    if (!next.contains(static_cast<size_t>(nnx_antlr::NNXLexer::SEMI)))
      return;
    switch (state->getStateType()) {
    case antlr4::atn::ATNState::BLOCK_START:
    case antlr4::atn::ATNState::STAR_BLOCK_START:
    case antlr4::atn::ATNState::PLUS_BLOCK_START:
    case antlr4::atn::ATNState::STAR_LOOP_ENTRY:
    case antlr4::atn::ATNState::PLUS_LOOP_BACK:
    case antlr4::atn::ATNState::STAR_LOOP_BACK:
      reportUnwantedToken(parser);
      consumeUntil(parser, statementEnds());
      return;
    default:
      return;
    }
  }

private:
  static antlr4::misc::IntervalSet statementEnds() {
    antlr4::misc::IntervalSet stop;
    stop.add(nnx_antlr::NNXLexer::NL);
    stop.add(nnx_antlr::NNXLexer::SEMI);
    stop.add(nnx_antlr::NNXLexer::RBRACE);
    stop.add(antlr4::Token::EOF);
    return stop;
  }
};

/// Lexer, token stream and parser over one text, with diagnostics wired in.
struct ParseSession {
  ParseSession(uint32_t fileId, const SourceManager &sources, DiagnosticEngine &diags)
      : offsets(sources.file(fileId).text), input(sources.file(fileId).text), lexer(&input),
        tokens(&lexer), parser(&tokens), listener(fileId, offsets, diags) {
    lexer.removeErrorListeners();
    lexer.addErrorListener(&listener);
    // The parser's listener and error strategy are set per stage (parseTwoStage).
  }
  OffsetMap offsets;
  antlr4::ANTLRInputStream input;
  nnx_antlr::NNXLexer lexer;
  antlr4::CommonTokenStream tokens;
  nnx_antlr::NNXParser parser;
  DiagnosticErrorListener listener;
};

/// Runs the parser rule `rule` with ANTLR's two-stage strategy: SLL prediction that bails
/// out at the first syntax error or conflict, then, only if it did, full LL prediction from
/// the first token with the diagnostics and statement recovery. Where SLL succeeds its tree is
/// the one LL would build (the ANTLR 4 reference, "two-stage parsing"), and its prediction is
/// much cheaper: the first parse of a process fills ANTLR's DFA cache, and that was most of
/// a cached `nnxrun run`'s time.
template <typename Rule> auto parseTwoStage(ParseSession &session, Rule rule) {
  auto *simulator = session.parser.getInterpreter<antlr4::atn::ParserATNSimulator>();
  simulator->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  session.parser.removeErrorListeners();
  session.parser.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
  try {
    return (session.parser.*rule)();
  } catch (const antlr4::ParseCancellationException &) {
  }
  session.parser.reset();
  simulator->setPredictionMode(antlr4::atn::PredictionMode::LL);
  session.parser.addErrorListener(&session.listener);
  session.parser.setErrorHandler(std::make_shared<StatementRecovery>());
  return (session.parser.*rule)();
}

} // namespace

OffsetMap::OffsetMap(const std::string &text) {
  bool ascii = true;
  for (unsigned char c : text)
    ascii &= c < 0x80;
  if (ascii)
    return;
  for (uint32_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
      starts_.push_back(i);
  starts_.push_back(static_cast<uint32_t>(text.size()));
}

uint32_t OffsetMap::byteOffset(size_t codePoint) const {
  if (starts_.empty())
    return static_cast<uint32_t>(codePoint);
  return codePoint < starts_.size() ? starts_[codePoint] : starts_.back();
}

/// Whether the text of `fileId` may be handed to ANTLR: UTF-8, nesting within the limits and
/// integer literals within i64 (InputLimits.h); reported otherwise.
static bool withinLimits(uint32_t fileId, DiagnosticEngine &diags, ParseSession &session) {
  session.tokens.fill();
  return checkTokenLimits(session.tokens, fileId, session.offsets, diags);
}

std::unique_ptr<FileAST> parseFile(uint32_t fileId, const SourceManager &sources,
                                   DiagnosticEngine &diags) {
  if (!checkUtf8(sources.file(fileId).text, fileId, diags))
    return nullptr;
  ParseSession session(fileId, sources, diags);
  if (!withinLimits(fileId, diags, session))
    return nullptr;
  auto *tree = parseTwoStage(session, &nnx_antlr::NNXParser::file);
  if (session.listener.count > 0)
    return nullptr;
  AstBuilder builder(fileId, session.offsets, sources);
  return builder.buildFile(tree);
}

ExprPtr parseExpression(uint32_t fileId, const SourceManager &sources, DiagnosticEngine &diags) {
  if (!checkUtf8(sources.file(fileId).text, fileId, diags))
    return nullptr;
  ParseSession session(fileId, sources, diags);
  if (!withinLimits(fileId, diags, session))
    return nullptr;
  auto *tree = parseTwoStage(session, &nnx_antlr::NNXParser::singleExpr);
  if (session.listener.count > 0)
    return nullptr;
  AstBuilder builder(fileId, session.offsets, sources);
  return builder.buildExpr(tree->expr());
}

} // namespace nnx::lang
