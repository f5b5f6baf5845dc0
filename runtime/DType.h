//===- DType.h - Element types of nnx tensors ----------------------------===//
//
// The five element types a tensor may hold: f32, f64, i32, i64 and bool. Their spelling in the
// language and in messages ("f32"), their size, and the mapping to the dtype strings of the
// .npy ("<f4") and safetensors ("F32") formats live here so every layer agrees on them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nnx::rt {

/// An element type of a tensor.
enum class DType : uint8_t { F32, F64, I32, I64, Bool };

/// Size in bytes of one element (bool is stored as one byte, 0 or 1).
size_t dtypeSize(DType dtype);

/// The language spelling: "f32", "f64", "i32", "i64", "bool".
std::string_view dtypeName(DType dtype);

/// Parses the language spelling; nullopt when it names no dtype.
std::optional<DType> parseDType(std::string_view name);

/// The numpy array-protocol string of `dtype` as numpy writes it on a little-endian machine:
/// "<f4", "<f8", "<i4", "<i8", "|b1".
std::string_view npyDescr(DType dtype);

/// Parses a numpy descr; only the five strings npyDescr() returns are accepted.
std::optional<DType> parseNpyDescr(std::string_view descr);

/// The safetensors dtype string: "F32", "F64", "I32", "I64", "BOOL".
std::string_view safetensorsDType(DType dtype);

/// Parses a safetensors dtype string; nullopt for the ones nnx does not hold (F16, U8, ...).
std::optional<DType> parseSafetensorsDType(std::string_view name);

/// True for f32 and f64.
inline bool isFloat(DType dtype) { return dtype == DType::F32 || dtype == DType::F64; }

/// True for i32 and i64.
inline bool isInteger(DType dtype) { return dtype == DType::I32 || dtype == DType::I64; }

/// Maps a C++ element type to its DType (float, double, int32_t, int64_t, bool).
template <typename T> constexpr DType dtypeOf();
template <> constexpr DType dtypeOf<float>() { return DType::F32; }
template <> constexpr DType dtypeOf<double>() { return DType::F64; }
template <> constexpr DType dtypeOf<int32_t>() { return DType::I32; }
template <> constexpr DType dtypeOf<int64_t>() { return DType::I64; }
template <> constexpr DType dtypeOf<bool>() { return DType::Bool; }

/// Calls `fn(T{})` with T the C++ type of `dtype` (float, double, int32_t, int64_t, bool).
template <typename Fn> decltype(auto) dispatchDType(DType dtype, Fn &&fn) {
  switch (dtype) {
  case DType::F32: return fn(float{});
  case DType::F64: return fn(double{});
  case DType::I32: return fn(int32_t{});
  case DType::I64: return fn(int64_t{});
  case DType::Bool: break;
  }
  return fn(bool{});
}

} // namespace nnx::rt
