//===- Signature.h - The calling convention of traced functions -----------===//
//
// A method traced by the front end becomes a func.func whose arguments are the state
// variables it reads (attribute `nnx.state = "block.linear.kernel"`) and its inputs
// (`nnx.input = "x"`), and whose results are its outputs (`nnx.output = 0, 1, ...`) followed by
// the new values of the state variables it wrote (`nnx.state = "count"`). Both executors and
// the CLI read the convention through this header only.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace nnx::ir {

/// Attribute names of the convention.
inline constexpr const char *kStateAttr = "nnx.state";
inline constexpr const char *kInputAttr = "nnx.input";
inline constexpr const char *kOutputAttr = "nnx.output";
/// Optional name of an output: the key of a state-tree leaf ("block.linear.kernel").
inline constexpr const char *kOutputNameAttr = "nnx.name";

/// One argument or result of a traced function.
struct SignatureSlot {
  /// True for a state variable, false for an input (argument) or an output (result).
  bool isState = false;
  /// The state path or input name; for outputs, the decimal output index.
  std::string name;
  /// For outputs: the `nnx.name` label, if any.
  std::string label;
};

/// Where every argument comes from and every result goes.
struct FunctionSignature {
  std::vector<SignatureSlot> args;
  std::vector<SignatureSlot> results;
  /// Number of outputs (results that are not state).
  size_t numOutputs() const;
};

/// Reads the convention's attributes off `func` (missing attributes read as outputs/inputs
/// named by position).
FunctionSignature getSignature(mlir::func::FuncOp func);

} // namespace nnx::ir
