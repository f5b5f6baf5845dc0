//===- SplitEmptyTensorsPass.cpp - The nnx-split-empty-tensors pass -------===//
//
// Undoes CSE's merging of tensor.empty ops before bufferization: each use gets an empty of
// its own, placed right before the user (its size operands, if any, dominate the original
// empty, which dominates the user). One-shot bufferization then sees unrelated destinations
// instead of one buffer aliased by every loop nest of a long chain, and its conflict analysis
// stays linear in the number of ops.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_SPLITEMPTYTENSORSPASS
#define GEN_PASS_DEF_SPLITEMPTYTENSORSPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

struct SplitEmptyTensorsPass : impl::SplitEmptyTensorsPassBase<SplitEmptyTensorsPass> {
  void runOnOperation() override {
    llvm::SmallVector<mlir::tensor::EmptyOp> shared;
    getOperation().walk([&](mlir::tensor::EmptyOp empty) {
      if (!empty->hasOneUse() && !empty->use_empty())
        shared.push_back(empty);
    });
    mlir::OpBuilder builder(&getContext());
    for (mlir::tensor::EmptyOp empty : shared) {
      llvm::SmallVector<mlir::OpOperand *> uses;
      for (mlir::OpOperand &use : empty->getUses())
        uses.push_back(&use);
      // The first use keeps the original; the list is in reverse order of creation, which
      // does not matter: every clone is placed right before its own user.
      for (mlir::OpOperand *use : llvm::drop_begin(uses)) {
        builder.setInsertionPoint(use->getOwner());
        use->set(builder.clone(*empty)->getResult(0));
      }
    }
  }
};

} // namespace
} // namespace nnx::codegen
