// RUN: %nnx-opt %s --nnx-gemm-schedule -split-input-file | FileCheck %s
// RUN: %nnx-opt %s --nnx-gemm-schedule="vector-width=16 mr=8 nr=32 mc=64 kc=128 nc=256" -split-input-file | FileCheck %s --check-prefix=WIDE
// RUN: %nnx-opt %s --nnx-gemm-schedule="threads=false" -split-input-file | FileCheck %s --check-prefix=SERIAL
// RUN: %nnx-opt %s --nnx-gemm-schedule="external-kernels=true" -split-input-file | FileCheck %s --check-prefix=EXTERN
// RUN: not %nnx-opt %s --nnx-gemm-schedule="vector-width=8 mr=6 nr=20" 2>&1 | FileCheck %s --check-prefix=BAD

// A zero-filled f32 matmul becomes a call of the module's kernel on strided views, the fill
// folded into the call (zero_init = true). The kernel packs panels of B (16 columns) and A
// (6 rows), runs the 6 x 16 micro-kernel with 12 accumulators carried by the k loop, and masks
// the edge tiles. Threaded (1.5M multiply-adds), the kernel is one parallel loop over the
// threads (omp_get_max_threads), each taking a slice of C's rows (M > N) or else of its
// columns, and running the serial nest on it with packing buffers of its own: no parallel loop
// inside.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT:     linalg.fill
// CHECK:         %[[A:.*]] = memref.cast %arg0 : memref<100x300xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK:         %[[B:.*]] = memref.cast %arg1 : memref<300x50xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK:         %[[C:.*]] = memref.cast %arg2 : memref<100x50xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:         call @[[KERNEL:nnx_sgemm_6x16_v8_144_256_3072_mt]](%[[A]], %[[B]], %[[C]], %true)
// CHECK-NOT:     linalg.matmul
// CHECK:       func.func private @[[KERNEL]](%[[KA:.*]]: memref<?x?xf32, strided<[?, ?], offset: ?>>, %[[KB:.*]]: memref<?x?xf32, strided<[?, ?], offset: ?>>, %[[KC:.*]]: memref<?x?xf32, strided<[?, 1], offset: ?>>, %{{.*}}: i1) attributes {passthrough = ["noinline"]}
// CHECK:         %[[M:.*]] = memref.dim %[[KC]], %c0
// CHECK:         %[[N:.*]] = memref.dim %[[KC]], %c1
// CHECK:         call @omp_get_max_threads() : () -> i32
// CHECK:         %[[ROWS:.*]] = arith.cmpi sgt, %[[M]], %[[N]] : index
// CHECK:         scf.if %[[ROWS]] {
// CHECK:           scf.parallel
// CHECK:             memref.subview %[[KA]]
// CHECK:             memref.subview %[[KC]]
// CHECK-NOT:         scf.parallel
// CHECK:             memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x16xf32>
// CHECK:             memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x6xf32>
// CHECK-NOT:         scf.parallel
// CHECK:         } else {
// CHECK:           scf.parallel
// CHECK:             memref.subview %[[KB]]
// CHECK:             memref.subview %[[KC]]
// CHECK-NOT:         scf.parallel
// Each micro-tile fetches the C rows of the tile below for writing (16 columns: one line
// per row), and loads its own C tile only when it accumulates onto it.
// CHECK-COUNT-6: memref.prefetch %{{.*}}[%{{.*}}, %{{.*}}], write, locality<3>, data
// CHECK-NOT:     memref.prefetch
// CHECK:         scf.if %{{.*}} -> (vector<8xf32>,
// CHECK:           scf.yield %cst{{.*}}, %cst
// CHECK:         } else {
// CHECK-COUNT-12:  vector.load
// CHECK:         scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-6: vector.broadcast
// CHECK:         vector.fma
// CHECK:         vector.maskedload
// CHECK:         vector.maskedstore
// CHECK:         memref.dealloc
// CHECK:         memref.dealloc
// SERIAL-LABEL: func.func @matmul
// SERIAL:         call @nnx_sgemm_6x16_v8_144_256_3072(
// SERIAL-NOT:   scf.parallel
// WIDE-LABEL: func.func @matmul
// WIDE:         call @nnx_sgemm_8x32_v16_64_128_256_mt(
// WIDE:       func.func private @nnx_sgemm_8x32_v16_64_128_256_mt({{.*}}) attributes {passthrough = ["noinline", ["min-legal-vector-width", "512"]]}
// WIDE:         memref.alloc({{.*}}) {alignment = 64 : i64} : memref<?x?x32xf32>
// WIDE:         -> (vector<16xf32>, vector<16xf32>,
// EXTERN-LABEL: func.func @matmul
// EXTERN:         call @nnx_sgemm_6x16_v8_144_256_3072_mt(
// EXTERN:       func.func private @nnx_sgemm_6x16_v8_144_256_3072_mt(memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, 1], offset: ?>>, i1){{$}}
// EXTERN-NOT:   scf.parallel
// BAD: nnx-gemm-schedule: inconsistent blocking
func.func @matmul(%a: memref<100x300xf32>, %b: memref<300x50xf32>, %c: memref<100x50xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%c : memref<100x50xf32>)
  linalg.matmul ins(%a, %b : memref<100x300xf32>, memref<300x50xf32>) outs(%c : memref<100x50xf32>)
  return
}

