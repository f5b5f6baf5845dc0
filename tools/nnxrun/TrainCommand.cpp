//===- TrainCommand.cpp - `nnxrun train` ----------------------------------===//
//
// Trains a model on a data set. nnxrun creates `Optimizer(model, <optimizer>(lr))` (the
// stdlib's, at path `opt`; `--lr` is a number or a schedule expression, `--clip-norm` chains
// clip_by_global_norm first), generates a train step
//
//   loss, grads = value_and_grad(LOSS)(model, data...); opt.update(model, grads); return loss
//
// and traces it once per batch shape into ONE function — forward, backward and update — that
// the JIT compiles once and runs for every step. The data arrays bind to the loss's parameters
// after the model (LossRun.h). A seeded holdout split (or --val-data) is evaluated after every
// epoch, with the metrics. The step count lives in the optimizer's state (`opt.count`), so a
// checkpoint resumes exactly where it stopped: same epoch, same shuffle, same dropout masks
// (the rng counters are state too). Ctrl-C or SIGTERM ends the run after the current step and
// writes the checkpoint.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/LossRun.h"
#include "tools/nnxrun/Progress.h"
#include "tools/nnxrun/Runner.h"
#include "tools/nnxrun/Session.h"
#include "tools/nnxrun/TrainLog.h"

#include "runtime/Dataset.h"
#include "runtime/Error.h"
#include "runtime/FileIO.h"
#include "runtime/SafeTensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <unistd.h>

namespace nnx::tool {

namespace {

/// The signal that asked the run to stop (SIGINT or SIGTERM), or 0.
volatile std::sig_atomic_t stopSignal = 0;

extern "C" void onStopSignal(int signal) { stopSignal = signal; }

/// `x` in the fewest digits that read back exactly ("0.1", not "0.10000000000000001").
std::string shortest(double x) {
  char buf[64];
  for (int digits = 6; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, x);
    if (std::strtod(buf, nullptr) == x)
      break;
  }
  return buf;
}

/// The learning rate for --lr: a positive number, or an nnx expression (a schedule such as
/// `cosine_decay_schedule(0.1, 1000)`), which the optimizer's instantiation checks.
std::string learningRateExpr(const std::string &text) {
  char *end = nullptr;
  double lr = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    if (!text.empty() && (std::isalpha(static_cast<unsigned char>(text[0])) || text[0] == '_') &&
        text.find('(') != std::string::npos && text.back() == ')')
      return text; // a schedule: a call such as cosine_decay_schedule(0.1, 1000)
    throw rt::Error("E0408", "`--lr` must be a positive number or a schedule, got `" + text + "`",
                    {"e.g. --lr 0.01 or --lr 'cosine_decay_schedule(0.01, 1000)'"});
  }
  if (!(lr > 0) || !std::isfinite(lr))
    throw rt::Error("E0408", "`--lr` must be a positive number, got `" + text + "`");
  return shortest(lr);
}

/// The gradient transformation for --optimizer, --lr, --momentum and --clip-norm
/// (`chain(clip_by_global_norm(1.0), adam(0.001))`), or E0408.
std::string transformExpr(const ModelOptions &o) {
  if (o.optimizer != "sgd" && o.optimizer != "adam" && o.optimizer != "adamw")
    throw rt::Error("E0408", "unknown optimizer `" + o.optimizer + "`",
                    {"--optimizer takes sgd, adam or adamw"});
  if (o.has("--lr") && o.lr.empty())
    throw rt::Error("E0408", "`--lr` is empty", {"e.g. --lr 0.01"});
  std::string expr = o.optimizer + "(" +
                     learningRateExpr(o.lr.empty() ? (o.optimizer == "sgd" ? "0.1" : "0.001") : o.lr);
  if (o.has("--momentum") && o.optimizer != "sgd")
    throw rt::Error("E0408", "--momentum is an option of sgd, not " + o.optimizer,
                    {"adam and adamw have b1 (0.9) instead"});
  if (o.momentum > 0)
    expr += ", momentum=" + shortest(o.momentum);
  if ((o.has("--weight-decay") || o.weightDecayMask) && o.optimizer != "adamw")
    throw rt::Error("E0408", "--weight-decay and --weight-decay-mask are options of adamw",
                    {"add --optimizer adamw"});
  if (o.has("--weight-decay"))
    expr += ", weight_decay=" + shortest(o.weightDecay);
  if (o.weightDecayMask)
    expr += ", mask=weight_decay_mask";
  expr += ")";
  if (o.has("--clip-norm")) {
    if (!(o.clipNorm > 0) || !std::isfinite(o.clipNorm))
      throw rt::Error("E0408", "`--clip-norm` must be a positive number, got " +
                                   shortest(o.clipNorm));
    expr = "chain(clip_by_global_norm(" + shortest(o.clipNorm) + "), " + expr + ")";
  }
  return expr;
}

