//===- EvalCommand.cpp - `nnxrun eval` and `nnxrun predict` ---------------===//
//
// eval: the loss and metrics of a model (usually `--load`ed from a checkpoint) on a data file,
// in eval mode, bound like `train`'s data (LossRun.h).
//
// predict: the model's outputs for every example of a data file, in batches (the last one
// smaller: two compiles at most), written to .npy or CSV; `--argmax` writes the index of the
// largest value along the last axis (the class). The data binds to the parameters of the
// method (`--method`, default __call__) or of a top-level function whose first parameter is the
// model; a CSV file gives its feature columns (its --label-cols dropped).
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/LossRun.h"
#include "tools/nnxrun/Runner.h"
#include "tools/nnxrun/Session.h"

#include "lang/AST.h"
#include "runtime/Csv.h"
#include "runtime/DataSpec.h"
#include "runtime/Error.h"
#include "runtime/FileIO.h"
#include "runtime/Npy.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <algorithm>
#include <cstring>
#include <iostream>
#include <numeric>

namespace nnx::tool {

namespace {

/// The model instance as a value.
lang::Value moduleValue(lang::ModuleInstance *root) {
  lang::Value v = lang::Value::make(lang::Value::Kind::Module);
  v.module = root;
  return v;
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Rows [begin, end) of every column, as named inputs.
std::vector<std::pair<std::string, rt::Tensor>> batchOf(const rt::Dataset &data,
                                                        const std::vector<int64_t> &rows,
                                                        size_t begin, size_t end) {
  std::vector<std::pair<std::string, rt::Tensor>> inputs;
  for (const rt::DataColumn &column : data.columns)
    inputs.push_back({column.name, rt::gatherRows(column.values, rows, begin, end)});
  return inputs;
}

/// The index of the largest value along the last axis (the first on ties), i32 [..].
rt::Tensor argmaxLast(const rt::Tensor &t) {
  if (t.rank() < 2) {
    std::string perExample = t.rank() == 1 ? "one number" : "a scalar";
    throw rt::Error("E0406", "--argmax needs outputs with a class axis: the model gives " +
                                 perExample + " per example (" +
                                 std::string(rt::dtypeName(t.dtype())) + "[N])",
                    {"--argmax picks the largest of the last axis, e.g. of logits [N, classes]"});
  }
  rt::Shape shape(t.shape().begin(), t.shape().end() - 1);
  int64_t classes = t.shape().back();
  rt::Tensor out(rt::DType::I32, shape);
  int32_t *dst = out.data<int32_t>();
  for (int64_t i = 0; i < out.numel(); ++i) {
    int64_t best = 0;
    for (int64_t c = 1; c < classes; ++c)
      if (t.at(i * classes + c) > t.at(i * classes + best))
        best = c;
    dst[i] = int32_t(best);
  }
  return out;
}

/// The rows of `parts` stacked along axis 0.
rt::Tensor concatRows(const std::vector<rt::Tensor> &parts) {
  rt::Shape shape = parts.front().shape();
  shape[0] = 0;
  for (const rt::Tensor &p : parts)
    shape[0] += p.shape()[0];
  rt::Tensor out(parts.front().dtype(), shape);
  auto *dst = static_cast<std::byte *>(out.raw());
  for (const rt::Tensor &p : parts) {
    std::memcpy(dst, p.raw(), p.nbytes());
    dst += p.nbytes();
  }
  return out;
}

/// Checks, before any work, that predict can write `path`: a .npy or .csv name (E0406) that
/// can be written (E0500).
void checkOutput(const std::string &path) {
  if (!endsWith(path, ".npy") && !endsWith(path, ".csv"))
    throw rt::Error("E0406", "`--output " + path + "`: the extension chooses the format",
                    {"use .npy or .csv"});
  rt::checkWritable(path);
}

/// Writes `t` to `path` by its extension (.npy or .csv; checked by checkOutput). A CSV gets
/// one row per example: the dimensions after the first are flattened, in row-major order.
void writeOutput(const std::string &path, const rt::Tensor &t) {
  if (endsWith(path, ".npy"))
    rt::writeNpy(path, t);
  else
    rt::writeCsv(path, t.rank() > 2 ? t.reshaped({t.shape()[0], t.numel() / t.shape()[0]}) : t);
}

/// eval and predict without --load use freshly drawn weights: say so, since that is rarely
/// what is meant.
void noteFreshWeights(const ModelOptions &o) {
  if (o.load.empty())
    std::cerr << "note: no --load: the model has freshly initialised weights (--seed " << o.seed
              << "); pass --load CHECKPOINT for trained ones\n";
}

} // namespace

int runEval(const ModelOptions &o) {
  Session s;
  std::optional<LossProgram> p = loadLossProgram(s, o.files, o.loss, o.metrics, o.model, {});
  if (!p)
    return s.fail();
  LossRun loss(s, *p->loss, p->metrics, moduleValue(p->root), lang::Value::none(),
               parseBackend(o.backend));
  rt::State state = s.makeState(o.seed, o.load);
  noteFreshWeights(o);
  rt::Dataset data = loadData(o.data, loss.params(), o.labelCols, "--data");
  bool failed = false;
  loss.prepareClassifier(data, failed);
  if (failed)
    return s.fail();
  std::vector<int64_t> rows(size_t(data.size()));
  std::iota(rows.begin(), rows.end(), int64_t(0));
  std::optional<std::vector<double>> values = loss.evaluate(state, data, rows);
  if (!values)
    return s.fail();
  std::printf("%s  (%lld examples)\n", formatMetrics("", loss.metrics(), *values).c_str(),
              (long long)data.size());
  if (o.timings)
    s.timings().print();
  return 0;
}

int runPredict(const ModelOptions &o) {
  if (o.batch <= 0)
    throw rt::Error("E0406", "`--batch` must be positive, got " + std::to_string(o.batch));
  Session s;
  lang::TraceOptions eval;
  if (!s.loadFiles(o.files))
    return s.fail();
  lang::ModuleInstance *root = s.instantiate(o.model, eval);
  if (!root)
    return s.fail();
  const lang::FnDecl *fn = moduleMethod(*root->decl, o.method);
  size_t skip = 0;
  std::string call = "__model." + o.method;
  if (!fn) {
    fn = s.findFunction(o.method, "--method");
    if (!fn)
      return s.fail();
    skip = 1;
    call = o.method + "(__model, ";
  } else {
    call += "(";
  }
  DataParams params = dataParams(*fn, skip);
  rt::DataRequest request;
  std::string args;
  for (const std::string &n : params.names)
    args += (args.empty() ? "" : ", ") + n;
  s.addSource("fn __nnxrun_predict(__model" + (args.empty() ? "" : ", " + args) + ") = " + call +
              args + ")\n");
  if (!o.outputs.empty())
    checkOutput(o.outputs.front());
  rt::State state = s.makeState(o.seed, o.load);
  noteFreshWeights(o);
  request.specs = o.data;
  request.params = params.names;
  request.dtypes = params.dtypes;
  request.labelCols = o.labelCols.empty() ? "none" : o.labelCols;
  request.dropLabels = true;
  std::vector<std::string> notes;
  rt::Dataset data = rt::loadDataset(request, notes);
  for (const std::string &note : notes)
    std::cerr << "note: " << note << "\n";
  std::vector<int64_t> rows(size_t(data.size()));
  std::iota(rows.begin(), rows.end(), int64_t(0));
  Backend backend = parseBackend(o.backend);
  std::map<int64_t, std::unique_ptr<Runner>> runners;
  std::vector<rt::Tensor> parts;
  for (size_t begin = 0; begin < rows.size(); begin += size_t(o.batch)) {
    size_t end = std::min(rows.size(), begin + size_t(o.batch));
    int64_t n = int64_t(end - begin);
    if (!runners.count(n)) {
      std::vector<InputSpec> inputs;
      for (const auto &[name, t] : batchOf(data, rows, begin, end)) {
        InputSpec in;
        in.name = name;
        in.text = std::string(rt::dtypeName(t.dtype())) + rt::formatShape(t.shape());
        in.tensor = t;
        inputs.push_back(std::move(in));
      }
      mlir::func::FuncOp f = s.traceFunction("__nnxrun_predict", {{"__model", moduleValue(root)}},
                                             inputs, eval);
      if (!f) {
        std::string note = describeData(data, "--data") + ", in batches of " +
                           std::to_string(n) + " rows (--batch)";
        bool csv = std::any_of(data.columns.begin(), data.columns.end(), [](const rt::DataColumn &c) {
          return c.source.find(".csv") != std::string::npos;
        });
        if (csv && o.labelCols.empty())
          note += "; every CSV column is a feature here: if the file's last column is a "
                  "label, pass --label-cols -1";
        s.program().diags().detachFrom("<nnxrun>", note);
        return s.fail();
      }
      runners[n] = std::make_unique<Runner>(s.module(), f, backend, s.timings());
      size_t outputs = runners[n]->outputLabels().size();
      if (outputs != 1)
        throw rt::Error("E0406", "`" + o.method + "` returns " + std::to_string(outputs) +
                                     " outputs: predict writes one array per example",
                        {"predict a method or function that returns one tensor"});
    }
    rt::State scratch = state;
    std::vector<rt::Tensor> out = runners[n]->run(scratch, batchOf(data, rows, begin, end));
    if (out.front().rank() == 0 || out.front().shape()[0] != n)
      throw rt::Error("E0406", "`" + o.method + "` returned shape " +
                                   rt::formatShape(out.front().shape()) + " for a batch of " +
                                   std::to_string(n) + ": predict needs one output row per example");
    parts.push_back(o.argmax ? argmaxLast(out.front()) : out.front());
  }
  rt::Tensor result = concatRows(parts);
  if (o.outputs.empty()) {
    std::cout << rt::dtypeName(result.dtype()) << rt::formatShape(result.shape()) << "\n"
              << rt::formatTensor(result) << "\n";
  } else {
    writeOutput(o.outputs.front(), result);
    std::printf("wrote %s%s for %lld examples to %s\n", std::string(rt::dtypeName(result.dtype())).c_str(),
                rt::formatShape(result.shape()).c_str(), (long long)data.size(),
                o.outputs.front().c_str());
  }
  if (o.timings)
    s.timings().print();
  return 0;
}

} // namespace nnx::tool
