// RUN: %nnx-opt %s --nnx-parallelize-elementwise | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
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
