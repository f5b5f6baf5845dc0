//===- GemvKernel.cpp - The f32 few-rows product kernel -------------------===//
//
// C (+)= A B for products with few rows, in the vector dialect:
//
//   for each group of R rows i (R = 4 while 4 remain, then 2, then 1):
//     for j0 < N - N % (T/R W) step T/R W:       T accumulators of W lanes, T/R per row
//       acc[R][T/R] = zero_init ? 0 : C[i : i + R, j0 : j0 + T/R W]
//       for k < K: b = B[k, j0 : +T/R W] (T/R loads, shared by the R rows)
//                  acc[q] += broadcast(A[i + q, k]) * b
//       C[...] = acc
//     the remaining columns vector by vector (the last masked), R rows at a time
//
// The accumulators stay in registers across k (scf.for iteration arguments), so C is loaded
// and stored once per element instead of once per k, and each group of rows streams B once
// with contiguous vector loads. The seed's batch-1 forward (1 x 784 x 256 with T W = 256: one
// block, then 1 x 256 x 10: one masked vector) ran in 8 us instead of 24 on a Xeon core; as
// plain loops LLVM had made the products one 8-lane load-FMA-store of C per k and column
// group. Each element is summed in ascending k with fused multiply-adds, as in the GEMM
// kernel.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/GemvKernel.h"
#include "codegen/cpu/GemmKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace nnx::codegen {

using namespace mlir;

namespace {

/// Emits the body of the kernel function.
class GemvEmitter {
public:
  GemvEmitter(func::FuncOp kernel, const GemvBlocking &blocking)
      : bl_(blocking), b_(kernel.getContext()), loc_(kernel.getLoc()) {
    vec_ = VectorType::get({bl_.vectorWidth}, b_.getF32Type());
    maskType_ = VectorType::get({bl_.vectorWidth}, b_.getI1Type());
    Block *entry = kernel.addEntryBlock();
    b_.setInsertionPointToStart(entry);
    a_ = entry->getArgument(0);
    bm_ = entry->getArgument(1);
    c_ = entry->getArgument(2);
    zeroInit_ = entry->getArgument(3);
  }

  void emit() {
    Value m = b_.create<memref::DimOp>(loc_, c_, 0);
    Value n = b_.create<memref::DimOp>(loc_, c_, 1);
    Value k = b_.create<memref::DimOp>(loc_, a_, 1);
    // Rows in groups of 4, then of 2, then 1: each group streams B once for all its rows.
    Value m4 = b_.create<arith::SubIOp>(loc_, m, b_.create<arith::RemSIOp>(loc_, m, idx(4)));
    Value m2 = b_.create<arith::SubIOp>(loc_, m, b_.create<arith::RemSIOp>(loc_, m, idx(2)));
    loop(idx(0), m4, 4, [&](Value i) { rows(i, 4, n, k); });
    loop(m4, m2, 2, [&](Value i) { rows(i, 2, n, k); });
    loop(m2, m, 1, [&](Value i) { rows(i, 1, n, k); });
    b_.create<func::ReturnOp>(loc_);
  }

private:
  Value idx(int64_t v) { return b_.create<arith::ConstantIndexOp>(loc_, v); }

  /// `for iv in [lb, ub) step step { body(iv) }` at the builder's point.
  void loop(Value lb, Value ub, int64_t step, function_ref<void(Value)> body) {
    auto forOp = b_.create<scf::ForOp>(loc_, lb, ub, idx(step));
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPoint(forOp.getBody()->getTerminator());
    body(forOp.getInductionVar());
  }

  /// Rows [i, i + r) of C: blocks of accumulators / r vectors per row, then single vectors
  /// (the last masked).
  void rows(Value i, int64_t r, Value n, Value k) {
    int64_t perRow = bl_.accumulators / r;
    int64_t tile = perRow * bl_.vectorWidth;
    Value whole = b_.create<arith::SubIOp>(loc_, n, b_.create<arith::RemSIOp>(loc_, n, idx(tile)));
    loop(idx(0), whole, tile, [&](Value j0) { block(i, r, j0, k, perRow, /*valid=*/nullptr); });
    loop(whole, n, bl_.vectorWidth, [&](Value j0) {
      Value valid = b_.create<arith::SubIOp>(loc_, n, j0);
      block(i, r, j0, k, 1, valid);
    });
  }

