// RUN: %nnx-opt %s --nnx-inline-alloca-scopes | FileCheck %s

// convert-scf-to-openmp wraps parallel bodies in alloca_scope; a scope that allocates nothing
// is replaced by its body, one that allocates (directly) is kept.
// CHECK-LABEL: func.func @scopes
// CHECK-NOT:     memref.alloca_scope {
// CHECK:         memref.store %{{.*}}, %arg0[%c0]
// CHECK:         memref.alloca_scope {
// CHECK-NEXT:      memref.alloca() : memref<4xf32>
// CHECK:         return
func.func @scopes(%m: memref<4xf32>, %x: f32) {
  %c0 = arith.constant 0 : index
  memref.alloca_scope {
    memref.store %x, %m[%c0] : memref<4xf32>
  }
  memref.alloca_scope {
    %t = memref.alloca() : memref<4xf32>
    memref.store %x, %t[%c0] : memref<4xf32>
  }
  return
}
