//===- Resolve.h - Static name resolution before any evaluation -----------===//
//
// Checks every loaded body for unknown names (with "did you mean"), calls that do not fit a
// module's or function's parameters, unknown type names and unknown variable kinds, without
// running anything (see Resolve.cpp). Commands run it after loading and before evaluating.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/Program.h"

namespace nnx::lang {

/// Reports every resolution error of `program`'s files; true when there was none.
bool resolveProgram(Program &program);

} // namespace nnx::lang
