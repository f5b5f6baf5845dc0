//===- AutodiffComposedTest.cpp - FD checks of built-ins composed by the front end ===//
//
// Some built-ins are not one op but a composition the front end emits: convolution and pooling
// (windows of strided slices, a pad, a matmul), einsum (transposes, reshapes, a matmul). Their
// gradients come from the ops' VJPs; these tests check that the composition is differentiated
// right, in f64 against central differences: the .nnx function is traced by the evaluator, the
// IR printed and handed to the finite-difference harness (AutodiffHarness.h).
//
//===----------------------------------------------------------------------===//
#include "AutodiffHarness.h"

#include "ir/Types.h"
#include "lang/Evaluator.h"
#include "lang/Program.h"

#include "llvm/Support/raw_ostream.h"

namespace {

using namespace nnx;
using namespace nnx::test;

/// Traces `fn f(...)` of `source` for f64 inputs of `shapes`, marks it nnx.differentiate and
/// returns the module's text.
std::string traceF(const std::string &source, const std::vector<Shape> &shapes) {
  lang::Program program;
  REQUIRE(program.loadStdlib());
  REQUIRE(program.loadText("t.nnx", source));
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(mlir::UnknownLoc::get(&context()));
  lang::StateSpace space;
  lang::Evaluator evaluator(program, *module, space, {});
  const lang::FnDecl *fn = nullptr;
  for (const auto &decl : program.userFiles().back()->functions)
    if (decl->name == "f")
      fn = decl.get();
  REQUIRE(fn);
  std::vector<lang::EntryInput> inputs;
  for (size_t i = 0; i < shapes.size(); ++i)
    inputs.push_back({fn->params[i].name, ir::tensorType(&context(), DType::F64, shapes[i]), {},
                      "test data"});
  mlir::func::FuncOp f = evaluator.traceMethod(nullptr, *fn, inputs, "f");
  std::string diagnostics;
  for (const auto &d : program.diags().diagnostics())
    diagnostics += d.message + "\n";
  REQUIRE_MESSAGE(f, diagnostics);
  f->setAttr("nnx.differentiate", mlir::UnitAttr::get(&context()));
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  return text;
}

/// Checks the gradients of `fn f(...)` (a scalar) with respect to every input.
void checkComposed(const std::string &source, const std::vector<Shape> &shapes) {
  std::vector<Tensor> args;
  for (size_t i = 0; i < shapes.size(); ++i)
    args.push_back(uniform(shapes[i], 100 + i));
  checkGradients(traceF(source, shapes), args);
}

} // namespace

TEST_CASE("autodiff composed: conv_general_dilated, every option") {
  // Weighted sums, so every output element's gradient differs.
  checkComposed("fn f(x, w) {\n  y = conv_general_dilated(x, w, [1, 1], \"SAME\")\n"
                "  return sum(y * y)\n}\n",
                {{2, 5, 4, 3}, {3, 3, 3, 2}});
  checkComposed("fn f(x, w) {\n  y = conv_general_dilated(x, w, [2, 1], [[1, 2], [0, 1]], "
                "[1, 2], [2, 1])\n  return sum(y * y)\n}\n",
                {{1, 5, 4, 2}, {2, 3, 2, 3}});
  checkComposed("fn f(x, w) {\n  y = conv_general_dilated(x, w, 1, \"VALID\", "
                "feature_group_count=2)\n  return sum(y * y)\n}\n",
                {{2, 6, 4}, {3, 2, 4}});
}

TEST_CASE("autodiff composed: max, min and average pooling") {
  // Random data has no ties; ties are checked against jax.grad by the layers oracle.
  checkComposed("fn f(x) {\n  y = max_pool(x, [2, 2], strides=[2, 1], padding=\"SAME\")\n"
                "  return sum(y * y)\n}\n",
                {{2, 5, 4, 2}});
  checkComposed("fn f(x) {\n  y = min_pool(x, [3], padding=\"VALID\")\n  return sum(y * y)\n}\n",
                {{2, 6, 3}});
  checkComposed("fn f(x) {\n  y = avg_pool(x, [2, 3], padding=\"SAME\", count_include_pad=false)\n"
                "  return sum(y * y)\n}\n",
                {{1, 4, 5, 2}});
}

TEST_CASE("autodiff composed: einsum") {
  checkComposed("fn f(a, b) {\n  y = einsum(\"bqhd,bkhd->bhqk\", a, b)\n  return sum(y * y)\n}\n",
                {{2, 3, 2, 4}, {2, 5, 2, 4}});
  checkComposed("fn f(a) {\n  y = einsum(\"ijk->kj\", a)\n  return sum(y * y)\n}\n", {{2, 3, 4}});
}
