//===- PrepareCpuEntryPass.cpp - The nnx-prepare-cpu-entry pass -----------===//
//
// Puts the attributes of CpuJit's calling convention on every public function before
// bufferization (see the pass description in Passes.td): a C interface for the JIT to call,
// and read-only tensor arguments so that the caller's inputs are never written in place.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_PREPARECPUENTRYPASS
#define GEN_PASS_DEF_PREPARECPUENTRYPASS
#include "codegen/linalg/Passes.h.inc"

namespace {

struct PrepareCpuEntryPass : impl::PrepareCpuEntryPassBase<PrepareCpuEntryPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<mlir::func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      mlir::OpBuilder builder(func);
      func.removeArgAttrsAttr();
      func.removeResAttrsAttr();
      for (auto [index, type] : llvm::enumerate(func.getArgumentTypes()))
        if (llvm::isa<mlir::TensorType>(type))
          func.setArgAttr(index, mlir::bufferization::BufferizationDialect::kWritableAttrName,
                          builder.getBoolAttr(false));
      func->setAttr(mlir::LLVM::LLVMDialect::getEmitCWrapperAttrName(), builder.getUnitAttr());
    }
  }
};

} // namespace
} // namespace nnx::codegen
