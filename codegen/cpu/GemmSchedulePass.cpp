//===- GemmSchedulePass.cpp - The nnx-gemm-schedule pass ------------------===//
//
// f32 matrix products at the FMA peak: every linalg matmul on buffers (plain, batched, and the
// transpose_a / transpose_b forms autodiff produces) big enough to pay for packing becomes a
// call of the module's GEMM kernel (GemmKernel.cpp: the BLIS loop nest in the vector dialect)
// on 2-D strided views: a transposed operand is a view with swapped strides, a batch element
// a rank-reducing subview, so nothing is copied and one kernel serves every product. The zero
// fill of the result, when nothing touches it in between, is folded into the kernel's first k
// block. Products of at least 64^3 multiply-adds call the threaded variant. Products with
// fewer rows than the register tile (a batch-1 forward) call the few-rows kernel
// (GemvKernel.cpp) the same way.
//
// Block sizes follow BLIS's configurations for the host: MR x NR = 6 x 16 on AVX2 (BLIS
// haswell/zen3 sgemm), 8 x 32 on AVX-512 (DESIGN §6's upstream MLIR schedule); MC 144, KC 256
// (B's micro-panel KC x NR stays in L1, A's block MC x KC in L2), NC 3072.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"
#include "codegen/cpu/GemmKernel.h"
#include "codegen/cpu/GemvKernel.h"
#include "codegen/linalg/BufferMatmul.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_GEMMSCHEDULEPASS
#define GEN_PASS_DEF_GEMMSCHEDULEPASS
#include "codegen/cpu/Passes.h.inc"

using namespace mlir;

namespace {

using Gemm = BufferMatmul;

/// Whether the last dim of `type` is contiguous (vector loads and stores need it).
bool hasUnitInnerStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(getStridesAndOffset(type, strides, offset)) && !strides.empty() &&
         strides.back() == 1;
}

/// The product `op` computes, if it is an f32 matmul with static shapes on buffers whose C
/// has contiguous rows (the kernels store them as vectors).
std::optional<Gemm> matchGemm(linalg::LinalgOp op) {
  std::optional<Gemm> g = matchBufferMatmul(op);
  if (!g || !hasUnitInnerStride(cast<MemRefType>(g->c.getType())))
    return std::nullopt;
  return g;
}

/// Whether the schedule pays for `g`: packing costs about (M + N) K per block, the product
/// M N K, so skinny products (a batch-1 forward, M = 1) keep the plain vectorised loops. N
/// needs 8 columns, not a full vector: a classifier's N = 10 is one masked vector of 16 lanes
/// with AVX-512, where the plain loops (j innermost, 10 iterations) stay scalar — measured on
/// the seed's train step at batch 128 on a Xeon core, those two products took half of the
/// step's own code's time outside the kernels.
bool worthScheduling(const Gemm &g, const GemmBlocking &blocking) {
  return g.m >= blocking.mr && g.n >= 8 && g.k >= 8 && g.m * g.n * g.k >= 32 * 32 * 32;
}

/// Whether `g`, which the GEMM kernel would not pay for, has few enough rows for the few-rows
/// kernel (GemvKernel.cpp), which loads B's rows as vectors: B as stored, rows contiguous.
/// Measured on a Xeon core, the seed's whole batch-1 forward (1 x 784 x 256, then 1 x 256 x
/// 10): 24 us with plain loops, which loaded and stored C at every k, 8 us with the kernel.
bool worthGemv(const Gemm &g, const GemmBlocking &blocking) {
  return g.m < blocking.mr && !g.transB &&
         hasUnitInnerStride(cast<MemRefType>(g.b.getType()));
}

/// Multiply-adds below which a product stays on one thread: 64^3 takes ~3 us at 90 GFLOP/s,
/// about what starting and joining a parallel region costs.
constexpr int64_t kMinParallelWork = 64 * 64 * 64;

