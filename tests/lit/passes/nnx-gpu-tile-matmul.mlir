// RUN: %nnx-opt %s --nnx-gpu-tile-matmul | FileCheck %s
// RUN: %nnx-opt %s --nnx-gpu-tile-matmul="min-size=64" | FileCheck %s --check-prefix=MIN64

// A 40 x 20 x 33 product after its zero fill: one block of 16 x 16 threads covers C (64 x
// 64 tiles), A's and B's 16 x 64 slices in workgroup memory, a 4 x 4 private register tile
// starting at zero (the fill is folded), a k loop of 2 slices (20 = 16 + 4, the tail padded
// with zeros) with a barrier after staging and after using them, 16 steps of 16 fused
// multiply-adds each, and guarded stores of the tile.
// CHECK-LABEL: func.func @fill_then_matmul
// CHECK-NOT:     linalg.fill
// CHECK:         gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %c1{{[^,]*}}, {{[^=]*}}= %c1{{[^,]*}}, {{[^=]*}}= %c1{{[^)]*}})
// CHECK-SAME:      threads({{[^)]*}}) in ({{[^=]*}}= %c16{{[^,]*}}, {{[^=]*}}= %c16{{[^,]*}}, {{[^=]*}}= %c1{{[^)]*}})
// CHECK-SAME:      workgroup(%[[A:[^ ]*]] : memref<16x64xf32, #gpu.address_space<workgroup>>, %[[B:[^ ]*]] : memref<16x64xf32, #gpu.address_space<workgroup>>)
// CHECK-SAME:      private(%[[ACC:[^ ]*]] : memref<4x4xf32, #gpu.address_space<private>>)
// CHECK-COUNT-16: memref.store %cst{{.*}}, %[[ACC]]
// CHECK:           scf.for %[[K:.*]] = %{{.*}} to %c20{{.*}} step %c16
// CHECK:             scf.if
// CHECK:               memref.load %arg0
// CHECK:             memref.store %{{.*}}, %[[A]]
// CHECK:             scf.if
// CHECK:               memref.load %arg1
// CHECK:             memref.store %{{.*}}, %[[B]]
// CHECK:             gpu.barrier
// CHECK-COUNT-256:   math.fma
// CHECK:             gpu.barrier
// CHECK:           }
// CHECK-COUNT-16:  memref.store %{{.*}}, %arg2
// CHECK:           gpu.terminator
// CHECK-NOT:     linalg.matmul
func.func @fill_then_matmul(%a: memref<40x20xf32>, %b: memref<20x33xf32>, %c: memref<40x33xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<40x33xf32>)
  linalg.matmul ins(%a, %b : memref<40x20xf32>, memref<20x33xf32>) outs(%c : memref<40x33xf32>)
  return
}

// Without the fill the product accumulates: the register tile starts from C, read where
// inside it. A batch of 3 transpose_b products (B is N x K) is a grid of (2, 1, 3) blocks,
// blockIdx.z the batch element; B's slice is read along k, its contiguous dimension.
// CHECK-LABEL: func.func @accumulating_batch_transpose_b
// CHECK:         gpu.launch blocks({{[^,]*}}, {{[^,]*}}, %[[BZ:[^)]*]]) in ({{[^=]*}}= %c2{{[^,]*}}, {{[^=]*}}= %c1{{[^,]*}}, {{[^=]*}}= %c3{{[^)]*}})
// CHECK:           scf.if
// CHECK:             memref.load %arg2[%[[BZ]], %{{.*}}, %{{.*}}] : memref<3x50x70xf32>
// CHECK:           scf.for
// CHECK:             memref.load %arg1[%[[BZ]], %{{.*}}, %{{.*}}] : memref<3x70x17xf32>
// CHECK:           memref.store %{{.*}}, %arg2[%[[BZ]], %{{.*}}, %{{.*}}] : memref<3x50x70xf32>
// MIN64-LABEL: func.func @accumulating_batch_transpose_b
// MIN64:         linalg.batch_matmul_transpose_b
func.func @accumulating_batch_transpose_b(%a: memref<3x50x17xf32>, %b: memref<3x70x17xf32>,
                                          %c: memref<3x50x70xf32>) {
  linalg.batch_matmul_transpose_b ins(%a, %b : memref<3x50x17xf32>, memref<3x70x17xf32>)
                                  outs(%c : memref<3x50x70xf32>)
  return
}

// Two rows (a batch-2 forward) would leave most of a 64 x 64 tile idle: the product stays for
// nnx-gpu-map-loops (one thread per output), and so does its fill.
// CHECK-LABEL: func.func @few_rows
// CHECK:         linalg.fill
// CHECK:         linalg.matmul
// CHECK-NOT:     gpu.launch
func.func @few_rows(%a: memref<2x784xf32>, %b: memref<784x256xf32>, %c: memref<2x256xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<2x256xf32>)
  linalg.matmul ins(%a, %b : memref<2x784xf32>, memref<784x256xf32>) outs(%c : memref<2x256xf32>)
  return
}
