//===- SafeTensorsTest.cpp - Checkpoints: safetensors and loadState -------===//
//
// Round trips with metadata, the on-disk layout (sorted names, 8-byte padded header), every
// corrupt-header case (E0502), loadState's collected errors (E0503), saveState's metadata, and
// the atomicity of writes: a failed write leaves the old file as it was.
//
//===----------------------------------------------------------------------===//
#include "runtime/Error.h"
#include "runtime/SafeTensors.h"

#include "TempDir.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <random>
#include <unistd.h>

using namespace nnx::rt;
using nnx::test::TempDir;

namespace {

/// A safetensors file from a header text and data bytes.
std::string rawFile(const std::string &header, const std::string &data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<char>((uint64_t(header.size()) >> (8 * i)) & 0xff);
  return bytes + header + data;
}

/// The rt::Error thrown while parsing `bytes`.
Error parseError(const std::string &bytes) {
  try {
    parseSafeTensors(bytes, "w.safetensors");
  } catch (const Error &e) {
    return e;
  }
  FAIL("no error");
  return Error("", "");
}

std::string message(const Error &e) { return e.what(); }

/// All notes of an error joined by newlines.
std::string notes(const Error &e) {
  std::string out;
  for (const std::string &note : e.notes())
    out += note + "\n";
  return out;
}

State smallState() {
  State state;
  state.add({"block.linear.kernel", "Param", Tensor(DType::F32, {784, 256})});
  state.add({"block.linear.bias", "Param", Tensor(DType::F32, {256})});
  state.add({"count", "Counter", Tensor::scalar(DType::I32, 3)});
  return state;
}

} // namespace

TEST_CASE("safetensors round trip with metadata, sorted layout and padding") {
  TempDir dir;
  std::string path = dir.file("w.safetensors");
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"z.weight", Tensor::fromVector<float>({2, 2}, {1, 2, 3, 4})},
      {"a.flag", Tensor::fromVector<bool>({3}, {true, false, true})},
      {"m.count", Tensor::scalar(DType::I64, -5)},
      {"m.f64", Tensor::fromVector<double>({1}, {0.125})},
      {"m.i32", Tensor::fromVector<int32_t>({2}, {7, -7})},
      {"m.empty", Tensor(DType::F32, {0, 3})},
  };
  writeSafeTensors(path, tensors, {{"format", "nnx"}, {"note", "h\u00e9llo \"q\""}});
  SafeTensorsFile file = readSafeTensors(path);
  REQUIRE(file.tensors.size() == tensors.size());
  std::vector<std::string> names;
  for (const auto &[name, tensor] : file.tensors)
    names.push_back(name);
  // File order is name order.
  CHECK(names == std::vector<std::string>{"a.flag", "m.count", "m.empty", "m.f64", "m.i32",
                                          "z.weight"});
  for (const auto &[name, original] : tensors) {
    auto it = std::find_if(file.tensors.begin(), file.tensors.end(),
                           [&](const auto &entry) { return entry.first == name; });
    REQUIRE(it != file.tensors.end());
    CHECK(it->second.dtype() == original.dtype());
    CHECK(it->second.shape() == original.shape());
    CHECK(std::memcmp(it->second.raw(), original.raw(), original.nbytes()) == 0);
  }
  CHECK(file.metadata.at("note") == "h\u00e9llo \"q\"");
  std::string bytes = nnx::test::readBytes(path);
  uint64_t headerSize = 0;
  std::memcpy(&headerSize, bytes.data(), 8);
  CHECK(headerSize % 8 == 0);
  auto header = nlohmann::json::parse(bytes.substr(8, headerSize));
  CHECK(header["a.flag"]["data_offsets"] == nlohmann::json::array({0, 3}));
  CHECK(header["m.count"]["dtype"] == "I64");
  CHECK(header["m.count"]["shape"] == nlohmann::json::array());
  CHECK(header["z.weight"]["data_offsets"][1] == bytes.size() - 8 - headerSize);
}