  /// `count` vectors of each of rows [i, i + r) of C from column j0, through the whole k
  /// loop: per k, r broadcasts of A, `count` loads of B shared by the rows, r x count FMAs.
  /// With `valid` (count 1), only the first `valid` lanes (at most W) exist: masked loads and
  /// stores.
  void block(Value i, int64_t r, Value j0, Value k, int64_t count, Value valid) {
    Value mask = valid ? b_.create<vector::CreateMaskOp>(loc_, maskType_, ValueRange{valid})
                       : Value();
    Value zeroVec = b_.create<arith::ConstantOp>(loc_, vec_, b_.getZeroAttr(vec_));
    auto column = [&](OpBuilder &nb, Location loc, int64_t v) {
      return nb.create<arith::AddIOp>(
          loc, j0, nb.create<arith::ConstantIndexOp>(loc, v * bl_.vectorWidth));
    };
    auto row = [&](OpBuilder &nb, Location loc, int64_t q) -> Value {
      return q == 0 ? i
                    : nb.create<arith::AddIOp>(loc, i, nb.create<arith::ConstantIndexOp>(loc, q));
    };
    auto load = [&](OpBuilder &nb, Location loc, Value memref, Value at0, int64_t v) -> Value {
      SmallVector<Value> at = {at0, column(nb, loc, v)};
      if (mask)
        return nb.create<vector::MaskedLoadOp>(loc, vec_, memref, at, mask, zeroVec);
      return nb.create<vector::LoadOp>(loc, vec_, memref, at);
    };
    // Zero, or C loaded only when accumulating (C of a zero-filled product is unwritten).
    SmallVector<Type> types(r * count, vec_);
    auto initIf = b_.create<scf::IfOp>(loc_, types, zeroInit_, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b_);
      b_.setInsertionPointToStart(initIf.thenBlock());
      b_.create<scf::YieldOp>(loc_, SmallVector<Value>(r * count, zeroVec));
      b_.setInsertionPointToStart(initIf.elseBlock());
      SmallVector<Value> loaded;
      for (int64_t q = 0; q < r; ++q)
        for (int64_t v = 0; v < count; ++v)
          loaded.push_back(load(b_, loc_, c_, row(b_, loc_, q), v));
      b_.create<scf::YieldOp>(loc_, loaded);
    }
    auto kLoop = b_.create<scf::ForOp>(
        loc_, idx(0), k, idx(1), ValueRange(initIf.getResults()),
        [&](OpBuilder &nb, Location loc, Value p, ValueRange acc) {
          SmallVector<Value> bs;
          for (int64_t v = 0; v < count; ++v)
            bs.push_back(load(nb, loc, bm_, p, v));
          SmallVector<Value> next;
          for (int64_t q = 0; q < r; ++q) {
            Value a = nb.create<memref::LoadOp>(loc, a_, ValueRange{row(nb, loc, q), p});
            Value splat = nb.create<vector::BroadcastOp>(loc, vec_, a);
            for (int64_t v = 0; v < count; ++v)
              next.push_back(nb.create<vector::FMAOp>(loc, splat, bs[v], acc[q * count + v]));
          }
          nb.create<scf::YieldOp>(loc, next);
        });
    for (int64_t q = 0; q < r; ++q)
      for (int64_t v = 0; v < count; ++v) {
        Value at[] = {row(b_, loc_, q), column(b_, loc_, v)};
        Value sum = kLoop.getResult(q * count + v);
        if (mask)
          b_.create<vector::MaskedStoreOp>(loc_, c_, at, mask, sum);
        else
          b_.create<vector::StoreOp>(loc_, sum, c_, at);
      }
  }

  GemvBlocking bl_;
  OpBuilder b_;
  Location loc_;
  VectorType vec_, maskType_;
  Value a_, bm_, c_, zeroInit_;
};

} // namespace

std::string getGemvKernelName(const GemvBlocking &blocking) {
  return "nnx_sgemv_" + std::to_string(blocking.accumulators) + "xv" +
         std::to_string(blocking.vectorWidth);
}

std::optional<GemvBlocking> parseGemvKernelName(llvm::StringRef name) {
  if (!name.consume_front("nnx_sgemv_"))
    return std::nullopt;
  auto [accumulators, width] = name.split("xv");
  GemvBlocking b{};
  if (accumulators.getAsInteger(10, b.accumulators) || width.getAsInteger(10, b.vectorWidth) ||
      b.accumulators < 4 || b.accumulators > 32 || b.vectorWidth <= 0 ||
      b.vectorWidth > 64)
    return std::nullopt;
  return b;
}

func::FuncOp getOrCreateGemvKernel(ModuleOp module, const GemvBlocking &blocking,
                                   bool declarationOnly) {
  std::string name = getGemvKernelName(blocking);
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  MLIRContext *context = module.getContext();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  MemRefType rows = getGemmResultType(context);
  auto type = b.getFunctionType({getGemmOperandType(context), rows, rows, b.getI1Type()}, {});
  auto kernel = b.create<func::FuncOp>(module.getLoc(), name, type);
  kernel.setPrivate();
  if (declarationOnly)
    return kernel;
  markKernelFunction(kernel, blocking.vectorWidth);
  GemvEmitter(kernel, blocking).emit();
  return kernel;
}

} // namespace nnx::codegen
