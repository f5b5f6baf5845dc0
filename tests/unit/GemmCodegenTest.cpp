//===- GemmCodegenTest.cpp - The JIT's GEMM schedule and transcendentals ---===//
//
// The GEMM kernel (codegen/cpu/GemmKernel.cpp) against the interpreter at odd and prime sizes
// in every blocking, with transposed and batched operands; the kernel library's names; results
// bit-identical for 1 and 2 threads; and the ulp bounds of the exp, log and tanh
// approximations (nnx-math-approximation) against glibc.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/CodegenTestSupport.h"

#include "codegen/KernelLibrary.h"
#include "codegen/cpu/GemmKernel.h"
#include "codegen/cpu/GemvKernel.h"

#include <cstdlib>
#include <cstring>
#include <limits>

using namespace nnx;
using namespace nnx::codegentest;

namespace {

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
  // The host's blocking at the odd sizes (1, 3, 10, 17, 784, 1000), then blockings
  // small enough that every loop of the schedule runs several blocks with edges (M, K and N
  // cross mc, kc and nc), in the AVX2 (6 x 16) and AVX-512 (8 x 32) register tiles.
  struct Blocking {
    const char *options;
    std::vector<std::tuple<int64_t, int64_t, int64_t>> sizes;
  };
  const std::vector<Blocking> blockings = {
      {"", {{1, 784, 1000}, {3, 10, 17}, {17, 784, 10}, {10, 1000, 17}, {784, 17, 10},
            {17, 784, 1000}, {1000, 17, 784}, {128, 784, 256}}},
      {"vector-width=8 mr=6 nr=16 mc=12 kc=16 nc=32",
       {{37, 50, 70}, {6, 16, 16}, {13, 17, 33}, {131, 97, 41}, {1, 97, 300}, {5, 33, 200}}},
      {"vector-width=16 mr=8 nr=32 mc=16 kc=16 nc=64",
       {{37, 50, 70}, {8, 8, 32}, {41, 97, 131}, {131, 97, 41}, {7, 9, 131}, {1, 256, 10}}},
  };
  // Fewer rows than the register tile (M < mr) and B as stored take the few-rows kernel
  // (GemvKernel.cpp): whole blocks of accumulators (1 x 784 x 1000: 3 blocks of 256 columns
  // under AVX-512), then single vectors, the last masked (1000 - 768 = 14.5 vectors; 300 - 288
  // = 1.5 under AVX2's 96-column blocks), or only masked vectors (N = 10, 17, 131).
  for (const Blocking &blocking : blockings) {
    INFO("NNX_GEMM_BLOCKING=" << blocking.options);
    ::setenv("NNX_GEMM_BLOCKING", blocking.options, 1);
    // Forms: as stored, A transposed, B transposed, both: each operand packed by its
    // contiguous-elements and its contiguous-depths copy (depths past the last group of 8,
    // and partial panels, element by element; the convolutions' patch views take the
    // strided copy).
    for (const auto &[m, k, n] : blocking.sizes)
      for (int form = 0; form < 4; ++form)
        checkGemm({}, m, k, n, form & 1, form & 2);
    checkGemm({3}, 19, 40, 21, false, false);
    checkGemm({2, 2}, 19, 40, 21, true, false);
    checkGemm({3}, 19, 40, 21, false, true);
    checkGemm({3}, 2, 40, 21, true, false);
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
  // The few-rows kernel: nnx_sgemv_<accumulators>xv<vector width>.
  nnx::codegen::GemvBlocking gemv{16, 16};
  CHECK(nnx::codegen::getGemvKernelName(gemv) == "nnx_sgemv_16xv16");
  auto gemvParsed = nnx::codegen::parseGemvKernelName("nnx_sgemv_12xv8");
  REQUIRE(gemvParsed);
  CHECK(gemvParsed->accumulators == 12);
  CHECK(gemvParsed->vectorWidth == 8);
  CHECK_FALSE(nnx::codegen::parseGemvKernelName("nnx_sgemv_12x8"));
  CHECK_FALSE(nnx::codegen::parseGemvKernelName("nnx_sgemv_0xv8"));
  // Fewer accumulators than the 4 rows of a group would give it blocks of no columns.
  CHECK_FALSE(nnx::codegen::parseGemvKernelName("nnx_sgemv_3xv8"));
  auto gemvFound = nnx::codegen::getKernelAddress("nnx_sgemv_12xv8");
  REQUIRE_MESSAGE(static_cast<bool>(gemvFound), llvm::toString(gemvFound.takeError()));
  CHECK(*gemvFound != nullptr);
}

TEST_CASE("codegen: GEMM results are bit-identical for 1 and 2 threads") {
  // Threads split the column panels of C, or its rows when M > N, never a sum: the results
  // must not differ by a bit. Sizes with edges in every dimension, both splits (the last a
  // classifier's 10 columns), batches.
  const std::vector<std::tuple<Shape, Shape, Shape>> cases = {
      {{257, 301}, {301, 190}, {257, 190}},
      {{301, 257}, {257, 190}, {301, 190}},
      {{2, 97, 130}, {2, 130, 75}, {2, 97, 75}},
      {{600, 300}, {300, 10}, {600, 10}}};
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


TEST_CASE("codegen: the GPU's sin and cos stay within 1 ulp of glibc, bounded beyond 1.6e6") {
  // nnx-math-approximation's `all` mode (the GPU has no libm): sin and cos reduced modulo
  // pi/2 in f64. Compiled through the GPU lowering, launches run as host loops.
  Lcg lcg(7);
  std::vector<float> near, far;
  for (int i = 0; i < 100000; ++i) {
    near.push_back(static_cast<float>(lcg.uniform(-20.0, 20.0)));
    near.push_back(static_cast<float>(lcg.uniform(-1.6e6, 1.6e6)));
    double magnitude = std::pow(10.0, lcg.uniform(-40.0, 6.2));
    near.push_back(static_cast<float>(i % 2 ? magnitude : -magnitude));
    far.push_back(static_cast<float>(std::pow(10.0, lcg.uniform(6.3, 38.5))));
  }
  for (float special : {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity(),
                        std::numeric_limits<float>::quiet_NaN(), 1e-45f, -1e-45f})
    near.push_back(special);
  for (const char *op : {"sin", "cos"}) {
    for (bool bounded : {false, true}) {
      const std::vector<float> &inputs = bounded ? far : near;
      INFO(op << (bounded ? " beyond 1.6e6" : ""));
      Shape shape = {static_cast<int64_t>(inputs.size())};
      std::string t = ty(DType::F32, shape);
      auto module = parse(makeFunction({t}, std::string("%r = nnx.") + op + " %a : " + t, t));
      REQUIRE(module);
      Tensor x = values<float>(shape, inputs);
      Tensor expected = interp::run(module->lookupSymbol<mlir::func::FuncOp>("f"), {x})[0];
      auto jit = codegen::CpuJit::compile(*module, "f", 3, codegen::CpuJit::Kernels::GpuOnHost);
      REQUIRE_MESSAGE(static_cast<bool>(jit), llvm::toString(jit.takeError()));
      Tensor actual = (*jit)->run({x})[0];
      int64_t worst = 0, unbounded = 0;
      for (int64_t i = 0; i < x.numel(); ++i) {
        float a = actual.data<float>()[i], e = expected.data<float>()[i];
        if (std::isnan(e) && std::isnan(a))
          continue;
        if (!(std::fabs(a) <= 1.0f))
          ++unbounded;
        worst = std::max(worst, ulpDistance(a, e));
      }
      CHECK(unbounded == 0);
      if (!bounded)
        CHECK(worst <= 1);
    }
  }
}

} // namespace
