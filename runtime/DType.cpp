//===- DType.cpp - Element types of nnx tensors --------------------------===//
//
// Sizes and spellings of the five element types: the language names ("f32"), the numpy descr
// strings ("<f4") and the safetensors names ("F32"). Keeping the three tables side by side is
// what makes the .npy and safetensors readers agree with the front end.
//
//===----------------------------------------------------------------------===//
#include "runtime/DType.h"

#include <array>

namespace nnx::rt {
namespace {

/// One row per dtype, in enum order.
struct DTypeInfo {
  DType dtype;
  size_t size;
  std::string_view name;
  std::string_view npy;
  std::string_view safetensors;
};

constexpr std::array<DTypeInfo, 5> kDTypes = {{
    {DType::F32, 4, "f32", "<f4", "F32"},
    {DType::F64, 8, "f64", "<f8", "F64"},
    {DType::I32, 4, "i32", "<i4", "I32"},
    {DType::I64, 8, "i64", "<i8", "I64"},
    {DType::Bool, 1, "bool", "|b1", "BOOL"},
}};

const DTypeInfo &info(DType dtype) { return kDTypes[static_cast<size_t>(dtype)]; }

} // namespace

size_t dtypeSize(DType dtype) { return info(dtype).size; }

std::string_view dtypeName(DType dtype) { return info(dtype).name; }

std::optional<DType> parseDType(std::string_view name) {
  for (const DTypeInfo &row : kDTypes)
    if (row.name == name)
      return row.dtype;
  return std::nullopt;
}

std::string_view npyDescr(DType dtype) { return info(dtype).npy; }

std::optional<DType> parseNpyDescr(std::string_view descr) {
  for (const DTypeInfo &row : kDTypes)
    if (row.npy == descr)
      return row.dtype;
  return std::nullopt;
}

std::string_view safetensorsDType(DType dtype) { return info(dtype).safetensors; }

std::optional<DType> parseSafetensorsDType(std::string_view name) {
  for (const DTypeInfo &row : kDTypes)
    if (row.safetensors == name)
      return row.dtype;
  return std::nullopt;
}

} // namespace nnx::rt
