//===- Value.cpp - Describing evaluator values in messages ----------------===//
//
// describeValue() names what a value is for diagnostics ("a tensor f32[1, 784]", "the module
// `Linear(in_features=784, out_features=256)`"); formatStatic() writes a static value the way
// it would be written in source.
//
//===----------------------------------------------------------------------===//
#include "lang/Value.h"
#include "lang/AST.h"
#include "lang/BuiltinArgs.h"
#include "lang/Instance.h"

#include "ir/Types.h"

#include <sstream>

namespace nnx::lang {

std::string formatStatic(const Value &v) {
  switch (v.kind) {
  case Value::Kind::Int: return std::to_string(v.i);
  case Value::Kind::Float: {
    std::ostringstream os;
    os << v.f;
    std::string s = os.str();
    if (s.find_first_of(".en") == std::string::npos)
      s += ".0";
    return s;
  }
  case Value::Kind::Bool: return v.b ? "true" : "false";
  case Value::Kind::Str: return "\"" + v.s + "\"";
  case Value::Kind::List:
  case Value::Kind::Tuple: {
    std::string s = v.kind == Value::Kind::List ? "[" : "(";
    for (size_t i = 0; i < v.elems.size(); ++i)
      s += (i ? ", " : "") + formatStatic(v.elems[i]);
    return s + (v.kind == Value::Kind::List ? "]" : ")");
  }
  case Value::Kind::DType: return v.dtype ? std::string(rt::dtypeName(*v.dtype)) : v.s;
  case Value::Kind::None: return "None";
  case Value::Kind::Carry: return "Carry";
  case Value::Kind::Module: return v.module->describe();
  case Value::Kind::Initializer: {
    std::string s = v.init.name + "(";
    for (const auto &[name, value] : v.init.args)
      s += (s.back() == '(' ? "" : ", ") + name + "=" + formatStatic(Value::real(value));
    return s + ")";
  }
  case Value::Kind::Function: return v.fn->name;
  case Value::Kind::Builtin: return builtins::builtinName(v.builtin);
  default: return describeValue(v);
  }
}

std::string describeValue(const Value &v) {
  switch (v.kind) {
  case Value::Kind::None: return "None";
  case Value::Kind::Int: return "the int " + formatStatic(v);
  case Value::Kind::Float: return "the float " + formatStatic(v);
  case Value::Kind::Bool: return "the bool " + formatStatic(v);
  case Value::Kind::Str: return "the string " + formatStatic(v);
  case Value::Kind::List: return "a list of " + std::to_string(v.elems.size());
  case Value::Kind::Tuple: return "a tuple of " + std::to_string(v.elems.size());
  case Value::Kind::Tensor: return "a tensor " + ir::formatType(v.tensor.getType());
  case Value::Kind::Module: return "the module `" + v.module->describe() + "`";
  case Value::Kind::Method: return "the method `" + v.fn->name + "`";
  case Value::Kind::Function: return "the function `" + v.fn->name + "`";
  case Value::Kind::ModuleType: return "the module type `" + v.moduleDecl->name + "`";
  case Value::Kind::Builtin:
    return "the built-in `" + std::string(builtins::builtinName(v.builtin)) + "`";
  case Value::Kind::VariableKind: return "the variable kind `" + v.s + "`";
  case Value::Kind::DType: return "the dtype " + formatStatic(v);
  case Value::Kind::Initializer: return "the initializer `" + formatStatic(v) + "`";
  case Value::Kind::Rngs: return "the rng stream at `" + v.s + "`";
  case Value::Kind::VarRef: return "a variable";
  case Value::Kind::Tree: return "a state tree of " + std::to_string(v.elems.size()) + " variables";
  case Value::Kind::Transform: return "the transformed function `" + v.s + "(...)`";
  case Value::Kind::Carry: return "the marker `Carry`";
  case Value::Kind::Error: return "an error";
  }
  return "a value";
}

} // namespace nnx::lang
