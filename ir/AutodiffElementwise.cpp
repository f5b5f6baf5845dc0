//===- AutodiffElementwise.cpp - VJP rules of elementwise nnx ops ---------===//
//
// Unary ops (x -> y): the adjoint of x is g times y'(x), written with y where that is cheaper
// (exp: g y; tanh: g (1 - y^2); sigmoid: g y (1 - y); sqrt: g / (2 y); rsqrt: -g y^3 / 2;
// erf: g 2/sqrt(pi) exp(-x^2)); floor passes nothing (its derivative is 0 almost everywhere).
// abs passes g where x >= 0 and -g elsewhere (jax's abs JVP: 1 at the kink) and relu passes g
// where x > 0 (0 at the kink), like JAX. gelu
// differentiates its tanh approximation.
//
// Binary ops (a, b -> y): the usual product and quotient rules; rem follows lax.rem (g to a,
// -g trunc(a / b) to b); pow follows JAX's guards
// (d/da is 0 where b = 0; d/db uses log(1) where a = 0) and max/min follow lax.max's JVP: the
// operand equal to the result gets g, both get g/2 at a tie. select routes g to the chosen
// branch (none to the condition); a float-to-float convert converts g back.
//
//===----------------------------------------------------------------------===//
#include "ir/AutodiffRules.h"

#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;

