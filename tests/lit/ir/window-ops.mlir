// RUN: %nnx-opt %s --split-input-file --verify-diagnostics | FileCheck %s

// The window ops round-trip; their result shapes follow (S - (K - 1) * D - 1) / W + 1.
// CHECK-LABEL: func.func @valid
// CHECK: nnx.conv %arg0, %arg1 strides [2, 1] padding [0, 0], [0, 0] dilation [1, 2] groups 2 : tensor<1x7x8x4xf32>, tensor<3x3x2x6xf32> -> tensor<1x3x4x6xf32>
// CHECK: nnx.conv %arg0, %arg1 strides [1, 1] padding [1, 0], [1, 2] dilation [1, 1] groups 2 : tensor<1x7x8x4xf32>, tensor<3x3x2x6xf32> -> tensor<1x7x8x6xf32>
// CHECK: nnx.pool_max %arg0 window [2, 2] strides [2, 2] : tensor<1x7x8x4xf32> -> tensor<1x3x4x4xf32>
func.func @valid(%x: tensor<1x7x8x4xf32>, %w: tensor<3x3x2x6xf32>)
    -> (tensor<1x3x4x6xf32>, tensor<1x3x4x4xf32>) {
  %y = nnx.conv %x, %w strides [2, 1] padding [0, 0], [0, 0] dilation [1, 2] groups 2
      : tensor<1x7x8x4xf32>, tensor<3x3x2x6xf32> -> tensor<1x3x4x6xf32>
  %z = nnx.conv %x, %w strides [1, 1] padding [1, 0], [1, 2] dilation [1, 1] groups 2
      : tensor<1x7x8x4xf32>, tensor<3x3x2x6xf32> -> tensor<1x7x8x6xf32>
  %p = nnx.pool_max %x window [2, 2] strides [2, 2] : tensor<1x7x8x4xf32> -> tensor<1x3x4x4xf32>
  return %y, %p : tensor<1x3x4x6xf32>, tensor<1x3x4x4xf32>
}

// -----

func.func @channels(%x: tensor<1x5x5x4xf32>, %w: tensor<3x3x3x6xf32>) -> tensor<1x3x3x6xf32> {
  // expected-error @+1 {{input channels 4 must be the kernel's 3 x feature_group_count 1}}
  %y = nnx.conv %x, %w strides [1, 1] padding [0, 0], [0, 0] dilation [1, 1] groups 1
      : tensor<1x5x5x4xf32>, tensor<3x3x3x6xf32> -> tensor<1x3x3x6xf32>
  return %y : tensor<1x3x3x6xf32>
}

// -----

func.func @shape(%x: tensor<1x5x5x3xf32>, %w: tensor<3x3x3x6xf32>) -> tensor<1x3x2x6xf32> {
  // expected-error @+1 {{result must have shape [1, 2, 2, 6]}}
  %y = nnx.conv %x, %w strides [2, 2] padding [0, 0], [0, 0] dilation [1, 1] groups 1
      : tensor<1x5x5x3xf32>, tensor<3x3x3x6xf32> -> tensor<1x3x2x6xf32>
  return %y : tensor<1x3x2x6xf32>
}

// -----

func.func @too_wide(%x: tensor<1x4x3xf32>, %w: tensor<3x3x2xf32>) -> tensor<1x1x2xf32> {
  // expected-error @+1 {{the window spans 5 elements of spatial axis 0, which has 4}}
  %y = nnx.conv %x, %w strides [1] padding [0], [0] dilation [2] groups 1
      : tensor<1x4x3xf32>, tensor<3x3x2xf32> -> tensor<1x1x2xf32>
  return %y : tensor<1x1x2xf32>
}

// -----

func.func @strides(%x: tensor<1x4x4x2xf32>) -> tensor<1x2x2x2xf32> {
  // expected-error @+1 {{strides must be positive, got [0, 2]}}
  %p = nnx.pool_sum %x window [2, 2] strides [0, 2] : tensor<1x4x4x2xf32> -> tensor<1x2x2x2xf32>
  return %p : tensor<1x2x2x2xf32>
}

// -----

func.func @rank(%x: tensor<4x2xf32>) -> tensor<2x2xf32> {
  // expected-error @+1 {{needs an input [N, spatial..., C] of rank >= 3, got rank 2}}
  %p = nnx.pool_min %x window [2] strides [2] : tensor<4x2xf32> -> tensor<2x2xf32>
  return %p : tensor<2x2xf32>
}

// -----

func.func @negative_padding(%x: tensor<1x5x3xf32>, %w: tensor<3x3x2xf32>) -> tensor<1x2x2xf32> {
  // expected-error @+1 {{negative padding [-1], [0]}}
  %y = nnx.conv %x, %w strides [1] padding [-1], [0] dilation [1] groups 1
      : tensor<1x5x3xf32>, tensor<3x3x2xf32> -> tensor<1x2x2xf32>
  return %y : tensor<1x2x2xf32>
}
