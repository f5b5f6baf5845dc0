// RUN: %nnx-opt %s --nnx-gpu-sink-host-scalars --canonicalize | FileCheck %s

// A scalar derived on the host from an input (never written) is computed again in the launch:
// the host keeps no load of device memory.
// CHECK-LABEL: func.func @input
// CHECK-NOT:     memref.load
// CHECK:         gpu.launch
// CHECK:           %[[K:.*]] = memref.load %arg0[%{{.*}}] : memref<2xi32>
// CHECK:           %[[D:.*]] = arith.addi %[[K]], %[[K]] : i32
// CHECK:           memref.store %[[D]], %arg1
func.func @input(%key: memref<2xi32>, %out: memref<4xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %k = memref.load %key[%c0] : memref<2xi32>
  %k2 = arith.addi %k, %k : i32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    memref.store %k2, %out[%tx] : memref<4xi32>
    gpu.terminator
  }
  return
}

// A load of a buffer the function writes (here an out-param, through a view) stays where it
// is: moving it past the write would read the new value.
// CHECK-LABEL: func.func @written
// CHECK:         %[[V:.*]] = memref.load %arg0[]
// CHECK:         memref.store
// CHECK:         gpu.launch
// CHECK-NOT:       memref.load %arg0
// CHECK:           memref.store %[[V]], %arg1
func.func @written(%state: memref<i32>, %out: memref<4xi32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1 : i32
  %v = memref.load %state[] : memref<i32>
  %n = arith.addi %v, %one : i32
  %view = memref.expand_shape %state [] output_shape [1] : memref<i32> into memref<1xi32>
  %c0 = arith.constant 0 : index
  memref.store %n, %view[%c0] : memref<1xi32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    memref.store %v, %out[%tx] : memref<4xi32>
    gpu.terminator
  }
  return
}
