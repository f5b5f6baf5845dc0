//===- LossRun.cpp - A loss, its metrics and its data, for train and eval -===//
//
// The generated functions take the model as `__model` (and the optimizer as `__opt`) and the
// data under the loss's own parameter names, so a shape error in the user's loss names the
// user's parameters. Each batch size traces and compiles once.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/LossRun.h"

#include "ir/Types.h"
#include "lang/AST.h"
#include "runtime/DataSpec.h"
#include "runtime/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace nnx::tool {

DataParams dataParams(const lang::FnDecl &fn, size_t skip) {
  DataParams p;
  for (size_t i = skip; i < fn.params.size(); ++i) {
    p.names.push_back(fn.params[i].name);
    std::optional<rt::DType> dtype;
    if (fn.params[i].type)
      dtype = rt::parseDType(fn.params[i].type->name);
    p.dtypes.push_back(dtype);
  }
  return p;
}

const lang::FnDecl *moduleMethod(const lang::ModuleDecl &decl, const std::string &name) {
  for (const lang::StmtPtr &stmt : decl.body)
    if (auto *fn = llvm::dyn_cast<lang::FnStmt>(stmt.get()); fn && fn->fn->name == name)
      return fn->fn.get();
  return nullptr;
}

rt::Dataset loadData(const std::vector<std::string> &specs, const DataParams &params,
                     const std::string &labelCols, const std::string &flag) {
  rt::DataRequest request;
  request.specs = specs;
  request.params = params.names;
  request.dtypes = params.dtypes;
  request.labelCols = labelCols;
  request.flag = flag;
  std::vector<std::string> notes;
  rt::Dataset data = rt::loadDataset(request, notes);
  for (const std::string &note : notes)
    std::cerr << "note: " << note << "\n";
  return data;
}

std::string describeData(const rt::Dataset &data, const std::string &flag) {
  std::string s = "the data of " + flag + ": ";
  for (size_t i = 0; i < data.columns.size(); ++i) {
    const rt::DataColumn &c = data.columns[i];
    rt::Shape shape = c.values.shape();
    std::string dims = "[N";
    for (size_t d = 1; d < shape.size(); ++d)
      dims += ", " + std::to_string(shape[d]);
    s += (i ? "; " : "") + std::string("`") + c.name + "` " +
         std::string(rt::dtypeName(c.values.dtype())) + dims + "] from " + c.source;
  }
  return s;
}

bool Metric::lowerIsBetter() const { return name.find("acc") == std::string::npos; }

std::optional<std::vector<Metric>> findMetrics(Session &s, const std::vector<std::string> &names) {
  std::vector<Metric> metrics;
  bool ok = true;
  for (const std::string &name : names) {
    const lang::FnDecl *fn = s.findFunction(name, "--metric");
    if (!fn) {
      ok = false;
      continue;
    }
    metrics.push_back({name, !fn->params.empty() && fn->params[0].name == "model"});
  }
  if (!ok)
    return std::nullopt;
  return metrics;
}

std::optional<LossProgram> loadLossProgram(Session &s, const std::vector<std::string> &files,
                                           const std::string &lossName,
                                           const std::vector<std::string> &metricNames,
                                           const std::string &modelExpr,
                                           const lang::TraceOptions &options) {
  if (!s.loadFiles(files))
    return std::nullopt;
  LossProgram p;
  p.loss = s.findFunction(lossName, "--loss");
  std::optional<std::vector<Metric>> metrics = findMetrics(s, metricNames);
  if (!p.loss || !metrics)
    return std::nullopt;
  p.metrics = std::move(*metrics);
  p.root = s.instantiate(modelExpr, options);
  if (!p.root)
    return std::nullopt;
  return p;
}

std::string formatMetrics(const std::string &prefix, const std::vector<Metric> &metrics,
                          const std::vector<double> &values) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "loss %.4f", values.at(0));
  std::string line = prefix + buf;
  for (size_t i = 0; i < metrics.size(); ++i) {
    if (metrics[i].name == "accuracy")
      std::snprintf(buf, sizeof buf, "%.2f%%", 100 * values.at(i + 1));
    else
      std::snprintf(buf, sizeof buf, "%.4f", values.at(i + 1));
    line += "  " + metrics[i].name + " " + buf;
  }
  return line;
}

LossRun::LossRun(Session &s, const lang::FnDecl &loss, std::vector<Metric> metrics,
                 lang::Value model, lang::Value opt, Backend backend)
    : s_(s), loss_(loss.name), params_(dataParams(loss, 1)), metrics_(std::move(metrics)),
      model_(model), opt_(opt), backend_(backend) {
  if (params_.names.empty())
    throw rt::Error("E0505", "the loss `" + loss.name + "` takes no data: its parameters after "
                             "the model name the arrays of --data",
                    {"e.g. fn " + loss.name + "(model, x, y) = mse(model(x), y)"});
}

std::string LossRun::source() const {
  std::string data;
  for (const std::string &n : params_.names)
    data += ", " + n;
  std::string metricCalls;
  for (const Metric &m : metrics_) {
    if (m.takesModel)
      metricCalls += ", " + m.name + "(__model" + data + ")";
    else
      metricCalls += ", " + m.name + "(__model(" + params_.names.front() + "), " +
                     params_.names.back() + ")";
  }
  return "fn __nnxrun_train_step(__model, __opt" + data + ") {\n"
         "  __lr = __opt.current_learning_rate()\n"
         "  __loss, __grads = value_and_grad(" + loss_ + ")(__model" + data + ")\n"
         "  __opt.update(__model, __grads)\n"
         "  return __loss, __lr\n"
         "}\n"
         "fn __nnxrun_evaluate(__model" + data + ") = (" + loss_ + "(__model" + data + ")" +
         metricCalls + ",)\n";
}

