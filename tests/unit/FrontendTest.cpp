//===- FrontendTest.cpp - Unit tests of the front end ---------------------===//
//
// Diagnostics rendering, "did you mean" distances, the parser and AST dump, expected-error
// verification, and the evaluator: model instantiation into a state tree, and shape/dtype
// inference of traced expressions (broadcasting, matmul variants, reductions, indexing).
//
//===----------------------------------------------------------------------===//
#include "ir/NNXDialect.h"
#include "ir/Types.h"
#include "lang/Evaluator.h"
#include "lang/Program.h"
#include "lang/Resolve.h"
#include "lang/Verify.h"
#include "lang/syntax/Parser.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <doctest/doctest.h>

#include <sstream>

using namespace nnx::lang;

TEST_CASE("diagnostics render rustc-style with code, span, label and notes") {
  SourceManager sources;
  uint32_t id = sources.addFile("m.nnx", "fn f(x) {\n  h = x @ w1\n  return h\n}\n");
  DiagnosticEngine diags(sources);
  diags.error("E0203", Span{id, 16, 22}, "shape mismatch in matrix product")
      .withLabel("inner dimensions differ: 784 vs 512")
      .note("`w1` is declared with shape [512, 256] here", Span{id, 0, 2})
      .note("in `Linear(in_features=512)` created at m.nnx:9:9")
      .help("check the layer sizes");
  std::ostringstream os;
  diags.render(os, diags.diagnostics().front(), /*color=*/false);
  CHECK(os.str() == "error[E0203]: shape mismatch in matrix product\n"
                    " --> m.nnx:2:7\n"
                    "  |\n"
                    "2 |   h = x @ w1\n"
                    "  |       ^^^^^^ inner dimensions differ: 784 vs 512\n"
                    "  |\n"
                    "note: `w1` is declared with shape [512, 256] here\n"
                    " --> m.nnx:1:1\n"
                    "  = note: in `Linear(in_features=512)` created at m.nnx:9:9\n"
                    "  = help: check the layer sizes\n\n");
  CHECK(diags.errorCount() == 1);
}

TEST_CASE("did-you-mean suggestions use an edit distance with transpositions") {
  CHECK(editDistance("lienar", "linear") == 1);
  CHECK(editDistance("Modle", "Model") == 1);
  CHECK(editDistance("kitten", "sitting") == 3);
  CHECK(closestName("lienar", {"linear", "dropout", "block"}) == "linear");
  CHECK(closestName("zzz", {"linear", "dropout"}).empty());
  // A doubled letter is a smaller slip than a wrong one; case is nearly free.
  CHECK(closestName("reluu", {"relu6", "relu", "gelu"}) == "relu");
  CHECK(closestName("Embd", {"embed", "Embed"}) == "Embed");
  CHECK(closestName("embed", {"Embed"}, {"embed"}) == "Embed");
  CHECK(closestName("Embd", {"embed"}, {"embed"}).empty()); // never the name being defined
  // Every best candidate on a tie, sorted, quoted by the caller's "`...`".
  CHECK(closestName("lineer", {"linear", "lineed", "dropout"}) == "linear` or `lineed");
  CHECK(closestNames("lineer", {"linear", "lineed"}) == std::vector<std::string>{"linear", "lineed"});
  CHECK(typoDistance("reluu", "relu") < typoDistance("reluu", "relu6"));
  CHECK(closestName("--epoch", {"--epochs", "--steps"}) == "--epochs");
}

TEST_CASE("the parser builds the AST with spans; several errors in one run") {
  SourceManager sources;
  DiagnosticEngine diags(sources);
  uint32_t ok = sources.addFile("ok.nnx", "module M(n: int) {\n  Param w: f32[n, 2] = zeros()\n"
                                          "  fn __call__(x: f32[B, n]) = x @ w\n}\n");
  auto ast = parseFile(ok, sources, diags);
  REQUIRE(ast);
  std::ostringstream os;
  dumpAST(*ast, sources, os);
  CHECK(os.str() == "[1:1] module M(n: int)\n"
                    "  [2:3] Param w: f32[n, 2] = (call zeros)\n"
                    "  [3:3] fn __call__(x: f32[B, n])\n"
                    "    [3:31] return (@ x w)\n");
  // Each error reported once: the SLL first stage bails out silently, the LL stage reports.
  uint32_t bad = sources.addFile("bad.nnx", "fn f(x) = x )\nfn g(y) = y $ 1\n");
  CHECK_FALSE(parseFile(bad, sources, diags));
  CHECK(diags.errorCount() == 2);
}

TEST_CASE("expected-error comments are matched against reported diagnostics") {
  SourceManager sources;
  uint32_t id = sources.addFile("v.nnx", "# expected-error@+1 {{E0201: unknown name}}\nx\n");
  DiagnosticEngine diags(sources);
  std::ostringstream os;
  CHECK_FALSE(verifyDiagnostics(diags, {id}, os)); // expected but not reported
  diags.error("E0201", Span{id, 44, 45}, "unknown name `x`");
  std::ostringstream os2;
  CHECK(verifyDiagnostics(diags, {id}, os2));
}

