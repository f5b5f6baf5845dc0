//===- GemmKernel.cpp - The f32 GEMM kernel function ----------------------===//
//
// The GotoBLAS/BLIS loop nest, in the vector dialect, as one function per module:
//
//   for jc < N step NC                       B block, kept in L3
//     for pc < K step KC                     one rank-KC update
//       pack B[pc:+KC, jc:+NC] -> Bp[NC/NR][KC][NR]   (zero-padded to whole panels; vector
//                                                     copies chosen by stride)
//       for ic < M step MC                   A block, kept in L2
//         pack A[ic:+MC, pc:+KC] -> Ap[MC/MR][KC][MR]
//         for jr < NC step NR, ir < MC step MR:        the micro-kernel:
//           prefetch the C rows of the next tile (ir + MR) for writing
//           acc[MR][NR] = first k block of a zero-filled C ? 0 : C tile
//           for k < KC: acc[r] += broadcast(Ap[r]) * Bp[0:NR]   (MR x NR/VL vector FMAs)
//           C tile = acc
//
// The MR x NR accumulator lives in vector registers across the whole k loop (scf.for
// iteration arguments); packing makes every load of the inner loop contiguous whatever the
// operands' strides. Edge tiles load and store C with masks (the packed panels are
// zero-padded, so the k loop is the same). The threaded variant is one scf.parallel (OpenMP
// after convert-scf-to-openmp) that gives each thread a contiguous slice of C's columns (or
// rows, when M > N) and runs the nest above on it with packing buffers of its own: no
// barrier, no sum split, so results do not depend on the thread count.
//
// Numerics: every output element accumulates its products in ascending k, as the interpreter
// does, but each step is one fused multiply-add (one rounding instead of two).
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/GemmKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace nnx::codegen {

using namespace mlir;

namespace {

/// Emits the body of one kernel function.
class KernelEmitter {
public:
  KernelEmitter(func::FuncOp kernel, const GemmBlocking &blocking, bool parallel)
      : bl_(blocking), parallel_(parallel), b_(kernel.getContext()), loc_(kernel.getLoc()) {
    f32_ = b_.getF32Type();
    vec_ = VectorType::get({bl_.vectorWidth}, f32_);
    Block *entry = kernel.addEntryBlock();
    b_.setInsertionPointToStart(entry);
    a_ = entry->getArgument(0);
    bm_ = entry->getArgument(1);
    c_ = entry->getArgument(2);
    zeroInit_ = entry->getArgument(3);
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
  /// ceil(x / y) for positive index values.
  Value ceilDiv(Value x, Value y) {
    return b_.create<arith::DivSIOp>(loc_, add(x, sub(y, idx(1))), y);
  }

  /// `for iv in [lb, ub) step step { body(iv) }` at the builder's point.
  void loop(Value lb, Value ub, int64_t step, function_ref<void(Value)> body) {
    auto forOp = b_.create<scf::ForOp>(loc_, lb, ub, idx(step));
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPoint(forOp.getBody()->getTerminator());
    body(forOp.getInductionVar());
  }

  /// Where a block to pack lies: element (p, e) of the block (p the depth in K, e the row of
  /// A or column of B) is src[pOff + p, eOff + e] when eDim is 1, src[eOff + e, pOff + p]
  /// when it is 0.
  struct PackSource {
    Value src;
    unsigned eDim;
    Value pOff, eOff;
  };
  void packPanels(Value packed, int64_t width, Value count, Value kc, const PackSource &from);
  void packContiguousPanel(Value packed, int64_t width, Value q, Value valid, Value kc,
                           Value view, const PackSource &from);
  void packTransposedPanel(Value packed, int64_t width, Value q, Value valid, Value kc,
                           Value view, const PackSource &from);
  void packScalarDepths(Value packed, int64_t width, Value q, Value valid, Value p0, Value kc,
                        const PackSource &from);
  void microKernel(Value ic, Value jc, Value pc, Value ir, Value jr, Value kc, Value mc,
                   Value nc);
  void kernelBody(Value first, Value kcount, Value apOffset, Value bpOffset,
                  function_ref<Value(int64_t, int64_t)> loadC,
                  function_ref<void(int64_t, int64_t, Value)> storeC);
  void emitSerial();
  void emitThreaded();

  GemmBlocking bl_;
  bool parallel_; ///< whether C is split over threads
  OpBuilder b_;
  Location loc_;
  Type f32_;
  VectorType vec_;
  Value a_, bm_, c_, zeroInit_; ///< the kernel's arguments (a thread's slices of them)
  Value ap_, bp_;               ///< packed A and B
};

/// Packs `count` elements of one operand block into `packed` [panels][KC][width], panel q
/// holding rows (or columns) [q width, (q + 1) width) of the block, zero past `count`.
///
/// The operands come with any strides (a transposed operand is a view with swapped strides),
/// so the copy is chosen at run time: where the `width` elements of one depth are contiguous
/// (B as stored, or A transposed), one masked vector load and store per depth; where the
/// depths are contiguous (A as stored, B transposed), 8 depths of 8 elements at a time are
/// loaded and transposed with shuffles; otherwise element by element. Measured on the seed's
/// train step (Zen 3, batch 128, 1 thread): the element-by-element copy of A alone was 11% of
/// the step; with these copies the step ran at a median 526 instead of 462 steps/s. They
/// cost LLVM 0.04 s (serial kernel) and 0.1 s (threaded) more, once: kernels are cached.
void KernelEmitter::packPanels(Value packed, int64_t width, Value count, Value kc,
                               const PackSource &from) {
  Value panels = b_.create<arith::DivSIOp>(loc_, add(count, idx(width - 1)), idx(width));
  auto meta = b_.create<memref::ExtractStridedMetadataOp>(loc_, from.src);
  unsigned pDim = 1 - from.eDim;
  Value eStride = meta.getStrides()[from.eDim], pStride = meta.getStrides()[pDim];
  // `src` as a [rows, cols] view whose second dim has unit stride: [P, E] or [E, P].
  auto viewOf = [&](unsigned rowDim, unsigned colDim) {
    auto type = MemRefType::get(
        {ShapedType::kDynamic, ShapedType::kDynamic}, f32_,
        StridedLayoutAttr::get(b_.getContext(), ShapedType::kDynamic, {ShapedType::kDynamic, 1}));
    return b_
        .create<memref::ReinterpretCastOp>(
            loc_, type, meta.getBaseBuffer(), OpFoldResult(meta.getOffset()),
            ArrayRef<OpFoldResult>{meta.getSizes()[rowDim], meta.getSizes()[colDim]},
            ArrayRef<OpFoldResult>{meta.getStrides()[rowDim], b_.getIndexAttr(1)})
        .getResult();
  };
  auto eq = [&](Value x, int64_t v) {
    return b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, x, idx(v));
  };
  // Both views are descriptors only: each is read where its unit stride holds.
  Value pe = viewOf(pDim, from.eDim), ep = viewOf(from.eDim, pDim);
  Value contiguous = eq(eStride, 1), transposed = eq(pStride, 1);
  // One loop with the choice inside, on the calling thread (a threaded kernel packs each
  // thread's own panels inside its parallel loop).
  loop(idx(0), panels, 1, [&](Value q) {
    Value valid = min(sub(count, mul(q, idx(width))), idx(width));
    auto byElements = b_.create<scf::IfOp>(loc_, contiguous, /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPoint(byElements.thenBlock()->getTerminator());
    packContiguousPanel(packed, width, q, valid, kc, pe, from);
    b_.setInsertionPoint(byElements.elseBlock()->getTerminator());
    auto byDepths = b_.create<scf::IfOp>(loc_, transposed, /*withElseRegion=*/true);
    b_.setInsertionPoint(byDepths.thenBlock()->getTerminator());
    packTransposedPanel(packed, width, q, valid, kc, ep, from);
    b_.setInsertionPoint(byDepths.elseBlock()->getTerminator());
    packScalarDepths(packed, width, q, valid, idx(0), kc, from);
  });
}

/// One panel whose elements are contiguous at each depth: `view` is src as [P, E].
void KernelEmitter::packContiguousPanel(Value packed, int64_t width, Value q, Value valid,
                                        Value kc, Value view, const PackSource &from) {
  auto type = VectorType::get({width}, f32_);
  Value zero = b_.create<arith::ConstantOp>(loc_, type, b_.getZeroAttr(type));
  Value mask = b_.create<vector::CreateMaskOp>(
      loc_, VectorType::get({width}, b_.getI1Type()), ValueRange{valid});
  Value e0 = add(from.eOff, mul(q, idx(width)));
  loop(idx(0), kc, 1, [&](Value p) {
    Value v = b_.create<vector::MaskedLoadOp>(loc_, type, view, ValueRange{add(from.pOff, p), e0},
                                              mask, zero);
    b_.create<vector::StoreOp>(loc_, v, packed, ValueRange{q, p, idx(0)});
  });
}

/// The 8 x 8 transpose of `rows` (8 vector<8xf32>) in 24 two-input shuffles, AVX's
/// unpcklps/unpckhps, shufps and vperm2f128 (each a single instruction on x86, cheap for LLVM
/// to select, unlike a chain of element inserts).
static SmallVector<Value> transpose8x8(OpBuilder &b, Location loc, ArrayRef<Value> rows) {
  auto shuffle = [&](Value x, Value y, ArrayRef<int64_t> mask) {
    return b.create<vector::ShuffleOp>(loc, x, y, mask).getResult();
  };
  const int64_t unpackLo[] = {0, 8, 1, 9, 4, 12, 5, 13}, unpackHi[] = {2, 10, 3, 11, 6, 14, 7, 15};
  const int64_t pairLo[] = {0, 1, 8, 9, 4, 5, 12, 13}, pairHi[] = {2, 3, 10, 11, 6, 7, 14, 15};
  const int64_t halfLo[] = {0, 1, 2, 3, 8, 9, 10, 11}, halfHi[] = {4, 5, 6, 7, 12, 13, 14, 15};
  SmallVector<Value> y(8), z(8), out(8);
  for (int i = 0; i < 8; i += 2) {
    y[i] = shuffle(rows[i], rows[i + 1], unpackLo);
    y[i + 1] = shuffle(rows[i], rows[i + 1], unpackHi);
  }
  for (int i : {0, 4}) {
    z[i] = shuffle(y[i], y[i + 2], pairLo);
    z[i + 1] = shuffle(y[i], y[i + 2], pairHi);
    z[i + 2] = shuffle(y[i + 1], y[i + 3], pairLo);
    z[i + 3] = shuffle(y[i + 1], y[i + 3], pairHi);
  }
  for (int i = 0; i < 4; ++i) {
    out[i] = shuffle(z[i], z[i + 4], halfLo);
    out[i + 4] = shuffle(z[i], z[i + 4], halfHi);
  }
  return out;
}

/// One panel whose depths are contiguous for each element: `view` is src as [E, P]. In a
/// whole panel, groups of 8 depths of 8 elements at a time are loaded as 8 vectors,
/// transposed in registers and stored as 8 depths of the panel; a partial panel (the last),
/// and the depths past the last group, go element by element.
void KernelEmitter::packTransposedPanel(Value packed, int64_t width, Value q, Value valid,
                                        Value kc, Value view, const PackSource &from) {
  constexpr int64_t kLanes = 8;
  auto whole = b_.create<scf::IfOp>(
      loc_, b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, valid, idx(width)),
      /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPoint(whole.thenBlock()->getTerminator());
  auto type = VectorType::get({kLanes}, f32_);
  Value zero = b_.create<arith::ConstantOp>(loc_, type, b_.getZeroAttr(type));
  Value e0 = add(from.eOff, mul(q, idx(width)));
  Value groups = mul(b_.create<arith::DivSIOp>(loc_, kc, idx(kLanes)), idx(kLanes));
  loop(idx(0), groups, kLanes, [&](Value p0) {
    Value col = add(from.pOff, p0);
    for (int64_t block = 0; block < width; block += kLanes) {
      int64_t count = std::min(kLanes, width - block);
      SmallVector<Value> rows;
      for (int64_t e = 0; e < kLanes; ++e)
        rows.push_back(e < count ? b_.create<vector::LoadOp>(loc_, type, view,
                                                             ValueRange{add(e0, idx(block + e)), col})
                                       .getResult()
                                 : zero);
      SmallVector<Value> depths = transpose8x8(b_, loc_, rows);
      for (int64_t l = 0; l < kLanes; ++l) {
        Value part = depths[l];
        if (count < kLanes)
          part = b_.create<vector::ExtractStridedSliceOp>(loc_, part, ArrayRef<int64_t>{0},
                                                          ArrayRef<int64_t>{count},
                                                          ArrayRef<int64_t>{1});
        b_.create<vector::StoreOp>(loc_, part, packed,
                                   ValueRange{q, add(p0, idx(l)), idx(block)});
      }
    }
  });
  packScalarDepths(packed, width, q, valid, groups, kc, from);
  b_.setInsertionPoint(whole.elseBlock()->getTerminator());
  packScalarDepths(packed, width, q, valid, idx(0), kc, from);
}

/// Depths [p0, kc) of one panel, element by element, through src's strides.
void KernelEmitter::packScalarDepths(Value packed, int64_t width, Value q, Value valid,
                                     Value p0, Value kc, const PackSource &from) {
  Value zero = b_.create<arith::ConstantOp>(loc_, b_.getF32FloatAttr(0.0f));
  Value e0 = add(from.eOff, mul(q, idx(width)));
  loop(p0, kc, 1, [&](Value p) {
    loop(idx(0), valid, 1, [&](Value e) {
      Value at[2];
      at[from.eDim] = add(e0, e);
      at[1 - from.eDim] = add(from.pOff, p);
      Value v = b_.create<memref::LoadOp>(loc_, from.src, ValueRange{at[0], at[1]});
      b_.create<memref::StoreOp>(loc_, v, packed, ValueRange{q, p, e});
    });
    loop(valid, idx(width), 1, [&](Value e) {
      b_.create<memref::StoreOp>(loc_, zero, packed, ValueRange{q, p, e});
    });
  });
}

/// The k loop of one micro-tile: accumulators start from C (or zero when `first`), take
/// `kcount` rank-1 updates from the packed panels, and go back to C.
void KernelEmitter::kernelBody(Value first, Value kcount, Value apPanel, Value bpPanel,
                             function_ref<Value(int64_t, int64_t)> loadC,
                             function_ref<void(int64_t, int64_t, Value)> storeC) {
  int64_t vectors = bl_.nr / bl_.vectorWidth;
  Value zeroVec = b_.create<arith::ConstantOp>(loc_, vec_, b_.getZeroAttr(vec_));
  // Zero, or C loaded only when needed: a select would load the tile of a zero-filled C too
  // (memory nobody wrote yet, a cache miss per row).
  SmallVector<Type> accTypes(bl_.mr * vectors, vec_);
  auto initIf = b_.create<scf::IfOp>(loc_, accTypes, first, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPointToStart(initIf.thenBlock());
    b_.create<scf::YieldOp>(loc_, SmallVector<Value>(accTypes.size(), zeroVec));
    b_.setInsertionPointToStart(initIf.elseBlock());
    SmallVector<Value> loaded;
    for (int64_t r = 0; r < bl_.mr; ++r)
      for (int64_t v = 0; v < vectors; ++v)
        loaded.push_back(loadC(r, v));
    b_.create<scf::YieldOp>(loc_, loaded);
  }
  SmallVector<Value> init(initIf.getResults());
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
void KernelEmitter::microKernel(Value ic, Value jc, Value pc, Value ir, Value jr, Value kc,
                                Value mc, Value nc) {
  Value first = b_.create<arith::AndIOp>(
      loc_, zeroInit_, b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, pc, idx(0)));
  Value apPanel = b_.create<arith::DivSIOp>(loc_, ir, idx(bl_.mr));
  Value bpPanel = b_.create<arith::DivSIOp>(loc_, jr, idx(bl_.nr));
  Value row0 = add(ic, ir), col0 = add(jc, jr);
  Value rows = min(sub(mc, ir), idx(bl_.mr));
  Value cols = min(sub(nc, jr), idx(bl_.nr));
  Value whole = b_.create<arith::AndIOp>(
      loc_, b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, rows, idx(bl_.mr)),
      b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::eq, cols, idx(bl_.nr)));
  // The C rows of the tile below (the ir loop's next tile) are fetched for writing while this
  // tile's k loop runs, clamped to C (the last tile fetches its own rows again). With the
  // conditional load of C below, one thread, medians of 5 alternating runs on a Xeon: 2048^3
  // 83 -> 92 GFLOP/s, 1024^3 86 -> 90.
  Value lastRow = sub(b_.create<memref::DimOp>(loc_, c_, 0), idx(1));
  Value lastCol = sub(b_.create<memref::DimOp>(loc_, c_, 1), idx(1));
  for (int64_t r = 0; r < bl_.mr; ++r)
    for (int64_t line = 0; line * 16 < bl_.nr; ++line)
      b_.create<memref::PrefetchOp>(loc_, c_,
                                    ValueRange{min(add(row0, idx(bl_.mr + r)), lastRow),
                                               min(add(col0, idx(line * 16)), lastCol)},
                                    /*isWrite=*/true, /*localityHint=*/3, /*isDataCache=*/true);
  auto ifOp = b_.create<scf::IfOp>(loc_, whole, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b_);
  // Whole tile: vector loads and stores on C itself.
  b_.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  auto cAt = [&](int64_t r, int64_t v) {
    return SmallVector<Value>{add(row0, idx(r)), add(col0, idx(v * bl_.vectorWidth))};
  };
  kernelBody(
      first, kc, apPanel, bpPanel,
      [&](int64_t r, int64_t v) { return b_.create<vector::LoadOp>(loc_, vec_, c_, cAt(r, v)); },
      [&](int64_t r, int64_t v, Value x) { b_.create<vector::StoreOp>(loc_, x, c_, cAt(r, v)); });
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
    return std::make_pair(SmallVector<Value>{row, col}, mask);
  };
  kernelBody(
      first, kc, apPanel, bpPanel,
      [&](int64_t r, int64_t v) {
        auto [at, mask] = edgeAt(r, v);
        return b_.create<vector::MaskedLoadOp>(loc_, vec_, c_, at, mask, zeroVec);
      },
      [&](int64_t r, int64_t v, Value x) {
        auto [at, mask] = edgeAt(r, v);
        b_.create<vector::MaskedStoreOp>(loc_, c_, at, mask, x);
      });
}

