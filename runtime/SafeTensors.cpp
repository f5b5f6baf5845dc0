//===- SafeTensors.cpp - Checkpoints in the safetensors format ------------===//
//
// The reader trusts nothing: the header length is checked against the file size, the JSON is
// parsed with nlohmann::json (which also rejects ill-formed UTF-8), every entry's dtype, shape
// and byte range is validated, and the ranges must not overlap. The writer lays tensors out in
// name order with the header padded by spaces to a multiple of 8 bytes, as the Python library
// does, and goes through writeFileAtomically().
//
//===----------------------------------------------------------------------===//
#include "runtime/SafeTensors.h"

#include "runtime/Error.h"
#include "runtime/FileIO.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

namespace nnx::rt {
namespace {

using Json = nlohmann::json;

/// The Python library refuses headers larger than this.
constexpr uint64_t kMaxHeaderSize = 100'000'000;

/// One tensor entry of a header, validated.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin;
  uint64_t end;
  /// The dtype as stored when nnx converts it on reading (F16, BF16, U8, I8, I16, U16, U32,
  /// U64), else empty.
  std::string foreign;
};

/// A dtype nnx converts on reading: its element size and the nnx dtype it becomes (exactly:
/// halves widen to f32, small and unsigned 32-bit integers to i32/i64; U64 to i64, checked).
struct ForeignDType {
  const char *name;
  size_t size;
  DType to;
};
constexpr ForeignDType kForeignDTypes[] = {
    {"F16", 2, DType::F32}, {"BF16", 2, DType::F32}, {"I8", 1, DType::I32},
    {"U8", 1, DType::I32},  {"I16", 2, DType::I32},  {"U16", 2, DType::I32},
    {"U32", 4, DType::I64}, {"U64", 8, DType::I64},
};

const ForeignDType *foreignDType(const std::string &name) {
  for (const ForeignDType &f : kForeignDTypes)
    if (name == f.name)
      return &f;
  return nullptr;
}

/// IEEE binary16 bits as a float (subnormals, infinities and NaN included).
float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0 && mant == 0) {
    bits = sign;
  } else if (exp == 0) { // subnormal: normalise
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while (!(mant & 0x400));
    bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// A JSON value for a message, cut to 60 characters.
std::string brief(const Json &value) {
  std::string text = value.dump();
  if (text.size() <= 60)
    return text;
  size_t cut = 57;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80)
    --cut; // do not split a UTF-8 sequence
  return text.substr(0, cut) + "...";
}

[[noreturn]] void corrupt(const std::string &name, const std::string &what) {
  throw Error("E0502", "corrupt safetensors header in `" + name + "`: " + what);
}

/// A JSON value as a non-negative integer, or E0502 describing `what` it should be.
uint64_t unsignedValue(const Json &value, const std::string &name, const std::string &what) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
    corrupt(name, what + " is " + brief(value) + ", not a non-negative integer");
  return value.get<uint64_t>();
}

/// The shape of `entry`, with its element count checked against overflow.
Shape parseShape(const Json &json, const std::string &tensor, const std::string &name) {
  if (!json.is_array())
    corrupt(name, "the shape of `" + tensor + "` is " + brief(json) + ", not an array");
  Shape shape;
  uint64_t count = 1;
  for (const Json &extent : json) {
    uint64_t value = unsignedValue(extent, name, "an extent of `" + tensor + "`");
    if (value > uint64_t(std::numeric_limits<int64_t>::max()) ||
        (value != 0 && count > uint64_t(std::numeric_limits<int64_t>::max()) / value))
      corrupt(name, "the shape " + brief(json) + " of `" + tensor + "` has too many elements");
    count *= value;
    shape.push_back(static_cast<int64_t>(value));
  }
  return shape;
}

