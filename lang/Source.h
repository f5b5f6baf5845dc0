//===- Source.h - Source files and spans ----------------------------------===//
//
// Every piece of text nnx reads (a .nnx file, an embedded stdlib file, the --model expression
// given on the command line) is registered with the SourceManager and gets an id. A Span is a
// byte range in one of them; line and column are computed on demand for diagnostics.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nnx::lang {

/// A byte range [begin, end) in a registered source; file 0 means "no location".
struct Span {
  uint32_t file = 0;
  uint32_t begin = 0;
  uint32_t end = 0;

  bool valid() const { return file != 0; }
  /// The smallest span covering both (they must be in one file; otherwise `a`).
  static Span cover(Span a, Span b);
};

/// A 1-based line and column (columns count bytes).
struct LineCol {
  uint32_t line = 0;
  uint32_t col = 0;
};

/// One registered text.
struct SourceFile {
  /// The name shown in diagnostics (a path as given, "<stdlib>/nn.nnx", "<command line>").
  std::string name;
  std::string text;
  /// Byte offset of the start of every line.
  std::vector<uint32_t> lineStarts;
};

/// Owns every source text of a run.
class SourceManager {
public:
  /// Registers a text; returns its id (>= 1).
  uint32_t addFile(std::string name, std::string text);
  const SourceFile &file(uint32_t id) const { return files_.at(id - 1); }
  LineCol lineCol(uint32_t file, uint32_t offset) const;
  /// The text of line `line` (1-based) without its newline.
  std::string_view lineText(uint32_t file, uint32_t line) const;
  /// "path:line:col" of the start of `span`.
  std::string location(Span span) const;
  /// The source text a span covers.
  std::string_view text(Span span) const;
  /// Id of the file registered under `name`, 0 when none.
  uint32_t findFile(std::string_view name) const;

private:
  std::vector<SourceFile> files_;
};

} // namespace nnx::lang
