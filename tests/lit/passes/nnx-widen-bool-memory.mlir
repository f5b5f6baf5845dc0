// RUN: %nnx-opt %s --nnx-widen-bool-memory | FileCheck %s

// i1 loads and stores become i8 ones with a trunc / zext beside them, keeping their
// attributes; accesses of other types are left alone.
// CHECK-LABEL: llvm.func @masks
// CHECK:         %[[BYTE:.*]] = llvm.load %arg0 {alignment = 1 : i64} : !llvm.ptr -> i8
// CHECK-NEXT:    %[[BIT:.*]] = llvm.trunc %[[BYTE]] : i8 to i1
// CHECK-NEXT:    %[[F:.*]] = llvm.load %arg1 : !llvm.ptr -> f32
// CHECK-NEXT:    %[[SEL:.*]] = llvm.select %[[BIT]], %[[F]], %arg2 : i1, f32
// CHECK-NEXT:    %[[NOT:.*]] = llvm.xor %[[BIT]], %arg3 : i1
// CHECK-NEXT:    %[[WIDE:.*]] = llvm.zext %[[NOT]] : i1 to i8
// CHECK-NEXT:    llvm.store volatile %[[WIDE]], %arg0 {alignment = 1 : i64} : i8, !llvm.ptr
// CHECK-NEXT:    llvm.store %[[SEL]], %arg1 : f32, !llvm.ptr
// CHECK-NEXT:    %[[I:.*]] = llvm.load %arg1 : !llvm.ptr -> i32
// CHECK-NEXT:    llvm.return %[[I]] : i32
llvm.func @masks(%p: !llvm.ptr, %q: !llvm.ptr, %zero: f32, %true: i1) -> i32 {
  %bit = llvm.load %p {alignment = 1 : i64} : !llvm.ptr -> i1
  %f = llvm.load %q : !llvm.ptr -> f32
  %sel = llvm.select %bit, %f, %zero : i1, f32
  %not = llvm.xor %bit, %true : i1
  llvm.store volatile %not, %p {alignment = 1 : i64} : i1, !llvm.ptr
  llvm.store %sel, %q : f32, !llvm.ptr
  %i = llvm.load %q : !llvm.ptr -> i32
  llvm.return %i : i32
}
