//===- GemmSchedulePass.cpp - The nnx-gemm-schedule pass ------------------===//
//
// f32 matrix products at the FMA peak: every linalg matmul on buffers (plain, batched, and the
// transpose_a / transpose_b forms autodiff produces) big enough to pay for it becomes the
// GotoBLAS/BLIS loop nest, written in the vector dialect:
//
//   for jc < N step NC                       B block, kept in L3
//     for pc < K step KC                     one rank-KC update
//       pack B[pc:+KC, jc:+NC] -> Bp[NC/NR][KC][NR]     (zero-padded to whole panels)
//       for ic < M step MC                   A block, kept in L2
//         pack A[ic:+MC, pc:+KC] -> Ap[MC/MR][KC][MR]
//         for jr < NC step NR, ir < MC step MR:         the micro-kernel:
//           acc[MR][NR] = first k block of a zero-filled C ? 0 : C tile
//           for k < KC: acc[r] += broadcast(Ap[r]) * Bp[0:NR]   (MR x NR/VL vector FMAs)
//           C tile = acc
//
// The MR x NR accumulator lives in vector registers across the whole k loop (scf.for
// iteration arguments); packing makes every load of the inner loop contiguous whatever the
// operands' layouts (transposed operands are read through their strides, never materialised).
// Edge tiles load and store C with masks (the packed panels are zero-padded, so the k loop
// is the same). The zero fill of the
// result, when it is the op right before, is folded into the first k block. The jr loop is an
// scf.parallel (OpenMP threads) when the product is big enough.
//
// Numerics: every output element accumulates its products in ascending k, as the interpreter
// does, but each step is one fused multiply-add (one rounding instead of two). Blocking and
// threads never split a sum, so the result does not depend on them.
//
// Block sizes follow BLIS's configurations for the host: MR x NR = 6 x 16 on AVX2 (BLIS
// haswell/zen3 sgemm), 8 x 32 on AVX-512 (DESIGN §6's upstream MLIR schedule); MC 144, KC 256
// (B's micro-panel KC x NR stays in L1, A's block MC x KC in L2), NC 3072.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_GEMMSCHEDULEPASS
#define GEN_PASS_DEF_GEMMSCHEDULEPASS
#include "codegen/cpu/Passes.h.inc"

using namespace mlir;

namespace {

/// The register and cache blocking of one schedule.
struct Blocking {
  int64_t vectorWidth; ///< f32 lanes of one vector register (8: AVX2, 16: AVX-512)
  int64_t mr;          ///< rows of the register tile
  int64_t nr;          ///< columns of the register tile, a multiple of vectorWidth
  int64_t mc, kc, nc;  ///< cache blocks of M, K and N
};

/// One matrix product C[b] (+)= op(A[b]) op(B[b]) found in the IR, with static sizes.
struct Gemm {
  Operation *op = nullptr;
  Value a, b, c;
  bool batched = false, transA = false, transB = false;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool zeroInit = false; ///< C was zero-filled right before: the first k block starts at 0
};

/// Whether the last dim of `type` is contiguous (vector loads and stores need it).
bool hasUnitInnerStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(getStridesAndOffset(type, strides, offset)) && !strides.empty() &&
         strides.back() == 1;
}

