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
#include "codegen/linalg/BufferMatmul.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
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

using Product = BufferMatmul;

/// Emits the tiled kernel of one product: the launch, then its body in four parts.
class TiledKernelEmitter {
public:
  explicit TiledKernelEmitter(Product &p) : p(p), b(p.op), loc(p.op.getLoc()) {}

  /// Replaces the product by the kernel's gpu.launch.
  void emit() {
    gpu::LaunchOp launch = createLaunch();
    b.setInsertionPointToStart(&launch.getBody().front());
    batch = launch.getBlockIds().z;
    aTile = launch.getWorkgroupAttributions()[0];
    bTile = launch.getWorkgroupAttributions()[1];
    acc = launch.getPrivateAttributions()[0];
    tx = launch.getThreadIds().x;
    ty = launch.getThreadIds().y;
    row0 = mul(launch.getBlockIds().y, kTile);
    col0 = mul(launch.getBlockIds().x, kTile);
    for (int64_t i = 0; i < kThreadTile; ++i) {
      rows.push_back(add(row0, add(ty, c(kThreads * i))));
      cols.push_back(add(col0, add(tx, c(kThreads * i))));
      rowInside.push_back(less(rows.back(), p.m));
      colInside.push_back(less(cols.back(), p.n));
    }
    initAccumulators();
    Value linear = add(mul(ty, kThreads), tx);
    auto kLoop = b.create<scf::ForOp>(loc, c(0), c(p.k), c(kDepth));
    b.setInsertionPointToStart(kLoop.getBody());
    stageSlices(kLoop.getInductionVar(), linear);
    b.create<gpu::BarrierOp>(loc);
    multiplySlices();
    b.create<gpu::BarrierOp>(loc);
    b.setInsertionPointAfter(kLoop);
    storeTile();
    b.create<gpu::TerminatorOp>(loc);
    p.op->erase();
  }

private:
  Product &p;
  OpBuilder b;
  Location loc;
  Value batch, aTile, bTile, acc, tx, ty, row0, col0;
  /// The thread's rows and columns of C, and whether each lies inside C.
  SmallVector<Value> rows, cols, rowInside, colInside;

