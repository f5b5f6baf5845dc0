//===- Diagnostics.cpp - Rendering diagnostics rustc-style ----------------===//
//
// The renderer prints, for each diagnostic, the header `error[E0203]: message`, the location
// arrow, the source line with carets under the primary span and its label, then the notes.
// Columns count bytes; tabs in source lines are shown as single spaces so carets line up.
//
//===----------------------------------------------------------------------===//
#include "lang/Diagnostics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <ostream>

namespace nnx::lang {

namespace {
const char *kRed = "\033[1;31m";
const char *kYellow = "\033[1;33m";
const char *kBlue = "\033[1;34m";
const char *kBold = "\033[1m";
const char *kReset = "\033[0m";

const char *paint(bool color, const char *code) { return color ? code : ""; }
} // namespace

std::string Diagnostic::matchText() const {
  std::string text = code + ": " + message;
  if (!label.empty())
    text += ": " + label;
  for (const DiagNote &n : notes)
    text += " | " + n.message;
  return text;
}

Diagnostic &DiagnosticEngine::error(std::string code, Span span, std::string message) {
  ++errors_;
  // Code that runs more than once at compile time (an unrolled loop, a function called twice)
  // reports a fault once: a repeat still counts as an error but is not shown again.
  if (!reported_.insert({code, span.file, span.begin, span.end, message}).second) {
    repeat_ = Diagnostic{Severity::Error, std::move(code), std::move(message), span, "", {}};
    return repeat_;
  }
  diags_.push_back(Diagnostic{Severity::Error, std::move(code), std::move(message), span, "", {}});
  return diags_.back();
}

Diagnostic &DiagnosticEngine::warning(std::string code, Span span, std::string message) {
  diags_.push_back(
      Diagnostic{Severity::Warning, std::move(code), std::move(message), span, "", {}});
  return diags_.back();
}

void DiagnosticEngine::clear() {
  diags_.clear();
  reported_.clear();
  rendered_ = 0;
  errors_ = 0;
}

/// Source lines are shown whole up to this many bytes; longer ones (generated code, one-line
/// files) as a window around the caret with `...` where text was left out.
static constexpr size_t kMaxSnippetWidth = 120;

/// Cuts `line` to a window of at most kMaxSnippetWidth bytes (plus the `...` markers) that
/// starts 40 bytes before the caret column `first`, on UTF-8 character boundaries, and shifts
/// `first` and clips `width` to match.
static void clipToWindow(std::string &line, size_t &first, size_t &width) {
  if (line.size() <= kMaxSnippetWidth)
    return;
  auto isContinuation = [&](size_t i) {
    return i < line.size() && (static_cast<unsigned char>(line[i]) & 0xC0) == 0x80;
  };
  size_t begin = first > 40 ? first - 40 : 0;
  while (begin > 0 && isContinuation(begin))
    --begin;
  size_t end = std::min(line.size(), begin + kMaxSnippetWidth);
  while (end < line.size() && isContinuation(end))
    --end;
  std::string window = (begin > 0 ? "..." : "") + line.substr(begin, end - begin) +
                       (end < line.size() ? "..." : "");
  size_t shift = begin > 0 ? 3 : 0;
  first = first - begin + shift;
  width = std::max<size_t>(1, std::min(width, end > first - shift + begin
                                                  ? end - (first - shift + begin)
                                                  : 1));
  line = std::move(window);
}

void DiagnosticEngine::renderSnippet(std::ostream &os, Span span, const std::string &label,
                                     bool color) const {
  LineCol start = sources_.lineCol(span.file, span.begin);
  std::string line(sources_.lineText(span.file, start.line));
  std::replace(line.begin(), line.end(), '\t', ' ');
  std::string lineNo = std::to_string(start.line);
  std::string pad(lineNo.size(), ' ');
  // Underline to the end of the span or of the first line, whichever comes first.
  size_t first = start.col - 1;
  size_t width = span.end > span.begin ? span.end - span.begin : 1;
  if (first > line.size())
    first = line.size();
  width = std::max<size_t>(1, std::min(width, line.size() > first ? line.size() - first : 1));
  clipToWindow(line, first, width);
  os << paint(color, kBlue) << pad << " |" << paint(color, kReset) << "\n";
  os << paint(color, kBlue) << lineNo << " |" << paint(color, kReset) << " " << line << "\n";
  os << paint(color, kBlue) << pad << " |" << paint(color, kReset) << " "
     << std::string(first, ' ') << paint(color, kRed) << std::string(width, '^');
  if (!label.empty())
    os << " " << label;
  os << paint(color, kReset) << "\n";
}

void DiagnosticEngine::render(std::ostream &os, const Diagnostic &d, bool color) const {
  bool isError = d.severity == Severity::Error;
  os << paint(color, isError ? kRed : kYellow) << (isError ? "error" : "warning");
  if (!d.code.empty())
    os << "[" << d.code << "]";
  os << paint(color, kReset) << paint(color, kBold) << ": " << d.message << paint(color, kReset)
     << "\n";
  std::string pad = "  ";
  if (d.span.valid()) {
    LineCol lc = sources_.lineCol(d.span.file, d.span.begin);
    pad = std::string(std::to_string(lc.line).size(), ' ');
    os << pad << paint(color, kBlue) << "--> " << paint(color, kReset)
       << sources_.location(d.span) << "\n";
    renderSnippet(os, d.span, d.label, color);
  } else if (!d.label.empty()) {
    os << "  = " << d.label << "\n";
  }
  bool gap = d.span.valid();
  for (const DiagNote &n : d.notes) {
    if (n.span.valid()) {
      if (gap)
        os << paint(color, kBlue) << pad << " |" << paint(color, kReset) << "\n";
      os << paint(color, kBold) << "note" << paint(color, kReset) << ": " << n.message << "\n";
      os << pad << paint(color, kBlue) << "--> " << paint(color, kReset)
         << sources_.location(n.span) << "\n";
      gap = false;
    } else {
      if (gap)
        os << paint(color, kBlue) << pad << " |" << paint(color, kReset) << "\n";
      gap = false;
      os << pad << paint(color, kBlue) << " = " << paint(color, kReset) << paint(color, kBold)
         << (n.help ? "help" : "note") << paint(color, kReset) << ": " << n.message << "\n";
    }
  }
  os << "\n";
}

unsigned DiagnosticEngine::detachFrom(const std::string &sourceName, const std::string &note) {
  auto generated = [&](Span span) {
    return span.valid() && sources_.file(span.file).name == sourceName;
  };
  unsigned changed = 0;
  for (size_t i = rendered_; i < diags_.size(); ++i) {
    Diagnostic &d = diags_[i];
    if (d.severity != Severity::Error)
      continue;
    if (generated(d.span))
      d.span = {};
    std::vector<DiagNote> notes;
    for (DiagNote &n : d.notes)
      if (!generated(n.span))
        notes.push_back(std::move(n));
    d.notes = std::move(notes);
    d.note(note);
    ++changed;
  }
  return changed;
}

namespace {
DiagnosticFormat currentFormat = DiagnosticFormat::Text;
} // namespace

void setDiagnosticFormat(DiagnosticFormat format) { currentFormat = format; }
DiagnosticFormat diagnosticFormat() { return currentFormat; }

void DiagnosticEngine::flush(std::ostream &os, bool color) {
  for (; rendered_ < diags_.size(); ++rendered_) {
    if (currentFormat == DiagnosticFormat::Json)
      os << toJson(diags_[rendered_]) << "\n";
    else
      render(os, diags_[rendered_], color);
  }
}

std::string DiagnosticEngine::toJson(const Diagnostic &d) const {
  nlohmann::ordered_json j;
  j["code"] = d.code;
  j["severity"] = d.severity == Severity::Error ? "error" : "warning";
  j["message"] = d.message;
  j["label"] = d.label;
  auto position = [&](uint32_t file, uint32_t offset) {
    LineCol lc = sources_.lineCol(file, offset);
    return nlohmann::ordered_json{{"line", lc.line}, {"column", lc.col}, {"offset", offset}};
  };
  if (d.span.valid()) {
    j["file"] = sources_.file(d.span.file).name;
    j["range"] = {{"start", position(d.span.file, d.span.begin)},
                  {"end", position(d.span.file, d.span.end)}};
  }
  nlohmann::ordered_json notes = nlohmann::ordered_json::array();
  for (const DiagNote &n : d.notes) {
    nlohmann::ordered_json note{{"kind", n.help ? "help" : "note"}, {"message", n.message}};
    if (n.span.valid()) {
      LineCol lc = sources_.lineCol(n.span.file, n.span.begin);
      note["file"] = sources_.file(n.span.file).name;
      note["line"] = lc.line;
      note["column"] = lc.col;
    }
    notes.push_back(note);
  }
  j["notes"] = notes;
  // Invalid UTF-8 in a message (a quoted source byte) is replaced, never an exception.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

size_t editDistance(const std::string &a, const std::string &b) {
  // Optimal string alignment: insertions, deletions, substitutions and transpositions of
  // adjacent characters (the commonest typo: `lienar`) each cost 1.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1,
                          d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

size_t typoDistance(const std::string &a, const std::string &b) {
  // Weighted optimal string alignment in half steps: a character typed twice or left out
  // next to its twin (`reluu`, `Dropot`... `relu`) and a letter in the wrong case cost 1; any
  // other insertion, deletion, substitution or adjacent transposition costs 2.
  auto lower = [](char c) { return char(std::tolower(static_cast<unsigned char>(c))); };
  auto twin = [](const std::string &s, size_t i) { // s[i] repeats a neighbour
    return (i > 0 && s[i - 1] == s[i]) || (i + 1 < s.size() && s[i + 1] == s[i]);
  };
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i)
    d[i][0] = 2 * i;
  for (size_t j = 0; j <= b.size(); ++j)
    d[0][j] = 2 * j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = a[i - 1] == b[j - 1] ? 0 : lower(a[i - 1]) == lower(b[j - 1]) ? 1 : 2;
      d[i][j] = std::min({d[i - 1][j] + (twin(a, i - 1) ? 1 : 2),
                          d[i][j - 1] + (twin(b, j - 1) ? 1 : 2), d[i - 1][j - 1] + sub});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 2);
    }
  return d[a.size()][b.size()];
}

