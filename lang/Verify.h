//===- Verify.h - Checking diagnostics against expected-error comments ----===//
//
// `nnxrun check --verify-diagnostics FILE` compares the diagnostics of a run with comments in
// the file, as MLIR's -verify-diagnostics and clox's tests do:
//
//   h = x @ w   # expected-error {{E0203: shape mismatch}}
//   # expected-error@+1 {{unknown name `lienar`}}
//   y = lienar(x)
//
// `@+N` / `@-N` are relative lines, `@N` an absolute one. The text between {{ }} must occur
// in the diagnostic's "code: message: label | notes" text. Every expectation must be met by
// one diagnostic on that line and every error must be expected.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Diagnostics.h"

#include <iosfwd>
#include <vector>

namespace nnx::lang {

/// Verifies the diagnostics in `diags` against the expectations written in `files`.
/// Prints each mismatch to `os`; returns true when everything matched.
bool verifyDiagnostics(const DiagnosticEngine &diags, const std::vector<uint32_t> &files,
                       std::ostream &os);

} // namespace nnx::lang
