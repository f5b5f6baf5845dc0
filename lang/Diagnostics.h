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

/// How diagnostics are written: rustc-like text, or JSON Lines (one object per diagnostic, the
/// form of DiagnosticEngine::toJson) for editors and CI (`--diagnostics json`).
enum class DiagnosticFormat { Text, Json };

/// The format flush() uses, process-wide (default Text).
void setDiagnosticFormat(DiagnosticFormat format);
DiagnosticFormat diagnosticFormat();

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
  /// For the errors not rendered yet, all raised while tracing code a tool generated (in a
  /// source named `sourceName`, e.g. "<nnxrun>") on values it bound: drops their spans in
  /// that source (a primary label stays, shown as "= label") and adds `note`, which says where
  /// the values came from (a command-line flag) — also to an error deep in a library function
  /// the generated code reached. Returns how many diagnostics it changed.
  unsigned detachFrom(const std::string &sourceName, const std::string &note);

  /// Renders one diagnostic; `color` adds ANSI colours.
  void render(std::ostream &os, const Diagnostic &diag, bool color) const;
  /// Renders every diagnostic not rendered yet (as text, or JSON Lines in the Json format).
  void flush(std::ostream &os, bool color);
  /// `diag` as one line of JSON: {"code", "severity" ("error"/"warning"), "message", "label",
  /// "file", "range": {"start": {"line", "column", "offset"}, "end": {...}} (1-based lines and
  /// byte columns; "file" and "range" absent without a span), "notes": [{"kind" ("note"/
  /// "help"), "message", and "file", "line", "column" when the note has a span}]}.
  /// docs/diagnostics.schema.json is its JSON Schema.
  std::string toJson(const Diagnostic &diag) const;

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

/// The optimal-string-alignment edit distance: insertions, deletions, substitutions and
/// adjacent transpositions each cost 1.
size_t editDistance(const std::string &a, const std::string &b);

/// A typo distance in half steps (lower is closer): insertions, deletions, substitutions and
/// adjacent transpositions cost 2, a letter in the wrong case or a doubled letter (`reluu` for
/// `relu`) costs 1 — so `reluu` is nearer `relu` than `relu6`.
size_t typoDistance(const std::string &a, const std::string &b);

/// The candidates nearest to `name` by typoDistance (all of them on a tie, sorted), within a
/// third of its length; never `name` itself nor a name in `exclude` (the name being defined
/// on the line: `embed = Embd(...)` does not suggest `embed`). When none is that near, the
/// candidates that continue `name` (3 characters or more) at an underscore: `cosine_decay`
/// suggests `cosine_decay_schedule`.
std::vector<std::string> closestNames(const std::string &name,
                                      const std::vector<std::string> &candidates,
                                      const std::set<std::string> &exclude = {});

/// closestNames joined for a message written "did you mean `X`?": one name, or several as
/// "a` or `b" so that each comes out quoted; empty when none is close.
std::string closestName(const std::string &name, const std::vector<std::string> &candidates,
                        const std::set<std::string> &exclude = {});

} // namespace nnx::lang
