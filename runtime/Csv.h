//===- Csv.h - Numeric CSV tables for training data -----------------------===//
//
// `nnxrun train --data D.csv[.gz]` reads a table of numbers: comma-separated fields, one row per
// line, no header, optionally gzip-compressed (detected by the magic bytes 1f 8b). Anything
// else — a non-numeric field, a ragged row, an empty file — is rt::Error E0504 naming the
// file, the line and the column.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nnx::rt {

/// A dense table of numbers, row-major.
struct CsvTable {
  int64_t rows = 0;
  int64_t cols = 0;
  /// rows * cols values, row-major.
  std::vector<double> values;
};

/// Reads the (possibly gzip-compressed) CSV file at `path`. Throws rt::Error E0500 when it
/// cannot be read or decompressed and E0504 when its content is not a table of numbers.
CsvTable readCsv(const std::string &path);

/// Parses CSV text; `name` is the file name used in messages. Blank lines are skipped, "\r\n"
/// line ends are accepted, fields may be surrounded by spaces.
CsvTable parseCsv(std::string_view text, const std::string &name);

} // namespace nnx::rt
