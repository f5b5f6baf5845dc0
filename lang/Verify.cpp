//===- Verify.cpp - Checking diagnostics against expected-error comments --===//
//
// Scans source lines for `expected-error` / `expected-warning` comments, then pairs every
// expectation with one reported diagnostic on its line whose text contains the expected
// text. Unmatched expectations and unexpected diagnostics are printed with their location.
//
//===----------------------------------------------------------------------===//
#include "lang/Verify.h"

#include <ostream>
#include <regex>

namespace nnx::lang {

namespace {

struct Expectation {
  uint32_t file;
  uint32_t line;
  Severity severity;
  std::string text;
  bool matched = false;
};

std::vector<Expectation> scanExpectations(const SourceManager &sources, uint32_t file) {
  static const std::regex pattern(
      R"(expected-(error|warning)(@([+-]?)([0-9]+))?\s*\{\{(.*?)\}\})");
  std::vector<Expectation> out;
  const SourceFile &f = sources.file(file);
  for (uint32_t line = 1; line <= f.lineStarts.size(); ++line) {
    std::string text(sources.lineText(file, line));
    for (std::sregex_iterator it(text.begin(), text.end(), pattern), end; it != end; ++it) {
      const std::smatch &m = *it;
      int64_t target = line;
      if (m[2].matched) {
        int64_t n = std::stoll(m[4].str());
        target = m[3].str() == "+" ? line + n : m[3].str() == "-" ? line - n : n;
      }
      out.push_back({file, static_cast<uint32_t>(std::max<int64_t>(target, 0)),
                     m[1].str() == "error" ? Severity::Error : Severity::Warning, m[5].str()});
    }
  }
  return out;
}

} // namespace

bool verifyDiagnostics(const DiagnosticEngine &diags, const std::vector<uint32_t> &files,
                       std::ostream &os) {
  const SourceManager &sources = diags.sources();
  std::vector<Expectation> expected;
  for (uint32_t f : files) {
    std::vector<Expectation> e = scanExpectations(sources, f);
    expected.insert(expected.end(), e.begin(), e.end());
  }
  bool ok = true;
  for (const Diagnostic &d : diags.diagnostics()) {
    bool found = false;
    if (d.span.valid()) {
      uint32_t line = sources.lineCol(d.span.file, d.span.begin).line;
      std::string text = d.matchText();
      for (Expectation &e : expected) {
        if (!e.matched && e.file == d.span.file && e.line == line && e.severity == d.severity &&
            text.find(e.text) != std::string::npos) {
          e.matched = found = true;
          break;
        }
      }
    }
    if (!found) {
      ok = false;
      os << "unexpected " << (d.severity == Severity::Error ? "error" : "warning") << " at "
         << sources.location(d.span) << ": " << d.matchText() << "\n";
    }
  }
  for (const Expectation &e : expected) {
    if (e.matched)
      continue;
    ok = false;
    os << "expected " << (e.severity == Severity::Error ? "error" : "warning") << " at "
       << sources.file(e.file).name << ":" << e.line << " was not reported: {{" << e.text
       << "}}\n";
  }
  return ok;
}

} // namespace nnx::lang
