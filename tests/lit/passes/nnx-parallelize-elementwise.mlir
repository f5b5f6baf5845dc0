// RUN: %nnx-opt %s --nnx-parallelize-elementwise | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
// An elementwise op of 512 x 512 = 2^18 points becomes a parallel loop nest; a smaller one,
// and a reduction of any size, stay linalg ops for convert-linalg-to-loops.
// CHECK-LABEL: func.func @ops
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%c512, %c512{{.*}})
// CHECK:           math.exp
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
