//===- CodegenTest.cpp - The CPU JIT against the interpreter --------------===//
//
// Every nnx op, in every dtype it takes, is written as a small function of nnx IR, run by the
// interpreter (the oracle) and by the CPU JIT, and the results compared: floats to 1e-5 of the
// result's largest element (absolute 1e-6, NaN equal to NaN), integers, bools and random draws
// exactly.
// Edge cases ride along: rank-0 tensors, broadcasts of several kinds, reductions over several
// axes, strided slices, interior padding, integer division by zero, NaN in max/min/relu,
// saturating conversions, functions returning their argument or one value twice. The
// linalg stage is checked on its text (the Linear layer's bias and relu fuse into one
// generic), the LLVM stage for a `define`, and an MLP of the seed's size for compile time.
//
//===----------------------------------------------------------------------===//
#include "codegen/CpuJit.h"
#include "codegen/KernelLibrary.h"
#include "codegen/Pipeline.h"
#include "codegen/cpu/GemmKernel.h"
#include "interp/Interpreter.h"
#include "ir/Autodiff.h"
#include "ir/NNXDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

using namespace nnx;
using rt::DType;
using rt::Shape;
using rt::Tensor;

namespace {

//===----------------------------------------------------------------------===//
// Fixtures: context, parsing, test data
//===----------------------------------------------------------------------===//

/// One context for every test, with the code generator's dialects.
mlir::MLIRContext &context() {
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
mlir::OwningOpRef<mlir::ModuleOp> parse(const std::string &text) {
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, &context());
  REQUIRE_MESSAGE(module, "cannot parse:\n" << text);
  return module;
}

/// "f32", "i1", ... as MLIR spells the element type.
std::string elementName(DType dtype) {
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
std::string ty(DType dtype, const Shape &shape) {
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
Tensor sample(DType dtype, const Shape &shape, uint64_t seed, bool specials = false) {
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
void compareTensors(const Tensor &jit, const Tensor &ref, bool exact, const std::string &what) {
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

/// Compiles @f of `text`, runs it and the interpreter on `args`, and compares every result.
void checkAgainstInterpreter(const std::string &text, const std::vector<Tensor> &args,
                             bool exact = false) {
  INFO("IR:\n" << text);
  auto module = parse(text);
  auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
  REQUIRE(func);
  std::vector<Tensor> expected = interp::run(func, args);
  auto jit = codegen::CpuJit::compile(*module, "f");
  if (!jit)
    FAIL(llvm::toString(jit.takeError()));
  std::vector<Tensor> actual = (*jit)->run(args);
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i)
    compareTensors(actual[i], expected[i], exact, "result " + std::to_string(i));
}

/// A function of one operation: `body` uses %a, %b, ... and defines %r of type `result`.
std::string makeFunction(const std::vector<std::string> &argTypes, const std::string &body,
                         const std::string &result) {
  std::string text = "func.func @f(";
  for (size_t i = 0; i < argTypes.size(); ++i)
    text += (i ? ", %" : "%") + std::string(1, char('a' + i)) + ": " + argTypes[i];
  return text + ") -> " + result + " {\n  " + body + "\n  return %r : " + result + "\n}\n";
}

const std::vector<DType> kFloatTypes = {DType::F32, DType::F64};
const std::vector<DType> kNumericTypes = {DType::F32, DType::F64, DType::I32, DType::I64};
const std::vector<DType> kAllTypes = {DType::F32, DType::F64, DType::I32, DType::I64,
                                      DType::Bool};

/// `op` applied to one operand of each dtype, on a matrix with edge values and on a scalar.
void checkUnary(const std::string &op, const std::vector<DType> &dtypes) {
  for (DType dtype : dtypes)
    for (const Shape &shape : {Shape{3, 5}, Shape{}}) {
      std::string t = ty(dtype, shape);
      checkAgainstInterpreter(makeFunction({t}, "%r = nnx." + op + " %a : " + t, t),
                              {sample(dtype, shape, 1, /*specials=*/true)});
    }
}

/// `op` applied to two operands of each dtype.
void checkBinary(const std::string &op, const std::vector<DType> &dtypes) {
  for (DType dtype : dtypes)
    for (const Shape &shape : {Shape{4, 6}, Shape{}}) {
      std::string t = ty(dtype, shape);
      checkAgainstInterpreter(makeFunction({t, t}, "%r = nnx." + op + " %a, %b : " + t, t),
                              {sample(dtype, shape, 2, true), sample(dtype, shape, 3)});
    }
}

//===----------------------------------------------------------------------===//
// IR text of the stage tests
//===----------------------------------------------------------------------===//

/// The stdlib Linear layer (x @ kernel + bias) followed by relu, as the front end emits it.
std::string linearRelu(int64_t batch, int64_t in, int64_t out, const std::string &name,
                       const std::string &x) {
  std::string k = ty(DType::F32, {in, out}), b = ty(DType::F32, {out});
  std::string y = ty(DType::F32, {batch, out});
  return "  %" + name + "_mm = nnx.matmul " + x + ", %" + name + "_k : " +
         ty(DType::F32, {batch, in}) + ", " + k + " -> " + y + "\n  %" + name +
         "_bb = nnx.broadcast_in_dim %" + name + "_b, dims = [1] : " + b + " -> " + y + "\n  %" +
         name + "_add = nnx.add %" + name + "_mm, %" + name + "_bb : " + y + "\n  %" + name +
         " = nnx.relu %" + name + "_add : " + y + "\n";
}

/// Occurrences of `needle` in `text`.
size_t countOf(const std::string &text, const std::string &needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
    ++count;
  return count;
}

/// The textual form of a module.
std::string printed(mlir::ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  return text;
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

TEST_CASE("codegen: unary float ops") {
  for (const char *op : {"neg", "abs", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu",
                         "gelu", "sin", "cos", "erf", "floor"})
    checkUnary(op, kFloatTypes);
}

TEST_CASE("codegen: unary integer and bool ops") {
  checkUnary("neg", {DType::I32, DType::I64});
  checkUnary("abs", {DType::I32, DType::I64});
  checkUnary("not", {DType::Bool});
}

TEST_CASE("codegen: binary arithmetic") {
  for (const char *op : {"add", "sub", "mul", "div", "rem", "max", "min"})
    checkBinary(op, kNumericTypes);
  checkBinary("pow", kFloatTypes);
  checkBinary("and", {DType::Bool});
  checkBinary("or", {DType::Bool});
}

TEST_CASE("codegen: integer division by zero and overflow") {
  const int32_t min32 = std::numeric_limits<int32_t>::min();
  const int64_t min64 = std::numeric_limits<int64_t>::min();
  std::string t32 = ty(DType::I32, {6}), t64 = ty(DType::I64, {6});
  checkAgainstInterpreter(makeFunction({t32, t32}, "%r = nnx.div %a, %b : " + t32, t32),
                          {values<int32_t>({6}, {min32, 7, -7, 5, 0, -9}),
                           values<int32_t>({6}, {-1, 0, 2, -2, 3, 4})});
  checkAgainstInterpreter(makeFunction({t64, t64}, "%r = nnx.div %a, %b : " + t64, t64),
                          {values<int64_t>({6}, {min64, 7, -7, 5, 0, -9}),
                           values<int64_t>({6}, {-1, 0, 2, -2, 3, 4})});
  // The remainder by zero and of MIN by -1 (both 0, where LLVM's srem would trap).
  checkAgainstInterpreter(makeFunction({t32, t32}, "%r = nnx.rem %a, %b : " + t32, t32),
                          {values<int32_t>({6}, {min32, 7, -7, 5, 0, -9}),
                           values<int32_t>({6}, {-1, 0, 2, -2, 3, 4})});
  checkAgainstInterpreter(makeFunction({t64, t64}, "%r = nnx.rem %a, %b : " + t64, t64),
                          {values<int64_t>({6}, {min64, 7, -7, 5, 0, -9}),
                           values<int64_t>({6}, {-1, 0, 2, -2, 3, 4})});
  // Wrap-around of add and mul.
  checkAgainstInterpreter(makeFunction({t32, t32}, "%r = nnx.mul %a, %b : " + t32, t32),
                          {values<int32_t>({6}, {min32, 1 << 20, -7, 65536, 0, 3}),
                           values<int32_t>({6}, {-1, 1 << 20, 2, 65536, 3, 4})});
}

TEST_CASE("codegen: comparisons") {
  for (const char *pred : {"eq", "ne", "lt", "le", "gt", "ge"})
    for (DType dtype : kNumericTypes) {
      std::string t = ty(dtype, {3, 4});
      std::string body = std::string("%r = nnx.cmp ") + pred + ", %a, %b : " + t;
      // Half of the second operand equals the first, so eq/le/ge are exercised.
      Tensor a = sample(dtype, {3, 4}, 4, true), b = sample(dtype, {3, 4}, 5).clone();
      std::memcpy(b.data<std::byte>(), a.data<std::byte>(), a.nbytes() / 2);
      checkAgainstInterpreter(makeFunction({t, t}, body, ty(DType::Bool, {3, 4})), {a, b});
    }
}

TEST_CASE("codegen: select") {
  for (DType dtype : kAllTypes)
    for (const Shape &shape : {Shape{2, 7}, Shape{}}) {
      std::string t = ty(dtype, shape), c = ty(DType::Bool, shape);
      checkAgainstInterpreter(makeFunction({c, t, t}, "%r = nnx.select %a, %b, %c : " + t, t),
                              {sample(DType::Bool, shape, 6), sample(dtype, shape, 7),
                               sample(dtype, shape, 8)});
    }
}

TEST_CASE("codegen: convert between every pair of dtypes") {
  for (DType from : kAllTypes)
    for (DType to : kAllTypes) {
      std::string a = ty(from, {2, 9}), r = ty(to, {2, 9});
      Tensor input = sample(from, {2, 9}, 9, true);
      if (rt::isFloat(from)) // Out-of-range values saturate; fractions truncate.
        for (auto [i, v] : llvm::enumerate(std::vector<double>{3e9, -3e9, 1e19, -1e19, -2.75}))
          input.set(8 + static_cast<int64_t>(i), v);
      checkAgainstInterpreter(makeFunction({a}, "%r = nnx.convert %a : " + a + " -> " + r, r),
                              {input});
    }
}

TEST_CASE("codegen: constants and iota") {
  std::string f = ty(DType::F32, {2, 2}), b = ty(DType::Bool, {3}), i = ty(DType::I64, {});
  std::string body = "%r = nnx.constant dense<[[1.5, -2.0], [0.25, 3.0]]> : " + f;
  checkAgainstInterpreter(makeFunction({}, body, f), {});
  std::string bools = "%r = nnx.constant dense<[true, false, true]> : " + b;
  checkAgainstInterpreter(makeFunction({}, bools, b), {});
  checkAgainstInterpreter(makeFunction({}, "%r = nnx.constant dense<-7> : " + i, i), {});
  std::string splat = ty(DType::F64, {3, 2});
  checkAgainstInterpreter(makeFunction({}, "%r = nnx.constant dense<2.5> : " + splat, splat), {});
  for (DType dtype : kNumericTypes)
    for (int dim : {0, 2}) {
      std::string t = ty(dtype, {2, 3, 4});
      checkAgainstInterpreter(
          makeFunction({}, "%r = nnx.iota dim = " + std::to_string(dim) + " : " + t, t), {});
    }
}

//===----------------------------------------------------------------------===//
// Broadcasts, reductions, softmax
//===----------------------------------------------------------------------===//

TEST_CASE("codegen: broadcast_in_dim") {
  struct Case {
    Shape from;
    std::string dims;
    Shape to;
  };
  const std::vector<Case> cases = {{{3}, "[1]", {2, 3}},       {{2}, "[0]", {2, 3}},
                                   {{2, 1}, "[0, 1]", {2, 3}}, {{}, "[]", {2, 3}},
                                   {{3, 1}, "[1, 2]", {2, 3, 4}}, {{1}, "[0]", {4}},
                                   {{1, 3}, "[0, 2]", {1, 5, 3}}};
  for (const Case &c : cases)
    for (DType dtype : {DType::F32, DType::I64, DType::Bool}) {
      std::string a = ty(dtype, c.from), r = ty(dtype, c.to);
      std::string body = "%r = nnx.broadcast_in_dim %a, dims = " + c.dims + " : " + a + " -> " + r;
      checkAgainstInterpreter(makeFunction({a}, body, r), {sample(dtype, c.from, 10)});
    }
}

TEST_CASE("codegen: reductions over several axes") {
  struct Case {
    std::string axes;
    Shape result;
  };
  const std::vector<Case> cases = {{"[0]", {3, 4}}, {"[1]", {2, 4}}, {"[2]", {2, 3}},
                                   {"[0, 2]", {3}}, {"[]", {2, 3, 4}}, {"[0, 1, 2]", {}}};
  for (const char *op : {"reduce_sum", "reduce_max", "reduce_min"})
    for (DType dtype : kNumericTypes)
      for (const Case &c : cases) {
        std::string a = ty(dtype, {2, 3, 4}), r = ty(dtype, c.result);
        std::string body = std::string("%r = nnx.") + op + " %a, axes = " + c.axes + " : " + a +
                           " -> " + r;
        checkAgainstInterpreter(makeFunction({a}, body, r), {sample(dtype, {2, 3, 4}, 11)});
      }
  // NaN propagates through max and min; -inf and +inf are the identities of empty lanes.
  std::string a = ty(DType::F32, {2, 4}), r = ty(DType::F32, {2}), e = ty(DType::F32, {0, 3});
  for (const char *op : {"reduce_max", "reduce_min"}) {
    std::string body = std::string("%r = nnx.") + op + " %a, axes = [1] : " + a + " -> " + r;
    checkAgainstInterpreter(makeFunction({a}, body, r), {sample(DType::F32, {2, 4}, 12, true)});
    std::string empty = std::string("%r = nnx.") + op + " %a, axes = [0] : " + e + " -> " +
                        ty(DType::F32, {3});
    checkAgainstInterpreter(makeFunction({e}, empty, ty(DType::F32, {3})),
                            {Tensor(DType::F32, {0, 3})});
  }
}

TEST_CASE("codegen: softmax and log_softmax") {
  for (const char *op : {"softmax", "log_softmax"})
    for (DType dtype : kFloatTypes)
      for (const Shape &shape : {Shape{4, 7}, Shape{2, 3, 5}})
        for (int64_t axis : {int64_t(0), static_cast<int64_t>(shape.size()) - 1}) {
          std::string t = ty(dtype, shape);
          std::string body = std::string("%r = nnx.") + op + " %a, axis = " +
                             std::to_string(axis) + " : " + t;
          Tensor x = sample(dtype, shape, 13);
          x.set(0, 80.0); // Large logits: only the max-shifted form stays finite.
          checkAgainstInterpreter(makeFunction({t}, body, t), {x});
        }
}

//===----------------------------------------------------------------------===//
// Shape ops
//===----------------------------------------------------------------------===//

TEST_CASE("codegen: reshape") {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3}, {3, 2}}, {{2, 3}, {6}},       {{6}, {2, 3}},   {{2, 3, 4}, {6, 4}},
      {{4, 6}, {2, 12}}, {{1}, {}},          {{}, {1, 1}},    {{2, 1, 3}, {3, 2}},
      {{24}, {2, 3, 4}}, {{2, 3, 4}, {4, 3, 2}}};
  for (const auto &[from, to] : cases)
    for (DType dtype : {DType::F32, DType::I32, DType::Bool}) {
      std::string a = ty(dtype, from), r = ty(dtype, to);
      checkAgainstInterpreter(makeFunction({a}, "%r = nnx.reshape %a : " + a + " -> " + r, r),
                              {sample(dtype, from, 14)});
    }
}

TEST_CASE("codegen: transpose") {
  const std::vector<std::tuple<Shape, std::string, Shape>> cases = {
      {{2, 3}, "[1, 0]", {3, 2}}, {{2, 3, 4}, "[2, 0, 1]", {4, 2, 3}},
      {{2, 3, 4}, "[0, 2, 1]", {2, 4, 3}}, {{5}, "[0]", {5}}};
  for (const auto &[from, perm, to] : cases)
    for (DType dtype : {DType::F64, DType::I64, DType::Bool}) {
      std::string a = ty(dtype, from), r = ty(dtype, to);
      std::string body = "%r = nnx.transpose %a, perm = " + perm + " : " + a + " -> " + r;
      checkAgainstInterpreter(makeFunction({a}, body, r), {sample(dtype, from, 15)});
    }
}

TEST_CASE("codegen: concat") {
  // The generic op syntax: the custom form `nnx.concat %a, %b, axis = 0` does not parse back
  // (the variadic operand list swallows the comma before `axis`).
  for (DType dtype : {DType::F32, DType::I32, DType::Bool}) {
    std::string a = ty(dtype, {2, 3}), b = ty(dtype, {1, 3}), c = ty(dtype, {4, 3});
    std::string body0 = "%r = \"nnx.concat\"(%a, %b, %c) {axis = 0 : i64} : (" + a + ", " + b +
                        ", " + c + ") -> " + ty(dtype, {7, 3});
    checkAgainstInterpreter(makeFunction({a, b, c}, body0, ty(dtype, {7, 3})),
                            {sample(dtype, {2, 3}, 16), sample(dtype, {1, 3}, 17),
                             sample(dtype, {4, 3}, 18)});
    std::string d = ty(dtype, {2, 5});
    std::string body1 = "%r = \"nnx.concat\"(%a, %b) {axis = 1 : i64} : (" + a + ", " + d +
                        ") -> " + ty(dtype, {2, 8});
    checkAgainstInterpreter(makeFunction({a, d}, body1, ty(dtype, {2, 8})),
                            {sample(dtype, {2, 3}, 19), sample(dtype, {2, 5}, 20)});
  }
  // Operands computed in the function (written into the concatenation in place).
  std::string v = ty(DType::F32, {3}), w = ty(DType::F32, {6});
  std::string body = "%0 = nnx.exp %a : " + v + "\n  %1 = nnx.neg %b : " + v +
                     "\n  %r = \"nnx.concat\"(%0, %1) {axis = 0 : i64} : (" + v + ", " + v +
                     ") -> " + w;
  checkAgainstInterpreter(makeFunction({v, v}, body, w),
                          {sample(DType::F32, {3}, 21), sample(DType::F32, {3}, 22)});
}

TEST_CASE("codegen: slice with strides") {
  struct Case {
    Shape from;
    std::string bounds;
    Shape to;
  };
  const std::vector<Case> cases = {
      {{6, 4}, "[[1, 0] : [5, 3] : [2, 1]]", {2, 3}},
      {{6, 4}, "[[0, 1] : [6, 4] : [3, 2]]", {2, 2}},
      {{3, 4, 5}, "[[1, 0, 2] : [3, 4, 5] : [1, 2, 2]]", {2, 2, 2}},
      {{7}, "[[2] : [7] : [1]]", {5}},
      {{7}, "[[3] : [3] : [1]]", {0}}};
  for (const Case &c : cases)
    for (DType dtype : {DType::F32, DType::I64, DType::Bool}) {
      std::string a = ty(dtype, c.from), r = ty(dtype, c.to);
      std::string body = "%r = nnx.slice %a" + c.bounds + " : " + a + " -> " + r;
      checkAgainstInterpreter(makeFunction({a}, body, r), {sample(dtype, c.from, 23)});
    }
}

TEST_CASE("codegen: pad with low, high and interior zeros") {
  struct Case {
    Shape from;
    std::string padding;
    Shape to;
  };
  const std::vector<Case> cases = {
      {{2, 3}, "low [1, 0] high [0, 2] interior [1, 2]", {4, 9}},
      {{3}, "low [0] high [0] interior [0]", {3}},
      {{2, 2, 2}, "low [0, 1, 2] high [1, 0, 0] interior [2, 0, 1]", {5, 3, 5}},
      {{0}, "low [2] high [1] interior [3]", {3}},
      {{}, "low [] high [] interior []", {}}};
  for (const Case &c : cases)
    for (DType dtype : {DType::F32, DType::I64, DType::Bool}) {
      std::string a = ty(dtype, c.from), r = ty(dtype, c.to);
      std::string body = "%r = nnx.pad %a " + c.padding + " : " + a + " -> " + r;
      checkAgainstInterpreter(makeFunction({a}, body, r), {sample(dtype, c.from, 24)}, true);
    }
}

//===----------------------------------------------------------------------===//
// Matmul
//===----------------------------------------------------------------------===//

TEST_CASE("codegen: matmul of rank 2, 3 and 4, shared and batched") {
  const std::vector<std::tuple<Shape, Shape, Shape>> cases = {
      {{4, 5}, {5, 3}, {4, 3}},          {{1, 7}, {7, 1}, {1, 1}},
      {{2, 4, 5}, {5, 3}, {2, 4, 3}},    {{2, 4, 5}, {2, 5, 3}, {2, 4, 3}},
      {{2, 3, 4, 5}, {5, 6}, {2, 3, 4, 6}}, {{2, 3, 4, 5}, {2, 3, 5, 6}, {2, 3, 4, 6}},
      {{3, 0}, {0, 2}, {3, 2}}};
  for (const auto &[lhs, rhs, out] : cases)
    for (DType dtype : kFloatTypes) {
      std::string a = ty(dtype, lhs), b = ty(dtype, rhs), r = ty(dtype, out);
      std::string body = "%r = nnx.matmul %a, %b : " + a + ", " + b + " -> " + r;
      checkAgainstInterpreter(makeFunction({a, b}, body, r),
                              {sample(dtype, lhs, 24), sample(dtype, rhs, 25)});
    }
}

/// `transpose(x)` of its last two dims, as IR text: the perm and the transposed type.
std::pair<std::string, Shape> swapLastTwo(const Shape &shape) {
  Shape swapped = shape;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  std::string perm;
  for (size_t d = 0; d < shape.size(); ++d) {
    size_t from = d + 2 < shape.size() ? d : (d + 2 == shape.size() ? d + 1 : d - 1);
    perm += (d ? ", " : "") + std::to_string(from);
  }
  return {perm, swapped};
}

/// op(A) @ op(B) for [batch..., M, K] x [batch..., K, N], with A and/or B given transposed
/// (autodiff's forms, lowered to matmul_transpose_a / _b), against the interpreter.
void checkGemm(const Shape &batch, int64_t m, int64_t k, int64_t n, bool transA, bool transB) {
  Shape a = batch, b = batch, r = batch;
  a.insert(a.end(), {m, k});
  b.insert(b.end(), {k, n});
  r.insert(r.end(), {m, n});
  auto [permA, storedA] = transA ? swapLastTwo(a) : std::make_pair(std::string(), a);
  auto [permB, storedB] = transB ? swapLastTwo(b) : std::make_pair(std::string(), b);
  std::string body, lhs = "%a", rhs = "%b";
  if (transA) {
    body += "%ta = nnx.transpose %a, perm = [" + permA + "] : " + ty(DType::F32, storedA) +
            " -> " + ty(DType::F32, a) + "\n  ";
    lhs = "%ta";
  }
  if (transB) {
    body += "%tb = nnx.transpose %b, perm = [" + permB + "] : " + ty(DType::F32, storedB) +
            " -> " + ty(DType::F32, b) + "\n  ";
    rhs = "%tb";
  }
  body += "%r = nnx.matmul " + lhs + ", " + rhs + " : " + ty(DType::F32, a) + ", " +
          ty(DType::F32, b) + " -> " + ty(DType::F32, r);
  INFO("batch " << batch.size() << ", M " << m << ", K " << k << ", N " << n << ", transA "
                << transA << ", transB " << transB);
  checkAgainstInterpreter(
      makeFunction({ty(DType::F32, storedA), ty(DType::F32, storedB)}, body,
                   ty(DType::F32, r)),
      {sample(DType::F32, storedA, 31), sample(DType::F32, storedB, 32)});
}

TEST_CASE("codegen: the GEMM schedule at odd and prime sizes, each blocking") {
  // The host's blocking at the issue's odd sizes (1, 3, 10, 17, 784, 1000), then blockings
  // small enough that every loop of the schedule runs several blocks with edges (M, K and N
  // cross mc, kc and nc), in the AVX2 (6 x 16) and AVX-512 (8 x 32) register tiles.
  struct Blocking {
    const char *options;
    std::vector<std::tuple<int64_t, int64_t, int64_t>> sizes;
  };
  const std::vector<Blocking> blockings = {
      {"", {{1, 784, 1000}, {3, 10, 17}, {17, 784, 10}, {10, 1000, 17}, {784, 17, 10},
            {17, 784, 1000}, {1000, 17, 784}, {128, 784, 256}}},
      {"vector-width=8 mr=6 nr=16 mc=12 kc=16 nc=32", {{37, 50, 70}, {6, 16, 16}, {13, 17, 33}}},
      {"vector-width=16 mr=8 nr=32 mc=16 kc=16 nc=64", {{37, 50, 70}, {8, 8, 32}, {41, 97, 131}}},
  };
  for (const Blocking &blocking : blockings) {
    INFO("NNX_GEMM_BLOCKING=" << blocking.options);
    ::setenv("NNX_GEMM_BLOCKING", blocking.options, 1);
    for (const auto &[m, k, n] : blocking.sizes)
      for (int form = 0; form < 3; ++form)
        checkGemm({}, m, k, n, form == 1, form == 2);
    checkGemm({3}, 19, 40, 21, false, false);
    checkGemm({2, 2}, 19, 40, 21, true, false);
    checkGemm({3}, 19, 40, 21, false, true);
  }
  ::unsetenv("NNX_GEMM_BLOCKING");
}

TEST_CASE("codegen: the kernel library knows its kernels by name") {
  nnx::codegen::GemmBlocking blocking{16, 8, 32, 64, 128, 256};
  std::string name = nnx::codegen::getGemmKernelName(blocking, true);
  CHECK(name == "nnx_sgemm_8x32_v16_64_128_256_mt");
  auto parsed = nnx::codegen::parseGemmKernelName(name);
  REQUIRE(parsed);
  CHECK(parsed->first.kc == 128);
  CHECK(parsed->second);
  CHECK_FALSE(nnx::codegen::parseGemmKernelName("nnx_sgemm_6x20_v8_144_256_3072"));
  CHECK_FALSE(nnx::codegen::parseGemmKernelName("nnx_sgemm_6x16_v8_144_256"));
  CHECK_FALSE(nnx::codegen::parseGemmKernelName("memcpy"));
  auto missing = nnx::codegen::getKernelAddress("nnx_sgemm_bogus");
  REQUIRE_FALSE(static_cast<bool>(missing));
  CHECK(llvm::toString(missing.takeError()).find("not a kernel") != std::string::npos);
  auto found = nnx::codegen::getKernelAddress("nnx_sgemm_6x16_v8_144_256_3072");
  REQUIRE_MESSAGE(static_cast<bool>(found), llvm::toString(found.takeError()));
  CHECK(*found != nullptr);
}

TEST_CASE("codegen: GEMM results are bit-identical for 1 and 2 threads") {
  // Threads split the column panels of C (and the packing), never a sum: the results must not
  // differ by a bit. Sizes with edges in every dimension, transposed operands, batches.
  const std::vector<std::tuple<Shape, Shape, Shape>> cases = {
      {{257, 301}, {301, 190}, {257, 190}}, {{2, 97, 130}, {2, 130, 75}, {2, 97, 75}}};
  int before = nnx::codegen::threadCount();
  {
    // Large elementwise work (nnx-parallelize-elementwise) is split over threads too: an
    // exp over 600 x 500 points, then its product, must not change either.
    std::string t = ty(DType::F32, {600, 500}), k = ty(DType::F32, {500, 90}),
                r = ty(DType::F32, {600, 90});
    auto module = parse(makeFunction(
        {t, k}, "%e = nnx.exp %a : " + t + "\n  %r = nnx.matmul %e, %b : " + t + ", " + k +
                    " -> " + r, r));
    REQUIRE(module);
    auto jit = nnx::codegen::CpuJit::compile(*module, "f");
    REQUIRE_MESSAGE(static_cast<bool>(jit), llvm::toString(jit.takeError()));
    std::vector<Tensor> args = {sample(DType::F32, {600, 500}, 43),
                                sample(DType::F32, {500, 90}, 44)};
    nnx::codegen::setThreadCount(1);
    Tensor one = (*jit)->run(args)[0];
    nnx::codegen::setThreadCount(2);
    Tensor two = (*jit)->run(args)[0];
    CHECK(std::memcmp(one.data<float>(), two.data<float>(), one.numel() * sizeof(float)) == 0);
  }
  for (const auto &[lhs, rhs, out] : cases) {
    std::string a = ty(DType::F32, lhs), b = ty(DType::F32, rhs), r = ty(DType::F32, out);
    auto module = parse(makeFunction({a, b}, "%r = nnx.matmul %a, %b : " + a + ", " + b +
                                                 " -> " + r, r));
    REQUIRE(module);
    auto jit = nnx::codegen::CpuJit::compile(*module, "f");
    REQUIRE_MESSAGE(static_cast<bool>(jit), llvm::toString(jit.takeError()));
    std::vector<Tensor> args = {sample(DType::F32, lhs, 41), sample(DType::F32, rhs, 42)};
    nnx::codegen::setThreadCount(1);
    Tensor one = (*jit)->run(args)[0];
    nnx::codegen::setThreadCount(2);
    Tensor two = (*jit)->run(args)[0];
    CHECK(std::memcmp(one.data<float>(), two.data<float>(), one.numel() * sizeof(float)) == 0);
  }
  nnx::codegen::setThreadCount(before);
}

/// The distance in units in the last place between two f32 values (0 for equal values and
/// for two NaNs; the integer distance of their bit patterns on the ordered number line).
int64_t ulpDistance(float a, float b) {
  if ((std::isnan(a) && std::isnan(b)) || a == b)
    return 0;
  if (std::isnan(a) || std::isnan(b))
    return std::numeric_limits<int64_t>::max();
  auto ordered = [](float f) {
    int32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    return bits < 0 ? -int64_t(bits & 0x7fffffff) : int64_t(bits);
  };
  return std::llabs(ordered(a) - ordered(b));
}

TEST_CASE("codegen: exp, log and tanh approximations stay within their ulp bounds") {
  // nnx-math-approximation's polynomials against glibc (the interpreter), on 200k inputs per
  // function spread over the whole f32 range, subnormal results and inputs included, and the
  // specials. The bounds are the ones docs/architecture.md states.
  Lcg lcg(2026);
  auto sweep = [&](double lo, double hi, bool exponential) {
    std::vector<float> x;
    for (int i = 0; i < 200000; ++i) {
      double u = lcg.uniform(lo, hi);
      x.push_back(static_cast<float>(exponential ? std::exp(u) : u));
    }
    for (float special : {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(), 1e-45f, 1e-40f, -1.0f})
      x.push_back(special);
    return x;
  };
  struct Case {
    std::string op;
    std::vector<float> inputs;
    int64_t bound;
  };
  std::vector<Case> cases = {{"exp", sweep(-110.0, 89.0, false), 5},
                             {"log", sweep(-103.9, 88.7, true), 1},
                             {"tanh", sweep(-12.0, 12.0, false), 5}};
  for (const Case &c : cases) {
    INFO(c.op);
    Shape shape = {static_cast<int64_t>(c.inputs.size())};
    std::string t = ty(DType::F32, shape);
    auto module = parse(makeFunction({t}, "%r = nnx." + c.op + " %a : " + t, t));
    REQUIRE(module);
    auto func = module->lookupSymbol<mlir::func::FuncOp>("f");
    Tensor x = values<float>(shape, c.inputs);
    Tensor expected = interp::run(func, {x})[0];
    auto jit = codegen::CpuJit::compile(*module, "f");
    REQUIRE_MESSAGE(static_cast<bool>(jit), llvm::toString(jit.takeError()));
    Tensor actual = (*jit)->run({x})[0];
    int64_t worst = 0;
    float at = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t d = ulpDistance(actual.data<float>()[i], expected.data<float>()[i]);
      if (d > worst) {
        worst = d;
        at = x.data<float>()[i];
      }
    }
    INFO("worst " << worst << " ulp at x = " << at);
    CHECK(worst <= c.bound);
  }
}

//===----------------------------------------------------------------------===//
// Random draws
//===----------------------------------------------------------------------===//

TEST_CASE("codegen: random draws are bit-exact") {
  std::string k = ty(DType::I32, {2}), c = ty(DType::I32, {});
  Tensor key = values<int32_t>({2}, {static_cast<int32_t>(0x97d0552fu), 0x51bf719f});
  for (const char *op : {"random_uniform", "random_normal"})
    for (DType dtype : kFloatTypes)
      for (const Shape &shape : {Shape{3, 5}, Shape{}, Shape{64}})
        for (int32_t counter : {0, 7, -1}) {
          std::string r = ty(dtype, shape);
          std::string body = std::string("%r = nnx.") + op + " %a, %b : " + k + ", " + c +
                             " -> " + r;
          checkAgainstInterpreter(makeFunction({k, c}, body, r),
                                  {key, values<int32_t>({}, {counter})}, /*exact=*/true);
        }
}

TEST_CASE("codegen: gather along each axis, clamped indices, every dtype") {
  for (DType dtype : {DType::F32, DType::I64, DType::Bool})
    for (int64_t axis : {0, 1, 2}) {
      Shape in{3, 4, 5};
      Shape out(in.begin(), in.begin() + axis);
      out.insert(out.end(), {2, 3});
      out.insert(out.end(), in.begin() + axis + 1, in.end());
      std::string t = ty(dtype, in), i = ty(DType::I32, {2, 3}), r = ty(dtype, out);
      checkAgainstInterpreter(
          makeFunction({t, i}, "%r = nnx.gather %a[%b] axis = " + std::to_string(axis) + " : " +
                                   t + ", " + i + " -> " + r,
                       r),
          {sample(dtype, in, 30), values<int32_t>({2, 3}, {0, 2, -5, 1, 9, 2})}, /*exact=*/true);
    }
}

TEST_CASE("codegen: reverse along one and several dimensions, every dtype") {
  for (DType dtype : {DType::F32, DType::I64, DType::Bool})
    for (const char *dims : {"[0]", "[1]", "[0, 2]"}) {
      std::string t = ty(dtype, {2, 3, 4});
      checkAgainstInterpreter(makeFunction({t}, std::string("%r = nnx.reverse %a, dims = ") +
                                                     dims + " : " + t,
                                           t),
                              {sample(dtype, {2, 3, 4}, 29)}, /*exact=*/true);
    }
}

//===----------------------------------------------------------------------===//
// Scans: one scf.for
//===----------------------------------------------------------------------===//

namespace {

/// A recurrent step with a carry, a scanned operand, a constant and two stacked outputs (one
/// integer), `length` steps, optionally in reverse.
std::string scanFunction(int64_t length, bool reverse) {
  std::string n = std::to_string(length);
  return "func.func @f(%h0: tensor<2x3xf32>, %xs: tensor<" + n + "x2x3xf32>, %w: tensor<3x3xf32>, "
         "%c0: tensor<i32>) -> (tensor<2x3xf32>, tensor<i32>, tensor<" + n + "x2x3xf32>, tensor<" +
         n + "xi32>) {\n"
         "  %r:4 = nnx.scan length = " + n + (reverse ? " reverse" : "") +
         " init(%h0, %c0 : tensor<2x3xf32>, tensor<i32>) xs(%xs : tensor<" + n + "x2x3xf32>) "
         "consts(%w : tensor<3x3xf32>) {\n"
         "  ^bb0(%h: tensor<2x3xf32>, %c: tensor<i32>, %x: tensor<2x3xf32>, %k: tensor<3x3xf32>):\n"
         "    %m = nnx.matmul %h, %k : tensor<2x3xf32>, tensor<3x3xf32> -> tensor<2x3xf32>\n"
         "    %s = nnx.add %m, %x : tensor<2x3xf32>\n"
         "    %t = nnx.tanh %s : tensor<2x3xf32>\n"
         "    %one = nnx.constant dense<1> : tensor<i32>\n"
         "    %d = nnx.add %c, %one : tensor<i32>\n"
         "    nnx.yield %t, %d, %s, %c : tensor<2x3xf32>, tensor<i32>, tensor<2x3xf32>, tensor<i32>\n"
         "  } -> tensor<2x3xf32>, tensor<i32>, tensor<" + n + "x2x3xf32>, tensor<" + n + "xi32>\n"
         "  return %r#0, %r#1, %r#2, %r#3 : tensor<2x3xf32>, tensor<i32>, tensor<" + n +
         "x2x3xf32>, tensor<" + n + "xi32>\n}\n";
}

} // namespace

TEST_CASE("codegen: scan forwards and in reverse, at lengths 0, 1, 7 and 100") {
  for (int64_t length : {0, 1, 7, 100})
    for (bool reverse : {false, true}) {
      INFO("length " << length << (reverse ? ", reverse" : ""));
      checkAgainstInterpreter(scanFunction(length, reverse),
                              {sample(DType::F32, {2, 3}, 31),
                               sample(DType::F32, {length, 2, 3}, 32),
                               sample(DType::F32, {3, 3}, 33), values<int32_t>({}, {5})});
    }
}

TEST_CASE("codegen: nested scans, a scan without carries, random draws in a scan") {
  std::string text = R"(
func.func @f(%xs: tensor<3x4x2xf32>, %key: tensor<2xi32>, %n: tensor<i32>) -> (tensor<3x2xf32>, tensor<3x4x2xf32>, tensor<i32>) {
  %r:3 = nnx.scan length = 3 init(%n : tensor<i32>) xs(%xs : tensor<3x4x2xf32>) consts(%key : tensor<2xi32>) {
  ^bb0(%count: tensor<i32>, %x: tensor<4x2xf32>, %k: tensor<2xi32>):
    %z = nnx.constant dense<0.0> : tensor<2xf32>
    %in = nnx.scan length = 4 reverse init(%z : tensor<2xf32>) xs(%x : tensor<4x2xf32>) {
    ^bb0(%acc: tensor<2xf32>, %row: tensor<2xf32>):
      %p = nnx.mul %acc, %row : tensor<2xf32>
      %q = nnx.add %p, %row : tensor<2xf32>
      nnx.yield %q : tensor<2xf32>
    } -> tensor<2xf32>
    %u = nnx.random_uniform %k, %count : tensor<2xi32>, tensor<i32> -> tensor<4x2xf32>
    %one = nnx.constant dense<1> : tensor<i32>
    %next = nnx.add %count, %one : tensor<i32>
    nnx.yield %next, %in, %u : tensor<i32>, tensor<2xf32>, tensor<4x2xf32>
  } -> tensor<i32>, tensor<3x2xf32>, tensor<3x4x2xf32>
  %only = nnx.scan length = 3 xs(%r#1 : tensor<3x2xf32>) {
  ^bb0(%v: tensor<2xf32>):
    %e = nnx.exp %v : tensor<2xf32>
    nnx.yield %e : tensor<2xf32>
  } -> tensor<3x2xf32>
  return %only, %r#2, %r#0 : tensor<3x2xf32>, tensor<3x4x2xf32>, tensor<i32>
})";
  checkAgainstInterpreter(text, {sample(DType::F32, {3, 4, 2}, 34), values<int32_t>({2}, {9, 10}),
                                 values<int32_t>({}, {0})});
}

