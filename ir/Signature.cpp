//===- Signature.cpp - Reading the calling convention of traced functions -===//
//
// Decodes the `nnx.state` / `nnx.input` / `nnx.output` attributes that the front end puts on
// the arguments and results of every traced function (see Signature.h).
//
//===----------------------------------------------------------------------===//
#include "ir/Signature.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;

namespace nnx::ir {

size_t FunctionSignature::numOutputs() const {
  size_t n = 0;
  for (const SignatureSlot &slot : results)
    n += slot.isState ? 0 : 1;
  return n;
}

/// Decodes one slot from an argument or result attribute dictionary.
static SignatureSlot decodeSlot(DictionaryAttr attrs, const char *otherAttr, unsigned index) {
  SignatureSlot slot;
  if (attrs)
    if (auto label = attrs.getAs<StringAttr>(kOutputNameAttr))
      slot.label = label.str();
  if (attrs) {
    if (auto state = attrs.getAs<StringAttr>(kStateAttr)) {
      slot.isState = true;
      slot.name = state.str();
      return slot;
    }
    if (auto other = attrs.get(otherAttr)) {
      if (auto str = llvm::dyn_cast<StringAttr>(other))
        slot.name = str.str();
      else if (auto num = llvm::dyn_cast<IntegerAttr>(other))
        slot.name = std::to_string(num.getInt());
      return slot;
    }
  }
  slot.name = std::to_string(index);
  return slot;
}

FunctionSignature getSignature(func::FuncOp func) {
  FunctionSignature sig;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    sig.args.push_back(decodeSlot(func.getArgAttrDict(i), kInputAttr, i));
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    sig.results.push_back(decodeSlot(func.getResultAttrDict(i), kOutputAttr, i));
  return sig;
}

} // namespace nnx::ir
