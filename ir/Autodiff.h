//===- Autodiff.h - Reverse-mode differentiation of nnx IR ----------------===//
//
// Autodiff is an IR-to-IR transform on the nnx dialect: given the forward ops that compute a
// value, it emits the backward ops (one vector-Jacobian product rule per op, in reverse
// order, with adjoints accumulated by nnx.add) that compute the gradient of that value with
// respect to chosen inputs. The front end uses it for `grad(f)(model, ...)` inside a trace;
// the `nnx-grad` pass uses it to build whole gradient functions. Both executors then run
// plain nnx ops: forward, backward and optimizer update are one function.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <memory>

namespace nnx::ir {

/// Emits, at `builder`'s insertion point (after the forward ops), the gradient of `output`
/// with respect to each of `wrt`, seeded with the cotangent `seed` (same type as `output`;
/// a constant 1 for a scalar loss).
///
/// `forward` lists the ops that may lie on a path from `wrt` to `output`, in program order,
/// all in one block; values defined outside it are constants of the differentiation. Ops
/// without a derivative (comparisons, iota, random draws, integer arithmetic) pass no
/// gradient. Each result is a tensor of its `wrt` value's type — zeros where `output` does
/// not depend on it. Fails (with an MLIR diagnostic at the op) only on an op it does not know.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildGradients(mlir::OpBuilder &builder, llvm::ArrayRef<mlir::Operation *> forward,
               mlir::Value output, mlir::Value seed, llvm::ArrayRef<mlir::Value> wrt);

/// The same for several outputs at once: the gradient of sum_i <outputs[i], seeds[i]> (a
/// vector-Jacobian product with one cotangent per output). A null seed means no cotangent for
/// that output; an output listed twice receives both seeds. This is what the VJP of a scan
/// body needs: cotangents for the new carries and for the step's outputs together.
///
/// Scans among the forward ops are differentiated as a whole (AutodiffScan.cpp): the scan is
/// replaced by one that also stacks its carries, and a reverse scan recomputes each step from
/// its saved carry and applies the step's VJP. The forward scan it replaces is left without
/// uses; eraseDeadOps removes it.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildGradients(mlir::OpBuilder &builder, llvm::ArrayRef<mlir::Operation *> forward,
               llvm::ArrayRef<mlir::Value> outputs, llvm::ArrayRef<mlir::Value> seeds,
               llvm::ArrayRef<mlir::Value> wrt);

/// Erases, inside `root` (its regions, recursively, not `root` itself), every op whose results
/// are all unused and that has no side effect, until none is left. The front end runs it on a
/// finished trace: values traced but not used (and forward scans that autodiff replaced) cost
/// nothing at run time, in the interpreter as in the JIT.
void eraseDeadOps(mlir::Operation *root);

/// The `nnx-grad` pass: for every function carrying the unit attribute `nnx.differentiate`
/// whose first result is a float scalar, adds `<name>_grad` returning that result followed by
/// its gradient with respect to every float argument.
std::unique_ptr<mlir::Pass> createGradPass();

} // namespace nnx::ir