TEST_CASE("codegen: a scan is one loop on linalg, whatever its length") {
  for (int64_t length : {5, 1000}) {
    auto module = parse(scanFunction(length, false));
    REQUIRE(mlir::succeeded(codegen::lowerToLinalg(*module)));
    std::string text = printed(*module);
    CHECK(countOf(text, "scf.for") == 1);
    CHECK(countOf(text, "linalg.matmul") == 1);
    CHECK(countOf(text, "tensor.insert_slice") == 2);
  }
}

//===----------------------------------------------------------------------===//
// Functions: results, aliasing, calling convention
//===----------------------------------------------------------------------===//

TEST_CASE("codegen: functions returning arguments, constants and several results") {
  std::string t = ty(DType::F32, {2, 3});
  checkAgainstInterpreter("func.func @f(%a: " + t + ") -> " + t + " {\n  return %a : " + t +
                              "\n}\n",
                          {sample(DType::F32, {2, 3}, 26)});
  std::string s = ty(DType::I32, {});
  // The same value twice, an argument and a constant among the results.
  std::string results = t + ", " + s + ", " + t + ", " + t;
  checkAgainstInterpreter("func.func @f(%a: " + s + ", %b: " + t + ") -> (" + results +
                              ") {\n  %0 = nnx.exp %b : " + t +
                              "\n  %1 = nnx.constant dense<1.0> : " + t +
                              "\n  return %0, %a, %0, %1 : " + results + "\n}\n",
                          {values<int32_t>({}, {42}), sample(DType::F32, {2, 3}, 27)});
  // A result that is a view of an argument: strided slice and reshape.
  std::string m = ty(DType::F32, {4, 4}), h = ty(DType::F32, {2, 4}), v = ty(DType::F32, {16});
  checkAgainstInterpreter("func.func @f(%a: " + m + ") -> (" + h + ", " + v +
                              ") {\n  %0 = nnx.slice %a[[0, 0] : [4, 4] : [2, 1]] : " + m +
                              " -> " + h + "\n  %1 = nnx.reshape %a : " + m + " -> " + v +
                              "\n  return %0, %1 : " + h + ", " + v + "\n}\n",
                          {sample(DType::F32, {4, 4}, 28)});
}

