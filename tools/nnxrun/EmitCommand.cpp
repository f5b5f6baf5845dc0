//===- EmitCommand.cpp - `nnxrun emit` ------------------------------------===//
//
// Prints one stage of the pipeline, like the Toy tutorial's -emit=: the AST of the file, the
// traced nnx IR of a method, the linalg IR after lowering and fusion, or the LLVM IR the JIT
// compiles, or the PTX of the GPU kernels (`--gpu-arch`).
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

#include "codegen/CpuJit.h"
#include "codegen/Pipeline.h"
#include "codegen/gpu/GpuPipeline.h"
#include "runtime/Error.h"

#include "runtime/gpu/CudaDriver.h"

#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <iostream>

namespace nnx::tool {

/// The architecture of CUDA device 0 when there is one that nnx compiles for, else sm_80.
static std::string defaultGpuArch() {
  rt::gpu::CudaProbe cuda = rt::gpu::probeCuda();
  std::string arch = cuda.deviceCount > 0
                         ? codegen::gpuArchForDevice(cuda.device.major, cuda.device.minor)
                         : "";
  if (cuda.deviceCount > 0 && arch.empty())
    std::fprintf(stderr,
                 "note: the GPU %s (%s) is older than sm_80, the oldest nnx compiles for; this "
                 "PTX is for sm_80 and will not load on it\n",
                 cuda.device.name.c_str(), cuda.device.arch().c_str());
  return arch.empty() ? codegen::kDefaultGpuArch : arch;
}

/// The GPU architecture of `--gpu-arch` (for `--stage ptx` without it: device 0's, else
/// sm_80); E0410 when unsupported (an empty one too), E0406 when given without `--stage ptx`.
static std::string gpuArch(const ModelOptions &o) {
  std::string arch = o.has("--gpu-arch")  ? o.gpuArch
                     : o.stage == "ptx" ? defaultGpuArch()
                                        : codegen::kDefaultGpuArch;
  if (o.has("--gpu-arch") && o.stage != "ptx")
    throw rt::Error("E0406", "--gpu-arch applies to `--stage ptx` only" +
                                 (o.stage.empty() ? "" : ", not `--stage " + o.stage + "`"));
  if (!codegen::isSupportedGpuArch(arch))
    throw rt::Error("E0410", "unsupported GPU architecture `" + arch + "`",
                    {"nnx generates PTX for sm_80 (A100), sm_86, sm_89 and sm_90 (H100, H200)"});
  return arch;
}

void checkStageOptions(const ModelOptions &o) { gpuArch(o); }

void printStage(mlir::ModuleOp traced, const ModelOptions &o) {
  std::string arch = gpuArch(o);
  mlir::OwningOpRef<mlir::ModuleOp> module(traced.clone());
  if (o.stage == "ptx") {
    llvm::Expected<std::string> ptx = codegen::emitPtx(*module, arch);
    if (!ptx)
      throwCompileError(ptx.takeError(), "compiling to PTX", "ptx",
                        "--stage llvm and --backend jit compile it for the CPU");
    std::cout << *ptx;
    return;
  }
  if (o.stage == "gpu") {
    if (failed(codegen::lowerToGpuLaunches(*module)))
      throw std::logic_error("mapping to GPU launches failed (stage: gpu)");
  } else if (o.stage != "nnx" && failed(codegen::lowerToLinalg(*module))) {
    throw std::logic_error("lowering to linalg failed (stage: linalg)");
  }
  if (o.stage == "llvm") {
    if (failed(codegen::lowerToLLVMDialect(*module)))
      throw std::logic_error("lowering to the LLVM dialect failed (stage: llvm)");
    std::cout << codegen::translateToLLVMIR(*module);
    return;
  }
  module->print(llvm::outs());
  llvm::outs() << "\n";
  llvm::outs().flush();
}

int runEmit(const ModelOptions &o) {
  checkStageOptions(o);
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
  printStage(s.module(), o);
  return 0;
}

} // namespace nnx::tool
