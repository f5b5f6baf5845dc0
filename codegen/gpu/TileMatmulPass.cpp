//===- TileMatmulPass.cpp - The nnx-gpu-tile-matmul pass ------------------===//
//
// f32 matrix products as GPU kernels that reuse what they read: each block of 16 x 16 threads
// computes a 64 x 64 tile of C, staging 16-deep slices of A and B in shared memory (every
// element read from global memory once per block, not once per output), and each thread
// keeps a 4 x 4 register tile of C across the whole k loop (the private attribution, indexed
// by constants only, which LLVM's SROA promotes to registers). This is the classic SGEMM
// structure of Volkov & Demmel (SC'08) and of CUTLASS's "threadblock tile / warp tile /
// thread tile" hierarchy, at its simplest: one level of shared memory, no double buffering.
//
// The pass runs on buffers, before nnx-gpu-map-loops lowers the other linalg ops, and
// replaces every linalg matmul (plain, batched, transpose_a / transpose_b: the forms autodiff
// produces) of f32 with static shapes and at least 16 rows and columns by a gpu.launch:
//
//   grid (ceil(N / 64), ceil(M / 64), batch), block (16, 16, 1)
//   workgroup: aTile[16][64], bTile[16][64]; private: acc[4][4]
//   acc = C tile (or 0 when a zero fill of C comes right before: the fill is folded away)
//   for k0 in 0..K step 16:
//     each thread stores 4 elements of A's 64 x 16 slice and 4 of B's 16 x 64 slice (0 where
//     outside the matrices), consecutive threads reading consecutive addresses
//     barrier
//     for kk in 0..16: acc[i][j] = fma(aTile[kk][ty + 16 i], bTile[kk][tx + 16 j], acc[i][j])
//     barrier
//   C tile = acc, where inside C
//
// Thread (tx, ty) owns rows ty + 16 i and columns tx + 16 j of the tile: consecutive threads
// of a warp read consecutive words of bTile (no bank conflicts), the same word of aTile (a
// broadcast), and store consecutive columns of C. Every output is summed by one thread, k in
// ascending order from C's value, as the interpreter does (the padding adds exact zeros), so
// the result does not depend on the tiling; each step is one fused multiply-add (the
// interpreter rounds the product too: the two differ by an ulp or so per step). Smaller products keep map-loops' one thread per
// output: below 16 rows or columns most of a 64 x 64 tile would idle.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"

namespace nnx::codegen {

#define GEN_PASS_DECL_GPUTILEMATMULPASS
#define GEN_PASS_DEF_GPUTILEMATMULPASS
#include "codegen/gpu/Passes.h.inc"

using namespace mlir;

namespace {

/// Threads per block along x (columns of C) and y (rows).
constexpr int64_t kThreads = 16;
/// Each thread's register tile: kThreadTile x kThreadTile outputs.
constexpr int64_t kThreadTile = 4;
/// The block's tile of C: kTile x kTile (= kThreads * kThreadTile).
constexpr int64_t kTile = kThreads * kThreadTile;
/// The depth of the A and B slices in shared memory.
constexpr int64_t kDepth = 16;
/// Elements of one slice (kTile x kDepth) each thread loads.
constexpr int64_t kLoadsPerThread = kTile * kDepth / (kThreads * kThreads);

/// One product C[b] (+)= op(A[b]) op(B[b]) with static sizes.
struct Product {
  linalg::LinalgOp op;
  Value a, b, c;
  bool batched = false, transA = false, transB = false;
  int64_t batch = 1, m = 0, n = 0, k = 0;
  bool zeroInit = false; ///< C was zero-filled right before; the fill is erased
};

/// The product `op` computes, if it is an f32 matmul on buffers with static shapes.
std::optional<Product> matchProduct(linalg::LinalgOp op) {
  Product p;
  Operation *o = op.getOperation();
  p.op = op;
  p.batched = isa<linalg::BatchMatmulOp, linalg::BatchMatmulTransposeAOp,
                  linalg::BatchMatmulTransposeBOp>(o);
  p.transA = isa<linalg::MatmulTransposeAOp, linalg::BatchMatmulTransposeAOp>(o);
  p.transB = isa<linalg::MatmulTransposeBOp, linalg::BatchMatmulTransposeBOp>(o);
  if (!p.batched && !p.transA && !p.transB && !isa<linalg::MatmulOp>(o))
    return std::nullopt;
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2)
    return std::nullopt;
  p.a = op.getDpsInputOperand(0)->get();
  p.b = op.getDpsInputOperand(1)->get();
  p.c = op.getDpsInitOperand(0)->get();
  Type f32 = Float32Type::get(op.getContext());
  for (Value v : {p.a, p.b, p.c}) {
    auto type = dyn_cast<MemRefType>(v.getType());
    if (!type || !type.hasStaticShape() || type.getElementType() != f32)
      return std::nullopt;
  }
  ArrayRef<int64_t> cShape = cast<MemRefType>(p.c.getType()).getShape();
  int64_t lead = p.batched ? 1 : 0;
  p.batch = p.batched ? cShape[0] : 1;
  p.m = cShape[lead];
  p.n = cShape[lead + 1];
  p.k = cast<MemRefType>(p.a.getType()).getShape()[lead + (p.transA ? 0 : 1)];
  return p;
}

/// Folds `linalg.fill 0` of C into the product when nothing that touches memory (other than
/// allocations) stands between them: the fill would be a kernel of its own.
void foldZeroFill(Product &p) {
  for (Operation *prev = p.op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(prev)) {
      if (fill.getOutputs()[0] != p.c || !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
        return;
      fill->erase();
      p.zeroInit = true;
      return;
    }
    if (!isMemoryEffectFree(prev) && !isa<memref::AllocOp>(prev))
      return;
  }
}

/// Builds the kernel's index arithmetic and guarded accesses at one insertion point.
struct KernelBuilder {
  OpBuilder &b;
  Location loc;
  const Product &p;
  Value batch; ///< the block's batch element (blockIdx.z), unused when not batched

