// RUN: %nnx-opt %s --split-input-file --verify-diagnostics --nnx-gpu-launch-to-runtime-calls | FileCheck %s

// A launch of a kernel taking a strided 2-d view and an f32 becomes a call of the runtime's
// launcher: 1 + 1 + 1 + 2 + 2 descriptor slots (allocated and aligned pointer, offset, sizes,
// strides) and the float's bits, in a stack array allocated at the function's entry; the
// kernel is named by its index in `nnx.gpu_kernels`, the second launch of it reuses index 0,
// and the gpu.module is gone.
// CHECK-LABEL: module attributes {nnx.gpu_kernels = ["scale_kernel"]}
// CHECK-NOT:   gpu.module
// CHECK-LABEL: func.func @host(
// CHECK:         %[[SLOTS:.*]] = memref.alloca() : memref<8xi64>
// CHECK:         %[[SLOTS2:.*]] = memref.alloca() : memref<8xi64>
// CHECK:         %[[BASE:.*]], %[[OFF:.*]], %[[SIZES:.*]]:2, %[[STRIDES:.*]]:2 = memref.extract_strided_metadata %[[VIEW:.*]] :
// CHECK:         %[[PTR:.*]] = memref.extract_aligned_pointer_as_index %[[VIEW]]
// CHECK:         %[[P:.*]] = arith.index_castui %[[PTR]] : index to i64
// CHECK:         %[[BITS:.*]] = arith.bitcast %arg1 : f32 to i32
// CHECK:         %[[WIDE:.*]] = arith.extui %[[BITS]] : i32 to i64
// CHECK:         memref.store %[[P]], %[[SLOTS2]][%c0{{.*}}]
// CHECK:         memref.store %[[P]], %[[SLOTS2]][%c1{{.*}}]
// CHECK:         memref.store %[[WIDE]], %[[SLOTS2]][%c7{{.*}}]
// CHECK:         %[[ADDR:.*]] = memref.extract_aligned_pointer_as_index %[[SLOTS2]]
// CHECK:         %[[A:.*]] = arith.index_castui %[[ADDR]] : index to i64
// CHECK:         call @nnx_gpu_launch(%c0_i64{{.*}}, {{.*}}, %[[A]], %c8_i64{{.*}}) : (i64, i64, i64, i64, i64, i64, i64, i64, i64) -> ()
// CHECK:         call @nnx_gpu_launch(%c0_i64{{.*}}
// CHECK-NOT:     gpu.launch_func
// CHECK:       func.func private @nnx_gpu_launch(i64, i64, i64, i64, i64, i64, i64, i64, i64)
module attributes {gpu.container_module} {
  gpu.module @scale_kernel {
    gpu.func @scale_kernel(%m: memref<4x8xf32, strided<[16, 1], offset: 4>>, %s: f32) kernel {
      gpu.return
    }
  }
  func.func @host(%m: memref<8x16xf32>, %s: f32) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %view = memref.subview %m[0, 4] [4, 8] [1, 1] : memref<8x16xf32> to memref<4x8xf32, strided<[16, 1], offset: 4>>
    gpu.launch_func @scale_kernel::@scale_kernel blocks in (%c4, %c1, %c1) threads in (%c4, %c1, %c1) args(%view : memref<4x8xf32, strided<[16, 1], offset: 4>>, %s : f32)
    gpu.launch_func @scale_kernel::@scale_kernel blocks in (%c4, %c1, %c1) threads in (%c4, %c1, %c1) args(%view : memref<4x8xf32, strided<[16, 1], offset: 4>>, %s : f32)
    return
  }
}

// -----

// An operand the launcher cannot pass is an error on the launch.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%v: vector<4xf32>) kernel {
      gpu.return
    }
  }
  func.func @host(%v: vector<4xf32>) {
    %c1 = arith.constant 1 : index
    // expected-error @below {{a kernel operand of type 'vector<4xf32>' cannot be passed to the GPU launcher}}
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%v : vector<4xf32>)
    return
  }
}
