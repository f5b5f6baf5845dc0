// RUN: %nnx-opt %s --nnx-grad -split-input-file -verify-diagnostics | FileCheck %s
// RUN: %nnx-opt %s --nnx-grad --canonicalize --cse -split-input-file -verify-diagnostics \
// RUN:   | FileCheck %s --check-prefix=CLEAN

// The golden backward IR of sum(x * w): the seed is broadcast back over the reduced axes,
// then each factor's adjoint is the other factor times it. The integer argument gets none.

// CHECK-LABEL: func.func @loss(
// CHECK-SAME:    attributes {nnx.differentiate}
// CHECK-LABEL: func.func @loss_grad(
// CHECK-SAME:    %[[X:.*]]: tensor<2x3xf32>, %[[W:.*]]: tensor<2x3xf32>, %{{.*}}: tensor<2xi32>)
// CHECK-SAME:    -> (tensor<f32>, tensor<2x3xf32>, tensor<2x3xf32>)
// CHECK-NOT:     nnx.differentiate
// CHECK:         %[[PROD:.*]] = nnx.mul %[[X]], %[[W]] : tensor<2x3xf32>
// CHECK:         %[[SUM:.*]] = nnx.reduce_sum %[[PROD]], axes = [0, 1]
// CHECK:         %[[SEED:.*]] = nnx.constant dense<1.000000e+00> : tensor<f32>
// CHECK:         %[[G:.*]] = nnx.broadcast_in_dim %[[SEED]], dims = [] : {{.*}} -> tensor<2x3xf32>
// CHECK:         %[[GX:.*]] = nnx.mul %[[G]], %[[W]] : tensor<2x3xf32>
// CHECK:         %[[GW:.*]] = nnx.mul %[[G]], %[[X]] : tensor<2x3xf32>
// CHECK:         return %[[SUM]], %[[GX]], %[[GW]] : tensor<f32>, tensor<2x3xf32>, tensor<2x3xf32>
func.func @loss(%x: tensor<2x3xf32>, %w: tensor<2x3xf32>, %n: tensor<2xi32>) -> tensor<f32>
    attributes {nnx.differentiate} {
  %0 = nnx.mul %x, %w : tensor<2x3xf32>
  %1 = nnx.reduce_sum %0, axes = [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// A bias added by broadcast and a relu: the bias adjoint sums the batch axis; relu passes
// the adjoint where its input is positive. Ops on no path from an argument to the loss
// (the exp of the unused %c) get no backward op, and %c's gradient is zeros.

// CHECK-LABEL: func.func @layer_grad(
// CHECK-SAME:    %[[X:.*]]: tensor<4x3xf64>, %[[B:.*]]: tensor<3xf64>, %[[C:.*]]: tensor<3xf64>)
// CHECK:         %[[BB:.*]] = nnx.broadcast_in_dim %[[B]], dims = [1]
// CHECK:         %[[PRE:.*]] = nnx.add %[[X]], %[[BB]]
// CHECK:         %[[SUM:.*]] = nnx.reduce_sum
// CHECK:         %[[SEED:.*]] = nnx.constant dense<1.000000e+00> : tensor<f64>
// CHECK:         %[[G:.*]] = nnx.broadcast_in_dim %[[SEED]], dims = [] : {{.*}} -> tensor<4x3xf64>
// CHECK:         %[[ZERO:.*]] = nnx.constant dense<0.000000e+00> : tensor<4x3xf64>
// CHECK:         %[[POS:.*]] = nnx.cmp gt, %[[PRE]], %[[ZERO]] : tensor<4x3xf64>
// CHECK:         %[[GPRE:.*]] = nnx.select %[[POS]], %[[G]], %[[ZERO]] : tensor<4x3xf64>
// CHECK:         %[[GB:.*]] = nnx.reduce_sum %[[GPRE]], axes = [0] : {{.*}} -> tensor<3xf64>
// CHECK-NOT:     nnx.exp
// CHECK:         %[[GC:.*]] = nnx.constant dense<0.000000e+00> : tensor<3xf64>
// CHECK:         return %[[SUM]], %[[GPRE]], %[[GB]], %[[GC]]

// After canonicalize and cse the seed is a splat of the input's shape, the recomputed dead
// exp is gone and one zero constant serves relu's mask and select.

// CLEAN-LABEL: func.func @layer_grad(
// CLEAN-DAG:     %[[ONES:.*]] = nnx.constant dense<1.000000e+00> : tensor<4x3xf64>
// CLEAN-DAG:     %[[ZERO:.*]] = nnx.constant dense<0.000000e+00> : tensor<4x3xf64>
// CLEAN-NOT:     nnx.exp
// CLEAN:         %[[PRE:.*]] = nnx.add
// CLEAN:         %[[POS:.*]] = nnx.cmp gt, %[[PRE]], %[[ZERO]]
// CLEAN:         nnx.select %[[POS]], %[[ONES]], %[[ZERO]] : tensor<4x3xf64>
func.func @layer(%x: tensor<4x3xf64>, %b: tensor<3xf64>, %c: tensor<3xf64>) -> tensor<f64>
    attributes {nnx.differentiate} {
  %0 = nnx.broadcast_in_dim %b, dims = [1] : tensor<3xf64> -> tensor<4x3xf64>
  %1 = nnx.add %x, %0 : tensor<4x3xf64>
  %2 = nnx.relu %1 : tensor<4x3xf64>
  %3 = nnx.exp %c : tensor<3xf64>
  %4 = nnx.reduce_sum %2, axes = [0, 1] : tensor<4x3xf64> -> tensor<f64>
  return %4 : tensor<f64>
}

// -----

// A loss that does not return a float scalar cannot be differentiated.

// expected-error@+1 {{nnx.differentiate needs a float scalar (rank-0 tensor) first result}}
func.func @not_scalar(%x: tensor<3xf32>) -> tensor<3xf32> attributes {nnx.differentiate} {
  %0 = nnx.exp %x : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// An op on the path from an argument to the loss that has no derivative rule.

func.func private @opaque(tensor<3xf32>) -> tensor<f32>

func.func @calls(%x: tensor<3xf32>) -> tensor<f32> attributes {nnx.differentiate} {
  // expected-error@+1 {{autodiff: no derivative rule for 'func.call'}}
  %0 = func.call @opaque(%x) : (tensor<3xf32>) -> tensor<f32>
  return %0 : tensor<f32>
}
