//===- Analysis.cpp - Running the front end for the language server -------===//
//
// See Analysis.h. This file runs the front end and builds the index: the diagnostics, the
// declarations of every loaded file, and a TraceObserver (Recorder) that keeps the concrete
// types the traces gave each expression and variable. The queries are in Queries.cpp.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/lsp/Analysis.h"
#include "tools/nnxrun/lsp/Recorder.h"
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

#include "ir/Types.h"
#include "lang/Evaluator.h"
#include "lang/Instance.h"
#include "lang/Resolve.h"
#include "runtime/Error.h"

#include "llvm/Support/Casting.h"

#include <cctype>
#include <filesystem>

namespace nnx::tool::lsp {

namespace fs = std::filesystem;
using llvm::dyn_cast;
using llvm::dyn_cast_or_null;

//===----------------------------------------------------------------------===//
// URIs and positions
//===----------------------------------------------------------------------===//

std::string pathFromUri(const std::string &uri) {
  static const std::string kScheme = "file://";
  if (uri.compare(0, kScheme.size(), kScheme) != 0)
    return "";
  // The authority: empty or localhost (a file on another host is not served).
  size_t slash = uri.find('/', kScheme.size());
  if (slash == std::string::npos)
    return "";
  std::string host = uri.substr(kScheme.size(), slash - kScheme.size());
  if (!host.empty() && host != "localhost")
    return "";
  size_t end = std::min(uri.find('?', slash), uri.find('#', slash));
  if (end == std::string::npos)
    end = uri.size();
  std::string path;
  for (size_t i = slash; i < end; ++i) {
    if (uri[i] == '%' && i + 2 < uri.size() && std::isxdigit(static_cast<unsigned char>(uri[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(uri[i + 2]))) {
      path += char(std::stoi(uri.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      path += uri[i];
    }
  }
  return path == "/" ? "" : path;
}

std::string uriFromPath(const std::string &path) {
  std::string uri = "file://";
  static const char *kHex = "0123456789ABCDEF";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      uri += char(c);
    } else {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    }
  }
  return uri;
}

LineIndex::LineIndex(const std::string &text) : text_(text) {
  starts_.push_back(0);
  for (uint32_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n')
      starts_.push_back(i + 1);
}

Position LineIndex::position(uint32_t offset) const {
  offset = std::min<uint32_t>(offset, uint32_t(text_.size()));
  size_t line = size_t(std::upper_bound(starts_.begin(), starts_.end(), offset) - starts_.begin()) - 1;
  int character = 0;
  for (uint32_t i = starts_[line]; i < offset;) {
    unsigned char c = static_cast<unsigned char>(text_[i]);
    int bytes = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    character += bytes == 4 ? 2 : 1; // beyond the BMP: a surrogate pair
    i += uint32_t(bytes);
  }
  return {int(line), character};
}

uint32_t LineIndex::offset(Position p) const {
  if (p.line < 0)
    return 0;
  if (size_t(p.line) >= starts_.size())
    return uint32_t(text_.size());
  uint32_t i = starts_[size_t(p.line)];
  for (int units = 0; i < text_.size() && text_[i] != '\n' && units < p.character;) {
    unsigned char c = static_cast<unsigned char>(text_[i]);
    int bytes = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    units += bytes == 4 ? 2 : 1;
    i += uint32_t(bytes);
  }
  return std::min<uint32_t>(i, uint32_t(text_.size()));
}

//===----------------------------------------------------------------------===//
// Running the front end
//===----------------------------------------------------------------------===//

Analysis::Analysis(const std::string &path, const std::map<std::string, std::string> &overlays,
                   const std::string &stdlibDir, const std::vector<std::string> &instances)
    : session_(std::make_unique<Session>()),
      recorder_(std::make_unique<Recorder>(expressionTypes_, variableTypes_)),
      stdlibDir_(stdlibDir), path_(path) {
  lang::Program &program = session_->program();
  for (const auto &[file, text] : overlays)
    program.setOverlay(file, text);
  bool loaded = false;
  try {
    loaded = session_->loadFiles({path});
  } catch (const rt::Error &e) {
    lang::Diagnostic &d = program.diags().error(e.code(), {}, e.what());
    for (const std::string &note : e.notes())
      d.note(note);
  }
  for (const lang::FileAST *ast : program.allFiles())
    if (program.isStdlib(lang::Span{ast->fileId, 0, 0}))
      indexFile(*ast);
  for (const lang::FileAST *ast : program.userFiles()) {
    userFiles_.insert(ast->fileId);
    indexFile(*ast);
  }
  // The files read, once: the server asks on every edit of any open document.
  if (uint32_t main = fileOf(path_))
    files_.insert(pathOf(main));
  for (uint32_t id : userFiles_)
    files_.insert(pathOf(id));
  for (auto &[name, entries] : scoped_) {
    std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) {
      return std::make_tuple(a.first.file, a.first.begin, a.second->nameSpan.begin) <
             std::make_tuple(b.first.file, b.first.begin, b.second->nameSpan.begin);
    });
    for (const auto &[scope, sym] : entries)
      longestScope_[name] = std::max(longestScope_[name], scope.end - scope.begin);
  }
  if (!loaded || !lang::resolveProgram(program))
    return;
  lang::TraceOptions options;
  options.observer = recorder_.get();
  try {
    traceChecks(*session_, fileOf(path), options);
  } catch (const rt::Error &e) {
    lang::Diagnostic &d = program.diags().error(e.code(), {}, e.what());
    for (const std::string &note : e.notes())
      d.note(note);
  }
  documentDiagnostics_ = program.diags().diagnostics().size();
  traceForHover(instances);
}

Analysis::~Analysis() = default;


const LineIndex &Analysis::lineIndex(uint32_t fileId) const {
  std::unique_ptr<LineIndex> &index = lineIndexes_[fileId];
  if (!index)
    index = std::make_unique<LineIndex>(session_->program().sources().file(fileId).text);
  return *index;
}

bool Analysis::parsed() const {
  uint32_t id = fileOf(path_);
  return id && session_->program().fileAST(id);
}

std::string Analysis::pathOf(uint32_t fileId) const {
  const std::string &name = session_->program().sources().file(fileId).name;
  static const std::string kStdlib = "<stdlib>/";
  if (name.rfind(kStdlib, 0) == 0)
    return (fs::path(stdlibDir_) / name.substr(kStdlib.size())).string();
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(name, ec), ec);
  return ec ? name : canonical.string();
}

uint32_t Analysis::fileOf(const std::string &path) const {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(path, ec), ec);
  std::string want = ec ? path : canonical.string();
  for (const lang::FileAST *ast : session_->program().allFiles())
    if (pathOf(ast->fileId) == want)
      return ast->fileId;
  return session_->program().sources().findFile(path);
}

