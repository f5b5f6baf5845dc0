//===- OrcObjects.cpp - Host execution engines and cached objects ---------===//
//
// The host target, LLVM's pipeline for JIT code, object dumps and object linking, shared by
// CpuJit and the kernel library.
//
//===----------------------------------------------------------------------===//
#include "codegen/OrcObjects.h"
#include "codegen/KernelLibrary.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/Orc/CompileUtils.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/JITEventListener.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/RTDyldObjectLinkingLayer.h"
#include "llvm/ExecutionEngine/SectionMemoryManager.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"

#include <chrono>
#include <cstdlib>
#include <functional>
#include <mutex>

namespace nnx::codegen {
namespace {

/// Initialises LLVM's host target and its assembly printer, once per process.
void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    // The train step of a model is one function whose entry block holds thousands of
    // instructions (buffer allocations and memref descriptors between the kernels' loops).
    // SelectionDAG's store merging is quadratic in such blocks: measured on the digits
    // transformer's train step, LLVM took 22 s with it and 8.5 s without, and the kernels, whose
    // stores the loop vectoriser already widens, ran no slower.
    llvm::StringMap<llvm::cl::Option *> &options = llvm::cl::getRegisteredOptions();
    if (llvm::cl::Option *merging = options.lookup("combiner-store-merging"))
      static_cast<llvm::cl::opt<bool> *>(merging)->setValue(false);
  });
}

/// LLVM's code generation level for an -O level.
llvm::CodeGenOptLevel codeGenLevel(int optLevel) {
  switch (optLevel) {
  case 0: return llvm::CodeGenOptLevel::None;
  case 1: return llvm::CodeGenOptLevel::Less;
  case 2: return llvm::CodeGenOptLevel::Default;
  default: return llvm::CodeGenOptLevel::Aggressive;
  }
}

/// The IR pipeline of model code (-O2 and up): the passes that the code the MLIR lowering
/// emits needs, in the order LLVM's -O2 runs them, and nothing else. That code is one function
/// of scalar loops over memrefs (elementwise ops, reductions, the small products that do not
/// go to the kernel library) between the kernels' calls: it needs the memref descriptors'
/// arithmetic folded (sroa, early-cse, instcombine, simplifycfg), invariant addresses hoisted
/// and accumulators kept in registers (licm), loops rotated into the form the vectoriser
/// takes (loop-rotate, loop-simplify, lcssa) with canonical induction variables (indvars),
/// the vectoriser, and a cleanup of what it leaves. It leaves out the inliner and the
/// interprocedural passes (there is one function), GVN, the SLP vectoriser, loop unswitching
/// and unrolling, and the vectoriser does not interleave (its loops are memory-bound
/// elementwise passes; interleaving only made more code to select). Measured on the seed's
/// train step at batch 128 (one Xeon core, kernels cached): LLVM's -O2 pipeline without
/// unrolling took 117-127 ms and machine code 102-114 ms; this pipeline 50-58 ms and 88-101
/// ms, and it vectorises three loops more. The step ran as fast (alternating the binaries,
/// median steps/s of 5 epochs: 390-476 against 356-462, within that machine's noise).
/// `opt -passes='<this>'` reproduces it on a dumped module.
///
/// instcombine runs without its fixpoint verification (`no-verify-fixpoint`, as in LLVM's own
/// default pipelines): in a textual pipeline LLVM 19 turns it on, and a function that needs a
/// second round (the GPU-host tiled matmul of a transposed 16 x 5 operand did) then aborts
/// the process with "Instruction Combining did not reach a fixpoint".
constexpr const char *kModelPipeline =
    "function(sroa,early-cse,simplifycfg,instcombine<no-verify-fixpoint>,loop-mssa(licm),"
    "loop(loop-rotate),loop-simplify,lcssa,indvars,loop-vectorize<interleave-forced-only>,"
    "instcombine<no-verify-fixpoint>,simplifycfg,early-cse)";

/// The IR pipeline at `optLevel` for `machine`: kModelPipeline from -O2 up, LLVM's default
/// pipeline without loop unrolling at -O1 (the kernel library, whose loops are already vector
/// code) and -O0.
///
/// No unrolling: the loops the lowering emits have small constant trip counts (an RNN step's
/// 32 x 8 x 64 matmul, a scan over 8 rows): LLVM's full and partial unrolling blows them up
/// into large straight-line code, which then dominates instruction selection. Measured on the
/// digits LSTM: its train step took 7.5 s in LLVM with unrolling and 1.1 s without, and the
/// seed's Model train step ran no slower (the inner loops are still vectorised and
/// interleaved).
std::function<llvm::Error(llvm::Module *)>
makeTransformer(int optLevel, llvm::TargetMachine *machine, LlvmPhaseMillis *phases) {
  return [optLevel, machine, phases](llvm::Module *module) -> llvm::Error {
    auto start = std::chrono::steady_clock::now();
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions tuning;
    tuning.LoopUnrolling = false;
    tuning.LoopInterleaving = true;
    tuning.LoopVectorization = true;
    tuning.SLPVectorization = true;
    llvm::PassBuilder builder(machine, tuning);
    builder.registerModuleAnalyses(mam);
    builder.registerCGSCCAnalyses(cgam);
    builder.registerFunctionAnalyses(fam);
    builder.registerLoopAnalyses(lam);
    builder.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager passes;
    if (optLevel >= 2) {
      if (llvm::Error error = builder.parsePassPipeline(passes, kModelPipeline))
        return error;
    } else {
      passes = builder.buildPerModuleDefaultPipeline(optLevel <= 0 ? llvm::OptimizationLevel::O0
                                                                   : llvm::OptimizationLevel::O1);
    }
    passes.run(*module, mam);
    if (phases)
      phases->optimize += std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - start)
                              .count();
    return llvm::Error::success();
  };
}

