//===- DataSpec.cpp - Data files bound to a loss's parameters -------------===//
//
// Loading happens in three steps: every `--data` item is read into one or two unbound arrays
// (a .npy file gives one, a CSV file its features and its labels), the arrays are bound to the
// parameters (named items first, then the rest in order), and each array is converted to the
// dtype its parameter wants. A CSV column keeps the file line of every row, so a bad value is
// reported where the user can find it.
//
//===----------------------------------------------------------------------===//
#include "runtime/DataSpec.h"

#include "runtime/Csv.h"
#include "runtime/Error.h"
#include "runtime/Npy.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace nnx::rt {
namespace {

/// `name` in backquotes, as messages show file names.
std::string quoted(const std::string &name) { return "`" + name + "`"; }

/// "a, b, c".
std::string joined(const std::vector<std::string> &xs) {
  std::string s;
  for (size_t i = 0; i < xs.size(); ++i)
    s += (i ? ", " : "") + xs[i];
  return s;
}

/// The comma-separated items of `text` ("a,b" -> {"a", "b"}; "" -> {""}).
std::vector<std::string> splitCommas(const std::string &text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma == std::string::npos ? std::string::npos
                                                                  : comma - start));
    if (comma == std::string::npos)
      return items;
    start = comma + 1;
  }
}

/// An array read from a file, before it is bound to a parameter.
struct Loaded {
  /// The parameter named in the item (`y=b.npy`), else empty.
  std::string name;
  Tensor values;
  std::string source;
  /// For a CSV column: the file line of each row (messages); empty for .npy.
  std::vector<int64_t> lines;
  std::string path;
};