namespace nnx::ir::detail {
namespace {

/// d/dx of gelu's tanh form 0.5 x (1 + tanh(u)), u = c (x + k x^3), c = sqrt(2/pi):
/// 0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 k x^2), t = tanh(u).
Value geluDerivative(Value x, AdjointBuilder &adj) {
  const double c = std::sqrt(2.0 / llvm::numbers::pi), k = 0.044715;
  Type type = x.getType();
  Value one = adj.splat(type, 1.0), half = adj.splat(type, 0.5);
  Value x2 = adj.mul(x, x);
  Value u = adj.mul(adj.splat(type, c), adj.add(x, adj.mul(adj.splat(type, k), adj.mul(x2, x))));
  Value t = adj.create<TanhOp>(type, u);
  Value du = adj.mul(adj.splat(type, c), adj.add(one, adj.mul(adj.splat(type, 3.0 * k), x2)));
  Value outer = adj.mul(half, adj.add(one, t));
  Value inner = adj.mul(adj.mul(half, x), adj.mul(adj.sub(one, adj.mul(t, t)), du));
  return adj.add(outer, inner);
}

/// The adjoint of the operand of unary op `op` (operand x, result y, result adjoint g), or
/// null when `op` is not a differentiable unary op.
Value unaryAdjoint(Operation *op, Value x, Value y, Value g, AdjointBuilder &adj) {
  Type type = x.getType();
  auto zero = [&] { return adj.zeros(type); };
  auto one = [&] { return adj.splat(type, 1.0); };
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case([&](NegOp) { return adj.neg(g); })
      .Case([&](AbsOp) { // JAX's rule: x >= 0 ? g : -g (1 at the kink)
        return adj.select(adj.cmp(CmpPredicate::ge, x, zero()), g, adj.neg(g));
      })
      .Case([&](ExpOp) { return adj.mul(g, y); })
      .Case([&](LogOp) { return adj.div(g, x); })
      .Case([&](SqrtOp) { return adj.div(g, adj.mul(adj.splat(type, 2.0), y)); })
      .Case([&](ErfOp) { // 2/sqrt(pi) exp(-x^2)
        Value e = adj.create<ExpOp>(type, adj.neg(adj.mul(x, x)));
        return adj.mul(g, adj.mul(adj.splat(type, 2.0 / std::sqrt(llvm::numbers::pi)), e));
      })
      .Case([&](RsqrtOp) {
        Value cube = adj.mul(y, adj.mul(y, y));
        return adj.mul(g, adj.mul(adj.splat(type, -0.5), cube));
      })
      .Case([&](TanhOp) { return adj.mul(g, adj.sub(one(), adj.mul(y, y))); })
      .Case([&](SigmoidOp) { return adj.mul(g, adj.mul(y, adj.sub(one(), y))); })
      .Case([&](ReluOp) {
        Value z = zero();
        return adj.select(adj.cmp(CmpPredicate::gt, x, z), g, z);
      })
      .Case([&](GeluOp) { return adj.mul(g, geluDerivative(x, adj)); })
      .Case([&](SinOp) { return adj.mul(g, adj.create<CosOp>(type, x)); })
      .Case([&](CosOp) { return adj.neg(adj.mul(g, adj.create<SinOp>(type, x))); })
      .Default([](Operation *) { return Value(); });
}

/// pow: d/da = b a^(b-1) (0 where b = 0), d/db = log(a) a^b (log(1) where a = 0).
void powVjp(PowOp op, Value g, AdjointBuilder &adj) {
  Value a = op.getLhs(), b = op.getRhs(), y = op.getResult();
  Type type = a.getType();
  if (adj.wants(a)) {
    Value zero = adj.zeros(type);
    Value power = adj.create<PowOp>(type, a, adj.sub(b, adj.splat(type, 1.0)));
    Value slope = adj.select(adj.cmp(CmpPredicate::eq, b, zero), zero, adj.mul(b, power));
    adj.accumulate(a, adj.mul(g, slope));
  }
  if (adj.wants(b)) {
    Value safeBase =
        adj.select(adj.cmp(CmpPredicate::eq, a, adj.zeros(type)), adj.splat(type, 1.0), a);
    adj.accumulate(b, adj.mul(g, adj.mul(adj.create<LogOp>(type, safeBase), y)));
  }
}

/// max/min: the operand equal to the result gets g, or g/2 when both are (lax.max's JVP).
void chooserVjp(Value a, Value b, Value y, Value g, AdjointBuilder &adj) {
  Value zero = adj.zeros(a.getType());
  Value half = adj.mul(g, adj.splat(a.getType(), 0.5));
  Value aChosen = adj.cmp(CmpPredicate::eq, a, y), bChosen = adj.cmp(CmpPredicate::eq, b, y);
  if (adj.wants(a))
    adj.accumulate(a, adj.select(aChosen, adj.select(bChosen, half, g), zero));
  if (adj.wants(b))
    adj.accumulate(b, adj.select(bChosen, adj.select(aChosen, half, g), zero));
}

/// Binary arithmetic: returns false when `op` is not a differentiable binary op.
bool binaryVjp(Operation *op, Value g, AdjointBuilder &adj) {
  if (op->getNumOperands() != 2)
    return false;
  Value a = op->getOperand(0), b = op->getOperand(1), y = op->getResult(0);
  return llvm::TypeSwitch<Operation *, bool>(op)
      .Case([&](AddOp) {
        adj.accumulate(a, g);
        adj.accumulate(b, g);
        return true;
      })
      .Case([&](SubOp) {
        adj.accumulate(a, g);
        if (adj.wants(b))
          adj.accumulate(b, adj.neg(g));
        return true;
      })
      .Case([&](MulOp) {
        if (adj.wants(a))
          adj.accumulate(a, adj.mul(g, b));
        if (adj.wants(b))
          adj.accumulate(b, adj.mul(g, a));
        return true;
      })
      .Case([&](DivOp) {
        if (adj.wants(a))
          adj.accumulate(a, adj.div(g, b));
        if (adj.wants(b)) // -g a / b^2 = -g y / b
          adj.accumulate(b, adj.neg(adj.div(adj.mul(g, y), b)));
        return true;
      })
      .Case([&](RemOp) { // lax.rem's JVP: g for a; -g trunc(a / b) for b
        if (adj.wants(a))
          adj.accumulate(a, g);
        if (adj.wants(b)) {
          Type type = b.getType();
          Value q = adj.div(a, b);
          Value down = adj.create<FloorOp>(type, q);
          Value up = adj.neg(adj.create<FloorOp>(type, adj.neg(q)));
          Value trunc = adj.select(adj.cmp(CmpPredicate::lt, q, adj.zeros(type)), up, down);
          adj.accumulate(b, adj.neg(adj.mul(g, trunc)));
        }
        return true;
      })
      .Case([&](PowOp pow) { powVjp(pow, g, adj); return true; })
      .Case<MaxOp, MinOp>([&](Operation *) { chooserVjp(a, b, y, g, adj); return true; })
      .Default([](Operation *) { return false; });
}

} // namespace

bool emitElementwiseVjp(Operation *op, Value grad, AdjointBuilder &adj) {
  if (auto select = llvm::dyn_cast<SelectOp>(op)) {
    Value zero = adj.zeros(grad.getType());
    if (adj.wants(select.getOnTrue()))
      adj.accumulate(select.getOnTrue(), adj.select(select.getCond(), grad, zero));
    if (adj.wants(select.getOnFalse()))
      adj.accumulate(select.getOnFalse(), adj.select(select.getCond(), zero, grad));
    return true;
  }
  if (auto convert = llvm::dyn_cast<ConvertOp>(op)) {
    // Only float-to-float conversions carry a gradient (both ends are active values).
    Value input = convert.getInput();
    if (adj.wants(input))
      adj.accumulate(input, adj.create<ConvertOp>(input.getType(), grad));
    return true;
  }
  if (op->getNumOperands() == 1 && op->getNumResults() == 1) {
    Value x = op->getOperand(0);
    if (Value dx = unaryAdjoint(op, x, op->getResult(0), grad, adj)) {
      adj.accumulate(x, dx);
      return true;
    }
    return false;
  }
  return binaryVjp(op, grad, adj);
}

} // namespace nnx::ir::detail