/// One tensor entry: dtype, shape and data_offsets consistent with each other and the buffer.
Entry parseEntry(const std::string &tensor, const Json &json, uint64_t bufferSize,
                 const std::string &name) {
  if (!json.is_object())
    corrupt(name, "the entry of `" + tensor + "` is " + brief(json) + ", not an object");
  for (const char *key : {"dtype", "shape", "data_offsets"})
    if (!json.contains(key))
      corrupt(name, "the entry of `" + tensor + "` has no \"" + key + "\"");
  const Json &dtypeJson = json.at("dtype");
  if (!dtypeJson.is_string())
    corrupt(name, "the dtype of `" + tensor + "` is " + brief(dtypeJson) + ", not a string");
  std::optional<DType> dtype = parseSafetensorsDType(dtypeJson.get<std::string>());
  const ForeignDType *foreign = dtype ? nullptr : foreignDType(dtypeJson.get<std::string>());
  if (!dtype && !foreign)
    throw Error("E0502", "`" + tensor + "` in `" + name + "` has dtype " + brief(dtypeJson) +
                             ", which nnx does not read",
                {"supported dtypes: F32, F64, I32, I64, BOOL; F16, BF16, I8, U8, I16, U16, U32 "
                 "and U64 are converted"});
  Shape shape = parseShape(json.at("shape"), tensor, name);
  const Json &offsets = json.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2)
    corrupt(name, "the data_offsets of `" + tensor + "` are " + brief(offsets) +
                      ", not a pair [begin, end]");
  uint64_t begin = unsignedValue(offsets[0], name, "the begin offset of `" + tensor + "`");
  uint64_t end = unsignedValue(offsets[1], name, "the end offset of `" + tensor + "`");
  if (begin > end || end > bufferSize)
    corrupt(name, "`" + tensor + "` has data_offsets [" + std::to_string(begin) + ", " +
                      std::to_string(end) + "] outside the " + std::to_string(bufferSize) +
                      "-byte data section");
  uint64_t expected = static_cast<uint64_t>(numElements(shape)) *
                      (foreign ? foreign->size : dtypeSize(*dtype));
  std::string stored = foreign ? foreign->name : std::string(safetensorsDType(*dtype));
  if (end - begin != expected)
    corrupt(name, "`" + tensor + "` is " + stored + formatShape(shape) + ", which needs " +
                      std::to_string(expected) + " bytes, but its data_offsets span " +
                      std::to_string(end - begin));
  return {tensor, foreign ? foreign->to : *dtype, std::move(shape), begin, end,
          foreign ? stored : ""};
}

/// The "__metadata__" object: strings only.
std::map<std::string, std::string> parseMetadata(const Json &json, const std::string &name) {
  if (!json.is_object())
    corrupt(name, "__metadata__ is " + brief(json) + ", not an object");
  std::map<std::string, std::string> metadata;
  for (auto it = json.begin(); it != json.end(); ++it) {
    if (!it.value().is_string())
      corrupt(name, "__metadata__ entry `" + it.key() + "` is " + brief(it.value()) +
                        ", not a string");
    metadata[it.key()] = it.value().get<std::string>();
  }
  return metadata;
}

/// The header JSON text and the data section of `bytes`, sizes checked.
std::pair<std::string_view, std::string_view> splitFile(std::string_view bytes,
                                                       const std::string &name) {
  if (bytes.size() < 8)
    throw Error("E0502", "`" + name + "` is not a safetensors file: it has " +
                             std::to_string(bytes.size()) +
                             " bytes, fewer than the 8-byte header length");
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i)
    length = (length << 8) | static_cast<uint8_t>(bytes[i]);
  uint64_t available = bytes.size() - 8;
  if (length > available)
    corrupt(name, "the header length is " + std::to_string(length) + " bytes but only " +
                      std::to_string(available) + " bytes follow it");
  if (length > kMaxHeaderSize)
    corrupt(name, "the header length " + std::to_string(length) + " exceeds the limit of " +
                      std::to_string(kMaxHeaderSize) + " bytes");
  return {bytes.substr(8, length), bytes.substr(8 + length)};
}

