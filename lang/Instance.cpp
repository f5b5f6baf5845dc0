//===- Instance.cpp - Instantiated modules and their state specs ----------===//
//
// Member lookup, display names and the state-space bookkeeping of Instance.h.
//
//===----------------------------------------------------------------------===//
#include "lang/Instance.h"
#include "lang/AST.h"

#include <algorithm>

namespace nnx::lang {

Member *ModuleInstance::findMember(const std::string &name) {
  for (auto &[n, m] : members)
    if (n == name)
      return &m;
  return nullptr;
}

const Member *ModuleInstance::findMember(const std::string &name) const {
  return const_cast<ModuleInstance *>(this)->findMember(name);
}

std::string ModuleInstance::describe() const {
  std::string s = decl->name + "(", sep;
  for (const auto &[name, value] : hyperParams) {
    if (std::find(defaulted.begin(), defaulted.end(), name) != defaulted.end())
      continue;
    s += sep + name + "=" + formatStatic(value);
    sep = ", ";
  }
  s += ")";
  if (!stack.empty()) {
    std::string extents;
    for (int64_t n : stack)
      extents += (extents.empty() ? "" : ", ") + std::to_string(n);
    s = "vmap(" + extents + ") " + s;
  }
  return s;
}

std::string ModuleInstance::childPath(const std::string &name) const {
  return path.empty() ? name : path + "." + name;
}

bool isWithin(const ModuleInstance *inst, const ModuleInstance *ancestor) {
  for (; inst; inst = inst->parent)
    if (inst == ancestor)
      return true;
  return false;
}

ModuleInstance *StateSpace::newInstance() {
  instances_.push_back(std::make_unique<ModuleInstance>());
  return instances_.back().get();
}

size_t StateSpace::addVar(VarInfo info) {
  byPath_[info.spec.path] = vars_.size();
  vars_.push_back(std::move(info));
  return vars_.size() - 1;
}

std::vector<rt::VarSpec> StateSpace::specs() const {
  std::vector<rt::VarSpec> out;
  for (const VarInfo &v : vars_)
    out.push_back(v.spec);
  return out;
}

void StateSpace::reroot(const ModuleInstance *from, ModuleInstance *to) {
  for (const auto &inst : instances_)
    if (inst->root == from)
      inst->root = to;
}

int64_t StateSpace::findVar(const std::string &path) const {
  auto it = byPath_.find(path);
  return it == byPath_.end() ? -1 : static_cast<int64_t>(it->second);
}

} // namespace nnx::lang
