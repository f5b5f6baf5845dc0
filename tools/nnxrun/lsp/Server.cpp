//===- Server.cpp - `nnxrun lsp`: the language server ---------------------===//
//
// See Server.h.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/lsp/Server.h"
#include "runtime/FileIO.h"

#include "lang/Diagnostics.h"
#include "lang/Source.h"
#include "lang/syntax/Formatter.h"
#include "stdlib/Stdlib.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <unistd.h>

namespace nnx::tool::lsp {

namespace {

namespace fs = std::filesystem;

/// A JSON-RPC error answer to a request.
struct RequestError {
  int code;
  std::string message;
};

// JSON-RPC and LSP error codes.
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kServerNotInitialized = -32002;

/// The path of a request's `textDocument.uri`; InvalidParams when there is none.
std::string documentPath(const nlohmann::json &params) {
  if (!params.is_object() || !params.contains("textDocument") ||
      !params["textDocument"].is_object() || !params["textDocument"].contains("uri") ||
      !params["textDocument"]["uri"].is_string())
    throw RequestError{kInvalidParams, "textDocument.uri is missing"};
  std::string path = pathFromUri(params["textDocument"]["uri"].get<std::string>());
  if (path.empty())
    throw RequestError{kInvalidParams, "only file:// documents are served"};
  // One name per file, as the analyses name files: `a/../b//c.nnx` is `b/c.nnx`.
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::path(path), ec);
  return ec ? path : canonical.string();
}

/// A request's `position`; InvalidParams when malformed.
Position positionOf(const nlohmann::json &params) {
  if (!params.contains("position") || !params["position"].is_object() ||
      !params["position"].value("line", nlohmann::json()).is_number_integer() ||
      !params["position"].value("character", nlohmann::json()).is_number_integer())
    throw RequestError{kInvalidParams, "position is missing"};
  return {params["position"]["line"].get<int>(), params["position"]["character"].get<int>()};
}

} // namespace

