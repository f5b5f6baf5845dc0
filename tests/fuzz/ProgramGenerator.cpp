//===- ProgramGenerator.cpp - Well-typed .nnx programs from fuzz bytes ----===//
//
// Each statement first picks an operation, then operands among the live values whose shapes
// fit it; an operation no live value fits falls back to an elementwise one. Shapes are tracked
// here exactly as nnx infers them (numpy broadcasting, reductions, matmul).
//
//===----------------------------------------------------------------------===//
#include "tests/fuzz/ProgramGenerator.h"

#include <algorithm>
#include <functional>
#include <optional>

namespace nnx::fuzz {

namespace {

using Shape = std::vector<int64_t>;

/// Reads choices from the fuzz bytes; zeros once they run out.
class ByteReader {
public:
  ByteReader(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  /// A number in [0, n).
  size_t pick(size_t n) {
    if (n <= 1)
      return 0;
    size_t byte = pos_ < size_ ? data_[pos_++] : 0;
    return byte % n;
  }
  bool exhausted() const { return pos_ >= size_; }

private:
  const uint8_t *data_;
  size_t size_;
  size_t pos_ = 0;
};

std::string shapeText(const Shape &s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

/// numpy broadcasting of two shapes, or nullopt.
std::optional<Shape> broadcast(const Shape &a, const Shape &b) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t x = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    int64_t y = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (x != y && x != 1 && y != 1)
      return std::nullopt;
    out[i] = std::max(x, y);
  }
  return out;
}

struct Var {
  std::string name;
  Shape shape;
};

class Generator {
public:
  Generator(const uint8_t *data, size_t size) : in_(data, size) {}

  GeneratedProgram run() {
    static const int64_t kDims[] = {1, 2, 3, 5, 8, 17};
    size_t numInputs = 1 + in_.pick(3);
    std::string params;
    for (size_t i = 0; i < numInputs; ++i) {
      Shape shape(in_.pick(4)); // rank 0..3
      for (int64_t &d : shape)
        d = kDims[in_.pick(6)];
      std::string name(1, char('a' + i));
      vars_.push_back({name, shape});
      params += (i ? ", " : "") + name + ": f32" + shapeText(shape);
      std::string spec = name + "=randn(";
      for (size_t k = 0; k < shape.size(); ++k)
        spec += (k ? "," : "") + std::to_string(shape[k]);
      program_.inputs.push_back(spec + ")");
    }
    size_t statements = 1 + in_.pick(16);
    for (size_t i = 0; i < statements && !in_.exhausted(); ++i)
      statement();
    // Every value is an output, so that no statement is dead code the trace drops.
    std::string results;
    for (size_t i = numInputs; i < vars_.size(); ++i)
      results += (results.empty() ? "" : ", ") + vars_[i].name;
    if (results.empty())
      results = vars_.back().name;
    program_.source = "module M() {\n  fn __call__(" + params + ") {\n" + body_ +
                      "    return " + results + "\n  }\n}\n";
    return program_;
  }

private:
  const Var &anyVar() { return vars_[in_.pick(vars_.size())]; }

  /// A live value satisfying `fits`, or nullopt.
  std::optional<Var> varWhere(const std::function<bool(const Var &)> &fits) {
    std::vector<size_t> ok;
    for (size_t i = 0; i < vars_.size(); ++i)
      if (fits(vars_[i]))
        ok.push_back(i);
    if (ok.empty())
      return std::nullopt;
    return vars_[ok[in_.pick(ok.size())]];
  }

  void define(const std::string &expr, Shape shape) {
    std::string name = "v" + std::to_string(vars_.size());
    body_ += "    " + name + " = " + expr + "\n";
    vars_.push_back({name, std::move(shape)});
  }

  void unary() {
    static const char *kForms[] = {"relu(X)", "tanh(X)", "sigmoid(X)", "abs(X)",
                                   "exp(tanh(X))", "log(1.0 + X * X)", "sqrt(X * X + 0.5)",
                                   "square(X)", "-X", "gelu(X)", "sin(X)", "X * 0.5 + 1.25",
                                   "erf(X)", "clip(X, -0.5, 0.5)"};
    const Var &x = anyVar();
    std::string form = kForms[in_.pick(sizeof kForms / sizeof *kForms)];
    std::string expr;
    for (char c : form)
      expr += c == 'X' ? x.name : std::string(1, c);
    define(expr, x.shape);
  }