TEST_CASE("codegen: one function of several, with a dotted name") {
  std::string t = ty(DType::F32, {3});
  std::string text = "func.func @\"Block.__call__\"(%a: " + t + ") -> " + t +
                     " {\n  %r = nnx.tanh %a : " + t + "\n  return %r : " + t +
                     "\n}\nfunc.func @other(%a: " + t + ") -> " + t +
                     " {\n  %r = nnx.neg %a : " + t + "\n  return %r : " + t + "\n}\n";
  auto module = parse(text);
  auto jit = codegen::CpuJit::compile(*module, "Block.__call__");
  if (!jit)
    FAIL(llvm::toString(jit.takeError()));
  Tensor x = sample(DType::F32, {3}, 40);
  auto func = module->lookupSymbol<mlir::func::FuncOp>("Block.__call__");
  compareTensors((*jit)->run({x})[0], interp::run(func, {x})[0], false, "Block.__call__");
  // The module itself is untouched: both functions are still nnx.
  CHECK(countOf(printed(*module), "nnx.tanh") == 1);
  CHECK(countOf(printed(*module), "nnx.neg") == 1);
}

TEST_CASE("codegen: inputs are never written") {
  std::string t = ty(DType::F32, {8});
  auto module = parse(makeFunction({t}, "%r = nnx.exp %a : " + t, t));
  auto jit = codegen::CpuJit::compile(*module, "f");
  REQUIRE(static_cast<bool>(jit));
  Tensor input = sample(DType::F32, {8}, 29), copy = input.clone();
  (*jit)->run({input});
  compareTensors(input, copy, /*exact=*/true, "input after the call");
}

