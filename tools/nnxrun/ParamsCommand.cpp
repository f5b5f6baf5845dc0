//===- ParamsCommand.cpp - `nnxrun params` --------------------------------===//
//
// Prints the state tree of an instantiated model: every variable's dotted path, kind, dtype
// and shape, with the parameter count, or the same as JSON (`--json`). `--filter` keeps some
// kinds, like nnx.split(model, nnx.Param, nnx.BatchStat); `--save` writes the initial state.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

#include "runtime/Error.h"
#include "runtime/MemoryBudget.h"
#include "runtime/SafeTensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace nnx::tool {

/// "203,530".
static std::string withThousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

/// `--summary`: one row per module call of a traced method, like nnx.tabulate — path, module,
/// input and output types, the Params the instance owns (count and bytes) and the FLOPs of the
/// call; then the totals.
static int printSummary(Session &s, lang::ModuleInstance *root, const ModelOptions &o) {
  std::vector<lang::ModuleCall> calls;
  lang::TraceOptions options;
  options.training = o.mode == "train";
  options.callLog = &calls;
  std::vector<InputSpec> inputs = s.parseInputs(o.inputs, o.seed);
  if (!s.traceMethod(root, o.method, inputs, options))
    return s.fail();
  // The traced method's own arguments come from --input, not from a call.
  if (!calls.empty() && calls.front().inputs.empty())
    for (const InputSpec &in : inputs)
      calls.front().inputs.push_back(
          in.tensor ? std::string(rt::dtypeName(in.tensor->dtype())) + rt::formatShape(in.tensor->shape())
                    : in.text);
  const std::vector<rt::VarSpec> &specs = s.space().specs();
  struct Row {
    std::string path, module, inputs, output, params, flops;
  };
  std::vector<Row> rows = {{"path", "module", "inputs", "outputs", "params", "FLOPs"}};
  for (const lang::ModuleCall &c : calls) {
    int64_t count = 0, bytes = 0;
    for (const rt::VarSpec &v : specs)
      if (v.kind == "Param" && (c.path.empty() || v.path.rfind(c.path + ".", 0) == 0)) {
        count += rt::numElements(v.shape);
        bytes += *rt::checkedByteSize(v.shape, v.dtype);
      }
    std::string in;
    for (const std::string &t : c.inputs)
      in += (in.empty() ? "" : ", ") + t;
    std::string name = std::string(2 * c.depth, ' ') + (c.path.empty() ? "(model)" : c.path);
    std::string module = c.module + (c.method == "__call__" ? "" : "." + c.method);
    rows.push_back({name, module, in, c.output,
                    count ? withThousands(count) + " (" + rt::formatBytes(double(bytes)) + ")" : "",
                    withThousands(c.flops)});
  }
  std::vector<size_t> width(6, 0);
  for (const Row &r : rows) {
    const std::string *cells[] = {&r.path, &r.module, &r.inputs, &r.output, &r.params, &r.flops};
    for (size_t i = 0; i < 6; ++i)
      width[i] = std::max(width[i], cells[i]->size());
  }
  std::cout << root->describe() << "." << o.method << "\n";
  for (const Row &r : rows)
    std::printf("  %-*s  %-*s  %-*s  %-*s  %*s  %*s\n", int(width[0]), r.path.c_str(),
                int(width[1]), r.module.c_str(), int(width[2]), r.inputs.c_str(), int(width[3]),
                r.output.c_str(), int(width[4]), r.params.c_str(), int(width[5]), r.flops.c_str());
  int64_t total = 0, bytes = 0;
  for (const rt::VarSpec &v : specs)
    if (v.kind == "Param") {
      total += rt::numElements(v.shape);
      bytes += *rt::checkedByteSize(v.shape, v.dtype);
    }
  std::cout << "total: " << withThousands(total) << " parameters (" << rt::formatBytes(double(bytes))
            << "), " << withThousands(calls.empty() ? 0 : calls.front().flops) << " FLOPs\n";
  return 0;
}

int runParams(const ModelOptions &o) {
  Session s;
  if (!s.loadFiles(o.files))
    return s.fail();
  lang::ModuleInstance *root = s.instantiate(o.model, {});
  if (!root || !s.checkKinds(o.filter, "--filter"))
    return s.fail();
  if (o.summary) {
    if (o.json)
      throw rt::Error("E0406", "give --summary or --json, not both",
                      {"--json prints every variable with the totals"});
    if (o.inputs.empty())
      throw rt::Error("E0406", "--summary traces the method: give its inputs with --input",
                      {"e.g. --summary --input 'x=ones(1,784)'"});
    return printSummary(s, root, o);
  }
  // Printing needs only the specs: the state is drawn (and its size checked against the
  // memory budget) only to validate --load or to write --save.
  std::optional<rt::State> state;
  if (!o.load.empty() || !o.save.empty())
    state = s.makeState(o.seed, o.load);
  else {
    requireStateFits(s.space().specs());
    rt::checkInitializers(s.space().specs());
  }
  auto keep = [&](const rt::VarSpec &v) {
    return o.filter.empty() || std::find(o.filter.begin(), o.filter.end(), v.kind) != o.filter.end();
  };
  const std::vector<rt::VarSpec> &specs = s.space().specs();
  int64_t params = 0, bytes = 0, shown = 0;
  for (const rt::VarSpec &v : specs) {
    if (!keep(v))
      continue;
    // requireStateFits checked every size and their sum
    params += v.kind == "Param" ? rt::numElements(v.shape) : 0;
    bytes += *rt::checkedByteSize(v.shape, v.dtype);
    ++shown;
  }
  if (o.json) {
    nlohmann::ordered_json vars = nlohmann::ordered_json::object();
    for (const rt::VarSpec &v : specs)
      if (keep(v))
        vars[v.path] = {{"kind", v.kind},
                        {"dtype", std::string(rt::dtypeName(v.dtype))},
                        {"shape", v.shape}};
    nlohmann::ordered_json out{{"model", root->describe()},
                               {"parameters", params},
                               {"bytes", bytes},
                               {"variables", vars}};
    std::cout << out.dump(2) << "\n";
  } else {
    size_t pathWidth = 4, kindWidth = 4;
    for (const rt::VarSpec &v : specs) {
      if (!keep(v))
        continue;
      pathWidth = std::max(pathWidth, v.path.size());
      kindWidth = std::max(kindWidth, v.kind.size());
    }
    std::cout << root->describe() << ": " << withThousands(params) << " parameters, "
              << shown << " variables, " << rt::formatBytes(double(bytes)) << "\n";
    for (const rt::VarSpec &v : specs) {
      if (!keep(v))
        continue;
      std::printf("  %-*s  %-*s  %s%s\n", int(pathWidth), v.path.c_str(), int(kindWidth),
                  v.kind.c_str(), std::string(rt::dtypeName(v.dtype)).c_str(),
                  rt::formatShape(v.shape).c_str());
    }
    std::fflush(stdout);
  }
  if (!o.save.empty())
    rt::saveState(*state, o.save);
  return 0;
}

} // namespace nnx::tool
