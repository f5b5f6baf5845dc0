//===- nnx-opt.cpp - mlir-opt for the nnx dialect -------------------------===//
//
// The driver of the IR transforms' lit tests: MlirOptMain with the nnx and func dialects
// (all that nnx IR uses), the nnx passes (nnx-grad) and the two generic clean-ups worth
// running after them (canonicalize, cse), so `nnx-opt --nnx-grad f.mlir` prints the module
// with its gradient functions. Only these are registered, not every upstream dialect and
// pass, so the tool starts fast and a test cannot depend on a dialect nnx does not use.
//
//===----------------------------------------------------------------------===//
#include "ir/Autodiff.h"
#include "ir/NNXDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  nnx::ir::registerNNXDialects(registry);
  mlir::registerPass([] { return nnx::ir::createGradPass(); });
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "nnx optimizer driver\n", registry));
}
