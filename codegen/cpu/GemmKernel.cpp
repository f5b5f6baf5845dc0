//===- GemmKernel.cpp - The f32 GEMM kernel function ----------------------===//
//
// The GotoBLAS/BLIS loop nest, in the vector dialect, as one function per module:
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
// operands' strides. Edge tiles load and store C with masks (the packed panels are
// zero-padded, so the k loop is the same). In the threaded variant the jr loop and the
// packing loops are scf.parallel (OpenMP after convert-scf-to-openmp): a thread owns whole
// columns of C, so no sum is split and results do not depend on the thread count.
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

  /// Element (i, p) of A and (p, j) of B, through their strides (a transposed operand is a
  /// view with swapped strides).
  Value loadA(Value i, Value p) { return b_.create<memref::LoadOp>(loc_, a_, ValueRange{i, p}); }
  Value loadB(Value p, Value j) { return b_.create<memref::LoadOp>(loc_, bm_, ValueRange{p, j}); }

  void packPanels(Value packed, int64_t width, Value count, Value kc,
                  function_ref<Value(Value, Value)> load);
  void microKernel(Value ic, Value jc, Value pc, Value ir, Value jr, Value kc, Value mc,
                   Value nc);
  void kernelBody(Value first, Value kcount, Value apOffset, Value bpOffset,
                  function_ref<Value(int64_t, int64_t)> loadC,
                  function_ref<void(int64_t, int64_t, Value)> storeC);

  GemmBlocking bl_;
  bool parallel_; ///< whether column panels and packing run on several threads
  OpBuilder b_;
  Location loc_;
  Type f32_;
  VectorType vec_;
  Value a_, bm_, c_, zeroInit_; ///< the kernel's arguments
  Value ap_, bp_;               ///< packed A and B
};

/// Packs `count` elements of one operand block into `packed` [panels][KC][width], panel q
/// holding rows (or columns) [q width, (q + 1) width) of the block, zero past `count`.
/// `load(p, e)` reads element e (within the block) at depth p.
void KernelEmitter::packPanels(Value packed, int64_t width, Value count, Value kc,
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
void KernelEmitter::kernelBody(Value first, Value kcount, Value apPanel, Value bpPanel,
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

void KernelEmitter::emit() {
  Value m = b_.create<memref::DimOp>(loc_, c_, 0), n = b_.create<memref::DimOp>(loc_, c_, 1);
  Value k = b_.create<memref::DimOp>(loc_, a_, 1);
  // Packed buffers, 64-byte aligned, as large as the blocks this product has.
  auto panelsOf = [&](Value extent, int64_t block, int64_t width) {
    Value used = min(extent, idx(block));
    return b_.create<arith::DivSIOp>(loc_, add(used, idx(width - 1)), idx(width)).getResult();
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
      packPanels(bp_, bl_.nr, nc, kc, [&](Value p, Value j) { return loadB(add(pc, p), add(jc, j)); });
      loop(idx(0), m, bl_.mc, [&](Value ic) {
        Value mc = min(sub(m, ic), idx(bl_.mc));
        packPanels(ap_, bl_.mr, mc, kc,
                   [&](Value p, Value i) { return loadA(add(ic, i), add(pc, p)); });
        loopMaybeParallel(idx(0), nc, bl_.nr, [&](Value jr) {
          loop(idx(0), mc, bl_.mr, [&](Value ir) { microKernel(ic, jc, pc, ir, jr, kc, mc, nc); });
        });
      });
    });
  });
  b_.create<memref::DeallocOp>(loc_, ap_);
  b_.create<memref::DeallocOp>(loc_, bp_);
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
  // One copy for LLVM to compile, not one per call site. With 16-lane vectors, 512-bit
  // types must stay legal: x86 CPUs tuned to prefer 256-bit vectors (Intel's AVX-512 cores)
  // would otherwise split every zmm operation in two and run out of registers.
  SmallVector<Attribute> passthrough = {b.getStringAttr("noinline")};
  if (blocking.vectorWidth * 32 >= 512)
    passthrough.push_back(b.getArrayAttr(
        {b.getStringAttr("min-legal-vector-width"),
         b.getStringAttr(std::to_string(blocking.vectorWidth * 32))}));
  kernel->setAttr("passthrough", b.getArrayAttr(passthrough));
  KernelEmitter(kernel, blocking, parallel).emit();
  return kernel;
}

} // namespace nnx::codegen
