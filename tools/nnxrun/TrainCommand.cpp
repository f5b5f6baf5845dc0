//===- TrainCommand.cpp - `nnxrun train` ----------------------------------===//
//
// Trains a model on a data set. nnxrun creates `Optimizer(model, <optimizer>(lr))` (the
// stdlib's, at path `opt`), generates a train step
//
//   loss, grads = value_and_grad(LOSS)(model, x, y); opt.update(model, grads); return loss
//
// and traces it once per batch shape into ONE function — forward, backward and update — that
// the JIT compiles once and runs for every step. Data: .npy pairs or CSV (label last),
// a seeded holdout split, a seeded shuffle per epoch. The step count lives in the optimizer's
// state (`opt.count`), so `--load` resumes exactly where a `--save` stopped: same epoch,
// same shuffle, same dropout masks (the rng counters are state too).
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Progress.h"
#include "tools/nnxrun/Runner.h"
#include "tools/nnxrun/Session.h"

#include "ir/Types.h"
#include "runtime/Dataset.h"
#include "runtime/Error.h"
#include "runtime/SafeTensors.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <unistd.h>

namespace nnx::tool {

namespace {

/// The functions nnxrun generates around the user's loss function.
std::string trainSource(const lang::FnDecl &loss) {
  const std::string &l = loss.name;
  return "fn __nnxrun_train_step(model, opt, x, y) {\n"
         "  loss, grads = value_and_grad(" + l + ")(model, x, y)\n"
         "  opt.update(model, grads)\n"
         "  return loss\n"
         "}\n"
         "fn __nnxrun_evaluate(model, x, y) = (" + l + "(model, x, y), accuracy(model(x), y))\n"
         "fn __nnxrun_logits(model, x) = model(x)\n";
}

/// Parses --lr: a positive number, or E0408.
double parseLearningRate(const std::string &text) {
  char *end = nullptr;
  double lr = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(lr > 0) || !std::isfinite(lr))
    throw rt::Error("E0408", "`--lr` must be a positive number, got `" + text + "`");
  return lr;
}

/// The gradient transformation for --optimizer, --lr and --momentum (`adam(0.001)`), or E0408.
std::string transformExpr(const ModelOptions &o) {
  if (o.optimizer != "sgd" && o.optimizer != "adam" && o.optimizer != "adamw")
    throw rt::Error("E0408", "unknown optimizer `" + o.optimizer + "`",
                    {"--optimizer takes sgd, adam or adamw"});
  std::string lr = o.lr.empty() ? (o.optimizer == "sgd" ? "0.1" : "0.001") : o.lr;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", parseLearningRate(lr));
  std::string expr = o.optimizer + "(" + buf;
  if (o.optimizer == "sgd" && o.momentum > 0) {
    std::snprintf(buf, sizeof buf, "%.17g", o.momentum);
    expr += std::string(", momentum=") + buf;
  }
  return expr + ")";
}

/// Everything a training run holds.
struct Trainer {
  Session &s;
  const ModelOptions &o;
  lang::Value model;
  lang::Value opt;
  rt::State state;
  rt::Dataset data;
  rt::Split split;
  Backend backend;
  std::map<int64_t, std::unique_ptr<Runner>> steps, evals;

  /// An input spec carrying only a type (the tracer needs shapes, not data).
  InputSpec typed(const std::string &name, rt::DType dtype, rt::Shape shape) {
    InputSpec in;
    in.name = name;
    in.text = std::string(rt::dtypeName(dtype)) + rt::formatShape(shape);
    in.tensor = rt::Tensor(dtype, shape);
    return in;
  }

  rt::Shape rowsShape(const rt::Tensor &t, int64_t rows) {
    rt::Shape shape = t.shape();
    shape[0] = rows;
    return shape;
  }

