//===- InputSpec.h - The SPEC of `--input NAME=SPEC` ----------------------===//
//
// An input given on the command line is a .npy file, a generator — `zeros(1, 784)`,
// `ones(2, 3)`, `randn(4)`, `rand(4)`, `arange(10)`, each optionally with `dtype=i32` — a
// type for `emit` (`f32[1, 784]`), or a plain number for a static parameter (`batch=3`).
// randn/rand draw from the `--seed` with the counter-based RNG, so runs are repeatable.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <optional>
#include <string>

namespace nnx::tool {

/// A parsed `--input NAME=SPEC`.
struct InputSpec {
  std::string name;
  /// The SPEC text as given, for messages.
  std::string text;
  /// A tensor input (from a file or a generator).
  std::optional<rt::Tensor> tensor;
  /// A static number (`batch=3`); `isInt` when written without '.' or exponent.
  std::optional<double> number;
  bool isInt = false;
};

/// Parses `NAME=SPEC`. Throws rt::Error E0403 (malformed) or the .npy reader's errors.
InputSpec parseInputSpec(const std::string &arg, uint64_t seed);

} // namespace nnx::tool
