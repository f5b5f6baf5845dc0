//===- Interpreter.cpp - The reference evaluator of nnx IR ----------------===//
//
// Walks the ops of the function body in order, keeping a map from SSA values to tensors, and
// dispatches each op to its kernel with TypeSwitch. Constants are materialised from their
// dense attributes. A scan runs its body block once per step, in a fresh Machine (the body is
// isolated from above), slicing the scanned operands and stacking the outputs.
//
//===----------------------------------------------------------------------===//
#include "interp/Interpreter.h"
#include "interp/Kernels.h"

#include "ir/NNXDialect.h"
#include "ir/Types.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <stdexcept>

using namespace mlir;
using namespace nnx::ir;

namespace nnx::interp {

namespace {

rt::Shape shapeOf(Type type) {
  auto tensor = llvm::cast<RankedTensorType>(type);
  return rt::Shape(tensor.getShape().begin(), tensor.getShape().end());
}

rt::DType dtypeOfType(Type type) {
  return *ir::dtypeOf(llvm::cast<RankedTensorType>(type).getElementType());
}

std::vector<int64_t> toVector(ArrayRef<int64_t> values) {
  return std::vector<int64_t>(values.begin(), values.end());
}

/// The tensor of a dense constant.
rt::Tensor materialize(ElementsAttr attr) {
  auto type = llvm::cast<RankedTensorType>(attr.getType());
  rt::Tensor t(dtypeOfType(type), shapeOf(type));
  auto dense = llvm::cast<DenseElementsAttr>(attr);
  int64_t i = 0;
  if (llvm::isa<FloatType>(type.getElementType())) {
    for (APFloat v : dense.getValues<APFloat>())
      t.set(i++, v.convertToDouble());
  } else if (type.getElementType().isInteger(1)) {
    for (bool v : dense.getValues<bool>())
      t.set(i++, v ? 1.0 : 0.0);
  } else if (type.getElementType().isInteger(64)) {
    for (APInt v : dense.getValues<APInt>())
      t.data<int64_t>()[i++] = v.getSExtValue();
  } else {
    for (APInt v : dense.getValues<APInt>())
      t.data<int32_t>()[i++] = static_cast<int32_t>(v.getSExtValue());
  }
  return t;
}

std::vector<rt::Tensor> runBlock(Block &block, const std::vector<rt::Tensor> &args);

/// Runs a scan: one runBlock of the body per step (see nnx.scan).
std::vector<rt::Tensor> runScan(ScanOp scan, const std::vector<rt::Tensor> &operands) {
  size_t numInit = scan.getInit().size(), numXs = scan.getXs().size();
  std::vector<rt::Tensor> carries(operands.begin(), operands.begin() + numInit);
  std::vector<rt::Tensor> stacked;
  for (Value r : scan.getStackedResults())
    stacked.emplace_back(dtypeOfType(r.getType()), shapeOf(r.getType()));
  int64_t length = scan.getLength();
  for (int64_t step = 0; step < length; ++step) {
    int64_t t = scan.getReverse() ? length - 1 - step : step;
    std::vector<rt::Tensor> args = carries;
    for (size_t i = 0; i < numXs; ++i)
      args.push_back(takeLeading(operands[numInit + i], t));
    args.insert(args.end(), operands.begin() + numInit + numXs, operands.end());
    std::vector<rt::Tensor> yielded = runBlock(scan.getBodyBlock(), args);
    for (size_t i = 0; i < numInit; ++i)
      carries[i] = std::move(yielded[i]);
    for (size_t i = 0; i < stacked.size(); ++i)
      putLeading(stacked[i], t, yielded[numInit + i]);
  }
  carries.insert(carries.end(), stacked.begin(), stacked.end());
  return carries;
}

/// Evaluates one block.
class Machine {
public:
  rt::Tensor &get(mlir::Value v) {
    auto it = values_.find(v);
    if (it == values_.end())
      throw std::logic_error("interpreter: use of a value that was never computed");
    return it->second;
  }
  void set(mlir::Value v, rt::Tensor t) { values_[v] = std::move(t); }

