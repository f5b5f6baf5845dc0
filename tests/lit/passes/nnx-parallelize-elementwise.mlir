// RUN: %nnx-opt %s --nnx-parallelize-elementwise | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#row2 = affine_map<(d0, d1) -> (d1)>
// An elementwise op of 512 x 512 = 2^18 points becomes a parallel loop over its rows (tile
// size 1 on the leading loop: 512 >= 64 tiles), each row the same generic on a subview, whose
// loop convert-linalg-to-loops keeps serial; a smaller op, and a reduction of any size, stay
// linalg ops for convert-linalg-to-loops.
// CHECK-LABEL: func.func @ops
// CHECK:         scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%c512) step (%c1{{.*}})
// CHECK-NOT:     scf.parallel
// CHECK:           %[[ROW:.*]] = memref.subview %arg0[%[[I]], 0] [1, 512] [1, 1]
// CHECK:           linalg.generic {{.*}} ins(%[[ROW]] : memref<1x512xf32, strided<[512, 1], offset: ?>>)
// CHECK:             math.exp
// CHECK:         linalg.generic {{.*}} ins(%arg2 : memref<64x64xf32>)
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
func.func @ops(%a: memref<512x512xf32>, %b: memref<512x512xf32>, %c: memref<64x64xf32>,
               %d: memref<64x64xf32>, %s: memref<512xf32>) {
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<512x512xf32>) outs(%b : memref<512x512xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<64x64xf32>) outs(%d : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<512x512xf32>) outs(%s : memref<512xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = arith.addf %x, %y : f32
    linalg.yield %e : f32
  }
  return
}

// A 2^18-point op with a short leading loop tiles the next loops too, until 64 tiles: here
// 4 x 16 of a [4, 32, 8, 256] copy (the im2col copies of convolutions have this form).
// CHECK-LABEL: func.func @short_leading
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%c4, %c32) step (%c1{{.*}}, %c1{{.*}})
// CHECK:           linalg.generic {{.*}} memref<1x1x8x256xf32
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @short_leading(%a: memref<4x32x8x256xf32>, %b: memref<4x32x8x256xf32>) {
  linalg.generic {indexing_maps = [#id4, #id4],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a : memref<4x32x8x256xf32>) outs(%b : memref<4x32x8x256xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}

// A one-loop op is cut into 64 chunks of whole 16-lane vectors: 2^18 / 64 = 4096.
// CHECK-LABEL: func.func @flat
// CHECK:         scf.parallel (%{{.*}}) = (%{{.*}}) to (%c262144) step (%c4096{{.*}})
#id1 = affine_map<(d0) -> (d0)>
func.func @flat(%a: memref<262144xf32>, %b: memref<262144xf32>) {
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%a : memref<262144xf32>) outs(%b : memref<262144xf32>) {
  ^bb0(%x: f32, %y: f32):
    %e = math.exp %x : f32
    linalg.yield %e : f32
  }
  return
}

// Below 2^18 points the arithmetic decides: 2^15 points of a dropout-like body (a counter
// hashed by 18 integer ops per point, 2^19 in all) become a parallel loop; the same points
// of a bias add (1 op per point) stay serial, as do a 2^17-point copy and a memory-bound
// 784 x 256 SGD update (200K points, 2 ops each).
// CHECK-LABEL: func.func @work
// CHECK:         scf.parallel (%{{.*}}) = (%{{.*}}) to (%c128) step (%c1{{.*}})
// CHECK:           arith.muli
// CHECK-NOT:     scf.parallel
// CHECK:         arith.addf
// CHECK:         linalg.generic
// CHECK:         arith.subf
// CHECK-NOT:     scf.parallel
func.func @work(%a: memref<128x256xf32>, %bias: memref<256xf32>, %b: memref<128x256xf32>,
                %m: memref<128x256xi32>, %big: memref<512x256xf32>, %big2: memref<512x256xf32>,
                %p: memref<784x256xf32>, %q: memref<784x256xf32>, %p2: memref<784x256xf32>) {
  linalg.generic {indexing_maps = [#id], iterator_types = ["parallel", "parallel"]}
      outs(%m : memref<128x256xi32>) {
  ^bb0(%y: i32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %jj = arith.index_cast %j : index to i32
    %k = arith.constant 747796405 : i32
    %s = arith.constant 13 : i32
    %x0 = arith.muli %ii, %k : i32
    %x1 = arith.addi %x0, %jj : i32
    %x2 = arith.shrui %x1, %s : i32
    %x3 = arith.xori %x1, %x2 : i32
    %x4 = arith.muli %x3, %k : i32
    %x5 = arith.shrui %x4, %s : i32
    %x6 = arith.xori %x4, %x5 : i32
    %x7 = arith.muli %x6, %k : i32
    %x8 = arith.shrui %x7, %s : i32
    %x9 = arith.xori %x7, %x8 : i32
    %x10 = arith.muli %x9, %k : i32
    %x11 = arith.shrui %x10, %s : i32
    %x12 = arith.xori %x10, %x11 : i32
    %x13 = arith.muli %x12, %k : i32
    linalg.yield %x13 : i32
  }
  linalg.generic {indexing_maps = [#id, #row2, #id], iterator_types = ["parallel", "parallel"]}
      ins(%a, %bias : memref<128x256xf32>, memref<256xf32>) outs(%b : memref<128x256xf32>) {
  ^bb0(%x: f32, %c: f32, %y: f32):
    %e = arith.addf %x, %c : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%big : memref<512x256xf32>) outs(%big2 : memref<512x256xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%p, %q : memref<784x256xf32>, memref<784x256xf32>) outs(%p2 : memref<784x256xf32>) {
  ^bb0(%x: f32, %d: f32, %y: f32):
    %lr = arith.constant 0.1 : f32
    %s = arith.mulf %lr, %d : f32
    %n = arith.subf %x, %s : f32
    linalg.yield %n : f32
  }
  return
}