/// The serial GotoBLAS/BLIS loop nest for C (+)= A B on the current views a_, bm_ and c_,
/// with packing buffers of its own.
void KernelEmitter::emitSerial() {
  Value m = b_.create<memref::DimOp>(loc_, c_, 0), n = b_.create<memref::DimOp>(loc_, c_, 1);
  Value k = b_.create<memref::DimOp>(loc_, a_, 1);
  // Packed buffers, 64-byte aligned, as large as the blocks this product has.
  auto panelsOf = [&](Value extent, int64_t block, int64_t width) {
    return ceilDiv(min(extent, idx(block)), idx(width));
  };
  Value kcMax = min(k, idx(bl_.kc));
  auto bpType = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, bl_.nr}, f32_);
  auto apType = MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, bl_.mr}, f32_);
  bp_ = b_.create<memref::AllocOp>(loc_, bpType, ValueRange{panelsOf(n, bl_.nc, bl_.nr), kcMax},
                                   b_.getI64IntegerAttr(64));
  ap_ = b_.create<memref::AllocOp>(loc_, apType, ValueRange{panelsOf(m, bl_.mc, bl_.mr), kcMax},
                                   b_.getI64IntegerAttr(64));
  loop(idx(0), n, bl_.nc, [&](Value jc) {
    Value nc = min(sub(n, jc), idx(bl_.nc));
    loop(idx(0), k, bl_.kc, [&](Value pc) {
      Value kc = min(sub(k, pc), idx(bl_.kc));
      packPanels(bp_, bl_.nr, nc, kc, PackSource{bm_, /*eDim=*/1, pc, jc});
      loop(idx(0), m, bl_.mc, [&](Value ic) {
        Value mc = min(sub(m, ic), idx(bl_.mc));
        packPanels(ap_, bl_.mr, mc, kc, PackSource{a_, /*eDim=*/0, pc, ic});
        loop(idx(0), nc, bl_.nr, [&](Value jr) {
          loop(idx(0), mc, bl_.mr,
               [&](Value ir) { microKernel(ic, jc, pc, ir, jr, kc, mc, nc); });
        });
      });
    });
  });
  b_.create<memref::DeallocOp>(loc_, ap_);
  b_.create<memref::DeallocOp>(loc_, bp_);
}