nlohmann::json Analysis::range(lang::Span span) const {
  const LineIndex &index = lineIndex(span.file);
  Position a = index.position(span.begin), b = index.position(std::max(span.end, span.begin));
  return {{"start", {{"line", a.line}, {"character", a.character}}},
          {"end", {{"line", b.line}, {"character", b.character}}}};
}

nlohmann::json Analysis::location(lang::Span span) const {
  return {{"uri", uriFromPath(pathOf(span.file))}, {"range", range(span)}};
}

std::map<std::string, nlohmann::json> Analysis::diagnostics() const {
  std::map<std::string, nlohmann::json> byFile;
  const lang::Program &program = session_->program();
  uint32_t main = fileOf(path_);
  // Every user file read (parsed or not): stdlib files and generated texts ("<...>") are not.
  auto userFile = [&](uint32_t id) {
    return id && !program.isStdlib(lang::Span{id, 0, 0}) &&
           program.sources().file(id).name.rfind("<", 0) != 0;
  };
  byFile[main ? pathOf(main) : path_] = nlohmann::json::array();
  for (uint32_t id : userFiles_)
    byFile[pathOf(id)] = nlohmann::json::array();
  const auto &all = session_->program().diags().diagnostics();
  for (size_t i = 0; i < documentDiagnostics_ && i < all.size(); ++i) {
    const lang::Diagnostic &d = all[i];
    lang::Span span = d.span;
    std::string prefix;
    // A fault in the stdlib or in generated text is shown at the top of the file.
    if (span.valid() && !userFile(span.file)) {
      prefix = "(in " + program.sources().location(span) + ") ";
      span = {};
    }
    if (!span.valid() && main == 0) {
      // The document could not be read at all: the message without a range in the file.
      byFile[path_].push_back({{"range", {{"start", {{"line", 0}, {"character", 0}}},
                                          {"end", {{"line", 0}, {"character", 0}}}}},
                               {"severity", 1},
                               {"code", d.code},
                               {"source", "nnx"},
                               {"message", d.message}});
      continue;
    }
    std::string message = prefix + d.message + (d.label.empty() ? "" : "\n" + d.label);
    nlohmann::json related = nlohmann::json::array();
    for (const lang::DiagNote &n : d.notes) {
      if (n.span.valid() && program.sources().file(n.span.file).name.rfind("<nnxrun>", 0) != 0)
        related.push_back({{"location", location(n.span)}, {"message", n.message}});
      else
        message += std::string("\n") + (n.help ? "help: " : "note: ") + n.message;
    }
    nlohmann::json diag = {
        {"range", span.valid() ? range(span) : range(lang::Span{main, 0, 0})},
        {"severity", d.severity == lang::Severity::Error ? 1 : 2},
        {"code", d.code},
        {"source", "nnx"},
        {"message", message}};
    if (!related.empty())
      diag["relatedInformation"] = related;
    byFile[pathOf(span.valid() ? span.file : main)].push_back(diag);
  }
  return byFile;
}

