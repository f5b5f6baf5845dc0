//===- AutodiffHarness.h - The finite-difference harness of the autodiff tests ===//
//
// Shared by AutodiffTest.cpp (every op's VJP) and AutodiffScanTest.cpp (scan and vmap): one
// MLIR context with the nnx dialects, parsing of test IR, deterministic f64 test data, and the
// check itself: @f is differentiated by the nnx-grad pass into @f_grad, which the interpreter
// runs; each float argument's gradient must match central differences of f (h = 1e-6) to a
// relative error of 1e-6. Test-only; every function is inline.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "interp/Interpreter.h"
#include "ir/Autodiff.h"
#include "ir/NNXDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace nnx::test {

using rt::DType;
using rt::Shape;
using rt::Tensor;

//===----------------------------------------------------------------------===//
// Fixtures: context, parsing, test data
//===----------------------------------------------------------------------===//

/// One context for every test, with the dialects of nnx IR.
inline mlir::MLIRContext &context() {
  static mlir::MLIRContext *instance = [] {
    mlir::DialectRegistry registry;
    ir::registerNNXDialects(registry);
    auto *ctx = new mlir::MLIRContext(registry, mlir::MLIRContext::Threading::DISABLED);
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

/// Runs the nnx-grad pass on `module`; returns whether it succeeded.
inline bool runGradPass(mlir::ModuleOp module) {
  mlir::PassManager pm(&context());
  pm.addPass(ir::createGradPass());
  return mlir::succeeded(pm.run(module));
}

/// "tensor<2x3xf64>", "tensor<f64>" for rank 0.
inline std::string ty(const Shape &shape, const std::string &element = "f64") {
  std::string text = "tensor<";
  for (int64_t extent : shape)
    text += std::to_string(extent) + "x";
  return text + element + ">";
}

/// The MLIR type of a test tensor.
inline std::string ty(const Tensor &t) {
  switch (t.dtype()) {
  case DType::F32: return ty(t.shape(), "f32");
  case DType::F64: return ty(t.shape(), "f64");
  case DType::I32: return ty(t.shape(), "i32");
  case DType::I64: return ty(t.shape(), "i64");
  case DType::Bool: return ty(t.shape(), "i1");
  }
  return "?";
}

/// "[0, 1, 2]": every axis of a rank-`rank` tensor.
inline std::string allAxes(size_t rank) {
  std::string text = "[";
  for (size_t d = 0; d < rank; ++d)
    text += (d ? ", " : "") + std::to_string(d);
  return text + "]";
}

/// A deterministic pseudo-random stream (a 64-bit LCG).
class Lcg {
public:
  explicit Lcg(uint64_t seed) : state_(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
  double uniform(double lo, double hi) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (hi - lo) * (static_cast<double>(state_ >> 11) / 9007199254740992.0);
  }

private:
  uint64_t state_;
};

/// f64 elements uniform in [lo, hi).
inline Tensor uniform(const Shape &shape, uint64_t seed, double lo = -2.0, double hi = 2.0) {
  Tensor t(DType::F64, shape);
  Lcg lcg(seed);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, lcg.uniform(lo, hi));
  return t;
}

/// f64 elements of magnitude in [lo, hi) and random sign: away from a kink at zero.
inline Tensor awayFromZero(const Shape &shape, uint64_t seed, double lo = 0.2, double hi = 2.0) {
  Tensor t = uniform(shape, seed, lo, hi);
  Lcg signs(seed + 1000);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, signs.uniform(0.0, 1.0) < 0.5 ? -t.at(i) : t.at(i));
  return t;
}

/// A tensor from explicit values.
inline Tensor f64(const Shape &shape, const std::vector<double> &values) {
  return Tensor::fromVector<double>(shape, values);
}

//===----------------------------------------------------------------------===//
// The finite-difference check
//===----------------------------------------------------------------------===//

/// d f / d args[which] by central differences, element by element.
inline Tensor numericGradient(mlir::func::FuncOp f, std::vector<Tensor> args, size_t which) {
  const double h = 1e-6;
  Tensor x = args[which].clone();
  args[which] = x; // shares x's storage: the perturbations below are what f sees
  Tensor grad(DType::F64, x.shape());
  for (int64_t j = 0; j < x.numel(); ++j) {
    double v = x.at(j);
    x.set(j, v + h);
    double up = interp::run(f, args)[0].at(0);
    x.set(j, v - h);
    double down = interp::run(f, args)[0].at(0);
    x.set(j, v);
    grad.set(j, (up - down) / (2 * h));
  }
  return grad;
}

