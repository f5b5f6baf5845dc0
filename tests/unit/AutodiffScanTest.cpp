//===- AutodiffScanTest.cpp - Finite differences through scan and vmap ---------===//
//
// The VJP of nnx.scan (ir/AutodiffScan.cpp) is checked like every other rule: f64 functions
// with scans inside (carries and stacked outputs both reaching the loss, reverse scans,
// stacked weights scanned over their layers, a nested scan, an integer counter and random
// draws in the body) are differentiated by nnx-grad and compared with central differences.
//
// The batching transform (ir/Batching.cpp) is checked against its definition: for a function
// of one element, the batched function run once must equal the element function run on each
// element, bit for bit, for every op family and every way of batching its operands; and
// gradients through batched ops match finite differences.
//
//===----------------------------------------------------------------------===//
#include "tests/unit/AutodiffHarness.h"

#include "interp/Interpreter.h"
#include "interp/Kernels.h"
#include "ir/Batching.h"
#include "ir/NNXDialect.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Verifier.h"

#include <doctest/doctest.h>

using namespace nnx;
using namespace nnx::test;

namespace {

/// The recurrent step h' = tanh(h W + x), y = h' * x: carry, stacked output and a constant.
std::string rnnFunction(bool reverse) {
  return std::string(R"(
func.func @f(%h0: tensor<2x3xf64>, %xs: tensor<4x2x3xf64>, %W: tensor<3x3xf64>,
             %w1: tensor<4x2x3xf64>, %w2: tensor<2x3xf64>) -> tensor<f64>
    attributes {nnx.differentiate} {
  %r:2 = nnx.scan length = 4 )") +
         (reverse ? "reverse " : "") + R"(init(%h0 : tensor<2x3xf64>) xs(%xs : tensor<4x2x3xf64>)
      consts(%W : tensor<3x3xf64>) {
  ^bb0(%h: tensor<2x3xf64>, %x: tensor<2x3xf64>, %w: tensor<3x3xf64>):
    %m = nnx.matmul %h, %w : tensor<2x3xf64>, tensor<3x3xf64> -> tensor<2x3xf64>
    %s = nnx.add %m, %x : tensor<2x3xf64>
    %t = nnx.tanh %s : tensor<2x3xf64>
    %p = nnx.mul %t, %x : tensor<2x3xf64>
    nnx.yield %t, %p : tensor<2x3xf64>, tensor<2x3xf64>
  } -> tensor<2x3xf64>, tensor<4x2x3xf64>
  %a = nnx.mul %r#1, %w1 : tensor<4x2x3xf64>
  %sa = nnx.reduce_sum %a, axes = [0, 1, 2] : tensor<4x2x3xf64> -> tensor<f64>
  %b = nnx.mul %r#0, %w2 : tensor<2x3xf64>
  %sb = nnx.reduce_sum %b, axes = [0, 1] : tensor<2x3xf64> -> tensor<f64>
  %loss = nnx.add %sa, %sb : tensor<f64>
  return %loss : tensor<f64>
})";
}

} // namespace

TEST_CASE("autodiff scan: carry, stacked outputs and a constant, forwards and in reverse") {
  for (bool reverse : {false, true})
    checkGradients(rnnFunction(reverse),
                   {uniform({2, 3}, 601), uniform({4, 2, 3}, 602), uniform({3, 3}, 603, -0.8, 0.8),
                    awayFromZero({4, 2, 3}, 604, 0.5, 1.5), awayFromZero({2, 3}, 605, 0.5, 1.5)});
}

