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

// A block reverses 32 elements through shared memory: every thread stores its element before
// any thread reads its mirror, so the barrier cuts the body into two loops over the threads,
// one host buffer standing for the workgroup memory. The index the second half computes from
// the thread id is computed there (the subtraction), the value loaded before the barrier is
// not needed after it.
// CHECK-LABEL: func.func @reverse
// CHECK:         %[[TILE:.*]] = memref.alloc() : memref<32xf32>
// CHECK:         scf.for %[[BX:.*]] = %c0{{.*}} to %c1
// CHECK:           scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:               scf.for %[[T1:.*]] = %c0{{.*}} to %c32
// CHECK:                 %[[V:.*]] = memref.load %{{.*}}[%[[T1]]]
// CHECK:                 memref.store %[[V]], %[[TILE]][%[[T1]]]
// CHECK:               }
// CHECK:             }
// CHECK:           }
// CHECK-NOT:       gpu.barrier
// CHECK:           scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:               scf.for %[[T2:.*]] = %c0{{.*}} to %c32
// CHECK:                 %[[R:.*]] = arith.subi %c31, %[[T2]]
// CHECK:                 %[[W:.*]] = memref.load %[[TILE]][%[[R]]]
// CHECK:                 memref.store %[[W]], %{{.*}}[%[[T2]]]
// CHECK:         memref.dealloc %[[TILE]]
func.func @reverse(%in: memref<32xf32>, %out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c31 = arith.constant 31 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<32xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %in[%tx] : memref<32xf32>
    memref.store %v, %tile[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %r = arith.subi %c31, %tx : index
    %w = memref.load %tile[%r] : memref<32xf32, #gpu.address_space<workgroup>>
    memref.store %w, %out[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

// A k loop staging slices (the tiled matmul's shape): the loop holds barriers, so it runs once
// per block around the loops over the threads of each segment; the private accumulator is one
// slice per thread of a host buffer, indexed first by the thread's linear id.
// CHECK-LABEL: func.func @staged_loop
// CHECK:         %[[ACC:.*]] = memref.alloc(%{{.*}}) : memref<?x2xf32>
// CHECK:         scf.for %{{.*}} = %c0{{.*}} to %c3
// CHECK:           scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:               scf.for %{{.*}} = %c0{{.*}} to %c8
// CHECK:                 memref.store %{{.*}}, %[[ACC]][%{{.*}}, %c0]
// CHECK:           scf.for %[[K:.*]] = %c0{{.*}} to %c64 step %c8
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:               scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:                 scf.for %{{.*}} = %c0{{.*}} to %c8
// CHECK:                   memref.store
// CHECK:             scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:               scf.for %{{.*}} = %c0{{.*}} to %c1
// CHECK:                 scf.for %{{.*}} = %c0{{.*}} to %c8
// CHECK:                   %[[S:.*]] = memref.load %[[ACC]][%{{.*}}, %c0]
// CHECK:                   arith.addf %[[S]]
// CHECK:         memref.dealloc %[[ACC]]
func.func @staged_loop(%in: memref<3x64xf32>, %out: memref<3x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c3, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c8, %sy = %c1, %sz = %c1)
             workgroup(%tile : memref<8xf32, #gpu.address_space<workgroup>>)
             private(%acc : memref<2xf32, #gpu.address_space<private>>) {
    memref.store %zero, %acc[%c0] : memref<2xf32, #gpu.address_space<private>>
    scf.for %k = %c0 to %c64 step %c8 {
      %i = arith.addi %k, %tx : index
      %v = memref.load %in[%bx, %i] : memref<3x64xf32>
      memref.store %v, %tile[%tx] : memref<8xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %s = memref.load %acc[%c0] : memref<2xf32, #gpu.address_space<private>>
      %w = memref.load %tile[%c0] : memref<8xf32, #gpu.address_space<workgroup>>
      %t = arith.addf %s, %w : f32
      memref.store %t, %acc[%c0] : memref<2xf32, #gpu.address_space<private>>
      gpu.barrier
    }
    %r = memref.load %acc[%c0] : memref<2xf32, #gpu.address_space<private>>
    memref.store %r, %out[%bx, %tx] : memref<3x8xf32>
    gpu.terminator
  }
  return
}

// -----

// Threads of a real block that skip a barrier hang or race: no sequential order matches.
func.func @conditional_barrier(%out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %low = arith.cmpi ult, %tx, %c16 : index
    // expected-error @below {{cannot run this launch on the host: a barrier inside 'scf.if' (only scf.for loops may hold barriers)}}
    scf.if %low {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

func.func @thread_dependent_loop(%out: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @below {{cannot run this launch on the host: the bounds of a loop with a barrier depend on the thread}}
    scf.for %i = %c0 to %tx step %c1 {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// A loaded value would have to be kept per thread across the barrier.
func.func @value_across_barrier(%in: memref<32xf32>, %out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %v = memref.load %in[%tx] : memref<32xf32>
    gpu.barrier
    // expected-error @below {{cannot run this launch on the host: a value computed before a barrier (not recomputable) is used after it}}
    memref.store %v, %out[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @loop_carrying_values(%out: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @below {{cannot run this launch on the host: a loop with a barrier carries values}}
    %s = scf.for %i = %c0 to %c32 step %c1 iter_args(%a = %zero) -> (f32) {
      gpu.barrier
      scf.yield %a : f32
    }
    gpu.terminator
  }
  return
}

// -----

func.func @private_view(%out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error @below {{cannot run this launch on the host: private memory used other than by loads and stores need a GPU}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             private(%p : memref<4xf32, #gpu.address_space<private>>) {
    %view = memref.subview %p[0] [2] [1] : memref<4xf32, #gpu.address_space<private>> to memref<2xf32, strided<[1]>, #gpu.address_space<private>>
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

// -----

// Memory sized at launch time, thread block clusters and asynchronous launches are refused.
func.func @dynamic_shared_memory(%out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %bytes = arith.constant 128 : i32
  // expected-error @below {{cannot run this launch on the host: dynamic shared memory need a GPU}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             dynamic_shared_memory_size %bytes {
    gpu.terminator
  }
  return
}

// -----

func.func @clusters(%out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c32 = arith.constant 32 : index
  // expected-error @below {{cannot run this launch on the host: thread block clusters need a GPU}}
  gpu.launch clusters(%cx, %cy, %cz) in (%ncx = %c2, %ncy = %c1, %ncz = %c1)
             blocks(%bx, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return
}

// -----

func.func @asynchronous(%out: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %dep = gpu.wait async
  // expected-error @below {{cannot run this launch on the host: asynchronous launches need a GPU}}
  %done = gpu.launch async [%dep] blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    gpu.terminator
  }
  return
}