/// The threaded variant: one parallel region per call, C split into one contiguous slice per
/// thread, each running the serial nest on its slice with its own packing buffers. No barrier
/// inside, no sum split: each element of C is computed as the serial kernel computes it.
///
/// The slice is whole NR-column panels, or whole MR-row tiles when M > N: with columns split
/// each thread packs all of A (M K copies), with rows all of B (K N), against M K N / threads
/// multiply-adds. Measured on a Xeon, two threads, GFLOP/s, against one parallel loop per
/// rank-KC update with the columns always split: the seed's forward product 128 x 784 x 256
/// 145-165 -> 160-170; its weight gradient 784 x 128 x 256 stayed within the noise (170-255
/// before, 170-210 after; one thread: 100-145).
void KernelEmitter::emitThreaded() {
  Value a = a_, b = bm_, c = c_;
  Value m = b_.create<memref::DimOp>(loc_, c, 0), n = b_.create<memref::DimOp>(loc_, c, 1);
  Value k = b_.create<memref::DimOp>(loc_, a, 1);
  Value threads = b_.create<arith::IndexCastOp>(
      loc_, b_.getIndexType(),
      b_.create<func::CallOp>(loc_, "omp_get_max_threads", TypeRange{b_.getI32Type()})
          .getResult(0));
  // Splits `extent` into whole units of `unit` over the threads and runs the serial nest on
  // each thread's [lo, hi) along dimension `dim` of C (rows of A or columns of B with it).
  auto split = [&](Value extent, int64_t unit, unsigned dim) {
    Value units = ceilDiv(extent, idx(unit));
    Value perChunk = ceilDiv(units, min(threads, units));
    Value chunks = ceilDiv(units, perChunk);
    auto par = b_.create<scf::ParallelOp>(loc_, ValueRange{idx(0)}, ValueRange{chunks},
                                          ValueRange{idx(1)});
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPoint(par.getBody()->getTerminator());
    Value lo = mul(mul(par.getInductionVars()[0], perChunk), idx(unit));
    Value size = sub(min(add(lo, mul(perChunk, idx(unit))), extent), lo);
    auto slice = [&](Value view, unsigned sliceDim, Value other) {
      SmallVector<OpFoldResult> offsets(2, b_.getIndexAttr(0)), sizes(2, other);
      offsets[sliceDim] = lo;
      sizes[sliceDim] = size;
      SmallVector<OpFoldResult> strides(2, b_.getIndexAttr(1));
      auto type = memref::SubViewOp::inferResultType(cast<MemRefType>(view.getType()), offsets,
                                                     sizes, strides);
      Value sub = b_.create<memref::SubViewOp>(loc_, cast<MemRefType>(type), view, offsets,
                                               sizes, strides);
      // Back to the kernel's operand types (the same layouts, less static).
      return b_.create<memref::CastOp>(loc_, view.getType(), sub).getResult();
    };
    if (dim == 0) {
      a_ = slice(a, 0, k);
      c_ = slice(c, 0, n);
    } else {
      bm_ = slice(b, 1, k);
      c_ = slice(c, 1, m);
    }
    emitSerial();
    a_ = a, bm_ = b, c_ = c;
  };
  auto ifOp = b_.create<scf::IfOp>(
      loc_, b_.create<arith::CmpIOp>(loc_, arith::CmpIPredicate::sgt, m, n),
      /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b_);
  b_.setInsertionPoint(ifOp.thenBlock()->getTerminator());
  split(m, bl_.mr, 0);
  b_.setInsertionPoint(ifOp.elseBlock()->getTerminator());
  split(n, bl_.nr, 1);
}

