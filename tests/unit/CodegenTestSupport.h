//===- CodegenTestSupport.h - Fixtures of the CPU JIT unit tests -----------===//
//
// What CodegenTest.cpp and GemmCodegenTest.cpp share: one MLIR context with the code
// generator's dialects, parsing nnx IR, a deterministic data stream and sampled tensors, and
// the comparison of a JIT-compiled function against the interpreter.
//
// With NNX_CODEGEN_TARGET=gpu-host, the comparison compiles the GPU's mapped IR instead (every
// op a launch of blocks and threads, codegen/gpu), its blocks and threads run as loops on the
// host: ctest runs the op tests a second time that way (unit.codegen.gpu-mapping), so a wrong
// tile, index expression or bound guard of the GPU lowering fails on a machine without a GPU.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/CpuJit.h"
#include "interp/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Parser/Parser.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <string>
#include <vector>

namespace nnx::codegentest {

using rt::DType;
using rt::Shape;
using rt::Tensor;

//===----------------------------------------------------------------------===//
// Fixtures: context, parsing, test data
//===----------------------------------------------------------------------===//

/// One context for every test, with the code generator's dialects.
inline mlir::MLIRContext &context() {
  static mlir::MLIRContext *instance = [] {
    mlir::DialectRegistry registry;
    codegen::registerCodegenDialects(registry);
    auto *ctx = new mlir::MLIRContext(registry);
    ctx->loadAllAvailableDialects();
    return ctx;
  }();
  return *instance;
}

/// Parses a module of nnx IR; fails the test on syntax or verifier errors.
inline mlir::OwningOpRef<mlir::ModuleOp> parse(const std::string &text) {
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context());
  REQUIRE_MESSAGE(module, "cannot parse:\n" << text);
  return module;
}

/// "f32", "i1", ... as MLIR spells the element type.
inline std::string elementName(DType dtype) {
  switch (dtype) {
  case DType::F32: return "f32";
  case DType::F64: return "f64";
  case DType::I32: return "i32";
  case DType::I64: return "i64";
  case DType::Bool: return "i1";
  }
  return "?";
}

/// "tensor<2x3xf32>", "tensor<f32>" for rank 0.
inline std::string ty(DType dtype, const Shape &shape) {
  std::string text = "tensor<";
  for (int64_t extent : shape)
    text += std::to_string(extent) + "x";
  return text + elementName(dtype) + ">";
}

/// A deterministic pseudo-random stream (a 64-bit LCG).
class Lcg {
public:
  explicit Lcg(uint64_t seed) : state_(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
  uint32_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state_ >> 33);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * (next() / 2147483648.0); }

private:
  uint64_t state_;
};

/// Test data: floats in [-3, 3], ints in [-50, 50], random bools; with `specials`, the first
/// elements are edge values (NaN, infinities, -0, integer extremes).
inline Tensor sample(DType dtype, const Shape &shape, uint64_t seed, bool specials = false) {
  Tensor t(dtype, shape);
  Lcg lcg(seed);
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> floatEdges = {std::nan(""), inf, -inf, -0.0, 0.0, 1.0, -1.0, 0.5};
  rt::dispatchDType(dtype, [&](auto tag) {
    using T = decltype(tag);
    T *data = t.data<T>();
    std::vector<T> edges;
    if constexpr (std::is_floating_point_v<T>)
      edges.assign(floatEdges.begin(), floatEdges.end());
    else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
      edges = {std::numeric_limits<T>::min(), std::numeric_limits<T>::max(), 0, -1, 1};
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (specials && static_cast<size_t>(i) < edges.size())
        data[i] = edges[static_cast<size_t>(i)];
      else if constexpr (std::is_same_v<T, bool>)
        data[i] = lcg.next() % 2;
      else if constexpr (std::is_floating_point_v<T>)
        data[i] = static_cast<T>(lcg.uniform(-3.0, 3.0));
      else
        data[i] = static_cast<T>(static_cast<int64_t>(lcg.next() % 101) - 50);
    }
  });
  return t;
}

