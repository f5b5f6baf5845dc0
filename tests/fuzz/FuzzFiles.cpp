//===- FuzzFiles.cpp - libFuzzer targets for the runtime's file readers ---===//
//
// One source, three targets, chosen by NNX_FUZZ_READER at compile time: the safetensors, .npy
// and CSV parsers on arbitrary bytes (CSV also through gzip inflation). The contract: any
// input either parses or throws rt::Error (a diagnostic); anything else — a crash, a sanitizer
// report, another exception, an allocation beyond the budget — is a finding.
//
//===----------------------------------------------------------------------===//
#include "runtime/Csv.h"
#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"
#include "runtime/Npy.h"
#include "runtime/SafeTensors.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Keep the fuzzer's memory bounded: a header may ask for any shape.
  nnx::rt::setMemoryBudget(int64_t(64) << 20);
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  try {
#if NNX_FUZZ_READER == 1
    nnx::rt::parseSafeTensors(bytes, "fuzz.safetensors");
#elif NNX_FUZZ_READER == 2
    nnx::rt::parseNpy(bytes, "fuzz.npy");
#else
    nnx::rt::parseCsv(bytes, "fuzz.csv");
#endif
  } catch (const nnx::rt::Error &) {
  }
  return 0;
}