TEST_CASE("autodiff scan: stacked layers scanned over, the carry threaded through them") {
  // x' = tanh(x W_l + b_l) for l = 0..2: the gradients of the stacked W and b are stacked.
  checkGradients(R"(
func.func @f(%x: tensor<2x3xf64>, %W: tensor<3x3x3xf64>, %b: tensor<3x3xf64>,
             %w: tensor<2x3xf64>) -> tensor<f64> attributes {nnx.differentiate} {
  %y = nnx.scan length = 3 init(%x : tensor<2x3xf64>) xs(%W, %b : tensor<3x3x3xf64>, tensor<3x3xf64>) {
  ^bb0(%h: tensor<2x3xf64>, %k: tensor<3x3xf64>, %c: tensor<3xf64>):
    %m = nnx.matmul %h, %k : tensor<2x3xf64>, tensor<3x3xf64> -> tensor<2x3xf64>
    %cb = nnx.broadcast_in_dim %c, dims = [1] : tensor<3xf64> -> tensor<2x3xf64>
    %s = nnx.add %m, %cb : tensor<2x3xf64>
    %t = nnx.tanh %s : tensor<2x3xf64>
    nnx.yield %t : tensor<2x3xf64>
  } -> tensor<2x3xf64>
  %wy = nnx.mul %y, %w : tensor<2x3xf64>
  %loss = nnx.reduce_sum %wy, axes = [0, 1] : tensor<2x3xf64> -> tensor<f64>
  return %loss : tensor<f64>
})",
                 {uniform({2, 3}, 611), uniform({3, 3, 3}, 612, -0.8, 0.8), uniform({3, 3}, 613),
                  awayFromZero({2, 3}, 614, 0.5, 1.5)});
}

TEST_CASE("autodiff scan: a scan nested in a scan's body") {
  // Outer steps over xs [3, 2, 2]; each runs an inner scan over its slice's 2 rows, carrying
  // a sum of products with the outer carry.
  checkGradients(R"(
func.func @f(%c0: tensor<2xf64>, %xs: tensor<3x2x2xf64>, %w: tensor<3x2xf64>) -> tensor<f64>
    attributes {nnx.differentiate} {
  %r:2 = nnx.scan length = 3 init(%c0 : tensor<2xf64>) xs(%xs : tensor<3x2x2xf64>) {
  ^bb0(%c: tensor<2xf64>, %x: tensor<2x2xf64>):
    %in:2 = nnx.scan length = 2 init(%c : tensor<2xf64>) xs(%x : tensor<2x2xf64>) {
    ^bb0(%d: tensor<2xf64>, %row: tensor<2xf64>):
      %p = nnx.mul %d, %row : tensor<2xf64>
      %s = nnx.sin %p : tensor<2xf64>
      %n = nnx.add %s, %row : tensor<2xf64>
      nnx.yield %n, %p : tensor<2xf64>, tensor<2xf64>
    } -> tensor<2xf64>, tensor<2x2xf64>
    %e = nnx.reduce_sum %in#1, axes = [0] : tensor<2x2xf64> -> tensor<2xf64>
    nnx.yield %in#0, %e : tensor<2xf64>, tensor<2xf64>
  } -> tensor<2xf64>, tensor<3x2xf64>
  %a = nnx.mul %r#1, %w : tensor<3x2xf64>
  %sa = nnx.reduce_sum %a, axes = [0, 1] : tensor<3x2xf64> -> tensor<f64>
  %sb = nnx.reduce_sum %r#0, axes = [0] : tensor<2xf64> -> tensor<f64>
  %loss = nnx.add %sa, %sb : tensor<f64>
  return %loss : tensor<f64>
})",
                 {uniform({2}, 621), uniform({3, 2, 2}, 622, -1.0, 1.0),
                  awayFromZero({3, 2}, 623, 0.5, 1.5)});
}

TEST_CASE("autodiff scan: dropout in the body, its counter carried and replayed") {
  // Each step draws a mask from (key, count) and increments count: the backward step must
  // redraw the same mask from the saved counter for the gradient to match.
  checkGradients(R"(
func.func @f(%x: tensor<3xf64>, %W: tensor<4x3xf64>, %key: tensor<2xi32>, %n: tensor<i32>,
             %w: tensor<3xf64>) -> tensor<f64> attributes {nnx.differentiate} {
  %r:2 = nnx.scan length = 4 init(%x, %n : tensor<3xf64>, tensor<i32>) xs(%W : tensor<4x3xf64>)
      consts(%key : tensor<2xi32>) {
  ^bb0(%h: tensor<3xf64>, %count: tensor<i32>, %k: tensor<3xf64>, %kk: tensor<2xi32>):
    %u = nnx.random_uniform %kk, %count : tensor<2xi32>, tensor<i32> -> tensor<3xf64>
    %half = nnx.constant dense<5.000000e-01> : tensor<3xf64>
    %keep = nnx.cmp lt, %u, %half : tensor<3xf64>
    %zero = nnx.constant dense<0.000000e+00> : tensor<3xf64>
    %p = nnx.mul %h, %k : tensor<3xf64>
    %t = nnx.tanh %p : tensor<3xf64>
    %d = nnx.select %keep, %t, %zero : tensor<3xf64>
    %g = nnx.add %d, %h : tensor<3xf64>
    %one = nnx.constant dense<1> : tensor<i32>
    %next = nnx.add %count, %one : tensor<i32>
    nnx.yield %g, %next : tensor<3xf64>, tensor<i32>
  } -> tensor<3xf64>, tensor<i32>
  %wy = nnx.mul %r#0, %w : tensor<3xf64>
  %loss = nnx.reduce_sum %wy, axes = [0] : tensor<3xf64> -> tensor<f64>
  return %loss : tensor<f64>
})",
                 {uniform({3}, 631), uniform({4, 3}, 632), Tensor::fromVector<int32_t>({2}, {7, 11}),
                  Tensor::scalar(DType::I32, 0), awayFromZero({3}, 633, 0.5, 1.5)});
}