/// A tensor from explicit values.
template <typename T> Tensor values(const Shape &shape, const std::vector<T> &data) {
  return Tensor::fromVector<T>(shape, data);
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

/// Compares element by element; floats within 1e-6 + 1e-5 max|ref| (the norm-wise relative
/// error a GEMM test uses: the JIT's matmuls sum with fused multiply-adds, so an element that
/// is a cancelling sum differs from the interpreter's by rounding of the larger terms),
/// everything exactly when `exact`.
inline void compareTensors(const Tensor &jit, const Tensor &ref, bool exact,
                           const std::string &what) {
  REQUIRE_MESSAGE(jit.dtype() == ref.dtype(), what);
  REQUIRE_MESSAGE(jit.shape() == ref.shape(), what);
  int64_t mismatches = 0;
  rt::dispatchDType(ref.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T *a = jit.data<T>(), *b = ref.data<T>();
    double scale = 0;
    for (int64_t i = 0; i < ref.numel(); ++i)
      if (std::isfinite(double(b[i])))
        scale = std::max(scale, std::fabs(double(b[i])));
    for (int64_t i = 0; i < ref.numel(); ++i) {
      bool same = a[i] == b[i];
      if constexpr (std::is_floating_point_v<T>) {
        same = same || (std::isnan(a[i]) && std::isnan(b[i]));
        if (!exact && !same && std::isfinite(a[i]) && std::isfinite(b[i]))
          same = std::fabs(double(a[i]) - double(b[i])) <= 1e-6 + 1e-5 * scale;
      }
      if (!same && mismatches++ < 5)
        FAIL_CHECK(what << ": element " << i << " is " << +a[i] << ", interpreter says "
                        << +b[i]);
    }
  });
  CHECK_MESSAGE(mismatches == 0, what << ": " << mismatches << " mismatches");
}

/// Whether NNX_CODEGEN_TARGET=gpu-host asks for the GPU's mapped IR run on the host.
inline bool gpuHostTarget() {
  const char *target = std::getenv("NNX_CODEGEN_TARGET");
  return target && std::strcmp(target, "gpu-host") == 0;
}

/// Compiles @f of `text`, runs it and the interpreter on `args`, and compares every result.
inline void checkAgainstInterpreter(const std::string &text, const std::vector<Tensor> &args,
                                    bool exact = false) {
  INFO("IR:\n" << text);
  auto module = parse(text);
  auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
  REQUIRE(func);
  std::vector<Tensor> expected = interp::run(func, args);
  auto jit = codegen::CpuJit::compile(*module, "f", 3,
                                      gpuHostTarget() ? codegen::CpuJit::Kernels::GpuOnHost
                                                      : codegen::CpuJit::Kernels::Cpu);
  if (!jit && gpuHostTarget()) {
    // The GPU refuses f64 transcendentals (no libdevice), and gpu-host with it: that
    // refusal, and no other, stands for the result.
    std::string message;
    bool unsupported = false;
    llvm::handleAllErrors(jit.takeError(), [&](const llvm::ErrorInfoBase &error) {
      message = error.message();
      unsupported = error.convertToErrorCode() == std::errc::not_supported;
    });
    INFO(message);
    CHECK(unsupported);
    CHECK(message.find("of f64 (libdevice's __nv_") != std::string::npos);
    CHECK(text.find("f64") != std::string::npos);
    return;
  }
  if (!jit)
    FAIL(llvm::toString(jit.takeError()));
  std::vector<Tensor> actual = (*jit)->run(args);
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    compareTensors(actual[i], expected[i], exact, "result " + std::to_string(i));
}

/// A function of one operation: `body` uses %a, %b, ... and defines %r of type `result`.
inline std::string makeFunction(const std::vector<std::string> &argTypes,
                                const std::string &body, const std::string &result) {
  std::string text = "func.func @f(";
  for (size_t i = 0; i < argTypes.size(); ++i)
    text += (i ? ", %" : "%") + std::string(1, char('a' + i)) + ": " + argTypes[i];
  return text + ") -> " + result + " {\n  " + body + "\n  return %r : " + result + "\n}\n";
}

} // namespace nnx::codegentest
