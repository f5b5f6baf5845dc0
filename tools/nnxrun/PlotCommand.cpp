//===- PlotCommand.cpp - `nnxrun plot`: loss and metric curves ------------===//
//
// Draws the curves of a `train --log run.jsonl` (or `run.csv`) file into a PNG with gnuplot (Debian's
// gnuplot-nox, cairo terminal): the training loss of every step and the evaluation loss of
// every epoch on top; below, each evaluation metric per epoch (or the learning rate when there
// is none), against the step. nnxrun reads the log (nlohmann::json), writes the data as gnuplot
// data blocks into a script piped to `gnuplot`, and writes the finished image over the output
// path atomically, so a failed plot leaves no partial file.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"

#include "runtime/Error.h"
#include "runtime/FileIO.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nnx::tool {

namespace {

/// The series of a log: x (step) and y values per name.
struct Curves {
  std::vector<std::pair<double, double>> stepLoss, stepLr;
  std::map<std::string, std::vector<std::pair<double, double>>> epoch; // "val_loss", ...
  size_t records = 0;
};

/// The records of a log as JSON objects: each line of a JSON Lines log, or each row of a CSV
/// log (`train --log run.csv`: a header `kind,step,...`, numbers where a cell parses as one,
/// empty cells left out). E0504 for a line that is not a record of `train --log`.
std::vector<nlohmann::json> readRecords(const std::string &path) {
  std::string text = rt::readFileBytes(path);
  std::istringstream in(text);
  std::string line;
  bool csv = path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
  std::vector<std::string> header;
  std::vector<nlohmann::json> records;
  auto bad = [&](int64_t lineNo) {
    return rt::Error("E0504", "`" + path + "` line " + std::to_string(lineNo) +
                                  " is not a record of `nnxrun train --log`",
                     {csv ? "plot reads the CSV log of train --log run.csv: a header "
                            "`kind,step,...`, then one row per record"
                          : "plot reads the .jsonl log: one JSON object per line with kind "
                            "and step"});
  };
  for (int64_t lineNo = 1; std::getline(in, line); ++lineNo) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos)
      continue;
    if (!csv) {
      nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object())
        throw bad(lineNo);
      records.push_back(std::move(j));
      continue;
    }
    std::vector<std::string> cells;
    std::istringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');)
      cells.push_back(cell);
    if (line.back() == ',')
      cells.push_back("");
    if (header.empty()) {
      if (cells.size() < 2 || cells[0] != "kind" || cells[1] != "step")
        throw bad(lineNo);
      header = std::move(cells);
      continue;
    }
    if (cells.size() != header.size())
      throw bad(lineNo);
    nlohmann::json j = nlohmann::json::object();
    for (size_t i = 0; i < cells.size(); ++i) {
      if (cells[i].empty())
        continue;
      char *end = nullptr;
      double v = std::strtod(cells[i].c_str(), &end);
      if (end && *end == '\0')
        j[header[i]] = v;
      else
        j[header[i]] = cells[i];
    }
    records.push_back(std::move(j));
  }
  return records;
}

/// Reads the log at `path` (JSON Lines or CSV, see readRecords) into curves.
Curves readLog(const std::string &path) {
  Curves c;
  for (const nlohmann::json &j : readRecords(path)) {
    if (!j.contains("kind") || !j.contains("step") || !j["step"].is_number())
      throw rt::Error("E0504", "`" + path + "` record " + std::to_string(c.records + 1) +
                                   " is not a record of `nnxrun train --log`",
                      {"each record has a kind and a step"});
    double step = j["step"].get<double>();
    ++c.records;
    auto number = [&](const char *key) -> std::optional<double> {
      if (j.contains(key) && j[key].is_number())
        return j[key].get<double>();
      return std::nullopt;
    };
    if (j["kind"] == "step") {
      if (auto v = number("loss"))
        c.stepLoss.push_back({step, *v});
      if (auto v = number("lr"))
        c.stepLr.push_back({step, *v});
      continue;
    }
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key().rfind("val_", 0) == 0 && it.value().is_number())
        c.epoch[it.key()].push_back({step, it.value().get<double>()});
  }
  if (c.stepLoss.empty())
    throw rt::Error("E0504", "`" + path + "` holds no step records (" +
                                 std::to_string(c.records) + " records)",
                    {"write one with nnxrun train --log run.jsonl (or run.csv)"});
  return c;
}

/// A gnuplot data block `$name` of (x, y) pairs.
std::string dataBlock(const std::string &name, const std::vector<std::pair<double, double>> &xy) {
  std::string s = "$" + name + " << EOD\n";
  char buf[64];
  for (const auto &[x, y] : xy) {
    std::snprintf(buf, sizeof buf, "%.9g %.9g\n", x, y);
    s += buf;
  }
  return s + "EOD\n";
}