bool isIdentifier(const std::string &s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The label columns `spec` names in a table of `cols` columns with `header` (maybe empty).
std::vector<int64_t> labelColumns(const std::string &spec, const CsvTable &table,
                                  const std::string &path) {
  if (spec.empty())
    return {table.cols - 1};
  if (spec == "none")
    return {};
  std::vector<int64_t> cols;
  for (const std::string &item : splitCommas(spec)) {
    int64_t index = 0;
    auto [stop, error] = std::from_chars(item.data(), item.data() + item.size(), index);
    if (!item.empty() && error == std::errc() && stop == item.data() + item.size()) {
      if (index < -table.cols || index >= table.cols)
        throw Error("E0505", "`--label-cols " + spec + "`: column " + item + " is out of range: " +
                                 quoted(path) + " has " + std::to_string(table.cols) +
                                 " columns (0.." + std::to_string(table.cols - 1) +
                                 ", or negative from the end)");
      cols.push_back(index < 0 ? index + table.cols : index);
      continue;
    }
    auto it = std::find(table.header.begin(), table.header.end(), item);
    if (it == table.header.end())
      throw Error("E0505",
                  "`--label-cols " + spec + "`: " +
                      (table.header.empty()
                           ? quoted(path) + " has no header line, so `" + item +
                                 "` must be a column index"
                           : "no column named `" + item + "` in the header of " + quoted(path)),
                  {table.header.empty() ? "columns count from 0; -1 is the last"
                                        : "the header names: " + joined(table.header)});
    cols.push_back(it - table.header.begin());
  }
  std::sort(cols.begin(), cols.end());
  cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
  return cols;
}

/// The columns `cols` of `table` as f64 [rows] (one column) or [rows, cols.size()].
Tensor tableColumns(const CsvTable &table, const std::vector<int64_t> &cols) {
  int64_t k = int64_t(cols.size());
  Shape shape = k == 1 ? Shape{table.rows} : Shape{table.rows, k};
  Tensor out(DType::F64, shape);
  double *dst = out.data<double>();
  for (int64_t r = 0; r < table.rows; ++r)
    for (int64_t j = 0; j < k; ++j)
      dst[r * k + j] = table.values[size_t(r * table.cols + cols[size_t(j)])];
  return out;
}

/// "column 64" / "columns 0-63" / "columns 3, 7" of `path`.
std::string columnsSource(const std::string &path, const std::vector<int64_t> &cols) {
  std::string s = quoted(path) + (cols.size() == 1 ? " column " : " columns ");
  bool range = cols.size() > 2 && cols.back() - cols.front() + 1 == int64_t(cols.size());
  if (range)
    return s + std::to_string(cols.front()) + "-" + std::to_string(cols.back());
  for (size_t i = 0; i < cols.size(); ++i)
    s += (i ? ", " : "") + std::to_string(cols[i]);
  return s;
}

/// Reads a CSV item: the feature columns, then the label columns (when there are any).
std::vector<Loaded> readCsvItem(const std::string &path, const std::string &labelSpec,
                                bool dropLabels) {
  CsvTable table = readCsv(path);
  std::vector<int64_t> labels = labelColumns(labelSpec, table, path), features;
  for (int64_t c = 0; c < table.cols; ++c)
    if (!std::binary_search(labels.begin(), labels.end(), c))
      features.push_back(c);
  if (features.empty())
    throw Error("E0505", quoted(path) + " has " + std::to_string(table.cols) +
                             (table.cols == 1 ? " column" : " columns") +
                             " and all are labels: a data set needs feature columns",
                {"choose the label columns with --label-cols"});
  std::vector<Loaded> out;
  Loaded x{"", tableColumns(table, features), columnsSource(path, features), table.lines, path};
  if (features.size() == 1) // features are always [N, F]
    x.values = x.values.reshaped({table.rows, 1});
  out.push_back(std::move(x));
  if (!labels.empty() && !dropLabels)
    out.push_back({"", tableColumns(table, labels), columnsSource(path, labels), table.lines, path});
  return out;
}

/// Reads one `--data` item ("a.npy", "y=a.npy", "d.csv").
std::vector<Loaded> readItem(const std::string &item, const DataRequest &request) {
  std::string name, path = item;
  size_t eq = item.find('=');
  if (eq != std::string::npos && isIdentifier(item.substr(0, eq))) {
    name = item.substr(0, eq);
    path = item.substr(eq + 1);
  }
  if (path.empty())
    throw Error("E0505", "`" + request.flag + " " + item + "` names no file");
  std::vector<Loaded> out;
  if (endsWith(path, ".npy")) {
    out.push_back({"", readNpy(path), quoted(path), {}, path});
  } else {
    std::string labels = name.empty() || !request.labelCols.empty() ? request.labelCols : "none";
    out = readCsvItem(path, labels, request.dropLabels);
  }
  if (!name.empty() && out.size() != 1)
    throw Error("E0505", "`" + request.flag + " " + item + "` gives " +
                             std::to_string(out.size()) + " arrays (features and labels) to one name",
                {"give the csv without a name (`" + request.flag + " " + path +
                 "`) to bind both, or --label-cols none"});
  for (Loaded &l : out)
    l.name = name;
  return out;
}

/// Binds `loaded` to the parameters: named arrays to their parameter, the rest in order.
std::vector<Loaded> bind(std::vector<Loaded> loaded, const DataRequest &request) {
  const std::vector<std::string> &params = request.params;
  std::vector<std::optional<Loaded>> bound(params.size());
  std::vector<Loaded> positional;
  std::vector<std::string> sources;
  for (const Loaded &l : loaded)
    sources.push_back(l.source);
  for (Loaded &l : loaded) {
    if (l.name.empty()) {
      positional.push_back(std::move(l));
      continue;
    }
    auto it = std::find(params.begin(), params.end(), l.name);
    if (it == params.end())
      throw Error("E0505", "`" + request.flag + " " + l.name + "=...`: `" + l.name +
                               "` is not a parameter of the function the data is for",
                  {"its data parameters: " + joined(params)});
    size_t i = size_t(it - params.begin());
    if (bound[i])
      throw Error("E0505", "`" + l.name + "` is given twice: by " + bound[i]->source + " and " +
                               l.source);
    bound[i] = std::move(l);
  }
  size_t free = size_t(std::count(bound.begin(), bound.end(), std::nullopt));
  if (positional.size() != free) {
    std::vector<std::string> missing, named;
    for (size_t i = 0; i < params.size(); ++i)
      (bound[i] ? named : missing).push_back(params[i]);
    std::string hint = "a .npy file gives one array, a csv file two (features, then labels; "
                       "--label-cols none: features only); name one with `NAME=FILE`";
    if (positional.size() < free)
      throw Error("E0505",
                  "no data for " + joined(std::vector<std::string>(
                                       missing.begin() + std::ptrdiff_t(positional.size()),
                                       missing.end())) +
                      ": `" + request.flag + "` gives " + std::to_string(positional.size()) +
                      (positional.size() == 1 ? " array" : " arrays") + " in order for " +
                      std::to_string(free) + (free == 1 ? " parameter" : " parameters") + " (" +
                      joined(missing) + ")" +
                      (named.empty() ? "" : " besides the named " + joined(named)) +
                      " (of " + joined(sources) + ")",
                  {hint});
    std::vector<std::string> extra;
    for (size_t i = free; i < positional.size(); ++i)
      extra.push_back(positional[i].source);
    throw Error("E0505",
                "`" + request.flag + "` gives " + std::to_string(positional.size() - free) +
                    " array" + (positional.size() - free == 1 ? "" : "s") + " more than the " +
                    std::to_string(params.size()) +
                    (params.size() == 1 ? " parameter (" : " parameters (") + joined(params) +
                    ") take" + (params.size() == 1 ? "s: " : ": ") + joined(extra) +
                    (named.empty() ? "" : " (" + joined(named) + " given by name)"),
                {hint});
  }
  std::vector<Loaded> out;
  size_t next = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    Loaded l = bound[i] ? std::move(*bound[i]) : std::move(positional[next++]);
    l.name = params[i];
    out.push_back(std::move(l));
  }
  return out;
}