  void binaryOp() {
    static const char *kForms[] = {"X + Y", "X - Y", "X * Y", "maximum(X, Y)", "minimum(X, Y)",
                                   "X / (1.0 + Y * Y)", "where(X > Y, X, Y)"};
    Var x = anyVar();
    std::optional<Var> y = varWhere([&](const Var &v) { return broadcast(x.shape, v.shape).has_value(); });
    std::string form = kForms[in_.pick(sizeof kForms / sizeof *kForms)];
    std::string expr;
    for (char c : form)
      expr += c == 'X' ? x.name : c == 'Y' ? y->name : std::string(1, c);
    define(expr, *broadcast(x.shape, y->shape));
  }

  bool reduction() {
    std::optional<Var> x = varWhere([](const Var &v) { return !v.shape.empty(); });
    if (!x)
      return false;
    static const char *kOps[] = {"sum", "mean", "max", "logsumexp", "softmax", "log_softmax",
                                 "cumsum"};
    std::string op = kOps[in_.pick(7)];
    int64_t axis = static_cast<int64_t>(in_.pick(x->shape.size()));
    bool keep = in_.pick(2) == 1;
    Shape shape = x->shape;
    if (op == "softmax" || op == "log_softmax" || op == "cumsum") {
      define(op + "(" + x->name + ", axis=" + std::to_string(axis) + ")", shape);
      return true;
    }
    if (keep)
      shape[axis] = 1;
    else
      shape.erase(shape.begin() + axis);
    define(op + "(" + x->name + ", axis=" + std::to_string(axis) +
               (keep ? ", keepdims=true)" : ")"),
           shape);
    return true;
  }

  bool matmul() {
    std::optional<Var> x = varWhere([](const Var &v) { return v.shape.size() == 2; });
    if (!x)
      return false;
    int64_t k = x->shape[1];
    std::optional<Var> y = varWhere([&](const Var &v) { return v.shape.size() == 2 && v.shape[0] == k; });
    if (y && in_.pick(2) == 0) {
      define(x->name + " @ " + y->name, {x->shape[0], y->shape[1]});
      return true;
    }
    bool left = in_.pick(2) == 0; // x @ x^T or x^T @ x: the transposed forms autodiff makes
    if (left)
      define(x->name + " @ transpose(" + x->name + ")", {x->shape[0], x->shape[0]});
    else
      define("transpose(" + x->name + ") @ " + x->name, {x->shape[1], x->shape[1]});
    return true;
  }

  bool reshapeOrSlice() {
    const Var &x = anyVar();
    switch (in_.pick(4)) {
    case 0: {
      int64_t n = 1;
      for (int64_t d : x.shape)
        n *= d;
      define("reshape(" + x.name + ", [-1])", {n});
      return true;
    }
    case 1:
      if (x.shape.size() < 2)
        return false;
      {
        Shape t(x.shape.rbegin(), x.shape.rend());
        define("transpose(" + x.name + ")", t);
      }
      return true;
    case 2:
      if (x.shape.empty() || x.shape[0] < 2)
        return false;
      {
        Shape s = x.shape;
        s[0] -= 1;
        define(x.name + "[1:]", s);
      }
      return true;
    default:
      if (x.shape.empty())
        return false;
      {
        Shape s = x.shape;
        s[0] *= 2;
        define("concat([" + x.name + ", " + x.name + "], axis=0)", s);
      }
      return true;
    }
  }

  void statement() {
    switch (in_.pick(6)) {
    case 0: unary(); return;
    case 1: binaryOp(); return;
    case 2: if (reduction()) return; break;
    case 3: if (matmul()) return; break;
    case 4: if (reshapeOrSlice()) return; break;
    default: break;
    }
    unary();
  }

  ByteReader in_;
  std::vector<Var> vars_;
  std::string body_;
  GeneratedProgram program_;
};

} // namespace

GeneratedProgram generateProgram(const uint8_t *data, size_t size) {
  return Generator(data, size).run();
}

} // namespace nnx::fuzz