/// The gnuplot script that draws `c` into `output` (width x height pixels).
std::string script(const Curves &c, const std::string &title, const std::string &output,
                   int width, int height) {
  std::string s = dataBlock("loss", c.stepLoss);
  std::vector<std::string> metrics;
  for (const auto &[name, xy] : c.epoch) {
    s += dataBlock(name, xy);
    if (name != "val_loss")
      metrics.push_back(name);
  }
  bool lr = metrics.empty() && !c.stepLr.empty();
  if (lr)
    s += dataBlock("lr", c.stepLr);
  char head[512];
  std::snprintf(head, sizeof head,
                "set terminal pngcairo size %d,%d enhanced font 'sans,10'\n"
                "set output '%s'\nset grid\nset key top right\nset xrange [0:*]\n"
                "set multiplot layout 2,1 title '%s' noenhanced\n",
                width, height, output.c_str(), title.c_str());
  s += head;
  s += "set ylabel 'loss'\nplot $loss with lines lw 1 lc rgb '#9ecae1' title 'train (step)'";
  if (c.epoch.count("val_loss"))
    s += ", $val_loss with linespoints lw 2 pt 7 lc rgb '#e6550d' title 'evaluation (epoch)'";
  s += "\nset xlabel 'step'\n";
  if (!metrics.empty()) {
    s += "set ylabel 'metric'\nplot ";
    for (size_t i = 0; i < metrics.size(); ++i)
      s += (i ? ", " : "") + std::string("$") + metrics[i] + " with linespoints lw 2 pt 7 title '" +
           metrics[i].substr(4) + "' noenhanced";
    s += "\n";
  } else if (lr) {
    s += "set ylabel 'learning rate'\nplot $lr with lines lw 2 title 'lr'\n";
  } else {
    s += "set ylabel ''\nunset key\nplot $loss with lines lw 1 title 'train (step)'\n";
  }
  return s + "unset multiplot\nset output\n";
}

/// Single quotes cannot appear in a gnuplot single-quoted string; refuse such paths.
void checkQuotable(const std::string &text, const std::string &what) {
  if (text.find('\'') != std::string::npos || text.find('\n') != std::string::npos)
    throw rt::Error("E0406", what + " `" + text + "` holds a quote or a newline");
}

} // namespace

int runPlot(const PlotOptions &o) {
  int width = 0, height = 0;
  char x = 0;
  if (std::sscanf(o.size.c_str(), "%d%c%d", &width, &x, &height) != 3 || x != 'x' ||
      width < 100 || height < 100 || width > 10000 || height > 10000)
    throw rt::Error("E0406", "`--size " + o.size + "` is not WIDTHxHEIGHT in pixels (100..10000)");
  Curves curves = readLog(o.log);
  std::string output = o.output.empty() ? o.log.substr(0, o.log.rfind('.')) + ".png" : o.output;
  checkQuotable(output, "the output path");
  if (output.size() < 4 || output.compare(output.size() - 4, 4, ".png") != 0)
    throw rt::Error("E0406", "`" + output + "`: plot writes PNG images", {"name it *.png"});
  checkQuotable(o.log, "the log path");
  // gnuplot draws into a private temporary file; the image then replaces `output` atomically.
  std::string tmpl = (std::filesystem::temp_directory_path() / "nnxrun-plot-XXXXXX").string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0)
    throw rt::Error("E0500", "cannot create a temporary file for the plot: " +
                                 rt::errnoMessage(errno));
  close(fd);
  std::string tmp = tmpl;
  FILE *gnuplot = popen("gnuplot 2>&1", "w");
  if (!gnuplot)
    throw rt::Error("E0500", "cannot start gnuplot", {"install it: apt-get install gnuplot-nox"});
  std::string text = script(curves, o.log, tmp, width, height);
  std::fwrite(text.data(), 1, text.size(), gnuplot);
  int status = pclose(gnuplot);
  struct stat drawn {};
  if (status != 0 || stat(tmp.c_str(), &drawn) != 0 || drawn.st_size == 0) {
    std::remove(tmp.c_str());
    bool missing = WIFEXITED(status) && WEXITSTATUS(status) == 127;
    throw rt::Error("E0500", missing ? "cannot plot: `gnuplot` is not installed"
                                     : "gnuplot failed to draw `" + output + "`",
                    {missing ? "install it: apt-get install gnuplot-nox (make run does)"
                             : "its messages are above"});
  }
  // Written through the project's atomic writer: a symlink is followed, a device refused.
  std::string png;
  try {
    png = rt::readFileBytes(tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  std::remove(tmp.c_str());
  rt::writeFileAtomically(output, {{png.data(), png.size()}});
  std::printf("plotted %zu steps and %zu epochs of %s to %s\n", curves.stepLoss.size(),
              curves.epoch.empty() ? size_t(0) : curves.epoch.begin()->second.size(),
              o.log.c_str(), output.c_str());
  return 0;
}

} // namespace nnx::tool
