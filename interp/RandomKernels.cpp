//===- RandomKernels.cpp - Random draws of the interpreter ----------------===//
//
// randomUniform and randomNormal turn a stream key held in the state tree (i32[2], the bit
// patterns of an rt::Key) and a draw counter (i32[]) into a tensor of draws with the rules of
// runtime/Rng.h (docs/rng.md): key = drawKey(key, counter); element i hashes the counter i.
//
//===----------------------------------------------------------------------===//
#include "interp/Kernels.h"

#include "runtime/Rng.h"

#include <cassert>

namespace nnx::interp {
namespace {

using rt::Tensor;

/// The draw key of a key tensor and a counter tensor.
rt::Key drawKeyOf(const Tensor &key, const Tensor &counter) {
  assert(key.dtype() == rt::DType::I32 && key.shape() == rt::Shape{2} && "key must be i32[2]");
  assert(counter.dtype() == rt::DType::I32 && counter.rank() == 0 && "counter must be i32[]");
  rt::Key stream = {static_cast<uint32_t>(key.data<int32_t>()[0]),
                    static_cast<uint32_t>(key.data<int32_t>()[1])};
  return rt::drawKey(stream, static_cast<uint32_t>(counter.data<int32_t>()[0]));
}

/// Fills f32 draws with `fill` and converts them to the float `dtype`.
Tensor draw(void (*fill)(rt::Key, float *, int64_t), const Tensor &key, const Tensor &counter,
            const rt::Shape &shape, rt::DType dtype) {
  assert(rt::isFloat(dtype) && "random draws are floats");
  Tensor out(rt::DType::F32, shape);
  fill(drawKeyOf(key, counter), out.data<float>(), out.numel());
  return dtype == rt::DType::F32 ? out : out.astype(dtype);
}

} // namespace

Tensor randomUniform(const Tensor &key, const Tensor &counter, const rt::Shape &shape,
                     rt::DType dtype) {
  return draw(rt::fillUniform, key, counter, shape, dtype);
}

Tensor randomNormal(const Tensor &key, const Tensor &counter, const rt::Shape &shape,
                    rt::DType dtype) {
  return draw(rt::fillNormal, key, counter, shape, dtype);
}

} // namespace nnx::interp
