// RUN: %nnx-opt %s --nnx-math-approximation="all=1" | FileCheck %s

// For targets without libm (the GPU): every f32 math op with a polynomial is approximated,
// nnx.exact ones included, and powf becomes exp(y log|x|) with C's special cases; sqrt,
// fabs and floor stay (the target has instructions); f64 ops stay.
// CHECK-LABEL: func.func @all
// CHECK-NOT:     math.exp {{.*}} : f32
// CHECK-NOT:     math.log {{.*}} : f32
// CHECK-NOT:     math.sin
// CHECK-NOT:     math.cos {{.*}} : f32
// CHECK-NOT:     math.erf
// CHECK-NOT:     math.powf {{.*}} : f32
// CHECK:         math.sqrt %{{.*}} : f32
// CHECK:         math.cos %{{.*}} : f64
// CHECK:         math.powf %{{.*}} : f64
// CHECK:         return
func.func @all(%x: f32, %y: f32, %d: f64) -> (f32, f32, f32, f32, f32, f32, f32, f64, f64) {
  %0 = math.log %x {nnx.exact} : f32
  %1 = math.cos %x {nnx.exact} : f32
  %2 = math.sin %x : f32
  %3 = math.erf %x : f32
  %4 = math.powf %x, %y : f32
  %5 = math.tanh %x : f32
  %6 = math.sqrt %x : f32
  %7 = math.cos %d : f64
  %8 = math.powf %d, %d : f64
  return %0, %1, %2, %3, %4, %5, %6, %7, %8 : f32, f32, f32, f32, f32, f32, f32, f64, f64
}

// pow's special cases are selects around exp(y log|x|): 1 for x == 1 or y == 0 or
// |x| == 1 with y infinite; the sign of x for an odd integer y; NaN for a finite negative x
// and a non-integer y.
// CHECK-LABEL: func.func @pow
// CHECK-DAG:     arith.constant 0x7FC00000 : f32
// CHECK-DAG:     math.absf %arg0
// CHECK-DAG:     math.floor %arg1
// CHECK-DAG:     arith.bitcast %arg0 : f32 to i32
// CHECK-DAG:     arith.cmpf oeq, %arg1, %{{.*}} : f32
// CHECK-NOT:     math.powf
func.func @pow(%x: f32, %y: f32) -> f32 {
  %r = math.powf %x, %y : f32
  return %r : f32
}
