//===- JsonRpc.h - LSP base protocol: JSON-RPC messages over a byte stream -===//
//
// The framing of the Language Server Protocol's base protocol: each message is a header
// (`Content-Length: N`, other header fields ignored) and a blank line, then N bytes of JSON.
// Reads come from a file descriptor (stdin) through a buffer, so the server can ask whether
// another message is already waiting (it debounces edits that way); writes go to a stream and
// are flushed per message.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <ostream>
#include <string>

namespace nnx::tool::lsp {

/// One JSON-RPC connection: messages in from `inFd`, out to `out`.
class JsonRpc {
public:
  JsonRpc(int inFd, std::ostream &out) : inFd_(inFd), out_(out) {}

  /// The next message; nullopt at the end of the input. A message whose body is not JSON is
  /// returned as a JSON-RPC parse error object {"parseError": "..."} (the caller answers it).
  std::optional<nlohmann::json> read();
  /// Whether a whole message arrives within `millis` milliseconds (0: already buffered or
  /// readable now) without consuming it.
  bool pending(int millis);
  /// Writes `message` with its header and flushes.
  void send(const nlohmann::json &message);

private:
  /// Reads what the descriptor has (blocking up to `millis`, -1 forever); false at EOF.
  bool fill(int millis);
  /// The length of the whole message at the start of the buffer (header + body), 0 when it
  /// is not all there, npos on a malformed header.
  size_t framed() const;

  int inFd_;
  std::ostream &out_;
  std::string buffer_;
  bool eof_ = false;
};

} // namespace nnx::tool::lsp
