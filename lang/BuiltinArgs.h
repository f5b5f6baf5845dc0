//===- BuiltinArgs.h - Argument helpers of the built-ins (internal) -------===//
//
// Shared by the files that implement built-in functions (EvalBuiltins.cpp,
// EvalShapeBuiltins.cpp): the spelling of a built-in for messages, and taking positional or
// keyword arguments out of a call's argument lists. Internal to lang/.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Value.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nnx::lang::builtins {

/// The spelling of a built-in, for messages.
inline const char *builtinName(BuiltinId id) {
  switch (id) {
#define NNX_BUILTIN_FN(name)                                                                     \
  case BuiltinId::name:                                                                          \
    return #name;
#include "lang/Builtins.def"
#define NNX_INITIALIZER(name)                                                                    \
  case BuiltinId::init_##name:                                                                   \
    return #name;
#include "lang/Builtins.def"
  }
  return "?";
}

/// Removes and returns keyword argument `name`, if given.
inline std::optional<Value> takeKwarg(std::vector<std::pair<std::string, Value>> &kwargs,
                               const std::string &name) {
  for (auto it = kwargs.begin(); it != kwargs.end(); ++it)
    if (it->first == name) {
      Value v = it->second;
      kwargs.erase(it);
      return v;
    }
  return std::nullopt;
}

/// Argument `i` if given positionally, else keyword `name`, else nullopt.
inline std::optional<Value> argOr(std::vector<Value> &args,
                           std::vector<std::pair<std::string, Value>> &kwargs, size_t i,
                           const std::string &name) {
  std::optional<Value> kw = takeKwarg(kwargs, name);
  if (i < args.size())
    return args[i];
  return kw;
}

} // namespace nnx::lang::builtins