std::vector<InputSpec> LossRun::batchInputs(const rt::Dataset &data, int64_t rows) const {
  std::vector<InputSpec> inputs;
  for (const rt::DataColumn &column : data.columns) {
    rt::Shape shape = column.values.shape();
    shape[0] = rows;
    InputSpec in;
    in.name = column.name;
    in.text = std::string(rt::dtypeName(column.values.dtype())) + rt::formatShape(shape);
    in.tensor = rt::Tensor(column.values.dtype(), shape);
    inputs.push_back(std::move(in));
  }
  return inputs;
}

std::optional<int64_t> LossRun::prepareClassifier(const rt::Dataset &data, bool &failed) {
  std::optional<int64_t> n = classes(data, failed);
  if (!n)
    return n;
  rt::checkLabels(data.columns.back().values, data.columns.back().source, *n);
  if (metrics_.empty())
    metrics_ = {{"accuracy", false}};
  return n;
}

std::optional<int64_t> LossRun::classes(const rt::Dataset &data, bool &failed) {
  failed = false;
  if (data.columns.size() != 2 || !rt::isInteger(data.columns.back().values.dtype()))
    return std::nullopt;
  const std::string &x = params_.names.front();
  s_.addSource("fn __nnxrun_logits(__model, " + x + ") = __model(" + x + ")\n");
  lang::TraceOptions eval;
  mlir::func::FuncOp f = s_.traceFunction("__nnxrun_logits", {{"__model", model_}},
                                          {batchInputs(data, 1).front()}, eval);
  if (!f) {
    failed = true;
    s_.program().diags().detachFrom("<nnxrun>", describeData(data, "--data"));
    return std::nullopt;
  }
  auto type = llvm::dyn_cast<mlir::RankedTensorType>(f.getFunctionType().getResult(0));
  f.erase();
  const rt::Tensor &labels = data.columns.back().values;
  if (!type || type.getRank() != labels.rank() + 1 || type.isDynamicDim(type.getRank() - 1))
    return std::nullopt;
  return type.getShape().back();
}

Runner *LossRun::compile(std::map<int64_t, std::unique_ptr<Runner>> &cache, const std::string &fn,
                         const rt::Dataset &data, int64_t rows, bool training) {
  auto it = cache.find(rows);
  if (it != cache.end())
    return it->second.get();
  mlir::func::FuncOp func = trace(fn, data, rows, training);
  if (!func)
    return nullptr;
  auto runner = std::make_unique<Runner>(s_.module(), func, backend_, s_.timings());
  return (cache[rows] = std::move(runner)).get();
}

mlir::func::FuncOp LossRun::trace(const std::string &fn, const rt::Dataset &data, int64_t rows,
                                  bool training) {
  if (!sourceAdded_) {
    s_.addSource(source());
    sourceAdded_ = true;
  }
  lang::TraceOptions options;
  options.training = training;
  std::vector<std::pair<std::string, lang::Value>> bound = {{"__model", model_}};
  if (fn == "__nnxrun_train_step")
    bound.push_back({"__opt", opt_});
  mlir::func::FuncOp func = s_.traceFunction(fn, bound, batchInputs(data, rows), options);
  if (!func) {
    std::string note = describeData(data, "--data");
    if (fn == "__nnxrun_evaluate" && !metrics_.empty()) {
      std::string calls;
      for (const Metric &m : metrics_)
        calls += ", " + (m.takesModel ? m.name + "(model, ...)"
                                      : m.name + "(model(" + params_.names.front() + "), " +
                                            params_.names.back() + ")");
      note += "; the evaluation calls " + loss_ + "(model, ...)" + calls + " (--metric)";
    }
    s_.program().diags().detachFrom("<nnxrun>", note);
    return nullptr;
  }
  return func;
}

Runner *LossRun::trainStep(const rt::Dataset &data, int64_t rows) {
  return compile(steps_, "__nnxrun_train_step", data, rows, true);
}

mlir::func::FuncOp LossRun::traceTrainStep(const rt::Dataset &data, int64_t rows) {
  return trace("__nnxrun_train_step", data, rows, true);
}

std::optional<std::vector<double>> LossRun::evaluate(const rt::State &state,
                                                     const rt::Dataset &data,
                                                     const std::vector<int64_t> &rows) {
  std::vector<double> sums(metrics_.size() + 1, 0.0);
  rt::State scratch = state; // tensors are shared until the run replaces them
  for (size_t begin = 0; begin < rows.size(); begin += 1024) {
    size_t end = std::min(rows.size(), begin + 1024);
    Runner *r = compile(evals_, "__nnxrun_evaluate", data, int64_t(end - begin), false);
    if (!r)
      return std::nullopt;
    std::vector<std::pair<std::string, rt::Tensor>> inputs;
    for (const rt::DataColumn &column : data.columns)
      inputs.push_back({column.name, rt::gatherRows(column.values, rows, begin, end)});
    std::vector<rt::Tensor> out = r->run(scratch, inputs);
    for (size_t i = 0; i < sums.size(); ++i) {
      if (out.at(i).numel() != 1)
        throw rt::Error("E0505", (i == 0 ? "the loss `" + loss_ + "`"
                                         : "the metric `" + metrics_[i - 1].name + "`") +
                                     " returns shape " + rt::formatShape(out[i].shape()) +
                                     ", not a scalar",
                        {"a loss or metric returns the mean over the batch"});
      sums[i] += out[i].at(0) * double(end - begin);
    }
  }
  for (double &v : sums)
    v /= double(rows.size());
  return sums;
}

} // namespace nnx::tool
