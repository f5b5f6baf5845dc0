//===- InlineAllocaScopesPass.cpp - The nnx-inline-alloca-scopes pass -----===//
//
// convert-scf-to-openmp wraps the body of every parallel loop in a memref.alloca_scope, a
// region that must keep a single block; convert-scf-to-cf then splits the body's loops into
// blocks and the IR no longer verifies. The GEMM kernel's parallel bodies allocate nothing on
// the stack, so their scopes are dropped here, their bodies inlined in place, right after
// the OpenMP conversion. (Upstream's canonicalizer does the same with AllocaScopeInliner, but
// costs a full canonicalization of the lowered module, ~30 ms on a train step.)
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_INLINEALLOCASCOPESPASS
#define GEN_PASS_DEF_INLINEALLOCASCOPESPASS
#include "codegen/cpu/Passes.h.inc"

namespace {

/// Whether `scope` holds a stack allocation of its own (not one inside a nested scope).
bool allocatesDirectly(mlir::memref::AllocaScopeOp scope) {
  bool found = false;
  scope.getBodyRegion().walk([&](mlir::Operation *op) {
    if (op != scope.getOperation() && llvm::isa<mlir::memref::AllocaScopeOp>(op))
      return mlir::WalkResult::skip();
    if (llvm::isa<mlir::memref::AllocaOp>(op)) {
      found = true;
      return mlir::WalkResult::interrupt();
    }
    return mlir::WalkResult::advance();
  });
  return found;
}

struct InlineAllocaScopesPass : impl::InlineAllocaScopesPassBase<InlineAllocaScopesPass> {
  void runOnOperation() override {
    llvm::SmallVector<mlir::memref::AllocaScopeOp> scopes;
    getOperation().walk([&](mlir::memref::AllocaScopeOp scope) {
      if (scope.getNumResults() == 0 && scope.getBodyRegion().hasOneBlock() &&
          !allocatesDirectly(scope))
        scopes.push_back(scope);
    });
    mlir::IRRewriter rewriter(&getContext());
    for (mlir::memref::AllocaScopeOp scope : scopes) {
      mlir::Block &body = scope.getBodyRegion().front();
      rewriter.eraseOp(body.getTerminator());
      rewriter.inlineBlockBefore(&body, scope);
      rewriter.eraseOp(scope);
    }
  }
};

} // namespace
} // namespace nnx::codegen
