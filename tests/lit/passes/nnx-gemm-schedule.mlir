// RUN: %nnx-opt %s --nnx-gemm-schedule -split-input-file | FileCheck %s
// RUN: %nnx-opt %s --nnx-gemm-schedule="vector-width=16 mr=8 nr=32 mc=64 kc=128 nc=256" -split-input-file | FileCheck %s --check-prefix=WIDE
// RUN: %nnx-opt %s --nnx-gemm-schedule="threads=false" -split-input-file | FileCheck %s --check-prefix=SERIAL
// RUN: not %nnx-opt %s --nnx-gemm-schedule="vector-width=8 mr=6 nr=20" 2>&1 | FileCheck %s --check-prefix=BAD

// A zero-filled f32 matmul: packed panels of B (16 columns) and A (6 rows), packed and
// computed in parallel loops (1.5M multiply-adds), the 6 x 16 micro-kernel's 12 accumulators
// carried by the k loop, the fill folded into the first k block, masked edge tiles.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT:     linalg.fill
// CHECK:         memref.alloc() {alignment = 64 : i64} : memref<4x256x16xf32>
// CHECK:         memref.alloc() {alignment = 64 : i64} : memref<17x256x6xf32>
// CHECK:         scf.for
// CHECK:         scf.parallel
// CHECK:         scf.parallel
// CHECK:         scf.parallel
// CHECK:         scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-6: vector.broadcast
// CHECK:         vector.fma
// CHECK:         vector.maskedload
// CHECK:         vector.maskedstore
// CHECK-NOT:     linalg.matmul
// CHECK:         memref.dealloc
// CHECK:         memref.dealloc
// SERIAL-LABEL: func.func @matmul
// SERIAL-NOT:   scf.parallel
// SERIAL:       vector.fma
// SERIAL-NOT:   scf.parallel
// WIDE-LABEL: func.func @matmul
// WIDE:         memref.alloc() {alignment = 64 : i64} : memref<2x128x32xf32>
// WIDE:         memref.alloc() {alignment = 64 : i64} : memref<8x128x8xf32>
// WIDE:         -> (vector<16xf32>, vector<16xf32>,
// BAD: nnx-gemm-schedule: inconsistent blocking
func.func @matmul(%a: memref<100x300xf32>, %b: memref<300x50xf32>, %c: memref<100x50xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%c : memref<100x50xf32>)
  linalg.matmul ins(%a, %b : memref<100x300xf32>, memref<300x50xf32>) outs(%c : memref<100x50xf32>)
  return
}

// -----

// A product into a C that holds other values accumulates onto it: no fill to fold, so every
// k block starts from C.
// CHECK-LABEL: func.func @accumulate
// CHECK:         %[[FALSE:.*]] = arith.constant false
// CHECK:         arith.select %[[FALSE]]
// CHECK-NOT:     linalg.matmul
func.func @accumulate(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %c: memref<64x64xf32>) {
  linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>) outs(%c : memref<64x64xf32>)
  return
}

// -----

// Transposed operands are packed through their layout (B's panels first, then A's): A^T is
// read as a[k, i], B^T as b[j, k].
// CHECK-LABEL: func.func @transposed
// CHECK:         memref.load %arg1[%{{.*}}, %{{.*}}] : memref<64x48xf32>
// CHECK:         memref.load %arg0[%{{.*}}, %{{.*}}] : memref<64x32xf32>
// CHECK:         memref.load %arg3[%{{.*}}, %{{.*}}] : memref<64x48xf32>
// CHECK:         memref.load %arg2[%{{.*}}, %{{.*}}] : memref<32x48xf32>
// CHECK-NOT:     linalg.matmul_transpose
func.func @transposed(%a: memref<64x32xf32>, %bt: memref<64x48xf32>, %c: memref<32x48xf32>,
                      %b: memref<64x48xf32>, %d: memref<32x64xf32>) {
  linalg.matmul_transpose_a ins(%a, %bt : memref<64x32xf32>, memref<64x48xf32>) outs(%c : memref<32x48xf32>)
  linalg.matmul_transpose_b ins(%c, %b : memref<32x48xf32>, memref<64x48xf32>) outs(%d : memref<32x64xf32>)
  return
}

// -----

// Too small to pay for packing (a batch-1 row times a matrix), not f32, or dynamic: left alone.
// CHECK-LABEL: func.func @left_alone
// CHECK:         linalg.matmul ins(%arg0, %arg1 : memref<1x784xf32>
// CHECK:         linalg.matmul ins(%arg3, %arg4 : memref<64x64xf64>
// CHECK:         linalg.matmul ins(%arg6, %arg7 : memref<?x64xf32>
// CHECK-NOT:     vector.fma
func.func @left_alone(%a: memref<1x784xf32>, %b: memref<784x256xf32>, %c: memref<1x256xf32>,
                      %d: memref<64x64xf64>, %e: memref<64x64xf64>, %f: memref<64x64xf64>,
                      %g: memref<?x64xf32>, %h: memref<64x64xf32>, %i: memref<?x64xf32>) {
  linalg.matmul ins(%a, %b : memref<1x784xf32>, memref<784x256xf32>) outs(%c : memref<1x256xf32>)
  linalg.matmul ins(%d, %e : memref<64x64xf64>, memref<64x64xf64>) outs(%f : memref<64x64xf64>)
  linalg.matmul ins(%g, %h : memref<?x64xf32>, memref<64x64xf32>) outs(%i : memref<?x64xf32>)
  return
}

// -----

// batch_matmul: one schedule per batch element, C indexed [b, i, j].
// CHECK-LABEL: func.func @batched
// CHECK:         vector.load %arg2[%{{.*}}, %{{.*}}, %{{.*}}] : memref<3x40x40xf32>, vector<8xf32>
// CHECK-NOT:     linalg.batch_matmul
func.func @batched(%a: memref<3x40x40xf32>, %b: memref<3x40x40xf32>, %c: memref<3x40x40xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<3x40x40xf32>, memref<3x40x40xf32>) outs(%c : memref<3x40x40xf32>)
  return
}