TEST_CASE("safetensors corrupt headers are E0502 with precise messages") {
  std::string data(16, '\0');
  std::string entry = R"("w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]})";
  CHECK_NOTHROW(parseSafeTensors(rawFile("{" + entry + "}", data), "ok"));

  CHECK(message(parseError("abc")).find("fewer than the 8-byte header length") !=
        std::string::npos);
  std::string tooLong = rawFile("{}", "");
  tooLong[0] = 100;
  CHECK(message(parseError(tooLong)) == "corrupt safetensors header in `w.safetensors`: the "
                                        "header length is 100 bytes but only 2 bytes follow it");
  CHECK(message(parseError(rawFile("{\"w\": ", data))).find("not valid JSON") !=
        std::string::npos);
  CHECK(message(parseError(rawFile("[1, 2]", data))).find("JSON array, not an object") !=
        std::string::npos);
  Error dtype = parseError(rawFile(
      R"({"w": {"dtype": "C64", "shape": [2], "data_offsets": [0, 16]}})", data));
  CHECK(dtype.code() == "E0502");
  CHECK(message(dtype).find("\"C64\"") != std::string::npos);
  // A foreign dtype's size counts: BF16[8] spans 16 bytes, BF16[4] does not.
  CHECK_NOTHROW(parseSafeTensors(
      rawFile(R"({"w": {"dtype": "BF16", "shape": [8], "data_offsets": [0, 16]}})", data), "ok"));
  CHECK(message(parseError(rawFile(
            R"({"w": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 16]}})", data)))
            .find("BF16[4], which needs 8 bytes") != std::string::npos);
  CHECK(message(parseError(rawFile(
            R"({"w": {"dtype": "F32", "shape": [2, -2], "data_offsets": [0, 16]}})", data)))
            .find("not a non-negative integer") != std::string::npos);
  CHECK(message(parseError(rawFile(
            R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 32]}})", data)))
            .find("data_offsets [0, 32] outside the 16-byte data section") != std::string::npos);
  CHECK(message(parseError(rawFile(
            R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}})", data))) ==
        "corrupt safetensors header in `w.safetensors`: `w` is F32[3], which needs 12 bytes, "
        "but its data_offsets span 16");
  CHECK(message(parseError(rawFile(
            R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})", data)))
            .find("overlaps") != std::string::npos);
  CHECK(message(parseError(rawFile(R"({"w": {"dtype": "F32", "shape": [2]}})", data)))
            .find("has no \"data_offsets\"") != std::string::npos);
  CHECK(message(parseError(rawFile(R"({"__metadata__": {"k": 1}})", data)))
            .find("not a string") != std::string::npos);
  CHECK(message(parseError(rawFile(
            R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296],
                      "data_offsets": [0, 16]}})", data)))
            .find("too many elements") != std::string::npos);
  CHECK(parseError(rawFile("{\"\xff\": 1}", data)).code() == "E0502");
}

TEST_CASE("safetensors missing file is E0500") {
  TempDir dir;
  try {
    readSafeTensors(dir.file("nope.safetensors"));
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0500");
    CHECK(message(e).find("nope.safetensors") != std::string::npos);
  }
}

TEST_CASE("foreign dtypes are converted exactly on reading") {
  // F16 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal); BF16 1.0, -0.5; U32 4294967295;
  // U8 255; I16 -32768.
  std::string data;
  auto put16 = [&](uint16_t v) { data.append(reinterpret_cast<const char *>(&v), 2); };
  for (uint16_t v : {0x3c00, 0xc000, 0x7bff, 0x0001})
    put16(v);
  for (uint16_t v : {0x3f80, 0xbf00})
    put16(v);
  uint32_t u32 = 4294967295u;
  data.append(reinterpret_cast<const char *>(&u32), 4);
  data.push_back(char(255));
  data.push_back(0); // padding byte of no tensor is fine
  put16(0x8000);
  std::string header = R"({"h": {"dtype": "F16", "shape": [4], "data_offsets": [0, 8]},)"
                       R"( "b": {"dtype": "BF16", "shape": [2], "data_offsets": [8, 12]},)"
                       R"( "u": {"dtype": "U32", "shape": [], "data_offsets": [12, 16]},)"
                       R"( "c": {"dtype": "U8", "shape": [1], "data_offsets": [16, 17]},)"
                       R"( "s": {"dtype": "I16", "shape": [1], "data_offsets": [18, 20]}})";
  SafeTensorsFile file = parseSafeTensors(rawFile(header, data), "half.safetensors");
  std::map<std::string, Tensor> t(file.tensors.begin(), file.tensors.end());
  CHECK(t["h"].dtype() == DType::F32);
  CHECK(t["h"].toVector<float>() == std::vector<float>{1, -2, 65504, std::ldexp(1.0f, -24)});
  CHECK(t["b"].toVector<float>() == std::vector<float>{1, -0.5f});
  CHECK(t["u"].dtype() == DType::I64);
  CHECK(t["u"].at(0) == 4294967295.0);
  CHECK(t["c"].toVector<int32_t>() == std::vector<int32_t>{255});
  CHECK(t["s"].toVector<int32_t>() == std::vector<int32_t>{-32768});
  CHECK(file.converted == std::map<std::string, std::string>{
                              {"b", "BF16"}, {"c", "U8"}, {"h", "F16"}, {"s", "I16"}, {"u", "U32"}});
}

