//===- Value.h - Values of the front end's evaluator ----------------------===//
//
// The front end evaluates .nnx code at compile time: module bodies are run to instantiate a
// model, and method bodies are run to trace them into nnx IR. A Value is what an expression
// evaluates to: a static number, bool, string or sequence; a traced tensor (an mlir::Value
// plus where it came from, for diagnostics); a module instance; something callable; or the
// Error value, which silently absorbs further operations so one fault gives one diagnostic.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Source.h"
#include "runtime/DType.h"
#include "runtime/State.h"

#include "mlir/IR/Value.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nnx::lang {

struct ModuleDecl;
struct FnDecl;
struct ModuleInstance;
struct Value;
struct TransformSpec;

/// The variables a nested function captured where it was defined (Python-style closure,
/// captured by value: the language's values are immutable).
using Closure = std::map<std::string, Value>;

/// Where a traced tensor came from: shown in notes of shape and dtype errors.
struct Origin {
  /// The expression, declaration or argument that produced it.
  Span span;
  /// A phrase like "`w1` is declared with shape [512, 256] here"; empty for plain results.
  std::string description;
  /// For a module variable: the instance that owns it ("in `Linear(...)` created at ...").
  const ModuleInstance *owner = nullptr;
};

/// Built-in functions, one per NNX_BUILTIN_FN / NNX_INITIALIZER name in Builtins.def.
enum class BuiltinId {
#define NNX_BUILTIN_FN(name) name,
#include "lang/Builtins.def"
#define NNX_INITIALIZER(name) init_##name,
#include "lang/Builtins.def"
};

/// What an expression evaluates to.
struct Value {
  enum class Kind {
    None, Int, Float, Bool, Str, List, Tuple, Tensor, Module, Method, Function, ModuleType,
    Builtin, VariableKind, DType, Initializer, Rngs, VarRef, Tree, Transform, Carry, Error
  };

  Kind kind = Kind::None;
  /// Int: the value; VarRef: the index of the variable in the StateSpace.
  int64_t i = 0;
  double f = 0;
  bool b = false;
  /// Str: the string; VariableKind: the kind's name; Rngs: the path of its key and count;
  /// Transform: "grad", "value_and_grad", "scan" or "vmap".
  std::string s;
  /// Int/Float with an explicit dtype (`i32(0)`): not weakly typed.
  std::optional<rt::DType> dtype;
  /// List and Tuple elements; Tree leaves (tensors or VarRefs); Transform: the function.
  std::vector<Value> elems;
  /// Tree: the dotted path of each leaf, relative to the tree's root (like nnx.State keys).
  std::vector<std::string> keys;
  /// Tensor: the traced value and its origin.
  mlir::Value tensor;
  Origin origin;
  /// Module, Method: the instance. Method, Function: the declaration. ModuleType: the decl.
  ModuleInstance *module = nullptr;
  const FnDecl *fn = nullptr;
  const ModuleDecl *moduleDecl = nullptr;
  BuiltinId builtin{};
  /// Initializer: the spec.
  rt::InitSpec init;
  /// Function defined inside a function: the locals it captured (and `module` its self).
  std::shared_ptr<const Closure> closure;
  /// Transform "scan"/"vmap": in_axes, out_axes and the other options.
  std::shared_ptr<const TransformSpec> transform;

  static Value none() { return Value{}; }
  static Value error() { return make(Kind::Error); }
  static Value integer(int64_t v) { Value x = make(Kind::Int); x.i = v; return x; }
  static Value real(double v) { Value x = make(Kind::Float); x.f = v; return x; }
  static Value boolean(bool v) { Value x = make(Kind::Bool); x.b = v; return x; }
  static Value string(std::string v) { Value x = make(Kind::Str); x.s = std::move(v); return x; }
  static Value list(std::vector<Value> v) { Value x = make(Kind::List); x.elems = std::move(v); return x; }
  static Value tuple(std::vector<Value> v) { Value x = make(Kind::Tuple); x.elems = std::move(v); return x; }
  /// A string's characters as a list of one-character strings (indexing, slicing, loops).
  static Value charList(const std::string &s) {
    std::vector<Value> chars;
    for (char c : s)
      chars.push_back(string(std::string(1, c)));
    return list(std::move(chars));
  }
  static Value tensorOf(mlir::Value v, Origin o) {
    Value x = make(Kind::Tensor);
    x.tensor = v;
    x.origin = std::move(o);
    return x;
  }
  static Value make(Kind k) { Value x; x.kind = k; return x; }

  bool isError() const { return kind == Kind::Error; }
  bool isNumber() const { return kind == Kind::Int || kind == Kind::Float; }
  bool isStaticScalar() const { return isNumber() || kind == Kind::Bool; }
  bool isSequence() const { return kind == Kind::List || kind == Kind::Tuple; }
  bool isTensor() const { return kind == Kind::Tensor; }
  bool isTree() const { return kind == Kind::Tree; }
  /// The number as a double (Int, Float, Bool).
  double number() const { return kind == Kind::Int ? double(i) : kind == Kind::Bool ? double(b) : f; }
};

/// The options of `scan(f, in_axes=..., out_axes=..., length=..., reverse=...)` and
/// `vmap(f, in_axes=..., out_axes=...)` (nnx.scan / nnx.vmap).
struct TransformSpec {
  /// One entry per argument (Carry, None or an int axis); `inAxesGiven` false: the default;
  /// `inAxesForAll`: a single entry given without a tuple, for every argument.
  std::vector<Value> inAxes;
  bool inAxesGiven = false;
  bool inAxesForAll = false;
  /// Carry, an int, None, or a tuple of those; `outAxesGiven` false: the default.
  Value outAxes;
  bool outAxesGiven = false;
  /// `length=` (scan) / `axis_size=` (vmap).
  std::optional<int64_t> length;
  /// `axis=` of the short form scan(f, init, xs, axis=k).
  std::optional<int64_t> axis;
  bool reverse = false;
  /// Where the options were written, for messages.
  Span inAxesSpan, outAxesSpan, span;
};

/// A phrase naming the kind of a value for messages: "an int", "a tensor f32[1, 784]", ...
std::string describeValue(const Value &value);

/// Source text of a static value: "784", "0.5", "true", "\"dropout\"", "[1, 2]".
std::string formatStatic(const Value &value);

} // namespace nnx::lang