/// The host's target machine (CPU, features) generating code at `optLevel`.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createHostMachine(int optLevel) {
  initializeNativeTarget();
  auto machineBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!machineBuilder)
    return machineBuilder.takeError();
  machineBuilder->setCodeGenOptLevel(codeGenLevel(optLevel));
  return machineBuilder->createTargetMachine();
}

/// Resolves the kernel library's symbols (nnx_sgemm_...) in a JITDylib on demand.
class KernelGenerator : public llvm::orc::DefinitionGenerator {
public:
  llvm::Error tryToGenerate(llvm::orc::LookupState &, llvm::orc::LookupKind,
                            llvm::orc::JITDylib &dylib, llvm::orc::JITDylibLookupFlags,
                            const llvm::orc::SymbolLookupSet &symbols) override {
    llvm::orc::SymbolMap found;
    for (const auto &[name, flags] : symbols) {
      if (!isKernelName(*name))
        continue;
      auto address = getKernelAddress(*name);
      if (!address)
        return address.takeError();
      found[name] = {llvm::orc::ExecutorAddr::fromPtr(*address),
                     llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
    }
    if (found.empty())
      return llvm::Error::success();
    return dylib.define(llvm::orc::absoluteSymbols(std::move(found)));
  }
};

} // namespace

llvm::Expected<std::unique_ptr<mlir::ExecutionEngine>>
createHostEngine(mlir::ModuleOp module, int optLevel, bool keepObject,
                 const llvm::StringMap<void *> &symbols, LlvmPhaseMillis *phases) {
  auto machine = createHostMachine(optLevel);
  if (!machine)
    return machine.takeError();
  // The optimiser needs the host machine (vector widths, features) to vectorise.
  // options.transformer is a function_ref: the std::function must outlive create().
  std::function<llvm::Error(llvm::Module *)> optimize =
      makeTransformer(optLevel, machine->get(), phases);
  // The default translation, timed.
  auto translate = [phases](mlir::Operation *op, llvm::LLVMContext &context) {
    auto start = std::chrono::steady_clock::now();
    std::unique_ptr<llvm::Module> translated = mlir::translateModuleToLLVMIR(op, context);
    if (phases)
      phases->translate += std::chrono::duration<double, std::milli>(
                               std::chrono::steady_clock::now() - start)
                               .count();
    return translated;
  };
  mlir::ExecutionEngineOptions options;
  options.llvmModuleBuilder = translate;
  options.transformer = optimize;
  options.jitCodeGenOptLevel = codeGenLevel(optLevel);
  options.enableGDBNotificationListener = false;
  // NNX_PERF=1 registers the JIT's functions with perf (jitdump; profile with `perf record
  // -k 1`, `perf inject --jit`, kernels and cached objects are linked with the listener too).
  const char *perf = std::getenv("NNX_PERF");
  options.enablePerfNotificationListener = perf && *perf == '1';
  options.enableObjectDump = keepObject;
  auto engine = mlir::ExecutionEngine::create(module, options, std::move(*machine));
  if (!engine)
    return engine.takeError();
  if (!symbols.empty())
    (*engine)->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
      llvm::orc::SymbolMap map;
      for (const auto &entry : symbols)
        map[interner(entry.getKey())] = {llvm::orc::ExecutorAddr::fromPtr(entry.getValue()),
                                         llvm::JITSymbolFlags::Exported};
      return map;
    });
  return std::move(*engine);
}