/// Rejects entries whose byte ranges overlap (entries sorted by begin offset).
void checkOverlaps(std::vector<Entry> &entries, const std::string &name) {
  std::sort(entries.begin(), entries.end(), [](const Entry &a, const Entry &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (size_t i = 1; i < entries.size(); ++i) {
    const Entry &prev = entries[i - 1], &cur = entries[i];
    if (cur.begin < prev.end)
      corrupt(name, "the data of `" + cur.name + "` (bytes " + std::to_string(cur.begin) +
                        ".." + std::to_string(cur.end) + ") overlaps that of `" + prev.name +
                        "` (bytes " + std::to_string(prev.begin) + ".." +
                        std::to_string(prev.end) + ")");
  }
}

/// Element `i` of a foreign-dtype tensor at `src`, widened.
template <typename T> T loadLE(const char *src, size_t i) {
  T v;
  std::memcpy(&v, src + i * sizeof(T), sizeof(T));
  return v;
}

/// The tensor of a foreign-dtype `entry`, converted to its nnx dtype; a U64 beyond i64 is E0502.
Tensor convertForeign(const Entry &entry, std::string_view data, const std::string &name) {
  Tensor tensor(entry.dtype, entry.shape);
  const char *src = data.data() + entry.begin;
  int64_t n = tensor.numel();
  const std::string &f = entry.foreign;
  for (int64_t k = 0; k < n; ++k) {
    size_t i = size_t(k);
    if (f == "F16") {
      tensor.data<float>()[i] = halfToFloat(loadLE<uint16_t>(src, i));
    } else if (f == "BF16") {
      uint32_t bits = uint32_t(loadLE<uint16_t>(src, i)) << 16;
      std::memcpy(&tensor.data<float>()[i], &bits, 4);
    } else if (f == "I8") {
      tensor.data<int32_t>()[i] = loadLE<int8_t>(src, i);
    } else if (f == "U8") {
      tensor.data<int32_t>()[i] = loadLE<uint8_t>(src, i);
    } else if (f == "I16") {
      tensor.data<int32_t>()[i] = loadLE<int16_t>(src, i);
    } else if (f == "U16") {
      tensor.data<int32_t>()[i] = loadLE<uint16_t>(src, i);
    } else if (f == "U32") {
      tensor.data<int64_t>()[i] = loadLE<uint32_t>(src, i);
    } else { // U64
      uint64_t v = loadLE<uint64_t>(src, i);
      if (v > uint64_t(INT64_MAX))
        throw Error("E0502", "`" + entry.name + "` in `" + name + "` holds the U64 value " +
                                 std::to_string(v) + ", beyond i64");
      tensor.data<int64_t>()[i] = int64_t(v);
    }
  }
  return tensor;
}

/// The tensor of `entry` copied out of the data section (bools normalised to 0/1).
Tensor copyTensor(const Entry &entry, std::string_view data, const std::string &name) {
  if (!entry.foreign.empty())
    return convertForeign(entry, data, name);
  Tensor tensor(entry.dtype, entry.shape);
  std::memcpy(tensor.raw(), data.data() + entry.begin, entry.end - entry.begin);
  if (entry.dtype == DType::Bool) {
    auto *raw = tensor.data<uint8_t>();
    for (int64_t i = 0; i < tensor.numel(); ++i)
      raw[i] = raw[i] != 0;
  }
  return tensor;
}

/// Names must be non-empty, unique and not the metadata key.
void checkNames(const std::vector<std::pair<std::string, Tensor>> &tensors,
                const std::string &path) {
  std::set<std::string> seen;
  for (const auto &[tensorName, tensor] : tensors) {
    std::string problem;
    if (tensorName.empty())
      problem = "a tensor name is empty";
    else if (tensorName == "__metadata__")
      problem = "`__metadata__` is reserved and cannot name a tensor";
    else if (!seen.insert(tensorName).second)
      problem = "the tensor name `" + tensorName + "` appears twice";
    if (!problem.empty())
      throw Error("E0502", "cannot write `" + path + "`: " + problem,
                  {"`" + path + "` was left unchanged"});
  }
}

/// "`a`, `b`, `c`" for the first `limit` names, then "and N more".
std::string listNames(const std::vector<std::string> &names, size_t limit) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i)
    out += (i ? ", `" : "`") + names[i] + "`";
  if (names.size() > limit)
    out += " and " + std::to_string(names.size() - limit) + " more";
  return out;
}