/// --checkpoint-every: N steps, or N epochs as "Nepochs"/"Nepoch"/"Ne".
struct Every {
  int64_t steps = 0, epochs = 0;
};

Every parseEvery(const std::string &text) {
  Every every;
  if (text.empty())
    return every;
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
    ++digits;
  std::string unit = text.substr(digits);
  int64_t n = digits ? std::atoll(text.substr(0, digits).c_str()) : 0;
  if (n <= 0 || digits > 12 || !(unit.empty() || unit == "steps" || unit == "step" ||
                                 unit == "epochs" || unit == "epoch" || unit == "e"))
    throw rt::Error("E0406", "`--checkpoint-every " + text + "` is not a positive count",
                    {"give steps (`500`) or epochs (`2epochs`)"});
  (unit.empty() || unit[0] == 's' ? every.steps : every.epochs) = n;
  return every;
}

/// What decides the order of a run's steps, recorded in its checkpoints ("nnxrun.train"
/// metadata) so that --resume can refuse a run that would not continue it exactly.
std::string runRecord(const ModelOptions &o) {
  nlohmann::ordered_json j{{"batch", o.batch}, {"seed", o.seed}, {"holdout", o.holdout},
                           {"val_data", !o.valData.empty()}};
  return j.dump();
}

/// Checks that --resume continues the run `path` recorded (same --batch, --seed and holdout);
/// E0406 naming each difference. Checkpoints without the record (older, or not from train)
/// pass.
void checkResume(const ModelOptions &o, const std::string &path) {
  rt::SafeTensorsFile file = rt::readSafeTensors(path);
  auto it = file.metadata.find("nnxrun.train");
  if (it == file.metadata.end())
    return;
  nlohmann::json was = nlohmann::json::parse(it->second, nullptr, false);
  nlohmann::json now = nlohmann::json::parse(runRecord(o));
  if (!was.is_object())
    return;
  std::vector<std::string> differences;
  for (auto &[key, value] : now.items())
    if (was.contains(key) && was[key] != value)
      differences.push_back(key + " " + was[key].dump() + " -> " + value.dump());
  if (differences.empty())
    return;
  std::string list;
  for (const std::string &d : differences)
    list += (list.empty() ? "" : ", ") + d;
  throw rt::Error("E0406", "--resume " + path + " continues a run with other settings: " + list,
                  {"the order of the steps depends on --batch, --seed and the holdout; resume "
                   "with the run's own, or start a new run from the weights with --load"});
}

/// Writes `state` to `path` (with the run's record) and says so.
void save(const rt::State &state, const std::string &path, const std::string &what,
          const ModelOptions &o) {
  rt::saveState(state, path, {{"nnxrun.train", runRecord(o)}});
  std::printf("saved %s to %s\n", what.c_str(), path.c_str());
  std::fflush(stdout);
}