/// The product `op` computes, if it is an f32 matmul with static shapes on buffers.
std::optional<Gemm> matchGemm(linalg::LinalgOp op) {
  Gemm g;
  Operation *o = op.getOperation();
  g.op = o;
  g.batched = isa<linalg::BatchMatmulOp, linalg::BatchMatmulTransposeAOp,
                  linalg::BatchMatmulTransposeBOp>(o);
  g.transA = isa<linalg::MatmulTransposeAOp, linalg::BatchMatmulTransposeAOp>(o);
  g.transB = isa<linalg::MatmulTransposeBOp, linalg::BatchMatmulTransposeBOp>(o);
  if (!g.batched && !g.transA && !g.transB && !isa<linalg::MatmulOp>(o))
    return std::nullopt;
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2)
    return std::nullopt;
  g.a = op.getDpsInputOperand(0)->get();
  g.b = op.getDpsInputOperand(1)->get();
  g.c = op.getDpsInitOperand(0)->get();
  auto aType = dyn_cast<MemRefType>(g.a.getType());
  auto bType = dyn_cast<MemRefType>(g.b.getType());
  auto cType = dyn_cast<MemRefType>(g.c.getType());
  if (!aType || !bType || !cType || !aType.hasStaticShape() || !bType.hasStaticShape() ||
      !cType.hasStaticShape() || !hasUnitInnerStride(cType))
    return std::nullopt;
  Type f32 = Float32Type::get(op.getContext());
  if (aType.getElementType() != f32 || bType.getElementType() != f32 ||
      cType.getElementType() != f32)
    return std::nullopt;
  ArrayRef<int64_t> cShape = cType.getShape();
  int64_t lead = g.batched ? 1 : 0;
  g.batch = g.batched ? cShape[0] : 1;
  g.m = cShape[lead];
  g.n = cShape[lead + 1];
  g.k = aType.getShape()[lead + (g.transA ? 0 : 1)];
  return g;
}

/// Whether the schedule pays for `g`: packing costs about (M + N) K per block, the product
/// M N K, so skinny products (a batch-1 forward, M = 1) keep the plain vectorised loops.
bool worthScheduling(const Gemm &g, const Blocking &blocking) {
  return g.m >= blocking.mr && g.n >= blocking.vectorWidth && g.k >= 8 &&
         g.m * g.n * g.k >= 32 * 32 * 32;
}

/// Folds `linalg.fill 0` of C into the product when nothing that touches memory (other than
/// allocations) stands between the fill and the product.
void foldZeroFill(Gemm &g) {
  for (Operation *prev = g.op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(prev)) {
      if (fill.getOutputs()[0] != g.c || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
        return;
      fill->erase();
      g.zeroInit = true;
      return;
    }
    if (!isMemoryEffectFree(prev) && !isa<memref::AllocOp>(prev))
      return;
  }
}

/// Multiply-adds below which a product stays on one thread: 64^3 takes ~3 us at 90 GFLOP/s,
/// about what starting and joining a parallel region costs.
constexpr int64_t kMinParallelWork = 64 * 64 * 64;

/// Emits the schedule of one product in place of its op.
class GemmEmitter {
public:
  GemmEmitter(const Gemm &g, const Blocking &blocking, bool threaded)
      : g_(g), bl_(blocking), threaded_(threaded), b_(g.op), loc_(g.op->getLoc()) {
    f32_ = b_.getF32Type();
    vec_ = VectorType::get({bl_.vectorWidth}, f32_);
  }

