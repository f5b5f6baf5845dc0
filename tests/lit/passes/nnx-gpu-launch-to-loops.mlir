// RUN: %nnx-opt %s --split-input-file --verify-diagnostics --nnx-gpu-launch-to-loops | FileCheck %s

// A launch becomes loops over the grid (z, y, x) and the block (z, y, x); the body's ids are
// the loop variables, its sizes the launch's operands.
// CHECK-LABEL: func.func @launch
// CHECK-NOT:     gpu.launch
// CHECK:         scf.for %[[BZ:.*]] = %c0 to %c1
// CHECK:           scf.for %[[BY:.*]] = %c0 to %c1
// CHECK:             scf.for %[[BX:.*]] = %c0 to %[[GX:.*]] step
// CHECK:               scf.for %[[TZ:.*]] = %c0 to %c1
// CHECK:                 scf.for %[[TY:.*]] = %c0 to %c1
// CHECK:                   scf.for %[[TX:.*]] = %c0 to %c32
// CHECK:                     %[[M:.*]] = arith.muli %[[BX]], %c32
// CHECK:                     %[[I:.*]] = arith.addi %[[M]], %[[TX]]
// CHECK:                     scf.if
// CHECK:                       memref.store %{{.*}}, %{{.*}}[%[[I]]]
func.func @launch(%out: memref<100xf32>, %blocks: index) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c100 = arith.constant 100 : index
  %v = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %blocks, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %m = arith.muli %bx, %sx : index
    %i = arith.addi %m, %tx : index
    %in = arith.cmpi slt, %i, %c100 : index
    scf.if %in {
      memref.store %v, %out[%i] : memref<100xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// Threads that synchronise cannot run one after another.
func.func @barrier(%out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error @below {{cannot run this launch on the host: barriers need a GPU}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    gpu.barrier
    gpu.terminator
  }
  return
}

// -----

func.func @shared_memory(%out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error @below {{cannot run this launch on the host: memory attributions need a GPU}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<32xf32, #gpu.address_space<workgroup>>) {
    gpu.terminator
  }
  return
}

// -----

func.func @thread_id_op(%out: memref<32xindex>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error @below {{cannot run this launch on the host: gpu dialect ops in the body need a GPU}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %t = gpu.thread_id x
    memref.store %t, %out[%t] : memref<32xindex>
    gpu.terminator
  }
  return
}