//===----------------------------------------------------------------------===//
// Batching
//===----------------------------------------------------------------------===//

namespace {

constexpr int64_t kBatch = 3;

/// Builds @gb, the batched form of @g: argument i gains a leading batch dimension when
/// mapped[i]; every result is batched (broadcast when it does not depend on the batch).
mlir::func::FuncOp batchFunction(mlir::ModuleOp module, const std::vector<bool> &mapped) {
  auto g = module.lookupSymbol<mlir::func::FuncOp>("g");
  REQUIRE(g);
  mlir::OpBuilder builder(module.getBodyRegion());
  builder.setInsertionPointToEnd(module.getBody());
  llvm::SmallVector<mlir::Type> argTypes;
  for (auto [i, type] : llvm::enumerate(g.getArgumentTypes()))
    argTypes.push_back(mapped[i] ? mlir::Type(ir::prependDim(type, kBatch)) : type);
  llvm::SmallVector<mlir::Type> resultTypes;
  for (mlir::Type t : g.getResultTypes())
    resultTypes.push_back(ir::prependDim(t, kBatch));
  auto gb = builder.create<mlir::func::FuncOp>(g.getLoc(), "gb",
                                               builder.getFunctionType(argTypes, resultTypes));
  mlir::Block *entry = gb.addEntryBlock();
  builder.setInsertionPointToEnd(entry);
  ir::BatchMap map;
  for (auto [i, arg] : llvm::enumerate(g.getArguments()))
    map[arg] = {entry->getArgument(i), mapped[i]};
  llvm::SmallVector<mlir::Operation *> ops;
  for (mlir::Operation &op : g.getBody().front().without_terminator())
    ops.push_back(&op);
  REQUIRE(mlir::succeeded(ir::batchOps(builder, ops, kBatch, map)));
  llvm::SmallVector<mlir::Value> results;
  for (mlir::Value v : g.getBody().front().getTerminator()->getOperands()) {
    auto it = map.find(v);
    ir::BatchedValue bv = it == map.end() ? ir::BatchedValue{v, false} : it->second;
    results.push_back(bv.batched ? bv.value
                                 : ir::broadcastToBatch(builder, g.getLoc(), bv.value, kBatch));
  }
  builder.create<mlir::func::ReturnOp>(g.getLoc(), results);
  REQUIRE(mlir::succeeded(mlir::verify(gb)));
  return gb;
}

/// Test data of `type`: f64 uniform, i32 small integers, i1 alternating.
Tensor dataFor(mlir::Type type, uint64_t seed) {
  auto tensor = llvm::cast<mlir::RankedTensorType>(type);
  Shape shape(tensor.getShape().begin(), tensor.getShape().end());
  if (tensor.getElementType().isF64())
    return uniform(shape, seed);
  Tensor t(tensor.getElementType().isInteger(1) ? DType::Bool : DType::I32, shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.set(i, static_cast<double>((i * 7 + seed) % (t.dtype() == DType::Bool ? 2 : 5)));
  return t;
}

/// @gb(batched args) must equal @g applied to each element, bit for bit.
void checkBatching(const std::string &text, const std::vector<bool> &mapped) {
  INFO("IR:\n" << text << "\nmapped:" << [&] {
    std::string s;
    for (bool m : mapped)
      s += m ? " 0" : " None";
    return s;
  }());
  auto module = parse(text);
  auto g = module->lookupSymbol<mlir::func::FuncOp>("g");
  mlir::func::FuncOp gb = batchFunction(*module, mapped);
  std::vector<Tensor> args;
  for (auto [i, type] : llvm::enumerate(gb.getArgumentTypes()))
    args.push_back(dataFor(type, 700 + i));
  std::vector<Tensor> batched = interp::run(gb, args);
  for (int64_t b = 0; b < kBatch; ++b) {
    std::vector<Tensor> element;
    for (size_t i = 0; i < args.size(); ++i)
      element.push_back(mapped[i] ? interp::takeLeading(args[i], b) : args[i]);
    std::vector<Tensor> expected = interp::run(g, element);
    for (size_t r = 0; r < expected.size(); ++r) {
      Tensor got = interp::takeLeading(batched[r], b);
      REQUIRE(got.shape() == expected[r].shape());
      for (int64_t j = 0; j < got.numel(); ++j)
        CHECK_MESSAGE(got.at(j) == expected[r].at(j), "result " << r << ", element " << b
                                                                << ", index " << j);
    }
  }
}

/// checkBatching for every way of mapping `numArgs` arguments but none.
void checkAllMappings(const std::string &text, size_t numArgs) {
  for (unsigned mask = 1; mask < (1u << numArgs); ++mask) {
    std::vector<bool> mapped;
    for (size_t i = 0; i < numArgs; ++i)
      mapped.push_back(mask & (1u << i));
    checkBatching(text, mapped);
  }
}

} // namespace

TEST_CASE("vmap batching: elementwise, compare, select, convert") {
  checkAllMappings(R"(
func.func @g(%a: tensor<2x3xf64>, %b: tensor<2x3xf64>, %c: tensor<2x3xi1>) -> (tensor<2x3xf64>, tensor<2x3xi32>) {
  %s = nnx.add %a, %b : tensor<2x3xf64>
  %t = nnx.tanh %s : tensor<2x3xf64>
  %lt = nnx.cmp lt, %a, %b : tensor<2x3xf64>
  %both = nnx.and %lt, %c : tensor<2x3xi1>
  %y = nnx.select %both, %t, %b : tensor<2x3xf64>
  %i = nnx.convert %y : tensor<2x3xf64> -> tensor<2x3xi32>
  return %y, %i : tensor<2x3xf64>, tensor<2x3xi32>
})",
                   3);
}