namespace {

/// A program with the stdlib plus `text`, and an MLIR module to trace into.
struct Fixture {
  Fixture(const std::string &text) {
    nnx::ir::registerNNXDialects(registry);
    context = std::make_unique<mlir::MLIRContext>(registry);
    context->loadDialect<nnx::ir::NNXDialect, mlir::func::FuncDialect>();
    module = mlir::ModuleOp::create(mlir::UnknownLoc::get(context.get()));
    REQUIRE(program.loadStdlib());
    REQUIRE(program.loadText("t.nnx", text));
  }
  /// Instantiates `expr` as the root model.
  ModuleInstance *instantiate(const std::string &expr) {
    uint32_t e = program.addText("<model>", expr);
    ExprPtr parsed = parseExpression(e, program.sources(), program.diags());
    Evaluator evaluator(program, *module, space, {});
    return evaluator.instantiateRoot(*parsed);
  }
  mlir::DialectRegistry registry;
  std::unique_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  Program program;
  StateSpace space;
};

/// Traces `body` as a test block; true when it compiles and its static asserts hold.
bool testPasses(const std::string &body) {
  mlir::DialectRegistry registry;
  nnx::ir::registerNNXDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadDialect<nnx::ir::NNXDialect, mlir::func::FuncDialect>();
  auto module = mlir::ModuleOp::create(mlir::UnknownLoc::get(&context));
  Program program;
  program.loadStdlib();
  if (!program.loadText("t.nnx", "test \"t\" {\n" + body + "\n}\n"))
    return false;
  StateSpace space;
  Evaluator evaluator(program, module, space, {});
  std::optional<TestTrace> trace = evaluator.traceTest(*program.userFiles().back()->tests[0], "t");
  bool ok = trace && trace->staticFailures.empty() && !program.diags().hasErrors();
  module->erase();
  return ok;
}

} // namespace

TEST_CASE("instantiation yields the state tree with Flax NNX's paths and shapes") {
  Fixture f("module Block(din: int, dout: int) {\n  linear = Linear(din, dout)\n"
            "  dropout = Dropout(0.5)\n}\n"
            "module Model(din: int, dmid: int, dout: int) {\n  block = Block(din, dmid)\n"
            "  linear = Linear(dmid, dout)\n}\n");
  ModuleInstance *root = f.instantiate("Model(784, 256, 10)");
  REQUIRE(root);
  std::vector<std::string> paths;
  for (const VarInfo &v : f.space.vars())
    paths.push_back(v.spec.path + " " + v.spec.kind + " " + nnx::rt::formatShape(v.spec.shape));
  CHECK(paths == std::vector<std::string>{
                     "block.linear.kernel Param [784, 256]", "block.linear.bias Param [256]",
                     "block.dropout.rngs.key RngKey [2]", "block.dropout.rngs.count RngCount []",
                     "linear.kernel Param [256, 10]", "linear.bias Param [10]"});
  CHECK(root->describe() == "Model(din=784, dmid=256, dout=10)");
}

TEST_CASE("broadcasting follows numpy") {
  CHECK(testPasses("y = ones([3, 1]) + ones([4])\nassert shape(y) == [3, 4]"));
  CHECK(testPasses("y = ones([2, 1, 5]) * ones([7, 1])\nassert shape(y) == [2, 7, 5]"));
  CHECK(testPasses("y = ones([3]) * 2.0 + 1\nassert shape(y) == [3]"));
  CHECK_FALSE(testPasses("y = ones([3]) + ones([4])"));
}

TEST_CASE("matmul shapes: matrices, vectors, batches") {
  CHECK(testPasses("y = ones([2, 3]) @ ones([3, 4])\nassert shape(y) == [2, 4]"));
  CHECK(testPasses("y = ones([3]) @ ones([3, 4])\nassert shape(y) == [4]"));
  CHECK(testPasses("y = ones([2, 3]) @ ones([3])\nassert shape(y) == [2]"));
  CHECK(testPasses("y = ones([5, 2, 3]) @ ones([3, 4])\nassert shape(y) == [5, 2, 4]"));
  CHECK(testPasses("y = ones([5, 2, 3]) @ ones([5, 3, 4])\nassert shape(y) == [5, 2, 4]"));
  CHECK(testPasses("y = ones([2, 3]) @ ones([5, 3, 4])\nassert shape(y) == [5, 2, 4]"));
  CHECK_FALSE(testPasses("y = ones([2, 3]) @ ones([4, 4])"));
}

TEST_CASE("reductions, softmax and indexing infer shapes") {
  CHECK(testPasses("y = sum(ones([2, 3, 4]), axis=1)\nassert shape(y) == [2, 4]"));
  CHECK(testPasses("y = mean(ones([2, 3]), axis=-1, keepdims=true)\nassert shape(y) == [2, 1]"));
  CHECK(testPasses("y = max(ones([2, 3]))\nassert shape(y) == []"));
  CHECK(testPasses("y = softmax(ones([2, 3]))\nassert shape(y) == [2, 3]"));
  CHECK(testPasses("y = ones([4, 5, 6])[1, 1:4, ...]\nassert shape(y) == [3, 6]"));
  CHECK(testPasses("y = ones([10])[::3]\nassert shape(y) == [4]"));
  CHECK(testPasses("y = concat([ones([2, 3]), ones([2, 5])], axis=-1)\nassert shape(y) == [2, 8]"));
  CHECK(testPasses("y = reshape(ones([2, 3, 4]), [-1, 4])\nassert shape(y) == [6, 4]"));
  CHECK(testPasses("y = transpose(ones([2, 3, 4]))\nassert shape(y) == [4, 3, 2]"));
  CHECK(testPasses("y = one_hot(iota([3]), 5)\nassert shape(y) == [3, 5]"));
}

TEST_CASE("static values fold like Python") {
  CHECK(testPasses("assert 7 / 2 == 3.5"));
  CHECK(testPasses("assert -7 % 3 == 2"));
  CHECK(testPasses("assert 2 ** 10 == 1024"));
  CHECK(testPasses("assert [1, 2] + [3] == [1, 2, 3]"));
  CHECK(testPasses("assert max(3, 9, 4) == 9"));
  CHECK(testPasses("assert len([1, 2, 3]) == 3 and not (1 > 2)"));
  CHECK_FALSE(testPasses("assert 1 == 2"));
}
