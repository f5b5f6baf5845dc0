//===- Analysis.h - What the language server knows about a file -----------===//
//
// One run of the front end over an open document (with every other open document standing in
// for its file): the diagnostics `nnxrun check` gives (syntax, names, and the shapes and dtypes
// found by tracing the file's `test` blocks and its typed functions), an index of the
// declarations (modules, members, methods, functions, parameters, variable kinds, tests, in the
// user's files and the stdlib), and the concrete types the traces gave each expression and
// variable. The queries (hover, definition, references, completion, symbols) answer from it
// without running anything again. Positions are LSP's: 0-based lines, UTF-16 code units.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/AST.h"
#include "lang/Source.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace nnx::tool {
class Session;
} // namespace nnx::tool

namespace nnx::tool::lsp {

/// `file:///a%20b/c.nnx` -> `/a b/c.nnx`; "" for a URI that is not a file URI.
std::string pathFromUri(const std::string &uri);
/// The file URI of an absolute path (RFC 3986: bytes outside the unreserved set and `/` are
/// percent-encoded).
std::string uriFromPath(const std::string &path);

/// A position as LSP counts it: 0-based line, UTF-16 code units into the line.
struct Position {
  int line = 0;
  int character = 0;
};

/// Byte offsets of one text to LSP positions and back.
class LineIndex {
public:
  explicit LineIndex(const std::string &text);
  Position position(uint32_t offset) const;
  /// The byte offset of `p`, clamped to the text (a position past a line's end is its end).
  uint32_t offset(Position p) const;

private:
  std::string text_;
  std::vector<uint32_t> starts_;
};

/// A declaration: what hover shows, where definition goes.
struct Symbol {
  enum class Kind { Module, Function, Method, Member, Parameter, VariableKind, Test, Local };
  Kind kind;
  std::string name;
  /// One line of code that declares it: `module Linear(in_features: int, ...)`,
  /// `Param kernel: f32[in_features, out_features]`, `linear = Linear(din, dmid)`.
  std::string detail;
  /// The comment lines right above the declaration.
  std::string doc;
  lang::Span span, nameSpan;
  /// The module a member, method or module parameter belongs to ("" for top-level).
  std::string container;
  /// For a member holding a module (`linear = Linear(...)`): that module's name.
  std::string moduleType;
  /// For a member or local given a value (`h = relu(x)`): the value's expression.
  lang::Span valueSpan = {};
};

/// The front end's view of a set of open documents, from the point of view of one of them.
class Analysis {
public:
  /// Loads `path` (and its imports) as `nnxrun check` does, reading any file in `overlays`
  /// (path -> text) from there instead of the disk; traces its tests and typed functions,
  /// recording the types they give. `stdlibDir` is where the stdlib's sources are served from
  /// (so that definitions in the stdlib have a file to open).
  /// `instances`: module expressions a workspace setting gives (`Model(784, 256, 10)`), with
  /// which the document's modules are traced for hover where its tests do not reach.
  Analysis(const std::string &path, const std::map<std::string, std::string> &overlays,
           const std::string &stdlibDir, const std::vector<std::string> &instances = {});
  ~Analysis();

  /// LSP Diagnostic arrays by file path: one entry (maybe empty) per user file loaded.
  std::map<std::string, nlohmann::json> diagnostics() const;
  /// DocumentSymbol[] of `path`: modules with their members and methods, functions, tests.
  nlohmann::json documentSymbols(const std::string &path) const;
  /// Hover content (markdown) at `p` in `path`, or null.
  nlohmann::json hover(const std::string &path, Position p) const;
  /// Location[] of the declaration(s) of the name at `p`.
  nlohmann::json definition(const std::string &path, Position p) const;
  /// Location[] of every use of the declaration of the name at `p` in the user's files.
  nlohmann::json references(const std::string &path, Position p, bool withDeclaration) const;
  /// CompletionItem[] at `p`: members after `.`, otherwise names in scope, built-ins,
  /// keywords (declarations as snippets).
  nlohmann::json completion(const std::string &path, Position p) const;
  /// The token types semanticTokens uses, in the order of its legend.
  static const std::vector<std::string> &semanticTokenTypes();
  /// SemanticTokens.data of `path`: every token, identifiers classed by what they resolve to.
  nlohmann::json semanticTokens(const std::string &path) const;