TEST_CASE("loadState converts dtypes, fills optional kinds, and notes both") {
  State state = smallState(); // count: Counter i32
  state.add({"rngs.count", "RngCount", Tensor::scalar(DType::I32, 0)});
  SafeTensorsFile file;
  file.tensors = {{"count", Tensor::scalar(DType::I64, 7)},
                  {"block.linear.bias", Tensor::full(DType::F64, {256}, 0.25)},
                  {"block.linear.kernel", Tensor::full(DType::F32, {784, 256}, 2)}};
  LoadOptions options;
  options.optionalKinds = {"RngCount"};
  std::vector<std::string> notes = loadState(state, file, "w.safetensors", options);
  CHECK(state.find("count")->value.dtype() == DType::I32);
  CHECK(state.find("count")->value.at(0) == 7.0);
  CHECK(state.find("block.linear.bias")->value.dtype() == DType::F32);
  REQUIRE(notes.size() == 2);
  CHECK(notes[0] == "converted 2 tensors of `w.safetensors` to the model's dtypes: "
                    "`count` I64 -> i32, `block.linear.bias` F64 -> f32");
  CHECK(notes[1] == "1 variable not in `w.safetensors` keeps its initial value (from "
                    "--seed): `rngs.count`");
  // An i64 beyond i32 is an error, and nothing changes.
  file.tensors[0].second = Tensor::scalar(DType::I64, 5000000000.0);
  try {
    loadState(state, file, "w.safetensors", options);
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(message(e) == "`count` in `w.safetensors` holds 5000000000, beyond the model's i32");
  }
  // --allow-missing and --allow-extra.
  SafeTensorsFile partial;
  partial.tensors = {{"extra", Tensor::scalar(DType::F32, 1)}};
  LoadOptions lenient;
  lenient.allowMissing = lenient.allowExtra = true;
  notes = loadState(state, partial, "p.safetensors", lenient);
  CHECK(notes.back() == "1 tensor of `p.safetensors` matches no variable and was ignored: `extra`");
}

TEST_CASE("loadState copies tensors by path") {
  State state = smallState();
  SafeTensorsFile file;
  file.tensors = {{"count", Tensor::scalar(DType::I32, 9)},
                  {"block.linear.bias", Tensor::full(DType::F32, {256}, 0.5)},
                  {"block.linear.kernel", Tensor::full(DType::F32, {784, 256}, 2)}};
  loadState(state, file, "w.safetensors");
  CHECK(state.find("count")->value.at(0) == 9.0);
  CHECK(state.find("block.linear.kernel")->value.at(1000) == 2.0);
  CHECK_FALSE(state.find("count")->value.sharesStorageWith(file.tensors[0].second));
}

TEST_CASE("loadState collects every problem into one E0503") {
  State state = smallState();
  SafeTensorsFile file;
  file.tensors = {{"block.linear.kernel", Tensor(DType::F32, {100, 256})},
                  {"count", Tensor::scalar(DType::F32, 1)},
                  {"encoder.weight", Tensor(DType::F32, {3})}};
  try {
    loadState(state, file, "w.safetensors");
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0503");
    CHECK(message(e) == "checkpoint `w.safetensors` does not fit the model: 1 variable missing, "
                        "2 mismatches of shape or dtype, 1 tensor not in the model");
    std::string all = notes(e);
    CHECK(all.find("missing from `w.safetensors`: `block.linear.bias`") != std::string::npos);
    CHECK(all.find("`block.linear.kernel` has shape [784, 256] in the model but [100, 256] in "
                   "`w.safetensors`") != std::string::npos);
    CHECK(all.find("`count` has dtype i32 in the model but f32 in `w.safetensors`") !=
          std::string::npos);
    CHECK(all.find("`encoder.weight`") != std::string::npos);
  }
  // Nothing was copied.
  CHECK(state.find("count")->value.at(0) == 3.0);
}