  void exec(Operation &op) {
    Value result = op.getNumResults() == 1 ? op.getResult(0) : Value();
    auto in = [&](unsigned i) -> const rt::Tensor & { return get(op.getOperand(i)); };
    auto un = [&](UnaryOp k) { set(result, unary(k, in(0))); };
    auto bin = [&](BinaryOp k) { set(result, binary(k, in(0), in(1))); };
    bool handled = llvm::TypeSwitch<Operation *, bool>(&op)
        .Case([&](ConstantOp c) { set(result, materialize(c.getValue())); return true; })
        .Case([&](IotaOp o) {
          set(result, iota(dtypeOfType(o.getType()), shapeOf(o.getType()), o.getDim()));
          return true;
        })
        .Case([&](NegOp) { un(UnaryOp::Neg); return true; })
        .Case([&](AbsOp) { un(UnaryOp::Abs); return true; })
        .Case([&](ExpOp) { un(UnaryOp::Exp); return true; })
        .Case([&](LogOp) { un(UnaryOp::Log); return true; })
        .Case([&](SqrtOp) { un(UnaryOp::Sqrt); return true; })
        .Case([&](RsqrtOp) { un(UnaryOp::Rsqrt); return true; })
        .Case([&](TanhOp) { un(UnaryOp::Tanh); return true; })
        .Case([&](SigmoidOp) { un(UnaryOp::Sigmoid); return true; })
        .Case([&](ReluOp) { un(UnaryOp::Relu); return true; })
        .Case([&](GeluOp) { un(UnaryOp::Gelu); return true; })
        .Case([&](SinOp) { un(UnaryOp::Sin); return true; })
        .Case([&](CosOp) { un(UnaryOp::Cos); return true; })
        .Case([&](ErfOp) { un(UnaryOp::Erf); return true; })
        .Case([&](FloorOp) { un(UnaryOp::Floor); return true; })
        .Case([&](NotOp) { un(UnaryOp::Not); return true; })
        .Case([&](AddOp) { bin(BinaryOp::Add); return true; })
        .Case([&](SubOp) { bin(BinaryOp::Sub); return true; })
        .Case([&](MulOp) { bin(BinaryOp::Mul); return true; })
        .Case([&](DivOp) { bin(BinaryOp::Div); return true; })
        .Case([&](RemOp) { bin(BinaryOp::Rem); return true; })
        .Case([&](PowOp) { bin(BinaryOp::Pow); return true; })
        .Case([&](MaxOp) { bin(BinaryOp::Max); return true; })
        .Case([&](MinOp) { bin(BinaryOp::Min); return true; })
        .Case([&](AndOp) { bin(BinaryOp::And); return true; })
        .Case([&](OrOp) { bin(BinaryOp::Or); return true; })
        .Case([&](CmpOp o) {
          set(result, compare(static_cast<CmpPred>(o.getPredicate()), in(0), in(1)));
          return true;
        })
        .Case([&](SelectOp) { set(result, select(in(0), in(1), in(2))); return true; })
        .Case([&](ConvertOp o) {
          set(result, convert(in(0), dtypeOfType(o.getType())));
          return true;
        })
        .Case([&](BroadcastInDimOp o) {
          set(result, broadcastInDim(in(0), shapeOf(o.getType()), toVector(o.getDims())));
          return true;
        })
        .Case([&](ReduceSumOp o) {
          set(result, reduce(ReduceOp::Sum, in(0), toVector(o.getAxes())));
          return true;
        })
        .Case([&](ReduceMaxOp o) {
          set(result, reduce(ReduceOp::Max, in(0), toVector(o.getAxes())));
          return true;
        })
        .Case([&](ReduceMinOp o) {
          set(result, reduce(ReduceOp::Min, in(0), toVector(o.getAxes())));
          return true;
        })
        .Case([&](ReshapeOp o) { set(result, reshape(in(0), shapeOf(o.getType()))); return true; })
        .Case([&](TransposeOp o) {
          set(result, transpose(in(0), toVector(o.getPerm())));
          return true;
        })
        .Case([&](ConcatOp o) {
          std::vector<rt::Tensor> parts;
          for (mlir::Value v : o.getInputs())
            parts.push_back(get(v));
          set(result, concat(parts, o.getAxis()));
          return true;
        })
        .Case([&](SliceOp o) {
          set(result, slice(in(0), toVector(o.getStart()), toVector(o.getLimit()),
                            toVector(o.getStride())));
          return true;
        })
        .Case([&](PadOp o) {
          set(result, pad(in(0), toVector(o.getLow()), toVector(o.getHigh()),
                          toVector(o.getInterior())));
          return true;
        })
        .Case([&](GatherOp o) {
          set(result, gather(in(0), in(1), static_cast<int64_t>(o.getAxis()),
                             static_cast<int64_t>(o.getBatchDims())));
          return true;
        })
        .Case([&](ReverseOp o) { set(result, reverse(in(0), toVector(o.getDims()))); return true; })
        .Case([&](ScanOp o) {
          std::vector<rt::Tensor> operands;
          for (mlir::Value v : o->getOperands())
            operands.push_back(get(v));
          for (auto [r, t] : llvm::zip(o->getResults(), runScan(o, operands)))
            set(r, std::move(t));
          return true;
        })
        .Case([&](MatmulOp) { set(result, matmul(in(0), in(1))); return true; })
        .Case([&](ConvOp o) {
          set(result, conv(in(0), in(1), toVector(o.getWindowStrides()),
                           toVector(o.getPaddingLow()), toVector(o.getPaddingHigh()),
                           toVector(o.getRhsDilation()), o.getFeatureGroupCount()));
          return true;
        })
        .Case([&](PoolSumOp o) {
          set(result, pool(ReduceOp::Sum, in(0), toVector(o.getWindow()), toVector(o.getStrides())));
          return true;
        })
        .Case([&](PoolMaxOp o) {
          set(result, pool(ReduceOp::Max, in(0), toVector(o.getWindow()), toVector(o.getStrides())));
          return true;
        })
        .Case([&](PoolMinOp o) {
          set(result, pool(ReduceOp::Min, in(0), toVector(o.getWindow()), toVector(o.getStrides())));
          return true;
        })
        .Case([&](SoftmaxOp o) { set(result, softmax(in(0), o.getAxis())); return true; })
        .Case([&](LogSoftmaxOp o) { set(result, logSoftmax(in(0), o.getAxis())); return true; })
        .Case([&](RandomUniformOp o) {
          set(result, randomUniform(in(0), in(1), shapeOf(o.getType()), dtypeOfType(o.getType())));
          return true;
        })
        .Case([&](RandomNormalOp o) {
          set(result, randomNormal(in(0), in(1), shapeOf(o.getType()), dtypeOfType(o.getType())));
          return true;
        })
        .Default([](Operation *) { return false; });
    if (!handled)
      throw std::logic_error("interpreter: unsupported op " + op.getName().getStringRef().str());
  }

private:
  llvm::DenseMap<mlir::Value, rt::Tensor> values_;
};

/// Runs `block` on `args` (one per block argument) and returns its terminator's operands.
std::vector<rt::Tensor> runBlock(Block &block, const std::vector<rt::Tensor> &args) {
  if (args.size() != block.getNumArguments())
    throw std::logic_error("interpreter: " + std::to_string(args.size()) + " arguments for " +
                           std::to_string(block.getNumArguments()) + " parameters");
  Machine machine;
  for (auto [arg, tensor] : llvm::zip(block.getArguments(), args))
    machine.set(arg, tensor);
  for (Operation &op : block.without_terminator())
    machine.exec(op);
  std::vector<rt::Tensor> results;
  for (mlir::Value v : block.getTerminator()->getOperands())
    results.push_back(machine.get(v));
  return results;
}

} // namespace

std::vector<rt::Tensor> run(func::FuncOp func, const std::vector<rt::Tensor> &args) {
  return runBlock(func.getBody().front(), args);
}

} // namespace nnx::interp