TEST_CASE("codegen: concurrent calls") {
  std::string t = ty(DType::F32, {64, 64});
  auto module = parse(makeFunction({t, t}, "%r = nnx.matmul %a, %b : " + t + ", " + t + " -> " + t,
                                   t));
  auto jit = codegen::CpuJit::compile(*module, "f");
  REQUIRE(static_cast<bool>(jit));
  Tensor a = sample(DType::F32, {64, 64}, 30), b = sample(DType::F32, {64, 64}, 31);
  Tensor expected = (*jit)->run({a, b})[0];
  std::vector<Tensor> outputs(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < outputs.size(); ++i)
    threads.emplace_back([&, i] { outputs[i] = (*jit)->run({a, b})[0]; });
  for (std::thread &thread : threads)
    thread.join();
  for (const Tensor &out : outputs)
    compareTensors(out, expected, /*exact=*/true, "concurrent result");
}

/// The module of `text` with its function @loss replaced by the nnx-grad pass's @loss_grad,
/// renamed @f, in the generic op syntax (which always parses back).
std::string gradientAsF(const std::string &text) {
  auto module = parse(text);
  mlir::PassManager pm(&context());
  pm.addPass(ir::createGradPass());
  REQUIRE(mlir::succeeded(pm.run(*module)));
  module->lookupSymbol<mlir::func::FuncOp>("loss").erase();
  module->lookupSymbol<mlir::func::FuncOp>("loss_grad").setSymName("f");
  std::string out;
  llvm::raw_string_ostream os(out);
  module->print(os, mlir::OpPrintingFlags().printGenericOpForm());
  return out;
}