  Value c(int64_t v) { return b.create<arith::ConstantIndexOp>(loc, v); }
  Value add(Value x, Value y) { return b.create<arith::AddIOp>(loc, x, y); }
  Value mul(Value x, int64_t y) { return b.create<arith::MulIOp>(loc, x, c(y)); }
  Value div(Value x, int64_t y) { return b.create<arith::DivUIOp>(loc, x, c(y)); }
  Value rem(Value x, int64_t y) { return b.create<arith::RemUIOp>(loc, x, c(y)); }
  Value less(Value x, int64_t bound) {
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, x, c(bound));
  }
  Value both(Value x, Value y) { return b.create<arith::AndIOp>(loc, x, y); }

  /// The indices of element (row, col) of the block's batch element.
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

  /// The launch: a block of kThreads x kThreads threads per kTile x kTile tile of C, one
  /// grid layer per batch element; two workgroup slices and the private register tile.
  gpu::LaunchOp createLaunch() {
    MLIRContext *context = b.getContext();
    Type f32 = b.getF32Type();
    auto workgroup = gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Workgroup);
    auto priv = gpu::AddressSpaceAttr::get(context, gpu::AddressSpace::Private);
    auto tileType =
        MemRefType::get({kDepth, kTile}, f32, MemRefLayoutAttrInterface{}, workgroup);
    auto accType =
        MemRefType::get({kThreadTile, kThreadTile}, f32, MemRefLayoutAttrInterface{}, priv);
    Value threads = c(kThreads);
    return b.create<gpu::LaunchOp>(loc, c((p.n + kTile - 1) / kTile),
                                   c((p.m + kTile - 1) / kTile), c(p.batch), threads, threads,
                                   c(1), /*dynamicSharedMemorySize=*/nullptr,
                                   /*asyncTokenType=*/nullptr, ValueRange{},
                                   TypeRange{tileType, tileType}, TypeRange{accType});
  }

  /// The register tile starts from C (C += A B) or from zero.
  void initAccumulators() {
    Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
    for (int64_t i = 0; i < kThreadTile; ++i)
      for (int64_t j = 0; j < kThreadTile; ++j) {
        Value init = p.zeroInit ? zero
                                : loadOrZero(p.c, both(rowInside[i], colInside[j]), rows[i],
                                             cols[j]);
        b.create<memref::StoreOp>(loc, init, acc, ValueRange{c(i), c(j)});
      }
  }

  /// Each thread's kLoadsPerThread elements of A's and B's slices at depth k0.
  void stageSlices(Value k0, Value linear) {
    for (int64_t r = 0; r < kLoadsPerThread; ++r) {
      Value e = add(linear, c(kThreads * kThreads * r));
      // A is stored [m][k] (k contiguous), transposed [k][m]; B [k][n], transposed [n][k].
      stageElement(p.a, aTile, e, k0, row0, p.m, /*depthContiguous=*/!p.transA,
                   /*depthFirst=*/p.transA);
      stageElement(p.b, bTile, e, k0, col0, p.n, /*depthContiguous=*/p.transB,
                   /*depthFirst=*/!p.transB);
    }
  }

  /// Element `e` of one operand's kDepth x kTile slice into `tile`[depth][outer]: consecutive
  /// threads take consecutive elements along the operand's contiguous dimension (the depth k
  /// when `depthContiguous`, else its outer dimension, offset `outer0` and bounded by
  /// `outerBound`); `depthFirst` says which index comes first in `matrix`. Zero outside it.
  void stageElement(Value matrix, Value tile, Value e, Value k0, Value outer0,
                    int64_t outerBound, bool depthContiguous, bool depthFirst) {
    Value depth = depthContiguous ? rem(e, kDepth) : div(e, kTile);
    Value outer = depthContiguous ? div(e, kDepth) : rem(e, kTile);
    Value globalOuter = add(outer0, outer), globalDepth = add(k0, depth);
    Value inside = both(less(globalOuter, outerBound), less(globalDepth, p.k));
    Value value = depthFirst ? loadOrZero(matrix, inside, globalDepth, globalOuter)
                             : loadOrZero(matrix, inside, globalOuter, globalDepth);
    b.create<memref::StoreOp>(loc, value, tile, ValueRange{depth, outer});
  }

  /// The slices' kDepth steps, unrolled (constant shared-memory offsets), the register tile
  /// in SSA values between its load and store: one fused multiply-add per output and step,
  /// as the PTX runs it (fma.rn), so the host emulation computes the very same roundings.
  void multiplySlices() {
    SmallVector<Value> sums;
    for (int64_t i = 0; i < kThreadTile; ++i)
      for (int64_t j = 0; j < kThreadTile; ++j)
        sums.push_back(b.create<memref::LoadOp>(loc, acc, ValueRange{c(i), c(j)}));
    SmallVector<Value> rowInTile, colInTile;
    for (int64_t i = 0; i < kThreadTile; ++i) {
      rowInTile.push_back(add(ty, c(kThreads * i)));
      colInTile.push_back(add(tx, c(kThreads * i)));
    }
    for (int64_t kk = 0; kk < kDepth; ++kk) {
      SmallVector<Value> as, bs;
      for (int64_t i = 0; i < kThreadTile; ++i) {
        as.push_back(b.create<memref::LoadOp>(loc, aTile, ValueRange{c(kk), rowInTile[i]}));
        bs.push_back(b.create<memref::LoadOp>(loc, bTile, ValueRange{c(kk), colInTile[i]}));
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
                                  ValueRange{c(i), c(j)});
  }

  /// The register tile to C, where inside it.
  void storeTile() {
    for (int64_t i = 0; i < kThreadTile; ++i)
      for (int64_t j = 0; j < kThreadTile; ++j) {
        auto inside = b.create<scf::IfOp>(loc, both(rowInside[i], colInside[j]));
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(inside.thenBlock());
        Value v = b.create<memref::LoadOp>(loc, acc, ValueRange{c(i), c(j)});
        b.create<memref::StoreOp>(loc, v, p.c, at(rows[i], cols[j]));
      }
  }
};

struct GpuTileMatmulPass : impl::GpuTileMatmulPassBase<GpuTileMatmulPass> {
  using GpuTileMatmulPassBase::GpuTileMatmulPassBase;

  void runOnOperation() override {
    SmallVector<Product> products;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (std::optional<Product> p = matchBufferMatmul(op))
        if (p->m >= minSize && p->n >= minSize)
          products.push_back(*p);
    });
    for (Product &p : products) {
      foldZeroFill(p);
      TiledKernelEmitter(p).emit();
    }
  }
};

} // namespace
} // namespace nnx::codegen
