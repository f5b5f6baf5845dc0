// RUN: %nnx-opt %s --nnx-conv-to-gemm | FileCheck %s
// RUN: %nnx-opt %s --nnx-conv-to-gemm=min-features=2 | FileCheck %s --check-prefix=THIN

// A 2-D convolution with strides and dilation: its windows are gathered into patches
// [N, OH, OW, KH, KW, C] (input read at o * stride + k * dilation), viewed as
// [N * OH * OW, KH * KW * C] and multiplied by the filter viewed as [KH * KW * C, F], into
// the convolution's own init viewed as [N * OH * OW, F]; the product is expanded back.
// CHECK-DAG:   #[[READ:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 * 2 + d3 * 2, d2 + d4 * 3, d5)>
// CHECK-LABEL: func.func @conv2d
// CHECK:         %[[PATCHES:.*]] = linalg.generic {indexing_maps = [#[[READ]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<2x9x10x3xf32>) outs(%{{.*}} : tensor<2x3x4x2x3x3xf32>)
// CHECK:         %[[LHS:.*]] = tensor.collapse_shape %[[PATCHES]] {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<2x3x4x2x3x3xf32> into tensor<24x18xf32>
// CHECK:         %[[RHS:.*]] = tensor.collapse_shape %arg1 {{\[}}[0, 1, 2], [3]] : tensor<2x3x3x8xf32> into tensor<18x8xf32>
// CHECK:         %[[ACC:.*]] = tensor.collapse_shape %arg2 {{\[}}[0, 1, 2], [3]] : tensor<2x3x4x8xf32> into tensor<24x8xf32>
// CHECK:         %[[PRODUCT:.*]] = linalg.matmul ins(%[[LHS]], %[[RHS]] : tensor<24x18xf32>, tensor<18x8xf32>) outs(%[[ACC]] : tensor<24x8xf32>)
// CHECK:         %[[OUT:.*]] = tensor.expand_shape %[[PRODUCT]] {{\[}}[0, 1, 2], [3]] output_shape [2, 3, 4, 8]
// CHECK-NOT:     linalg.conv
// CHECK:         return %[[OUT]]
func.func @conv2d(%x: tensor<2x9x10x3xf32>, %w: tensor<2x3x3x8xf32>,
                  %init: tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32> {
  %y = linalg.conv_2d_nhwc_hwcf {strides = dense<[2, 1]> : tensor<2xi64>,
                                 dilations = dense<[2, 3]> : tensor<2xi64>}
      ins(%x, %w : tensor<2x9x10x3xf32>, tensor<2x3x3x8xf32>)
      outs(%init : tensor<2x3x4x8xf32>) -> tensor<2x3x4x8xf32>
  return %y : tensor<2x3x4x8xf32>
}

// 1-D and 3-D convolutions take the same road.
// CHECK-LABEL: func.func @conv1d_3d
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<12x12xf32>, tensor<12x8xf32>)
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<18x16xf32>, tensor<16x8xf32>)
// CHECK-NOT:     linalg.conv
func.func @conv1d_3d(%x: tensor<2x8x4xf32>, %w: tensor<3x4x8xf32>, %i: tensor<2x6x8xf32>,
                     %u: tensor<1x4x4x4x2xf32>, %v: tensor<2x2x2x2x8xf32>,
                     %j: tensor<1x2x3x3x8xf32>) -> (tensor<2x6x8xf32>, tensor<1x2x3x3x8xf32>) {
  %a = linalg.conv_1d_nwc_wcf {strides = dense<1> : tensor<1xi64>,
                               dilations = dense<1> : tensor<1xi64>}
      ins(%x, %w : tensor<2x8x4xf32>, tensor<3x4x8xf32>)
      outs(%i : tensor<2x6x8xf32>) -> tensor<2x6x8xf32>
  %b = linalg.conv_3d_ndhwc_dhwcf {strides = dense<[2, 1, 1]> : tensor<3xi64>,
                                   dilations = dense<1> : tensor<3xi64>}
      ins(%u, %v : tensor<1x4x4x4x2xf32>, tensor<2x2x2x2x8xf32>)
      outs(%j : tensor<1x2x3x3x8xf32>) -> tensor<1x2x3x3x8xf32>
  return %a, %b : tensor<2x6x8xf32>, tensor<1x2x3x3x8xf32>
}

// Fewer than min-features (8) output features: left direct, unless the option allows it.
// CHECK-LABEL: func.func @thin
// CHECK:         linalg.conv_2d_nhwc_hwcf
// CHECK-NOT:     linalg.matmul
// THIN-LABEL:  func.func @thin
// THIN:          linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<36x18xf32>, tensor<18x4xf32>)
func.func @thin(%x: tensor<1x8x8x2xf32>, %w: tensor<3x3x2x4xf32>,
                %init: tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32> {
  %y = linalg.conv_2d_nhwc_hwcf ins(%x, %w : tensor<1x8x8x2xf32>, tensor<3x3x2x4xf32>)
      outs(%init : tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
  return %y : tensor<1x6x6x4xf32>
}
