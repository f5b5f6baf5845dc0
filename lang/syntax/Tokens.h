//===- Tokens.h - The tokens of a text, classified for editors ------------===//
//
// The lexer's view of a text for tools that colour or scan it without parsing it (the
// language server's semantic tokens): each token's class and byte range, comments included.
// ANTLR's types stay behind this header.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nnx::lang {

/// What a token is, lexically.
enum class TokenClass { Keyword, Identifier, Number, String, Comment, Operator, Punctuation };

/// One token: its class and its bytes [begin, end) in the text.
struct LexedToken {
  TokenClass cls;
  uint32_t begin;
  uint32_t end;
};

/// Every token of `text` but spaces and newlines, in order; a character the language does not
/// know is Punctuation. Never fails.
std::vector<LexedToken> lexTokens(const std::string &text);

} // namespace nnx::lang