// -----

// A product into a C that holds other values accumulates onto it (zero_init = false); two
// products share one kernel.
// CHECK-LABEL: func.func @accumulate
// CHECK:         call @[[K:nnx_sgemm_.*]]({{.*}}, %false)
// CHECK:         call @[[K]]({{.*}}, %false
// CHECK-COUNT-1: func.func private
func.func @accumulate(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %c: memref<64x64xf32>,
                      %d: memref<64x64xf32>) {
  linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>) outs(%c : memref<64x64xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>) outs(%d : memref<64x64xf32>)
  return
}

// -----

// Transposed operands are views with swapped strides, never copies.
// CHECK-LABEL: func.func @transposed
// CHECK:         %[[AT:.*]] = memref.transpose %arg0 (d0, d1) -> (d1, d0) : memref<64x32xf32> to memref<32x64xf32, strided<[1, 32]>>
// CHECK:         %[[A:.*]] = memref.cast %[[AT]]
// CHECK:         call @nnx_sgemm_{{.*}}(%[[A]],
// CHECK:         %[[BT:.*]] = memref.transpose %arg3 (d0, d1) -> (d1, d0) : memref<64x48xf32> to memref<48x64xf32, strided<[1, 48]>>
// CHECK:         %[[B:.*]] = memref.cast %[[BT]]
// CHECK:         call @nnx_sgemm_{{.*}}(%{{.*}}, %[[B]],
// CHECK-NOT:     linalg.matmul_transpose
func.func @transposed(%a: memref<64x32xf32>, %bt: memref<64x48xf32>, %c: memref<32x48xf32>,
                      %b: memref<64x48xf32>, %d: memref<32x64xf32>) {
  linalg.matmul_transpose_a ins(%a, %bt : memref<64x32xf32>, memref<64x48xf32>) outs(%c : memref<32x48xf32>)
  linalg.matmul_transpose_b ins(%c, %b : memref<32x48xf32>, memref<64x48xf32>) outs(%d : memref<32x64xf32>)
  return
}

// -----

// A classifier's 10 columns: narrower than an AVX-512 vector, still scheduled (one masked
// vector per row of the tile) for 8-lane and 16-lane blockings alike, threaded (327K
// multiply-adds: the threads split its 128 rows); 7 columns are not.
// CHECK-LABEL: func.func @narrow
// CHECK:         call @nnx_sgemm_6x16_v8_144_256_3072_mt(
// CHECK:         linalg.matmul ins(%arg3, %arg4 : memref<128x256xf32>, memref<256x7xf32>)
// WIDE-LABEL: func.func @narrow
// WIDE:         call @nnx_sgemm_8x32_v16_64_128_256_mt(
// WIDE:         linalg.matmul ins(%arg3, %arg4 : memref<128x256xf32>, memref<256x7xf32>)
func.func @narrow(%a: memref<128x256xf32>, %b: memref<256x10xf32>, %c: memref<128x10xf32>,
                  %d: memref<128x256xf32>, %e: memref<256x7xf32>, %f: memref<128x7xf32>) {
  linalg.matmul ins(%a, %b : memref<128x256xf32>, memref<256x10xf32>) outs(%c : memref<128x10xf32>)
  linalg.matmul ins(%d, %e : memref<128x256xf32>, memref<256x7xf32>) outs(%f : memref<128x7xf32>)
  return
}