/// "1 variable" / "3 variables".
std::string count(size_t n, const std::string &singular, const std::string &plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

/// Every way `file` does not fit `state`, one line each.
struct FitProblems {
  /// Model variables the file lacks.
  std::vector<std::string> missing;
  /// File tensors the model lacks.
  std::vector<std::string> extra;
  /// One sentence per shape or dtype difference.
  std::vector<std::string> mismatches;

  bool empty() const { return missing.empty() && extra.empty() && mismatches.empty(); }
};

/// The kind of every tensor, from the "kinds" metadata nnx writes (empty when absent).
std::map<std::string, std::string> storedKinds(const SafeTensorsFile &file) {
  std::map<std::string, std::string> kinds;
  auto it = file.metadata.find("kinds");
  if (it == file.metadata.end())
    return kinds;
  Json parsed = Json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object())
    for (auto entry = parsed.begin(); entry != parsed.end(); ++entry)
      if (entry.value().is_string())
        kinds[entry.key()] = entry.value().get<std::string>();
  return kinds;
}

/// Whether `name` was stored as U32 (a Flax rng key's data or counter).
bool isU32(const SafeTensorsFile &file, const std::string &name) {
  auto it = file.converted.find(name);
  return it != file.converted.end() && it->second == "U32";
}

/// U32 words (read as i64) as the i32 of the same bits: nnx holds rng keys and counters, which
/// are 32-bit words, in i32 variables.
Tensor u32Bits(const Tensor &words) {
  Tensor out(DType::I32, words.shape());
  for (int64_t i = 0; i < words.numel(); ++i)
    out.data<int32_t>()[i] = static_cast<int32_t>(static_cast<uint32_t>(words.data<int64_t>()[i]));
  return out;
}

/// Whether a stored tensor of dtype `from` may be converted to a variable of dtype `to`: floats
/// to floats, integers to integers (values checked when loading); bool only to bool.
bool convertible(DType from, DType to) {
  return (isFloat(from) && isFloat(to)) || (isInteger(from) && isInteger(to));
}

/// Compares every variable of `state` with the tensor of the same name in `file`. Variables
/// of `options.optionalKinds` may be missing from the file, and the file's tensors of those
/// kinds may be missing from the model; --allow-missing / --allow-extra waive the rest.
FitProblems findProblems(const State &state, const SafeTensorsFile &file,
                         const std::string &fileName, const LoadOptions &options) {
  FitProblems problems;
  std::map<std::string, const Tensor *> byName;
  for (const auto &[name, tensor] : file.tensors)
    byName[name] = &tensor;
  for (const StateVar &var : state.vars()) {
    auto it = byName.find(var.path);
    if (it == byName.end()) {
      if (!options.optionalKinds.count(var.kind) && !options.allowMissing)
        problems.missing.push_back(var.path);
      continue;
    }
    const Tensor &stored = *it->second;
    if (stored.dtype() != var.value.dtype() && !convertible(stored.dtype(), var.value.dtype()))
      problems.mismatches.push_back(
          "`" + var.path + "` has dtype " + std::string(dtypeName(var.value.dtype())) +
          " in the model but " + std::string(dtypeName(stored.dtype())) + " in `" + fileName +
          "`");
    if (stored.shape() != var.value.shape())
      problems.mismatches.push_back("`" + var.path + "` has shape " +
                                    formatShape(var.value.shape()) + " in the model but " +
                                    formatShape(stored.shape()) + " in `" + fileName + "`");
  }
  std::map<std::string, std::string> kinds = storedKinds(file);
  for (const auto &[name, tensor] : file.tensors)
    if (!state.find(name) && !(kinds.count(name) && options.optionalKinds.count(kinds[name])) &&
        !options.allowExtra)
      problems.extra.push_back(name);
  return problems;
}