std::vector<std::string> closestNames(const std::string &name,
                                      const std::vector<std::string> &candidates,
                                      const std::set<std::string> &exclude) {
  std::vector<std::string> best;
  size_t bestDist = 2 * (std::max<size_t>(1, name.size() / 3) + 1);
  std::set<std::string> seen;
  for (const std::string &c : candidates) {
    if (c == name || exclude.count(c) || !seen.insert(c).second)
      continue;
    size_t d = typoDistance(name, c);
    if (d < bestDist) {
      bestDist = d;
      best = {c};
    } else if (d == bestDist && !best.empty()) {
      best.push_back(c);
    }
  }
  if (best.empty() && name.size() >= 3) {
    // No typo away: a name that continues this one at a word boundary (`cosine_decay` ->
    // `cosine_decay_schedule`, `loss` -> `loss_fn`), as one remembers the start of a name.
    for (const std::string &c : seen)
      if (c.size() > name.size() + 1 && c.compare(0, name.size(), name) == 0 &&
          c[name.size()] == '_')
        best.push_back(c);
  }
  std::sort(best.begin(), best.end());
  return best;
}

std::string closestName(const std::string &name, const std::vector<std::string> &candidates,
                        const std::set<std::string> &exclude) {
  std::string joined;
  for (const std::string &c : closestNames(name, candidates, exclude))
    joined += (joined.empty() ? "" : "` or `") + c;
  return joined;
}

} // namespace nnx::lang
