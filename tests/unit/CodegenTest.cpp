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
// Fixtures are in CodegenTestSupport.h; the GEMM kernel and the approximations are tested in
// GemmCodegenTest.cpp.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/CodegenTestSupport.h"

#include "codegen/CpuJit.h"
#include "codegen/Pipeline.h"
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
using namespace nnx::codegentest;

namespace {

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
          // On the GPU (no libm), normal draws' f32 log and cos (f64 draws use them too) are
          // polynomials: close, not bit-exact. Uniform draws (dropout masks) stay bit-exact.
          bool exact = !(codegentest::gpuHostTarget() && std::string(op) == "random_normal");
          checkAgainstInterpreter(makeFunction({k, c}, body, r),
                                  {key, values<int32_t>({}, {counter})}, exact);
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

TEST_CASE("codegen: gather with batch_dims, every dtype") {
  // a [2, 3, 4, 5] along axis 2 with the first one or two dims shared with the indices.
  for (DType dtype : {DType::F32, DType::I64, DType::Bool})
    for (int64_t batch : {1, 2}) {
      Shape in{2, 3, 4, 5}, idx(in.begin(), in.begin() + batch), out(in.begin(), in.begin() + 2);
      idx.push_back(3);
      out.push_back(3);
      out.push_back(5);
      std::string t = ty(dtype, in), i = ty(DType::I32, idx), r = ty(dtype, out);
      std::vector<int32_t> picks;
      for (int64_t k = 0; k < rt::numElements(idx); ++k)
        picks.push_back(static_cast<int32_t>((k * 5) % 7) - 1); // -1..5: both clamps
      checkAgainstInterpreter(
          makeFunction({t, i}, "%r = nnx.gather %a[%b] axis = 2 batch_dims = " +
                                   std::to_string(batch) + " : " + t + ", " + i + " -> " + r,
                       r),
          {sample(dtype, in, 31), values<int32_t>(idx, picks)}, /*exact=*/true);
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
