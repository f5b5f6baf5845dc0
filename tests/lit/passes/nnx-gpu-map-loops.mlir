// RUN: %nnx-opt %s --nnx-gpu-map-loops | FileCheck %s
// RUN: %nnx-opt %s --nnx-gpu-map-loops="max-threads=64" | FileCheck %s --check-prefix=SMALL

// An elementwise op of 128 x 300: blocks of 256 threads along the contiguous dimension
// (threadIdx.x), a guard for the last partial tile (300 = 256 + 44); the grid's x takes the
// dimension with the most blocks (128 rows), y the 2 column tiles.
// CHECK: #[[$MIN:.*]] = affine_map<(d0) -> (-d0 + 300, 256)>
// CHECK-LABEL: func.func @elementwise
// CHECK:         scf.parallel (%[[I:.*]], %[[J:.*]]) = ({{.*}}) to (%c128, %c300) step (%c1, %c256{{.*}})
// CHECK:           %[[N:.*]] = affine.min #[[$MIN]](%[[J]])
// CHECK:           scf.parallel ({{.*}}) = ({{.*}}) to (%c1, %[[N]])
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = block_y, {{.*}}>]}
// SMALL-LABEL: func.func @elementwise
// SMALL:         step (%c1, %c64{{.*}})
func.func @elementwise(%a: memref<128x300xf32>, %b: memref<128x300xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<128x300xf32>) outs(%b : memref<128x300xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = arith.addf %x, %x : f32
    linalg.yield %e : f32
  }
  return
}

// A reduction over the middle dimension: its parallel dimensions move ahead of it, so one
// scf.parallel holds both (2 x 4 threads, whole: no guard) and each thread sums its output
// over the 3 rows serially.
// CHECK-LABEL: func.func @middle_reduction
// CHECK:         scf.parallel
// CHECK:           scf.parallel (%{{.*}}, %{{.*}}) = ({{.*}}) to (%c2{{.*}}, %c4{{.*}}) step (%c1{{.*}}, %c1{{.*}})
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c3 step %c1
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = thread_y, {{.*}}>, #gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
func.func @middle_reduction(%a: memref<2x3x4xf32>, %b: memref<2x4xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, k, j) -> (i, k, j)>, affine_map<(i, k, j) -> (i, j)>],
                  iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a : memref<2x3x4xf32>) outs(%b : memref<2x4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}

// A matmul: each thread owns one output and runs the whole sum over k.
// CHECK-LABEL: func.func @matmul
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c784 step %c1
// CHECK:               arith.mulf
// CHECK:               arith.addf
func.func @matmul(%a: memref<17x784xf32>, %b: memref<784x10xf32>, %c: memref<17x10xf32>) {
  linalg.matmul ins(%a, %b : memref<17x784xf32>, memref<784x10xf32>) outs(%c : memref<17x10xf32>)
  return
}

// A full reduction has no parallel dimension: it runs in one thread of one block (a launch,
// not host code: the host cannot read device memory).
// CHECK-LABEL: func.func @full_reduction
// CHECK:         scf.parallel
// CHECK:           scf.parallel
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c32 step %c1
// CHECK:               arith.addf
// CHECK:           } {mapping = [#gpu.loop_dim_map<processor = thread_x, {{.*}}>]}
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>]}
func.func @full_reduction(%a: memref<32xf32>, %b: memref<f32>) {
  linalg.generic {indexing_maps = [affine_map<(k) -> (k)>, affine_map<(k) -> ()>],
                  iterator_types = ["reduction"]}
      ins(%a : memref<32xf32>) outs(%b : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}

// More than 65535 blocks along a dimension fit only gridDim.x: a second such dimension runs
// sequentially in each block rather than on y or z.
// CHECK-LABEL: func.func @big_grid
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = block_x, {{.*}}>, #gpu.loop_dim_map<processor = sequential, {{.*}}>, #gpu.loop_dim_map<processor = block_y, {{.*}}>]}
func.func @big_grid(%a: memref<100000x70000x300xf32>) {
  %c = arith.constant 1.0 : f32
  linalg.fill ins(%c : f32) outs(%a : memref<100000x70000x300xf32>)
  return
}
