// RUN: %nnx-opt %s --nnx-split-empty-tensors | FileCheck %s

// One tensor.empty used by three generics (as CSE leaves them) becomes one per user: the
// original stays with one user (the last in the use list), the others get a clone each,
// right before them; an empty with one use is left alone.
// CHECK-LABEL: func.func @chain
// CHECK:         %[[E0:.*]] = tensor.empty() : tensor<8xf32>
// CHECK-NEXT:    %[[E1:.*]] = tensor.empty() : tensor<8xf32>
// CHECK-NEXT:    %[[A:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<8xf32>) outs(%[[E1]] : tensor<8xf32>)
// CHECK:         %[[E2:.*]] = tensor.empty() : tensor<8xf32>
// CHECK-NEXT:    %[[B:.*]] = linalg.generic {{.*}} ins(%[[A]] : tensor<8xf32>) outs(%[[E2]] : tensor<8xf32>)
// CHECK:         linalg.generic {{.*}} ins(%[[B]] : tensor<8xf32>) outs(%[[E0]] : tensor<8xf32>)
// CHECK:         %[[ONE:.*]] = tensor.empty() : tensor<4xf32>
// CHECK-NOT:     tensor.empty
// CHECK:         return
#id = affine_map<(d0) -> (d0)>
func.func @chain(%x: tensor<8xf32>, %y: tensor<4xf32>) -> (tensor<8xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %a = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %b = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.mulf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %c = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%b : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.subf %in, %in : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %one = tensor.empty() : tensor<4xf32>
  %d = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%y : tensor<4xf32>) outs(%one : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<4xf32>
  return %c, %d : tensor<8xf32>, tensor<4xf32>
}
