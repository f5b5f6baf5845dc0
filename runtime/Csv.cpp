//===- Csv.cpp - Numeric CSV tables for training data ---------------------===//
//
// The file is read whole (through zlib when it starts with the gzip magic), split into lines
// and fields, and every field parsed with std::from_chars so that "12abc" is an error rather
// than 12. Line numbers in messages count every line of the file, blank ones included.
//
//===----------------------------------------------------------------------===//
#include "runtime/Csv.h"

#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"
#include "runtime/FileIO.h"
#include "runtime/Tensor.h"

#include <cstdio>

#include <charconv>
#include <optional>
#include <zlib.h>

namespace nnx::rt {
namespace {

/// The decompressed content of a gzip file.
/// The decompressed content of gzip data `bytes` (read from `path`; several members are
/// concatenated, as gzip does), at most `maxBytes`: a small file that inflates beyond it (a
/// "zip bomb") is E0500 before it can exhaust memory.
std::string inflateGzip(const std::string &bytes, const std::string &path, int64_t maxBytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) // 15 + 32: a gzip or zlib header, detected
    throw Error("E0500", "cannot decompress `" + path + "`: zlib failed to start");
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  std::string text;
  char buffer[1 << 16];
  int code = Z_OK;
  for (;;) {
    zs.next_out = reinterpret_cast<Bytef *>(buffer);
    zs.avail_out = sizeof buffer;
    code = inflate(&zs, Z_NO_FLUSH);
    if (code != Z_OK && code != Z_STREAM_END)
      break;
    text.append(buffer, sizeof buffer - zs.avail_out);
    if (static_cast<int64_t>(text.size()) > maxBytes) {
      inflateEnd(&zs);
      throw Error("E0500", "cannot decompress `" + path + "`: it inflates beyond " +
                               formatBytes(double(maxBytes)),
                  {"the limit is the memory budget (--max-memory)"});
    }
    if (code == Z_STREAM_END) {
      if (zs.avail_in == 0)
        break;
      inflateReset(&zs); // the next gzip member
    }
  }
  std::string reason = zs.msg ? zs.msg : code == Z_BUF_ERROR ? "unexpected end of file" : "";
  inflateEnd(&zs);
  if (code != Z_STREAM_END)
    throw Error("E0500", "cannot decompress `" + path + "`: " + reason + " after " +
                             std::to_string(text.size()) + " bytes");
  return text;
}

std::string_view trim(std::string_view field) {
  while (!field.empty() && (field.front() == ' ' || field.front() == '\t'))
    field.remove_prefix(1);
  while (!field.empty() && (field.back() == ' ' || field.back() == '\t'))
    field.remove_suffix(1);
  return field;
}

/// The number in `field`, or E0504 locating it.
double parseField(std::string_view raw, size_t lineNo, size_t column, size_t fieldNo,
                  const std::string &name) {
  std::string_view field = trim(raw);
  const char *begin = field.data(), *end = field.data() + field.size();
  if (field.size() > 1 && *begin == '+' && begin[1] != '-')
    ++begin;
  double value = 0;
  auto [stop, error] = std::from_chars(begin, end, value);
  if (field.empty() || error != std::errc() || stop != end) {
    std::string shown = field.size() > 40 ? std::string(field.substr(0, 37)) + "..."
                                          : std::string(field);
    bool otherSeparator = field.find(';') != std::string_view::npos ||
                          field.find('\t') != std::string_view::npos;
    throw Error("E0504", "`" + name + "` line " + std::to_string(lineNo) + ", column " +
                             std::to_string(column) + " (field " + std::to_string(fieldNo) +
                             "): " + (field.empty() ? std::string("the field is empty")
                                                    : "`" + shown + "` is not a number"),
                {otherSeparator ? "fields are separated by commas; this file seems to use `;` "
                                  "or tabs"
                                : "csv data must be comma-separated numbers (a first line of "
                                  "names is a header)"});
  }
  return value;
}

/// Appends the fields of one line to `values`; returns how many there were.
int64_t parseLine(std::string_view line, size_t lineNo, const std::string &name,
                  std::vector<double> &values) {
  int64_t fields = 0;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    std::string_view field = line.substr(start, comma == std::string_view::npos
                                                    ? std::string_view::npos
                                                    : comma - start);
    values.push_back(parseField(field, lineNo, start + 1, static_cast<size_t>(fields) + 1, name));
    ++fields;
    if (comma == std::string_view::npos)
      return fields;
    start = comma + 1;
  }
}

