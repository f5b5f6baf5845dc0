// RUN: %nnx-opt %s --nnx-math-approximation | FileCheck %s

// f32 exp, log and tanh become polynomial arithmetic (exp and log range-reduced for
// subnormals first); f64 ops and ops marked nnx.exact (random-normal's log) keep libm.
// CHECK-LABEL: func.func @approximated
// CHECK-NOT:     math.exp {{.*}} : f32
// CHECK-NOT:     math.tanh
// CHECK:         arith.cmpf olt, %arg0, %{{.*}} : f32
// CHECK:         math.log %arg0 {nnx.exact} : f32
// CHECK:         math.exp %arg1 : f64
// CHECK-NOT:     math.log {{.*}} : f32
// CHECK:         return
func.func @approximated(%x: f32, %y: f64) -> (f32, f32, f32, f32, f64) {
  %e = math.exp %x : f32
  %l = math.log %x : f32
  %t = math.tanh %x : f32
  %k = math.log %x {nnx.exact} : f32
  %d = math.exp %y : f64
  return %e, %l, %t, %k, %d : f32, f32, f32, f32, f64
}
