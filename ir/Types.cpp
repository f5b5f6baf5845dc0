//===- Types.cpp - nnx dtypes and shapes as MLIR types --------------------===//
//
// See Types.h.
//
//===----------------------------------------------------------------------===//
#include "ir/Types.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace nnx::ir {

Type elementType(MLIRContext *ctx, rt::DType dtype) {
  switch (dtype) {
  case rt::DType::F32: return Float32Type::get(ctx);
  case rt::DType::F64: return Float64Type::get(ctx);
  case rt::DType::I32: return IntegerType::get(ctx, 32);
  case rt::DType::I64: return IntegerType::get(ctx, 64);
  case rt::DType::Bool: return IntegerType::get(ctx, 1);
  }
  return Type();
}

std::optional<rt::DType> dtypeOf(Type type) {
  if (type.isF32())
    return rt::DType::F32;
  if (type.isF64())
    return rt::DType::F64;
  if (type.isInteger(32))
    return rt::DType::I32;
  if (type.isInteger(64))
    return rt::DType::I64;
  if (type.isInteger(1))
    return rt::DType::Bool;
  return std::nullopt;
}

RankedTensorType tensorType(MLIRContext *ctx, rt::DType dtype, llvm::ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, elementType(ctx, dtype));
}

std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string formatType(Type type) {
  auto tensor = llvm::dyn_cast<RankedTensorType>(type);
  std::optional<rt::DType> dtype = tensor ? dtypeOf(tensor.getElementType()) : std::nullopt;
  if (!dtype) {
    std::string s;
    llvm::raw_string_ostream os(s);
    os << type;
    return s;
  }
  return std::string(rt::dtypeName(*dtype)) + formatShape(tensor.getShape());
}

} // namespace nnx::ir
