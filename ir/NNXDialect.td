//===- NNXDialect.td - The nnx dialect ------------------------*- tablegen -*-===//
//
// The one IR in the middle of nnx: the front end emits it, the interpreter evaluates it, the
// CPU JIT lowers it to linalg. Ops work on ranked tensors of static shape with element types
// f32, f64, i32, i64 and i1 (bool); every implicit broadcast of the language is explicit here
// (nnx.broadcast_in_dim), so elementwise ops take operands of one type.
//
//===----------------------------------------------------------------------===//
#ifndef NNX_DIALECT_TD
#define NNX_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def NNX_Dialect : Dialect {
  let name = "nnx";
  let cppNamespace = "::nnx::ir";
  let summary = "Tensor ops of the nnx neural-network language";
  let hasConstantMaterializer = 1;
  let description = [{
    Methods of nnx modules become pure `func.func`s over these ops: every variable of the
    model's state tree is an argument (`nnx.state = "path"`), every input is an argument
    (`nnx.input = "name"`), and the function returns its outputs followed by the new values of
    the variables it changed.
  }];
}

class NNX_Op<string mnemonic, list<Trait> traits = []> : Op<NNX_Dialect, mnemonic, traits>;

def NNX_AnyTensor : RankedTensorOf<[F32, F64, I32, I64, I1]>;
def NNX_FloatTensor : RankedTensorOf<[F32, F64]>;
def NNX_NumericTensor : RankedTensorOf<[F32, F64, I32, I64]>;
def NNX_BoolTensor : RankedTensorOf<[I1]>;
def NNX_IntegerTensor : RankedTensorOf<[I32, I64]>;

def NNX_CmpPredicateAttr : I32EnumAttr<"CmpPredicate", "comparison predicate", [
    I32EnumAttrCase<"eq", 0>, I32EnumAttrCase<"ne", 1>, I32EnumAttrCase<"lt", 2>,
    I32EnumAttrCase<"le", 3>, I32EnumAttrCase<"gt", 4>, I32EnumAttrCase<"ge", 5>]> {
  let cppNamespace = "::nnx::ir";
}

#endif // NNX_DIALECT_TD
