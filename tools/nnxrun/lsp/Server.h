//===- Server.h - `nnxrun lsp`: the language server -----------------------===//
//
// A Language Server Protocol server over one JSON-RPC connection: the open documents (full
// text sync), their analyses (Analysis.h: re-run on open, on change once the client has been
// quiet for a moment, and on save), diagnostics published for every file an analysis loaded,
// and the requests hover, definition, references, completion, documentSymbol and formatting.
// Every request gets an answer (a JSON-RPC error for what it cannot do); nothing a client
// sends makes it crash or write anything but protocol to stdout.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/nnxrun/lsp/Analysis.h"
#include "tools/nnxrun/lsp/JsonRpc.h"

#include <map>
#include <memory>
#include <set>
#include <string>

namespace nnx::tool::lsp {

/// The server's state between messages.
class Server {
public:
  /// `debounceMillis`: how long the client must be quiet after an edit before the document is
  /// analysed again.
  Server(JsonRpc &rpc, int debounceMillis = 150);
  ~Server();

  /// Serves until `exit` or the end of the input; the process exit code (0 after a
  /// `shutdown`, 1 otherwise, as the protocol says).
  int run();

private:
  void handle(const nlohmann::json &message);
  /// The result of request `method`; throws RequestError for a JSON-RPC error.
  nlohmann::json request(const std::string &method, const nlohmann::json &params);
  void notification(const std::string &method, const nlohmann::json &params);
  /// Analyses the open document `path` and publishes the diagnostics of every file it loaded.
  void analyze(const std::string &path);
  /// The newest analysis of `path` (analysed now if it changed since).
  const Analysis *analysisOf(const std::string &path);
  /// The newest analysis of `path`, parsed or not.
  const Analysis *newestOf(const std::string &path);
  /// The URI the client names `path` by (it receives diagnostics under it).
  std::string uriOf(const std::string &path) const;
  /// Applies one TextDocumentContentChangeEvent (whole text, or a range) to `text`.
  static void applyChange(std::string &text, const nlohmann::json &change);
  nlohmann::json format(const std::string &path);
  /// Location[] of the uses of the name at `p` in `path` and in the open documents that
  /// import it.
  nlohmann::json references(const std::string &path, Position p, bool withDeclaration);
  /// Completion items at `p`: from `current`, or from an analysis of the text with a
  /// placeholder at `p` when only that parses (after a `.`).
  nlohmann::json complete(const std::string &path, Position p, const Analysis &current);

  JsonRpc &rpc_;
  int debounceMillis_;
  std::string stdlibDir_;
  bool initialized_ = false, shutdown_ = false, exit_ = false;
  /// Open documents: path -> text, and the URI the client gave.
  std::map<std::string, std::string> documents_, uris_;
  /// Documents changed since their last analysis.
  std::set<std::string> dirty_;
  /// Per document, the newest analysis that parsed (what the queries use) ...
  std::map<std::string, std::unique_ptr<Analysis>> analyses_;
  /// ... and a newer one that did not, kept until the next.
  std::map<std::string, std::unique_ptr<Analysis>> unparsed_;
  /// The setting `nnx.instances`: module expressions hover traces the modules with.
  std::vector<std::string> instances_;
  /// Reads `nnx.instances` from initializationOptions or a configuration change.
  void readSettings(const nlohmann::json &settings);
};

/// The directory the stdlib's sources are served from for go-to-definition (written once,
/// read-only, under the compile cache directory or the temporary directory).
std::string stdlibDirectory();

} // namespace nnx::tool::lsp
