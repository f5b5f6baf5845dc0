//===- ParamsCommand.cpp - `nnxrun params` --------------------------------===//
//
// Prints the state tree of an instantiated model: every variable's dotted path, kind, dtype
// and shape, with the parameter count, or the same as JSON (`--json`). `--filter` keeps some
// kinds, like nnx.split(model, nnx.Param, nnx.BatchStat); `--save` writes the initial state.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/Commands.h"
#include "tools/nnxrun/Session.h"

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
static std::string humanBytes(double bytes) {
  const char *units[] = {"B", "KB", "MB", "GB"};
  int u = 0;
  while (bytes >= 1000 && u < 3) {
    bytes /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

int runParams(const ModelOptions &o) {
  Session s;
  if (!s.loadFiles(o.files))
    return s.fail();
  lang::ModuleInstance *root = s.instantiate(o.model, {});
  if (!root || !s.checkKinds(o.filter, "--filter"))
    return s.fail();
  rt::State state = s.makeState(o.seed, o.load);
  auto keep = [&](const rt::StateVar &v) {
    return o.filter.empty() || std::find(o.filter.begin(), o.filter.end(), v.kind) != o.filter.end();
  };
  if (o.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    for (const rt::StateVar &v : state.vars())
      if (keep(v))
        out[v.path] = {{"kind", v.kind},
                       {"dtype", std::string(rt::dtypeName(v.value.dtype()))},
                       {"shape", v.value.shape()}};
    std::cout << out.dump(2) << "\n";
  } else {
    size_t pathWidth = 4, kindWidth = 4;
    int64_t params = 0, bytes = 0, shown = 0;
    for (const rt::StateVar &v : state.vars()) {
      if (!keep(v))
        continue;
      pathWidth = std::max(pathWidth, v.path.size());
      kindWidth = std::max(kindWidth, v.kind.size());
      params += v.kind == "Param" ? v.value.numel() : 0;
      bytes += static_cast<int64_t>(v.value.nbytes());
      ++shown;
    }
    std::cout << root->describe() << ": " << withThousands(params) << " parameters, "
              << shown << " variables, " << humanBytes(double(bytes)) << "\n";
    for (const rt::StateVar &v : state.vars()) {
      if (!keep(v))
        continue;
      std::printf("  %-*s  %-*s  %s%s\n", int(pathWidth), v.path.c_str(), int(kindWidth),
                  v.kind.c_str(), std::string(rt::dtypeName(v.value.dtype())).c_str(),
                  rt::formatShape(v.value.shape()).c_str());
    }
    std::fflush(stdout);
  }
  if (!o.save.empty())
    rt::saveState(state, o.save);
  return 0;
}

} // namespace nnx::tool
