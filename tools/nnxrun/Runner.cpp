//===- Runner.cpp - A traced function, compiled once, run many times ------===//
//
// See Runner.h.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Runner.h"
#include "tools/nnxrun/Session.h"

#include "codegen/CpuJit.h"
#include "interp/Interpreter.h"
#include "ir/Signature.h"

#include <stdexcept>

namespace nnx::tool {

Runner::Runner(mlir::ModuleOp module, mlir::func::FuncOp func, Backend backend,
               Timings &timings)
    : func_(func) {
  ir::FunctionSignature sig = ir::getSignature(func);
  for (const ir::SignatureSlot &slot : sig.args)
    args_.push_back({slot.isState, slot.name});
  for (const ir::SignatureSlot &slot : sig.results)
    results_.push_back({slot.isState, slot.isState ? slot.name : slot.label});
  if (backend == Backend::Interp)
    return;
  auto start = std::chrono::steady_clock::now();
  // LLVM -O2: on the train steps measured here it runs as fast as -O3 and compiles in half
  // the time (digits step: 370 vs 820 ms). gpu-host: the GPU's kernels, run as host loops.
  codegen::CpuJit::Kernels kernels = backend == Backend::GpuHost ? codegen::CpuJit::Kernels::GpuOnHost
                                     : backend == Backend::Gpu   ? codegen::CpuJit::Kernels::Gpu
                                                                 : codegen::CpuJit::Kernels::Cpu;
  auto jit = codegen::CpuJit::compile(module, func.getSymName(), /*optLevel=*/2, kernels);
  if (!jit)
    throwCompileError(jit.takeError(), "JIT compilation", "codegen",
                      "--backend jit runs it on the CPU");
  jit_ = std::move(*jit);
  if (jit_->cacheHit()) {
    timings.add("jit-cache-hit", jit_->cacheMillis());
  } else {
    timings.add("jit-lower", jit_->lowerMillis());
    timings.add("jit-llvm", jit_->llvmMillis());
    // The split of jit-llvm.
    if (jit_->kernelMillis() >= 0.05)
      timings.add("llvm-kernels", jit_->kernelMillis());
    timings.add("llvm-translate", jit_->translateMillis());
    timings.add("llvm-optimize", jit_->optimizeMillis());
    timings.add("llvm-codegen", jit_->codegenMillis());
    if (backend == Backend::Gpu) {
      // jit-lower and jit-llvm are the host side; the kernels are these.
      timings.add("gpu-ptx", jit_->ptxMillis());
      timings.add("gpu-module-load", jit_->moduleLoadMillis());
    }
  }
  timings.add("jit-total", millisSince(start));
}

Runner::~Runner() = default;

bool Runner::fromCache() const { return jit_ && jit_->cacheHit(); }

std::vector<std::string> Runner::outputLabels() const {
  std::vector<std::string> labels;
  for (const auto &[isState, label] : results_)
    if (!isState)
      labels.push_back(label);
  return labels;
}

std::vector<rt::Tensor> Runner::run(rt::State &state,
                                    const std::vector<std::pair<std::string, rt::Tensor>> &inputs) {
  std::vector<rt::Tensor> args;
  args.reserve(args_.size());
  for (const auto &[isState, name] : args_) {
    if (isState) {
      rt::StateVar *var = state.find(name);
      if (!var)
        throw std::logic_error("state variable `" + name + "` is missing (stage: execute)");
      args.push_back(var->value);
      continue;
    }
    auto in = std::find_if(inputs.begin(), inputs.end(),
                           [&](const auto &pair) { return pair.first == name; });
    if (in == inputs.end())
      throw std::logic_error("input `" + name + "` is missing (stage: execute)");
    args.push_back(in->second);
  }
  std::vector<rt::Tensor> results = jit_ ? jit_->run(args) : interp::run(func_, args);
  std::vector<rt::Tensor> outputs;
  for (size_t i = 0; i < results_.size(); ++i) {
    if (!results_[i].first) {
      outputs.push_back(results[i]);
    } else if (rt::StateVar *var = state.find(results_[i].second)) {
      var->value = results[i];
    }
  }
  return outputs;
}

} // namespace nnx::tool
