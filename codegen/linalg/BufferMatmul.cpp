//===- BufferMatmul.cpp - f32 matrix products on buffers ------------------===//
//
// The matcher the CPU and GPU schedules share (BufferMatmul.h).
//
//===----------------------------------------------------------------------===//
#include "codegen/linalg/BufferMatmul.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace nnx::codegen {

using namespace mlir;

std::optional<BufferMatmul> matchBufferMatmul(linalg::LinalgOp op) {
  BufferMatmul p;
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

void foldZeroFill(BufferMatmul &product) {
  for (Operation *prev = product.op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(prev)) {
      if (fill.getOutputs()[0] != product.c ||
          !matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
        return;
      fill->erase();
      product.zeroInit = true;
      return;
    }
    if (!isMemoryEffectFree(prev) && !isa<memref::AllocOp>(prev))
      return;
  }
}

} // namespace nnx::codegen