  Value c(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value add(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value mul(Value x, int64_t y) { return b.create<arith::MulIOp>(loc, x, c(y)); }
  Value div(Value x, int64_t y) { return b.create<arith::DivUIOp>(loc, x, c(y)); }
  Value rem(Value x, int64_t y) { return b.create<arith::RemUIOp>(loc, x, c(y)); }
  Value less(Value x, int64_t bound) {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, x, c(bound));
  }
  Value both(Value x, Value y) { return b.create<arith::AndIOp>(loc, x, y); }

  /// `matrix`'s element at (row, col) of the block's batch element.
  SmallVector<Value> at(Value row, Value col) {
    if (p.batched)
      return {batch, row, col};
    return {row, col};
  }

  /// `matrix`[at(row, col)] where `inside`, else 0.
  Value loadOrZero(Value matrix, Value inside, Value row, Value col) {
    auto load = b.create<scf::IfOp>(
        loc, inside,
        [&](OpBuilder &nested, Location l) {
          Value v = nested.create<memref::LoadOp>(l, matrix, at(row, col));
          nested.create<scf::YieldOp>(l, v);
        },
        [&](OpBuilder &nested, Location l) {
          Value zero = nested.create<arith::ConstantOp>(l, nested.getF32FloatAttr(0));
          nested.create<scf::YieldOp>(l, zero);
        });
    return load.getResult(0);
  }
};

/// Replaces `p.op` by the tiled kernel's gpu.launch.
void emitTiledKernel(Product &p) {
  MLIRContext *context = p.op->getContext();
  OpBuilder b(p.op);
  Location loc = p.op.getLoc();
  Type f32 = b.getF32Type();
  auto workgroup = gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup);
  auto priv = gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Private);
  auto tileType = MemRefType::get({kDepth, kTile}, f32, MemRefLayoutAttrInterface{}, workgroup);
  auto accType =
      MemRefType::get({kThreadTile, kThreadTile}, f32, MemRefLayoutAttrInterface{}, priv);
  auto constant = [&](int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); };
  Value gridX = constant((p.n + kTile - 1) / kTile);
  Value gridY = constant((p.m + kTile - 1) / kTile);
  Value threads = constant(kThreads);
  Value one = constant(1);
  auto launch = b.create<gpu::LaunchOp>(loc, gridX, gridY, constant(p.batch), threads, threads,
                                        one, /*dynamicSharedMemorySize=*/nullptr,
                                        /*asyncTokenType=*/nullptr, ValueRange{},
                                        TypeRange{tileType, tileType}, TypeRange{accType});
  Block &body = launch.getBody().front();
  b.setInsertionPointToStart(&body);
  KernelBuilder kb{b, loc, p, launch.getBlockIds().z};
  Value aTile = launch.getWorkgroupAttributions()[0];
  Value bTile = launch.getWorkgroupAttributions()[1];
  Value acc = launch.getPrivateAttributions()[0];
  Value tx = launch.getThreadIds().x, ty = launch.getThreadIds().y;
  Value row0 = kb.mul(launch.getBlockIds().y, kTile);
  Value col0 = kb.mul(launch.getBlockIds().x, kTile);
  SmallVector<Value> rows, cols, rowInside, colInside;
  for (int64_t i = 0; i < kThreadTile; ++i) {
    rows.push_back(kb.add(row0, kb.add(ty, kb.c(kThreads * i))));
    cols.push_back(kb.add(col0, kb.add(tx, kb.c(kThreads * i))));
    rowInside.push_back(kb.less(rows.back(), p.m));
    colInside.push_back(kb.less(cols.back(), p.n));
  }

  // The register tile starts from C (C += A B) or from zero.
  Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
  for (int64_t i = 0; i < kThreadTile; ++i)
    for (int64_t j = 0; j < kThreadTile; ++j) {
      Value init = p.zeroInit ? zero
                              : kb.loadOrZero(p.c, kb.both(rowInside[i], colInside[j]),
                                              rows[i], cols[j]);
      b.create<memref::StoreOp>(loc, init, acc, ValueRange{kb.c(i), kb.c(j)});
    }

  Value linear = kb.add(kb.mul(ty, kThreads), tx);
  auto kLoop = b.create<scf::ForOp>(loc, kb.c(0), kb.c(p.k), kb.c(kDepth));
  b.setInsertionPointToStart(kLoop.getBody());
  Value k0 = kLoop.getInductionVar();
  for (int64_t r = 0; r < kLoadsPerThread; ++r) {
    Value e = kb.add(linear, kb.c(kThreads * kThreads * r));
    // A's slice: consecutive threads along A's contiguous dimension (k, or m when
    // transposed).
    Value ak = p.transA ? kb.div(e, kTile) : kb.rem(e, kDepth);
    Value am = p.transA ? kb.rem(e, kTile) : kb.div(e, kDepth);
    Value gm = kb.add(row0, am), gak = kb.add(k0, ak);
    Value aInside = kb.both(kb.less(gm, p.m), kb.less(gak, p.k));
    Value aValue = p.transA ? kb.loadOrZero(p.a, aInside, gak, gm)
                            : kb.loadOrZero(p.a, aInside, gm, gak);
    b.create<memref::StoreOp>(loc, aValue, aTile, ValueRange{ak, am});
    // B's slice: along n, or k when transposed.
    Value bk = p.transB ? kb.rem(e, kDepth) : kb.div(e, kTile);
    Value bn = p.transB ? kb.div(e, kDepth) : kb.rem(e, kTile);
    Value gn = kb.add(col0, bn), gbk = kb.add(k0, bk);
    Value bInside = kb.both(kb.less(gn, p.n), kb.less(gbk, p.k));
    Value bValue = p.transB ? kb.loadOrZero(p.b, bInside, gn, gbk)
                            : kb.loadOrZero(p.b, bInside, gbk, gn);
    b.create<memref::StoreOp>(loc, bValue, bTile, ValueRange{bk, bn});
  }
  b.create<gpu::BarrierOp>(loc);
  // The slices' 16 steps, unrolled (constant shared-memory offsets), the register tile in
  // SSA values between its load and store: one fused multiply-add per output and step, as
  // the PTX will run it (fma.rn), so the host emulation computes the very same roundings.
  SmallVector<Value> sums;
  for (int64_t i = 0; i < kThreadTile; ++i)
    for (int64_t j = 0; j < kThreadTile; ++j)
      sums.push_back(b.create<memref::LoadOp>(loc, acc, ValueRange{kb.c(i), kb.c(j)}));
  SmallVector<Value> rowInTile, colInTile;
  for (int64_t i = 0; i < kThreadTile; ++i) {
    rowInTile.push_back(kb.add(ty, kb.c(kThreads * i)));
    colInTile.push_back(kb.add(tx, kb.c(kThreads * i)));
  }
  for (int64_t kk = 0; kk < kDepth; ++kk) {
    SmallVector<Value> as, bs;
    for (int64_t i = 0; i < kThreadTile; ++i) {
      as.push_back(b.create<memref::LoadOp>(loc, aTile, ValueRange{kb.c(kk), rowInTile[i]}));
      bs.push_back(b.create<memref::LoadOp>(loc, bTile, ValueRange{kb.c(kk), colInTile[i]}));
    }
    for (int64_t i = 0; i < kThreadTile; ++i)
      for (int64_t j = 0; j < kThreadTile; ++j) {
        Value &sum = sums[i * kThreadTile + j];
        sum = b.create<math::FmaOp>(loc, as[i], bs[j], sum);
      }
  }
  for (int64_t i = 0; i < kThreadTile; ++i)
    for (int64_t j = 0; j < kThreadTile; ++j)
      b.create<memref::StoreOp>(loc, sums[i * kThreadTile + j], acc,
                                ValueRange{kb.c(i), kb.c(j)});
  b.create<gpu::BarrierOp>(loc);

  // The register tile to C, where inside it.
  b.setInsertionPointAfter(kLoop);
  for (int64_t i = 0; i < kThreadTile; ++i)
    for (int64_t j = 0; j < kThreadTile; ++j) {
      auto inside = b.create<scf::IfOp>(loc, kb.both(rowInside[i], colInside[j]));
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(inside.thenBlock());
      Value v = b.create<memref::LoadOp>(loc, acc, ValueRange{kb.c(i), kb.c(j)});
      b.create<memref::StoreOp>(loc, v, p.c, kb.at(rows[i], cols[j]));
    }
  b.create<gpu::TerminatorOp>(loc);
  p.op->erase();
}

struct GpuTileMatmulPass : impl::GpuTileMatmulPassBase<GpuTileMatmulPass> {
  using GpuTileMatmulPassBase::GpuTileMatmulPassBase;

  void runOnOperation() override {
    SmallVector<Product> products;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<Product> p = matchProduct(op))
        if (p->m >= minSize && p->n >= minSize)
          products.push_back(*p);
    });
    for (Product &p : products) {
      foldZeroFill(p);
      emitTiledKernel(p);
    }
  }
};

} // namespace
} // namespace nnx::codegen