TEST_CASE("vmap batching: broadcast, reductions, softmax") {
  checkAllMappings(R"(
func.func @g(%a: tensor<3xf64>, %b: tensor<2x3xf64>) -> (tensor<2xf64>, tensor<3xf64>, tensor<2x3xf64>, tensor<f64>) {
  %ab = nnx.broadcast_in_dim %a, dims = [1] : tensor<3xf64> -> tensor<2x3xf64>
  %s = nnx.mul %ab, %b : tensor<2x3xf64>
  %r = nnx.reduce_sum %s, axes = [1] : tensor<2x3xf64> -> tensor<2xf64>
  %m = nnx.reduce_max %s, axes = [0] : tensor<2x3xf64> -> tensor<3xf64>
  %sm = nnx.softmax %s, axis = 1 : tensor<2x3xf64>
  %lsm = nnx.log_softmax %sm, axis = 0 : tensor<2x3xf64>
  %all = nnx.reduce_min %lsm, axes = [0, 1] : tensor<2x3xf64> -> tensor<f64>
  return %r, %m, %lsm, %all : tensor<2xf64>, tensor<3xf64>, tensor<2x3xf64>, tensor<f64>
})",
                   2);
}

TEST_CASE("vmap batching: reshape, transpose, reverse, concat, slice, pad") {
  checkAllMappings(R"(
func.func @g(%a: tensor<2x3xf64>, %b: tensor<2x2xf64>) -> (tensor<3x2xf64>, tensor<2x5xf64>, tensor<6xf64>, tensor<2x2xf64>, tensor<4x6xf64>) {
  %t = nnx.transpose %a, perm = [1, 0] : tensor<2x3xf64> -> tensor<3x2xf64>
  %r = nnx.reverse %t, dims = [0] : tensor<3x2xf64>
  %c = "nnx.concat"(%a, %b) {axis = 1 : i64} : (tensor<2x3xf64>, tensor<2x2xf64>) -> tensor<2x5xf64>
  %f = nnx.reshape %a : tensor<2x3xf64> -> tensor<6xf64>
  %s = nnx.slice %c[[0, 1] : [2, 5] : [1, 2]] : tensor<2x5xf64> -> tensor<2x2xf64>
  %p = nnx.pad %b low [1, 0] high [0, 2] interior [1, 2] : tensor<2x2xf64> -> tensor<4x6xf64>
  return %r, %c, %f, %s, %p : tensor<3x2xf64>, tensor<2x5xf64>, tensor<6xf64>, tensor<2x2xf64>, tensor<4x6xf64>
})",
                   2);
}