/// Everything a training run holds.
struct Trainer {
  Session &s;
  const ModelOptions &o;
  LossRun &loss;
  rt::State state;
  rt::Dataset data;
  // The rest is set after construction, by name.
  rt::Dataset valData = {};
  rt::Split split = {};
  /// The rows evaluated after each epoch (of valData when given, else of data).
  std::vector<int64_t> evalRows = {};
  /// Opened once the step compiled.
  std::unique_ptr<TrainLog> log = nullptr;
  Every every = {};
  std::deque<std::string> kept = {};
  std::optional<double> bestValue = std::nullopt;
  int64_t epochsSinceBest = 0;
  bool warnedNonFinite = false;
  /// Set by endOfEpoch: the early-stopping line, printed after the epoch's.
  std::string stopMessage = {};
  size_t bestIndex = 0; // into the evaluation values: 0 the loss, i > 0 metric i - 1

  const rt::Dataset &evalData() const { return o.valData.empty() ? data : valData; }

  /// The training rows and the evaluation rows: all of `data` and all of --val-data (its
  /// labels checked against `classes`), or a seeded --holdout split of `data`.
  void splitData(std::optional<int64_t> classes) {
    if (o.valData.empty()) {
      split = rt::splitHoldout(data.size(), o.holdout, o.seed);
      evalRows = split.holdout;
      return;
    }
    valData = loadData(o.valData, loss.params(), o.labelCols, "--val-data");
    if (classes)
      rt::checkLabels(valData.columns.back().values, valData.columns.back().source, *classes);
    split.train.resize(size_t(data.size()));
    std::iota(split.train.begin(), split.train.end(), int64_t(0));
    evalRows.resize(size_t(valData.size()));
    std::iota(evalRows.begin(), evalRows.end(), int64_t(0));
  }

  /// Adds the step checkpoints already in --checkpoint-dir (a resumed run's) to `kept`, so
  /// --keep counts them too.
  void findKept() {
    std::vector<std::string> found;
    for (const auto &entry : std::filesystem::directory_iterator(o.checkpointDir)) {
      std::string name = entry.path().filename().string();
      if (name.rfind("step-", 0) == 0 && name.size() > 17 &&
          name.compare(name.size() - 12, 12, ".safetensors") == 0)
        found.push_back(entry.path().string());
    }
    std::sort(found.begin(), found.end());
    kept.assign(found.begin(), found.end());
  }

  /// Writes the periodic checkpoint of `step`, keeping the newest --keep.
  void checkpoint(int64_t step) {
    rt::ensureDirectory(o.checkpointDir);
    char name[64];
    std::snprintf(name, sizeof name, "step-%08lld.safetensors", (long long)step);
    std::string path = (std::filesystem::path(o.checkpointDir) / name).string();
    save(state, path, "checkpoint", o);
    kept.push_back(path);
    while (o.keep > 0 && int64_t(kept.size()) > o.keep) {
      std::filesystem::remove(kept.front());
      kept.pop_front();
    }
  }

  /// Evaluates after an epoch; returns the values, and whether to stop early.
  std::optional<std::vector<double>> endOfEpoch(int64_t epoch, bool &stop) {
    std::optional<std::vector<double>> values = loss.evaluate(state, evalData(), evalRows);
    if (!values)
      return values;
    double v = (*values)[bestIndex];
    bool lower = bestIndex == 0 || loss.metrics()[bestIndex - 1].lowerIsBetter();
    if (!bestValue || (lower ? v < *bestValue : v > *bestValue)) {
      bestValue = v;
      epochsSinceBest = 0;
      if (!o.best.empty() && !o.checkpointDir.empty()) {
        char value[32];
        std::snprintf(value, sizeof value, "%.6g", v);
        save(state, (std::filesystem::path(o.checkpointDir) / "best.safetensors").string(),
             "the best model (epoch " + std::to_string(epoch) + ", " + o.best + " " + value + ")",
             o);
      }
    } else if (++epochsSinceBest >= o.patience && o.patience > 0) {
      char line[160];
      std::snprintf(line, sizeof line, "early stopping: %s has not improved for %lld epochs (best %.4f)",
                    o.best.empty() ? "loss" : o.best.c_str(), (long long)epochsSinceBest,
                    *bestValue);
      stopMessage = line;
      stop = true;
    }
    return values;
  }
};