//===----------------------------------------------------------------------===//
// The index of declarations
//===----------------------------------------------------------------------===//

std::string Analysis::declarationLine(lang::Span span) const {
  const std::string &text = session_->program().sources().file(span.file).text;
  size_t end = text.find('\n', span.begin);
  std::string line = text.substr(span.begin, (end == std::string::npos ? text.size() : end) - span.begin);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) { // a comment at the end is not the declaration
    if (line[i] == '"')
      quoted = !quoted;
    else if (line[i] == '#' && !quoted) {
      line.resize(i);
      break;
    }
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == '{' || line.back() == '\r'))
    line.pop_back();
  return line;
}

/// The header of a module or function: its text up to the `)` closing its parameters, and its
/// return type (`-> f32[B]`) if any, on one line.
static std::string header(const std::string &text, lang::Span span, uint32_t after) {
  int depth = 0;
  bool quoted = false;
  size_t end = text.size();
  for (size_t i = after; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"')
      quoted = !quoted;
    if (quoted)
      continue;
    if (c == '(' || c == '[')
      ++depth;
    if ((c == ')' || c == ']') && --depth == 0) {
      end = i + 1;
      break;
    }
  }
  size_t next = text.find_first_not_of(" \t", end);
  if (next != std::string::npos && text.compare(next, 2, "->") == 0)
    end = std::min(text.find_first_of("{=\n", next), text.size());
  std::string out;
  for (size_t k = span.begin; k < end; ++k) {
    char c = text[k];
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ')
      continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ')
    out.pop_back();
  return out;
}

std::string Analysis::docAbove(lang::Span span) const {
  const std::string &text = session_->program().sources().file(span.file).text;
  size_t lineStart = text.rfind('\n', span.begin == 0 ? 0 : span.begin - 1);
  std::vector<std::string> lines;
  while (lineStart != std::string::npos && lineStart > 0) {
    size_t prev = text.rfind('\n', lineStart - 1);
    size_t from = prev == std::string::npos ? 0 : prev + 1;
    std::string line = text.substr(from, lineStart - from);
    size_t hash = line.find_first_not_of(" \t");
    if (hash == std::string::npos || line[hash] != '#')
      break;
    line = line.substr(hash + 1);
    if (!line.empty() && line[0] == ' ')
      line.erase(0, 1);
    lines.push_back(line);
    if (prev == std::string::npos)
      break;
    lineStart = prev;
  }
  std::string doc;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it)
    doc += *it + "\n";
  return doc;
}

/// The module a value expression creates (`Linear(...)`, `vmap(4) Block(...)`), by name.
static std::string createdModule(const lang::Expr *value) {
  if (auto *vmap = dyn_cast<lang::VmapExpr>(value))
    value = vmap->target.get();
  if (auto *call = dyn_cast<lang::CallExpr>(value))
    if (auto *callee = dyn_cast<lang::NameExpr>(call->callee.get()))
      return callee->name;
  return "";
}

const Symbol *Analysis::addSymbol(Symbol symbol) {
  symbols_.push_back(std::make_unique<Symbol>(std::move(symbol)));
  const Symbol *added = symbols_.back().get();
  declarations_.emplace(std::make_pair(added->nameSpan.file, added->nameSpan.begin), added);
  return added;
}

void Analysis::addParams(const std::vector<lang::Param> &params, const std::string &owner,
                         lang::Span scope) {
  const lang::SourceManager &sources = session_->program().sources();
  for (const lang::Param &p : params) {
    // The name inside the parameter's text (`*masks`: after the star).
    std::string_view text = sources.text(p.span);
    size_t at = text.find(p.name);
    uint32_t begin = p.span.begin + uint32_t(at == std::string_view::npos ? 0 : at);
    Symbol s{Symbol::Kind::Parameter, p.name, std::string(sources.text(p.span)), "", p.span,
             lang::Span{p.span.file, begin, begin + uint32_t(p.name.size())}, owner,
             p.type ? p.type->name : ""};
    const Symbol *added = addSymbol(std::move(s));
    scoped_[added->name].push_back({scope, added});
  }
}