/// Where row `row` of `l` is: "line 7 of `d.csv`" or "row 5 of `y.npy`".
std::string rowPlace(const Loaded &l, int64_t row) {
  if (!l.lines.empty() && row < int64_t(l.lines.size()))
    return "line " + std::to_string(l.lines[size_t(row)]) + " of " + quoted(l.path);
  return "row " + std::to_string(row) + " of " + l.source;
}

/// Converts `l` to an integer dtype `to`, checking every value is a whole number in range.
Tensor toInteger(const Loaded &l, DType to, const std::string &param) {
  double lo = to == DType::I32 ? double(std::numeric_limits<int32_t>::min()) : -9.2e18;
  double hi = to == DType::I32 ? double(std::numeric_limits<int32_t>::max()) : 9.2e18;
  int64_t perRow = l.values.numel() / std::max<int64_t>(1, l.values.shape()[0]);
  int64_t i = l.values.findValue([&](double v) {
    return !(std::isfinite(v) && v == std::floor(v) && v >= lo && v <= hi);
  });
  if (i >= 0) {
    double v = l.values.at(i);
    std::string what = v == std::floor(v) && std::isfinite(v) ? " does not fit in " : " is not a whole number, so it cannot be ";
    throw Error("E0505", "`" + param + "`: value " + formatDataNumber(v) + " on " +
                             rowPlace(l, perRow ? i / perRow : 0) + what +
                             std::string(dtypeName(to)),
                {"`" + param + "` is " + std::string(dtypeName(to)) +
                 ": integer labels or indices (annotate the parameter, e.g. `y: f32[B]`, for "
                 "float targets)"});
  }
  return l.values.astype(to);
}

