//===- ForwardResultAllocsPass.cpp - The nnx-forward-result-allocs pass ---===//
//
// Removes the final copy of a freshly allocated result into its out-param by allocating the
// result in the out-param in the first place (see the pass description in Passes.td). The copy
// sits right before the return, so every other use of the allocation precedes it and sees the
// same buffer either way.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_FORWARDRESULTALLOCSPASS
#define GEN_PASS_DEF_FORWARDRESULTALLOCSPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

/// Forwards the allocations of the copies at the end of `func`.
void forwardResultAllocs(mlir::func::FuncOp func) {
  if (func.isExternal())
    return;
  mlir::Operation *terminator = func.getBody().back().getTerminator();
  llvm::SmallVector<mlir::memref::CopyOp> copies;
  for (mlir::Operation *op = terminator->getPrevNode(); op; op = op->getPrevNode()) {
    auto copy = llvm::dyn_cast<mlir::memref::CopyOp>(op);
    if (!copy)
      break;
    copies.push_back(copy);
  }
  // From the last copy back: when one allocation feeds two out-params, the later one gets
  // it and the earlier one copies from that out-param.
  for (mlir::memref::CopyOp copy : copies) {
    auto out = llvm::dyn_cast<mlir::BlockArgument>(copy.getTarget());
    auto alloc = copy.getSource().getDefiningOp<mlir::memref::AllocOp>();
    if (!out || !alloc || alloc.getType() != out.getType() || !out.hasOneUse())
      continue;
    alloc.getResult().replaceAllUsesWith(out);
    copy->erase();
    alloc->erase();
  }
}

struct ForwardResultAllocsPass : impl::ForwardResultAllocsPassBase<ForwardResultAllocsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<mlir::func::FuncOp>())
      forwardResultAllocs(func);
  }
};

} // namespace
} // namespace nnx::codegen