namespace {

/// Adds `_mlir_<f>(void **args)` for every defined `_mlir_ciface_<name>` f of `module`: it
/// loads argument i from *args[i] and calls f, storing a result, if any, through the pointer
/// after the arguments (mlir::ExecutionEngine's packed calling convention, which CpuJit uses).
void addPackedWrappers(llvm::Module &module) {
  llvm::LLVMContext &context = module.getContext();
  auto *ptr = llvm::PointerType::getUnqual(context);
  std::vector<llvm::Function *> entries;
  for (llvm::Function &func : module)
    if (!func.isDeclaration() && func.getName().starts_with("_mlir_ciface_"))
      entries.push_back(&func);
  for (llvm::Function *func : entries) {
    auto *wrapper = llvm::Function::Create(
        llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr}, false),
        llvm::GlobalValue::ExternalLinkage, "_mlir_" + func->getName(), module);
    llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", wrapper));
    llvm::Value *packed = wrapper->getArg(0);
    std::vector<llvm::Value *> args;
    for (auto [i, param] : llvm::enumerate(func->args())) {
      llvm::Value *slot = builder.CreateLoad(
          ptr, builder.CreateConstGEP1_64(ptr, packed, static_cast<uint64_t>(i)));
      args.push_back(builder.CreateLoad(param.getType(), slot));
    }
    llvm::Value *result = builder.CreateCall(func, args);
    if (!result->getType()->isVoidTy()) {
      llvm::Value *slot = builder.CreateLoad(
          ptr, builder.CreateConstGEP1_64(ptr, packed, static_cast<uint64_t>(args.size())));
      builder.CreateStore(result, slot);
    }
    builder.CreateRetVoid();
  }
}

} // namespace

llvm::Expected<std::string> compileObject(mlir::ModuleOp module, int optLevel,
                                          LlvmPhaseMillis *phases) {
  auto machine = createHostMachine(optLevel);
  if (!machine)
    return machine.takeError();
  auto start = std::chrono::steady_clock::now();
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> translated = mlir::translateModuleToLLVMIR(module, context);
  if (!translated)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "cannot translate the module to LLVM IR");
  translated->setDataLayout((*machine)->createDataLayout());
  translated->setTargetTriple((*machine)->getTargetTriple().getTriple());
  addPackedWrappers(*translated);
  if (phases)
    phases->translate += std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - start)
                             .count();
  if (llvm::Error error = makeTransformer(optLevel, machine->get(), phases)(translated.get()))
    return llvm::Expected<std::string>(std::move(error));
  llvm::orc::SimpleCompiler compiler(**machine);
  auto object = compiler(*translated);
  if (!object)
    return object.takeError();
  return (*object)->getBuffer().str();
}

std::string dumpObject(mlir::ExecutionEngine &engine) {
  // ExecutionEngine only dumps its object to a file: through a temporary one.
  llvm::SmallString<128> path;
  std::string object;
  if (llvm::sys::fs::createTemporaryFile("nnx-object", "o", path))
    return object;
  engine.dumpToObjectFile(path);
  if (auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false))
    object = (*buffer)->getBuffer().str();
  llvm::sys::fs::remove(path);
  return object;
}

llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>>
linkObject(std::unique_ptr<llvm::MemoryBuffer> object, const llvm::StringMap<void *> &symbols) {
  initializeNativeTarget();
  auto machineBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!machineBuilder)
    return machineBuilder.takeError();
  llvm::orc::LLJITBuilder builder;
  builder.setJITTargetMachineBuilder(std::move(*machineBuilder));
  // NNX_PERF=1: RuntimeDyld with perf's listener, as mlir::ExecutionEngine links, so that
  // kernels and cached objects show up by name in `perf report` too.
  if (const char *perf = std::getenv("NNX_PERF"); perf && *perf == '1')
    builder.setObjectLinkingLayerCreator(
        [](llvm::orc::ExecutionSession &session, const llvm::Triple &)
            -> llvm::Expected<std::unique_ptr<llvm::orc::ObjectLayer>> {
          auto layer = std::make_unique<llvm::orc::RTDyldObjectLinkingLayer>(
              session, [] { return std::make_unique<llvm::SectionMemoryManager>(); });
          if (llvm::JITEventListener *listener =
                  llvm::JITEventListener::createPerfJITEventListener())
            layer->registerJITEventListener(*listener);
          return std::unique_ptr<llvm::orc::ObjectLayer>(std::move(layer));
        });
  auto lljit = builder.create();
  if (!lljit)
    return lljit.takeError();
  llvm::orc::JITDylib &dylib = (*lljit)->getMainJITDylib();
  if (!symbols.empty()) {
    llvm::orc::SymbolMap defined;
    for (const auto &entry : symbols)
      defined[(*lljit)->mangleAndIntern(entry.getKey())] = {
          llvm::orc::ExecutorAddr::fromPtr(entry.getValue()),
          llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
    if (llvm::Error error = dylib.define(llvm::orc::absoluteSymbols(std::move(defined))))
      return error;
  }
  // libm, libc and libomp symbols come from the process, as in mlir::ExecutionEngine.
  auto process = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*lljit)->getDataLayout().getGlobalPrefix());
  if (!process)
    return process.takeError();
  dylib.addGenerator(std::move(*process));
  dylib.addGenerator(std::make_unique<KernelGenerator>());
  if (llvm::Error error = (*lljit)->addObjectFile(std::move(object)))
    return error;
  return std::move(*lljit);
}

} // namespace nnx::codegen
