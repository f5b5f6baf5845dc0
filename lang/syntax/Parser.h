//===- Parser.h - From .nnx text to the AST -------------------------------===//
//
// The only door into the ANTLR-generated parser: text in, lang::FileAST out, syntax errors
// reported to the DiagnosticEngine (the default ANTLR console listener is replaced). The
// parser recovers after an error, so one run reports every syntax error of a file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/AST.h"
#include "lang/Diagnostics.h"

#include <memory>

namespace nnx::lang {

/// Parses registered file `fileId`. Returns null when it has syntax errors (all reported).
std::unique_ptr<FileAST> parseFile(uint32_t fileId, const SourceManager &sources,
                                   DiagnosticEngine &diags);

/// Parses registered text `fileId` as a single expression (the CLI's --model argument).
/// Returns null when it is not one (reported).
ExprPtr parseExpression(uint32_t fileId, const SourceManager &sources, DiagnosticEngine &diags);

} // namespace nnx::lang