// -----

// Fewer rows than the register tile (a batch-1 row times a matrix: too small to pay for
// packing) call the few-rows kernel, its zero fill folded in (`true`); with B transposed its
// rows are not contiguous, and the product stays a linalg op.
// CHECK-LABEL: func.func @few_rows
// CHECK-NOT:     linalg.fill
// CHECK:         %[[TRUE:.*]] = arith.constant true
// CHECK:         call @nnx_sgemv_12xv8(%{{.*}}, %{{.*}}, %{{.*}}, %[[TRUE]]) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, 1], offset: ?>>, memref<?x?xf32, strided<[?, 1], offset: ?>>, i1) -> ()
// CHECK:         linalg.matmul_transpose_b
// CHECK:       func.func private @nnx_sgemv_12xv8(
// CHECK:         vector.fma
// WIDE-LABEL: func.func @few_rows
// WIDE:         call @nnx_sgemv_16xv16(
// EXTERN-LABEL: func.func @few_rows
// EXTERN:       func.func private @nnx_sgemv_12xv8(
// EXTERN-SAME:    i1)
// EXTERN-NOT:     vector.fma
func.func @few_rows(%a: memref<1x784xf32>, %b: memref<784x256xf32>, %c: memref<1x256xf32>,
                    %bt: memref<256x784xf32>, %d: memref<1x256xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<1x256xf32>)
  linalg.matmul ins(%a, %b : memref<1x784xf32>, memref<784x256xf32>) outs(%c : memref<1x256xf32>)
  linalg.matmul_transpose_b ins(%a, %bt : memref<1x784xf32>, memref<256x784xf32>)
                            outs(%d : memref<1x256xf32>)
  return
}

// -----

// Not f32, or dynamic: left alone.
// CHECK-LABEL: func.func @left_alone
// CHECK:         linalg.matmul ins(%arg0, %arg1 : memref<64x64xf64>
// CHECK:         linalg.matmul ins(%arg3, %arg4 : memref<?x64xf32>
// CHECK-NOT:     call
func.func @left_alone(%d: memref<64x64xf64>, %e: memref<64x64xf64>, %f: memref<64x64xf64>,
                      %g: memref<?x64xf32>, %h: memref<64x64xf32>, %i: memref<?x64xf32>) {
  linalg.matmul ins(%d, %e : memref<64x64xf64>, memref<64x64xf64>) outs(%f : memref<64x64xf64>)
  linalg.matmul ins(%g, %h : memref<?x64xf32>, memref<64x64xf32>) outs(%i : memref<?x64xf32>)
  return
}

// -----

// batch_matmul: one call per batch element, on rank-reducing subviews.
// CHECK-LABEL: func.func @batched
// CHECK:         scf.for %[[I:.*]] = %c0 to %c3 step %c1
// CHECK:           memref.subview %arg0[%[[I]], 0, 0] [1, 40, 40] [1, 1, 1] : memref<3x40x40xf32> to memref<40x40xf32, strided<[40, 1], offset: ?>>
// CHECK:           memref.subview %arg1[%[[I]], 0, 0]
// CHECK:           memref.subview %arg2[%[[I]], 0, 0]
// CHECK:           call @nnx_sgemm_
// CHECK-NOT:     linalg.batch_matmul
func.func @batched(%a: memref<3x40x40xf32>, %b: memref<3x40x40xf32>, %c: memref<3x40x40xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<3x40x40xf32>, memref<3x40x40xf32>) outs(%c : memref<3x40x40xf32>)
  return
}
