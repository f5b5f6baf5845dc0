//===- Program.h - The set of files a run loads ---------------------------===//
//
// A Program is everything one nnxrun invocation reads: the embedded stdlib, the files named
// on the command line and the files they import (paths relative to the importing file). It
// owns the sources, the diagnostics engine and the ASTs, and answers "which declaration does
// this top-level name mean": user files win over the stdlib, and two user files defining one
// name is an error (E0208).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "lang/AST.h"
#include "lang/Diagnostics.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace nnx::lang {

/// A top-level name and what it denotes.
struct GlobalDecl {
  enum class Kind { Module, Function, VariableKind } kind;
  const ModuleDecl *module = nullptr;
  const FnDecl *function = nullptr;
  const KindDecl *variableKind = nullptr;
  Span span;
  bool fromStdlib = false;
};

/// All loaded files and their top-level names.
class Program {
public:
  /// Source files larger than this are refused (E0500) before being read.
  static constexpr int64_t kMaxSourceBytes = int64_t(64) << 20;

  Program();

  SourceManager &sources() { return sources_; }
  const SourceManager &sources() const { return sources_; }
  DiagnosticEngine &diags() { return diags_; }

  /// Loads the embedded stdlib (once).
  bool loadStdlib();
  /// Loads a user file and, recursively, its imports. False when it could not be read or
  /// has syntax errors (reported). Loading a file twice is a no-op.
  bool loadFile(const std::string &path, Span importedFrom = {});
  /// Makes loadFile(path) (and an import of it) read `text` instead of the file: an editor's
  /// unsaved buffer (the language server).
  void setOverlay(const std::string &path, std::string text);
  /// Parses and declares a user source that is not a file (tests, tools). Its imports are
  /// not followed. False after reporting syntax errors.
  bool loadText(const std::string &name, const std::string &text);
  /// Registers a text that is not a file (a test, the CLI --model argument); returns its id.
  uint32_t addText(const std::string &name, const std::string &text);

  /// The declaration a top-level name denotes, or null.
  const GlobalDecl *lookup(const std::string &name) const;
  /// Every top-level name (for "did you mean").
  std::vector<std::string> globalNames() const;

  /// The parsed user files in load order (imports before importers).
  const std::vector<const FileAST *> &userFiles() const { return userFiles_; }
  /// Every parsed file, stdlib included, in load order.
  std::vector<const FileAST *> allFiles() const;
  /// The AST of a loaded file by source id, or null.
  const FileAST *fileAST(uint32_t fileId) const;
  /// True when `span` lies in an embedded stdlib file.
  bool isStdlib(Span span) const { return stdlibFiles_.count(span.file) > 0; }

private:
  bool parseAndRegister(uint32_t fileId, bool stdlib);
  void declare(const std::string &name, GlobalDecl decl);

  SourceManager sources_;
  DiagnosticEngine diags_;
  std::vector<std::unique_ptr<FileAST>> asts_;
  std::vector<const FileAST *> userFiles_;
  std::map<std::string, GlobalDecl> globals_;
  std::set<uint32_t> stdlibFiles_;
  std::set<std::string> loadedPaths_;
  /// Texts that stand for files (setOverlay), by canonical path.
  std::map<std::string, std::string> overlays_;
  /// The files whose imports are being loaded, outermost first (an import of one is a cycle).
  std::vector<std::string> loading_;
  bool stdlibLoaded_ = false;
};

} // namespace nnx::lang
