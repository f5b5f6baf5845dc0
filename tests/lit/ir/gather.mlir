// RUN: %nnx-opt %s --split-input-file --verify-diagnostics | FileCheck %s

// nnx.gather round-trips; batch_dims is printed only when it is not 0, and the result is
// [B..., P..., I..., Q...].
// CHECK-LABEL: func.func @valid
// CHECK: nnx.gather %arg0[%arg1] axis = 1 : tensor<3x4xf32>, tensor<2x2xi32> -> tensor<3x2x2xf32>
// CHECK: nnx.gather %arg2[%arg3] axis = 2 batch_dims = 1 : tensor<2x3x4x5xf32>, tensor<2x6xi64> -> tensor<2x3x6x5xf32>
func.func @valid(%a: tensor<3x4xf32>, %i: tensor<2x2xi32>, %b: tensor<2x3x4x5xf32>,
                 %j: tensor<2x6xi64>) -> (tensor<3x2x2xf32>, tensor<2x3x6x5xf32>) {
  %x = nnx.gather %a[%i] axis = 1 batch_dims = 0 : tensor<3x4xf32>, tensor<2x2xi32> -> tensor<3x2x2xf32>
  %y = nnx.gather %b[%j] axis = 2 batch_dims = 1 : tensor<2x3x4x5xf32>, tensor<2x6xi64> -> tensor<2x3x6x5xf32>
  return %x, %y : tensor<3x2x2xf32>, tensor<2x3x6x5xf32>
}

// -----

func.func @batch_after_axis(%a: tensor<3x4xf32>, %i: tensor<3x4x2xi32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{batch_dims must be in [0, min(axis, indices rank)], got 2}}
  %y = nnx.gather %a[%i] axis = 1 batch_dims = 2 : tensor<3x4xf32>, tensor<3x4x2xi32> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

func.func @batch_mismatch(%a: tensor<3x4xf32>, %i: tensor<2x1xi32>) -> tensor<3x1xf32> {
  // expected-error @+1 {{the indices' first 1 dims must equal the input's, got [2, 1] and [3, 4]}}
  %y = nnx.gather %a[%i] axis = 1 batch_dims = 1 : tensor<3x4xf32>, tensor<2x1xi32> -> tensor<3x1xf32>
  return %y : tensor<3x1xf32>
}

// -----

func.func @shape(%a: tensor<3x4xf32>, %i: tensor<3x2xi32>) -> tensor<3x3x2xf32> {
  // expected-error @+1 {{result must have shape [3, 2]}}
  %y = nnx.gather %a[%i] axis = 1 batch_dims = 1 : tensor<3x4xf32>, tensor<3x2xi32> -> tensor<3x3x2xf32>
  return %y : tensor<3x3x2xf32>
}
