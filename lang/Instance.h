//===- Instance.h - Instantiated modules and their state specs ------------===//
//
// Instantiating `Model(784, 256, 10)` runs the module body at compile time. The result is a
// tree of ModuleInstances (one per module object, with hyper-parameters bound) and, in a
// StateSpace, the spec of every variable (path, kind, dtype, shape, initializer) — the static
// state tree that `nnxrun params` prints and that the runtime turns into tensors.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Value.h"
#include "runtime/State.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nnx::lang {

/// A member of a module instance.
struct Member {
  enum class Kind { Submodule, Variable, Static, Method } kind = Kind::Static;
  /// Submodule: the child instance.
  ModuleInstance *submodule = nullptr;
  /// Variable: index into StateSpace::vars.
  size_t varIndex = 0;
  /// Static: the value (a hyper-parameter, a number, an Rngs handle, ...).
  Value value;
  /// Method: its declaration.
  const FnDecl *method = nullptr;
  /// Where it is declared.
  Span span;
};

/// One instantiated module object.
struct ModuleInstance {
  const ModuleDecl *decl = nullptr;
  /// Dotted path from the root ("block.linear"; "" for the root).
  std::string path;
  /// The constructor call (or --model expression) that created it.
  Span createdAt;
  /// Bound hyper-parameters in declaration order.
  std::vector<std::pair<std::string, Value>> hyperParams;
  /// The hyper-parameters left at their defaults (describe() leaves them out).
  std::vector<std::string> defaulted;
  /// Members in declaration order.
  std::vector<std::pair<std::string, Member>> members;
  ModuleInstance *parent = nullptr;
  /// The root instance of the model this one belongs to (itself for a root).
  ModuleInstance *root = nullptr;
  /// The extents of the layer stacks this instance was created in (`vmap(5) Block(...)`
  /// gives [5] for the Block and all its submodules): every variable it owns has them as
  /// leading dimensions. Its methods run inside a scan or vmap that slices them.
  std::vector<int64_t> stack;

  /// The member called `name`, or null.
  Member *findMember(const std::string &name);
  const Member *findMember(const std::string &name) const;
  /// "Linear(in_features=512, out_features=256)": the hyper-parameters given (not defaulted).
  std::string describe() const;
  /// Path of a member: "block.linear" + "." + name (or name at the root).
  std::string childPath(const std::string &name) const;
};

/// Everything known about one variable of the state tree.
struct VarInfo {
  rt::VarSpec spec;
  /// Its declaration, and the instance that owns it.
  Span declSpan;
  const ModuleInstance *owner = nullptr;
};

/// True when `inst` is `ancestor` or lies inside it.
bool isWithin(const ModuleInstance *inst, const ModuleInstance *ancestor);

/// All instances and variables created while compiling one entry point.
class StateSpace {
public:
  /// Creates an instance owned by this space.
  ModuleInstance *newInstance();
  /// Adds a variable; returns its index.
  size_t addVar(VarInfo info);
  const std::vector<VarInfo> &vars() const { return vars_; }
  const VarInfo &var(size_t index) const { return vars_.at(index); }
  /// The specs of every variable, for rt::initializeState.
  std::vector<rt::VarSpec> specs() const;
  /// Index of the variable at `path`, or -1.
  int64_t findVar(const std::string &path) const;
  /// Makes every instance whose root is `from` (a model created on its own, then given to
  /// another module's constructor) part of `to`'s model.
  void reroot(const ModuleInstance *from, ModuleInstance *to);

private:
  std::vector<std::unique_ptr<ModuleInstance>> instances_;
  std::vector<VarInfo> vars_;
  std::map<std::string, size_t> byPath_;
};

} // namespace nnx::lang
