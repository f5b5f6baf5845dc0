//===- Source.cpp - Source files and spans --------------------------------===//
//
// Line tables and span arithmetic for the SourceManager.
//
//===----------------------------------------------------------------------===//
#include "lang/Source.h"

#include <algorithm>

namespace nnx::lang {

Span Span::cover(Span a, Span b) {
  if (!a.valid())
    return b;
  if (!b.valid() || a.file != b.file)
    return a;
  return Span{a.file, std::min(a.begin, b.begin), std::max(a.end, b.end)};
}

uint32_t SourceManager::addFile(std::string name, std::string text) {
  SourceFile file{std::move(name), std::move(text), {0}};
  for (uint32_t i = 0; i < file.text.size(); ++i)
    if (file.text[i] == '\n')
      file.lineStarts.push_back(i + 1);
  files_.push_back(std::move(file));
  return static_cast<uint32_t>(files_.size());
}

LineCol SourceManager::lineCol(uint32_t id, uint32_t offset) const {
  const SourceFile &f = file(id);
  auto it = std::upper_bound(f.lineStarts.begin(), f.lineStarts.end(), offset);
  uint32_t line = static_cast<uint32_t>(it - f.lineStarts.begin());
  return LineCol{line, offset - f.lineStarts[line - 1] + 1};
}

std::string_view SourceManager::lineText(uint32_t id, uint32_t line) const {
  const SourceFile &f = file(id);
  if (line == 0 || line > f.lineStarts.size())
    return {};
  uint32_t begin = f.lineStarts[line - 1];
  uint32_t end = line < f.lineStarts.size() ? f.lineStarts[line] : f.text.size();
  std::string_view text(f.text.data() + begin, end - begin);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

std::string SourceManager::location(Span span) const {
  if (!span.valid())
    return "<unknown>";
  LineCol lc = lineCol(span.file, span.begin);
  return file(span.file).name + ":" + std::to_string(lc.line) + ":" + std::to_string(lc.col);
}

std::string_view SourceManager::text(Span span) const {
  if (!span.valid())
    return {};
  const std::string &t = file(span.file).text;
  uint32_t end = std::min<uint32_t>(span.end, t.size());
  uint32_t begin = std::min(span.begin, end);
  return std::string_view(t.data() + begin, end - begin);
}

uint32_t SourceManager::findFile(std::string_view name) const {
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i].name == name)
      return static_cast<uint32_t>(i + 1);
  return 0;
}

} // namespace nnx::lang