  /// The compiled function `name` for a batch of `rows` (traced and compiled on first use).
  Runner *runner(std::map<int64_t, std::unique_ptr<Runner>> &cache, const std::string &name,
                 int64_t rows, bool training) {
    auto it = cache.find(rows);
    if (it != cache.end())
      return it->second.get();
    lang::TraceOptions options;
    options.training = training;
    std::vector<std::pair<std::string, lang::Value>> bound = {{"model", model}};
    if (name == "__nnxrun_train_step")
      bound.push_back({"opt", opt});
    std::vector<InputSpec> inputs = {typed("x", rt::DType::F32, rowsShape(data.x, rows)),
                                     typed("y", rt::DType::I32, {rows})};
    mlir::func::FuncOp func = s.traceFunction(name, bound, inputs, options);
    if (!func)
      return nullptr;
    auto runner = std::make_unique<Runner>(s.module(), func, backend, s.timings());
    return (cache[rows] = std::move(runner)).get();
  }

  /// Loss and accuracy on the holdout, in eval mode, in chunks of at most 1024 rows. The
  /// model's state is not changed (a Counter the model updates counts training calls only), so
  /// a run saved and resumed equals one uninterrupted run.
  std::optional<std::pair<double, double>> evaluate() {
    double loss = 0, acc = 0;
    rt::State scratch = state; // tensors are shared until the run replaces them
    const std::vector<int64_t> &rows = split.holdout;
    for (size_t begin = 0; begin < rows.size(); begin += 1024) {
      size_t end = std::min(rows.size(), begin + 1024);
      Runner *r = runner(evals, "__nnxrun_evaluate", int64_t(end - begin), false);
      if (!r)
        return std::nullopt;
      std::vector<rt::Tensor> out =
          r->run(scratch, {{"x", rt::gatherRows(data.x, rows, begin, end)},
                         {"y", rt::gatherRows(data.y, rows, begin, end)}});
      loss += out[0].at(0) * double(end - begin);
      acc += out[1].at(0) * double(end - begin);
    }
    return std::make_pair(loss / double(rows.size()), acc / double(rows.size()));
  }
};

/// The number of classes: the last extent of the model's output for one example.
std::optional<int64_t> numClasses(Session &s, Trainer &t) {
  lang::TraceOptions eval;
  mlir::func::FuncOp f = s.traceFunction(
      "__nnxrun_logits", {{"model", t.model}},
      {t.typed("x", rt::DType::F32, t.rowsShape(t.data.x, 1))}, eval);
  if (!f)
    return std::nullopt;
  auto type = llvm::cast<mlir::RankedTensorType>(f.getFunctionType().getResult(0));
  if (type.getRank() != 2)
    throw rt::Error("E0505", "the model's output for one example has type " +
                                 ir::formatType(type) + ", not [1, classes]",
                    {"`nnxrun train` trains classifiers: the model returns logits"});
  f.erase();
  return type.getShape()[1];
}

/// Runs the training loop; returns false after reporting a compile error.
bool trainLoop(Trainer &t, int64_t firstStep, int64_t lastStep, int64_t stepsPerEpoch,
               int64_t epochs) {
  Progress progress(isatty(STDOUT_FILENO));
  int64_t batch = std::min<int64_t>(t.o.batch, int64_t(t.split.train.size()));
  std::vector<int64_t> order;
  auto epochStart = std::chrono::steady_clock::now();
  for (int64_t step = firstStep; step < lastStep; ++step) {
    int64_t epoch = step / stepsPerEpoch, i = step % stepsPerEpoch;
    if (order.empty() || i == 0 || step == firstStep) {
      order = rt::epochOrder(t.split.train, t.o.seed, epoch);
      progress.beginEpoch(epoch + 1, epochs, stepsPerEpoch - i);
      epochStart = std::chrono::steady_clock::now();
    }
    size_t begin = size_t(i * batch), end = begin + size_t(batch);
    Runner *r = t.runner(t.steps, "__nnxrun_train_step", int64_t(end - begin), true);
    if (!r)
      return false;
    std::vector<rt::Tensor> out = r->run(t.state, {{"x", rt::gatherRows(t.data.x, order, begin, end)},
                                                   {"y", rt::gatherRows(t.data.y, order, begin, end)}});
    progress.step(out[0].at(0));
    if (i + 1 < stepsPerEpoch && step + 1 < lastStep)
      continue;
    char line[256];
    int n = std::snprintf(line, sizeof line, "epoch %lld/%lld  loss %.4f", (long long)(epoch + 1),
                          (long long)epochs, progress.meanLoss());
    if (!t.split.holdout.empty()) {
      auto result = t.evaluate();
      if (!result)
        return false;
      n += std::snprintf(line + n, sizeof line - n, "  holdout loss %.4f  accuracy %.2f%%",
                         result->first, 100 * result->second);
    }
    std::snprintf(line + n, sizeof line - n, "  (%.1f s, %.0f steps/s)",
                  millisSince(epochStart) / 1000, progress.stepsPerSecond());
    progress.endEpoch(line);
  }
  return true;
}

} // namespace