/// Why a loss may have become nan or inf, for the warning: nan/inf in the data; at step 1,
/// before any update (`firstUpdate`), the initial model on the data, not the learning rate
/// (an integer input outside an embedding's range gives nan, as jnp.take does: the integer
/// arrays' ranges are stated); later, the learning rate.
std::string nonFiniteCause(const rt::Dataset &data, bool firstUpdate) {
  if (data.hasNonFinite)
    return " (the data holds nan or inf values)";
  if (!firstUpdate)
    return ": the learning rate may be too high (--lr)";
  std::string ranges;
  for (const rt::DataColumn &column : data.columns) {
    if (!rt::isInteger(column.values.dtype()) || column.values.numel() == 0)
      continue;
    double lo = column.values.at(0), hi = lo;
    for (int64_t i = 1; i < column.values.numel(); ++i) {
      lo = std::min(lo, column.values.at(i));
      hi = std::max(hi, column.values.at(i));
    }
    ranges += std::string(ranges.empty() ? "" : ", ") + column.name + " (" + column.source +
              ") holds integers in [" + std::to_string(int64_t(lo)) + ", " +
              std::to_string(int64_t(hi)) + "]";
  }
  return ", before any update: the initial model gives it on this data, whatever the "
         "learning rate" +
         (ranges.empty() ? std::string()
                         : " (an index outside an Embed's or a take's range gives nan, as "
                           "jnp.take does: " + ranges + ")");
}

/// Runs the training loop; returns false after reporting a compile error. Sets `interrupted`
/// when a signal stopped it.
bool trainLoop(Trainer &t, int64_t firstStep, int64_t lastStep, int64_t stepsPerEpoch,
               int64_t epochs, int64_t &stepsDone) {
  Progress progress(isatty(STDOUT_FILENO));
  int64_t batch = std::min<int64_t>(t.o.batch, int64_t(t.split.train.size()));
  std::vector<int64_t> order;
  auto epochStart = std::chrono::steady_clock::now();
  double lr = 0;
  for (int64_t step = firstStep; step < lastStep && !stopSignal; ++step) {
    int64_t epoch = step / stepsPerEpoch, i = step % stepsPerEpoch;
    if (order.empty() || i == 0 || step == firstStep) {
      order = rt::epochOrder(t.split.train, t.o.seed, epoch);
      progress.beginEpoch(epoch + 1, epochs, stepsPerEpoch - i);
      epochStart = std::chrono::steady_clock::now();
    }
    size_t begin = size_t(i * batch), end = begin + size_t(batch);
    Runner *r = t.loss.trainStep(t.data, int64_t(end - begin));
    if (!r)
      return false;
    std::vector<std::pair<std::string, rt::Tensor>> inputs;
    for (const rt::DataColumn &column : t.data.columns)
      inputs.push_back({column.name, rt::gatherRows(column.values, order, begin, end)});
    std::vector<rt::Tensor> out;
    try {
      out = r->run(t.state, inputs);
    } catch (const rt::Error &error) {
      // A device failure (E0602) or another run-time error: say which step it stopped at.
      std::vector<std::string> notes = error.notes();
      notes.push_back("training stopped at step " + std::to_string(step + 1) +
                      "; checkpoints written before it are kept");
      throw rt::Error(error.code(), error.what(), notes);
    }
    double loss = out[0].at(0);
    lr = out[1].at(0);
    stepsDone = step + 1;
    progress.step(loss);
    t.log->write({"step", step + 1, epoch + 1, loss, lr, std::nullopt, {}});
    if (!std::isfinite(loss) && !t.warnedNonFinite) {
      t.warnedNonFinite = true;
      std::fprintf(stderr, "warning: the loss is %s at step %lld%s\n", std::isnan(loss) ? "nan" : "inf",
                   (long long)(step + 1), nonFiniteCause(t.data, step == 0).c_str());
    }
    if (t.every.steps > 0 && (step + 1) % t.every.steps == 0)
      t.checkpoint(step + 1);
    if (i + 1 < stepsPerEpoch && step + 1 < lastStep)
      continue;
    if (stopSignal)
      break; // the epoch did not finish: no summary
    std::string line = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs) +
                       "  " + formatMetrics("", {}, {progress.meanLoss()});
    LogRecord record{"epoch", step + 1, epoch + 1, progress.meanLoss(), lr,
                     progress.stepsPerSecond(), {}};
    bool stop = false;
    if (!t.evalRows.empty()) {
      std::optional<std::vector<double>> values = t.endOfEpoch(epoch + 1, stop);
      if (!values)
        return false;
      line += "  " + formatMetrics(t.o.valData.empty() ? "holdout " : "val ", t.loss.metrics(),
                                   *values);
      record.val.push_back({"loss", (*values)[0]});
      for (size_t m = 0; m < t.loss.metrics().size(); ++m)
        record.val.push_back({t.loss.metrics()[m].name, (*values)[m + 1]});
    }
    char tail[96];
    std::snprintf(tail, sizeof tail, "  lr %.3g  (%.1f s, %.0f steps/s)", lr,
                  millisSince(epochStart) / 1000, progress.stepsPerSecond());
    progress.endEpoch(line + tail);
    t.log->write(record);
    if (t.every.epochs > 0 && (epoch + 1) % t.every.epochs == 0)
      t.checkpoint(step + 1);
    if (stop) {
      std::printf("%s\n", t.stopMessage.c_str());
      break;
    }
  }
  return true;
}

