//===- Error.h - User errors raised by the runtime -----------------------===//
//
// The runtime reports bad input (a truncated .npy, a corrupt safetensors header, a checkpoint
// that does not fit the model) by throwing rt::Error: an error code from docs/diagnostics.md,
// a lowercase message that states the numbers involved, and optional notes. The CLI renders
// it as a diagnostic and exits 1. Programming errors are not rt::Error; they are asserts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace nnx::rt {

/// A user-facing failure with a diagnostic code (e.g. "E0501") and notes.
class Error : public std::runtime_error {
public:
  Error(std::string code, const std::string &message, std::vector<std::string> notes = {})
      : std::runtime_error(message), code_(std::move(code)), notes_(std::move(notes)) {}

  /// The diagnostic code, "E" followed by four digits.
  const std::string &code() const { return code_; }
  /// Extra lines rendered as `= note: ...`.
  const std::vector<std::string> &notes() const { return notes_; }

private:
  std::string code_;
  std::vector<std::string> notes_;
};

} // namespace nnx::rt
