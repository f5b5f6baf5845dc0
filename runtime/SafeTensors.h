//===- SafeTensors.h - Checkpoints in the safetensors format --------------===//
//
// Checkpoints are safetensors files (huggingface/safetensors): a u64 little-endian header
// length, a JSON header mapping each tensor name to its dtype, shape and byte range, an optional
// "__metadata__" object of strings, then the raw bytes. nnx names tensors by dotted variable
// path ("block.linear.kernel"). Reading validates every field (a corrupt header is E0502, never a
// crash); writing is atomic; loadState() checks that a checkpoint fits the model (E0503).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/State.h"
#include "runtime/Tensor.h"

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nnx::rt {

/// The contents of a safetensors file.
struct SafeTensorsFile {
  /// The tensors by name, in the order of their data in the file.
  std::vector<std::pair<std::string, Tensor>> tensors;
  /// The "__metadata__" entries (empty when the file has none).
  std::map<std::string, std::string> metadata;
  /// Tensors stored in a dtype nnx converted on reading, with that dtype ("BF16", "U32"):
  /// F16/BF16 -> f32, I8/U8/I16/U16 -> i32, U32/U64 -> i64 (all exact).
  std::map<std::string, std::string> converted;
};

/// Reads the safetensors file at `path`. Throws rt::Error E0500 when it cannot be read and E0502
/// when it is malformed or holds a dtype nnx does not support.
SafeTensorsFile readSafeTensors(const std::string &path);

/// Parses safetensors bytes; `name` is the file name used in messages.
SafeTensorsFile parseSafeTensors(std::string_view bytes, const std::string &name);

/// Writes `tensors` (stored sorted by name, like the Python library) and `metadata` to `path`
/// atomically: a temporary file beside it, fsync, rename. On any failure `path` is untouched.
/// Throws rt::Error E0502 for an invalid tensor name (empty, duplicated or "__metadata__") and
/// E0500 when the file cannot be written.
void writeSafeTensors(const std::string &path,
                      const std::vector<std::pair<std::string, Tensor>> &tensors,
                      const std::map<std::string, std::string> &metadata);

/// What a checkpoint may lack or hold beyond the model.
struct LoadOptions {
  /// Variable kinds that may be absent on either side and keep their current (initial) value:
  /// OptState (a `params` checkpoint has none), RngKey and RngCount (a Flax `nnx.Param` export).
  std::set<std::string> optionalKinds;
  /// --allow-missing: any variable may be absent from the file.
  bool allowMissing = false;
  /// --allow-extra: tensors the model lacks are ignored.
  bool allowExtra = false;
};

/// Copies the tensors of `file` into the variables of `state` with the same path. Throws one
/// rt::Error E0503 listing every problem (variables missing from the file, shape or dtype
/// mismatches, tensors of the file that the model lacks) and then changes nothing.
/// `fileName` names the file in messages. A stored dtype that differs from the variable's is
/// converted when both are floats or both integers (an i64 value beyond i32 is E0503, but U32
/// words — Flax's rng key data and counters — keep their bits in an i32); a bool only matches
/// bool. Returns notes for the user: the tensors converted, the variables left at
/// their initial values, the tensors ignored.
std::vector<std::string> loadState(State &state, const SafeTensorsFile &file,
                                   const std::string &fileName,
                                   const LoadOptions &options = {});

/// Writes every variable of `state` to `path`, with metadata {"format": "nnx", "kinds": a JSON
/// object path -> kind, as a string}.
/// `extra` adds metadata entries (nnxrun train records its run: "nnxrun.train").
void saveState(const State &state, const std::string &path,
               const std::map<std::string, std::string> &extra = {});

} // namespace nnx::rt
