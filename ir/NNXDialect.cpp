//===- NNXDialect.cpp - Registration of the nnx dialect -------------------===//
//
// Defines the dialect class generated from NNXDialect.td and registers its ops. Nothing else:
// verifiers, folders and the custom syntax of ops live in NNXOps.cpp.
//
//===----------------------------------------------------------------------===//
#include "ir/NNXDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace nnx::ir;

#include "ir/NNXDialect.cpp.inc"

void NNXDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ir/NNXOps.cpp.inc"
      >();
}

Operation *NNXDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                           Location loc) {
  auto elements = llvm::dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, elements);
}

void nnx::ir::registerNNXDialects(DialectRegistry &registry) {
  registry.insert<NNXDialect, func::FuncDialect>();
}
