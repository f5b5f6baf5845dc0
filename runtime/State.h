//===- State.h - The state tree: every variable of an instantiated model --===//
//
// Instantiating a model (at compile time, in lang/) yields a list of VarSpecs: each variable's
// dotted path ("block.linear.kernel"), kind ("Param", "BatchStat", "RngKey", a user kind...),
// dtype, shape and initializer. initializeState() turns the specs into tensors with the
// counter-based RNG, the way `nnx.Rngs(seed)` does at module construction. The State is what
// executors read and write and what checkpoints hold. Order is declaration order.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace nnx::rt {

/// How a variable gets its first value.
struct InitSpec {
  /// "zeros", "ones", "constant", "normal", "uniform", "truncated_normal", "lecun_normal",
  /// "lecun_uniform", "xavier_normal", "xavier_uniform", "he_normal", "he_uniform",
  /// "literal" (copy `literal`), "rng_key" (the key of stream `stream` for the variable at
  /// this path: foldIn(streamKey(seed, stream), hashName(path))).
  std::string name = "zeros";
  /// Named numeric arguments: stddev, scale, value, lower, upper, ...
  std::map<std::string, double> args;
  /// The stream for "rng_key".
  std::string stream;
  /// The value for "literal".
  std::optional<Tensor> literal;
  /// When not empty: the shape the initializer draws for (its fans come from it), reshaped to
  /// the variable's shape of the same element count — Flax's LinearGeneral initialises its
  /// kernel [*in, *out] as the matrix [prod(in), prod(out)].
  Shape drawShape;
};

/// A variable of an instantiated model, before it has a value.
struct VarSpec {
  std::string path;
  std::string kind;
  DType dtype = DType::F32;
  /// The full shape, stacked dimensions first.
  Shape shape;
  InitSpec init;
  /// The leading extents of `shape` that stack layers (`vmap(5) Block(...)` gives [5]): each
  /// slice is initialised as its own layer's variable would be, from its own key and with the
  /// slice's fans (a [5, 64, 64] lecun-normal kernel has stddev 1/8, as in Flax).
  Shape stack;
};

/// A variable with its value.
struct StateVar {
  std::string path;
  std::string kind;
  Tensor value;
};

/// The variables of a model by dotted path, in declaration order.
class State {
public:
  /// Adds a variable; a second variable with the same path replaces the value of the first.
  void add(StateVar var);
  StateVar *find(const std::string &path);
  const StateVar *find(const std::string &path) const;
  const std::vector<StateVar> &vars() const { return vars_; }
  std::vector<StateVar> &vars() { return vars_; }
  size_t size() const { return vars_.size(); }

private:
  std::vector<StateVar> vars_;
  std::unordered_map<std::string, size_t> index_;
};

/// Creates every variable of `specs` with its initializer. Random initializers draw from the
/// "params" stream of `seed`: the n-th random variable (in spec order) uses key
/// foldIn(streamKey(seed, "params"), n), as `rngs.params()` does in Flax NNX. A stacked
/// variable's slice s (row-major over the stacked extents) uses foldIn(that key, s), and an
/// rng key variable's slice s the key of its stream folded with s: every layer of a stack
/// draws its own numbers.
State initializeState(const std::vector<VarSpec> &specs, uint64_t seed);

/// Throws the error initializeState() would for an initializer that cannot produce its
/// variable, with the same "while initializing" note, without drawing anything.
void checkInitializers(const std::vector<VarSpec> &specs);

} // namespace nnx::rt