TEST_CASE("codegen: gradient functions of nnx-grad match the interpreter") {
  // The backward ops of autodiff (ir/Autodiff.h) through the JIT: an MLP with softmax
  // cross-entropy, and a function whose adjoints need pad (a strided slice's), a split
  // reduce_max, a batched matmul and softmax.
  std::string mlp = R"(
func.func @loss(%x: tensor<4x5xf32>, %w1: tensor<5x6xf32>, %b1: tensor<6xf32>,
                %w2: tensor<6x3xf32>, %labels: tensor<4xi32>) -> tensor<f32>
    attributes {nnx.differentiate} {
  %0 = nnx.matmul %x, %w1 : tensor<4x5xf32>, tensor<5x6xf32> -> tensor<4x6xf32>
  %1 = nnx.broadcast_in_dim %b1, dims = [1] : tensor<6xf32> -> tensor<4x6xf32>
  %2 = nnx.add %0, %1 : tensor<4x6xf32>
  %h = nnx.relu %2 : tensor<4x6xf32>
  %logits = nnx.matmul %h, %w2 : tensor<4x6xf32>, tensor<6x3xf32> -> tensor<4x3xf32>
  %logp = nnx.log_softmax %logits, axis = 1 : tensor<4x3xf32>
  %classes = nnx.iota dim = 1 : tensor<4x3xi32>
  %lb = nnx.broadcast_in_dim %labels, dims = [0] : tensor<4xi32> -> tensor<4x3xi32>
  %hit = nnx.cmp eq, %classes, %lb : tensor<4x3xi32>
  %onehot = nnx.convert %hit : tensor<4x3xi1> -> tensor<4x3xf32>
  %3 = nnx.mul %onehot, %logp : tensor<4x3xf32>
  %4 = nnx.reduce_sum %3, axes = [0, 1] : tensor<4x3xf32> -> tensor<f32>
  %scale = nnx.constant dense<-2.500000e-01> : tensor<f32>
  %5 = nnx.mul %4, %scale : tensor<f32>
  return %5 : tensor<f32>
})";
  checkAgainstInterpreter(gradientAsF(mlp),
                          {sample(DType::F32, {4, 5}, 40), sample(DType::F32, {5, 6}, 41),
                           sample(DType::F32, {6}, 42), sample(DType::F32, {6, 3}, 43),
                           values<int32_t>({4}, {2, 0, 1, 2})});
  std::string shapes = R"(
