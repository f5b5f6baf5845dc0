//===- EvalEinsum.cpp - einsum as transposes, reshapes and one matmul ------===//
//
// `einsum("bqhd,bkhd->bhqk", q, k)` (jnp.einsum) with one or two operands. Each label names a
// dimension; labels of both operands and the output are batch dimensions, labels of both
// operands only are contracted, labels of one operand and the output stay free, and labels of
// one operand only are summed away first. Two operands become one nnx.matmul:
//
//   a -> [batch, free_a, contracted] -> [B, M, K]
//   b -> [batch, contracted, free_b] -> [B, K, N]      a @ b -> [B, M, N] -> output order
//
// so einsum has matmul's VJP, batching rule and JIT schedule. A label repeated within one
// operand (a diagonal) and `...` are not supported (E0231).
//
//===----------------------------------------------------------------------===//
#include "lang/Evaluator.h"

#include "ir/Types.h"

#include <map>

using namespace mlir;

namespace nnx::lang {

namespace {

/// The position of each label of `labels`.
std::map<char, int64_t> positions(const std::string &labels) {
  std::map<char, int64_t> out;
  for (size_t i = 0; i < labels.size(); ++i)
    out[labels[i]] = static_cast<int64_t>(i);
  return out;
}

} // namespace

Value Evaluator::builtinEinsum(std::vector<Value> &args, Span span) {
  if (args.size() < 2 || args.size() > 3 || args[0].kind != Value::Kind::Str) {
    error("E0231", span, "`einsum` takes a subscripts string and one or two tensors")
        .withLabel("e.g. einsum(\"bqhd,bkhd->bhqk\", q, k)");
    return Value::error();
  }
  std::string spec;
  for (char c : args[0].s)
    if (c != ' ')
      spec += c;
  size_t arrow = spec.find("->");
  std::string inputs = spec.substr(0, arrow);
  std::vector<std::string> labels;
  for (size_t begin = 0;;) {
    size_t comma = inputs.find(',', begin);
    labels.push_back(inputs.substr(begin, comma - begin));
    if (comma == std::string::npos)
      break;
    begin = comma + 1;
  }
  std::string out;
  if (arrow != std::string::npos) {
    out = spec.substr(arrow + 2);
  } else { // numpy's implicit output: the labels that appear once, sorted
    std::map<char, int> count;
    for (const std::string &l : labels)
      for (char c : l)
        ++count[c];
    for (auto [c, n] : count)
      if (n == 1)
        out += c;
  }
  size_t operands = args.size() - 1;
  auto bad = [&](const std::string &why) {
    error("E0231", span, "bad einsum subscripts \"" + args[0].s + "\"").withLabel(why);
    return Value::error();
  };
  if (labels.size() != operands)
    return bad(std::to_string(labels.size()) + " operand subscripts for " +
               std::to_string(operands) + " tensors");
  std::map<char, int64_t> extent;
  for (size_t o = 0; o < operands; ++o) {
    if (!args[o + 1].isTensor())
      return bad("operand " + std::to_string(o + 1) + " is " + describeValue(args[o + 1]));
    auto type = typeOf(args[o + 1]);
    if (static_cast<int64_t>(labels[o].size()) != type.getRank())
      return bad("operand " + std::to_string(o + 1) + " has rank " +
                 std::to_string(type.getRank()) + " but " + std::to_string(labels[o].size()) +
                 " labels");
    for (size_t i = 0; i < labels[o].size(); ++i) {
      char c = labels[o][i];
      if (!std::isalpha(static_cast<unsigned char>(c)))
        return bad("labels are letters (no `...`)");
      if (labels[o].find(c) != i)
        return bad("label `" + std::string(1, c) + "` repeats within operand " +
                   std::to_string(o + 1) + " (diagonals are not supported)");
      int64_t n = type.getDimSize(static_cast<int64_t>(i));
      auto [it, inserted] = extent.try_emplace(c, n);
      if (!inserted && it->second != n) {
        error("E0203", span, "einsum extents differ for label `" + std::string(1, c) + "`")
            .withLabel(std::to_string(it->second) + " vs " + std::to_string(n));
        return Value::error();
      }
    }
  }
  for (char c : out)
    if (!extent.count(c) || out.find(c) != out.rfind(c))
      return bad("output label `" + std::string(1, c) + "` is not an input label, or repeats");

  // Sum away the labels of one operand that neither the output nor the other operand has.
  std::vector<Value> xs;
  for (size_t o = 0; o < operands; ++o) {
    std::string other = operands == 2 ? labels[1 - o] : "";
    std::vector<int64_t> axes;
    std::string kept;
    for (size_t i = 0; i < labels[o].size(); ++i) {
      char c = labels[o][i];
      if (out.find(c) == std::string::npos && other.find(c) == std::string::npos)
        axes.push_back(static_cast<int64_t>(i));
      else
        kept += c;
    }
    xs.push_back(axes.empty() ? args[o + 1] : reduce(RedOp::Sum, args[o + 1], axes, false, span));
    labels[o] = kept;
  }
  auto permuted = [&](const Value &x, const std::string &from, const std::string &to) {
    std::map<char, int64_t> at = positions(from);
    SmallVector<int64_t> perm;
    for (char c : to)
      perm.push_back(at[c]);
    bool identity = true;
    for (size_t i = 0; i < perm.size(); ++i)
      identity &= perm[i] == static_cast<int64_t>(i);
    return identity ? x : transpose(x, perm, span);
  };
  if (operands == 1)
    return permuted(xs[0], labels[0], out);

  const std::string &la = labels[0], &lb = labels[1];
  std::string batch, contracted, freeA, freeB;
  for (char c : la) {
    bool inB = lb.find(c) != std::string::npos, inOut = out.find(c) != std::string::npos;
    (inB ? (inOut ? batch : contracted) : freeA) += c;
  }
  for (char c : lb)
    if (la.find(c) == std::string::npos)
      freeB += c;
  auto product = [&](const std::string &ls) {
    int64_t p = 1;
    for (char c : ls)
      p *= extent[c];
    return p;
  };
  int64_t nb = product(batch), m = product(freeA), k = product(contracted), n = product(freeB);
  Value a = permuted(xs[0], la, batch + freeA + contracted);
  Value b = permuted(xs[1], lb, batch + contracted + freeB);
  SmallVector<int64_t> aShape{m, k}, bShape{k, n};
  if (!batch.empty()) {
    aShape.insert(aShape.begin(), nb);
    bShape.insert(bShape.begin(), nb);
  }
  Value product2 = matmul(reshape(a, aShape, span), reshape(b, bShape, span), span, span);
  if (product2.isError())
    return product2;
  SmallVector<int64_t> shape;
  for (char c : batch + freeA + freeB)
    shape.push_back(extent[c]);
  return permuted(reshape(product2, shape, span), batch + freeA + freeB, out);
}

} // namespace nnx::lang
