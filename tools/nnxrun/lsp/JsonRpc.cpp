//===- JsonRpc.cpp - LSP base protocol framing -----------------------------===//
//
// See JsonRpc.h.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/lsp/JsonRpc.h"

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <poll.h>
#include <unistd.h>

namespace nnx::tool::lsp {

namespace {

/// Header fields past this many bytes are not an LSP header.
constexpr size_t kMaxHeaderBytes = 4096;
/// Bodies past this are refused (an editor sends whole documents; sources are capped at 64 MiB).
constexpr size_t kMaxBodyBytes = size_t(128) << 20;

} // namespace

bool JsonRpc::fill(int millis) {
  if (eof_)
    return false;
  pollfd p{inFd_, POLLIN, 0};
  int ready = ::poll(&p, 1, millis);
  if (ready < 0 && errno == EINTR)
    return true;
  if (ready <= 0)
    return ready == 0;
  char chunk[65536];
  ssize_t n = ::read(inFd_, chunk, sizeof chunk);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(chunk, size_t(n));
  return true;
}

/// Where the header at the start of `buffer` ends and the body begins: after `\r\n\r\n`, or
/// `\n\n` from a client that writes bare newlines; npos when not there yet.
static std::pair<size_t, size_t> headerEnd(const std::string &buffer) {
  size_t crlf = buffer.find("\r\n\r\n"), lf = buffer.find("\n\n");
  if (crlf != std::string::npos && (lf == std::string::npos || crlf < lf))
    return {crlf, crlf + 4};
  if (lf != std::string::npos)
    return {lf, lf + 2};
  return {std::string::npos, std::string::npos};
}

size_t JsonRpc::framed() const {
  auto [end, body] = headerEnd(buffer_);
  if (end == std::string::npos)
    return buffer_.size() > kMaxHeaderBytes ? std::string::npos : 0;
  size_t length = std::string::npos;
  size_t pos = 0;
  while (pos < end) {
    size_t eol = std::min(buffer_.find('\n', pos), end);
    std::string field = buffer_.substr(pos, eol - pos);
    if (!field.empty() && field.back() == '\r')
      field.pop_back();
    pos = eol + 1;
    static const std::string kLength = "content-length:";
    std::string lower = field.substr(0, kLength.size());
    for (char &c : lower)
      c = char(std::tolower(static_cast<unsigned char>(c)));
    if (lower != kLength)
      continue;
    char *stop = nullptr;
    unsigned long long n = std::strtoull(field.c_str() + kLength.size(), &stop, 10);
    if (stop == field.c_str() + kLength.size() || n > kMaxBodyBytes)
      return std::string::npos;
    length = size_t(n);
  }
  if (length == std::string::npos)
    return std::string::npos;
  size_t total = body + length;
  return buffer_.size() >= total ? total : 0;
}

bool JsonRpc::pending(int millis) {
  if (framed() != 0)
    return true;
  while (fill(millis)) {
    if (framed() != 0)
      return true;
    if (millis == 0)
      return false;
    millis = 0; // one wait, then only what is already readable
  }
  return framed() != 0;
}

std::optional<nlohmann::json> JsonRpc::read() {
  size_t total = 0;
  while ((total = framed()) == 0)
    if (!fill(-1))
      return std::nullopt;
  if (total == std::string::npos) {
    // A malformed header: the stream cannot be resynchronised. Said on stderr (the editor's
    // log of the server), then the server stops.
    std::string header = buffer_.substr(0, std::min<size_t>(buffer_.size(), 80));
    for (char &c : header)
      if (c == '\r' || c == '\n')
        c = ' ';
    std::cerr << "nnxrun lsp: malformed message header (it needs `Content-Length: N` with N "
                 "at most 128 MiB): `"
              << header << "`\n";
    buffer_.clear();
    eof_ = true;
    return std::nullopt;
  }
  size_t body = headerEnd(buffer_).second;
  std::string text = buffer_.substr(body, total - body);
  buffer_.erase(0, total);
  nlohmann::json message = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded())
    return nlohmann::json{{"parseError", "the message body is not JSON"}};
  return message;
}

void JsonRpc::send(const nlohmann::json &message) {
  std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out_ << "Content-Length: " << body.size() << "\r\n\r\n" << body;
  out_.flush();
}

} // namespace nnx::tool::lsp
