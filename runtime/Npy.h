//===- Npy.h - Reading and writing numpy .npy files -----------------------===//
//
// The .npy format (numpy/doc/neps/nep-0001-npy-format) is how tensors enter and leave nnxrun:
// `--input x=x.npy`, `--output y.npy`. The reader accepts versions 1.0, 2.0 and 3.0 of
// little-endian C-ordered f32, f64, i32, i64 and bool arrays and rejects everything else with
// a message that says what is wrong; the writer emits version 1.0 exactly as numpy.save does.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include <string>

namespace nnx::rt {

/// Reads the .npy file at `path`. Throws rt::Error E0500 when it cannot be read and E0501
/// when it is not a well-formed .npy file of a supported dtype.
Tensor readNpy(const std::string &path);

/// Parses .npy bytes; `name` is the file name used in messages.
Tensor parseNpy(std::string_view bytes, const std::string &name);

/// Writes `tensor` to `path` in .npy version 1.0 (64-byte aligned header, like numpy.save),
/// atomically (temporary file, then rename). Throws rt::Error E0500 on failure.
void writeNpy(const std::string &path, const Tensor &tensor);

/// The bytes writeNpy() writes, header and data.
std::string serializeNpy(const Tensor &tensor);

} // namespace nnx::rt
