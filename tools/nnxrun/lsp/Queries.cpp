//===- Queries.cpp - Hover, definition, references, completion, symbols ---===//
//
// See Analysis.h. A name is resolved the way the language resolves it, from the index: after
// a `.`, a member of the module the expression before holds (a chain of locals, parameters and
// members created from module calls: `model.block.linear`); otherwise a local or parameter of
// the enclosing function or test, a member of the enclosing module, then a top-level name.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/lsp/Analysis.h"
#include "tools/nnxrun/Session.h"

#include "lang/syntax/Tokens.h"

#include <cctype>

namespace nnx::tool::lsp {

namespace {

bool isIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

/// The language's keywords (grammar/NNX.g4's KEYWORDS section).
const char *const kKeywords[] = {"import", "variable", "module", "fn",  "test",  "return",
                                 "assert", "if",       "else",   "for", "in",    "and",
                                 "or",     "not",      "true",   "false", "vmap", "scan",
                                 "grad",   "value_and_grad"};

/// A built-in name and what it is (lang/Builtins.def).
struct Builtin {
  const char *name;
  const char *what;
};
const Builtin kBuiltins[] = {
#define NNX_BUILTIN_FN(n) {#n, "built-in function"},
#define NNX_INITIALIZER(n) {#n, "initializer (for a variable declaration)"},
#define NNX_VARIABLE_KIND(n) {#n, "variable kind"},
#define NNX_DTYPE(n) {#n, "dtype (and a conversion function)"},
#define NNX_SCALAR_TYPE(n) {#n, "hyper-parameter type"},
#define NNX_CONSTANT(n) {#n, "built-in constant"},
#include "lang/Builtins.def"
};

const Builtin *findBuiltin(const std::string &name) {
  for (const Builtin &b : kBuiltins)
    if (name == b.name)
      return &b;
  return nullptr;
}

} // namespace

extern const char *const kBuiltinDocs; // docs/language.md's built-ins (EmbedDocs.cmake)

namespace {

/// What docs/language.md says of built-in `name`: the code span that shows it (`softmax(x,
/// axis=-1)`, or the list naming it) and its table row's group and text. Empty when the table
/// does not name it.
struct BuiltinDoc {
  std::string signature, group, row;
};
BuiltinDoc findBuiltinDoc(const std::string &name) {
  std::string docs = kBuiltinDocs;
  size_t pos = 0;
  while (pos < docs.size()) {
    size_t eol = docs.find('\n', pos);
    std::string line = docs.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    pos = eol == std::string::npos ? docs.size() : eol + 1;
    if (line.rfind("| ", 0) != 0)
      continue;
    size_t bar = line.find(" | ", 2);
    if (bar == std::string::npos)
      continue;
    std::string group = line.substr(2, bar - 2);
    std::string row = line.substr(bar + 3);
    if (row.size() >= 2 && row.compare(row.size() - 2, 2, " |") == 0)
      row.resize(row.size() - 2);
    // The code spans of the row; the first that starts with the name, or lists it.
    for (size_t open = row.find('`'); open != std::string::npos;) {
      size_t close = row.find('`', open + 1);
      if (close == std::string::npos)
        break;
      std::string code = row.substr(open + 1, close - open - 1);
      open = row.find('`', close + 1);
      if (code.rfind(name + "(", 0) == 0)
        return {code, group, row};
      std::string word;
      bool listed = false, plain = true;
      for (char c : code + " ") {
        if (isIdentChar(c)) {
          word += c;
          continue;
        }
        plain &= c == ' ';
        listed |= word == name;
        word.clear();
      }
      if (listed && plain)
        return {name, group, row};
    }
  }
  return {};
}

/// LSP's CompletionItemKind and SymbolKind numbers for a declaration.
int completionKind(Symbol::Kind kind) {
  switch (kind) {
  case Symbol::Kind::Module: return 7;       // Class
  case Symbol::Kind::Function: return 3;     // Function
  case Symbol::Kind::Method: return 2;       // Method
  case Symbol::Kind::Member: return 5;       // Field
  case Symbol::Kind::VariableKind: return 25; // TypeParameter
  default: return 6;                          // Variable
  }
}
int symbolKind(Symbol::Kind kind) {
  switch (kind) {
  case Symbol::Kind::Module: return 5;        // Class
  case Symbol::Kind::Function: return 12;     // Function
  case Symbol::Kind::Method: return 6;        // Method
  case Symbol::Kind::Member: return 8;        // Field
  case Symbol::Kind::VariableKind: return 26; // TypeParameter
  case Symbol::Kind::Test: return 24;         // Event
  default: return 13;                         // Variable
  }
}

bool contains(lang::Span outer, uint32_t file, uint32_t offset) {
  return outer.file == file && outer.begin <= offset && offset <= outer.end;
}


/// builtinDoc of `name`, read from the table once per name: completion asks for every
/// built-in on each request.
const BuiltinDoc &builtinDoc(const std::string &name) {
  static std::map<std::string, BuiltinDoc> cache;
  auto it = cache.find(name);
  if (it == cache.end())
    it = cache.emplace(name, findBuiltinDoc(name)).first;
  return it->second;
}
} // namespace

lang::Span Analysis::identifierAt(uint32_t fileId, uint32_t offset) const {
  if (!fileId)
    return {};
  const std::string &text = session_->program().sources().file(fileId).text;
  offset = std::min<uint32_t>(offset, uint32_t(text.size()));
  uint32_t begin = offset, end = offset;
  while (begin > 0 && isIdentChar(text[begin - 1]))
    --begin;
  while (end < text.size() && isIdentChar(text[end]))
    ++end;
  if (begin == end || std::isdigit(static_cast<unsigned char>(text[begin])))
    return {};
  // Not inside a comment or a string on this line.
  size_t lineStart = text.rfind('\n', begin == 0 ? 0 : begin - 1);
  lineStart = lineStart == std::string::npos ? 0 : lineStart + 1;
  bool quoted = false;
  for (size_t i = lineStart; i < begin; ++i) {
    if (text[i] == '"')
      quoted = !quoted;
    else if (text[i] == '#' && !quoted)
      return {};
  }
  if (quoted)
    return {};
  return {fileId, begin, end};
}

std::vector<const Symbol *> Analysis::membersOf(const std::string &module) const {
  auto it = members_.find(module);
  return it == members_.end() ? std::vector<const Symbol *>{} : it->second;
}

std::vector<const Symbol *> Analysis::scopeAt(uint32_t fileId, uint32_t offset,
                                              const std::string &name) const {
  // Innermost scope first: a method's locals and parameters before its module's parameters.
  std::vector<std::pair<uint32_t, const Symbol *>> found;
  auto collect = [&](const std::vector<std::pair<lang::Span, const Symbol *>> &entries) {
    for (const auto &[scope, sym] : entries)
      if (contains(scope, fileId, offset))
        found.push_back({scope.end - scope.begin, sym});
  };
  if (!name.empty()) {
    // Sorted by start: only the entries starting within the longest scope before `offset`
    // can contain it.
    if (auto it = scoped_.find(name); it != scoped_.end()) {
      const auto &entries = it->second;
      uint32_t longest = longestScope_.count(name) ? longestScope_.at(name) : 0;
      auto after = std::upper_bound(entries.begin(), entries.end(), std::make_pair(fileId, offset),
                                    [](const std::pair<uint32_t, uint32_t> &key, const auto &e) {
                                      return key < std::make_pair(e.first.file, e.first.begin);
                                    });
      for (auto e = after; e != entries.begin();) {
        --e;
        if (e->first.file != fileId || e->first.begin + longest < offset)
          break;
        if (contains(e->first, fileId, offset))
          found.push_back({e->first.end - e->first.begin, e->second});
      }
    }
  } else {
    for (const auto &[n, entries] : scoped_)
      collect(entries);
  }
  std::sort(found.begin(), found.end(), [](const auto &a, const auto &b) {
    return std::make_pair(a.first, a.second->nameSpan.begin) <
           std::make_pair(b.first, b.second->nameSpan.begin);
  });
  std::vector<const Symbol *> out;
  for (const auto &[size, sym] : found)
    out.push_back(sym);
  // Members and methods of the enclosing module.
  for (const Symbol *sym : modules_)
    if (contains(sym->span, fileId, offset) && globals_.at(sym->name) == sym)
      for (const Symbol *m : membersOf(sym->name))
        if (name.empty() || m->name == name)
          out.push_back(m);
  return out;
}

std::string Analysis::moduleOfChain(uint32_t fileId, uint32_t dot) const {
  const std::string &text = session_->program().sources().file(fileId).text;
  std::vector<lang::Span> chain;
  uint32_t at = dot;
  while (true) {
    uint32_t end = at;
    while (end > 0 && text[end - 1] == ' ')
      --end;
    uint32_t begin = end;
    while (begin > 0 && isIdentChar(text[begin - 1]))
      --begin;
    if (begin == end)
      return "";
    chain.insert(chain.begin(), lang::Span{fileId, begin, end});
    uint32_t before = begin;
    while (before > 0 && text[before - 1] == ' ')
      --before;
    if (before == 0 || text[before - 1] != '.')
      break;
    at = before - 1;
  }
  std::string module;
  for (size_t i = 0; i < chain.size(); ++i) {
    std::string name = text.substr(chain[i].begin, chain[i].end - chain[i].begin);
    const Symbol *found = nullptr;
    if (i == 0) {
      std::vector<const Symbol *> inScope = scopeAt(fileId, chain[i].begin, name);
      found = inScope.empty() ? nullptr : inScope.front();
    } else {
      for (const Symbol *s : membersOf(module))
        if (s->name == name)
          found = s;
    }
    if (!found || found->moduleType.empty() || !globals_.count(found->moduleType) ||
        globals_.at(found->moduleType)->kind != Symbol::Kind::Module)
      return "";
    module = found->moduleType;
  }
  return module;
}

std::vector<const Symbol *> Analysis::resolve(lang::Span at) const {
  const std::string &text = session_->program().sources().file(at.file).text;
  std::string name = text.substr(at.begin, at.end - at.begin);
  std::vector<const Symbol *> out;
  uint32_t before = at.begin;
  while (before > 0 && text[before - 1] == ' ')
    --before;
  if (before > 0 && text[before - 1] == '.') {
    // A member: of the module the chain before holds, else of any module that has one.
    std::string module = moduleOfChain(at.file, before - 1);
    for (const auto &[owner, members] : members_)
      if (module.empty() || owner == module)
        for (const Symbol *m : members)
          if (m->name == name)
            out.push_back(m);
    return out;
  }
  // The declaration itself.
  if (auto it = declarations_.find({at.file, at.begin});
      it != declarations_.end() && it->second->name == name)
    return {it->second};
  if (std::vector<const Symbol *> inScope = scopeAt(at.file, at.begin, name); !inScope.empty())
    return {inScope.front()};
  if (auto it = globals_.find(name); it != globals_.end())
    out.push_back(it->second);
  return out;
}

nlohmann::json Analysis::hover(const std::string &path, Position p) const {
  uint32_t fileId = fileOf(path);
  if (!fileId)
    return nullptr;
  const std::string &text = session_->program().sources().file(fileId).text;
  uint32_t offset = lineIndex(fileId).offset(p);
  lang::Span at = identifierAt(fileId, offset);
  if (!at.valid())
    return nullptr;
  std::string name = text.substr(at.begin, at.end - at.begin);
  std::string value;
  for (const Symbol *s : resolve(at)) {
    value += "```nnx\n" + s->detail + "\n```\n";
    if (!s->container.empty() && s->kind != Symbol::Kind::Parameter)
      value += "in `" + s->container + "`\n\n";
    if (!s->doc.empty())
      value += s->doc + "\n";
    auto types = variableTypes_.find({s->nameSpan.file, s->nameSpan.begin, s->nameSpan.end});
    if (types == variableTypes_.end() && s->valueSpan.valid())
      types = expressionTypes_.find({s->valueSpan.file, s->valueSpan.begin, s->valueSpan.end});
    if (types != variableTypes_.end() && types != expressionTypes_.end()) {
      value += "\nIn the tests: ";
      for (size_t i = 0; i < types->second.size(); ++i)
        value += (i ? ", `" : "`") + types->second[i] + "`";
      value += "\n";
    }
  }
  if (value.empty())
    if (const Builtin *b = findBuiltin(name)) {
      const BuiltinDoc &doc = builtinDoc(name);
      value = "```nnx\n" + (doc.signature.empty() ? name : doc.signature) + "\n```\n" + b->what +
              (doc.group.empty() ? "" : " (" + doc.group + ")") + "\n\n" +
              (doc.row.empty() ? "" : doc.row + "\n");
    }
  // The value of the smallest traced expression around the name: its shape in the tests.
  const std::vector<std::string> *types = nullptr;
  uint32_t smallest = UINT32_MAX;
  for (auto it = expressionTypes_.lower_bound({fileId, 0, 0});
       it != expressionTypes_.end() && std::get<0>(it->first) == fileId; ++it) {
    auto [file, begin, end] = it->first;
    if (begin <= at.begin && at.end <= end && end - begin < smallest) {
      smallest = end - begin;
      types = &it->second;
    }
  }
  bool fromTests = types != nullptr;
  if (!types) {
    // Where no test reaches: the types traced for the setting's instance or for stand-ins.
    for (const auto &[key, found] : hoverTypes_) {
      auto [file, begin, end] = key;
      if (file == fileId && begin <= at.begin && at.end <= end && end - begin < smallest) {
        smallest = end - begin;
        types = &found;
      }
    }
  }
  if (types) {
    value += std::string(value.empty() ? "" : "\n---\n") + "`" +
             text.substr(at.begin, at.end - at.begin) + "`" +
             (smallest > at.end - at.begin ? " (in the expression around it)" : "") +
             (fromTests ? " in the tests: " : ": ");
    for (size_t i = 0; i < types->size(); ++i)
      value += (i ? ", `" : "`") + (*types)[i] + "`";
    value += "\n";
  }
  if (value.empty())
    return nullptr;
  return {{"contents", {{"kind", "markdown"}, {"value", value}}}, {"range", range(at)}};
}

nlohmann::json Analysis::definition(const std::string &path, Position p) const {
  nlohmann::json out = nlohmann::json::array();
  uint32_t fileId = fileOf(path);
  if (!fileId)
    return out;
  uint32_t offset = lineIndex(fileId).offset(p);
  // An import's path: the file.
  if (const lang::FileAST *ast = session_->program().fileAST(fileId))
    for (const lang::ImportDecl &imp : ast->imports)
      if (contains(imp.span, fileId, offset)) {
        std::filesystem::path file =
            std::filesystem::path(pathOf(fileId)).parent_path() / imp.path;
        out.push_back({{"uri", uriFromPath(file.lexically_normal().string())},
                       {"range", {{"start", {{"line", 0}, {"character", 0}}},
                                  {"end", {{"line", 0}, {"character", 0}}}}}});
        return out;
      }
  lang::Span at = identifierAt(fileId, offset);
  if (!at.valid())
    return out;
  for (const Symbol *s : resolve(at))
    out.push_back(location(s->nameSpan));
  return out;
}

nlohmann::json Analysis::references(const std::string &path, Position p,
                                    bool withDeclaration) const {
  nlohmann::json out = nlohmann::json::array();
  uint32_t fileId = fileOf(path);
  if (!fileId)
    return out;
  const std::string &text = session_->program().sources().file(fileId).text;
  lang::Span at = identifierAt(fileId, lineIndex(fileId).offset(p));
  if (!at.valid())
    return out;
  std::vector<const Symbol *> targets = resolve(at);
  if (targets.empty())
    return out;
  std::string name = text.substr(at.begin, at.end - at.begin);
  for (uint32_t file : userFiles_) {
    const std::string &source = session_->program().sources().file(file).text;
    for (size_t pos = source.find(name); pos != std::string::npos;
         pos = source.find(name, pos + 1)) {
      if ((pos > 0 && isIdentChar(source[pos - 1])) ||
          (pos + name.size() < source.size() && isIdentChar(source[pos + name.size()])))
        continue;
      lang::Span use = identifierAt(file, uint32_t(pos));
      if (!use.valid() || use.begin != pos)
        continue;
      std::vector<const Symbol *> meant = resolve(use);
      bool same = std::any_of(meant.begin(), meant.end(), [&](const Symbol *s) {
        return std::find(targets.begin(), targets.end(), s) != targets.end();
      });
      bool declaration = std::any_of(targets.begin(), targets.end(), [&](const Symbol *s) {
        return s->nameSpan.file == file && s->nameSpan.begin == pos;
      });
      if (same && (withDeclaration || !declaration))
        out.push_back(location(use));
    }
  }
  return out;
}

nlohmann::json Analysis::completion(const std::string &path, Position p) const {
  nlohmann::json items = nlohmann::json::array();
  uint32_t fileId = fileOf(path);
  if (!fileId)
    return items;
  const std::string &text = session_->program().sources().file(fileId).text;
  uint32_t offset = lineIndex(fileId).offset(p);
  uint32_t begin = offset;
  while (begin > 0 && isIdentChar(text[begin - 1]))
    --begin;
  std::string prefix = text.substr(begin, offset - begin);
  std::set<std::string> seen;
  auto item = [&](const std::string &label, int kind, const std::string &detail) {
    if (label.rfind(prefix, 0) != 0 || !seen.insert(label).second || label.rfind("__", 0) == 0)
      return;
    items.push_back({{"label", label}, {"kind", kind}, {"detail", detail}});
  };
  uint32_t before = begin;
  while (before > 0 && text[before - 1] == ' ')
    --before;
  if (before > 0 && text[before - 1] == '.') {
    for (const Symbol *m : membersOf(moduleOfChain(fileId, before - 1)))
      item(m->name, completionKind(m->kind), m->detail);
    return items;
  }
  for (const Symbol *s : scopeAt(fileId, offset))
    item(s->name, completionKind(s->kind), s->detail);
  for (const auto &[name, s] : globals_)
    item(name, completionKind(s->kind), s->detail);
  for (const Builtin &b : kBuiltins) {
    std::string signature = builtinDoc(b.name).signature;
    item(b.name, 3, signature.empty() || signature == b.name ? b.what : signature);
  }
  for (const char *k : kKeywords)
    item(k, 14, "keyword");
  // Declarations and blocks as snippets (LSP's InsertTextFormat 2: $1 tab stops).
  static const std::pair<const char *, const char *> kSnippets[] = {
      {"module", "module ${1:Name}(${2:features: int}) {\n  $0\n}"},
      {"fn", "fn ${1:name}(${2:x}) {\n  $0\n}"},
      {"test", "test \"${1:what it checks}\" {\n  $0\n}"},
      {"if", "if ${1:condition} {\n  $0\n}"},
      {"for", "for ${1:i} in ${2:range(n)} {\n  $0\n}"},
      {"import", "import \"${1:file}.nnx\""}};
  for (auto &entry : items)
    for (const auto &[keyword, body] : kSnippets)
      if (entry["label"] == keyword) {
        entry["kind"] = 15; // Snippet
        entry["insertText"] = body;
        entry["insertTextFormat"] = 2;
      }
  return items;
}

const std::vector<std::string> &Analysis::semanticTokenTypes() {
  static const std::vector<std::string> types = {
      "keyword", "variable", "function", "class",   "parameter", "property",
      "method",  "type",     "number",   "string",  "comment",   "operator"};
  return types;
}

nlohmann::json Analysis::semanticTokens(const std::string &path) const {
  enum Type { Keyword, Variable, Function, Class, Parameter, Property, Method, TypeName, Number,
              String, Comment, Operator };
  nlohmann::json data = nlohmann::json::array();
  uint32_t fileId = fileOf(path);
  if (!fileId)
    return data;
  const std::string &text = session_->program().sources().file(fileId).text;
  const LineIndex &index = lineIndex(fileId);
  Position last;
  for (const lang::LexedToken &t : lang::lexTokens(text)) {
    int type = -1;
    switch (t.cls) {
    case lang::TokenClass::Keyword: type = Keyword; break;
    case lang::TokenClass::Number: type = Number; break;
    case lang::TokenClass::String: type = String; break;
    case lang::TokenClass::Comment: type = Comment; break;
    case lang::TokenClass::Operator: type = Operator; break;
    case lang::TokenClass::Punctuation: break;
    case lang::TokenClass::Identifier: {
      std::vector<const Symbol *> meant = resolve({fileId, t.begin, t.end});
      if (meant.empty()) {
        const Builtin *b = findBuiltin(text.substr(t.begin, t.end - t.begin));
        type = !b ? Variable : std::string(b->what).find("function") != std::string::npos ||
                                       std::string(b->what).find("initializer") == 0
                                   ? Function
                                   : TypeName;
        break;
      }
      switch (meant.front()->kind) {
      case Symbol::Kind::Module: type = Class; break;
      case Symbol::Kind::Function: type = Function; break;
      case Symbol::Kind::Method: type = Method; break;
      case Symbol::Kind::Member: type = Property; break;
      case Symbol::Kind::Parameter: type = Parameter; break;
      case Symbol::Kind::VariableKind: type = TypeName; break;
      default: type = Variable; break;
      }
      break;
    }
    }
    if (type < 0)
      continue;
    Position a = index.position(t.begin), b = index.position(t.end);
    if (b.line != a.line)
      continue; // tokens never span lines; defensive
    data.push_back(a.line - last.line);
    data.push_back(a.line == last.line ? a.character - last.character : a.character);
    data.push_back(b.character - a.character);
    data.push_back(type);
    data.push_back(0);
    last = a;
  }
  return data;
}

nlohmann::json Analysis::documentSymbols(const std::string &path) const {
  nlohmann::json out = nlohmann::json::array();
  uint32_t fileId = fileOf(path);
  auto symbol = [&](const Symbol &s) {
    return nlohmann::json{{"name", s.kind == Symbol::Kind::Test ? s.detail : s.name},
                          {"detail", s.detail},
                          {"kind", symbolKind(s.kind)},
                          {"range", range(s.span)},
                          {"selectionRange", range(s.nameSpan)}};
  };
  for (const auto &s : symbols_) {
    if (s->span.file != fileId || !s->container.empty() ||
        (s->kind != Symbol::Kind::Module && s->kind != Symbol::Kind::Function &&
         s->kind != Symbol::Kind::Test && s->kind != Symbol::Kind::VariableKind))
      continue;
    nlohmann::json entry = symbol(*s);
    if (s->kind == Symbol::Kind::Module) {
      entry["children"] = nlohmann::json::array();
      for (const Symbol *m : membersOf(s->name))
        if (m->span.file == fileId)
          entry["children"].push_back(symbol(*m));
    }
    out.push_back(entry);
  }
  return out;
}

} // namespace nnx::tool::lsp