  void emit();

private:
  Value idx(int64_t v) { return b_.create<arith::ConstantIndexOp>(loc_, v); }
  Value add(Value x, Value y) { return b_.create<arith::AddIOp>(loc_, x, y); }
  Value mul(Value x, Value y) { return b_.create<arith::MulIOp>(loc_, x, y); }
  Value min(Value x, Value y) { return b_.create<arith::MinSIOp>(loc_, x, y); }
  Value sub(Value x, Value y) { return b_.create<arith::SubIOp>(loc_, x, y); }
  Value lt(Value x, Value y) {
    return b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::slt, x, y);
  }

  /// `for iv in [lb, ub) step step { body(iv) }` at the builder's point.
  void loop(Value lb, Value ub, int64_t step, function_ref<void(Value)> body) {
    auto forOp = b_.create<scf::ForOp>(loc_, lb, ub, idx(step));
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPoint(forOp.getBody()->getTerminator());
    body(forOp.getInductionVar());
  }

  /// `loop`, or an scf.parallel of independent iterations when this product runs threaded.
  void loopMaybeParallel(Value lb, Value ub, int64_t step, function_ref<void(Value)> body) {
    if (!parallel_)
      return loop(lb, ub, step, body);
    auto par = b_.create<scf::ParallelOp>(loc_, ValueRange{lb}, ValueRange{ub},
                                          ValueRange{idx(step)});
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPoint(par.getBody()->getTerminator());
    body(par.getInductionVars()[0]);
  }

  /// Indices of C[batch, i, j] (or C[i, j]).
  SmallVector<Value> cIndices(Value batch, Value i, Value j) {
    if (g_.batched)
      return {batch, i, j};
    return {i, j};
  }
  /// A[row, col] of op(A): element (i, p) of the M x K operand, read through its layout.
  Value loadA(Value batch, Value i, Value p) {
    SmallVector<Value> indices;
    if (g_.batched)
      indices.push_back(batch);
    indices.push_back(g_.transA ? p : i);
    indices.push_back(g_.transA ? i : p);
    return b_.create<memref::LoadOp>(loc_, g_.a, indices);
  }
  /// Element (p, j) of the K x N operand op(B).
  Value loadB(Value batch, Value p, Value j) {
    SmallVector<Value> indices;
    if (g_.batched)
      indices.push_back(batch);
    indices.push_back(g_.transB ? j : p);
    indices.push_back(g_.transB ? p : j);
    return b_.create<memref::LoadOp>(loc_, g_.b, indices);
  }

  void packPanels(Value packed, int64_t width, Value count, Value kc,
                  function_ref<Value(Value, Value)> load);
  void microKernel(Value batch, Value ic, Value jc, Value pc, Value ir, Value jr, Value kc,
                   Value mc, Value nc);
  void kernelBody(Value first, Value kcount, Value apOffset, Value bpOffset,
                  function_ref<Value(int64_t, int64_t)> loadC,
                  function_ref<void(int64_t, int64_t, Value)> storeC);

  const Gemm &g_;
  Blocking bl_;
  bool threaded_;        ///< whether column panels may run on several threads
  bool parallel_ = false; ///< whether this product's panels do
  OpBuilder b_;
  Location loc_;
  Type f32_;
  VectorType vec_;
  Value ap_, bp_; ///< packed A and B
};

/// Packs `count` elements of one operand block into `packed` [panels][KC][width], panel q
/// holding rows (or columns) [q width, (q + 1) width) of the block, zero past `count`.
/// `load(p, e)` reads element e (within the block) at depth p.
void GemmEmitter::packPanels(Value packed, int64_t width, Value count, Value kc,
                             function_ref<Value(Value, Value)> load) {
  Value zero = b_.create<arith::ConstantOp>(loc_, b_.getF32FloatAttr(0.0f));
  Value panels = b_.create<arith::DivSIOp>(loc_, add(count, idx(width - 1)), idx(width));
  // Panels are packed in parallel too when the product is: serial packing would bound the
  // speed-up of two threads to about 1.5x (Amdahl, measured on 1024^3).
  loopMaybeParallel(idx(0), panels, 1, [&](Value q) {
    Value base = mul(q, idx(width));
    Value valid = min(sub(count, base), idx(width));
    loop(idx(0), kc, 1, [&](Value p) {
      loop(idx(0), valid, 1, [&](Value e) {
        Value v = load(p, add(base, e));
        b_.create<memref::StoreOp>(loc_, v, packed, ValueRange{q, p, e});
      });
      loop(valid, idx(width), 1, [&](Value e) {
        b_.create<memref::StoreOp>(loc_, zero, packed, ValueRange{q, p, e});
      });
    });
  });
}

