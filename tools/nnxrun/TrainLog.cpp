//===- TrainLog.cpp - Metrics logs of a training run ----------------------===//
//
// JSON through nlohmann::json (numbers printed round-trip exact); CSV rows by hand, since
// every field is a number or a fixed word.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/TrainLog.h"

#include "runtime/Error.h"
#include "runtime/FileIO.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sys/stat.h>

namespace nnx::tool {

namespace {

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

} // namespace

void TrainLog::checkPaths(const std::vector<std::string> &paths) {
  for (const std::string &path : paths)
    if (!endsWith(path, ".csv") && !endsWith(path, ".jsonl") && !endsWith(path, ".json"))
      throw rt::Error("E0406", "`--log " + path + "`: the log's extension chooses its format",
                      {"use .jsonl (JSON Lines) or .csv"});
}

TrainLog::TrainLog(const std::vector<std::string> &paths, const std::vector<std::string> &valNames,
                   bool append)
    : valNames_(valNames), append_(append) {
  checkPaths(paths);
  for (const std::string &path : paths) {
    auto file = std::make_unique<File>();
    file->path = path;
    file->csv = endsWith(path, ".csv");
    files_.push_back(std::move(file));
  }
}

void TrainLog::open(File &file) {
  struct stat info {};
  bool empty = ::stat(file.path.c_str(), &info) != 0 || info.st_size == 0;
  file.out.open(file.path, std::ios::out | (append_ ? std::ios::app : std::ios::trunc));
  if (!file.out)
    throw rt::Error("E0500", "cannot open `" + file.path + "`: " + rt::errnoMessage(errno));
  if (file.csv && (!append_ || empty)) {
    file.out << "kind,step,epoch,loss,lr,steps_per_s";
    for (const std::string &n : valNames_)
      file.out << ",val_" << n;
    file.out << "\n" << std::flush;
  }
}

TrainLog::~TrainLog() = default;

void TrainLog::write(const LogRecord &r) {
  for (auto &file : files_) {
    if (!file->out.is_open())
      open(*file);
    if (file->csv) {
      std::string line = r.kind + "," + std::to_string(r.step) + "," + std::to_string(r.epoch) +
                         "," + number(r.loss) + "," + (r.lr ? number(*r.lr) : "") + "," +
                         (r.stepsPerSecond ? number(*r.stepsPerSecond) : "");
      for (const std::string &n : valNames_) {
        line += ",";
        for (const auto &[name, value] : r.val)
          if (name == n)
            line += number(value);
      }
      file->out << line << "\n" << std::flush;
      continue;
    }
    nlohmann::ordered_json j;
    j["kind"] = r.kind;
    j["step"] = r.step;
    j["epoch"] = r.epoch;
    j["loss"] = r.loss;
    if (r.lr)
      j["lr"] = *r.lr;
    if (r.stepsPerSecond)
      j["steps_per_s"] = *r.stepsPerSecond;
    for (const auto &[name, value] : r.val)
      j["val_" + name] = value;
    file->out << j.dump() << "\n" << std::flush;
  }
}

} // namespace nnx::tool