func.func @loss(%a: tensor<2x6x4xf32>, %b: tensor<2x4x3xf32>) -> tensor<f32>
    attributes {nnx.differentiate} {
  %0 = nnx.slice %a[[0, 1, 0] : [2, 6, 4] : [1, 2, 1]] : tensor<2x6x4xf32> -> tensor<2x3x4xf32>
  %1 = nnx.matmul %0, %b : tensor<2x3x4xf32>, tensor<2x4x3xf32> -> tensor<2x3x3xf32>
  %2 = nnx.softmax %1, axis = 2 : tensor<2x3x3xf32>
  %3 = nnx.reduce_max %2, axes = [1] : tensor<2x3x3xf32> -> tensor<2x3xf32>
  %4 = nnx.reduce_sum %3, axes = [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %4 : tensor<f32>
})";
  checkAgainstInterpreter(gradientAsF(shapes),
                          {sample(DType::F32, {2, 6, 4}, 44), sample(DType::F32, {2, 4, 3}, 45)});
}

TEST_CASE("codegen: errors are reported, not crashes") {
  std::string t = ty(DType::F32, {2});
  auto module = parse(makeFunction({t}, "%r = nnx.neg %a : " + t, t));
  auto missing = codegen::CpuJit::compile(*module, "g");
  REQUIRE_FALSE(static_cast<bool>(missing));
  CHECK(llvm::toString(missing.takeError()).find("no function named 'g'") != std::string::npos);
  auto jit = codegen::CpuJit::compile(*module, "f");
  REQUIRE(static_cast<bool>(jit));
  CHECK_THROWS_AS((*jit)->run({Tensor(DType::F32, {3})}), std::invalid_argument);
  CHECK_THROWS_AS((*jit)->run({}), std::invalid_argument);
  // Dynamic shapes are not lowered: compile() refuses the signature, lowerToLinalg fails
  // with a diagnostic on the op.
  std::string d = "tensor<?x3xf32>";
  auto dynamic = parse(makeFunction({d}, "%r = nnx.neg %a : " + d, d));
  auto refused = codegen::CpuJit::compile(*dynamic, "f");
  REQUIRE_FALSE(static_cast<bool>(refused));
  CHECK(llvm::toString(refused.takeError()).find("not a static tensor") != std::string::npos);
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context(), [&](mlir::Diagnostic &diagnostic) {
    diagnostics += diagnostic.str() + "\n";
    return mlir::success();
  });
  CHECK(mlir::failed(codegen::lowerToLinalg(*dynamic)));
  CHECK(diagnostics.find("failed to legalize operation 'nnx.neg'") != std::string::npos);
}

