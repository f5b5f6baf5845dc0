//===- ParamsCommand.cpp - `nnxrun params` --------------------------------===//
//
// Prints the state tree of an instantiated model: every variable's dotted path, kind, dtype
// and shape, with the parameter count, or the same as JSON (`--json`). `--filter` keeps some
// kinds, like nnx.split(model, nnx.Param, nnx.BatchStat); `--save` writes the initial state.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

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

/// "814.1 KB".
int runParams(const ModelOptions &o) {
  Session s;
  if (!s.loadFiles(o.files))
    return s.fail();
  lang::ModuleInstance *root = s.instantiate(o.model, {});
  if (!root || !s.checkKinds(o.filter, "--filter"))
    return s.fail();
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
  if (o.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const rt::VarSpec &v : specs)
      if (keep(v))
        out[v.path] = {{"kind", v.kind},
                       {"dtype", std::string(rt::dtypeName(v.dtype))},
                       {"shape", v.shape}};
    std::cout << out.dump(2) << "\n";
  } else {
    size_t pathWidth = 4, kindWidth = 4;
    int64_t params = 0, bytes = 0, shown = 0;
    for (const rt::VarSpec &v : specs) {
      if (!keep(v))
        continue;
      pathWidth = std::max(pathWidth, v.path.size());
      kindWidth = std::max(kindWidth, v.kind.size());
      // requireStateFits checked every size and their sum
      params += v.kind == "Param" ? rt::numElements(v.shape) : 0;
      bytes += *rt::checkedByteSize(v.shape, v.dtype);
      ++shown;
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