void Analysis::indexBlock(const lang::Block &block, const std::string &container,
                          const lang::Span &scope, bool moduleBody) {
  auto add = [&](Symbol s) { return addSymbol(std::move(s)); };
  for (const lang::StmtPtr &stmt : block) {
    if (auto *fnStmt = dyn_cast<lang::FnStmt>(stmt.get())) {
      const lang::FnDecl &fn = *fnStmt->fn;
      const std::string &text = session_->program().sources().file(fn.span.file).text;
      Symbol s{moduleBody ? Symbol::Kind::Method : Symbol::Kind::Local, fn.name,
               header(text, fn.span, fn.nameSpan.end), docAbove(fn.span), fn.span, fn.nameSpan,
               container, ""};
      const Symbol *sym = add(std::move(s));
      if (moduleBody)
        members_[container].push_back(sym);
      else
        scoped_[sym->name].push_back({scope, sym});
      addParams(fn.params, container, fn.span);
      indexBlock(fn.body, container, fn.span, false);
    } else if (auto *var = dyn_cast<lang::VarDeclStmt>(stmt.get())) {
      Symbol s{Symbol::Kind::Member, var->name, declarationLine(var->span), docAbove(var->span),
               var->span, var->nameSpan, container, ""};
      const Symbol *sym = add(std::move(s));
      if (moduleBody)
        members_[container].push_back(sym);
    } else if (auto *assign = dyn_cast<lang::AssignStmt>(stmt.get())) {
      for (size_t i = 0; i < assign->targets.size(); ++i) {
        auto *name = dyn_cast<lang::NameExpr>(assign->targets[i].get());
        if (!name)
          continue;
        bool known = false;
        if (moduleBody)
          for (const Symbol *m : members_[container])
            known |= m->name == name->name;
        else
          for (const auto &[where, sym] : scoped_[name->name])
            known |= where.begin == scope.begin && where.file == scope.file;
        if (known)
          continue;
        std::string type = assign->targets.size() == assign->values.size()
                               ? createdModule(assign->values[i].get())
                               : "";
        Symbol s{moduleBody ? Symbol::Kind::Member : Symbol::Kind::Local, name->name,
                 declarationLine(assign->span), docAbove(assign->span), assign->span,
                 name->span, container, type};
        if (assign->targets.size() == assign->values.size())
          s.valueSpan = assign->values[i]->span;
        const Symbol *sym = add(std::move(s));
        if (moduleBody)
          members_[container].push_back(sym);
        else
          scoped_[sym->name].push_back({scope, sym});
      }
    } else if (auto *ifStmt = dyn_cast<lang::IfStmt>(stmt.get())) {
      indexBlock(ifStmt->thenBlock, container, scope, moduleBody);
      indexBlock(ifStmt->elseBlock, container, scope, moduleBody);
    } else if (auto *forStmt = dyn_cast<lang::ForStmt>(stmt.get())) {
      indexBlock(forStmt->body, container, scope, moduleBody);
    }
  }
}

void Analysis::indexFile(const lang::FileAST &ast) {
  const std::string &text = session_->program().sources().file(ast.fileId).text;
  for (const lang::KindDecl &k : ast.kinds) {
    lang::Span name{k.span.file, k.span.end - uint32_t(k.name.size()), k.span.end};
    globals_[k.name] = addSymbol({Symbol::Kind::VariableKind, k.name, "variable " + k.name,
                                  docAbove(k.span), k.span, name, "", ""});
  }
  for (const auto &m : ast.modules) {
    globals_[m->name] =
        addSymbol({Symbol::Kind::Module, m->name, header(text, m->span, m->nameSpan.end),
                   docAbove(m->span), m->span, m->nameSpan, "", ""});
    modules_.push_back(globals_[m->name]);
    members_[m->name].clear();
    addParams(m->params, m->name, m->span); // in scope in the body and the methods
    indexBlock(m->body, m->name, m->span, true);
  }
  for (const auto &fn : ast.functions) {
    globals_[fn->name] =
        addSymbol({Symbol::Kind::Function, fn->name, header(text, fn->span, fn->nameSpan.end),
                   docAbove(fn->span), fn->span, fn->nameSpan, "", ""});
    addParams(fn->params, "", fn->span);
    indexBlock(fn->body, "", fn->span, false);
  }
  for (const auto &test : ast.tests) {
    addSymbol({Symbol::Kind::Test, test->name, "test \"" + test->name + "\"", "", test->span,
               test->span, "", ""});
    indexBlock(test->body, "", test->span, false);
  }
}

} // namespace nnx::tool::lsp