/// Checks max|analytic - numeric| <= 1e-6 max|numeric| (absolute 1e-9 for a zero gradient).
inline void compareGradient(const Tensor &analytic, const Tensor &numeric,
                            const std::string &what) {
  REQUIRE_MESSAGE(analytic.shape() == numeric.shape(), what);
  double scale = 0.0, worst = 0.0;
  int64_t worstAt = 0;
  for (int64_t j = 0; j < numeric.numel(); ++j) {
    scale = std::max(scale, std::fabs(numeric.at(j)));
    double err = std::fabs(analytic.at(j) - numeric.at(j));
    if (!(err <= worst)) { // NaN counts as the worst
      worst = err;
      worstAt = j;
    }
  }
  double error = scale > 0.0 ? worst / scale : worst / 1e-3;
  CHECK_MESSAGE(error <= 1e-6, what << ": relative error " << error << " at element " << worstAt
                                    << " (analytic "
                                    << (numeric.numel() ? analytic.at(worstAt) : 0.0)
                                    << ", numeric "
                                    << (numeric.numel() ? numeric.at(worstAt) : 0.0) << ")");
}

/// Differentiates @f of `text` with the nnx-grad pass and checks f_grad at `args`: its value
/// equals f's, and each float argument's gradient matches central differences of f.
inline void checkGradients(const std::string &text, const std::vector<Tensor> &args) {
  INFO("IR:\n" << text);
  auto module = parse(text);
  REQUIRE(runGradPass(*module));
  auto f = module->lookupSymbol<mlir::func::FuncOp>("f");
  auto grad = module->lookupSymbol<mlir::func::FuncOp>("f_grad");
  REQUIRE(f);
  REQUIRE(grad);
  std::vector<Tensor> results = interp::run(grad, args);
  CHECK(results[0].at(0) == interp::run(f, args)[0].at(0));
  size_t next = 1;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].dtype() != DType::F64)
      continue;
    REQUIRE(next < results.size());
    compareGradient(results[next++], numericGradient(f, args, i), "argument " + std::to_string(i));
  }
  CHECK(next == results.size());
}

/// A named argument of a test function.
struct Arg {
  std::string name;
  Tensor value;
};

/// Checks the gradients of sum(y * w): `body` computes %y of shape `yShape` from `args`;
/// the weights %w (random, magnitude 0.5 to 1.5) are the last argument.
inline void checkOp(const std::vector<Arg> &args, const std::string &body, const Shape &yShape) {
  uint64_t seed = std::hash<std::string>{}(body) % 100003 + 1; // the same weights in any run
  std::string yType = ty(yShape);
  std::string text = "func.func @f(";
  std::vector<Tensor> values;
  for (const Arg &arg : args) {
    text += "%" + arg.name + ": " + ty(arg.value) + ", ";
    values.push_back(arg.value);
  }
  text += "%w: " + yType + ") -> tensor<f64> attributes {nnx.differentiate} {\n" + body +
          "\n  %wy = nnx.mul %y, %w : " + yType + "\n  %loss = nnx.reduce_sum %wy, axes = " +
          allAxes(yShape.size()) + " : " + yType +
          " -> tensor<f64>\n  return %loss : tensor<f64>\n}\n";
  values.push_back(awayFromZero(yShape, seed, 0.5, 1.5));
  checkGradients(text, values);
}

/// checkOp for a unary op on %a.
inline void checkUnary(const std::string &op, const Tensor &a) {
  checkOp({{"a", a}}, "  %y = nnx." + op + " %a : " + ty(a), a.shape());
}

/// checkOp for a binary op on %a and %b of one type.
inline void checkBinary(const std::string &op, const Tensor &a, const Tensor &b) {
  checkOp({{"a", a}, {"b", b}}, "  %y = nnx." + op + " %a, %b : " + ty(a), a.shape());
}


} // namespace nnx::test
