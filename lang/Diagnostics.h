//===- Diagnostics.h - Errors and notes with spans and codes --------------===//
//
// Every user-facing failure of nnx is a Diagnostic: a code from docs/diagnostics.md, a
// lowercase message, a primary span with a short label that states the numbers involved, and
// notes (with or without a span) that say where the other party of the fault came from. The
// engine collects them; render() prints them rustc-style (see DESIGN §4). User errors and
// internal compiler errors are different paths: internal errors never go through here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Source.h"

#include <deque>
#include <iosfwd>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace nnx::lang {

enum class Severity { Error, Warning };

/// A secondary message: with a span it is rendered as `note: ...` and `--> file:line:col`,
/// without one as `= note: ...` (or `= help: ...`).
struct DiagNote {
  std::string message;
  Span span;
  bool help = false;
};

/// One reported fault.
struct Diagnostic {
  Severity severity = Severity::Error;
  std::string code;
  std::string message;
  Span span;
  /// Text printed after the carets under the primary span.
  std::string label;
  std::vector<DiagNote> notes;

  Diagnostic &withLabel(std::string text) {
    label = std::move(text);
    return *this;
  }
  Diagnostic &note(std::string text, Span where = {}) {
    notes.push_back({std::move(text), where, false});
    return *this;
  }
  Diagnostic &help(std::string text) {
    notes.push_back({std::move(text), {}, true});
    return *this;
  }
  /// code + message + label + notes, the text `expected-error {{...}}` is matched against.
  std::string matchText() const;
};

/// Collects diagnostics of a run and renders them.
class DiagnosticEngine {
public:
  explicit DiagnosticEngine(const SourceManager &sources) : sources_(sources) {}

  /// Records an error; chain withLabel()/note()/help() on the result.
  Diagnostic &error(std::string code, Span span, std::string message);
  Diagnostic &warning(std::string code, Span span, std::string message);

  unsigned errorCount() const { return errors_; }
  bool hasErrors() const { return errors_ > 0; }
  const std::deque<Diagnostic> &diagnostics() const { return diags_; }
  /// Forgets every diagnostic (after they were rendered or verified).
  void clear();

  /// Renders one diagnostic; `color` adds ANSI colours.
  void render(std::ostream &os, const Diagnostic &diag, bool color) const;
  /// Renders every diagnostic not rendered yet.
  void flush(std::ostream &os, bool color);

  const SourceManager &sources() const { return sources_; }

private:
  void renderSnippet(std::ostream &os, Span span, const std::string &label, bool color) const;

  const SourceManager &sources_;
  std::deque<Diagnostic> diags_;
  size_t rendered_ = 0;
  unsigned errors_ = 0;
  /// Errors reported so far (code, file, begin, end, message), to show each fault once.
  std::set<std::tuple<std::string, uint32_t, uint32_t, uint32_t, std::string>> reported_;
  /// Where a repeated error is written (and forgotten).
  Diagnostic repeat_;
};

/// The edit distance used for "did you mean" suggestions (adjacent transpositions cost 1).
size_t editDistance(const std::string &a, const std::string &b);

/// The closest of `candidates` to `name` when it is close enough to suggest, else "".
std::string closestName(const std::string &name, const std::vector<std::string> &candidates);

} // namespace nnx::lang
