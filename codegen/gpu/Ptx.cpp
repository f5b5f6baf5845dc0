//===- Ptx.cpp - NVVM kernels to PTX with LLVM's NVPTX back end -----------===//
//
// The kernels lowerToNVVM outlines live in one gpu.module each. They are gathered into one
// module (each kernel renamed after its gpu.module, the names the launches refer to),
// translated to LLVM IR with the NVVM translation (kernel and launch-bound metadata),
// optimised at -O3 for the NVPTX target machine and printed as PTX. No CUDA toolkit is
// involved: Debian's LLVM carries the NVPTX target.
//
//===----------------------------------------------------------------------===//
#include "codegen/gpu/GpuPipeline.h"
#include "codegen/gpu/KernelPasses.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <mutex>
#include <system_error>

namespace nnx::codegen {
namespace {

/// The PTX ISA version asked of the back end: 7.8 is the first with sm_90 (CUDA 11.8).
constexpr const char *kPtxFeatures = "+ptx78";
constexpr const char *kNvptxTriple = "nvptx64-nvidia-cuda";

/// Registers LLVM's NVPTX target, once per process.
void initializeNvptx() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
}

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::make_error<llvm::StringError>(message, llvm::inconvertibleErrorCode());
}

/// An error for IR the GPU backend does not compile yet (not a fault): its code is
/// std::errc::not_supported, which the command line reports as a diagnostic.
llvm::Error unsupported(const llvm::Twine &message) {
  return llvm::createStringError(std::make_error_code(std::errc::not_supported), message);
}

/// The most bytes of parameters a kernel may take at PTX ISA 7.8 (ptxas: 0x1100).
constexpr uint64_t kMaxKernelParamBytes = 4352;

/// Fails naming the first kernel whose parameters (the memref descriptors and scalars it
/// captures) do not fit the launch's parameter space.
llvm::Error checkParameterSpace(const llvm::Module &module) {
  const llvm::DataLayout &layout = module.getDataLayout();
  for (const llvm::Function &function : module) {
    // The kernels are the module's public definitions (nvvm.annotations marks them).
    if (function.isDeclaration() || function.hasLocalLinkage())
      continue;
    uint64_t bytes = 0;
    for (const llvm::Argument &argument : function.args())
      bytes += layout.getTypeAllocSize(argument.getType());
    if (bytes > kMaxKernelParamBytes)
      return unsupported("kernel `" + function.getName() + "` takes " + llvm::Twine(bytes) +
                         " bytes of parameters; a launch holds " +
                         llvm::Twine(kMaxKernelParamBytes) +
                         " (one fused op reads too many tensors: each costs 24 + 16 x rank bytes)");
  }
  return llvm::Error::success();
}

/// One builtin module holding the bodies of every gpu.module of `module`, each kernel named
/// after its gpu.module; declarations several modules share are kept once.
mlir::OwningOpRef<mlir::ModuleOp> gatherKernels(mlir::ModuleOp module) {
  mlir::OwningOpRef<mlir::ModuleOp> kernels = mlir::ModuleOp::create(module.getLoc());
  mlir::SymbolTable symbols(*kernels);
  for (auto gpuModule : module.getOps<mlir::gpu::GPUModuleOp>()) {
    for (mlir::Operation &op : gpuModule.getBody()->getOperations()) {
      auto function = llvm::dyn_cast<mlir::LLVM::LLVMFuncOp>(op);
      bool kernel =
          function && function->hasAttr(mlir::NVVM::NVVMDialect::getKernelFuncAttrName());
      auto symbol = llvm::dyn_cast<mlir::SymbolOpInterface>(op);
      // Everything a kernel module holds is a symbol (functions, globals) but its terminator.
      if (!symbol || (!kernel && symbols.lookup(symbol.getName())))
        continue;
      mlir::Operation *copy = op.clone();
      if (kernel)
        llvm::cast<mlir::LLVM::LLVMFuncOp>(copy).setSymName(gpuModule.getName());
      symbols.insert(copy);
    }
  }
  return kernels;
}

/// Replaces the libdevice calls convert-gpu-to-nvvm makes for math ops that NVPTX has
/// instructions for (IEEE sqrt, fabs, floor, ceil) by LLVM intrinsics; fails naming any
/// other __nv_* function, since nnx links no libdevice.
llvm::Error replaceLibdeviceCalls(mlir::ModuleOp kernels) {
  llvm::SmallVector<mlir::LLVM::CallOp> calls;
  kernels.walk([&](mlir::LLVM::CallOp call) { calls.push_back(call); });
  for (mlir::LLVM::CallOp call : calls) {
    std::optional<llvm::StringRef> callee = call.getCallee();
    if (!callee || !callee->starts_with("__nv_"))
      continue;
    // libdevice names the f32 form with a trailing `f` (__nv_sqrtf), the f64 form without.
    bool f32 = call.getResult().getType().isF32();
    llvm::StringRef name = callee->drop_front(5);
    if (f32)
      name.consume_back("f");
    mlir::OpBuilder b(call);
    mlir::Value x = call.getOperand(0);
    mlir::Value replacement;
    if (name == "sqrt")
      replacement = b.create<mlir::LLVM::SqrtOp>(call.getLoc(), x);
    else if (name == "fabs")
      replacement = b.create<mlir::LLVM::FAbsOp>(call.getLoc(), x);
    else if (name == "floor")
      replacement = b.create<mlir::LLVM::FFloorOp>(call.getLoc(), x);
    else if (name == "ceil")
      replacement = b.create<mlir::LLVM::FCeilOp>(call.getLoc(), x);
    else if (name == "fmod")
      // NVPTX expands frem to x - trunc(x / y) * y: exact while the quotient is exact.
      replacement = b.create<mlir::LLVM::FRemOp>(call.getLoc(), x, call.getOperand(1));
    else
      return unsupported("`" + name + "` of " + (f32 ? "f32" : "f64") +
                         " (libdevice's " + *callee +
                         "; nnx approximates f32 exp, log, tanh, erf, sin, cos and pow only)");
    call.getResult().replaceAllUsesWith(replacement);
    call.erase();
  }
  llvm::SmallVector<mlir::LLVM::LLVMFuncOp> unused;
  for (auto function : kernels.getOps<mlir::LLVM::LLVMFuncOp>())
    if (function.isExternal() && function.getName().starts_with("__nv_") &&
        mlir::SymbolTable::symbolKnownUseEmpty(function, kernels))
      unused.push_back(function);
  for (mlir::LLVM::LLVMFuncOp function : unused)
    function.erase();
  return llvm::Error::success();
}

