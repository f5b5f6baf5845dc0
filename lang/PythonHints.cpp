//===- PythonHints.cpp - What a Python / JAX habit is called in nnx -------===//
//
// The table behind pythonHint: each entry a name Flax code uses and the nnx way to say it.
//
//===----------------------------------------------------------------------===//
#include "lang/PythonHints.h"

#include <map>

namespace nnx::lang {

std::optional<std::string> pythonHint(const std::string &name) {
  static const std::map<std::string, std::string> hints = {
      {"True", "nnx spells it `true`"},
      {"False", "nnx spells it `false`"},
      {"self", "a method sees its module's members by bare name: `fc(x)`, not `self.fc(x)`"},
      {"jnp", "built-ins are called by name, without a module: `concat(...)`, `softmax(x)`"},
      {"np", "built-ins are called by name, without a module: `concat(...)`, `softmax(x)`"},
      {"jax", "built-ins are called by name, without a module: `softmax(x)`, `relu(x)`"},
      {"nnx", "stdlib layers and built-ins are called by name: `Linear(2, 3)`, `relu(x)`"},
      {"lax", "built-ins are called by name: `conv_general_dilated(...)`, `scan(...)`"},
      {"optax", "optimizers are called by name: `adam(1e-3)`, `sgd(0.1)`"},
      {"arange", "nnx calls it `iota([n], 0)` (or `range(n)` for a static loop)"},
      {"concatenate", "nnx calls it `concat([a, b], axis=0)`"},
      {"swapaxes", "use `transpose(x, axes)` with the two axes exchanged"},
      {"broadcast_to", "operations broadcast by themselves; `zeros(shape) + x` makes it explicit"},
      {"tril", "compare two iotas: `iota([n, n], 0) >= iota([n, n], 1)` is the lower triangle"},
      {"newaxis", "use `expand_dims(x, axis)`"},
      {"lambda", "write a nested `fn name(args) = expr`"},
      {"print", "print values with `nnxrun run`; in tests, `assert` them"},
      // Flax NNX layers nnx does not have yet.
      {"InstanceNorm", "`InstanceNorm` is a Flax NNX layer nnx does not have yet: "
                       "`GroupNorm(num_features, num_groups=num_features)` computes the same"},
      {"SpectralNorm", "`SpectralNorm` is a Flax NNX layer nnx does not have yet"},
      {"WeightNorm", "`WeightNorm` is a Flax NNX layer nnx does not have yet"},
      {"LoRA", "`LoRA` is a Flax NNX layer nnx does not have yet"},
      {"LoRALinear", "`LoRALinear` is a Flax NNX layer nnx does not have yet"},
      {"ConvLSTMCell", "`ConvLSTMCell` is a Flax NNX layer nnx does not have yet"},
      {"MultiHeadDotProductAttention", "nnx calls it `MultiHeadAttention` (as Flax NNX)"},
      {"Dense", "Flax NNX (and nnx) call it `Linear(in_features, out_features)`"},
  };
  auto it = hints.find(name);
  if (it == hints.end())
    return std::nullopt;
  return it->second;
}

} // namespace nnx::lang
