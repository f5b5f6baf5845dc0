//===- Program.cpp - Loading files, imports and the stdlib ----------------===//
//
// Reads and parses files, follows `import "path"` relative to the importing file, and builds
// the table of top-level names.
//
//===----------------------------------------------------------------------===//
#include "lang/Program.h"
#include "lang/syntax/Parser.h"
#include "stdlib/Stdlib.h"

#include "runtime/Error.h"
#include "runtime/FileIO.h"

#include <algorithm>
#include <filesystem>

namespace nnx::lang {

namespace fs = std::filesystem;

Program::Program() : diags_(sources_) {}

uint32_t Program::addText(const std::string &name, const std::string &text) {
  return sources_.addFile(name, text);
}

bool Program::loadText(const std::string &name, const std::string &text) {
  uint32_t id = sources_.addFile(name, text);
  if (!parseAndRegister(id, /*stdlib=*/false))
    return false;
  userFiles_.push_back(asts_.back().get());
  return true;
}

bool Program::loadStdlib() {
  if (stdlibLoaded_)
    return true;
  stdlibLoaded_ = true;
  bool ok = true;
  for (size_t i = 0; i < stdlib::kNumFiles; ++i) {
    uint32_t id = sources_.addFile(std::string("<stdlib>/") + stdlib::kFiles[i].name,
                                   stdlib::kFiles[i].text);
    stdlibFiles_.insert(id);
    ok &= parseAndRegister(id, /*stdlib=*/true);
  }
  return ok;
}

void Program::setOverlay(const std::string &path, std::string text) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::path(path), ec);
  overlays_[ec ? path : canonical.string()] = std::move(text);
}

bool Program::loadFile(const std::string &path, Span importedFrom) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::path(path), ec);
  std::string key = ec ? path : canonical.string();
  auto onStack = std::find(loading_.begin(), loading_.end(), key);
  if (onStack != loading_.end()) {
    std::string cycle;
    for (auto it = onStack; it != loading_.end(); ++it)
      cycle += fs::path(*it).filename().string() + " -> ";
    diags_.error("E0500", importedFrom, "import cycle: `" + path + "` is being imported already")
        .withLabel(cycle + fs::path(key).filename().string())
        .help("move what both files need into a third file that both import");
    return false;
  }
  if (loadedPaths_.count(key))
    return true;
  loadedPaths_.insert(key);
  if (importedFrom.valid() && fs::path(path).extension() != ".nnx") {
    diags_.error("E0500", importedFrom, "cannot import `" + path + "`: not a .nnx file")
        .withLabel("imports name .nnx source files")
        .help("checkpoints and data are given on the command line (--load, --data, --input)");
    return false;
  }
  std::string text;
  try {
    auto overlay = overlays_.find(key);
    text = overlay != overlays_.end() ? overlay->second : rt::readFileBytes(path, kMaxSourceBytes);
  } catch (const rt::Error &e) { // "cannot read `path`: <why>", with notes
    Diagnostic &d = diags_.error(e.code(), importedFrom, e.what());
    for (const std::string &note : e.notes())
      d.note(note);
    return false;
  }
  uint32_t id = sources_.addFile(path, std::move(text));
  if (!parseAndRegister(id, /*stdlib=*/false))
    return false;

  const FileAST *file = asts_.back().get();
  bool ok = true;
  fs::path dir = fs::path(path).parent_path();
  loading_.push_back(key);
  for (const ImportDecl &imp : file->imports)
    ok &= loadFile((dir / imp.path).string(), imp.span);
  loading_.pop_back();
  userFiles_.push_back(file);
  return ok;
}

bool Program::parseAndRegister(uint32_t fileId, bool stdlib) {
  std::unique_ptr<FileAST> ast = parseFile(fileId, sources_, diags_);
  if (!ast)
    return false;
  for (const auto &m : ast->modules)
    declare(m->name, {GlobalDecl::Kind::Module, m.get(), nullptr, nullptr, m->nameSpan, stdlib});
  for (const auto &f : ast->functions)
    declare(f->name, {GlobalDecl::Kind::Function, nullptr, f.get(), nullptr, f->nameSpan, stdlib});
  for (const KindDecl &k : ast->kinds)
    declare(k.name, {GlobalDecl::Kind::VariableKind, nullptr, nullptr, &k, k.span, stdlib});
  asts_.push_back(std::move(ast));
  return true;
}

void Program::declare(const std::string &name, GlobalDecl decl) {
  auto it = globals_.find(name);
  if (it == globals_.end()) {
    globals_.emplace(name, decl);
    return;
  }
  // A user definition replaces a stdlib one of the same name; two user ones collide.
  if (it->second.fromStdlib && !decl.fromStdlib) {
    it->second = decl;
    return;
  }
  if (!it->second.fromStdlib && decl.fromStdlib)
    return;
  diags_.error("E0208", decl.span, "`" + name + "` is defined twice")
      .withLabel("second definition")
      .note("the first definition is here", it->second.span);
}

const GlobalDecl *Program::lookup(const std::string &name) const {
  auto it = globals_.find(name);
  return it == globals_.end() ? nullptr : &it->second;
}

std::vector<std::string> Program::globalNames() const {
  std::vector<std::string> names;
  for (const auto &[name, decl] : globals_)
    names.push_back(name);
  return names;
}

std::vector<const FileAST *> Program::allFiles() const {
  std::vector<const FileAST *> out;
  for (const auto &ast : asts_)
    out.push_back(ast.get());
  return out;
}

const FileAST *Program::fileAST(uint32_t fileId) const {
  for (const auto &ast : asts_)
    if (ast->fileId == fileId)
      return ast.get();
  return nullptr;
}

} // namespace nnx::lang
