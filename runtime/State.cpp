//===- State.cpp - The state tree: every variable of an instantiated model -===//
//
// The State keeps declaration order in a vector and an index by path. initializeState() walks
// the specs once: random initializers take successive keys of the "params" stream (the n-th
// random variable gets foldIn(streamKey(seed, "params"), n)), "rng_key" variables get the key
// of their own stream, and constants need no key. Stacked variables (vmap) are initialised
// slice by slice, each from its own key.
//
//===----------------------------------------------------------------------===//
#include "runtime/State.h"

#include "runtime/Error.h"
#include "runtime/Initializers.h"
#include "runtime/Rng.h"

#include <cstring>

namespace nnx::rt {

void State::add(StateVar var) {
  auto it = index_.find(var.path);
  if (it != index_.end()) {
    vars_[it->second].value = std::move(var.value);
    return;
  }
  index_.emplace(var.path, vars_.size());
  vars_.push_back(std::move(var));
}

StateVar *State::find(const std::string &path) {
  auto it = index_.find(path);
  return it == index_.end() ? nullptr : &vars_[it->second];
}

const StateVar *State::find(const std::string &path) const {
  auto it = index_.find(path);
  return it == index_.end() ? nullptr : &vars_[it->second];
}

namespace {

/// The value of a stacked variable: each slice initialised with the slice's shape, drawing
/// from foldIn(key, slice) when the initializer is random (or is an rng key).
Tensor initializeStacked(const VarSpec &spec, Key key) {
  Shape sliceShape(spec.shape.begin() + static_cast<std::ptrdiff_t>(spec.stack.size()),
                   spec.shape.end());
  Tensor out(spec.dtype, spec.shape);
  int64_t slices = numElements(spec.stack);
  bool keyed = spec.init.name == "rng_key" || isRandomInitializer(spec.init.name);
  for (int64_t s = 0; s < slices; ++s) {
    Key sliceKey = keyed ? foldIn(key, static_cast<uint32_t>(s)) : key;
    Tensor slice = initialize(spec.init, spec.dtype, sliceShape, sliceKey);
    std::memcpy(out.data<std::byte>() + s * slice.nbytes(), slice.raw(), slice.nbytes());
  }
  return out;
}

} // namespace

void checkInitializers(const std::vector<VarSpec> &specs) {
  for (const VarSpec &spec : specs) {
    try {
      Shape slice(spec.shape.begin() + static_cast<std::ptrdiff_t>(spec.stack.size()),
                  spec.shape.end());
      checkInitializer(spec.init, spec.dtype, slice);
    } catch (const Error &error) {
      std::vector<std::string> notes = error.notes();
      notes.push_back("while initializing `" + spec.path + "` (" + spec.kind + ", " +
                      std::string(dtypeName(spec.dtype)) + formatShape(spec.shape) + ")");
      throw Error(error.code(), error.what(), notes);
    }
  }
}

State initializeState(const std::vector<VarSpec> &specs, uint64_t seed) {
  State state;
  const Key params = streamKey(seed, "params");
  uint32_t randomCount = 0;
  for (const VarSpec &spec : specs) {
    Key key = {0, 0};
    if (spec.init.name == "rng_key")
      key = foldIn(streamKey(seed, spec.init.stream), hashName(spec.path));
    else if (isRandomInitializer(spec.init.name))
      key = foldIn(params, randomCount++);
    try {
      Tensor value = spec.stack.empty() ? initialize(spec.init, spec.dtype, spec.shape, key)
                                        : initializeStacked(spec, key);
      state.add({spec.path, spec.kind, std::move(value)});
    } catch (const Error &error) {
      std::vector<std::string> notes = error.notes();
      notes.push_back("while initializing `" + spec.path + "` (" + spec.kind + ", " +
                      std::string(dtypeName(spec.dtype)) + formatShape(spec.shape) + ")");
      throw Error(error.code(), error.what(), notes);
    }
  }
  return state;
}

} // namespace nnx::rt