void KernelEmitter::emit() {
  if (parallel_)
    emitThreaded();
  else
    emitSerial();
  b_.create<func::ReturnOp>(loc_);
}

} // namespace

MemRefType getGemmOperandType(MLIRContext *context) {
  int64_t dyn = ShapedType::kDynamic;
  return MemRefType::get({dyn, dyn}, Float32Type::get(context),
                         StridedLayoutAttr::get(context, dyn, {dyn, dyn}));
}

MemRefType getGemmResultType(MLIRContext *context) {
  int64_t dyn = ShapedType::kDynamic;
  return MemRefType::get({dyn, dyn}, Float32Type::get(context),
                         StridedLayoutAttr::get(context, dyn, {dyn, 1}));
}

std::string getGemmKernelName(const GemmBlocking &blocking, bool parallel) {
  return "nnx_sgemm_" + std::to_string(blocking.mr) + "x" + std::to_string(blocking.nr) + "_v" +
         std::to_string(blocking.vectorWidth) + "_" + std::to_string(blocking.mc) + "_" +
         std::to_string(blocking.kc) + "_" + std::to_string(blocking.nc) +
         (parallel ? "_mt" : "");
}

std::optional<std::pair<GemmBlocking, bool>> parseGemmKernelName(llvm::StringRef name) {
  if (!name.consume_front("nnx_sgemm_"))
    return std::nullopt;
  bool parallel = name.consume_back("_mt");
  GemmBlocking b{};
  auto number = [&](int64_t &value, llvm::StringRef separator) {
    size_t end = separator.empty() ? name.size() : name.find(separator);
    if (end == llvm::StringRef::npos || name.substr(0, end).getAsInteger(10, value) ||
        value <= 0)
      return false;
    name = name.drop_front(std::min(name.size(), end + separator.size()));
    return true;
  };
  if (!number(b.mr, "x") || !number(b.nr, "_v") || !number(b.vectorWidth, "_") ||
      !number(b.mc, "_") || !number(b.kc, "_") || !number(b.nc, "") || !name.empty())
    return std::nullopt;
  if (b.nr % b.vectorWidth || b.mc % b.mr || b.nc % b.nr)
    return std::nullopt;
  return std::make_pair(b, parallel);
}