/// The steps of a run.
struct Plan {
  int64_t batch, stepsPerEpoch, firstStep, lastStep, epochs;
};

/// Full batches only: one batch shape, so the step compiles once (the examples left over
/// differ from epoch to epoch, since every epoch is shuffled). The first step is the
/// checkpoint's `opt.count`; --epochs/--steps count from it, or from 0 with --resume.
Plan planSteps(const Trainer &t) {
  const ModelOptions &o = t.o;
  Plan p{};
  p.batch = std::min<int64_t>(o.batch, int64_t(t.split.train.size()));
  if (p.batch < o.batch)
    std::fprintf(stderr, "note: --batch %lld is more than the %zu training examples: batches of %lld\n",
                 (long long)o.batch, t.split.train.size(), (long long)p.batch);
  p.stepsPerEpoch = int64_t(t.split.train.size()) / p.batch;
  p.firstStep = int64_t(t.state.find("opt.count")->value.at(0));
  int64_t planned = o.steps > 0 ? o.steps : o.epochs * p.stepsPerEpoch;
  p.lastStep = o.resume.empty() ? p.firstStep + planned : planned;
  p.epochs = (p.lastStep + p.stepsPerEpoch - 1) / p.stepsPerEpoch;
  return p;
}

/// After Ctrl-C or SIGTERM: writes the state to --save (or DIR/interrupted.safetensors) and
/// returns the exit code 128 + the signal.
int saveInterrupted(Trainer &t, int64_t stepsDone, int64_t lastStep) {
  const ModelOptions &o = t.o;
  std::printf("\n%s at step %lld of %lld\n", stopSignal == SIGINT ? "interrupted" : "terminated",
              (long long)stepsDone, (long long)lastStep);
  std::string path =
      !o.save.empty()            ? o.save
      : !o.checkpointDir.empty() ? (std::filesystem::path(o.checkpointDir) / "interrupted.safetensors").string()
                                 : "";
  if (path.empty()) {
    std::printf("nothing saved: give --save PATH or --checkpoint-dir DIR to keep the state\n");
  } else {
    save(t.state, path, "the state", o);
    std::printf("continue with --resume %s (and the same options)\n", path.c_str());
  }
  return 128 + int(stopSignal);
}

/// Runs the loop from `firstStep` to `lastStep` with Ctrl-C and SIGTERM caught (they stop it
/// after the current step); false after reporting a compile error.
bool runCatchingSignals(Trainer &t, int64_t firstStep, int64_t lastStep, int64_t stepsPerEpoch,
                        int64_t epochs, int64_t &stepsDone) {
  struct sigaction action {}, oldInt {}, oldTerm {};
  action.sa_handler = onStopSignal;
  sigaction(SIGINT, &action, &oldInt);
  sigaction(SIGTERM, &action, &oldTerm);
  stepsDone = firstStep;
  bool ok = trainLoop(t, firstStep, lastStep, stepsPerEpoch, epochs, stepsDone);
  sigaction(SIGINT, &oldInt, nullptr);
  sigaction(SIGTERM, &oldTerm, nullptr);
  return ok;
}