/// The k loop of one micro-tile: accumulators start from C (or zero when `first`), take
/// `kcount` rank-1 updates from the packed panels, and go back to C.
void GemmEmitter::kernelBody(Value first, Value kcount, Value apPanel, Value bpPanel,
                             function_ref<Value(int64_t, int64_t)> loadC,
                             function_ref<void(int64_t, int64_t, Value)> storeC) {
  int64_t vectors = bl_.nr / bl_.vectorWidth;
  Value zeroVec = b_.create<arith::ConstantOp>(loc_, vec_, b_.getZeroAttr(vec_));
  SmallVector<Value> init;
  for (int64_t r = 0; r < bl_.mr; ++r)
    for (int64_t v = 0; v < vectors; ++v)
      init.push_back(b_.create<arith::SelectOp>(loc_, first, zeroVec, loadC(r, v)));
  auto kLoop = b_.create<scf::ForOp>(
      loc_, idx(0), kcount, idx(1), init,
      [&](OpBuilder &nb, Location loc, Value p, ValueRange acc) {
        SmallVector<Value> bv;
        for (int64_t v = 0; v < vectors; ++v)
          bv.push_back(nb.create<vector::LoadOp>(
              loc, vec_, bp_,
              ValueRange{bpPanel, p, nb.create<arith::ConstantIndexOp>(loc, v * bl_.vectorWidth)}));
        SmallVector<Value> next;
        for (int64_t r = 0; r < bl_.mr; ++r) {
          Value a = nb.create<memref::LoadOp>(
              loc, ap_, ValueRange{apPanel, p, nb.create<arith::ConstantIndexOp>(loc, r)});
          Value splat = nb.create<vector::BroadcastOp>(loc, vec_, a);
          for (int64_t v = 0; v < vectors; ++v)
            next.push_back(
                nb.create<vector::FMAOp>(loc, splat, bv[v], acc[r * vectors + v]));
        }
        nb.create<scf::YieldOp>(loc, next);
      });
  for (int64_t r = 0; r < bl_.mr; ++r)
    for (int64_t v = 0; v < vectors; ++v)
      storeC(r, v, kLoop.getResult(r * vectors + v));
}

/// One MR x NR tile of C at (ic + ir, jc + jr): plain vector loads and stores of C when whole,
/// masked ones at the right and bottom edges.
void GemmEmitter::microKernel(Value batch, Value ic, Value jc, Value pc, Value ir, Value jr,
                              Value kc, Value mc, Value nc) {
  Value first = b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, pc, idx(0));
  if (!g_.zeroInit)
    first = b_.create<arith::ConstantIntOp>(loc_, 0, 1);
  Value apPanel = b_.create<arith::DivSIOp>(loc_, ir, idx(bl_.mr));
  Value bpPanel = b_.create<arith::DivSIOp>(loc_, jr, idx(bl_.nr));
  Value row0 = add(ic, ir), col0 = add(jc, jr);
  Value rows = min(sub(mc, ir), idx(bl_.mr));
  Value cols = min(sub(nc, jr), idx(bl_.nr));
  Value whole = b_.create<arith::AndIOp>(
      loc_, b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, rows, idx(bl_.mr)),
      b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, cols, idx(bl_.nr)));
  auto ifOp = b_.create<scf::IfOp>(loc_, whole, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b_);
  // Whole tile: vector loads and stores on C itself.
  b_.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  auto cAt = [&](int64_t r, int64_t v) {
    return cIndices(batch, add(row0, idx(r)), add(col0, idx(v * bl_.vectorWidth)));
  };
  kernelBody(
      first, kc, apPanel, bpPanel,
      [&](int64_t r, int64_t v) { return b_.create<vector::LoadOp>(loc_, vec_, g_.c, cAt(r, v)); },
      [&](int64_t r, int64_t v, Value x) { b_.create<vector::StoreOp>(loc_, x, g_.c, cAt(r, v)); });
  // Edge tile: masked loads and stores of the rows < `rows` and columns < `cols`. Lanes off
  // the edge are not accessed; their indices are clamped so that every address stays in C.
  b_.setInsertionPoint(ifOp.elseBlock()->getTerminator());
  auto maskVec = VectorType::get({bl_.vectorWidth}, b_.getI1Type());
  Value zeroVec = b_.create<arith::ConstantOp>(loc_, vec_, b_.getZeroAttr(vec_));
  auto edgeAt = [&](int64_t r, int64_t v) {
    Value row = add(row0, min(idx(r), sub(rows, idx(1))));
    Value col = add(col0, min(idx(v * bl_.vectorWidth), sub(cols, idx(1))));
    Value lanes = b_.create<arith::SelectOp>(loc_, lt(idx(r), rows),
                                             sub(cols, idx(v * bl_.vectorWidth)), idx(0));
    Value mask = b_.create<vector::CreateMaskOp>(loc_, maskVec, ValueRange{lanes});
    return std::make_pair(cIndices(batch, row, col), mask);
  };
  kernelBody(
      first, kc, apPanel, bpPanel,
      [&](int64_t r, int64_t v) {
        auto [at, mask] = edgeAt(r, v);
        return b_.create<vector::MaskedLoadOp>(loc_, vec_, g_.c, at, mask, zeroVec);
      },
      [&](int64_t r, int64_t v, Value x) {
        auto [at, mask] = edgeAt(r, v);
        b_.create<vector::MaskedStoreOp>(loc_, g_.c, at, mask, x);
      });
}

