//===- Formatter.h - The canonical layout of .nnx source (`nnxrun fmt`) ---===//
//
// One layout for every .nnx file, like gofmt's for Go: the formatter decides the spaces and
// the indentation, the author decides where lines break. It works on the token stream (the
// parse tree only vouches that the file is valid), so every comment stays where it was, and it
// checks its own output: the tokens before and after are the same, and formatting the output
// again changes nothing.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Diagnostics.h"
#include "lang/Source.h"

#include <optional>
#include <string>

namespace nnx::lang {

/// The canonical layout of registered file `fileId`:
/// - indentation: 2 spaces per open `{`; a line that continues inside `(` or `[` lines up
///   after the bracket when the bracket has text after it on its line, else is indented 4 more
///   than the bracket's line (its closing bracket, alone on a line, goes back to that line's
///   indentation); a line continuing a statement after `fn ... =` is indented 2 more than the
///   statement, after a binary operator 4 more than the line the expression started on;
/// - spaces: one around binary operators, `=` of statements and of parameter defaults, `->`
///   and after `,`, `;` and the `:` of a type annotation; none inside brackets, around `.`,
///   around a keyword argument's `=`, around a slice's `:`, after a unary operator, before a
///   call's or an index's bracket, or in `{}`;
/// - lines: the author's line breaks are kept; blank lines collapse to one (inside brackets
///   too) and go at the start and end of a block and of the file and inside a continued
///   statement; trailing whitespace goes; one newline ends the file;
///   comments at the end of consecutive lines of one indentation line up two spaces after the
///   longest of them.
/// Returns nullopt when the file has syntax errors (reported to `diags`: nothing is changed).
/// Throws std::logic_error if the layout would change the tokens (a formatter bug).
std::optional<std::string> formatFile(uint32_t fileId, const SourceManager &sources,
                                      DiagnosticEngine &diags);

} // namespace nnx::lang