/// Checks the options that do not need the program.
void checkOptions(const ModelOptions &o) {
  checkStageOptions(o);
  if (o.has("--stage")) {
    // Nothing trains or is written: only what the step's code depends on.
    if (o.batch <= 0)
      throw rt::Error("E0406", "`--batch` must be positive, got " + std::to_string(o.batch));
    return;
  }
  if (o.epochs > 0 && o.steps > 0)
    throw rt::Error("E0406", "give --epochs or --steps, not both (--epochs " +
                                 std::to_string(o.epochs) + " --steps " + std::to_string(o.steps) +
                                 ")");
  if (o.epochs <= 0 && o.steps <= 0)
    throw rt::Error("E0406", "give --epochs N or --steps N (a positive number)");
  if (o.batch <= 0)
    throw rt::Error("E0406", "`--batch` must be positive, got " + std::to_string(o.batch));
  if (!o.valData.empty() && o.holdout > 0)
    throw rt::Error("E0406", "give --val-data or --holdout, not both");
  if (!o.resume.empty() && !o.load.empty())
    throw rt::Error("E0406", "give --resume or --load, not both",
                    {"--load starts a new run from a checkpoint; --resume continues one"});
  if ((!o.checkpointEvery.empty() || !o.best.empty() || o.has("--keep")) &&
      o.checkpointDir.empty())
    throw rt::Error("E0406", std::string(!o.checkpointEvery.empty() ? "--checkpoint-every"
                                         : !o.best.empty()          ? "--best"
                                                                    : "--keep") +
                                 " needs --checkpoint-dir DIR");
  if (o.patience < 0)
    throw rt::Error("E0406", "--early-stopping takes a count of epochs >= 1, got " +
                                 std::to_string(o.patience));
  if (o.keep < 0)
    throw rt::Error("E0406", "--keep takes a count >= 0 (0: keep all), got " +
                                 std::to_string(o.keep));
  bool evaluates = o.holdout > 0 || !o.valData.empty();
  for (const char *flag : {"--best", "--early-stopping", "--metric"})
    if (o.has(flag) && !evaluates)
      throw rt::Error("E0406", std::string(flag) + " needs evaluation data",
                      {"give --holdout 0.2 or --val-data FILE"});
  // Everything the run will write is checked before it trains.
  if (!o.save.empty())
    rt::checkWritable(o.save);
  if (!o.checkpointDir.empty())
    rt::ensureDirectory(o.checkpointDir);
  for (const std::string &log : o.logs)
    rt::checkWritable(log);
}

/// The index of --best among the evaluation values (0: the loss), or E0406.
size_t bestIndex(const ModelOptions &o, const LossRun &loss) {
  if (o.best.empty() || o.best == "loss")
    return 0;
  for (size_t i = 0; i < loss.metrics().size(); ++i)
    if (loss.metrics()[i].name == o.best)
      return i + 1;
  std::string names = "loss";
  for (const Metric &m : loss.metrics())
    names += ", " + m.name;
  throw rt::Error("E0406", "`--best " + o.best + "` is not an evaluated value",
                  {"the run evaluates: " + names + " (add metrics with --metric)"});
}

} // namespace