//===----------------------------------------------------------------------===//
// Stages: linalg fusion, LLVM IR, compile time
//===----------------------------------------------------------------------===//

TEST_CASE("codegen: Linear + bias + relu fuses into matmul and one generic") {
  std::string x = ty(DType::F32, {4, 8}), k = ty(DType::F32, {8, 3}), b = ty(DType::F32, {3});
  std::string y = ty(DType::F32, {4, 3});
  std::string text = "func.func @f(%x: " + x + ", %l_k: " + k + ", %l_b: " + b + ") -> " + y +
                     " {\n" + linearRelu(4, 8, 3, "l", "%x") + "  return %l : " + y + "\n}\n";
  auto module = parse(text);
  REQUIRE(mlir::succeeded(codegen::lowerToLinalg(*module)));
  std::string linalg = printed(*module);
  INFO(linalg);
  CHECK(countOf(linalg, "nnx.") == 0);
  CHECK(countOf(linalg, "linalg.matmul") == 1);
  CHECK(countOf(linalg, "linalg.generic") == 1);
  CHECK(linalg.find("linalg.matmul") < linalg.find("linalg.generic"));
  CHECK(countOf(linalg, "linalg.fill") == 1);
  checkAgainstInterpreter(text, {sample(DType::F32, {4, 8}, 32), sample(DType::F32, {8, 3}, 33),
                                 sample(DType::F32, {3}, 34)});
}

