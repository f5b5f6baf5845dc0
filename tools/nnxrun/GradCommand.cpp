//===- GradCommand.cpp - `nnxrun grad` ------------------------------------===//
//
// Writes the gradient of a loss function with respect to the model's Params, at given inputs
// and weights, to a safetensors file whose names are the Params' paths — what
// `nnx.grad(loss_fn)(model, x, y)` returns in Flax NNX. nnxrun generates the small function
// `value_and_grad(loss)(model, inputs...)`, traces it (forward and backward are one function)
// and runs it on the chosen backend.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Runner.h"
#include "tools/nnxrun/Session.h"

#include "runtime/Error.h"
#include "runtime/SafeTensors.h"

#include <iostream>

namespace nnx::tool {

/// `fn NAME(model, a, b) = value_and_grad(LOSS)(model, a, b)` for LOSS(model, a, b).
static std::string gradSource(const lang::FnDecl &loss, const std::string &name) {
  std::string params = "model";
  for (size_t i = 1; i < loss.params.size(); ++i)
    params += ", " + loss.params[i].name;
  return "fn " + name + "(" + params + ") = value_and_grad(" + loss.name + ")(" + params + ")\n";
}

/// Checks the --input names against the loss function's parameters (after the model).
static bool checkLossInputs(Session &s, const lang::FnDecl &loss,
                            const std::vector<InputSpec> &inputs) {
  for (size_t i = 1; i < loss.params.size(); ++i) {
    const lang::Param &p = loss.params[i];
    bool given = std::any_of(inputs.begin(), inputs.end(),
                             [&](const InputSpec &in) { return in.name == p.name && in.tensor; });
    if (!given) {
      s.program().diags().error("E0402", p.span, "missing input for parameter `" + p.name +
                                                      "` of `" + loss.name + "`")
          .withLabel("no --input " + p.name + "=... was given");
      return false;
    }
  }
  for (const InputSpec &in : inputs) {
    bool known = false;
    for (size_t i = 1; i < loss.params.size(); ++i)
      known |= loss.params[i].name == in.name;
    if (!known) {
      s.program().diags().error("E0402", loss.nameSpan, "input `" + in.name +
                                                            "` matches no parameter of `" +
                                                            loss.name + "`")
          .withLabel("its inputs after the model are the parameters listed here");
      return false;
    }
  }
  return true;
}

int runGrad(const ModelOptions &o) {
  Session s;
  lang::TraceOptions options;
  options.training = o.mode == "train";
  if (!s.loadFiles(o.files))
    return s.fail();
  const lang::FnDecl *loss = s.findFunction(o.loss, "--loss");
  if (!loss)
    return s.fail();
  lang::ModuleInstance *root = s.instantiate(o.model, options);
  if (!root)
    return s.fail();
  rt::State state = s.makeState(o.seed, o.load);
  std::vector<InputSpec> inputs = s.parseInputs(o.inputs, o.seed);
  if (loss->params.empty() || !checkLossInputs(s, *loss, inputs))
    return s.fail();
  lang::Value model = lang::Value::make(lang::Value::Kind::Module);
  model.module = root;
  s.addSource(gradSource(*loss, "__nnxrun_grad"));
  mlir::func::FuncOp func = s.traceFunction("__nnxrun_grad", {{"model", model}}, inputs, options);
  if (!func)
    return s.fail();
  Runner runner(s.module(), func, parseBackend(o.backend),
                s.timings());
  std::vector<std::pair<std::string, rt::Tensor>> named;
  for (const InputSpec &in : inputs)
    named.push_back({in.name, *in.tensor});
  std::vector<rt::Tensor> outputs = runner.run(state, named);
  std::vector<std::string> labels = runner.outputLabels();
  std::vector<std::pair<std::string, rt::Tensor>> grads;
  for (size_t i = 1; i < outputs.size(); ++i)
    grads.push_back({labels[i], outputs[i]});
  double lossValue = outputs[0].at(0);
  rt::writeSafeTensors(o.outputs[0], grads,
                       {{"format", "nnx"}, {"loss", std::to_string(lossValue)}});
  std::cout << "loss " << lossValue << "; " << grads.size() << " gradients written to "
            << o.outputs[0] << "\n";
  if (o.timings)
    s.timings().print();
  return 0;
}

} // namespace nnx::tool
