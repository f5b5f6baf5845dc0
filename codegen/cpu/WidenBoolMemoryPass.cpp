//===- WidenBoolMemoryPass.cpp - The nnx-widen-bool-memory pass -----------===//
//
// Bool tensors are stored one byte per element (0 or 1), and the memref lowering accesses
// them as `load i1` / `store i1`. LLVM's loop vectorizer sees i1 as an irregular type in
// memory (1 bit wide, 1 byte allocated) and scalarises those accesses: the seed train step's
// dropout mask was built and read lane by lane, shifting each byte into an AVX-512 mask
// register (kshiftlb/kmovb), a sixth of the step's own code in perf. Accessing the same bytes
// as i8, truncated after a load and zero-extended before a store, is the same memory
// and the same values, and vectorises as byte loads and stores.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_WIDENBOOLMEMORYPASS
#define GEN_PASS_DEF_WIDENBOOLMEMORYPASS
#include "codegen/cpu/Passes.h.inc"

namespace {

/// Whether `type` is the scalar i1.
bool isBool(mlir::Type type) { return type.isInteger(1); }

struct WidenBoolMemoryPass : impl::WidenBoolMemoryPassBase<WidenBoolMemoryPass> {
  void runOnOperation() override {
    mlir::OpBuilder builder(&getContext());
    mlir::Type byte = builder.getI8Type();
    getOperation().walk([&](mlir::Operation *op) {
      if (auto load = llvm::dyn_cast<mlir::LLVM::LoadOp>(op); load && isBool(load.getType())) {
        // The load itself now yields the byte; a trunc gives its users the i1 again.
        load.getResult().setType(byte);
        builder.setInsertionPointAfter(load);
        auto bit = builder.create<mlir::LLVM::TruncOp>(load.getLoc(), builder.getI1Type(),
                                                       load.getResult());
        load.getResult().replaceAllUsesExcept(bit.getResult(), bit);
      } else if (auto store = llvm::dyn_cast<mlir::LLVM::StoreOp>(op);
                 store && isBool(store.getValue().getType())) {
        builder.setInsertionPoint(store);
        auto wide = builder.create<mlir::LLVM::ZExtOp>(store.getLoc(), byte, store.getValue());
        store.getValueMutable().assign(wide.getResult());
      }
    });
  }
};

} // namespace
} // namespace nnx::codegen
