//===- Initializers.h - Flax's variable initializers ----------------------===//
//
// The first value of a variable, computed from its InitSpec the way jax.nn.initializers /
// flax.nnx.initializers do: constants, normal / uniform / truncated-normal draws and the
// variance-scaling family (lecun, xavier/glorot, he/kaiming). Random draws use the counter-based
// RNG of Rng.h, so the values are nnx's own (not JAX's bits) but follow the same distributions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Rng.h"
#include "runtime/State.h"

namespace nnx::rt {

/// The value of a variable of `dtype` and `shape` initialized by `spec`, drawing from `key`.
/// For "rng_key" the result is i32[2] holding the bit patterns of `key` itself (initializeState
/// passes streamKey(seed, spec.stream)). Throws rt::Error E0404 for an unknown initializer
/// name and E0405 when the initializer cannot produce the variable (a random initializer for an
/// integer dtype, a literal of another shape, a bad argument).
Tensor initialize(const InitSpec &spec, DType dtype, const Shape &shape, Key key);

/// Throws what initialize() would (E0404, E0405) without drawing or allocating anything:
/// `nnxrun params` checks a model's initializers this way before printing its state tree.
void checkInitializer(const InitSpec &spec, DType dtype, const Shape &shape);

/// True for the initializers that draw random numbers (and so consume a "params" counter).
bool isRandomInitializer(const std::string &name);

/// The fans of a weight shape as jax.nn.initializers computes them: receptive = prod(shape[:-2]),
/// fan_in = shape[-2] * receptive, fan_out = shape[-1] * receptive; rank 1: both shape[0];
/// rank 0: both 1.
std::pair<double, double> computeFans(const Shape &shape);

/// The inverse error function in single precision (Giles 2010, "Approximating the erfinv
/// function"; the polynomial XLA uses). Defined on (-1, 1); +-inf at +-1.
float erfInv(float x);

} // namespace nnx::rt