/// The fields of a header line when none of them is a number, else nullopt.
std::optional<std::vector<std::string>> headerFields(std::string_view line) {
  // One field holding `;` or a tab is data in another dialect, not a header.
  if (line.find(',') == std::string_view::npos &&
      (line.find(';') != std::string_view::npos || line.find('\t') != std::string_view::npos))
    return std::nullopt;
  std::vector<std::string> names;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    std::string_view field = trim(line.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    double value = 0;
    const char *begin = field.data(), *end = field.data() + field.size();
    if (!field.empty() && (*begin == '+' || *begin == '-'))
      ++begin;
    auto [stop, error] = std::from_chars(begin, end, value);
    if (field.empty() || (error == std::errc() && stop == end))
      return std::nullopt;
    names.emplace_back(field);
    if (comma == std::string_view::npos)
      return names;
    start = comma + 1;
  }
}

} // namespace

CsvTable parseCsv(std::string_view text, const std::string &name) {
  CsvTable table;
  size_t firstLine = 0;
  size_t lineNo = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t newline = text.find('\n', pos);
    size_t end = newline == std::string_view::npos ? text.size() : newline;
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (trim(line).empty())
      continue;
    if (table.rows == 0 && table.header.empty()) {
      if (std::optional<std::vector<std::string>> names = headerFields(line)) {
        table.header = std::move(*names);
        firstLine = lineNo;
        continue;
      }
    }
    int64_t fields = parseLine(line, lineNo, name, table.values);
    if (table.rows == 0 && table.header.empty()) {
      table.cols = fields;
      firstLine = lineNo;
    } else if (table.rows == 0 && fields != int64_t(table.header.size())) {
      throw Error("E0504", "`" + name + "` line " + std::to_string(lineNo) + " has " +
                               std::to_string(fields) + " fields but the header (line " +
                               std::to_string(firstLine) + ") names " +
                               std::to_string(table.header.size()) + " columns");
    } else if (table.rows == 0) {
      table.cols = fields;
    } else if (fields != table.cols) {
      throw Error("E0504", "`" + name + "` line " + std::to_string(lineNo) + " has " +
                               std::to_string(fields) + " fields but line " +
                               std::to_string(firstLine) + " has " + std::to_string(table.cols));
    }
    ++table.rows;
    table.lines.push_back(int64_t(lineNo));
  }
  if (table.rows == 0 && !table.header.empty())
    throw Error("E0504", "`" + name + "` has a header line (" +
                             std::to_string(table.header.size()) +
                             " column names) but no rows of numbers");
  if (table.rows == 0)
    throw Error("E0504", "`" + name + "` is empty: it has no rows of numbers (" +
                             std::to_string(text.size()) + " bytes)");
  return table;
}

CsvTable readCsv(const std::string &path) {
  std::string bytes = readFileBytes(path);
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x1f &&
      static_cast<uint8_t>(bytes[1]) == 0x8b)
    bytes = inflateGzip(bytes, path, memoryBudget() / 2);
  return parseCsv(bytes, path);
}

void writeCsv(const std::string &path, const Tensor &t) {
  int64_t rows = t.rank() == 0 ? 1 : t.shape()[0];
  int64_t cols = rows ? t.numel() / rows : 0;
  std::string text;
  char buf[40];
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      double v = t.at(r * cols + c);
      if (isFloat(t.dtype()))
        std::snprintf(buf, sizeof buf, "%.9g", v);
      else
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
      text += (c ? "," : "");
      text += buf;
    }
    text += "\n";
  }
  writeFileAtomically(path, {{text.data(), text.size()}});
}

} // namespace nnx::rt