TEST_CASE("vmap batching: matmul with shared, batched and broadcast operands") {
  checkAllMappings(R"(
func.func @g(%a: tensor<2x3xf64>, %b: tensor<3x4xf64>) -> tensor<2x4xf64> {
  %y = nnx.matmul %a, %b : tensor<2x3xf64>, tensor<3x4xf64> -> tensor<2x4xf64>
  return %y : tensor<2x4xf64>
})",
                   2);
  checkAllMappings(R"(
func.func @g(%a: tensor<2x2x3xf64>, %b: tensor<3x4xf64>) -> tensor<2x2x4xf64> {
  %y = nnx.matmul %a, %b : tensor<2x2x3xf64>, tensor<3x4xf64> -> tensor<2x2x4xf64>
  return %y : tensor<2x2x4xf64>
})",
                   2);
  checkAllMappings(R"(
func.func @g(%a: tensor<2x2x3xf64>, %b: tensor<2x3x4xf64>) -> tensor<2x2x4xf64> {
  %y = nnx.matmul %a, %b : tensor<2x2x3xf64>, tensor<2x3x4xf64> -> tensor<2x2x4xf64>
  return %y : tensor<2x2x4xf64>
})",
                   2);
}

TEST_CASE("vmap batching: gather with batched operand, indices or both, with batch_dims") {
  checkAllMappings(R"(
func.func @g(%a: tensor<3x4xf64>, %i: tensor<2x2xi32>) -> tensor<3x2x2xf64> {
  %y = nnx.gather %a[%i] axis = 1 : tensor<3x4xf64>, tensor<2x2xi32> -> tensor<3x2x2xf64>
  return %y : tensor<3x2x2xf64>
})",
                   2);
  checkAllMappings(R"(
func.func @g(%a: tensor<2x3x4x2xf64>, %i: tensor<2x3xi32>) -> tensor<2x3x3x2xf64> {
  %y = nnx.gather %a[%i] axis = 2 batch_dims = 1 : tensor<2x3x4x2xf64>, tensor<2x3xi32> -> tensor<2x3x3x2xf64>
  return %y : tensor<2x3x3x2xf64>
})",
                   2);
}

TEST_CASE("vmap batching: a scan whose carry becomes batched through its body") {
  // The carry starts unbatched in some mappings and becomes batched because the step adds a
  // batched x or constant to it.
  checkAllMappings(R"(
func.func @g(%c: tensor<2xf64>, %xs: tensor<4x2xf64>, %k: tensor<2xf64>) -> (tensor<2xf64>, tensor<4x2xf64>) {
  %r:2 = nnx.scan length = 4 reverse init(%c : tensor<2xf64>) xs(%xs : tensor<4x2xf64>) consts(%k : tensor<2xf64>) {
  ^bb0(%h: tensor<2xf64>, %x: tensor<2xf64>, %kk: tensor<2xf64>):
    %p = nnx.mul %h, %kk : tensor<2xf64>
    %s = nnx.add %p, %x : tensor<2xf64>
    %t = nnx.sin %s : tensor<2xf64>
    nnx.yield %t, %p : tensor<2xf64>, tensor<2xf64>
  } -> tensor<2xf64>, tensor<4x2xf64>
  return %r#0, %r#1 : tensor<2xf64>, tensor<4x2xf64>
})",
                   3);
}