TEST_CASE("loadState lists at most 10 missing names and the count") {
  State state;
  for (int i = 0; i < 13; ++i)
    state.add({"v" + std::to_string(i), "Param", Tensor(DType::F32, {1})});
  try {
    loadState(state, SafeTensorsFile{}, "empty.safetensors");
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(message(e).find("13 variables missing") != std::string::npos);
    CHECK(notes(e).find("`v9` and 3 more") != std::string::npos);
    CHECK(notes(e).find("`v10`") == std::string::npos);
  }
}

TEST_CASE("saveState writes every variable with kinds metadata") {
  TempDir dir;
  std::string path = dir.file("state.safetensors");
  State state = smallState();
  state.find("count")->value.set(0, 11);
  saveState(state, path);
  SafeTensorsFile file = readSafeTensors(path);
  CHECK(file.tensors.size() == 3);
  CHECK(file.metadata.at("format") == "nnx");
  auto kinds = nlohmann::json::parse(file.metadata.at("kinds"));
  CHECK(kinds["count"] == "Counter");
  CHECK(kinds["block.linear.kernel"] == "Param");
  State fresh = smallState();
  loadState(fresh, file, path);
  CHECK(fresh.find("count")->value.at(0) == 11.0);
}

TEST_CASE("a failed write leaves the old checkpoint untouched") {
  TempDir dir;
  std::string path = dir.file("w.safetensors");
  writeSafeTensors(path, {{"a", Tensor::scalar(DType::F32, 1)}}, {});
  std::string before = nnx::test::readBytes(path);
  Tensor t = Tensor::scalar(DType::F32, 2);

  for (auto bad : std::vector<std::vector<std::pair<std::string, Tensor>>>{
           {{"", t}}, {{"__metadata__", t}}, {{"a", t}, {"a", t}}, {{"bad\xff", t}}}) {
    try {
      writeSafeTensors(path, bad, {});
      FAIL("no error");
    } catch (const Error &e) {
      CHECK(e.code() == "E0502");
      CHECK(message(e).find("cannot write `" + path + "`") != std::string::npos);
    }
    CHECK(nnx::test::readBytes(path) == before);
  }

  // The temporary file cannot be created (its name is taken by a directory).
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::filesystem::create_directory(tmp);
  try {
    writeSafeTensors(path, {{"a", t}}, {});
    FAIL("no error");
  } catch (const Error &e) {
    CHECK(e.code() == "E0500");
    // created with O_EXCL, so that nothing planted at the name is followed or truncated
    CHECK(message(e).find("file exists") != std::string::npos);
  }
  CHECK(nnx::test::readBytes(path) == before);
  std::filesystem::remove(tmp);

  // The directory does not exist.
  CHECK_THROWS_AS(writeSafeTensors(dir.file("gone/w.safetensors"), {{"a", t}}, {}), Error);

  // A directory without write permission (only meaningful when not running as root).
  if (::geteuid() != 0) {
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read |
                                                 std::filesystem::perms::owner_exec);
    CHECK_THROWS_AS(writeSafeTensors(path, {{"a", t}}, {}), Error);
    std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);
    CHECK(nnx::test::readBytes(path) == before);
  }
  std::vector<std::string> leftovers;
  for (const auto &entry : std::filesystem::directory_iterator(dir.path()))
    leftovers.push_back(entry.path().filename());
  CHECK(leftovers == std::vector<std::string>{"w.safetensors"});
}

TEST_CASE("safetensors never crashes on garbage") {
  TempDir dir;
  std::string path = dir.file("w.safetensors");
  writeSafeTensors(path,
                   {{"a", Tensor::fromVector<float>({2, 2}, {1, 2, 3, 4})},
                    {"b", Tensor::fromVector<bool>({3}, {true, false, true})}},
                   {{"format", "nnx"}});
  std::string good = nnx::test::readBytes(path);
  std::mt19937 gen(11);
  int parsed = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    for (int f = 0, flips = 1 + trial % 6; f < flips; ++f)
      bytes[gen() % bytes.size()] = static_cast<char>(gen());
    if (trial % 4 == 0)
      bytes.resize(gen() % bytes.size());
    try {
      SafeTensorsFile file = parseSafeTensors(bytes, "fuzz.safetensors");
      ++parsed;
      for (const auto &[name, tensor] : file.tensors)
        CHECK(tensor.nbytes() <= bytes.size());
    } catch (const Error &e) {
      CHECK(e.code() == "E0502");
    }
  }
  CHECK(parsed > 0);
}