void markKernelFunction(func::FuncOp kernel, int64_t vectorWidth) {
  Builder b(kernel.getContext());
  // With 16-lane vectors, 512-bit types must stay legal: x86 CPUs tuned to prefer 256-bit
  // vectors (Intel's AVX-512 cores) would otherwise split every zmm operation in two and run
  // out of registers.
  SmallVector<Attribute> passthrough = {b.getStringAttr("noinline")};
  if (vectorWidth * 32 >= 512)
    passthrough.push_back(b.getArrayAttr({b.getStringAttr("min-legal-vector-width"),
                                          b.getStringAttr(std::to_string(vectorWidth * 32))}));
  kernel->setAttr("passthrough", b.getArrayAttr(passthrough));
}

func::FuncOp getOrCreateGemmKernel(ModuleOp module, const GemmBlocking &blocking,
                                   bool parallel, bool declarationOnly) {
  std::string name = getGemmKernelName(blocking, parallel);
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  MLIRContext *context = module.getContext();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  MemRefType operand = getGemmOperandType(context);
  auto type = b.getFunctionType(
      {operand, operand, getGemmResultType(context), b.getI1Type()}, {});
  auto kernel = b.create<func::FuncOp>(module.getLoc(), name, type);
  kernel.setPrivate();
  if (declarationOnly)
    return kernel;
  markKernelFunction(kernel, blocking.vectorWidth);
  // The threaded kernel asks libomp how many threads its parallel loop gets.
  if (parallel && !module.lookupSymbol<func::FuncOp>("omp_get_max_threads")) {
    OpBuilder decl = OpBuilder::atBlockBegin(module.getBody());
    decl.create<func::FuncOp>(module.getLoc(), "omp_get_max_threads",
                              decl.getFunctionType({}, {decl.getI32Type()}))
        .setPrivate();
  }
  KernelEmitter(kernel, blocking, parallel).emit();
  return kernel;
}

} // namespace nnx::codegen