TEST_CASE("codegen: the LLVM stage defines the function and its C interface") {
  std::string t = ty(DType::F32, {2, 2});
  auto module = parse(makeFunction({t, t}, "%r = nnx.add %a, %b : " + t, t));
  REQUIRE(mlir::succeeded(codegen::lowerToLinalg(*module)));
  REQUIRE(mlir::succeeded(codegen::lowerToLLVMDialect(*module)));
  std::string llvmIR = codegen::translateToLLVMIR(*module);
  CHECK(llvmIR.find("define void @f(") != std::string::npos);
  CHECK(llvmIR.find("define void @_mlir_ciface_f(") != std::string::npos);
  // The sum is computed in the caller's out-param: no allocation, no final copy.
  CHECK(llvmIR.find("@malloc") == std::string::npos);
  CHECK(llvmIR.find("memcpy") == std::string::npos);
}

TEST_CASE("codegen: 784-256-10 MLP forward compiles and matches") {
  const int64_t batch = 16;
  std::string x = ty(DType::F32, {batch, 784}), h = ty(DType::F32, {batch, 256});
  std::string y = ty(DType::F32, {batch, 10});
  std::string k1 = ty(DType::F32, {784, 256}), b1 = ty(DType::F32, {256});
  std::string k2 = ty(DType::F32, {256, 10}), b2 = ty(DType::F32, {10});
  std::string text = "func.func @f(%x: " + x + ", %l1_k: " + k1 + ", %l1_b: " + b1 +
                     ", %l2_k: " + k2 + ", %l2_b: " + b2 + ") -> " + y + " {\n" +
                     linearRelu(batch, 784, 256, "l1", "%x") +
                     "  %o_mm = nnx.matmul %l1, %l2_k : " + h + ", " + k2 + " -> " + y +
                     "\n  %o_bb = nnx.broadcast_in_dim %l2_b, dims = [1] : " + b2 + " -> " + y +
                     "\n  %o = nnx.add %o_mm, %o_bb : " + y + "\n  return %o : " + y + "\n}\n";
  auto module = parse(text);
  auto jit = codegen::CpuJit::compile(*module, "f");
  if (!jit)
    FAIL(llvm::toString(jit.takeError()));
  MESSAGE("784-256-10 forward (batch " << batch << "): lower " << (*jit)->lowerMillis()
                                       << " ms, LLVM " << (*jit)->llvmMillis() << " ms");
  checkAgainstInterpreter(text, {sample(DType::F32, {batch, 784}, 35),
                                 sample(DType::F32, {784, 256}, 36), sample(DType::F32, {256}, 37),
                                 sample(DType::F32, {256, 10}, 38), sample(DType::F32, {10}, 39)});
}
