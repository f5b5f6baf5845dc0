//===- InputLimits.h - Checks on source text before it is parsed ----------===//
//
// What the parser must not be given: text that is not UTF-8 (ANTLR's decoder would throw),
// nesting deeper than the parser's and the evaluator's stacks can take (30,000 `[` overflowed
// the stack), and integer literals outside i64. Checked on the text and the token stream
// before the parse, each fault a diagnostic; with these limits every later recursive walk over
// the AST is bounded too. Internal to lang/syntax: ANTLR types appear here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Diagnostics.h"

#include "antlr4-runtime.h"

#include <cstdint>
#include <string_view>

namespace nnx::lang {

class OffsetMap;

/// Brackets (`(`, `[`, `{`) open at once, at most. Python's own parser stops at 200.
inline constexpr unsigned kMaxBracketDepth = 256;

/// Operators, postfix calls and brackets nested in one expression, at most: the AST depth
/// bound that keeps resolution and evaluation within the default 8 MiB stack (a chain of
/// 8,000 `+` overflowed it; 4,000 did not).
inline constexpr unsigned kMaxExpressionDepth = 1000;

/// Reports E0103 at the first byte of `text` that does not start a valid UTF-8 sequence
/// (overlong forms, surrogates and code points above U+10FFFF are invalid too, as in RFC 3629).
/// Returns false when it reported one.
bool checkUtf8(std::string_view text, uint32_t fileId, DiagnosticEngine &diags);

/// Walks the lexed tokens of one file: E0104 where brackets or an expression nest beyond the
/// limits above, E0105 for an integer literal that does not fit in i64. Returns false when it
/// reported anything (the file is then not parsed).
bool checkTokenLimits(antlr4::CommonTokenStream &tokens, uint32_t fileId, const OffsetMap &offsets,
                      DiagnosticEngine &diags);

} // namespace nnx::lang