/// The dtype `l` gets when its parameter has no annotation (CSV labels aside): a .npy file
/// keeps its dtype but f64 -> f32 and i64 -> i32 (the model's types); CSV features are f32.
DType naturalDType(const Loaded &l) {
  if (l.lines.empty()) { // .npy
    switch (l.values.dtype()) {
    case DType::F64: return DType::F32;
    case DType::I64: return DType::I32;
    default: return l.values.dtype();
    }
  }
  return DType::F32; // CSV features
}

/// True when every value of the f64 tensor `t` is a whole number fitting i32.
bool allWholeI32(const Tensor &t) {
  const double *v = t.data<double>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!(v[i] == std::floor(v[i]) && std::fabs(v[i]) <= 2147483647.0))
      return false;
  return true;
}

} // namespace

Dataset loadDataset(const DataRequest &request, std::vector<std::string> &notes) {
  std::vector<Loaded> loaded;
  for (const std::string &spec : request.specs) {
    for (const std::string &item : splitCommas(spec)) {
      size_t labelsAt = loaded.size();
      for (Loaded &l : readItem(item, request))
        loaded.push_back(std::move(l));
      // The second array of an unnamed CSV item is its labels: mark it so the natural dtype
      // can tell label columns from features.
      if (loaded.size() == labelsAt + 2)
        loaded.back().source += " (labels)";
    }
  }
  bool csv = std::any_of(loaded.begin(), loaded.end(), [](const Loaded &l) { return !l.lines.empty(); });
  if (!csv && !request.labelCols.empty() && request.labelCols != "none")
    throw Error("E0505", "`--label-cols " + request.labelCols + "` chooses columns of a csv file, but " +
                             request.flag + " names .npy files only",
                {"with .npy files, each file is one array: give the labels as their own file"});
  std::vector<Loaded> bound = bind(std::move(loaded), request);
  Dataset data;
  for (size_t i = 0; i < bound.size(); ++i) {
    Loaded &l = bound[i];
    const std::string &param = l.name;
    if (l.values.rank() == 0)
      throw Error("E0505", l.source + " holds a scalar (shape []): `" + param +
                               "` needs one row per example, shape [N, ...]");
    std::optional<DType> want = i < request.dtypes.size() ? request.dtypes[i] : std::nullopt;
    DType from = l.values.dtype();
    bool csvLabels = !l.lines.empty() && l.source.find("(labels)") != std::string::npos;
    DType to = want ? *want
               : csvLabels ? (allWholeI32(l.values) ? DType::I32 : DType::F32)
                           : naturalDType(l);
    if (to != from) {
      if (isInteger(to) && !isInteger(from) && from != DType::Bool)
        l.values = toInteger(l, to, param);
      else if (to == DType::I32 && from == DType::I64)
        l.values = toInteger(l, to, param);
      else
        l.values = l.values.astype(to);
      if (l.lines.empty())
        notes.push_back(l.source + " holds " + std::string(dtypeName(from)) + ": converted to " +
                        std::string(dtypeName(to)) + " for `" + param + "`");
    }
    if (!data.columns.empty() && l.values.shape()[0] != data.size())
      throw Error("E0505", data.columns.front().source + " has " + std::to_string(data.size()) +
                               " rows but " + l.source + " has " +
                               std::to_string(l.values.shape()[0]),
                  {"every array of " + request.flag + " holds one row per example"});
    if (isFloat(l.values.dtype())) {
      int64_t bad = 0;
      l.values.findValue([&](double v) {
        bad += !std::isfinite(v);
        return false;
      });
      if (bad) {
        data.hasNonFinite = true;
        notes.push_back(l.source + " holds " + std::to_string(bad) + " nan or inf value" +
                        (bad == 1 ? "" : "s") + " (in `" + param + "`)");
      }
    }
    data.columns.push_back({param, std::move(l.values), l.source});
  }
  if (!data.columns.empty() && data.size() == 0)
    throw Error("E0505", data.columns.front().source + " holds no examples: it has 0 rows");
  return data;
}

} // namespace nnx::rt
