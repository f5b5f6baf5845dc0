//===- LspCommand.cpp - `nnxrun lsp` --------------------------------------===//
//
// Runs the language server (lsp/Server.h) on stdin and stdout. Diagnostics of the server
// itself go to stderr, which editors show in their log of the server.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/lsp/JsonRpc.h"
#include "tools/nnxrun/lsp/Server.h"

#include <iostream>
#include <unistd.h>

namespace nnx::tool {

int runLsp() {
  lsp::JsonRpc rpc(STDIN_FILENO, std::cout);
  lsp::Server server(rpc);
  return server.run();
}

} // namespace nnx::tool