void GemmEmitter::emit() {
  int64_t kcMax = std::min(bl_.kc, g_.k);
  int64_t ncMax = std::min(bl_.nc, g_.n), mcMax = std::min(bl_.mc, g_.m);
  auto ceilTo = [](int64_t x, int64_t m) { return (x + m - 1) / m * m; };
  // Packed buffers, 64-byte aligned, freed after the product.
  auto bpType = MemRefType::get({ceilTo(ncMax, bl_.nr) / bl_.nr, kcMax, bl_.nr}, f32_);
  auto apType = MemRefType::get({ceilTo(mcMax, bl_.mr) / bl_.mr, kcMax, bl_.mr}, f32_);
  bp_ = b_.create<memref::AllocOp>(loc_, bpType, b_.getI64IntegerAttr(64));
  ap_ = b_.create<memref::AllocOp>(loc_, apType, b_.getI64IntegerAttr(64));
  parallel_ = threaded_ && g_.m * g_.n * g_.k >= kMinParallelWork && g_.n > bl_.nr;
  Value m = idx(g_.m), n = idx(g_.n), k = idx(g_.k);
  loop(idx(0), idx(g_.batch), 1, [&](Value batch) {
    loop(idx(0), n, bl_.nc, [&](Value jc) {
      Value nc = min(sub(n, jc), idx(bl_.nc));
      loop(idx(0), k, bl_.kc, [&](Value pc) {
        Value kc = min(sub(k, pc), idx(bl_.kc));
        packPanels(bp_, bl_.nr, nc, kc,
                   [&](Value p, Value j) { return loadB(batch, add(pc, p), add(jc, j)); });
        loop(idx(0), m, bl_.mc, [&](Value ic) {
          Value mc = min(sub(m, ic), idx(bl_.mc));
          packPanels(ap_, bl_.mr, mc, kc,
                     [&](Value p, Value i) { return loadA(batch, add(ic, i), add(pc, p)); });
          // Column panels of C are independent: with enough of them and enough work they
          // are spread over threads (scf.parallel, to OpenMP).
          // Each element's sum stays in one thread, so results do not depend on threads.
          auto panel = [&](Value jr) {
            loop(idx(0), mc, bl_.mr,
                 [&](Value ir) { microKernel(batch, ic, jc, pc, ir, jr, kc, mc, nc); });
          };
          loopMaybeParallel(idx(0), nc, bl_.nr, panel);
        });
      });
    });
  });
  b_.create<memref::DeallocOp>(loc_, ap_);
  b_.create<memref::DeallocOp>(loc_, bp_);
  g_.op->erase();
}

struct GemmSchedulePass : impl::GemmSchedulePassBase<GemmSchedulePass> {
  using GemmSchedulePassBase::GemmSchedulePassBase;

  void runOnOperation() override {
    Blocking blocking{vectorWidth, mr, nr, mc, kc, nc};
    bool threads = this->threads;
    if (blocking.vectorWidth <= 0 || blocking.mr <= 0 || blocking.nr % blocking.vectorWidth ||
        blocking.nr <= 0 || blocking.mc % blocking.mr || blocking.nc % blocking.nr ||
        blocking.kc <= 0) {
      getOperation().emitError("nnx-gemm-schedule: inconsistent blocking (nr must be a "
                               "multiple of vector-width, mc of mr, nc of nr)");
      return signalPassFailure();
    }
    getOperation().walk([&](func::FuncOp func) {
      if (func.isExternal())
        return;
      SmallVector<Gemm> gemms;
      func.walk([&](linalg::LinalgOp op) {
        if (std::optional<Gemm> g = matchGemm(op); g && worthScheduling(*g, blocking))
          gemms.push_back(*g);
      });
      for (Gemm &g : gemms) {
        foldZeroFill(g);
        GemmEmitter(g, blocking, threads).emit();
      }
    });
  }
};

} // namespace
} // namespace nnx::codegen
