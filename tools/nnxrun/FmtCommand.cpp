//===- FmtCommand.cpp - `nnxrun fmt`: the canonical layout of .nnx files --===//
//
// Rewrites each file (or each .nnx file under a directory) in the layout of
// lang/syntax/Formatter.h, atomically and keeping its permissions, like `gofmt -w` and
// `rustfmt`; `--check` writes nothing and fails when a file is not formatted (for CI), with the
// first line that would change; `--stdout` prints the formatted text instead; `-` formats
// stdin to stdout. A file with syntax errors gets its diagnostics and is left alone.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

#include "lang/Diagnostics.h"
#include "lang/Program.h"
#include "lang/Source.h"
#include "lang/syntax/Formatter.h"
#include "runtime/Error.h"
#include "runtime/FileIO.h"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <iterator>

namespace nnx::tool {

namespace {

namespace fs = std::filesystem;

/// The files `paths` name: a file as given, a directory as its .nnx files (recursively, in
/// sorted order). E0500 for a path that does not exist.
std::vector<std::string> expandPaths(const std::vector<std::string> &paths) {
  std::vector<std::string> files;
  for (const std::string &path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(path, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && it->path().extension() == ".nnx")
          found.push_back(it->path().string());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
      continue;
    }
    files.push_back(path);
  }
  return files;
}

/// The 1-based number of the first line where `a` and `b` differ.
size_t firstDifferentLine(const std::string &a, const std::string &b) {
  size_t line = 1;
  for (size_t i = 0; i < a.size() && i < b.size() && a[i] == b[i]; ++i)
    line += a[i] == '\n';
  return line;
}

} // namespace

int runFmt(const FmtOptions &o) {
  if (o.check && o.toStdout)
    throw rt::Error("E0406", "give `--check` or `--stdout`, not both",
                    {"--check only says whether files would change; --stdout prints them"});
  lang::SourceManager sources;
  lang::DiagnosticEngine diags(sources);
  size_t changed = 0, unchanged = 0, failed = 0;
  for (const std::string &path : expandPaths(o.paths)) {
    // `-`: the text on stdin, formatted to stdout (for editors' filters: `:%!nnxrun fmt -`).
    bool stdinText = path == "-";
    std::string text;
    try {
      if (stdinText)
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      else
        text = rt::readFileBytes(path, lang::Program::kMaxSourceBytes);
    } catch (const rt::Error &e) {
      reportRuntimeError(e);
      ++failed;
      continue;
    }
    uint32_t id = sources.addFile(path, text);
    std::optional<std::string> formatted = lang::formatFile(id, sources, diags);
    if (!formatted) {
      diags.flush(std::cerr, Session::useColor());
      ++failed;
      continue;
    }
    if (o.toStdout || (stdinText && !o.check)) {
      std::cout << *formatted;
      continue;
    }
    if (*formatted == text) {
      ++unchanged;
      continue;
    }
    ++changed;
    if (o.check) {
      std::cout << "would reformat " << path << " (from line "
                << firstDifferentLine(text, *formatted) << ")\n";
      continue;
    }
    rt::writeFileAtomically(path, {{formatted->data(), formatted->size()}});
    std::cout << "formatted " << path << "\n";
  }
  if (o.toStdout || (o.paths.size() == 1 && o.paths[0] == "-" && !o.check))
    return failed ? 1 : 0;
  auto files = [](size_t n) { return std::to_string(n) + (n == 1 ? " file" : " files"); };
  std::cout << (o.check ? files(changed) + " would be reformatted, "
                        : files(changed) + " formatted, ")
            << files(unchanged) + (o.check ? " already formatted" : " unchanged")
            << (failed ? ", " + files(failed) + " with errors" : std::string()) << "\n";
  return failed || (o.check && changed) ? 1 : 0;
}

} // namespace nnx::tool
