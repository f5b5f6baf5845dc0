//===- Recorder.h - The types a trace gives, for hover --------------------===//
//
// Analysis's lang::TraceObserver: it keeps, per expression and per variable declaration (by the
// span of the name), the distinct types the traces gave. Private to tools/nnxrun/lsp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "tools/nnxrun/lsp/Analysis.h"

#include "ir/Types.h"
#include "lang/Evaluator.h"

#include <algorithm>

namespace nnx::tool::lsp {


/// Keeps, per expression and per variable declaration, the distinct types the traces gave
/// (a few at most: a method called with two batch sizes shows both).
class Analysis::Recorder : public lang::TraceObserver {
public:
  using Types = std::map<SpanKey, std::vector<std::string>>;
  Recorder(Types &expressions, Types &variables)
      : expressions_(expressions), variables_(variables) {}

  void expression(const lang::Expr &expr, const lang::Value &value) override {
    std::string type = describe(value);
    if (!type.empty())
      add(expressions_[{expr.span.file, expr.span.begin, expr.span.end}], type);
  }
  void variable(const lang::VarDeclStmt &decl, rt::DType dtype, const rt::Shape &shape) override {
    add(variables_[{decl.nameSpan.file, decl.nameSpan.begin, decl.nameSpan.end}],
        std::string(rt::dtypeName(dtype)) + rt::formatShape(shape));
  }

private:
  static constexpr size_t kMaxTypes = 4;
  Types &expressions_, &variables_;

  static void add(std::vector<std::string> &types, const std::string &type) {
    if (types.size() < kMaxTypes && std::find(types.begin(), types.end(), type) == types.end())
      types.push_back(type);
  }
  /// A tensor's type, or a static number's; "" for what hover does not show (modules...).
  static std::string describe(const lang::Value &value) {
    switch (value.kind) {
    case lang::Value::Kind::Tensor:
      return value.tensor ? ir::formatType(value.tensor.getType()) : "";
    case lang::Value::Kind::Int:
      return "int " + std::to_string(value.i);
    case lang::Value::Kind::Bool:
      return value.b ? "bool true" : "bool false";
    default:
      return "";
    }
  }
};


} // namespace nnx::tool::lsp
