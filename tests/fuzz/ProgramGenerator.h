//===- ProgramGenerator.h - Well-typed .nnx programs from fuzz bytes ------===//
//
// The differential fuzzer's generator: a byte string chooses a module `M()` whose `__call__`
// takes one to three f32 inputs of small shapes (extents 1, 2, 3, 5, 8, 17) and applies up to
// 16 statements — elementwise ops (with broadcasting), reductions, matmuls, transposes,
// reshapes, softmax/logsumexp, concatenation, slicing, cumsum, where — each chosen among the
// ones the live values' shapes allow, so every program traces; every value is an output. Values stay finite: inputs are
// standard normal, exp and log see bounded arguments, divisions are by 1 + x².
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nnx::fuzz {

/// A generated program and the `--input` specs its method takes ("a=randn(2,3)").
struct GeneratedProgram {
  std::string source;
  std::vector<std::string> inputs;
};

/// The program `data` chooses (exhausted bytes read as zeros: any input gives a program).
GeneratedProgram generateProgram(const uint8_t *data, size_t size);

} // namespace nnx::fuzz