std::string stdlibDirectory() {
  uint64_t hash = 1469598103934665603ull; // FNV-1a of every file's name and text
  for (size_t i = 0; i < stdlib::kNumFiles; ++i)
    for (const char *p : {stdlib::kFiles[i].name, stdlib::kFiles[i].text})
      for (; *p; ++p)
        hash = (hash ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
  char name[32];
  std::snprintf(name, sizeof name, "stdlib-%016llx", static_cast<unsigned long long>(hash));
  std::vector<fs::path> roots;
  if (std::string cache = rt::userCacheDirectory(); !cache.empty())
    roots.push_back(fs::path(cache));
  roots.push_back(fs::temp_directory_path() / ("nnx-" + std::to_string(::getuid())));
  for (const fs::path &root : roots) {
    fs::path dir = root / name;
    std::error_code ec;
    fs::create_directories(dir, ec);
    bool ok = !ec;
    for (size_t i = 0; ok && i < stdlib::kNumFiles; ++i) {
      fs::path file = dir / stdlib::kFiles[i].name;
      if (fs::exists(file, ec))
        continue;
      fs::path tmp = file;
      tmp += ".tmp." + std::to_string(::getpid());
      std::ofstream out(tmp, std::ios::binary);
      out << stdlib::kFiles[i].text;
      out.close();
      // Read-only: the stdlib an editor opens from here is for reading.
      fs::permissions(tmp, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read,
                      ec);
      ok = out.good() && !ec;
      fs::rename(tmp, file, ec);
      ok = ok && !ec;
    }
    if (ok)
      return dir.string();
  }
  return "";
}

Server::Server(JsonRpc &rpc, int debounceMillis)
    : rpc_(rpc), debounceMillis_(debounceMillis), stdlibDir_(stdlibDirectory()) {}

Server::~Server() = default;

int Server::run() {
  while (!exit_) {
    std::optional<nlohmann::json> message = rpc_.read();
    if (!message)
      break;
    handle(*message);
    // Debounce: analyse what changed once the client has been quiet for a moment.
    while (!exit_ && !dirty_.empty() && !rpc_.pending(debounceMillis_)) {
      std::string path = *dirty_.begin();
      analyze(path);
    }
  }
  return shutdown_ ? 0 : 1;
}

void Server::handle(const nlohmann::json &message) {
  if (message.contains("parseError")) {
    rpc_.send({{"jsonrpc", "2.0"},
               {"id", nullptr},
               {"error", {{"code", -32700}, {"message", message["parseError"]}}}});
    return;
  }
  if (!message.is_object() || (message.contains("method") && !message["method"].is_string())) {
    nlohmann::json id = message.is_object() && message.contains("id") ? message["id"] : nlohmann::json();
    rpc_.send({{"jsonrpc", "2.0"},
               {"id", id},
               {"error", {{"code", kInvalidRequest}, {"message", "not a JSON-RPC request"}}}});
    return;
  }
  if (!message.contains("method"))
    return; // a response: the server asks nothing, so there is nothing to match it with
  std::string method = message["method"].get<std::string>();
  nlohmann::json params = message.value("params", nlohmann::json::object());
  bool isRequest = message.contains("id");
  if (!isRequest) {
    try {
      notification(method, params);
    } catch (const std::exception &e) {
      std::cerr << "nnxrun lsp: " << method << ": " << e.what() << "\n";
    } catch (const RequestError &e) {
      std::cerr << "nnxrun lsp: " << method << ": " << e.message << "\n";
    }
    return;
  }
  nlohmann::json reply = {{"jsonrpc", "2.0"}, {"id", message["id"]}};
  try {
    reply["result"] = request(method, params);
  } catch (const RequestError &e) {
    reply["error"] = {{"code", e.code}, {"message", e.message}};
  } catch (const std::exception &e) {
    reply["error"] = {{"code", kInternalError}, {"message", std::string(e.what())}};
  }
  rpc_.send(reply);
}

nlohmann::json Server::request(const std::string &method, const nlohmann::json &params) {
  if (method == "initialize") {
    if (initialized_)
      throw RequestError{kInvalidRequest, "initialize was already sent"};
    initialized_ = true;
    readSettings(params.value("initializationOptions", nlohmann::json::object()));
    return {{"capabilities",
             {{"positionEncoding", "utf-16"},
              {"textDocumentSync", {{"openClose", true}, {"change", 1}, {"save", true}}},
              {"hoverProvider", true},
              {"definitionProvider", true},
              {"referencesProvider", true},
              {"documentSymbolProvider", true},
              {"documentFormattingProvider", true},
              {"completionProvider", {{"triggerCharacters", {"."}}}},
              {"semanticTokensProvider",
               {{"legend", {{"tokenTypes", Analysis::semanticTokenTypes()},
                            {"tokenModifiers", nlohmann::json::array()}}},
                {"full", true}}}}},
            {"serverInfo", {{"name", "nnxrun lsp"}}}};
  }
  if (!initialized_)
    throw RequestError{kServerNotInitialized, "initialize first"};
  if (shutdown_)
    throw RequestError{kInvalidRequest, "the server is shutting down"};
  if (method == "shutdown") {
    shutdown_ = true;
    return nullptr;
  }
  if (method == "textDocument/formatting")
    return format(documentPath(params));
  if (method == "textDocument/hover" || method == "textDocument/definition" ||
      method == "textDocument/references" || method == "textDocument/completion" ||
      method == "textDocument/documentSymbol" || method == "textDocument/semanticTokens/full") {
    std::string path = documentPath(params);
    // The outline and the colours are of the text as it is; the rest use the newest analysis
    // that parsed, while the text is half-typed.
    bool ofText = method == "textDocument/documentSymbol" ||
                  method == "textDocument/semanticTokens/full";
    const Analysis *a = ofText ? newestOf(path) : analysisOf(path);
    if (!a)
      return method == "textDocument/hover"                  ? nlohmann::json()
             : method == "textDocument/semanticTokens/full" ? nlohmann::json{{"data", nlohmann::json::array()}}
                                                            : nlohmann::json::array();
    if (method == "textDocument/documentSymbol")
      return a->documentSymbols(path);
    if (method == "textDocument/semanticTokens/full")
      return {{"data", a->semanticTokens(path)}};
    Position p = positionOf(params);
    if (method == "textDocument/completion")
      return complete(path, p, *a);
    if (method == "textDocument/hover")
      return a->hover(path, p);
    if (method == "textDocument/definition")
      return a->definition(path, p);
    if (method == "textDocument/references")
      return references(path, p,
                        params.value("context", nlohmann::json::object())
                            .value("includeDeclaration", true));
  }
  throw RequestError{kMethodNotFound, "`" + method + "` is not served"};
}

void Server::notification(const std::string &method, const nlohmann::json &params) {
  if (method == "exit") {
    exit_ = true;
    return;
  }
  if (!initialized_ || shutdown_)
    return;
  if (method == "textDocument/didOpen" || method == "textDocument/didChange") {
    std::string path = documentPath(params);
    if (method == "textDocument/didOpen") {
      documents_[path] = params["textDocument"].value("text", "");
      uris_[path] = params["textDocument"]["uri"].get<std::string>();
    } else {
      auto doc = documents_.find(path);
      const nlohmann::json &changes = params.value("contentChanges", nlohmann::json::array());
      if (doc == documents_.end() || !changes.is_array())
        return; // a change to a document that is not open
      for (const nlohmann::json &change : changes)
        applyChange(doc->second, change);
    }
    dirty_.insert(path);
    // The open documents that import this one see its new text too.
    for (const auto &[other, analysis] : analyses_)
      if (other != path && analysis->files().count(path))
        dirty_.insert(other);
    if (method == "textDocument/didOpen")
      analyze(path); // the first diagnostics at once
    return;
  }
  if (method == "workspace/didChangeConfiguration") {
    nlohmann::json settings = params.value("settings", nlohmann::json::object());
    readSettings(settings.is_object() && settings.contains("nnx") ? settings["nnx"] : settings);
    for (const auto &[path, text] : documents_)
      dirty_.insert(path);
    return;
  }
  if (method == "textDocument/didSave") {
    std::string path = documentPath(params);
    if (documents_.count(path))
      dirty_.insert(path);
    return;
  }
  if (method == "textDocument/didClose") {
    std::string path = documentPath(params);
    std::string uri = uriOf(path);
    documents_.erase(path);
    uris_.erase(path);
    dirty_.erase(path);
    analyses_.erase(path);
    unparsed_.erase(path);
    rpc_.send({{"jsonrpc", "2.0"},
               {"method", "textDocument/publishDiagnostics"},
               {"params", {{"uri", uri}, {"diagnostics", nlohmann::json::array()}}}});
  }
}

void Server::analyze(const std::string &path) {
  dirty_.erase(path);
  unparsed_.erase(path);
  if (!documents_.count(path))
    return;
  std::unique_ptr<Analysis> analysis;
  try {
    analysis = std::make_unique<Analysis>(path, documents_, stdlibDir_, instances_);
  } catch (const std::exception &e) {
    // An internal error of the front end: said on stderr (the client's log); the previous
    // analysis stays for the queries.
    std::cerr << "nnxrun lsp: analysing " << path << ": " << e.what() << "\n";
    return;
  }
  for (const auto &[file, diagnostics] : analysis->diagnostics())
    rpc_.send({{"jsonrpc", "2.0"},
               {"method", "textDocument/publishDiagnostics"},
               {"params", {{"uri", uriOf(file)}, {"diagnostics", diagnostics}}}});
  // The queries keep the last analysis that parsed while the text is half-typed.
  if (analysis->parsed() || !analyses_.count(path))
    analyses_[path] = std::move(analysis);
  else
    unparsed_[path] = std::move(analysis);
}

void Server::readSettings(const nlohmann::json &settings) {
  if (!settings.is_object() || !settings.contains("instances") || !settings["instances"].is_array())
    return;
  instances_.clear();
  for (const nlohmann::json &instance : settings["instances"])
    if (instance.is_string())
      instances_.push_back(instance.get<std::string>());
}

std::string Server::uriOf(const std::string &path) const {
  auto it = uris_.find(path);
  return it != uris_.end() ? it->second : uriFromPath(path);
}

void Server::applyChange(std::string &text, const nlohmann::json &change) {
  if (!change.is_object() || !change.contains("text") || !change["text"].is_string())
    return;
  std::string replacement = change["text"].get<std::string>();
  const nlohmann::json &range = change.value("range", nlohmann::json());
  if (!range.is_object()) {
    text = std::move(replacement); // full sync
    return;
  }
  // An incremental change (the server asks for full sync, but a client may send ranges).
  auto position = [](const nlohmann::json &p) {
    return Position{p.value("line", 0), p.value("character", 0)};
  };
  LineIndex index(text);
  uint32_t begin = index.offset(position(range.value("start", nlohmann::json::object())));
  uint32_t end = index.offset(position(range.value("end", nlohmann::json::object())));
  if (end < begin)
    std::swap(begin, end);
  text.replace(begin, end - begin, replacement);
}

const Analysis *Server::newestOf(const std::string &path) {
  if (dirty_.count(path))
    analyze(path);
  if (auto it = unparsed_.find(path); it != unparsed_.end())
    return it->second.get();
  return analysisOf(path);
}

const Analysis *Server::analysisOf(const std::string &path) {
  if (dirty_.count(path))
    analyze(path);
  auto it = analyses_.find(path);
  return it == analyses_.end() ? nullptr : it->second.get();
}

nlohmann::json Server::complete(const std::string &path, Position p, const Analysis &current) {
  // After a `.` the text never parses (`model.` ends no expression): a placeholder member,
  // as rust-analyzer inserts one, makes it parse without moving anything before the cursor;
  // the members of what precedes the dot are then known.
  const std::string &text = documents_.at(path);
  uint32_t offset = LineIndex(text).offset(p);
  uint32_t begin = offset;
  while (begin > 0 && (std::isalnum(static_cast<unsigned char>(text[begin - 1])) ||
                       text[begin - 1] == '_'))
    --begin;
  if (begin == 0 || text[begin - 1] != '.')
    return current.completion(path, p);
  std::map<std::string, std::string> patched = documents_;
  patched[path] = text.substr(0, offset) + "__nnx_completion__" + text.substr(offset);
  Analysis probe(path, patched, stdlibDir_);
  return probe.completion(path, p);
}

nlohmann::json Server::references(const std::string &path, Position p, bool withDeclaration) {
  // The document's own analysis, and every open document's that imports it: the uses in
  // importers are found too.
  nlohmann::json out = nlohmann::json::array();
  std::set<std::string> seen;
  auto add = [&](const Analysis &a) {
    for (const nlohmann::json &location : a.references(path, p, withDeclaration))
      if (seen.insert(location.dump()).second)
        out.push_back(location);
  };
  if (const Analysis *own = analysisOf(path))
    add(*own);
  for (const auto &[other, text] : documents_) {
    if (other == path)
      continue;
    const Analysis *a = analysisOf(other);
    if (a && a->files().count(path))
      add(*a);
  }
  return out;
}

nlohmann::json Server::format(const std::string &path) {
  auto doc = documents_.find(path);
  if (doc == documents_.end())
    throw RequestError{kInvalidParams, "the document is not open"};
  lang::SourceManager sources;
  lang::DiagnosticEngine diags(sources);
  uint32_t id = sources.addFile(path, doc->second);
  std::optional<std::string> formatted = lang::formatFile(id, sources, diags);
  nlohmann::json edits = nlohmann::json::array();
  if (!formatted || *formatted == doc->second)
    return edits; // syntax errors (shown as diagnostics) or nothing to change
  LineIndex index(doc->second);
  Position end = index.position(uint32_t(doc->second.size()));
  edits.push_back({{"range",
                    {{"start", {{"line", 0}, {"character", 0}}},
                     {"end", {{"line", end.line}, {"character", end.character}}}}},
                   {"newText", *formatted}});
  return edits;
}

} // namespace nnx::tool::lsp
