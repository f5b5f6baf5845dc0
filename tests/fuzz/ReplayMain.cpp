//===- ReplayMain.cpp - Runs a fuzz target on files, without libFuzzer ----===//
//
// The fuzz targets' entry point in builds without libFuzzer (gcc, `make test`): every file
// named on the command line, or in a directory named there, is passed to
// LLVMFuzzerTestOneInput once — the corpus replayed as a regression test. Prints
// "N passed, 0 failed"; a finding crashes or aborts the process, which ctest reports.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    if (fs::is_directory(argv[i])) {
      for (const auto &entry : fs::recursive_directory_iterator(argv[i]))
        if (entry.is_regular_file())
          files.push_back(entry.path());
    } else {
      files.push_back(argv[i]);
    }
  }
  std::sort(files.begin(), files.end());
  size_t passed = 0;
  for (const fs::path &file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay %s\n", file.c_str());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
    ++passed;
  }
  std::printf("%zu passed, 0 failed\n", passed);
  return files.empty() ? 1 : 0;
}