int runTrain(const ModelOptions &o) {
  if (o.epochs <= 0 && o.steps <= 0)
    throw rt::Error("E0406", "give --epochs N or --steps N (a positive number)");
  if (o.batch <= 0)
    throw rt::Error("E0406", "`--batch` must be positive, got " + std::to_string(o.batch));
  std::string tx = transformExpr(o);
  Session s;
  lang::TraceOptions train;
  train.training = true;
  if (!s.loadFiles(o.files))
    return s.fail();
  const lang::FnDecl *loss = s.findFunction(o.loss, "--loss");
  if (!loss)
    return s.fail();
  lang::ModuleInstance *root = s.instantiate(o.model, train);
  if (!root)
    return s.fail();
  Trainer t{s, o, lang::Value::make(lang::Value::Kind::Module),
            lang::Value::make(lang::Value::Kind::Module), {}, {}, {},
            o.backend == "interp" ? Backend::Interp : Backend::Jit, {}, {}};
  t.model.module = root;
  t.opt.module = s.instantiate("Optimizer(model, " + tx + ")", train, "<--optimizer>", "opt",
                               {{"model", t.model}});
  if (!t.opt.module)
    return s.fail();
  t.state = s.makeState(o.seed, o.load);
  t.data = rt::loadDataset(o.data);
  s.addSource(trainSource(*loss));
  std::optional<int64_t> classes = numClasses(s, t);
  if (!classes)
    return s.fail();
  rt::checkLabels(t.data, *classes);
  t.split = rt::splitHoldout(t.data.size(), o.holdout, o.seed);
  int64_t batch = std::min<int64_t>(o.batch, int64_t(t.split.train.size()));
  // Full batches only: one batch shape, so the step compiles once (the examples left over
  // differ from epoch to epoch, since every epoch is shuffled).
  int64_t stepsPerEpoch = int64_t(t.split.train.size()) / batch;
  int64_t firstStep = int64_t(t.state.find("opt.count")->value.at(0));
  int64_t lastStep = firstStep + (o.steps > 0 ? o.steps : o.epochs * stepsPerEpoch);
  int64_t epochs = (lastStep + stepsPerEpoch - 1) / stepsPerEpoch;
  std::printf("training %s on %s: %zu examples (%zu held out), batch %lld, %s\n",
              root->describe().c_str(), o.data.c_str(), t.split.train.size(),
              t.split.holdout.size(), (long long)batch, tx.c_str());
  // Compile the step before the clock of the first epoch starts.
  auto compileStart = std::chrono::steady_clock::now();
  if (!t.runner(t.steps, "__nnxrun_train_step", batch, true))
    return s.fail();
  if (!t.split.holdout.empty() &&
      !t.runner(t.evals, "__nnxrun_evaluate",
                std::min<int64_t>(1024, int64_t(t.split.holdout.size())), false))
    return s.fail();
  std::printf("compiled the train step (forward, backward, %s update) in %.0f ms\n",
              o.optimizer.c_str(), millisSince(compileStart));
  if (!trainLoop(t, firstStep, lastStep, stepsPerEpoch, epochs))
    return s.fail();
  if (!t.split.holdout.empty()) {
    auto result = t.evaluate();
    if (!result)
      return s.fail();
    std::printf("held-out accuracy: %.2f%% (%zu examples)\n", 100 * result->second,
                t.split.holdout.size());
  }
  if (!o.save.empty())
    rt::saveState(t.state, o.save);
  if (o.timings)
    s.timings().print();
  return 0;
}

} // namespace nnx::tool