/// One E0503 summarising every problem: counts in the message, the details as notes.
Error fitError(const FitProblems &problems, const std::string &fileName) {
  std::vector<std::string> parts, notes;
  if (!problems.missing.empty()) {
    parts.push_back(count(problems.missing.size(), "variable", "variables") + " missing");
    notes.push_back("missing from `" + fileName + "`: " + listNames(problems.missing, 10));
  }
  if (!problems.mismatches.empty())
    parts.push_back(count(problems.mismatches.size(), "mismatch", "mismatches") +
                    " of shape or dtype");
  notes.insert(notes.end(), problems.mismatches.begin(), problems.mismatches.end());
  if (!problems.extra.empty()) {
    parts.push_back(count(problems.extra.size(), "tensor", "tensors") + " not in the model");
    notes.push_back("in `" + fileName + "` but not in the model (a checkpoint of another "
                    "model?): " + listNames(problems.extra, 10));
  }
  std::string summary;
  for (size_t i = 0; i < parts.size(); ++i)
    summary += (i ? ", " : "") + parts[i];
  return Error("E0503", "checkpoint `" + fileName + "` does not fit the model: " + summary,
               notes);
}

} // namespace

SafeTensorsFile parseSafeTensors(std::string_view bytes, const std::string &name) {
  auto [headerText, data] = splitFile(bytes, name);
  Json header;
  // Headers nest two levels (name -> entry -> shape); anything far deeper is not a
  // safetensors header, and refusing it bounds every recursive walk over it (dump() of 200 KB
  // of nested arrays overflowed the stack while the error was being reported).
  constexpr int kMaxDepth = 16;
  auto depthLimit = [&](int depth, Json::parse_event_t event, Json &) {
    if ((event == Json::parse_event_t::object_start ||
         event == Json::parse_event_t::array_start) && depth >= kMaxDepth)
      corrupt(name, "the header nests JSON deeper than " + std::to_string(kMaxDepth) +
                        " levels");
    return true;
  };
  try {
    header = Json::parse(headerText.begin(), headerText.end(), depthLimit);
  } catch (const Json::parse_error &error) {
    corrupt(name, "the " + std::to_string(headerText.size()) +
                      "-byte header is not valid JSON (error at byte " +
                      std::to_string(error.byte) + ")");
  } catch (const Json::exception &error) { // a number out of range (1E400), ...
    corrupt(name, "the " + std::to_string(headerText.size()) + "-byte header has a bad value (" +
                      error.what() + ")");
  }
  if (!header.is_object())
    corrupt(name, "the header is a JSON " + std::string(header.type_name()) + ", not an object");
  SafeTensorsFile file;
  std::vector<Entry> entries;
  try {
    for (auto it = header.begin(); it != header.end(); ++it) {
      if (it.key() == "__metadata__")
        file.metadata = parseMetadata(it.value(), name);
      else
        entries.push_back(parseEntry(it.key(), it.value(), data.size(), name));
    }
  } catch (const Json::exception &error) { // a value of an unexpected JSON type
    corrupt(name, std::string("a value of the wrong type (") + error.what() + ")");
  }
  checkOverlaps(entries, name);
  for (const Entry &entry : entries) {
    file.tensors.emplace_back(entry.name, copyTensor(entry, data, name));
    if (!entry.foreign.empty())
      file.converted[entry.name] = entry.foreign;
  }
  return file;
}

SafeTensorsFile readSafeTensors(const std::string &path) {
  return parseSafeTensors(readFileBytes(path), path);
}

void writeSafeTensors(const std::string &path,
                      const std::vector<std::pair<std::string, Tensor>> &tensors,
                      const std::map<std::string, std::string> &metadata) {
  checkNames(tensors, path);
  std::vector<const std::pair<std::string, Tensor> *> sorted;
  for (const auto &entry : tensors)
    sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto *a, const auto *b) { return a->first < b->first; });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty())
    header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto *entry : sorted) {
    const Tensor &tensor = entry->second;
    header[entry->first] = {{"dtype", std::string(safetensorsDType(tensor.dtype()))},
                            {"shape", tensor.shape()},
                            {"data_offsets", {offset, offset + tensor.nbytes()}}};
    offset += tensor.nbytes();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::ordered_json::type_error &) {
    throw Error("E0502", "cannot write `" + path + "`: a tensor name or metadata entry is not "
                                                   "valid UTF-8",
                {"`" + path + "` was left unchanged"});
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i)
    prefix[i] = static_cast<char>((uint64_t(text.size()) >> (8 * i)) & 0xff);
  std::vector<ByteChunk> chunks = {{prefix.data(), prefix.size()}, {text.data(), text.size()}};
  for (const auto *entry : sorted)
    chunks.push_back({entry->second.raw(), entry->second.nbytes()});
  writeFileAtomically(path, chunks);
}

