//===- Csv.h - Numeric CSV tables for training data -----------------------===//
//
// `nnxrun train --data D.csv[.gz]` reads a table of numbers: comma-separated fields, one row per
// line, optionally a header line of column names first, optionally gzip-compressed (detected by
// the magic bytes 1f 8b). Anything else — a non-numeric field, a ragged row, an empty file, a
// header without rows — is rt::Error E0504 naming the file, the line and the column.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nnx::rt {

class Tensor;

/// A dense table of numbers, row-major.
struct CsvTable {
  int64_t rows = 0;
  int64_t cols = 0;
  /// rows * cols values, row-major.
  std::vector<double> values;
  /// The column names of the header line; empty when the file has none.
  std::vector<std::string> header;
  /// The 1-based file line of each row (blank lines and the header are skipped but counted).
  std::vector<int64_t> lines;
};

/// Reads the (possibly gzip-compressed) CSV file at `path`. Throws rt::Error E0500 when it
/// cannot be read or decompressed and E0504 when its content is not a table of numbers.
CsvTable readCsv(const std::string &path);

/// Parses CSV text; `name` is the file name used in messages. Blank lines are skipped, "\r\n"
/// line ends are accepted, fields may be surrounded by spaces. The first non-blank line is a
/// header when none of its fields is a number (pandas' and numpy.genfromtxt's usual files);
/// a line mixing names and numbers is an error at its first name.
CsvTable parseCsv(std::string_view text, const std::string &name);

/// Writes `t` (rank 1 or 2, any dtype; rank 1 is one column) to `path` as CSV, one row per line,
/// floats with 9 significant digits (round-trip exact for f32), atomically. Throws rt::Error
/// E0500 when it cannot be written.
void writeCsv(const std::string &path, const Tensor &t);

} // namespace nnx::rt
