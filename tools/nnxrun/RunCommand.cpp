//===- RunCommand.cpp - `nnxrun run` --------------------------------------===//
//
// Instantiates the model, creates (or loads) its state, traces the method for the given
// inputs, runs it on the chosen backend, prints the outputs (numpy-style, or JSON), writes
// them to .npy files with --output, and saves the state after the call with --save (the
// counters and rng state a call advanced included).
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

#include "runtime/Error.h"
#include "runtime/Npy.h"
#include "runtime/SafeTensors.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace nnx::tool {

/// A tensor as JSON: dtype, shape and the elements in row-major order.
static nlohmann::ordered_json tensorJson(const rt::Tensor &t) {
  nlohmann::ordered_json data = nlohmann::ordered_json::array();
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (t.dtype() == rt::DType::Bool)
      data.push_back(t.at(i) != 0);
    else if (rt::isFloat(t.dtype()))
      data.push_back(t.at(i));
    else
      data.push_back(static_cast<int64_t>(t.at(i)));
  }
  return {{"dtype", std::string(rt::dtypeName(t.dtype()))}, {"shape", t.shape()}, {"data", data}};
}

/// Prints the outputs, then the captured values by path, as text or JSON.
static void printOutputs(const std::vector<rt::Tensor> &outputs,
                         const std::vector<std::pair<std::string, rt::Tensor>> &captured,
                         bool json) {
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const rt::Tensor &t : outputs)
      out.push_back(tensorJson(t));
    nlohmann::ordered_json doc{{"outputs", out}};
    if (!captured.empty()) {
      nlohmann::ordered_json sown = nlohmann::ordered_json::object();
      for (const auto &[path, t] : captured)
        sown[path] = tensorJson(t);
      doc["captured"] = sown;
    }
    std::cout << doc.dump() << "\n";
    return;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    const rt::Tensor &t = outputs[i];
    std::cout << "output " << i << ": " << rt::dtypeName(t.dtype()) << rt::formatShape(t.shape())
              << "\n"
              << rt::formatTensor(t) << "\n";
  }
  for (const auto &[path, t] : captured)
    std::cout << "captured " << path << ": " << rt::dtypeName(t.dtype())
              << rt::formatShape(t.shape()) << "\n"
              << rt::formatTensor(t) << "\n";
}

/// --capture's kinds: `intermediates` (Flax Linen's collection name) is Intermediate.
static std::vector<std::string> captureKinds(const std::vector<std::string> &names) {
  std::vector<std::string> kinds;
  for (const std::string &n : names)
    kinds.push_back(n == "intermediates" ? "Intermediate" : n);
  return kinds;
}

int runRun(const ModelOptions &o) {
  Backend backend = parseBackend(o.backend);
  Session s;
  lang::TraceOptions options;
  options.training = o.mode == "train";
  options.captureKinds = captureKinds(o.capture);
  if (!s.loadFiles(o.files))
    return s.fail();
  if (!s.checkKinds(options.captureKinds, "--capture"))
    return s.fail();
  if (!o.captureSave.empty() && o.capture.empty())
    throw rt::Error("E0406", "--capture-save needs --capture (the kinds to capture)");
  lang::ModuleInstance *root = s.instantiate(o.model, options);
  if (!root)
    return s.fail();
  rt::State state = s.makeState(o.seed, o.load);
  std::vector<InputSpec> inputs = s.parseInputs(o.inputs, o.seed);
  mlir::func::FuncOp func = s.traceMethod(root, o.method, inputs, options);
  if (!func)
    return s.fail();
  std::vector<std::string> capturedPaths;
  if (auto names = func->getAttrOfType<mlir::ArrayAttr>("nnx.captured"))
    for (mlir::Attribute a : names)
      capturedPaths.push_back(mlir::cast<mlir::StringAttr>(a).str());
  std::vector<rt::Tensor> outputs = s.execute(func, backend, state, inputs, o.repeat);
  std::vector<std::pair<std::string, rt::Tensor>> captured;
  for (size_t i = 0; i < capturedPaths.size(); ++i)
    captured.push_back({capturedPaths[i], outputs[outputs.size() - capturedPaths.size() + i]});
  outputs.resize(outputs.size() - capturedPaths.size());
  if (o.outputs.size() > outputs.size())
    throw rt::Error("E0406", std::to_string(o.outputs.size()) + " --output files for " +
                                 std::to_string(outputs.size()) + " output" +
                                 (outputs.size() == 1 ? "" : "s") + " of `" + o.method + "`");
  // With --output the values go to the files only; the terminal gets what was written.
  if (o.outputs.empty() || o.json)
    printOutputs(outputs, captured, o.json);
  else if (o.captureSave.empty())
    printOutputs({}, captured, false);
  if (!o.captureSave.empty()) {
    rt::State sown;
    for (const auto &[path, t] : captured)
      sown.add({path, "Intermediate", t});
    rt::saveState(sown, o.captureSave);
  }
  for (size_t i = 0; i < o.outputs.size(); ++i) {
    rt::writeNpy(o.outputs[i], outputs[i]);
    if (!o.json)
      std::cout << "output " << i << ": " << rt::dtypeName(outputs[i].dtype())
                << rt::formatShape(outputs[i].shape()) << " written to " << o.outputs[i] << "\n";
  }
  for (size_t i = o.outputs.size(); !o.json && !o.outputs.empty() && i < outputs.size(); ++i)
    std::cout << "output " << i << ": " << rt::dtypeName(outputs[i].dtype())
              << rt::formatShape(outputs[i].shape()) << " not written (no --output for it)\n";
  if (!o.save.empty())
    rt::saveState(state, o.save);
  if (o.timings)
    s.timings().print();
  return 0;
}

} // namespace nnx::tool