/// The NVPTX target machine for `arch` at -O3.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createNvptxMachine(llvm::StringRef arch) {
  initializeNvptx();
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(kNvptxTriple, error);
  if (!target)
    return makeError("LLVM has no NVPTX target: " + error);
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      kNvptxTriple, arch, kPtxFeatures, llvm::TargetOptions(), std::nullopt, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return makeError("cannot create the NVPTX target machine for " + arch);
  return machine;
}

/// Runs LLVM's -O3 module pipeline for `machine` on `module`.
void optimize(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder builder(&machine);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, mam);
}

/// Collects the MLIR diagnostics a lowering emits, for the error message.
class DiagnosticText {
public:
  explicit DiagnosticText(mlir::MLIRContext *context)
      : handler_(context, [this](mlir::Diagnostic &diagnostic) {
          llvm::raw_string_ostream os(text_);
          os << diagnostic.getLocation() << ": " << diagnostic << "\n";
          return mlir::success();
        }) {}
  const std::string &text() const { return text_; }

private:
  std::string text_;
  mlir::ScopedDiagnosticHandler handler_;
};

} // namespace

namespace {

/// The kernels of `module` as one LLVM module for `machine`: lowered to NVVM (from nnx IR,
/// or from kernels already outlined), gathered, libdevice calls replaced, parameter space
/// checked. What emitPtx compiles and checkGpuSupport vets, so that both refuse the same IR.
llvm::Expected<std::unique_ptr<llvm::Module>>
buildKernelModule(mlir::ModuleOp module, llvm::TargetMachine &machine, llvm::LLVMContext &context,
                  bool outlined = false) {
  mlir::OwningOpRef<mlir::ModuleOp> lowered(module.clone());
  DiagnosticText diagnostics(module.getContext());
  if (mlir::failed(outlined ? lowerKernelsToNVVM(*lowered) : lowerToNVVM(*lowered)))
    return makeError("cannot lower the module to NVVM:\n" + diagnostics.text());
  mlir::OwningOpRef<mlir::ModuleOp> kernels = gatherKernels(*lowered);
  if (llvm::Error error = replaceLibdeviceCalls(*kernels))
    return error;
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(*kernels, context, "nnx_kernels");
  if (!llvmModule)
    return makeError("cannot translate the kernels to LLVM IR:\n" + diagnostics.text());
  llvmModule->setTargetTriple(kNvptxTriple);
  llvmModule->setDataLayout(machine.createDataLayout());
  if (llvm::Error error = checkParameterSpace(*llvmModule))
    return error;
  return llvmModule;
}

} // namespace

llvm::Error checkGpuSupport(mlir::ModuleOp module) {
  auto machine = createNvptxMachine(kDefaultGpuArch);
  if (!machine)
    return machine.takeError();
  llvm::LLVMContext context;
  auto kernels = buildKernelModule(module, **machine, context);
  return kernels ? llvm::Error::success() : kernels.takeError();
}

namespace {

/// The PTX of `module`'s kernels for `arch`; `outlined`: as buildKernelModule.
llvm::Expected<std::string> compilePtx(mlir::ModuleOp module, llvm::StringRef arch,
                                       bool outlined) {
  if (!isSupportedGpuArch(arch))
    return makeError("unsupported GPU architecture '" + arch +
                     "' (supported: sm_80, sm_86, sm_89, sm_90)");
  auto machine = createNvptxMachine(arch);
  if (!machine)
    return machine.takeError();
  llvm::LLVMContext context;
  auto llvmModule = buildKernelModule(module, **machine, context, outlined);
  if (!llvmModule)
    return llvmModule.takeError();
  optimize(**llvmModule, **machine);
  llvm::SmallString<0> ptx;
  llvm::raw_svector_ostream os(ptx);
  llvm::legacy::PassManager codegen;
  if ((*machine)->addPassesToEmitFile(codegen, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
    return makeError("the NVPTX target cannot emit assembly");
  codegen.run(**llvmModule);
  return std::string(ptx.str());
}

} // namespace

llvm::Expected<std::string> emitPtx(mlir::ModuleOp module, llvm::StringRef arch) {
  return compilePtx(module, arch, /*outlined=*/false);
}

llvm::Expected<std::string> emitOutlinedPtx(mlir::ModuleOp module, llvm::StringRef arch) {
  return compilePtx(module, arch, /*outlined=*/true);
}

} // namespace nnx::codegen
