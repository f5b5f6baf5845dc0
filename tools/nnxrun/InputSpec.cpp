//===- InputSpec.cpp - The SPEC of `--input NAME=SPEC` --------------------===//
//
// A tiny hand-written parser for the generator forms; everything malformed is one E0403
// message that shows the accepted forms.
//
//===----------------------------------------------------------------------===//
#include "tools/nnxrun/InputSpec.h"

#include "runtime/Error.h"
#include "runtime/Npy.h"
#include "runtime/Rng.h"

#include <cctype>
#include <cstdlib>

namespace nnx::tool {

namespace {

[[noreturn]] void malformed(const std::string &arg, const std::string &why) {
  throw rt::Error("E0403", "malformed input `" + arg + "`: " + why,
                  {"write NAME=FILE.npy, NAME=zeros(1, 784), NAME=ones(...), NAME=randn(...), "
                   "NAME=rand(...), NAME=arange(n), NAME=f32[1, 784] (emit only) or NAME=3; "
                   "generators take dtype=f32|f64|i32|i64|bool"});
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
    ++i;
  return s.substr(i);
}

/// Splits "a, b, c" at commas.
std::vector<std::string> splitArgs(const std::string &s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty() || !out.empty())
    out.push_back(trim(cur));
  return out;
}

/// Parses a non-negative integer; nullopt when it is not one.
std::optional<int64_t> parseDim(const std::string &s) {
  if (s.empty() || s.size() > 12)
    return std::nullopt;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
  return std::stoll(s);
}

std::optional<double> parseNumber(const std::string &s, bool &isInt) {
  if (s.empty())
    return std::nullopt;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size())
    return std::nullopt;
  isInt = s.find_first_of(".eEnN") == std::string::npos;
  return v;
}

rt::Tensor generate(const std::string &arg, const std::string &fn, const std::string &inner,
                    const std::string &name, uint64_t seed) {
  rt::DType dtype = rt::DType::F32;
  rt::Shape shape;
  for (const std::string &part : splitArgs(inner)) {
    if (part.rfind("dtype=", 0) == 0) {
      std::optional<rt::DType> d = rt::parseDType(trim(part.substr(6)));
      if (!d)
        malformed(arg, "unknown dtype `" + part.substr(6) + "`");
      dtype = *d;
      continue;
    }
    std::optional<int64_t> dim = parseDim(part);
    if (!dim)
      malformed(arg, "`" + part + "` is not a dimension");
    shape.push_back(*dim);
  }
  if (rt::numElements(shape) > (int64_t(1) << 31))
    malformed(arg, "the shape " + rt::formatShape(shape) + " is too large");
  if (fn == "zeros" || fn == "ones")
    return rt::Tensor::full(dtype, shape, fn == "ones" ? 1.0 : 0.0);
  if (fn == "arange") {
    if (shape.size() != 1)
      malformed(arg, "arange takes one length");
    rt::Tensor t(dtype, shape);
    for (int64_t i = 0; i < shape[0]; ++i)
      t.set(i, double(i));
    return t;
  }
  // randn / rand: a stream per input name, so two inputs differ.
  rt::Key key = rt::streamKey(seed, "input:" + name);
  rt::Tensor f(rt::DType::F32, shape);
  if (fn == "randn")
    rt::fillNormal(key, f.data<float>(), f.numel());
  else
    rt::fillUniform(key, f.data<float>(), f.numel());
  return f.astype(dtype);
}

} // namespace

InputSpec parseInputSpec(const std::string &arg, uint64_t seed) {
  size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    malformed(arg, "expected NAME=SPEC");
  InputSpec spec;
  spec.name = trim(arg.substr(0, eq));
  spec.text = trim(arg.substr(eq + 1));
  const std::string &s = spec.text;
  if (s.empty())
    malformed(arg, "the SPEC after `=` is empty");
  if (std::optional<double> v = parseNumber(s, spec.isInt)) {
    spec.number = v;
    return spec;
  }
  size_t open = s.find_first_of("([");
  if (open != std::string::npos && (s.back() == ')' || s.back() == ']')) {
    std::string fn = trim(s.substr(0, open));
    std::string inner = s.substr(open + 1, s.size() - open - 2);
    if (s[open] == '[') { // a type: f32[1, 784]
      std::optional<rt::DType> d = rt::parseDType(fn);
      if (!d)
        malformed(arg, "unknown dtype `" + fn + "`");
      spec.tensor = generate(arg, "zeros", inner + ", dtype=" + fn, spec.name, seed);
      return spec;
    }
    if (fn == "zeros" || fn == "ones" || fn == "randn" || fn == "rand" || fn == "arange") {
      spec.tensor = generate(arg, fn, inner, spec.name, seed);
      return spec;
    }
    malformed(arg, "unknown generator `" + fn + "`");
  }
  if (s.size() >= 4 && s.compare(s.size() - 4, 4, ".npy") == 0) {
    spec.tensor = rt::readNpy(s);
    return spec;
  }
  malformed(arg, "not a number, a generator or a .npy file");
}

} // namespace nnx::tool
