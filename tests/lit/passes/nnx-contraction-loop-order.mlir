// RUN: %nnx-opt %s --nnx-contraction-loop-order | FileCheck %s

// A matmul runs (i, k, j): the reduction before the last parallel loop.
// CHECK-LABEL: func.func @matmul
// CHECK:         linalg.generic {indexing_maps = [#{{.*}}, #{{.*}}, #{{.*}}], iterator_types = ["parallel", "reduction", "parallel"]}
func.func @matmul(%a: memref<4x5xf32>, %b: memref<5x6xf32>, %c: memref<4x6xf32>) {
  linalg.matmul ins(%a, %b : memref<4x5xf32>, memref<5x6xf32>) outs(%c : memref<4x6xf32>)
  return
}

// A direct convolution's features and a pool's channels move behind the window's loops:
// conv (n, oh, ow, f, kh, kw, c) runs as (n, oh, ow, kh, kw, c, f), pool (n, oh, ow, c, kh,
// kw) as (n, oh, ow, kh, kw, c).
// CHECK-LABEL: func.func @windows
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]
// CHECK:           arith.mulf
// CHECK:         linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "parallel"]
// CHECK:           arith.maximumf
// CHECK-NOT:     linalg.conv
// CHECK-NOT:     linalg.pooling
func.func @windows(%x: memref<1x8x8x2xf32>, %w: memref<3x3x2x4xf32>, %y: memref<1x6x6x4xf32>,
                   %window: memref<2x2xf32>, %p: memref<1x4x4x2xf32>) {
  linalg.conv_2d_nhwc_hwcf ins(%x, %w : memref<1x8x8x2xf32>, memref<3x3x2x4xf32>)
      outs(%y : memref<1x6x6x4xf32>)
  linalg.pooling_nhwc_max {strides = dense<2> : tensor<2xi64>, dilations = dense<1> : tensor<2xi64>}
      ins(%x, %window : memref<1x8x8x2xf32>, memref<2x2xf32>) outs(%p : memref<1x4x4x2xf32>)
  return
}