std::vector<std::string> loadState(State &state, const SafeTensorsFile &file,
                                   const std::string &fileName, const LoadOptions &options) {
  FitProblems problems = findProblems(state, file, fileName, options);
  if (!problems.empty())
    throw fitError(problems, fileName);
  // Integer values must fit the variable's dtype: checked before anything changes.
  for (const auto &[name, tensor] : file.tensors) {
    const StateVar *var = state.find(name);
    if (!var || var->value.dtype() != DType::I32 || tensor.dtype() != DType::I64 ||
        isU32(file, name))
      continue;
    for (int64_t i = 0; i < tensor.numel(); ++i) {
      double v = tensor.at(i);
      if (v < -2147483648.0 || v > 2147483647.0)
        throw Error("E0503", "`" + name + "` in `" + fileName + "` holds " +
                                 std::to_string(int64_t(v)) + ", beyond the model's i32");
    }
  }
  std::vector<std::string> notes, filled, skipped, converted;
  std::map<std::string, std::string> kinds = storedKinds(file);
  for (const auto &[name, tensor] : file.tensors) {
    StateVar *var = state.find(name);
    if (!var) {
      // A train checkpoint's optimizer state is expected to go unused by run/eval/predict.
      if (!(kinds.count(name) && options.optionalKinds.count(kinds[name])))
        skipped.push_back(name);
      continue;
    }
    auto stored = file.converted.find(name);
    std::string storedName = stored != file.converted.end() ? stored->second
                                                            : std::string(safetensorsDType(tensor.dtype()));
    if (tensor.dtype() != var->value.dtype() || stored != file.converted.end())
      converted.push_back("`" + name + "` " + storedName + " -> " +
                          std::string(dtypeName(var->value.dtype())));
    if (tensor.dtype() == var->value.dtype())
      var->value = tensor.clone();
    else if (var->value.dtype() == DType::I32 && isU32(file, name))
      var->value = u32Bits(tensor);
    else
      var->value = tensor.astype(var->value.dtype());
  }
  std::set<std::string> inFile;
  for (const auto &entry : file.tensors)
    inFile.insert(entry.first);
  for (const StateVar &var : state.vars())
    if (!inFile.count(var.path))
      filled.push_back(var.path);
  if (!converted.empty()) {
    std::string list;
    for (size_t i = 0; i < converted.size() && i < 4; ++i)
      list += (i ? ", " : "") + converted[i];
    if (converted.size() > 4)
      list += " and " + std::to_string(converted.size() - 4) + " more";
    notes.push_back("converted " + count(converted.size(), "tensor", "tensors") + " of `" +
                    fileName + "` to the model's dtypes: " + list);
  }
  if (!filled.empty())
    notes.push_back(count(filled.size(), "variable", "variables") + " not in `" + fileName +
                    (filled.size() == 1 ? "` keeps its" : "` keep their") +
                    " initial value (from --seed): " + listNames(filled, 4));
  if (!skipped.empty())
    notes.push_back(count(skipped.size(), "tensor", "tensors") + " of `" + fileName +
                    (skipped.size() == 1 ? "` matches no variable and was"
                                         : "` match no variable and were") +
                    " ignored: " + listNames(skipped, 4));
  return notes;
}

void saveState(const State &state, const std::string &path,
               const std::map<std::string, std::string> &extra) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  nlohmann::ordered_json kinds = nlohmann::ordered_json::object();
  for (const StateVar &var : state.vars()) {
    tensors.emplace_back(var.path, var.value);
    kinds[var.path] = var.kind;
  }
  std::map<std::string, std::string> metadata = extra;
  metadata["format"] = "nnx";
  metadata["kinds"] = kinds.dump();
  writeSafeTensors(path, tensors, metadata);
}

} // namespace nnx::rt