  /// The file path a span's file is served from (stdlib files under stdlibDir).
  std::string pathOf(uint32_t fileId) const;
  /// Whether the document parsed (the index and the queries know its declarations).
  bool parsed() const;
  /// The paths of the user files it read (the document and what it imports).
  const std::set<std::string> &files() const { return files_; }

private:
  /// The identifier at `offset` of file `fileId`: its span (invalid if none).
  lang::Span identifierAt(uint32_t fileId, uint32_t offset) const;
  /// The declarations the identifier `name` at `at` refers to.
  std::vector<const Symbol *> resolve(lang::Span at) const;
  /// The module whose instance the expression text ending before `dot` (a `.`) holds: the
  /// chain `a.b.c` resolved member by member from a local, a parameter or a member.
  std::string moduleOfChain(uint32_t fileId, uint32_t dot) const;
  /// Symbols visible by bare name at `offset` of `fileId` (only those named `name` when it is
  /// not empty), innermost first: locals and parameters of the enclosing function or test,
  /// members and parameters of the enclosing module.
  std::vector<const Symbol *> scopeAt(uint32_t fileId, uint32_t offset,
                                      const std::string &name = "") const;
  /// The members and methods of module `name`.
  std::vector<const Symbol *> membersOf(const std::string &module) const;
  nlohmann::json location(lang::Span span) const;
  nlohmann::json range(lang::Span span) const;
  /// The id of the loaded file at `path`, 0 if none.
  uint32_t fileOf(const std::string &path) const;
  void indexFile(const lang::FileAST &ast);
  const Symbol *addSymbol(Symbol symbol);
  /// Parameters in scope within `scope` (a module's or a function's span).
  void addParams(const std::vector<lang::Param> &params, const std::string &owner,
                 lang::Span scope);
  void indexBlock(const lang::Block &block, const std::string &container,
                  const lang::Span &scope, bool moduleBody);
  std::string declarationLine(lang::Span span) const;
  std::string docAbove(lang::Span span) const;

  /// Traces, for hover, what the tests do not: each module of the document, instantiated from
  /// `instances` or else with stand-in extents for its `int` hyper-parameters, and its
  /// `__call__` with stand-ins for the dimension variables of its annotated parameters; the
  /// types recorded show each stand-in by name (`f32[B, dmid]`). Errors of these traces are
  /// not the document's: they are not published, and a failed trace records nothing.
  void traceForHover(const std::vector<std::string> &instances);

  class Recorder;
  using SpanKey = std::tuple<uint32_t, uint32_t, uint32_t>; // file, begin, end
  std::unique_ptr<Session> session_;
  std::unique_ptr<Recorder> recorder_;
  /// The distinct types the traces gave each expression and each variable declaration
  /// (by the span of its name).
  std::map<SpanKey, std::vector<std::string>> expressionTypes_, variableTypes_;
  /// The types traceForHover found, each with the instance it stands for.
  std::map<SpanKey, std::vector<std::string>> hoverTypes_;
  /// The diagnostics of the document (those after are traceForHover's).
  size_t documentDiagnostics_ = SIZE_MAX;
  std::string stdlibDir_;
  std::vector<std::unique_ptr<Symbol>> symbols_;
  /// Locals and parameters, with the span of the function, test or module they live in, by
  /// name.
  std::map<std::string, std::vector<std::pair<lang::Span, const Symbol *>>> scoped_;
  /// Per name, the longest scope (scoped_ is sorted by scope start once indexing is done, so
  /// that the scopes around an offset are found near it).
  std::map<std::string, uint32_t> longestScope_;
  /// The LineIndex of each file, made on first use.
  const LineIndex &lineIndex(uint32_t fileId) const;
  mutable std::map<uint32_t, std::unique_ptr<LineIndex>> lineIndexes_;
  std::map<std::string, std::vector<const Symbol *>> members_;
  std::map<std::string, const Symbol *> globals_;
  /// Every module declaration (the enclosing module of an offset is among these).
  std::vector<const Symbol *> modules_;
  /// Each declaration by the (file, offset) of its name.
  std::map<std::pair<uint32_t, uint32_t>, const Symbol *> declarations_;
  std::set<uint32_t> userFiles_;
  std::set<std::string> files_;
  /// The analysed document's path, as given.
  std::string path_;
};

} // namespace nnx::tool::lsp
