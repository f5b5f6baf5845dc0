//===- PythonHints.h - What a Python / JAX habit is called in nnx ---------===//
//
// Flax users write `True`, `self.fc(x)`, `jnp.concatenate` and `np.arange` out of habit. When
// such a name is unknown, the diagnostic says what nnx calls it instead of a distant "did you
// mean": pythonHint gives that help text for the names people reach for first.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <optional>
#include <string>

namespace nnx::lang {

/// The help for an unknown name that is a Python, numpy or JAX spelling of something nnx has
/// (`True` -> `true`, `self` -> members by bare name, `jnp` -> built-ins by name,
/// `arange` -> `iota`), or nullopt.
std::optional<std::string> pythonHint(const std::string &name);

} // namespace nnx::lang
