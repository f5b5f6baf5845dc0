//===- Interpreter.h - The reference evaluator of nnx IR ------------------===//
//
// Runs a func.func of nnx ops on rt::Tensors, one op at a time, with the plain-loop kernels
// of Kernels.h. It is deliberately simple: it is the oracle that every JIT result is compared
// against. Arguments and results follow the calling convention of ir/Signature.h.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <vector>

namespace nnx::interp {

/// Evaluates `func` on `args` (one tensor per function argument, of the argument's type) and
/// returns one tensor per result. Throws std::logic_error on IR it does not know (an internal
/// error: the front end only emits ops the interpreter implements).
std::vector<rt::Tensor> run(mlir::func::FuncOp func, const std::vector<rt::Tensor> &args);

} // namespace nnx::interp
