//===- EmitCommand.cpp - `nnxrun emit` ------------------------------------===//
//
// Prints one stage of the pipeline, like the Toy tutorial's -emit=: the AST of the file, the
// traced nnx IR of a method, the linalg IR after lowering and fusion, or the LLVM IR the JIT
// compiles. `ptx` belongs to the GPU backend, which is not built yet.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

#include "codegen/CpuJit.h"
#include "codegen/Pipeline.h"
#include "runtime/Error.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/raw_ostream.h"

#include <iostream>

namespace nnx::tool {

int runEmit(const ModelOptions &o) {
  if (o.stage == "ptx")
    throw rt::Error("E0301", "`--stage ptx` is not supported yet",
                    {"the GPU backend (NVVM to PTX) is a later issue; use --stage llvm for the "
                     "CPU code"});
  Session s;
  if (!s.loadFiles(o.files))
    return s.fail();
  if (o.stage == "ast") {
    dumpAST(*s.program().fileAST(s.program().sources().findFile(o.files[0])), s.program().sources(),
            std::cout);
    return 0;
  }
  if (o.model.empty())
    throw rt::Error("E0406", "`--stage " + o.stage + "` needs --model");
  lang::TraceOptions options;
  options.training = o.mode == "train";
  lang::ModuleInstance *root = s.instantiate(o.model, options);
  if (!root)
    return s.fail();
  std::vector<InputSpec> inputs = s.parseInputs(o.inputs, o.seed);
  mlir::func::FuncOp func = s.traceMethod(root, o.method, inputs, options);
  if (!func)
    return s.fail();
  mlir::OwningOpRef<mlir::ModuleOp> module(s.module().clone());
  if (o.stage != "nnx" && failed(codegen::lowerToLinalg(*module)))
    throw std::logic_error("lowering to linalg failed (stage: linalg)");
  if (o.stage == "llvm") {
    if (failed(codegen::lowerToLLVMDialect(*module)))
      throw std::logic_error("lowering to the LLVM dialect failed (stage: llvm)");
    std::cout << codegen::translateToLLVMIR(*module);
    return 0;
  }
  module->print(llvm::outs());
  llvm::outs() << "\n";
  llvm::outs().flush();
  return 0;
}

} // namespace nnx::tool