/// `value` (2-D, or batch `batch` of a 3-D buffer), transposed when `transpose`, as a view of
/// type `target`.
Value viewOf(OpBuilder &b, Location loc, Value value, Value batch, bool transpose,
             MemRefType target) {
  auto type = cast<MemRefType>(value.getType());
  if (batch) {
    ArrayRef<int64_t> shape = type.getShape();
    SmallVector<OpFoldResult> offsets = {batch, b.getIndexAttr(0), b.getIndexAttr(0)};
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1), b.getIndexAttr(shape[1]),
                                       b.getIndexAttr(shape[2])};
    SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
    auto sliceType = cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
        {shape[1], shape[2]}, type, offsets, sizes, strides));
    value = b.create<memref::SubViewOp>(loc, sliceType, value, offsets, sizes, strides);
  }
  if (transpose) {
    AffineMap swap = AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, b.getContext());
    value = b.create<memref::TransposeOp>(loc, value, AffineMapAttr::get(swap));
  }
  return b.create<memref::CastOp>(loc, target, value);
}

/// Replaces the product by calls of `kernel` (the GEMM's or the few-rows kernel), one per
/// batch element.
void emitCalls(const Gemm &g, func::FuncOp kernel) {
  OpBuilder b(g.op);
  Location loc = g.op->getLoc();
  MLIRContext *context = b.getContext();
  Value zeroInit = b.create<arith::ConstantIntOp>(loc, g.zeroInit ? 1 : 0, 1);
  auto call = [&](OpBuilder &nb, Value batch) {
    Value a = viewOf(nb, loc, g.a, batch, g.transA, getGemmOperandType(context));
    auto bType = cast<MemRefType>(kernel.getFunctionType().getInput(1));
    Value bv = viewOf(nb, loc, g.b, batch, g.transB, bType);
    Value c = viewOf(nb, loc, g.c, batch, false, getGemmResultType(context));
    nb.create<func::CallOp>(loc, kernel, ValueRange{a, bv, c, zeroInit});
  };
  if (!g.batched) {
    call(b, nullptr);
  } else {
    Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
    Value one = b.create<arith::ConstantIndexOp>(loc, 1);
    Value count = b.create<arith::ConstantIndexOp>(loc, g.batch);
    b.create<scf::ForOp>(loc, zero, count, one, ValueRange{},
                         [&](OpBuilder &nb, Location, Value batch, ValueRange) {
                           call(nb, batch);
                           nb.create<scf::YieldOp>(loc);
                         });
  }
  g.op->erase();
}

struct GemmSchedulePass : impl::GemmSchedulePassBase<GemmSchedulePass> {
  using GemmSchedulePassBase::GemmSchedulePassBase;

  void runOnOperation() override {
    GemmBlocking blocking{vectorWidth, mr, nr, mc, kc, nc};
    if (blocking.vectorWidth <= 0 || blocking.mr <= 0 || blocking.nr % blocking.vectorWidth ||
        blocking.nr <= 0 || blocking.mc % blocking.mr || blocking.nc % blocking.nr ||
        blocking.kc <= 0) {
      getOperation().emitError("nnx-gemm-schedule: inconsistent blocking (nr must be a "
                               "multiple of vector-width, mc of mr, nc of nr)");
      return signalPassFailure();
    }
    SmallVector<Gemm> gemms, gemvs;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<Gemm> g = matchGemm(op)) {
        if (worthScheduling(*g, blocking))
          gemms.push_back(*g);
        else if (worthGemv(*g, blocking))
          gemvs.push_back(*g);
      }
    });
    GemvBlocking gemvBlocking = getGemvBlocking(vectorWidth);
    for (Gemm &g : gemvs) {
      foldZeroFill(g);
      emitCalls(g, getOrCreateGemvKernel(getOperation(), gemvBlocking, externalKernels));
    }
    for (Gemm &g : gemms) {
      foldZeroFill(g);
      // The threaded kernel splits C's rows when M > N, else its column panels: threaded
      // only when that dimension has two units to share.
      bool splittable = g.m > g.n ? g.m > blocking.mr : g.n > blocking.nr;
      bool parallel = threads && g.m * g.n * g.k >= kMinParallelWork && splittable;
      emitCalls(g, getOrCreateGemmKernel(getOperation(), blocking, parallel, externalKernels));
    }
  }
};

} // namespace
} // namespace nnx::codegen