TEST_CASE("vmap batching: random draws differ per element; batched keys draw their own") {
  auto module = parse(R"(
func.func @g(%key: tensor<2xi32>, %n: tensor<i32>) -> tensor<5xf64> {
  %u = nnx.random_uniform %key, %n : tensor<2xi32>, tensor<i32> -> tensor<5xf64>
  return %u : tensor<5xf64>
})");
  Tensor key = Tensor::fromVector<int32_t>({2}, {3, 4}), n = Tensor::scalar(DType::I32, 9);
  // Shared key and counter: one draw of [3, 5], so the elements are distinct samples.
  mlir::func::FuncOp shared = batchFunction(*module, {false, false});
  Tensor draws = interp::run(shared, {key, n})[0];
  Tensor whole = interp::randomUniform(key, n, {kBatch, 5}, DType::F64);
  for (int64_t j = 0; j < draws.numel(); ++j)
    CHECK(draws.at(j) == whole.at(j));
  CHECK(draws.at(0) != draws.at(5));
  // Batched keys: element b draws exactly what its own key draws.
  checkBatching(R"(
func.func @g(%key: tensor<2xi32>, %n: tensor<i32>) -> tensor<5xf64> {
  %u = nnx.random_uniform %key, %n : tensor<2xi32>, tensor<i32> -> tensor<5xf64>
  return %u : tensor<5xf64>
})",
                {true, false});
}

TEST_CASE("vmap batching: gradients through batched ops match finite differences") {
  // f(a, b, w) = sum(w * batched g(a, b)) with a mapped and b shared, built with batchOps and
  // differentiated by the nnx-grad pass.
  auto module = parse(R"(
func.func @g(%a: tensor<3xf64>, %b: tensor<3x2xf64>) -> tensor<2xf64> {
  %y = nnx.reshape %a : tensor<3xf64> -> tensor<1x3xf64>
  %m = nnx.matmul %y, %b : tensor<1x3xf64>, tensor<3x2xf64> -> tensor<1x2xf64>
  %r = nnx.reshape %m : tensor<1x2xf64> -> tensor<2xf64>
  %s = nnx.softmax %r, axis = 0 : tensor<2xf64>
  %t = nnx.tanh %a : tensor<3xf64>
  %u = nnx.reduce_sum %t, axes = [0] : tensor<3xf64> -> tensor<f64>
  %ub = nnx.broadcast_in_dim %u, dims = [] : tensor<f64> -> tensor<2xf64>
  %v = nnx.mul %s, %ub : tensor<2xf64>
  return %v : tensor<2xf64>
})");
  mlir::func::FuncOp gb = batchFunction(*module, {true, false});
  mlir::OpBuilder builder(&context());
  builder.setInsertionPointToEnd(module->getBody());
  mlir::Location loc = builder.getUnknownLoc();
  auto f64Type = [&](Shape shape) {
    return mlir::RankedTensorType::get(shape, builder.getF64Type());
  };
  auto f = builder.create<mlir::func::FuncOp>(
      loc, "f",
      builder.getFunctionType({f64Type({kBatch, 3}), f64Type({3, 2}), f64Type({kBatch, 2})},
                              {f64Type({})}));
  f->setAttr("nnx.differentiate", builder.getUnitAttr());
  mlir::Block *entry = f.addEntryBlock();
  builder.setInsertionPointToEnd(entry);
  mlir::IRMapping mapping;
  for (auto [from, to] : llvm::zip(gb.getArguments(), entry->getArguments()))
    mapping.map(from, to);
  for (mlir::Operation &op : gb.getBody().front().without_terminator())
    builder.clone(op, mapping);
  mlir::Value y = mapping.lookup(gb.getBody().front().getTerminator()->getOperand(0));
  mlir::Value wy = builder.create<ir::MulOp>(loc, y.getType(), y, entry->getArgument(2));
  mlir::Value loss = builder.create<ir::ReduceSumOp>(loc, f64Type({}), wy,
                                                     llvm::ArrayRef<int64_t>{0, 1});
  builder.create<mlir::func::ReturnOp>(loc, loss);
  gb.erase();
  module->lookupSymbol<mlir::func::FuncOp>("g").erase();
  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os);
  checkGradients(text, {uniform({kBatch, 3}, 801), uniform({3, 2}, 802),
                        awayFromZero({kBatch, 2}, 803, 0.5, 1.5)});
}
