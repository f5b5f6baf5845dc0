//===- Batching.h - The vmap batching transform of nnx IR -----------------===//
//
// vmap is an IR-to-IR transform, like jax.vmap: the front end traces the mapped function once
// for one element (unbatched shapes), and batchOps rewrites those ops into ops on whole
// batches, with the batch as a new leading dimension. Each op has a batching rule: elementwise
// ops broadcast their unbatched operands, shape ops shift their dimension attributes by one,
// matmul batches (or shares) its operands, a scan batches its body, and random draws draw a
// batch of independent samples. An op none of whose operands is batched stays as it is, once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"

namespace nnx::ir {

/// The batched counterpart of a value of the unbatched program: `value` has a leading batch
/// dimension when `batched`, else it is the same for every element of the batch.
struct BatchedValue {
  mlir::Value value;
  bool batched = false;
};

/// Values of the unbatched program and their counterparts.
using BatchMap = llvm::DenseMap<mlir::Value, BatchedValue>;

/// Emits at `builder`'s insertion point the batched form of `ops` (ops of one block, in program
/// order; no terminator) for a batch of `batchSize`. `map` gives the counterpart of every value
/// the ops use that they do not define; a value missing from it is used as it is (unbatched).
/// On success `map` also holds the counterparts of every result of `ops`. Fails, with an MLIR
/// diagnostic at the op, only on an op without a batching rule.
mlir::LogicalResult batchOps(mlir::OpBuilder &builder, llvm::ArrayRef<mlir::Operation *> ops,
                             int64_t batchSize, BatchMap &map);

/// `v` broadcast to a leading batch dimension of `batchSize` (nnx.broadcast_in_dim).
mlir::Value broadcastToBatch(mlir::OpBuilder &builder, mlir::Location loc, mlir::Value v,
                             int64_t batchSize);

/// `v` with dimension `from` moved to position `to` (nnx.transpose; `v` itself when equal).
mlir::Value moveAxis(mlir::OpBuilder &builder, mlir::Location loc, mlir::Value v, int64_t from,
                     int64_t to);

} // namespace nnx::ir