int runTrain(const ModelOptions &o) {
  checkOptions(o);
  TrainLog::checkPaths(o.logs);
  if (!o.resume.empty())
    checkResume(o, o.resume);
  Every every = parseEvery(o.checkpointEvery);
  std::string tx = transformExpr(o);
  Session s;
  lang::TraceOptions train;
  train.training = true;
  std::optional<LossProgram> p = loadLossProgram(s, o.files, o.loss, o.metrics, o.model, train);
  if (!p)
    return s.fail();
  lang::ModuleInstance *root = p->root;
  lang::Value model = lang::Value::make(lang::Value::Kind::Module);
  model.module = root;
  lang::Value opt = lang::Value::make(lang::Value::Kind::Module);
  opt.module = s.instantiate("Optimizer(model, " + tx + ")", train, "<--optimizer>", "opt",
                             {{"model", model}});
  if (!opt.module)
    return s.fail();
  // With --stage nothing runs: no backend is needed (nor its device).
  LossRun loss(s, *p->loss, p->metrics, model, opt,
               o.has("--stage") ? Backend::Interp : parseBackend(o.backend));
  rt::State state = s.makeState(o.seed, o.resume.empty() ? o.load : o.resume);
  rt::Dataset data = loadData(o.data, loss.params(), o.labelCols, "--data");
  bool failed = false;
  std::optional<int64_t> classes = loss.prepareClassifier(data, failed);
  if (failed)
    return s.fail();
  if (o.has("--stage")) {
    // The step's code for a batch of --batch instead of a run: what `emit --stage` prints
    // for a method.
    if (!loss.traceTrainStep(data, o.batch))
      return s.fail();
    printStage(s.module(), o);
    return 0;
  }
  std::vector<std::string> valNames = {"loss"};
  for (const Metric &m : loss.metrics())
    valNames.push_back(m.name);
  Trainer t{s, o, loss, std::move(state), std::move(data)};
  t.every = every;
  t.bestIndex = bestIndex(o, loss);
  t.splitData(classes);
  Plan plan = planSteps(t);
  int64_t batch = plan.batch, stepsPerEpoch = plan.stepsPerEpoch, firstStep = plan.firstStep,
          lastStep = plan.lastStep, epochs = plan.epochs;
  if (lastStep <= firstStep) {
    // --resume of a run that is already as far as --epochs/--steps ask: nothing to compile.
    std::printf("the checkpoint is at step %lld: nothing left to train for %lld %s\n",
                (long long)firstStep, (long long)(o.steps > 0 ? o.steps : o.epochs),
                o.steps > 0 ? "steps" : "epochs");
    if (!o.save.empty())
      save(t.state, o.save, "the model", o);
    return 0;
  }
  std::string evaluation =
      t.evalRows.empty() ? "" : " (" + std::to_string(t.evalRows.size()) + " for evaluation)";
  std::printf("training %s on %zu examples%s, batch %lld, %s\n", root->describe().c_str(),
              t.split.train.size(), evaluation.c_str(), (long long)batch, tx.c_str());
  // Compile the step before the clock of the first epoch starts.
  auto compileStart = std::chrono::steady_clock::now();
  Runner *step = t.loss.trainStep(t.data, batch);
  if (!step)
    return s.fail();
  std::printf("compiled the train step (forward, backward, %s update) in %.0f ms%s\n",
              o.optimizer.c_str(), millisSince(compileStart),
              step->fromCache() ? " (from the compile cache)" : "");
  t.log = std::make_unique<TrainLog>(o.logs, valNames, !o.resume.empty());
  if (!o.checkpointDir.empty())
    t.findKept();
  std::fflush(stdout);
  int64_t stepsDone = firstStep;
  if (!runCatchingSignals(t, firstStep, lastStep, stepsPerEpoch, epochs, stepsDone))
    return s.fail();
  if (stopSignal)
    return saveInterrupted(t, stepsDone, lastStep);
  if (!t.evalRows.empty() && loss.metrics().size() > 0 && loss.metrics()[0].name == "accuracy") {
    auto values = t.loss.evaluate(t.state, t.evalData(), t.evalRows);
    if (!values)
      return s.fail();
    std::printf("%s accuracy: %.2f%% (%zu examples)\n", o.valData.empty() ? "held-out" : "validation",
                100 * (*values)[1], t.evalRows.size());
  }
  if (!o.save.empty())
    save(t.state, o.save, "the model", o);
  if (o.timings)
    s.timings().print();
  return 0;
}

} // namespace nnx::tool
